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
