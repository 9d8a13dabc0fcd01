// The signed-in device: its tokens, kept in localStorage so that a reload (and
// every other tab of the same origin) stays signed in.
//
// Every tab of the origin shares this one session (one device, one refresh
// token). The `storage` event carries a sign-out or a rotation done by one tab
// to the others; lib/http.ts serialises the refreshes themselves.
import { signal, computed } from '@preact/signals';
import type { Tokens, Me } from './types';

export interface Session {
  userId: string;
  deviceId: string;
  accessToken: string;
  refreshToken: string;
  /** ms since the epoch when the access token expires. */
  expiresAt: number;
  guest: boolean;
  /** ms since the epoch when the pair was issued (absent in old sessions). */
  issuedAt?: number;
}

/** The localStorage key of the session (other modules scope their keys by it). */
export const SESSION_KEY = 'magpie.session';

function load(): Session | null {
  try {
    const raw = globalThis.localStorage?.getItem(SESSION_KEY);
    return raw ? (JSON.parse(raw) as Session) : null;
  } catch {
    return null;
  }
}

/** The current session, or null when signed out. */
export const session = signal<Session | null>(load());
/** The account (GET /v1/me), once loaded. */
export const me = signal<Me | null>(null);
export const signedIn = computed(() => session.value !== null);

export function fromTokens(t: Tokens, now = Date.now()): Session {
  return {
    userId: t.user_id,
    deviceId: t.device_id,
    accessToken: t.access_token,
    refreshToken: t.refresh_token,
    expiresAt: now + t.expires_in * 1000,
    guest: t.guest === true,
    issuedAt: now,
  };
}

/** Stores s (or clears with null) in memory, localStorage and IndexedDB. */
export function setSession(s: Session | null): void {
  try {
    if (s) globalThis.localStorage?.setItem(SESSION_KEY, JSON.stringify(s));
    else globalThis.localStorage?.removeItem(SESSION_KEY);
  } catch {
    /* private mode: memory only */
  }
  lastShared = writeShared(s);
  adopt(s);
}

// ---- the copy in IndexedDB --------------------------------------------------------
//
// localStorage is not consistent across a browser's processes: a tab may read
// the old refresh token for a while after another tab wrote the new one, even
// after taking the refresh lock that the writer released — and presenting the
// old token revokes the device. IndexedDB commits through one place, so a
// tab that takes the lock after the writer's transaction completed reads the
// new pair. lib/http.ts reads it inside the lock and awaits the write before
// releasing it.

let dbp: Promise<IDBDatabase | null> | null = null;
let lastShared: Promise<void> = Promise.resolve();

function db(): Promise<IDBDatabase | null> {
  const idb = globalThis.indexedDB;
  if (!idb) return Promise.resolve(null);
  return (dbp ??= new Promise((resolve) => {
    try {
      const r = idb.open('magpie', 1);
      r.onupgradeneeded = () => r.result.createObjectStore('kv');
      r.onsuccess = () => resolve(r.result);
      r.onerror = r.onblocked = () => resolve(null);
    } catch {
      resolve(null);
    }
  }));
}

async function writeShared(s: Session | null): Promise<void> {
  const d = await db();
  if (!d) return;
  await new Promise<void>((resolve) => {
    try {
      const tx = d.transaction('kv', 'readwrite');
      if (s) tx.objectStore('kv').put(s, SESSION_KEY);
      else tx.objectStore('kv').delete(SESSION_KEY);
      tx.oncomplete = tx.onerror = tx.onabort = () => resolve();
    } catch {
      resolve();
    }
  });
}

/** Resolves once the last setSession is committed to IndexedDB. */
export function sessionStored(): Promise<void> {
  return lastShared;
}

/** The session as IndexedDB has it (undefined without IndexedDB). */
export async function readSharedSession(): Promise<Session | null | undefined> {
  const d = await db();
  if (!d) return undefined;
  return new Promise((resolve) => {
    try {
      const r = d.transaction('kv', 'readonly').objectStore('kv').get(SESSION_KEY);
      r.onsuccess = () => resolve((r.result as Session | undefined) ?? null);
      r.onerror = () => resolve(undefined);
    } catch {
      resolve(undefined);
    }
  });
}

/** The freshest session any tab stored: IndexedDB's copy when it is of the
 * same device and newer than localStorage's, else localStorage's. */
export async function latestSession(): Promise<Session | null> {
  const shared = await readSharedSession();
  const local = reloadSession();
  if (shared && local && shared.deviceId === local.deviceId && (shared.issuedAt ?? 0) > (local.issuedAt ?? 0)) {
    setSession(shared);
    return shared;
  }
  return local;
}

/** Reads the session another tab may have written since. */
export function reloadSession(): Session | null {
  const s = load();
  adopt(s);
  return s;
}

/** Takes s as the current session. Only the tokens changing (a rotation) keeps
 * the same object identity for everything else that reads userId/deviceId. */
function adopt(s: Session | null): void {
  const cur = session.value;
  if (s && cur && same(cur, s)) return;
  session.value = s;
  if (!s || (cur && cur.userId !== s.userId)) me.value = null;
}

function same(a: Session, b: Session): boolean {
  return a.accessToken === b.accessToken && a.refreshToken === b.refreshToken && a.deviceId === b.deviceId;
}

/** How long before its expiry the access token of s is renewed: a minute, or
 * a quarter of its lifetime when that is shorter (servers with a short
 * access_token_ttl would otherwise refresh on every call). */
export function refreshMargin(s: Session): number {
  const life = s.issuedAt ? s.expiresAt - s.issuedAt : 15 * 60_000;
  return Math.min(60_000, life / 4);
}

/** A key of localStorage private to the signed-in user and device, or null. */
export function deviceKey(name: string): string | null {
  const s = session.value;
  return s ? `magpie.${name}.${s.userId}.${s.deviceId}` : null;
}

// Another tab signed out, in, or rotated the tokens: follow it. (The event
// fires only in the other tabs, never in the one that wrote.)
globalThis.addEventListener?.('storage', (e: StorageEvent) => {
  if (e.key === SESSION_KEY || e.key === null) reloadSession();
});
