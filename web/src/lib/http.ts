// HTTP calls to the API: JSON in and out, the bearer token, one refresh and
// retry on 401, and errors as ApiError.
//
// OWNER: core.
import { ApiError } from './errors';
import { session, setSession, fromTokens, reloadSession } from './session';
import type { Tokens } from './types';

export type Method = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

async function toError(res: Response): Promise<ApiError> {
  let code = 'http_' + res.status;
  let message = res.statusText;
  try {
    const j = await res.json();
    if (j?.error?.code) {
      code = j.error.code;
      message = j.error.message ?? code;
    }
  } catch {
    /* not JSON */
  }
  const ra = Number(res.headers.get('Retry-After') ?? 0);
  return new ApiError(code, message, res.status, Number.isFinite(ra) ? ra : 0);
}

let refreshing: Promise<boolean> | null = null;

/** Trades the refresh token for a new pair. Returns false when the session
 * is gone (signed out). Concurrent callers in this tab share one request. */
export function refreshTokens(): Promise<boolean> {
  if (!refreshing) {
    refreshing = doRefresh().finally(() => {
      refreshing = null;
    });
  }
  return refreshing;
}

async function doRefresh(): Promise<boolean> {
  const before = reloadSession();
  if (!before) return false;
  const res = await fetch('/v1/auth/refresh', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ refresh_token: before.refreshToken }),
  });
  if (!res.ok) {
    if (res.status === 401) setSession(null);
    return false;
  }
  setSession(fromTokens((await res.json()) as Tokens));
  return true;
}

/** A valid access token (refreshed first when it expires within 30 s). */
export async function accessToken(): Promise<string | null> {
  let s = session.value;
  if (!s) return null;
  if (s.expiresAt - Date.now() < 30_000) {
    await refreshTokens();
    s = session.value;
  }
  return s?.accessToken ?? null;
}

export interface CallOptions {
  /** Send without the bearer token (register, login). */
  anonymous?: boolean;
  signal?: AbortSignal;
  headers?: Record<string, string>;
}

/** Calls the API and returns the parsed JSON body (undefined for 204). */
export async function api<T = any>(
  method: Method,
  path: string,
  body?: unknown,
  opts: CallOptions = {},
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    const headers: Record<string, string> = { ...opts.headers };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (!opts.anonymous) {
      const tok = await accessToken();
      if (tok) headers['Authorization'] = 'Bearer ' + tok;
    }
    let res: Response;
    try {
      res = await fetch(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: opts.signal,
      });
    } catch (e) {
      if ((e as Error)?.name === 'AbortError') throw e;
      throw new ApiError('network', 'the server cannot be reached', 0);
    }
    if (res.status === 401 && !opts.anonymous && attempt === 0 && (await refreshTokens()))
      continue;
    if (!res.ok) throw await toError(res);
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }
}

export const get = <T = any>(path: string, opts?: CallOptions) => api<T>('GET', path, undefined, opts);
export const post = <T = any>(path: string, body?: unknown, opts?: CallOptions) =>
  api<T>('POST', path, body ?? {}, opts);
export const patch = <T = any>(path: string, body: unknown, opts?: CallOptions) =>
  api<T>('PATCH', path, body, opts);
export const del = <T = any>(path: string, opts?: CallOptions) => api<T>('DELETE', path, undefined, opts);

/** Builds "?a=1&b=2" from the defined values. */
export function query(params: Record<string, string | number | boolean | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null) q.set(k, String(v));
  const s = q.toString();
  return s ? '?' + s : '';
}
