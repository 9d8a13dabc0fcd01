// Groups and the world room: what the group screens, the composer and the
// mention picker need. Groups are conversations of kind "group"; their roles,
// settings, members, moderation and invite links are HTTP routes
// (docs/protocol.md "Groups"), the world room is GET /v1/world.
import { signal, computed, effect, type ReadonlySignal, type Signal } from '@preact/signals';
import { get, post, patch, del, api, query } from '../lib/http';
import { ws } from '../lib/ws';
import { session } from '../lib/session';
import { conversations, messagesOf, rememberUser, loadConversations } from './chat';
import type { Group, GroupSettings, Id, Message, Profile } from '../lib/types';

// ---------------------------------------------------------------- pure rules

export type Role = 'owner' | 'admin' | 'member';
export type GroupAction = 'post' | 'invite' | 'edit_info' | 'pin';

/** "Admins" in the protocol means the owner or an admin. */
export function isAdmin(role: string | undefined): boolean {
  return role === 'owner' || role === 'admin';
}

/** Whether my_role may do action under the group's settings. */
export function can(g: Pick<Group, 'my_role' | 'settings' | 'dissolved'>, action: GroupAction): boolean {
  if (g.dissolved) return false;
  const who = g.settings[`who_can_${action}` as keyof GroupSettings];
  return who === 'all' || isAdmin(g.my_role);
}

/** The hierarchy of kicks, bans and mutes: the owner over everyone else, an
 * admin over members only, a member over nobody. */
export function canModerate(myRole: string | undefined, targetRole: string | undefined): boolean {
  if (myRole === 'owner') return targetRole !== 'owner';
  if (myRole === 'admin') return targetRole === 'member';
  return false;
}

/** The address a person opens to join with an invite token. */
export function inviteUrl(origin: string, token: string): string {
  return `${origin.replace(/\/+$/, '')}/join/${encodeURIComponent(token)}`;
}

/** Whole seconds left until `until` (rounded up: "1 s" until it is over). */
export function secondsLeft(until: number, now: number): number {
  return until > now ? Math.ceil((until - now) / 1000) : 0;
}

export interface Member {
  user_id: Id;
  username: string;
  display_name: string;
  role: Role | string;
  joined_at: number;
  muted_until: number | null;
}

/** Appends a page to the members loaded so far: a member already there is
 * updated in place (a page boundary may repeat one after a change). */
export function mergeMembers(have: Member[], page: Member[]): Member[] {
  const at = new Map(have.map((m, i) => [m.user_id, i]));
  const out = have.slice();
  for (const m of page) {
    const i = at.get(m.user_id);
    if (i === undefined) {
      at.set(m.user_id, out.length);
      out.push(m);
    } else out[i] = m;
  }
  return out;
}

/** Whether a profile matches what was typed after "@": a prefix of the
 * username or of a word of the display name, ignoring case. */
export function matchesPrefix(p: Pick<Profile, 'username' | 'display_name'>, prefix: string): boolean {
  const q = prefix.trim().replace(/^@/, '').toLowerCase();
  if (!q) return true;
  if (p.username.toLowerCase().startsWith(q)) return true;
  return (p.display_name ?? '').toLowerCase().split(/\s+/).some((w) => w.startsWith(q));
}

/** The retry time of a `slow_mode` refusal: its `retry_after_ms` when the
 * error object carries it, else the number its message names ("wait 640 ms"). */
export function slowModeRetryMs(err: { code?: string; message?: string; retry_after_ms?: number }): number {
  if (err.code !== 'slow_mode') return 0;
  if (typeof err.retry_after_ms === 'number') return err.retry_after_ms;
  const m = /wait (\d+) ms/.exec(err.message ?? '');
  return m ? Number(m[1]) : 0;
}

/** The system actions after which a cached member list is stale. */
const MEMBER_ACTIONS = new Set([
  'created', 'members_added', 'member_removed', 'member_left', 'role_changed',
  'ownership_transferred', 'banned', 'unbanned', 'muted', 'unmuted', 'joined_by_link', 'dissolved',
]);
const INFO_ACTIONS = new Set(['info_changed', 'settings_changed', 'announcement_set', 'announcement_cleared']);

// ---------------------------------------------------------------- groups

/** Group objects loaded so far, by conversation id. */
export const groups = signal<Map<Id, Group>>(new Map());

function putGroup(g: Group): Group {
  const m = new Map(groups.value);
  m.set(g.conversation_id, g);
  groups.value = m;
  return g;
}

