// Conversations and their messages, as the UI sees them: signals that the
// screens read, and the operations they call. Filled from GET
// /v1/conversations, `history`, live events and `sync` (state/sync.ts);
// optimistic sends live in state/outbox.ts.
//
// Updates are batched: a sync page, a list page or an event makes one new Map
// (and one new array per touched conversation), inside batch(), so a burst
// re-renders once.
import { signal, computed, batch, type Signal } from '@preact/signals';
import { get, post, patch, query } from '../lib/http';
import { ws } from '../lib/ws';
import { session } from '../lib/session';
import { path, match } from '../router';
import { worldId } from './groups';
import type { ContactEntry, ConversationEntry, ConvSettings, Id, Message, Profile } from '../lib/types';

export { sendMessage, retryMessage, discardMessage } from './outbox';
export { startChat, stopChat } from './sync';

/** A message as shown: a stored one, or one of ours not acked yet. */
export type DeliveryState = 'pending' | 'failed' | 'sent' | 'delivered' | 'read';
export interface LocalMessage extends Message {
  /** Only for the caller's own messages. */
  state?: DeliveryState;
  /** Upload progress 0..1 while an attachment of a pending message uploads. */
  progress?: number;
  /** Why a failed message failed (the server's message), for the UI. */
  error?: string;
  /** The error code of a failed message. */
  errorCode?: string;
}

export interface Draft {
  kind?: Message['kind'];
  text?: string;
  content?: Record<string, unknown>;
  reply_to?: Id;
  mentions?: Id[];
  mention_all?: boolean;
}

/** Every conversation known, by id. */
export const conversations = signal<Map<Id, ConversationEntry>>(new Map());
/** True once the first page of GET /v1/conversations is in. */
export const conversationsLoaded = signal(false);

function byRecency(a: ConversationEntry, b: ConversationEntry): number {
  if (!!a.settings?.pinned !== !!b.settings?.pinned) return a.settings?.pinned ? -1 : 1;
  return (b.active_at ?? 0) - (a.active_at ?? 0);
}

/** Whether notifications of a conversation are off now. */
export function isMuted(c: ConversationEntry | undefined, now = Date.now()): boolean {
  const m = c?.settings?.muted_until ?? 0;
  return m === -1 || m > now;
}

/** The conversation list: pinned first, then the most recently active. */
export const conversationList = computed(() =>
  [...conversations.value.values()].filter((c) => !c.settings?.archived && !c.settings?.deleted).sort(byRecency),
);
export const archivedList = computed(() =>
  [...conversations.value.values()].filter((c) => c.settings?.archived && !c.settings?.deleted).sort(byRecency),
);
/** Unread messages over every conversation not muted (for the tab title). */
export const totalUnread = computed(() => {
  let n = 0;
  const now = Date.now();
  for (const c of conversations.value.values()) if (!isMuted(c, now) && !c.settings?.deleted) n += c.unread ?? 0;
  return n;
});

const msgs = new Map<Id, Signal<LocalMessage[]>>();
const more = new Map<Id, Signal<boolean>>();
/** Conversations whose newest messages are loaded: only these keep the
 * messages that events and sync bring (the others just update their entry,
 * and load a page when opened). */
const loaded = new Set<Id>();

/** The loaded messages of a conversation, in seq order (pending ones last). */
export function messagesOf(conv: Id): Signal<LocalMessage[]> {
  let s = msgs.get(conv);
  if (!s) msgs.set(conv, (s = signal([])));
  return s;
}
/** Whether older messages than the first loaded one exist. */
export function hasOlder(conv: Id): Signal<boolean> {
  let s = more.get(conv);
  if (!s) more.set(conv, (s = signal(true)));
  return s;
}
export function isLoaded(conv: Id): boolean {
  return loaded.has(conv);
}

/** Users seen so far (senders, peers, members), by id. */
export const users = signal<Map<Id, Profile>>(new Map());
/** Who is typing where: conversation → user → until (ms). */
export const typing = signal<Map<Id, Map<Id, number>>>(new Map());
/** Presence by user. */
export const presence = signal<Map<Id, { online: boolean; last_seen_at: number | null }>>(new Map());
/** The caller's contact entries (friends and pending requests), by user id;
 * kept current by `contact` events and sync. */
export const contacts = signal<Map<Id, ContactEntry>>(new Map());

