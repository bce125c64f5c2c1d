import type { NextFunction, Request, Response } from 'express';
import { ApiError } from './errors.ts';

/**
 * Parses an `application/json` body into `req.body`, like `express.json({ strict: true })` but refusing a body
 * over `limitBytes` the moment it is known to be too large: from its Content-Length before any byte is read,
 * or as soon as the streamed bytes pass the limit. (body-parser reads such a body to its very end before it
 * answers, so a 10 GB POST would be received in full.) The unread rest is left to `cutUnreadBodies()`.
 * Other content types leave `req.body` undefined for the route to refuse.
 */
export function jsonBody(limitBytes: number) {
  return (req: Request, _res: Response, next: NextFunction): void => {
    if (!req.is('application/json')) {
      next();
      return;
    }
    const tooLarge = () =>
      new ApiError(413, 'body_too_large', `request body is larger than the ${limitBytes} byte limit`);
    const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
    if (encoding !== 'identity') {
      next(
        new ApiError(
          415,
          'unsupported_encoding',
          `unsupported request body encoding "${encoding}"; send it uncompressed`,
        ),
      );
      return;
    }
    const charset = /;\s*charset=([^;]+)/i
      .exec(req.headers['content-type'] ?? '')?.[1]
      ?.trim()
      .replace(/"/g, '')
      .toLowerCase();
    if (charset && charset !== 'utf-8' && charset !== 'utf8') {
      next(new ApiError(415, 'unsupported_encoding', `unsupported charset "${charset}"; send JSON as UTF-8`));
      return;
    }
    const declared = Number(req.headers['content-length'] ?? Number.NaN);
    if (declared > limitBytes) {
      next(tooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let total = 0;
    let settled = false;
    const settle = (err?: ApiError) => {
      if (settled) return;
      settled = true;
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      next(err);
    };
    const onData = (chunk: Buffer) => {
      total += chunk.length;
      if (total > limitBytes) {
        req.pause();
        settle(tooLarge());
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      const text = Buffer.concat(chunks)
        .toString('utf8')
        .replace(/^\uFEFF/, '');
      if (text.trim() === '') {
        req.body = {};
        settle();
        return;
      }
      const first = text.trimStart()[0];
      if (first !== '{' && first !== '[') {
        settle(new ApiError(400, 'invalid_json', 'request body must be a JSON object or array'));
        return;
      }
      try {
        req.body = JSON.parse(text);
      } catch {
        settle(new ApiError(400, 'invalid_json', 'request body is not valid JSON'));
        return;
      }
      settle();
    };
    const onError = () => settle(new ApiError(400, 'request_aborted', 'request was aborted'));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  };
}
