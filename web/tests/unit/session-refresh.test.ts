// Token refresh across tabs: two tabs share one refresh token in
// localStorage; presenting a used one makes the server revoke the device.
// Each "tab" here is its own copy of lib/session + lib/http (fresh modules)
// over one shared storage, one lock manager and one fake server.
import { storage } from './core-fakes';
import { describe, it, expect, vi, beforeEach, afterEach } from 'vitest';
import { setMaxListeners } from 'node:events';

/** The auth part of a server: rotation and theft detection. */
class FakeAuth {
  valid = 'r1';
  used = new Set<string>();
  revoked = false;
  refreshes = 0;
  n = 1;
  fetch = async (url: string, init: any) => {
    await new Promise((r) => setTimeout(r, 5));
    if (url === '/v1/auth/refresh') {
      const { refresh_token } = JSON.parse(init.body);
      this.refreshes++;
      if (this.used.has(refresh_token)) this.revoked = true;
      if (this.revoked || refresh_token !== this.valid) return json(401, { error: { code: 'unauthorized', message: 'no' } });
      this.used.add(refresh_token);
      this.n++;
      this.valid = 'r' + this.n;
      return json(200, {
        user_id: 'u', device_id: 'd', access_token: 'a' + this.n, token_type: 'Bearer', expires_in: 900, refresh_token: this.valid,
      });
    }
    const auth = init.headers?.Authorization;
    if (this.revoked || auth !== 'Bearer a' + this.n) return json(401, { error: { code: 'unauthorized', message: 'no' } });
    return json(200, { ok: true });
  };
}

function json(status: number, body: unknown) {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

/** navigator.locks with one exclusive lock per name, like the browser's. */
function fakeLocks() {
  const chains = new Map<string, Promise<unknown>>();
  let held = 0;
  let maxHeld = 0;
  return {
    get maxHeld() {
      return maxHeld;
    },
    request(name: string, fn: () => Promise<unknown>) {
      const run = (chains.get(name) ?? Promise.resolve()).then(async () => {
        maxHeld = Math.max(maxHeld, ++held);
        try {
          return await fn();
        } finally {
          held--;
        }
      });
      chains.set(name, run.catch(() => {}));
      return run;
    },
  };
}

/** The window of every tab: storage events reach every tab but the writer. */
const win = new EventTarget();
setMaxListeners(100, win); // each tab (module copy) adds one listener
(globalThis as any).addEventListener = win.addEventListener.bind(win);

async function openTab() {
  vi.resetModules();
  const session = await import('../../src/lib/session');
  const http = await import('../../src/lib/http');
  return { ...session, ...http };
}

/** What the browser does after a tab writes the session. */
function storageEvent() {
  const e = new Event('storage') as any;
  e.key = 'magpie.session';
  win.dispatchEvent(e);
}

let auth: FakeAuth;

beforeEach(() => {
  storage.clear();
  auth = new FakeAuth();
  vi.stubGlobal('fetch', auth.fetch);
  const now = Date.now();
  // About to expire: every tab wants to refresh.
  storage.setItem('magpie.session', JSON.stringify({
    userId: 'u', deviceId: 'd', accessToken: 'a1', refreshToken: 'r1', expiresAt: now + 10_000, guest: false, issuedAt: now - 890_000,
  }));
});
afterEach(() => {
  vi.unstubAllGlobals();
  delete (globalThis as any).navigator;
});

describe('refresh across tabs', () => {
  it('two tabs refreshing at once rotate once and both use the new pair', async () => {
    const locks = fakeLocks();
    Object.defineProperty(globalThis, 'navigator', { value: { locks }, configurable: true });
    const a = await openTab();
    const b = await openTab();
    expect(a.session.value!.refreshToken).toBe('r1');
    expect(b.session.value!.refreshToken).toBe('r1');
    const [ra, rb] = await Promise.all([a.refreshTokens(), b.refreshTokens()]);
    expect([ra, rb]).toEqual([true, true]);
    expect(auth.refreshes).toBe(1);
    expect(auth.revoked).toBe(false);
    expect(a.session.value!.refreshToken).toBe('r2');
    expect(b.session.value!.refreshToken).toBe('r2');
    expect(b.session.value!.accessToken).toBe('a2');
    expect(locks.maxHeld).toBe(1);
    // And both can call the API with it.
    expect(await a.get('/v1/me')).toEqual({ ok: true });
    expect(await b.get('/v1/me')).toEqual({ ok: true });
  });

  it('many calls in many tabs about to expire still rotate once', async () => {
    Object.defineProperty(globalThis, 'navigator', { value: { locks: fakeLocks() }, configurable: true });
    const tabs = [await openTab(), await openTab(), await openTab()];
    const calls = tabs.flatMap((t) => [t.get('/v1/me'), t.get('/v1/me'), t.accessToken()]);
    await Promise.all(calls);
    expect(auth.refreshes).toBe(1);
    expect(auth.revoked).toBe(false);
  });

  it('a 401 from the API refreshes even before expiry, once for the tabs', async () => {
    Object.defineProperty(globalThis, 'navigator', { value: { locks: fakeLocks() }, configurable: true });
    storage.setItem('magpie.session', JSON.stringify({
      userId: 'u', deviceId: 'd', accessToken: 'stale', refreshToken: 'r1', expiresAt: Date.now() + 800_000, guest: false,
    }));
    const a = await openTab();
    const b = await openTab();
    expect(await Promise.all([a.get('/v1/me'), b.get('/v1/me')])).toEqual([{ ok: true }, { ok: true }]);
    expect(auth.refreshes).toBe(1);
    expect(auth.revoked).toBe(false);
  });

  it('works without the Web Locks API (one tab)', async () => {
    const a = await openTab();
    expect(await a.refreshTokens()).toBe(true);
    expect(a.session.value!.refreshToken).toBe('r2');
    expect(JSON.parse(storage.getItem('magpie.session')!).refreshToken).toBe('r2');
  });

  it('a 401 on refresh signs out, and the other tab follows', async () => {
    auth.valid = 'other';
    const a = await openTab();
    const b = await openTab();
    expect(await a.refreshTokens()).toBe(false);
    expect(a.session.value).toBeNull();
    expect(storage.getItem('magpie.session')).toBeNull();
    storageEvent();
    expect(b.session.value).toBeNull();
  });

  it('new tokens written by one tab reach the other through the storage event', async () => {
    const a = await openTab();
    const b = await openTab();
    await a.refreshTokens();
    storageEvent();
    expect(b.session.value!.refreshToken).toBe('r2');
    // b now sees a far expiry: it has nothing to refresh.
    expect(await b.accessToken()).toBe('a2');
    expect(auth.refreshes).toBe(1);
  });
});