/** The other members' receipt cursors per conversation (the peer's in a
 * direct one; the furthest member's in a group): own messages at or below
 * them show delivered / read. Persisted by state/sync.ts with the cursor. */
export const peerCursors = new Map<Id, { delivered: number; read: number }>();

export const myId = (): Id | undefined => session.value?.userId;

const presenceAsked = new Set<Id>();

/** Fetches the presence of users not known yet (e.g. the peers of the rows
 * on screen): events only tell changes. A few at a time; once per user. */
export async function loadPresence(ids: Id[]): Promise<void> {
  const todo = ids.filter((id) => !presenceAsked.has(id) && !presence.peek().has(id));
  for (const id of todo) presenceAsked.add(id);
  for (let i = 0; i < todo.length; i += 8) {
    const got = await Promise.all(
      todo.slice(i, i + 8).map((id) => get(`/v1/users/${id}/presence`).catch(() => null)),
    );
    const m = new Map(presence.peek());
    for (const p of got) if (p?.user_id && !m.has(p.user_id)) m.set(p.user_id, { online: !!p.online, last_seen_at: p.last_seen_at ?? null });
    presence.value = m;
  }
}

/** A display name for a user id (display name, else @username, else the id). */
export function userName(id: Id): string {
  const u = users.value.get(id);
  return u?.display_name || (u?.username ? '@' + u.username : id);
}

/** The conversation on screen (from the route), or null. */
export const activeConversation = computed<Id | null>(() => {
  const m = match('/chats/:id', path.value);
  if (m) return m.id;
  return path.value === '/world' ? worldId.value : null;
});

/** Whether the person can see conv right now (open, tab visible). */
export function isSeen(conv: Id): boolean {
  const d = globalThis.document;
  return activeConversation.value === conv && (!d || d.visibilityState === 'visible');
}

// ---- conversations ------------------------------------------------------------------

/** Upserts conversation entries (one new Map). A `peer` that is an id (the
 * sync shape) never replaces the profile object already known. */
export function putConvs(list: Partial<ConversationEntry>[]): void {
  if (!list.length) return;
  const m = new Map(conversations.value);
  const people: Profile[] = [];
  for (const c of list) {
    const id = c.conversation_id!;
    const old = m.get(id);
    const next = { ...old, ...c } as ConversationEntry;
    if (typeof (c as any).peer === 'string') {
      next.peer = old?.peer ?? users.value.get((c as any).peer) ?? ({ user_id: (c as any).peer } as Profile);
    } else if (c.peer) people.push(c.peer);
    m.set(id, next);
  }
  batch(() => {
    conversations.value = m;
    if (people.length) rememberUsers(people);
  });
}

function putConv(c: Partial<ConversationEntry>): void {
  putConvs([c]);
}

export function rememberUser(p: Profile): void {
  rememberUsers([p]);
}

/** Upserts profiles (one new Map). */
export function rememberUsers(list: Profile[]): void {
  const m = new Map(users.value);
  for (const p of list) if (p?.user_id) m.set(p.user_id, { ...m.get(p.user_id), ...p });
  users.value = m;
}

let listLoading: Promise<void> | null = null;

/** Loads the conversation list (every page, 200 at a time; the first page is
 * shown at once). Concurrent callers share one load. */
export function loadConversations(): Promise<void> {
  if (!listLoading) listLoading = loadAllPages().finally(() => (listLoading = null));
  return listLoading;
}

async function loadAllPages(): Promise<void> {
  const seen = new Set<Id>();
  let cursor: string | null = null;
  do {
    const page: { conversations: ConversationEntry[]; next_cursor: string | null } = await get(
      '/v1/conversations' + query({ limit: 200, cursor }),
    );
    for (const c of page.conversations) seen.add(c.conversation_id);
    batch(() => {
      putConvs(page.conversations);
      conversationsLoaded.value = true;
    });
    cursor = page.next_cursor;
  } while (cursor);
  // Archived ones come from their own listing.
  cursor = null;
  do {
    const page: { conversations: ConversationEntry[]; next_cursor: string | null } = await get(
      '/v1/conversations' + query({ limit: 200, cursor, archived: true }),
    );
    for (const c of page.conversations) seen.add(c.conversation_id);
    putConvs(page.conversations);
    cursor = page.next_cursor;
  } while (cursor);
  // A conversation gone from both listings (left, removed, deleted) goes.
  const stale = [...conversations.value.keys()].filter((id) => !seen.has(id));
  if (stale.length) {
    const m = new Map(conversations.value);
    for (const id of stale) m.delete(id);
    conversations.value = m;
  }
}

