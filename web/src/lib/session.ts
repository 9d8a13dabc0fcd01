// The signed-in device: its tokens, kept in localStorage so that a reload (and
// every other tab of the same origin) stays signed in.
//
// OWNER: core. The rotation-safe refresh (two tabs must never present the same
// refresh token twice, or the server revokes the device as stolen) lives here.
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
}

const KEY = 'magpie.session';

function load(): Session | null {
  try {
    const raw = globalThis.localStorage?.getItem(KEY);
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
  };
}

/** Stores s (or clears with null) in memory and localStorage. */
export function setSession(s: Session | null): void {
  session.value = s;
  try {
    if (s) globalThis.localStorage?.setItem(KEY, JSON.stringify(s));
    else globalThis.localStorage?.removeItem(KEY);
  } catch {
    /* private mode: memory only */
  }
  if (!s) me.value = null;
}

/** Reads the session another tab may have written since. */
export function reloadSession(): Session | null {
  const s = load();
  session.value = s;
  return s;
}
