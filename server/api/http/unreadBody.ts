import type { NextFunction, Request, Response } from 'express';

/** After a reply, how much of a body nobody read is discarded (so the client can read the reply) before the cut. */
export const UNREAD_BODY_DISCARD_BYTES = 4 * 1024 ** 2;
const UNREAD_BODY_DISCARD_MS = 5_000;

/**
 * When a route answers before it read the whole request body (a 413 for a body over its limit, a 4xx for a bad
 * path, a 404), Node would otherwise keep reading the rest to reuse the connection: a 10 GB upload would be
 * received in full just to be thrown away. Here the rest is discarded up to a bound, then the connection is cut.
 */
export function cutUnreadBodies() {
  return (req: Request, res: Response, next: NextFunction): void => {
    res.on('finish', () => {
      if (req.complete || req.destroyed) return;
      let discarded = 0;
      const cut = () => req.socket.destroy();
      const timer = setTimeout(cut, UNREAD_BODY_DISCARD_MS);
      timer.unref();
      req.on('data', (chunk: Buffer) => {
        discarded += chunk.length;
        if (discarded > UNREAD_BODY_DISCARD_BYTES) cut();
      });
      req.on('end', () => clearTimeout(timer));
      req.on('close', () => clearTimeout(timer));
      req.resume();
    });
    next();
  };
}
