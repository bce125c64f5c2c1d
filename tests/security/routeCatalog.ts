import { request, type Server } from 'node:http';
import fc from 'fast-check';

/** One HTTP request a test sends: path with query, method, headers and body. */
export type Probe = {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: Uint8Array | string;
};

type Layer = {
  route?: { path: string; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
};

/**
 * Every `METHOD /path` the running server's express app answers, read from its router stack (including the
 * feature routers mounted with `app.use`). Tests compare it with `ROUTES`, so a new route fails until it has
 * fuzz and token coverage.
 */
export function listRoutes(http: Server): string[] {
  const app = http.listeners('request')[0] as { router?: { stack: Layer[] } } | undefined;
  if (!app?.router) throw new Error('the server has no express app attached');
  const out = new Set<string>();
  const walk = (stack: Layer[]) => {
    for (const layer of stack) {
      if (layer.route) {
        for (const m of Object.keys(layer.route.methods)) out.add(`${m.toUpperCase()} ${layer.route.path}`);
      } else if (layer.handle?.stack) walk(layer.handle.stack);
    }
  };
  walk(app.router.stack);
  return [...out].sort();
}

/** encodeURIComponent, which throws on lone surrogates; those go as the bytes Node would send. */
function enc(s: string): string {
  try {
    return encodeURIComponent(s);
  } catch {
    return [...Buffer.from(s)].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');
  }
}

/** Strings with traversal, encodings, separators, control characters and Unicode mixed in. */
export const hostileText = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.constantFrom(
    '..',
    '../../etc/passwd',
    '%2e%2e%2f',
    '%252e%252e%252f',
    '..\\..\\windows',
    'C:\\Windows',
    '/etc/passwd',
    'a\u0000b',
    '',
    ' ',
    'x'.repeat(5000),
    '__proto__',
    'constructor',
    '%',
    '%zz',
    '\uffff',
    '\ud800',
  ),
);

/** A query string of random keys and values, some repeated (arrays) and some unencoded. */
const hostileQuery = fc
  .array(
    fc.tuple(
      fc.constantFrom(
        'limit',
        'before',
        'status',
        'since',
        'node',
        'type',
        'source',
        'root',
        'path',
        'token',
        'x',
      ),
      hostileText,
    ),
    {
      maxLength: 4,
    },
  )
  .map((pairs) => (pairs.length ? `?${pairs.map(([k, v]) => `${k}=${enc(v)}`).join('&')}` : ''));

/** A path segment: mostly encoded random text, sometimes raw (bad percent-encodings included). */
const segment = fc.oneof(
  hostileText.filter((s) => s.length > 0).map(enc),
  fc.constantFrom('%', '%zz', '%c0%ae%c0%ae', '..%2f..%2fetc', '%252e%252e', 'a%00b'),
);

const jsonBody = fc.oneof(
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc.string({ maxLength: 200 }),
);
const contentType = fc.constantFrom(
  'application/json',
  'application/json; charset=utf-16',
  'text/plain',
  'image/png',
  'application/octet-stream',
  'multipart/form-data',
  'multipart/form-data; boundary=x',
  'application/x-www-form-urlencoded',
  '',
);

/** A PNG signature then random chunks: the parser must refuse damaged ones with a 4xx. */
const pngish = fc
  .tuple(fc.uint8Array({ maxLength: 300 }), fc.boolean())
  .map(([rest, signed]) =>
    signed ? new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, ...rest]) : rest,
  );

/** A multipart body with random file names and bytes. */
const multipart = fc
  .array(fc.tuple(hostileText, fc.uint8Array({ maxLength: 200 })), { minLength: 0, maxLength: 3 })
  .map((files) => {
    const boundary = 'fuzzboundary';
    const parts = files.map(
      ([name, data]) =>
        `--${boundary}\r\nContent-Disposition: form-data; name="files"; filename="${name.replace(/["\r\n]/g, '_')}"\r\nContent-Type: application/octet-stream\r\n\r\n${Buffer.from(data).toString('latin1')}\r\n`,
    );
    return {
      body: Buffer.from(`${parts.join('')}--${boundary}--\r\n`, 'latin1'),
      type: `multipart/form-data; boundary=${boundary}`,
    };
  });

export type RouteSpec = {
  /** A well-formed request (used to check the token is required even for valid input). */
  sample: Probe;
  /** Random requests to this route. */
  fuzz: fc.Arbitrary<Probe>;
};

const get = (path: string): Probe => ({ method: 'GET', path });
const getFuzz = (make: (seg: string, q: string) => string) =>
  fc.tuple(segment, hostileQuery).map(([s, q]): Probe => get(make(s, q)));