const enc = encodeURIComponent;
const base = (id: Id) => `/v1/groups/${enc(id)}`;

/** The user's groups, most recently active first (from the conversation list). */
export const groupList = computed(() =>
  [...conversations.value.values()]
    .filter((c) => c.kind === 'group' && !c.settings?.deleted)
    .sort((a, b) => (b.active_at ?? 0) - (a.active_at ?? 0)),
);

export async function createGroup(body: {
  title: string;
  description?: string;
  member_ids?: Id[];
  settings?: Partial<GroupSettings>;
}): Promise<Group> {
  const g = putGroup(await post<Group>('/v1/groups', body));
  void loadConversations().catch(() => {});
  return g;
}

export async function loadGroup(id: Id): Promise<Group> {
  return putGroup(await get<Group>(base(id)));
}

export async function patchGroup(
  id: Id,
  change: { title?: string; description?: string; avatar_file_id?: Id | null; settings?: Partial<GroupSettings> },
): Promise<Group> {
  return putGroup(await patch<Group>(base(id), change));
}

export async function setAnnouncement(id: Id, text: string): Promise<void> {
  const r = await api<{ announcement: Group['announcement'] }>('PUT', base(id) + '/announcement', { text });
  updateGroup(id, { announcement: r.announcement });
}
export async function clearAnnouncement(id: Id): Promise<void> {
  await del(base(id) + '/announcement');
  updateGroup(id, { announcement: null });
}

function updateGroup(id: Id, change: Partial<Group>): void {
  const g = groups.value.get(id);
  if (g) putGroup({ ...g, ...change });
}

export async function leaveGroup(id: Id): Promise<void> {
  await post(base(id) + '/leave');
  forget(id);
}
export async function dissolveGroup(id: Id): Promise<void> {
  await post(base(id) + '/dissolve');
  updateGroup(id, { dissolved: true });
}
export async function transferOwnership(id: Id, user_id: Id): Promise<void> {
  await post(base(id) + '/transfer', { user_id });
  await refresh(id);
}

/** Drops a group I am no longer in. The server stops listing it, but a
 * reload of the list only adds entries, so it is taken out here too. */
function forget(id: Id): void {
  const m = new Map(groups.value);
  m.delete(id);
  groups.value = m;
  memberCache.delete(id);
  if (conversations.value.has(id)) {
    const c = new Map(conversations.value);
    c.delete(id);
    conversations.value = c;
  }
}

// ---------------------------------------------------------------- members

export interface MemberPage {
  members: Member[];
  cursor: string | null;
  /** True once the last page is in. */
  done: boolean;
}

const memberCache = new Map<Id, Signal<MemberPage>>();

/** The members loaded so far for a group (page by page). */
export function membersOf(id: Id): Signal<MemberPage> {
  let s = memberCache.get(id);
  if (!s) memberCache.set(id, (s = signal<MemberPage>({ members: [], cursor: null, done: false })));
  return s;
}

/** Loads the next page of members (the first when fresh is set). */
export async function loadMembers(id: Id, fresh = false, limit = 50): Promise<MemberPage> {
  const s = membersOf(id);
  const cur = fresh ? { members: [], cursor: null, done: false } : s.value;
  if (cur.done) return cur;
  const r = await get<{ members: Member[]; next_cursor: string | null }>(
    base(id) + '/members' + query({ limit, cursor: cur.cursor }),
  );
  for (const m of r.members) rememberUser({ user_id: m.user_id, username: m.username, display_name: m.display_name });
  s.value = { members: mergeMembers(cur.members, r.members), cursor: r.next_cursor, done: !r.next_cursor };
  return s.value;
}

/** Reloads the group and as many member pages as were loaded. */
async function refresh(id: Id): Promise<void> {
  const had = Math.max(50, membersOf(id).value.members.length);
  await Promise.all([loadGroup(id), loadMembers(id, true, Math.min(200, had))]);
}

export async function addMembers(id: Id, user_ids: Id[]): Promise<Id[]> {
  const r = await post<{ added: Id[] }>(base(id) + '/members', { user_ids });
  await refresh(id);
  return r.added;
}
export async function kickMember(id: Id, user: Id): Promise<void> {
  await del(`${base(id)}/members/${enc(user)}`);
  await refresh(id);
}
export async function setRole(id: Id, user: Id, role: 'admin' | 'member'): Promise<void> {
  await api('PUT', `${base(id)}/members/${enc(user)}/role`, { role });
  await refresh(id);
}
export async function banUser(id: Id, user_id: Id): Promise<void> {
  await post(base(id) + '/bans', { user_id });
  await refresh(id);
}
export async function muteMember(id: Id, user: Id, until: number): Promise<void> {
  await post(`${base(id)}/members/${enc(user)}/mute`, { until });
  await refresh(id);
}
export async function unmuteMember(id: Id, user: Id): Promise<void> {
  await del(`${base(id)}/members/${enc(user)}/mute`);
  await refresh(id);
}

