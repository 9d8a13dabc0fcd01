// The admin console's calls (docs/protocol.md, "Administration") and the pure
// logic behind its screens: rates from counters, sample windows, paging.
// Every /v1/admin route answers 403 forbidden to a non-administrator; the
// screens show that as "administrators only".
import { get, post, del, query } from '../lib/http';
import { listWorldBans, worldBan, worldUnban, type WorldBan } from './groups';
import type { Id } from '../lib/types';

export interface AdminUser {
  user_id: Id;
  username: string;
  display_name: string;
  guest: boolean;
  email: string | null;
  pending: boolean;
  admin: boolean;
  disabled: boolean;
  disabled_at: number | null;
  deleted: boolean;
  created_at: number;
  last_seen_at: number | null;
  sessions: number;
}

export interface AdminStats {
  users: number;
  guests: number;
  admins: number;
  disabled: number;
  pending: number;
  deleted: number;
  conversations: number;
  direct: number;
  groups: number;
  messages: number;
  online_sessions: number;
  uptime_s: number;
  version: string;
  connections: number;
  db_bytes: number;
  files: number;
  file_bytes: number;
}

export type InviteState = 'active' | 'expired' | 'revoked' | 'used_up';
export interface Invite {
  code: string;
  max_uses: number;
  uses: number;
  expires_at: number;
  note: string;
  created_at: number;
  created_by: Id | null;
  revoked_at: number;
  state: InviteState;
}

export interface AuditEntry {
  id: Id;
  at: number;
  actor_id: Id | null;
  actor_username: string | null;
  action: string;
  target_id: Id | null;
  detail: Record<string, unknown> | null;
}

// The world room's bans are the same calls the room's own moderation dialog
// makes (state/groups.ts).
export type { WorldBan } from './groups';

export interface Page<T> {
  items: T[];
  next: string | null;
}

export interface UserFilter {
  q?: string;
  admin?: boolean;
  disabled?: boolean;
  guest?: boolean;
}

const PAGE = 50;

// ---- calls -------------------------------------------------------------------------------

export const getStats = () => get<AdminStats>('/v1/admin/stats');

export async function listUsers(f: UserFilter, cursor?: string | null): Promise<Page<AdminUser>> {
  const q = f.q?.trim() || undefined;
  const r = await get<{ users: AdminUser[]; next_cursor: string | null }>(
    '/v1/admin/users' + query({ q, admin: f.admin, disabled: f.disabled, guest: f.guest, limit: PAGE, cursor }),
  );
  return { items: r.users, next: r.next_cursor };
}

/** The registered user whose username is exactly name (any case), or null. */
export async function findUser(name: string): Promise<AdminUser | null> {
  const want = name.trim().replace(/^@/, '').toLowerCase();
  if (!want) return null;
  const { items } = await listUsers({ q: want });
  return items.find((u) => u.username.toLowerCase() === want) ?? null;
}

const userPath = (id: Id) => '/v1/admin/users/' + encodeURIComponent(id);

export const createUser = (b: { username: string; password: string; display_name?: string; admin?: boolean }) =>
  post<{ user: AdminUser }>('/v1/admin/users', b).then((r) => r.user);
export const setDisabled = (id: Id, disabled: boolean) =>
  post<{ disabled: boolean; changed: boolean }>(userPath(id) + (disabled ? '/disable' : '/enable'));
export const setAdmin = (id: Id, admin: boolean) =>
  post<{ admin: boolean; changed: boolean }>(userPath(id) + (admin ? '/promote' : '/demote'));
export const setPassword = (id: Id, password: string) => post<void>(userPath(id) + '/password', { password });
export const deleteUser = (id: Id) => del<void>(userPath(id));

export async function listInvites(cursor?: string | null): Promise<Page<Invite>> {
  const r = await get<{ invites: Invite[]; next_cursor: string | null }>('/v1/admin/invites' + query({ limit: PAGE, cursor }));
  return { items: r.invites, next: r.next_cursor };
}
export const createInvite = (b: { max_uses: number; expires_in?: number; note?: string }) =>
  post<Invite>('/v1/admin/invites', b);
export const revokeInvite = (code: string) => del<void>('/v1/admin/invites/' + encodeURIComponent(code));

export async function listBans(cursor?: string | null): Promise<Page<WorldBan>> {
  const r = await listWorldBans(cursor);
  return { items: r.bans, next: r.next_cursor };
}
export const banUser = (user_id: Id, reason: string) => worldBan(user_id, reason);
export const unbanUser = (user_id: Id) => worldUnban(user_id);
export const deleteWorldMessage = (id: Id) => del<void>('/v1/admin/world/messages/' + encodeURIComponent(id));
export const getWorld = () =>
  get<{ conversation_id: Id; title: string; slow_mode_ms: number; guests: string }>('/v1/world');

export async function listAudit(cursor?: string | null): Promise<Page<AuditEntry>> {
  const r = await get<{ entries: AuditEntry[]; next_cursor: string | null }>('/v1/admin/audit' + query({ limit: PAGE, cursor }));
  return { items: r.entries, next: r.next_cursor };
}