let refreshSoon: Promise<void> | null = null;
/** Conversations that a list reload did not bring (the world room, which is
 * never listed): their messages do not reload the list again. */
const unlisted = new Set<Id>();
const pendingLook = new Set<Id>();

/** Whether a message of conv should reload the list (an unknown
 * conversation, not the world room, not already looked for). */
export function shouldLookFor(conv: Id): boolean {
  return !conversations.peek().has(conv) && !loaded.has(conv) && conv !== worldId.peek() && !unlisted.has(conv) && conversationsLoaded.peek();
}

/** Reloads the list soon (a burst of unknown conversations costs one load);
 * `lookingFor` are the ids that made it necessary. */
export function refreshConversationsSoon(lookingFor?: Id): Promise<void> {
  if (lookingFor) pendingLook.add(lookingFor);
  if (!refreshSoon)
    refreshSoon = new Promise((r) => setTimeout(r, 300))
      .then(() => {
        refreshSoon = null;
        const looked = [...pendingLook];
        pendingLook.clear();
        return loadConversations().then(() => {
          for (const id of looked) if (!conversations.peek().has(id)) unlisted.add(id);
        });
      })
      .catch(() => {});
  return refreshSoon;
}

// ---- messages -----------------------------------------------------------------------

/** The delivery state of an own stored message from the peers' cursors. */
export function ownState(conv: Id, seq: number): DeliveryState {
  const c = peerCursors.get(conv);
  if (c && c.read >= seq) return 'read';
  if (c && c.delivered >= seq) return 'delivered';
  return 'sent';
}

const TOMBSTONE_DROPS = [
  'content', 'reply_to', 'forwarded_from', 'mentions', 'mention_all', 'reactions',
  'edited_at', 'pinned_at', 'pinned_by',
] as const;

/** The tombstone of m (deleted for everyone): its content is gone for good. */
export function tombstone(m: LocalMessage, at?: number): LocalMessage {
  const t: LocalMessage = { ...m, text: '', deleted: true };
  if (at) t.deleted_at = at;
  for (const k of TOMBSTONE_DROPS) delete (t as any)[k];
  return t;
}

function bySeq(a: LocalMessage, b: LocalMessage): number {
  // Pending ones (seq 0) go last, in the order they were written.
  if (!a.seq || !b.seq) return (a.seq ? 0 : 1) - (b.seq ? 0 : 1) || a.created_at - b.created_at;
  return a.seq - b.seq;
}

/**
 * Merges incoming messages into list (a pure function, for tests): upsert by
 * message_id, in seq order; a stored message carrying the client_msg_id of a
 * local pending one replaces it (the ack and an event or sync may race).
 * `full`: the incoming objects are complete states (history, sync) and
 * replace what was known; otherwise (events) they are merged over it, since
 * events carry no reactions.
 */
export function mergeMessageList(
  list: LocalMessage[],
  incoming: LocalMessage[],
  me: Id | undefined,
  stateOf: (seq: number) => DeliveryState,
  full: boolean,
): LocalMessage[] {
  const byId = new Map(list.map((m) => [m.message_id, m]));
  const localByCmid = new Map<string, Id>();
  for (const m of list) if (!m.seq && m.client_msg_id) localByCmid.set(m.client_msg_id, m.message_id);
  for (const m of incoming) {
    if (m.seq && m.client_msg_id && m.sender === me) {
      const lid = localByCmid.get(m.client_msg_id);
      if (lid && lid !== m.message_id) byId.delete(lid);
    }
    const old = byId.get(m.message_id);
    let next: LocalMessage = full || !old ? { ...m } : { ...old, ...m };
    if (m.deleted) next = tombstone(next);
    if (next.seq && next.sender === me) next.state = stateOf(next.seq);
    delete next.error;
    delete next.errorCode;
    byId.set(m.message_id, next);
  }
  return [...byId.values()].sort(bySeq);
}

/** Merges messages into a conversation's loaded list. */
export function mergeMessages(conv: Id, incoming: LocalMessage[], full = true): void {
  if (!incoming.length) return;
  const s = messagesOf(conv);
  s.value = mergeMessageList(s.value, incoming, myId(), (seq) => ownState(conv, seq), full);
}

