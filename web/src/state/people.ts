// People: profiles, user search, contacts (friends and requests), blocks,
// privacy, devices and the account's own settings. The contact entries are
// core's `contacts` signal (state/chat.ts), which sync and the `contact` events
// keep current; this module fills it over HTTP when the people screen opens
// (a device's saved sync cursor does not bring back entries from before it)
// and after each of our own changes. Blocks follow the `block` events.
import { signal, computed } from '@preact/signals';
import { api, get, post, patch, del, query, accessToken } from '../lib/http';
import { ws } from '../lib/ws';
import { me, session } from '../lib/session';
import { rememberUser, contacts } from './chat';
import { ApiError } from '../lib/errors';
import type { ContactEntry, ContactState, Device, Id, Me, Profile } from '../lib/types';

export { contacts };
export type { ContactEntry };

export interface BlockEntry {
  user: Profile;
  blocked_at: number;
}
export type Audience = 'everyone' | 'contacts' | 'nobody';
export interface Privacy {
  message: Audience;
  presence: Audience;
  search: Audience;
  groups: Audience;
  read_receipts: boolean;
}
export interface Page<T> {
  items: T[];
  next: string | null;
}

/** Users we block, by id (newest first once loaded). */
export const blocks = signal<Map<Id, BlockEntry>>(new Map());
/** Our privacy settings, once loaded. */
export const privacy = signal<Privacy | null>(null);
/** Whether contacts and blocks were loaded (the screen shows "loading" before). */
export const peopleLoaded = signal(false);

const sortByRecent = (a: ContactEntry, b: ContactEntry) => b.updated_at - a.updated_at;
const inState = (s: ContactState) =>
  computed(() => [...contacts.value.values()].filter((c) => c.state === s).sort(sortByRecent));
export const friends = inState('friends');
export const incoming = inState('incoming');
export const outgoing = inState('outgoing');

/** Upserts one entry (from a reply to our own change); `none` drops it. */
export function applyContact(e: ContactEntry): void {
  const m = new Map(contacts.value);
  if (e.state === 'none') m.delete(e.user.user_id);
  else m.set(e.user.user_id, e);
  contacts.value = m;
  rememberUser(e.user);
}

/** The relation with a user as we know it now (events included). */
export function contactState(id: Id): ContactState {
  return contacts.value.get(id)?.state ?? 'none';
}
export function isBlocked(id: Id): boolean {
  return blocks.value.has(id);
}

async function allPages<T>(path: string, key: string, params: Record<string, string> = {}): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | null = null;
  do {
    const r: any = await get(path + query({ ...params, limit: 100, cursor }));
    out.push(...r[key]);
    cursor = r.next_cursor;
  } while (cursor);
  return out;
}

/** Loads every contact entry and block (a handful of pages at most). */
export async function loadPeople(): Promise<void> {
  const [fr, inc, out, bl] = await Promise.all([
    allPages<ContactEntry>('/v1/contacts', 'contacts'),
    allPages<ContactEntry>('/v1/contacts/requests', 'contacts', { direction: 'incoming' }),
    allPages<ContactEntry>('/v1/contacts/requests', 'contacts', { direction: 'outgoing' }),
    allPages<BlockEntry>('/v1/blocks', 'blocks'),
  ]);
  const m = new Map<Id, ContactEntry>();
  for (const e of [...fr, ...inc, ...out]) m.set(e.user.user_id, e);
  contacts.value = m;
  blocks.value = new Map(bl.map((b) => [b.user.user_id, b]));
  peopleLoaded.value = true;
}

let listening = false;
/** Follows the block, privacy and own-profile events (contacts are core's);
 * reloads the lists after each reconnect, as blocks made meanwhile arrive
 * through no event. Idempotent. */
export function startPeople(): void {
  if (!listening) {
    listening = true;
    ws.on('block', (ev) => {
      if (!ev.blocked) {
        const m = new Map(blocks.value);
        m.delete(ev.user_id);
        blocks.value = m;
      }
      // The event names only the user: fetch the list for their profile.
      void loadPeople().catch(() => {});
    });
    ws.on('privacy', (ev) => (privacy.value = ev.privacy));
    ws.on('profile_updated', (ev) => {
      rememberUser(ev.user);
      if (ev.user.user_id === session.value?.userId && me.value) me.value = { ...me.value, ...ev.user };
    });
    ws.onOpen(() => {
      if (peopleLoaded.value) void loadPeople().catch(() => {});
    });
    // Another account signing in in this tab must not see our lists.
    session.subscribe((s) => {
      if (!s) resetPeople();
    });
  }
  if (!peopleLoaded.value) void loadPeople().catch(() => {});
}

