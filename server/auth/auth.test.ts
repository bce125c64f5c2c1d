import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { checkBind, isLoopbackHost } from './bind.ts';
import { hostAllowed, originAllowed } from './origin.ts';
import { requestToken } from './requestToken.ts';
import { generateToken, tokensMatch } from './token.ts';

const req = (url: string, headers: Record<string, string> = {}) =>
  ({ url, headers }) as unknown as IncomingMessage;

describe('auth', () => {
  it('compares tokens exactly', () => {
    const t = generateToken();
    expect(t.length).toBeGreaterThanOrEqual(32);
    expect(tokensMatch(t, t)).toBe(true);
    expect(tokensMatch(`${t}x`, t)).toBe(false);
    expect(tokensMatch('', t)).toBe(false);
    expect(tokensMatch(undefined, t)).toBe(false);
    expect(generateToken()).not.toBe(t);
  });

  it('knows loopback addresses', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1']) {
      expect(isLoopbackHost(h), h).toBe(true);
    }
    for (const h of ['0.0.0.0', '192.168.1.4', '::', 'example.com', '128.0.0.1']) {
      expect(isLoopbackHost(h), h).toBe(false);
    }
  });

  it('refuses a non-loopback bind without a token', () => {
    expect(checkBind('127.0.0.1', undefined).ok).toBe(true);
    const r = checkBind('0.0.0.0', undefined);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(/--token/);
    expect(checkBind('0.0.0.0', 'secret-token').ok).toBe(true);
  });

  it('reads the token from the header, the query and the cookie, in that order', () => {
    expect(requestToken(req('/', { authorization: 'Bearer abc' }))).toEqual({
      token: 'abc',
      source: 'header',
    });
    expect(requestToken(req('/x?token=q1', { cookie: 'loraflow_token=c1' }))).toEqual({
      token: 'q1',
      source: 'query',
    });
    expect(requestToken(req('/x', { cookie: 'a=b; loraflow_token=c%201' }))).toEqual({
      token: 'c 1',
      source: 'cookie',
    });
    expect(requestToken(req('/x'))).toBeUndefined();
  });

  it('accepts same-origin and loopback origins only', () => {
    expect(originAllowed(req('/', {}))).toBe(true);
    expect(originAllowed(req('/', { host: '192.168.1.4:8190', origin: 'http://192.168.1.4:8190' }))).toBe(
      true,
    );
    expect(originAllowed(req('/', { host: '127.0.0.1:8190', origin: 'http://localhost:5173' }))).toBe(true);
    expect(originAllowed(req('/', { host: '127.0.0.1:8190', origin: 'https://evil.example' }))).toBe(false);
    expect(originAllowed(req('/', { host: '127.0.0.1:8190', origin: 'null' }))).toBe(false);
  });

  it('refuses non-loopback Host names when no token protects the server (DNS rebinding)', () => {
    expect(hostAllowed(req('/', { host: '127.0.0.1:8190' }), false)).toBe(true);
    expect(hostAllowed(req('/', { host: 'localhost:8190' }), false)).toBe(true);
    expect(hostAllowed(req('/', { host: '[::1]:8190' }), false)).toBe(true);
    expect(hostAllowed(req('/', { host: 'rebind.evil.example:8190' }), false)).toBe(false);
    expect(hostAllowed(req('/', { host: 'rebind.evil.example:8190' }), true)).toBe(true);
  });
});