/** Changes the loaded messages of conv that pass pick (one new array, or
 * none when nothing changed). */
export function mapMessages(conv: Id, fn: (m: LocalMessage) => LocalMessage | null): void {
  const s = msgs.get(conv);
  if (!s) return;
  let changed = false;
  const out: LocalMessage[] = [];
  for (const m of s.value) {
    const n = fn(m);
    if (n !== m) changed = true;
    if (n) out.push(n);
  }
  if (changed) s.value = out;
}

/** Drops loaded messages at or below seq (the history was cleared). */
function dropUpTo(conv: Id, seq: number): void {
  mapMessages(conv, (m) => (m.seq && m.seq <= seq ? null : m));
}

/** Takes new receipts of the other members: own messages' states follow. */
export function applyPeerCursor(conv: Id, delivered?: number, read?: number): void {
  const cur = peerCursors.get(conv) ?? { delivered: 0, read: 0 };
  const next = {
    delivered: Math.max(cur.delivered, delivered ?? 0, read ?? 0),
    read: Math.max(cur.read, read ?? 0),
  };
  if (next.delivered === cur.delivered && next.read === cur.read && peerCursors.has(conv)) return;
  peerCursors.set(conv, next);
  const me = myId();
  mapMessages(conv, (m) => {
    if (!m.seq || m.sender !== me) return m;
    const st = ownState(conv, m.seq);
    return st === m.state ? m : { ...m, state: st };
  });
}

/** What a conversation's entry becomes when message m arrives (or is
 * re-sent by sync): newest message, activity, and the unread count. */
export function entryAfter(c: ConversationEntry, m: Message, countUnread: boolean): ConversationEntry {
  if (m.seq < (c.last_message?.seq ?? 0)) return c;
  const mine = m.sender === myId();
  const isNew = m.seq > (c.last_seq ?? 0);
  const next: ConversationEntry = {
    ...c,
    last_message: m,
    last_seq: Math.max(c.last_seq ?? 0, m.seq),
    active_at: Math.max(c.active_at ?? 0, m.created_at),
  };
  if (mine) {
    // Sending moves the sender's own cursors to the message.
    next.read_seq = Math.max(c.read_seq ?? 0, m.seq);
    next.unread = 0;
    next.unread_mentions = 0;
  } else if (isNew && countUnread) {
    next.unread = (c.unread ?? 0) + 1;
  }
  if (next.settings?.deleted && isNew) next.settings = { ...next.settings, deleted: false };
  return next;
}

/** Loads the newest page of a conversation if it is not loaded yet. */
export async function openConversation(conv: Id): Promise<void> {
  if (loaded.has(conv)) return;
  const r = await ws.request('history', { conversation: conv, limit: 50 });
  loaded.add(conv);
  batch(() => {
    mergeMessages(conv, r.messages);
    hasOlder(conv).value = r.has_more;
  });
  noteReceived(conv, r.messages);
}

/** Loads the page before the first loaded message; returns whether more exist. */
export async function loadOlder(conv: Id): Promise<boolean> {
  if (!loaded.has(conv)) {
    await openConversation(conv);
    return hasOlder(conv).value;
  }
  const first = messagesOf(conv).value.find((m) => m.seq > 0);
  const r = await ws.request('history', {
    conversation: conv,
    limit: 50,
    ...(first ? { before_seq: first.seq } : {}),
  });
  batch(() => {
    mergeMessages(conv, r.messages);
    hasOlder(conv).value = r.has_more;
  });
  return r.has_more;
}

// ---- delivered / read ------------------------------------------------------------

const deliveredDue = new Map<Id, number>();
let deliveredTimer: ReturnType<typeof setTimeout> | undefined;

/** Notes messages of others that reached this device; the `delivered`
 * receipts go out batched, one per conversation, a moment later. */
export function noteReceived(conv: Id, list: Message[]): void {
  const me = myId();
  if (conv === worldId.peek()) return; // the world room: no receipts there
  // A conversation new to this device (its first message) is not listed yet;
  // its sender still waits for the receipt.
  const c = conversations.value.get(conv);
  let top = 0;
  for (const m of list) if (m.sender !== me && m.seq > top) top = m.seq;
  if (top <= (c?.delivered_seq ?? 0) || top <= (deliveredDue.get(conv) ?? 0)) return;
  deliveredDue.set(conv, top);
  if (!deliveredTimer) deliveredTimer = setTimeout(flushDelivered, 1_000);
}

