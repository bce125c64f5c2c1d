import type { IncomingMessage } from 'node:http';

export const TOKEN_COOKIE = 'loraflow_token';

function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) {
      try {
        return decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

export type TokenSource = 'header' | 'query' | 'cookie';

/**
 * The token a request carries: `Authorization: Bearer`, then `?token=` (websocket and `<img>` URLs cannot set
 * headers), then the cookie set when the editor was opened with `?token=`.
 */
export function requestToken(req: IncomingMessage): { token: string; source: TokenSource } | undefined {
  const auth = req.headers.authorization;
  if (auth) {
    const m = /^Bearer\s+(.+)$/i.exec(auth);
    if (m?.[1]) return { token: m[1].trim(), source: 'header' };
  }
  const url = new URL(req.url ?? '/', 'http://localhost');
  const q = url.searchParams.get('token');
  if (q) return { token: q, source: 'query' };
  const c = cookieValue(req.headers.cookie, TOKEN_COOKIE);
  if (c) return { token: c, source: 'cookie' };
  return undefined;
}