export interface Ban {
  user_id: Id;
  banned_by: Id;
  banned_at: number;
}
export async function listBans(id: Id): Promise<Ban[]> {
  return (await get<{ bans: Ban[] }>(base(id) + '/bans')).bans;
}
export async function unbanUser(id: Id, user: Id): Promise<void> {
  await del(`${base(id)}/bans/${enc(user)}`);
}

/** Finds registered users by username or name (GET /v1/users/search). */
export async function searchUsers(q: string, limit = 8): Promise<Profile[]> {
  const r = await get<{ users: Profile[] }>('/v1/users/search' + query({ q, limit }));
  for (const u of r.users) rememberUser(u);
  return r.users;
}

// ---------------------------------------------------------------- invites

export interface Invite {
  token: string;
  conversation_id: Id;
  expires_at: number | null;
  max_uses: number | null;
  uses: number;
  created_by: Id;
  created_at: number;
  revoked: boolean;
}

export async function createInvite(id: Id, opts: { expires_at?: number; max_uses?: number }): Promise<Invite> {
  return post<Invite>(base(id) + '/invites', opts);
}
export async function listInvites(id: Id): Promise<Invite[]> {
  return (await get<{ invites: Invite[] }>(base(id) + '/invites')).invites;
}
export async function revokeInvite(id: Id, token: string): Promise<void> {
  await del(`${base(id)}/invites/${enc(token)}`);
}
/** Joins the group of an invite link; answers the group. */
export async function joinByInvite(token: string): Promise<Group> {
  const g = putGroup(await post<Group>(`/v1/invites/${enc(token)}/join`));
  void loadConversations().catch(() => {});
  return g;
}

// ---------------------------------------------------------------- mentions

/** Members of a conversation whose name or username starts with prefix
 * (mentions): a group's members (loaded once, up to 1000, and again after a
 * membership change), a direct conversation's peer, nobody in the world room. */
export async function searchMembers(conv: Id, prefix: string): Promise<Profile[]> {
  if (conv === worldId.value) return [];
  const c = conversations.value.get(conv);
  if (c?.kind === 'direct') return c.peer && matchesPrefix(c.peer, prefix) ? [c.peer] : [];
  if (c && c.kind !== 'group') return [];
  let page = membersOf(conv).value;
  try {
    for (let i = 0; i < 5 && !page.done; i++) page = await loadMembers(conv, false, 200);
  } catch {
    // Not a group of mine (or offline): suggest from what is loaded.
  }
  const mine = session.value?.userId;
  return page.members
    .filter((m) => m.user_id !== mine && matchesPrefix(m, prefix))
    .map((m) => ({ user_id: m.user_id, username: m.username, display_name: m.display_name }));
}

// ---------------------------------------------------------------- world room

export interface WorldInfo {
  conversation_id: Id;
  kind: 'world';
  title: string;
  description?: string;
  topic?: string;
  slow_mode_ms: number;
  guests: 'write' | 'read' | 'off' | string;
}

/** The world room's conversation id, once GET /v1/world answered. */
export const worldId = signal<Id | null>(null);
export const world = signal<WorldInfo | null>(null);

export async function loadWorld(): Promise<WorldInfo> {
  const w = await get<WorldInfo>('/v1/world');
  world.value = w;
  worldId.value = w.conversation_id;
  watchOwnPosts(w.conversation_id);
  return w;
}

// ---------------------------------------------------------------- slow mode

/** Until when (local ms) each conversation refuses my next post. */
const slowUntil = signal<Map<Id, number>>(new Map());
/** One clock for every countdown, ticking only while one runs. */
const now = signal(Date.now());
let ticker: ReturnType<typeof setInterval> | undefined;

function tick(): void {
  now.value = Date.now();
  let running = false;
  for (const u of slowUntil.value.values()) if (u > now.value) running = true;
  if (!running && ticker !== undefined) {
    clearInterval(ticker);
    ticker = undefined;
  }
}

