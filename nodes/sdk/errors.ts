/**
 * An error a node throws when it knows what the user should do about it. The executor shows `message` as
 * the node's error and `hint` below it, e.g. `throw new NodeRunError('no images in folder', { hint: 'pick
 * a folder with .png or .jpg files' })`.
 */
export class NodeRunError extends Error {
  readonly hint: string | undefined;

  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'NodeRunError';
    this.hint = options.hint;
  }
}

/** The error a cancelled run raises (from `ctx.progress`, `ctx.itemCache.map`, the engine lock). */
export function abortError(message = 'The run was cancelled'): DOMException {
  return new DOMException(message, 'AbortError');
}

/** True for a cancellation error: a node that catches errors should rethrow these, not wrap them. */
export function isAbortError(err: unknown): boolean {
  return err instanceof Error && err.name === 'AbortError';
}