// ---- pure logic ---------------------------------------------------------------------------

/** One reading of the server's counters, taken at `at` (ms). */
export interface Sample {
  at: number;
  messages: number;
  sessions: number;
}

/** Messages per second between two readings; null when it cannot be told
 * (no earlier reading, no time between them, or the counter went back, as
 * after a restart on a fresh database). */
export function ratePerSecond(prev: Sample | undefined, cur: Sample): number | null {
  if (!prev) return null;
  const dt = (cur.at - prev.at) / 1000;
  const dm = cur.messages - prev.messages;
  if (dt <= 0 || dm < 0) return null;
  return dm / dt;
}

/** Appends s and keeps the readings of the last windowMs only. */
export function pushSample(list: Sample[], s: Sample, windowMs: number): Sample[] {
  return [...list, s].filter((x) => s.at - x.at <= windowMs);
}

/** The message rate between each pair of successive readings. */
export function rates(list: Sample[]): number[] {
  const out: number[] = [];
  for (let i = 1; i < list.length; i++) {
    const r = ratePerSecond(list[i - 1], list[i]);
    if (r !== null) out.push(r);
  }
  return out;
}

/** The "d" of an SVG polyline through values, scaled to w×h (y grows down;
 * the top is the largest value, at least 1 so that a flat zero lies at the
 * bottom). Empty for fewer than two values. */
export function sparkPath(values: number[], w: number, h: number): string {
  if (values.length < 2) return '';
  const max = Math.max(1, ...values);
  const step = w / (values.length - 1);
  const r = (n: number) => Math.round(n * 10) / 10;
  return values.map((v, i) => (i ? 'L' : 'M') + r(i * step) + ' ' + r(h - (v / max) * h)).join(' ');
}

export type DurationUnit = 'd' | 'h' | 'm' | 's';
const UNITS: Array<[number, DurationUnit]> = [[86400, 'd'], [3600, 'h'], [60, 'm'], [1, 's']];

/** Seconds as days, hours, minutes and seconds: the two largest non-zero units
 * ("3d 4h", "5m 2s", "0s"); unit letters come from the caller's language. */
export function splitDuration(totalS: number): Array<[number, DurationUnit]> {
  let s = Math.max(0, Math.floor(totalS));
  const all = UNITS.map(([n, u]): [number, DurationUnit] => {
    const q = Math.floor(s / n);
    s -= q * n;
    return [q, u];
  });
  const first = all.findIndex(([q]) => q > 0);
  if (first < 0) return [[0, 's']];
  return all.slice(first, first + 2).filter(([q]) => q > 0);
}

/** How long ago `at` was, in the largest whole unit, for
 * Intl.RelativeTimeFormat (value is negative: the past). */
export function agoParts(at: number, now: number): { value: number; unit: 'second' | 'minute' | 'hour' | 'day' } {
  const s = Math.max(0, Math.floor((now - at) / 1000));
  if (s < 60) return { value: 0 - s, unit: 'second' }; // 0 - 0 is 0, not -0
  if (s < 3600) return { value: -Math.floor(s / 60), unit: 'minute' };
  if (s < 86400) return { value: -Math.floor(s / 3600), unit: 'hour' };
  return { value: -Math.floor(s / 86400), unit: 'day' };
}

/** Appends a page to what is shown, dropping items already there (a row
 * that moved between two page loads would otherwise show twice). */
export function mergePage<T>(shown: T[], page: T[], key: (x: T) => string): T[] {
  const seen = new Set(shown.map(key));
  return [...shown, ...page.filter((x) => !seen.has(key(x)))];
}

/** Replaces the item with the same key (after an action changed it). */
export function replaceItem<T>(list: T[], item: T, key: (x: T) => string): T[] {
  const k = key(item);
  return list.map((x) => (key(x) === k ? item : x));
}

const ALPHABET = 'abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';

/** A temporary password for a reset: 16 characters drawn with the platform's
 * secure random source (about 93 bits), no look-alike characters. */
export function tempPassword(rand: (a: Uint32Array<ArrayBuffer>) => Uint32Array = (a) => crypto.getRandomValues(a)): string {
  const a = rand(new Uint32Array(16));
  return Array.from(a, (n) => ALPHABET[n % ALPHABET.length]).join('');
}

/** Seconds from an expiry choice of the invite form ("", "1h", "1d", "7d", "30d"). */
export function expiresIn(choice: string): number | undefined {
  const m = /^(\d+)([hd])$/.exec(choice);
  if (!m) return undefined;
  return Number(m[1]) * (m[2] === 'h' ? 3600 : 86400);
}

/** An audit entry's detail object as "key: value, ..." for the table. */
export function auditDetail(d: Record<string, unknown> | null): string {
  if (!d) return '';
  return Object.entries(d)
    .map(([k, v]) => k + ': ' + (typeof v === 'string' ? v : JSON.stringify(v)))
    .join(', ');
}