async function flushDelivered(): Promise<void> {
  deliveredTimer = undefined;
  const due = [...deliveredDue];
  deliveredDue.clear();
  for (const [conv, seq] of due) {
    try {
      const r = await ws.request('delivered', { conversation: conv, seq });
      const c = conversations.value.get(conv);
      if (c && (c.delivered_seq ?? 0) < r.delivered_seq) putConv({ ...c, delivered_seq: r.delivered_seq });
    } catch {
      /* the next sync or message reports it again */
    }
  }
}

/** Marks everything up to seq read (no-op when already read). */
export async function markRead(conv: Id, seq: number): Promise<void> {
  const c = conversations.value.get(conv);
  if (!c || (c.read_seq >= seq && !c.unread)) return;
  const r = await ws.request('read', { conversation: conv, seq });
  const now = conversations.value.get(conv);
  if (now) putConv(readState(now, r.read_seq, r.unread));
}

/** conv's entry once read up to read_seq, with unread left. */
export function readState(c: ConversationEntry, read_seq: number, unread: number): ConversationEntry {
  return {
    ...c,
    read_seq: Math.max(c.read_seq ?? 0, read_seq),
    delivered_seq: Math.max(c.delivered_seq ?? 0, read_seq),
    unread,
    unread_mentions: unread ? c.unread_mentions : 0,
  };
}

const reading = new Set<Id>();

/** Reads the open conversation when it is (or becomes) visible. */
export function readIfSeen(conv: Id): void {
  const c = conversations.peek().get(conv);
  if (!c || !isSeen(conv) || (!c.unread && c.read_seq >= c.last_seq) || reading.has(conv)) return;
  reading.add(conv);
  void markRead(conv, c.last_seq)
    .catch(() => {})
    .finally(() => reading.delete(conv));
}

// ---- other operations ------------------------------------------------------------------

export async function editMessage(conv: Id, message_id: Id, text: string): Promise<void> {
  const r = await ws.request('edit', { conversation: conv, message_id, text });
  // The calling session gets no event for its own edit.
  mapMessages(conv, (m) => (m.message_id === message_id ? { ...m, text, edited_at: r.edited_at } : m));
}
export async function deleteMessage(conv: Id, message_id: Id, forWhom: 'me' | 'everyone'): Promise<void> {
  await ws.request('delete', { conversation: conv, message_id, for: forWhom });
  applyDelete(conv, message_id, forWhom);
}

/** A message deleted for everyone (tombstone, quotes of it marked) or for me (gone). */
export function applyDelete(conv: Id, message_id: Id, forWhom: string, at?: number): void {
  mapMessages(conv, (m) => {
    if (m.message_id === message_id) return forWhom === 'me' ? null : m.deleted ? m : tombstone(m, at);
    if (forWhom !== 'me' && m.reply_to?.message_id === message_id && !m.reply_to.deleted)
      return { ...m, reply_to: { message_id, deleted: true } };
    return m;
  });
  const c = conversations.value.get(conv);
  if (c?.last_message?.message_id === message_id && forWhom !== 'me')
    putConv({ ...c, last_message: tombstone(c.last_message, at) });
}

/** Sets the count of one emoji on a message; `me` changes only when the
 * change is the caller's own. */
export function applyReaction(conv: Id, message_id: Id, emoji: string, count: number, mine?: boolean): void {
  mapMessages(conv, (m) => {
    if (m.message_id !== message_id) return m;
    const list = [...(m.reactions ?? [])];
    const i = list.findIndex((r) => r.emoji === emoji);
    const me = mine ?? (i >= 0 ? list[i].me : false);
    if (count <= 0) {
      if (i >= 0) list.splice(i, 1);
    } else if (i >= 0) list[i] = { emoji, count, me };
    else list.push({ emoji, count, me });
    const next: LocalMessage = { ...m, reactions: list };
    if (!list.length) delete next.reactions;
    return next;
  });
}

