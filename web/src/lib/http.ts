// HTTP calls to the API: JSON in and out, the bearer token, one refresh and
// retry on 401, and errors as ApiError.
//
// OWNER: core.
import { ApiError } from './errors';
import { session, setSession, fromTokens, latestSession, sessionStored, refreshMargin } from './session';
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
 * is gone (signed out) or the server cannot be reached. Concurrent callers in
 * this tab share one request; other tabs are serialised by a Web Lock.
 *
 * `rejected`: the server refused the current access token (a 401) although
 * it has not expired, so a refresh is needed whatever its expiry says. */
export function refreshTokens(rejected = false): Promise<boolean> {
  if (!refreshing) {
    const seen = session.value?.refreshToken ?? null;
    refreshing = withRefreshLock(() => doRefresh(seen, rejected)).finally(() => {
      refreshing = null;
    });
  }
  return refreshing;
}

/** Runs fn holding the origin-wide lock 'magpie-refresh' (Web Locks API), so
 * that two tabs never present the same refresh token: the server takes a used
 * refresh token for a stolen one and revokes the device. Without the API (old
 * browsers, node) fn runs at once: the re-read in doRefresh still spares most
 * double refreshes. */
function withRefreshLock<T>(fn: () => Promise<T>): Promise<T> {
  const locks = (globalThis.navigator as Navigator | undefined)?.locks;
  // No Web Locks (a page over plain http from another host is not a secure
  // context): a random pause makes two tabs waking together unlikely to
  // refresh at the same moment; the second then finds the new pair.
  if (!locks?.request) return new Promise((r) => setTimeout(r, Math.random() * 1_000)).then(fn);
  return locks.request('magpie-refresh', fn) as Promise<T>;
}

async function doRefresh(seen: string | null, rejected: boolean): Promise<boolean> {
  // Inside the lock: another tab may have rotated the pair while we waited.
  const cur = await latestSession();
  if (!cur) return false;
  if (seen !== null && cur.refreshToken !== seen) return true;
  if (!rejected && cur.expiresAt - Date.now() > refreshMargin(cur)) return true;
  let res: Response;
  try {
    res = await fetch('/v1/auth/refresh', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ refresh_token: cur.refreshToken }),
    });
  } catch {
    return false; // offline: keep the session, try again later
  }
  if (!res.ok) {
    // 401: the token is dead (revoked device, signed out elsewhere): the
    // login screen. Others (503...) leave the session for a later try.
    if (res.status === 401 || res.status === 403) setSession(null);
    return false;
  }
  // Store the new pair before anything else (and before the lock goes to
  // another tab): the old refresh token is dead.
  setSession(fromTokens((await res.json()) as Tokens));
  await sessionStored();
  return true;
}

/** A valid access token (refreshed first when it is about to expire). */
export async function accessToken(): Promise<string | null> {
  let s = session.value;
  if (!s) return null;
  if (s.expiresAt - Date.now() < refreshMargin(s)) {
    await refreshTokens();
    s = session.value;
  }
  return s?.accessToken ?? null;
}

let refreshTimer: ReturnType<typeof setTimeout> | undefined;

/** Keeps the access token fresh while signed in: a refresh shortly before
 * each expiry (so a WebSocket reconnect or a call never waits for one). Every
 * tab runs it; the lock and the re-read make the first one do the work. */
export function keepTokensFresh(): () => void {
  const arm = () => {
    clearTimeout(refreshTimer);
    const s = session.value;
    if (!s) return;
    // A little jitter so the tabs do not all wake at the same millisecond.
    const margin = refreshMargin(s);
    const wait = Math.max(5_000, s.expiresAt - Date.now() - margin + Math.random() * (margin / 4));
    refreshTimer = setTimeout(() => void refreshTokens().finally(arm), wait);
  };
  const stop = session.subscribe(arm);
  return () => {
    stop();
    clearTimeout(refreshTimer);
  };
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
    if (!res.ok) {
      const err = await toError(res);
      // Only a refused token is worth a refresh and a retry: a wrong password
      // (401 bad_credentials) sent again would cost the server a second hash
      // and count twice against the caller's login limit.
      if (err.status === 401 && err.code === 'unauthorized' && !opts.anonymous && attempt === 0 && (await refreshTokens(true)))
        continue;
      throw err;
    }
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
