import type { NextFunction, Request, Response } from 'express';
import { z } from 'zod';

/** Every error response has this shape. */
export const ErrorBody = z.object({
  error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }),
});
export type ErrorBody = z.infer<typeof ErrorBody>;

/** Thrown by route handlers; the error middleware turns it into `{error:{code,message,details}}`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export function notFound(what: string): ApiError {
  return new ApiError(404, 'not_found', `${what} not found`);
}

export function sendError(
  res: Response,
  status: number,
  code: string,
  message: string,
  details?: unknown,
): void {
  const body: ErrorBody = { error: details === undefined ? { code, message } : { code, message, details } };
  res.status(status).json(body);
}

/** Errors raised by express's body parser carry `type` and `status`. */
function bodyParserError(err: unknown): { status: number; code: string; message: string } | undefined {
  if (typeof err !== 'object' || err === null || !('type' in err)) return undefined;
  const type = (err as { type: unknown }).type;
  switch (type) {
    case 'entity.too.large': {
      const limit = (err as { limit?: number }).limit;
      return {
        status: 413,
        code: 'body_too_large',
        message: `request body is larger than the ${limit ? `${limit} byte ` : ''}limit`,
      };
    }
    case 'entity.parse.failed':
      return { status: 400, code: 'invalid_json', message: 'request body is not valid JSON' };
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return { status: 415, code: 'unsupported_encoding', message: 'unsupported request body encoding' };
    case 'request.aborted':
      return { status: 400, code: 'request_aborted', message: 'request was aborted' };
    default:
      return undefined;
  }
}

// Express recognises error handlers by their four parameters, so `_next` must stay.
export function errorHandler(err: unknown, _req: Request, res: Response, _next: NextFunction): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  if (err instanceof ApiError) {
    sendError(res, err.status, err.code, err.message, err.details);
    return;
  }
  const parsed = bodyParserError(err);
  if (parsed) {
    sendError(res, parsed.status, parsed.code, parsed.message);
    return;
  }
  if (err instanceof URIError) {
    sendError(res, 400, 'invalid_url', 'the URL is not correctly encoded');
    return;
  }
  console.error('[server] unexpected error:', err);
  sendError(res, 500, 'internal', 'internal server error; see the server log');
}

export function notFoundHandler(req: Request, res: Response): void {
  sendError(res, 404, 'not_found', `no route for ${req.method} ${req.path}`);
}