function resetPeople(): void {
  blocks.value = new Map();
  privacy.value = null;
  peopleLoaded.value = false;
}

// ---- profiles and search ----

export async function getProfile(id: Id): Promise<Profile> {
  const p = await get<Profile>('/v1/users/' + encodeURIComponent(id));
  rememberUser(p);
  return p;
}

export interface PresenceInfo {
  online: boolean;
  last_seen_at: number | null;
}
export function getPresence(id: Id): Promise<PresenceInfo> {
  return get<PresenceInfo>('/v1/users/' + encodeURIComponent(id) + '/presence');
}

export async function searchUsers(q: string, cursor: string | null, signal?: AbortSignal): Promise<Page<Profile>> {
  const r = await get<{ users: Profile[]; next_cursor: string | null }>(
    '/v1/users/search' + query({ q, limit: 20, cursor }),
    { signal },
  );
  return { items: r.users, next: r.next_cursor };
}

// ---- contacts and blocks ----

type ContactReply = { contact: ContactEntry; changed: boolean };
async function contactCall(p: Promise<ContactReply>): Promise<ContactEntry> {
  const r = await p;
  applyContact(r.contact);
  return r.contact;
}

export const requestContact = (user_id: Id, message = '') =>
  contactCall(post('/v1/contacts/requests', { user_id, message }));
export const acceptContact = (id: Id) => contactCall(post(`/v1/contacts/requests/${id}/accept`));
export const declineContact = (id: Id) => contactCall(post(`/v1/contacts/requests/${id}/decline`));
export const cancelContact = (id: Id) => contactCall(del(`/v1/contacts/requests/${id}`));
export const removeContact = (id: Id) => contactCall(del(`/v1/contacts/${id}`));

export async function blockUser(user: Profile): Promise<void> {
  await post('/v1/blocks', { user_id: user.user_id });
  const m = new Map(blocks.value);
  m.set(user.user_id, { user: { ...user, blocked: true }, blocked_at: Date.now() });
  blocks.value = m;
  // A block ends a friendship or request; the contact event says so too.
  const c = new Map(contacts.value);
  c.delete(user.user_id);
  contacts.value = c;
}

export async function unblockUser(id: Id): Promise<void> {
  await del('/v1/blocks/' + id);
  const m = new Map(blocks.value);
  m.delete(id);
  blocks.value = m;
}

// ---- privacy ----

export async function loadPrivacy(): Promise<Privacy> {
  return (privacy.value = await get<Privacy>('/v1/me/privacy'));
}
export async function savePrivacy(change: Partial<Privacy>): Promise<Privacy> {
  return (privacy.value = await patch<Privacy>('/v1/me/privacy', change));
}

// ---- the account ----

/** Changes display name, bio or avatar; keeps `me` current. */
export async function updateMe(change: { display_name?: string; bio?: string; avatar_file_id?: Id | null }): Promise<void> {
  const p = await patch<Profile>('/v1/me', change);
  if (me.value) me.value = { ...me.value, ...p } as Me;
  rememberUser(p);
}

export async function listDevices(): Promise<Device[]> {
  return (await get<{ devices: Device[] }>('/v1/devices')).devices;
}
export const revokeDevice = (id: Id) => del('/v1/devices/' + id);

export const changePassword = (current_password: string, new_password: string, keep_other_devices: boolean) =>
  post('/v1/me/password', { current_password, new_password, keep_other_devices });

/** Deletes the account (the password confirms it); the caller signs out. */
export const deleteAccount = (password: string) => api('DELETE', '/v1/me', { password });

/** Downloads GET /v1/me/export as a Blob (it needs the token, so a plain
 * link cannot fetch it). */
export async function exportData(): Promise<Blob> {
  const tok = await accessToken();
  const res = await fetch('/v1/me/export', { headers: tok ? { Authorization: 'Bearer ' + tok } : {} });
  if (!res.ok) {
    let msg = res.statusText;
    let code = 'http_' + res.status;
    try {
      const j = await res.json();
      code = j.error.code;
      msg = j.error.message;
    } catch {
      /* not JSON */
    }
    throw new ApiError(code, msg, res.status);
  }
  return res.blob();
}
