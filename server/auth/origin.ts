import type { IncomingMessage } from 'node:http';
import { isLoopbackHost } from './bind.ts';

/**
 * A request from a browser page carries an Origin. We accept our own origin (same Host) and loopback origins
 * (the Vite dev server proxies from another port); a page on any other site is refused, which closes CSRF and
 * cross-site websocket hijacking even when no token is set. Requests without an Origin (CLI, curl) pass.
 */
export function originAllowed(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
  if (req.headers.host && url.host === req.headers.host) return true;
  return isLoopbackHost(url.hostname);
}

/**
 * Without a token the server trusts its network position (loopback), so it must also refuse requests whose
 * Host is not a loopback name: a page on a DNS-rebound domain would otherwise be "same origin" with us.
 */
export function hostAllowed(req: IncomingMessage, tokenRequired: boolean): boolean {
  if (tokenRequired) return true;
  const host = req.headers.host;
  if (!host) return true;
  let hostname: string;
  try {
    hostname = new URL(`http://${host}`).hostname;
  } catch {
    return false;
  }
  return isLoopbackHost(hostname);
}