export async function react(conv: Id, message_id: Id, emoji: string): Promise<void> {
  const r = await ws.request('react', { conversation: conv, message_id, emoji });
  applyReaction(conv, message_id, emoji, r.count, true);
}
export async function unreact(conv: Id, message_id: Id, emoji: string): Promise<void> {
  const r = await ws.request('unreact', { conversation: conv, message_id, emoji });
  applyReaction(conv, message_id, emoji, r.count, false);
}

/** A pin or unpin: the message and the conversation's pinned list. */
export function applyPin(conv: Id, message_id: Id, pinned: boolean, by?: Id, at?: number): void {
  mapMessages(conv, (m) => {
    if (m.message_id !== message_id) return m;
    const next = { ...m };
    if (pinned) Object.assign(next, { pinned_at: m.pinned_at || at, pinned_by: m.pinned_by || by });
    else {
      delete next.pinned_at;
      delete next.pinned_by;
    }
    return next;
  });
  const c = conversations.value.get(conv);
  if (!c) return;
  const ids = (c.pinned_messages ?? []).filter((id) => id !== message_id);
  putConv({ ...c, pinned_messages: pinned ? [message_id, ...ids] : ids });
}
export async function pin(conv: Id, message_id: Id): Promise<void> {
  const r = await ws.request('pin', { conversation: conv, message_id });
  applyPin(conv, message_id, true, myId(), r.pinned_at);
}
export async function unpin(conv: Id, message_id: Id): Promise<void> {
  await ws.request('unpin', { conversation: conv, message_id });
  applyPin(conv, message_id, false);
}

let fwdSeq = 0;
export async function forward(from: Id, message_ids: Id[], to: Id): Promise<void> {
  const client_msg_id = 'f-' + Date.now().toString(36) + '-' + (fwdSeq++).toString(36);
  await ws.request('forward', { from, message_ids, conversation: to, client_msg_id });
  // The copies come back through the next sync / history of the target.
  if (!conversations.value.has(to)) refreshConversationsSoon();
}

const typingSent = new Map<Id, number>();
/** Tells the others we are typing (call on input; at most every 3 s here). */
export function sendTyping(conv: Id): void {
  const now = Date.now();
  if (now - (typingSent.get(conv) ?? 0) < 3_000) return;
  typingSent.set(conv, now);
  void ws.request('typing', { conversation: conv }).catch(() => {});
}

export async function updateSettings(conv: Id, change: Partial<Pick<ConvSettings, 'muted_until' | 'pinned' | 'archived'>>): Promise<void> {
  const r = await patch('/v1/conversations/' + conv, change);
  applySettings(conv, r.settings);
}

/** The caller's settings of conv changed (here or on another device). */
export function applySettings(conv: Id, settings: ConvSettings): void {
  const c = conversations.value.get(conv);
  if (!c) return;
  batch(() => {
    if (settings.cleared_seq > (c.settings?.cleared_seq ?? 0)) dropUpTo(conv, settings.cleared_seq);
    putConv({ ...c, settings });
  });
}

/** Opens (or creates) the direct conversation with a user; returns its id. */
export async function openDirect(who: { user_id?: Id; username?: string }): Promise<Id> {
  const r = await post('/v1/conversations/direct', who);
  if (!conversations.value.has(r.conversation_id)) {
    // Shown at once; the list reload fills the rest.
    putConv({
      conversation_id: r.conversation_id,
      kind: 'direct',
      peer: users.value.get(r.peer) ?? ({ user_id: r.peer, username: who.username ?? '', display_name: who.username ?? '' } as Profile),
      last_message: null,
      last_seq: 0,
      read_seq: 0,
      unread: 0,
      unread_mentions: 0,
      active_at: Date.now(),
      settings: { muted_until: 0, pinned: false, archived: false, cleared_seq: 0, deleted: false },
    });
    await loadConversations();
  }
  return r.conversation_id;
}

/** Forgets everything of the signed-out user. */
export function resetChat(): void {
  batch(() => {
    conversations.value = new Map();
    conversationsLoaded.value = false;
    users.value = new Map();
    typing.value = new Map();
    presence.value = new Map();
    contacts.value = new Map();
  });
  msgs.clear();
  more.clear();
  loaded.clear();
  presenceAsked.clear();
  unlisted.clear();
  pendingLook.clear();
  peerCursors.clear();
  deliveredDue.clear();
  typingSent.clear();
  clearTimeout(deliveredTimer);
  deliveredTimer = undefined;
}
