import type { NextFunction, Request, Response } from 'express';
import { hostAllowed, originAllowed } from './origin.ts';
import { requestToken, TOKEN_COOKIE } from './requestToken.ts';
import { tokensMatch } from './token.ts';

function deny(res: Response, status: number, code: string, message: string): void {
  res.status(status).json({ error: { code, message } });
}

/**
 * Refuses cross-site requests that change state (reads are harmless because CORS stays closed), and, when no
 * token is set, requests addressed to a non-loopback Host name (DNS rebinding).
 */
export function originGuard(tokenRequired: boolean) {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (!hostAllowed(req, tokenRequired)) {
      deny(
        res,
        403,
        'forbidden_host',
        `requests for host ${req.headers.host} are refused: without a token only localhost names are served; start the server with a token to use other names`,
      );
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD' && !originAllowed(req)) {
      deny(res, 403, 'forbidden_origin', `requests from origin ${req.headers.origin} are not allowed`);
      return;
    }
    next();
  };
}

/**
 * With a token configured every route requires it. Opening the editor as `/?token=...` stores it in an
 * HttpOnly cookie and redirects to the clean URL, so the page's own requests and `<img>` tags carry it.
 */
export function requireToken(token: string | undefined) {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (!token) {
      next();
      return;
    }
    const given = requestToken(req);
    if (!given || !tokensMatch(given.token, token)) {
      deny(
        res,
        401,
        'unauthorized',
        given
          ? 'the token is wrong'
          : 'this server requires a token: send "Authorization: Bearer <token>" or open the editor with ?token=<token>',
      );
      return;
    }
    const isPage = req.method === 'GET' && !req.path.startsWith('/api/');
    if (given.source === 'query' && isPage) {
      res.cookie(TOKEN_COOKIE, given.token, { httpOnly: true, sameSite: 'strict', path: '/' });
      const url = new URL(req.originalUrl, 'http://localhost');
      url.searchParams.delete('token');
      res.redirect(302, url.pathname + url.search);
      return;
    }
    next();
  };
}
