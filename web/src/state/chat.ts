// Conversations and their messages, as the UI sees them: signals that the
// screens read, and the operations they call. Filled from GET
// /v1/conversations, `history`, live events and `sync`.
//
// OWNER: core. This first version is deliberately simple (it works against a
// real server, without outbox persistence or sync); the signatures are the
// contract the screens are written against.
import { signal, computed, type Signal } from '@preact/signals';
import { get, post, patch, query } from '../lib/http';
import { ws } from '../lib/ws';
import { session } from '../lib/session';
import type { ConversationEntry, ConvSettings, Id, Message, Profile } from '../lib/types';

/** A message as shown: a stored one, or one of ours not acked yet. */
export type DeliveryState = 'pending' | 'failed' | 'sent' | 'delivered' | 'read';
export interface LocalMessage extends Message {
  /** Only for the caller's own messages. */
  state?: DeliveryState;
  /** Upload progress 0..1 while an attachment of a pending message uploads. */
  progress?: number;
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
  if (a.settings?.pinned !== b.settings?.pinned) return a.settings?.pinned ? -1 : 1;
  return (b.active_at ?? 0) - (a.active_at ?? 0);
}

/** The conversation list: pinned first, then the most recently active. */
export const conversationList = computed(() =>
  [...conversations.value.values()].filter((c) => !c.settings?.archived && !c.settings?.deleted).sort(byRecency),
);
export const archivedList = computed(() =>
  [...conversations.value.values()].filter((c) => c.settings?.archived).sort(byRecency),
);
/** Unread messages over every conversation not muted (for the tab title). */
export const totalUnread = computed(() => {
  let n = 0;
  for (const c of conversations.value.values()) if (!c.settings?.muted_until) n += c.unread ?? 0;
  return n;
});

const msgs = new Map<Id, Signal<LocalMessage[]>>();
const more = new Map<Id, Signal<boolean>>();

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

/** Users seen so far (senders, peers, members), by id. */
export const users = signal<Map<Id, Profile>>(new Map());
/** Who is typing where: conversation → user → until (ms). */
export const typing = signal<Map<Id, Map<Id, number>>>(new Map());
/** Presence by user. */
export const presence = signal<Map<Id, { online: boolean; last_seen_at: number | null }>>(new Map());

function putConv(c: ConversationEntry): void {
  const m = new Map(conversations.value);
  m.set(c.conversation_id, { ...m.get(c.conversation_id), ...c });
  conversations.value = m;
  if (c.peer) rememberUser(c.peer);
}

export function rememberUser(p: Profile): void {
  const m = new Map(users.value);
  m.set(p.user_id, { ...m.get(p.user_id), ...p });
  users.value = m;
}

/** Loads the conversation list (every page). */
export async function loadConversations(): Promise<void> {
  let cursor: string | null = null;
  do {
    const page: { conversations: ConversationEntry[]; next_cursor: string | null } = await get(
      '/v1/conversations' + query({ limit: 200, cursor }),
    );
    for (const c of page.conversations) putConv(c);
    conversationsLoaded.value = true;
    cursor = page.next_cursor;
  } while (cursor);
}

function merge(conv: Id, incoming: LocalMessage[]): void {
  const s = messagesOf(conv);
  const byId = new Map(s.value.map((m) => [m.message_id, m]));
  for (const m of incoming) byId.set(m.message_id, { ...byId.get(m.message_id), ...m });
  s.value = [...byId.values()].sort((a, b) => (a.seq || Infinity) - (b.seq || Infinity));
}

/** Loads the newest page of a conversation if nothing is loaded yet. */
export async function openConversation(conv: Id): Promise<void> {
  if (messagesOf(conv).value.length === 0) await loadOlder(conv);
}

/** Loads the page before the first loaded message; returns whether more exist. */
export async function loadOlder(conv: Id): Promise<boolean> {
  const first = messagesOf(conv).value.find((m) => m.seq > 0);
  const r = await ws.request('history', {
    conversation: conv,
    limit: 50,
    ...(first ? { before_seq: first.seq } : {}),
  });
  merge(conv, r.messages);
  hasOlder(conv).value = r.has_more;
  return r.has_more;
}