/** Records that conv accepts my next post only in ms milliseconds. */
export function noteSlowMode(conv: Id, ms: number): void {
  if (ms <= 0) return;
  const until = Date.now() + ms;
  if ((slowUntil.value.get(conv) ?? 0) >= until) return;
  const m = new Map(slowUntil.value);
  m.set(conv, until);
  slowUntil.value = m;
  now.value = Date.now();
  ticker ??= setInterval(tick, 250);
}

/** Feeds a refused post's error in: a `slow_mode` one starts the countdown. */
export function noteSendError(conv: Id, err: unknown): void {
  noteSlowMode(conv, slowModeRetryMs((err ?? {}) as any));
}

const remaining = new Map<Id, ReadonlySignal<number>>();
/** Seconds before I may post in conv again (0: now); the composer may
 * disable sending while it is above 0. */
export function slowModeRemaining(conv: Id): ReadonlySignal<number> {
  let s = remaining.get(conv);
  if (!s) remaining.set(conv, (s = computed(() => secondsLeft(slowUntil.value.get(conv) ?? 0, now.value))));
  return s;
}

let unwatch: (() => void) | null = null;

/** Starts a countdown each time one of my posts in the room is stored
 * (acked here, or arriving from another of my devices). */
function watchOwnPosts(conv: Id): void {
  unwatch?.();
  let lastSeq = 0;
  unwatch = effect(() => {
    const ms = world.value?.slow_mode_ms ?? 0;
    const me = session.value?.userId;
    const list: Message[] = messagesOf(conv).value;
    let top = lastSeq;
    let fresh = false;
    for (let i = list.length - 1; i >= 0 && i >= list.length - 20; i--) {
      const m = list[i] as Message & { state?: string };
      if (m.sender !== me || m.seq <= lastSeq) continue;
      top = Math.max(top, m.seq);
      // Older pages of history are not new posts; an ack or a live one is.
      if (m.state === 'sent' || Date.now() - m.created_at < 10_000) fresh = true;
    }
    lastSeq = top;
    if (fresh && ms > 0) noteSlowMode(conv, ms);
  });
}

// ---------------------------------------------------------------- live changes

ws.on('message', (ev) => {
  const m = ev.message as Message | undefined;
  if (!m || m.kind !== 'system' || !m.system) return;
  const action = String(m.system.action);
  const id = m.conversation;
  const mine = session.value?.userId;
  const ids: Id[] = Array.isArray(m.system.user_ids) ? m.system.user_ids : [];
  if ((action === 'member_removed' || action === 'banned') && mine && ids.includes(mine)) return forget(id);
  if (MEMBER_ACTIONS.has(action) && memberCache.has(id)) reloadMembersSoon(id);
  if ((MEMBER_ACTIONS.has(action) || INFO_ACTIONS.has(action)) && groups.value.has(id))
    void loadGroup(id).catch(() => {});
});

const reloads = new Map<Id, ReturnType<typeof setTimeout>>();
/** Reloads the loaded member pages once a burst of membership changes is over
 * (adding 100 people is one system message, but kicks come one by one). */
function reloadMembersSoon(id: Id): void {
  clearTimeout(reloads.get(id));
  reloads.set(
    id,
    setTimeout(() => {
      reloads.delete(id);
      const had = membersOf(id).value.members.length;
      void loadMembers(id, true, Math.min(200, Math.max(50, had))).catch(() => {});
    }, 300),
  );
}

ws.on('announcement', (ev) => updateGroup(ev.conversation, { announcement: ev.announcement ?? null }));

// Another account signing in on this tab must not see the last one's groups.
let lastUser = session.value?.userId;
session.subscribe((s) => {
  if (s?.userId === lastUser) return;
  lastUser = s?.userId;
  groups.value = new Map();
  memberCache.clear();
  slowUntil.value = new Map();
});

// ---------------------------------------------------------------- world moderation (server admins)

export interface WorldBan {
  user_id: Id;
  username: string;
  reason: string;
  banned_by: Id | null;
  created_at: number;
}

export async function listWorldBans(cursor?: string | null): Promise<{ bans: WorldBan[]; next_cursor: string | null }> {
  return get('/v1/admin/world/bans' + query({ limit: 50, cursor }));
}
export async function worldBan(user_id: Id, reason?: string): Promise<WorldBan> {
  return post<WorldBan>('/v1/admin/world/bans', { user_id, ...(reason ? { reason } : {}) });
}
export async function worldUnban(user_id: Id): Promise<void> {
  await del(`/v1/admin/world/bans/${enc(user_id)}`);
}