/** Fuzz and a sample for every route of the API. Keys must equal `listRoutes` of a running server. */
export function routeSpecs(validWorkflow: unknown): Record<string, RouteSpec> {
  const json = (method: string, path: string, body: unknown): Probe => ({
    method,
    path,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return {
    'GET /api/nodes': { sample: get('/api/nodes'), fuzz: hostileQuery.map((q) => get(`/api/nodes${q}`)) },
    'POST /api/runs': {
      sample: json('POST', '/api/runs', { workflow: validWorkflow }),
      fuzz: fc.tuple(jsonBody, contentType).map(
        ([body, type]): Probe => ({
          method: 'POST',
          path: '/api/runs',
          headers: { 'content-type': type },
          body,
        }),
      ),
    },
    'GET /api/runs': { sample: get('/api/runs'), fuzz: hostileQuery.map((q) => get(`/api/runs${q}`)) },
    'GET /api/runs/:id': { sample: get('/api/runs/nope'), fuzz: getFuzz((s, q) => `/api/runs/${s}${q}`) },
    'POST /api/runs/:id/cancel': {
      sample: { method: 'POST', path: '/api/runs/nope/cancel' },
      fuzz: fc
        .tuple(segment, jsonBody)
        .map(([s, body]): Probe => ({ method: 'POST', path: `/api/runs/${s}/cancel`, body })),
    },
    'GET /api/runs/:id/events': {
      sample: get('/api/runs/nope/events'),
      fuzz: getFuzz((s, q) => `/api/runs/${s}/events${q}`),
    },
    'GET /api/artifacts/:hash': {
      sample: get(`/api/artifacts/${'0'.repeat(64)}`),
      fuzz: fc
        .oneof(segment, fc.stringMatching(/^[0-9a-fA-F]{60,68}$/))
        .map((s) => get(`/api/artifacts/${s}`)),
    },
    'GET /api/artifacts/:hash/thumbnail': {
      sample: get(`/api/artifacts/${'0'.repeat(64)}/thumbnail`),
      fuzz: fc
        .oneof(segment, fc.stringMatching(/^[0-9a-fA-F]{60,68}$/))
        .map((s) => get(`/api/artifacts/${s}/thumbnail`)),
    },
    'GET /api/workflows': {
      sample: get('/api/workflows'),
      fuzz: hostileQuery.map((q) => get(`/api/workflows${q}`)),
    },
    'GET /api/workflows/:name': {
      sample: get('/api/workflows/nope'),
      fuzz: getFuzz((s, q) => `/api/workflows/${s}${q}`),
    },
    'PUT /api/workflows/:name': {
      sample: json('PUT', '/api/workflows/fuzz-sample', validWorkflow),
      fuzz: fc.tuple(segment, jsonBody, contentType).map(
        ([s, body, type]): Probe => ({
          method: 'PUT',
          path: `/api/workflows/${s}`,
          headers: { 'content-type': type },
          body,
        }),
      ),
    },
    'DELETE /api/workflows/:name': {
      sample: { method: 'DELETE', path: '/api/workflows/nope' },
      fuzz: segment.map((s): Probe => ({ method: 'DELETE', path: `/api/workflows/${s}` })),
    },
    'POST /api/workflows/from-image': {
      sample: {
        method: 'POST',
        path: '/api/workflows/from-image',
        headers: { 'content-type': 'image/png' },
        body: new Uint8Array(8),
      },
      fuzz: fc.oneof(
        fc.tuple(pngish, contentType).map(
          ([body, type]): Probe => ({
            method: 'POST',
            path: '/api/workflows/from-image',
            headers: { 'content-type': type },
            body,
          }),
        ),
        multipart.map(
          ({ body, type }): Probe => ({
            method: 'POST',
            path: '/api/workflows/from-image',
            headers: { 'content-type': type },
            body,
          }),
        ),
      ),
    },
    'GET /api/system': { sample: get('/api/system'), fuzz: hostileQuery.map((q) => get(`/api/system${q}`)) },
    'GET /api/files': {
      sample: get('/api/files?root=dataset&path='),
      fuzz: fc
        .tuple(
          fc.oneof(fc.constantFrom('dataset', 'model', 'output'), hostileText),
          hostileText,
          hostileQuery,
        )
        .map(([root, path, q]) =>
          get(`/api/files?root=${enc(root)}&path=${enc(path)}${q.replace('?', '&')}`),
        ),
    },
    'POST /api/upload': {
      sample: { method: 'POST', path: '/api/upload?path=', ...multipartProbe() },
      fuzz: fc
        .tuple(
          hostileText,
          fc.oneof(
            multipart,
            fc.tuple(fc.uint8Array({ maxLength: 100 }), contentType).map(([body, type]) => ({ body, type })),
          ),
        )
        .map(
          ([path, { body, type }]): Probe => ({
            method: 'POST',
            path: `/api/upload?path=${enc(path)}`,
            headers: { 'content-type': type },
            body,
          }),
        ),
    },
  };
}

function multipartProbe(): { headers: Record<string, string>; body: Buffer } {
  const b = 'samplebound';
  return {
    headers: { 'content-type': `multipart/form-data; boundary=${b}` },
    body: Buffer.from(
      `--${b}\r\nContent-Disposition: form-data; name="files"; filename="a.png"\r\n\r\nnot a png\r\n--${b}--\r\n`,
    ),
  };
}

/**
 * Sends a probe over node:http, so the path reaches the server exactly as written (fetch would normalise
 * `..` segments away); the body comes back parsed when it is JSON.
 */
export function send(
  base: string,
  p: Probe,
  extraHeaders: Record<string, string> = {},
): Promise<{ status: number; json: unknown; text: string; headers: Headers }> {
  const url = new URL(base);
  const body =
    p.body === undefined ? undefined : typeof p.body === 'string' ? Buffer.from(p.body) : Buffer.from(p.body);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        method: p.method,
        path: p.path,
        headers: {
          ...p.headers,
          ...extraHeaders,
          ...(body ? { 'content-length': String(body.length) } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          const headers = new Headers();
          for (const [k, v] of Object.entries(res.headers)) {
            if (v !== undefined) headers.set(k, Array.isArray(v) ? v.join(', ') : v);
          }
          resolve({ status: res.statusCode ?? 0, json, text, headers });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