let localSeq = 0;

/** Sends a message optimistically: it shows at once as pending, becomes
 * sent when acked; failures show as failed (retry with retryMessage). */
export function sendMessage(conv: Id, d: Draft): LocalMessage {
  const cmid = 'w-' + Date.now().toString(36) + '-' + (localSeq++).toString(36);
  const me = session.value!.userId;
  const local: LocalMessage = {
    message_id: 'local:' + cmid,
    conversation: conv,
    seq: 0,
    sender: me,
    kind: d.kind ?? 'text',
    text: d.text ?? '',
    created_at: Date.now(),
    client_msg_id: cmid,
    state: 'pending',
    ...(d.content ? { content: d.content } : {}),
  };
  merge(conv, [local]);
  void deliver(conv, local, d);
  return local;
}

async function deliver(conv: Id, local: LocalMessage, d: Draft): Promise<void> {
  try {
    const r = await ws.request('send', { conversation: conv, client_msg_id: local.client_msg_id, ...d });
    const s = messagesOf(conv);
    s.value = s.value.filter((m) => m.message_id !== local.message_id);
    merge(conv, [{ ...local, message_id: r.message_id, seq: r.seq, created_at: r.created_at, state: 'sent' }]);
  } catch {
    const s = messagesOf(conv);
    s.value = s.value.map((m) => (m.message_id === local.message_id ? { ...m, state: 'failed' } : m));
  }
}

/** Sends a failed message again (same client_msg_id: never a duplicate). */
export function retryMessage(_conv: Id, _localId: Id): void {}

export async function editMessage(conv: Id, message_id: Id, text: string): Promise<void> {
  await ws.request('edit', { conversation: conv, message_id, text });
}
export async function deleteMessage(conv: Id, message_id: Id, forWhom: 'me' | 'everyone'): Promise<void> {
  await ws.request('delete', { conversation: conv, message_id, for: forWhom });
}
export async function react(conv: Id, message_id: Id, emoji: string): Promise<void> {
  await ws.request('react', { conversation: conv, message_id, emoji });
}
export async function unreact(conv: Id, message_id: Id, emoji: string): Promise<void> {
  await ws.request('unreact', { conversation: conv, message_id, emoji });
}
export async function forward(from: Id, message_ids: Id[], to: Id): Promise<void> {
  await ws.request('forward', { from, message_ids, conversation: to, client_msg_id: 'f-' + Date.now().toString(36) });
}
/** Marks everything up to seq read (no-op when already read). */
export async function markRead(conv: Id, seq: number): Promise<void> {
  const c = conversations.value.get(conv);
  if (c && c.read_seq >= seq) return;
  const r = await ws.request('read', { conversation: conv, seq });
  if (c) putConv({ ...c, read_seq: r.read_seq, unread: r.unread });
}
/** Tells the others we are typing (call on input; rate limited here). */
export function sendTyping(_conv: Id): void {}
export async function updateSettings(conv: Id, change: Partial<Pick<ConvSettings, 'muted_until' | 'pinned' | 'archived'>>): Promise<void> {
  const r = await patch('/v1/conversations/' + conv, change);
  const c = conversations.value.get(conv);
  if (c) putConv({ ...c, settings: r.settings });
}
/** Opens (or creates) the direct conversation with a user; returns its id. */
export async function openDirect(who: { user_id?: Id; username?: string }): Promise<Id> {
  const r = await post('/v1/conversations/direct', who);
  await loadConversations();
  return r.conversation_id;
}
/** Starts the live part: events, sync after each (re)connect. */
export function startChat(): void {
  ws.onOpen(() => void loadConversations());
  ws.on('message', (ev) => merge(ev.message.conversation, [ev.message]));
  ws.start();
}
export function stopChat(): void {
  ws.stop();
  conversations.value = new Map();
  msgs.clear();
  more.clear();
  conversationsLoaded.value = false;
}
