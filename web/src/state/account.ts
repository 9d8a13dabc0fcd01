// Signing up, in and out: the calls behind the auth screens.
import { post, get } from '../lib/http';
import { setSession, fromTokens, me, session, deviceKey } from '../lib/session';
import type { Me, Tokens } from '../lib/types';
import { rememberUser } from './chat';

function deviceName(): string {
  const ua = globalThis.navigator?.userAgent ?? '';
  const browser = /Firefox/.test(ua) ? 'Firefox' : /Edg\//.test(ua) ? 'Edge' : /Chrom/.test(ua) ? 'Chrome' : /Safari/.test(ua) ? 'Safari' : 'Browser';
  return browser + ' (web)';
}

export async function loadMe(): Promise<Me> {
  const m = await get<Me>('/v1/me');
  me.value = m;
  // One's own name and avatar, for one's own messages and mentions.
  rememberUser({ user_id: m.user_id, username: m.username, display_name: m.display_name, avatar_file_id: m.avatar_file_id, guest: m.guest });
  return m;
}

export async function login(username: string, password: string): Promise<void> {
  const t = await post<Tokens>('/v1/auth/login', { username, password, device_name: deviceName() }, { anonymous: true });
  setSession(fromTokens(t));
  await loadMe();
}

export async function register(username: string, password: string, extra: Record<string, string> = {}): Promise<void> {
  await post('/v1/auth/register', { username, password, ...extra }, { anonymous: true });
  await login(username, password);
}

export async function enterAsGuest(display_name: string): Promise<void> {
  const t = await post<Tokens>('/v1/auth/guest', { display_name }, { anonymous: true });
  setSession(fromTokens({ ...t, guest: true }));
  await loadMe();
}

export async function logout(): Promise<void> {
  // The device ends here: its sync cursor and unsent messages can never be
  // used again (a new login is a new device).
  for (const name of ['sync', 'outbox']) {
    const k = deviceKey(name);
    if (k) globalThis.localStorage?.removeItem(k);
  }
  if (session.value) {
    try {
      await post('/v1/auth/logout');
    } catch {
      /* signed out here whatever the server says */
    }
  }
  setSession(null);
}
