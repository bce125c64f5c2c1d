/** An HTTP error from the server, with its parsed JSON body (e.g. per-node validation errors). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly body: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

function messageOf(body: unknown, fallback: string): string {
  if (body && typeof body === 'object' && 'error' in body) {
    const e = (body as { error: unknown }).error;
    if (typeof e === 'string') return e;
    if (e && typeof e === 'object' && 'message' in e && typeof e.message === 'string') return e.message;
  }
  return fallback;
}

async function request(method: string, url: string, body?: unknown): Promise<unknown> {
  const init: RequestInit = { method, headers: { accept: 'application/json' } };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers = { accept: 'application/json', 'content-type': 'application/json' };
  }
  const res = await fetch(url, init);
  const text = await res.text();
  let parsed: unknown = null;
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = text;
    }
  }
  if (!res.ok)
    throw new ApiError(res.status, messageOf(parsed, `${method} ${url}: HTTP ${res.status}`), parsed);
  return parsed;
}

export const getJson = (url: string) => request('GET', url);
export const postJson = (url: string, body?: unknown) => request('POST', url, body ?? {});
export const putJson = (url: string, body: unknown) => request('PUT', url, body);
export const deleteJson = (url: string) => request('DELETE', url);
