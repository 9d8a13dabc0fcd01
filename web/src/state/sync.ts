// Catching up and staying current: `sync` on every (re)connect from the cursor
// saved in localStorage (per user and device), and the live events in
// between, merged into state/chat.ts.
//
// A fresh device (no saved cursor) must not download the whole history, which
// `sync` from "0" would do. It asks first for the current cursor with a sync
// from the largest cursor there is (the server answers nothing newer and, as
// for any sync that was not cut, the newest committed version as `cursor`),
// THEN loads the conversation list over HTTP, and pages history only when a
// conversation is opened. Whatever changed between the two calls comes again
// in the next sync; merging is an upsert, so seeing it twice is harmless. A
// server that refused that cursor gets the documented way: sync from "0",
// paging to the end, keeping messages only of conversations already loaded.
import { batch } from '@preact/signals';
import { ws } from '../lib/ws';
import { get } from '../lib/http';
import { setSession, deviceKey } from '../lib/session';
import { isApiError } from '../lib/errors';
import type { ConvSettings, EventFrame, Id, Message, Profile, SyncReply } from '../lib/types';
import {
  conversations, users, typing, presence, contacts, peerCursors, putConvs, rememberUsers,
  mergeMessages, mapMessages, applyPeerCursor, applyDelete, applyReaction, applyPin, applySettings,
  entryAfter, isLoaded, isSeen, myId, noteReceived, readIfSeen, readState, loadConversations,
  refreshConversationsSoon, resetChat, conversationsLoaded, shouldLookFor, type LocalMessage,
} from './chat';
import { flushOutbox, restoreOutbox, ackedElsewhere, resetOutbox } from './outbox';
import { notifyMessage, watchAttention } from '../lib/notify';

/** The largest cursor: a sync from it answers only the current cursor. */
export const HEAD = '9223372036854775807';

interface Saved {
  cursor: string;
  /** Peer receipt cursors: sync only sends the ones that move. */
  peers: Record<Id, [number, number]>;
}

function loadSaved(): Saved | null {
  const k = deviceKey('sync');
  try {
    const raw = k && globalThis.localStorage?.getItem(k);
    return raw ? (JSON.parse(raw) as Saved) : null;
  } catch {
    return null;
  }
}

function save(cursor: string): void {
  const k = deviceKey('sync');
  if (!k) return;
  const peers: Saved['peers'] = {};
  for (const [c, p] of peerCursors) peers[c] = [p.delivered, p.read];
  try {
    globalThis.localStorage?.setItem(k, JSON.stringify({ cursor, peers } satisfies Saved));
  } catch {
    /* full or private: the next start syncs from further back */
  }
}

let cursor: string | null = null;

/** The cursor in use (for tests and diagnostics). */
export const syncCursor = () => cursor;

/**
 * Merges one sync reply: entries of known conversations (an unknown one
 * reloads the list), messages of the conversations whose messages are loaded
 * here (the others update their list entry only), receipts, hidden messages
 * and contacts.
 */
export function applySync(r: SyncReply): void {
  const me = myId();
  batch(() => {
    const known = conversations.value;
    const entries: any[] = [];
    let unknown = false;
    for (const c of r.conversations ?? []) {
      const old = known.get(c.conversation_id);
      if (!old) unknown = true;
      if (old && c.settings && c.settings.cleared_seq > (old.settings?.cleared_seq ?? 0))
        mapMessages(c.conversation_id, (m) => (m.seq && m.seq <= c.settings!.cleared_seq ? null : m));
      if (old) entries.push(c);
    }
    putConvs(entries);

    // Messages, per conversation, in seq order.
    const per = new Map<Id, Message[]>();
    for (const m of r.messages ?? []) {
      let l = per.get(m.conversation);
      if (!l) per.set(m.conversation, (l = []));
      l.push(m);
    }
    const changed: any[] = [];
    for (const [conv, list] of per) {
      for (const m of list) if (m.sender === me && m.client_msg_id) ackedElsewhere(m);
      if (isLoaded(conv)) mergeMessages(conv, list as LocalMessage[]);
      noteReceived(conv, list);
      let c = conversations.value.get(conv);
      if (!c) continue;
      // The entry's counts come from the reply; only the preview and the
      // activity time follow the newest message.
      for (const m of list) c = entryAfter(c, m, false);
      changed.push(c);
    }
    putConvs(changed);

    for (const rc of r.receipts ?? []) {
      if (rc.user_id === me) {
        const c = conversations.value.get(rc.conversation);
        if (c && rc.read_seq !== undefined && rc.read_seq > (c.read_seq ?? 0))
          putConvs([readState(c, rc.read_seq, Math.max(0, c.last_seq - rc.read_seq))]);
      } else applyPeerCursor(rc.conversation, rc.delivered_seq, rc.read_seq);
    }

    for (const h of r.hidden ?? []) applyDelete(h.conversation, h.message_id, 'me');

    if (r.contacts?.length) applyContacts(r.contacts);
    if (unknown && conversationsLoaded.value) refreshConversationsSoon();
  });
}

function applyContacts(list: SyncReply['contacts']): void {
  const m = new Map(contacts.value);
  for (const c of list) {
    if (c.state === 'none') m.delete(c.user.user_id);
    else m.set(c.user.user_id, c);
  }
  batch(() => {
    contacts.value = m;
    rememberUsers(list.map((c) => c.user));
  });
}

/** Pages sync from `since` until has_more is false; returns the new cursor. */
export async function syncFrom(since: string): Promise<string> {
  let c = since;
  for (;;) {
    const r = (await ws.request('sync', { since: c }, 30_000)) as SyncReply;
    applySync(r);
    c = r.cursor;
    save(c);
    if (!r.has_more) return c;
  }
}

/** The current cursor without the history behind it (see the top). */
async function headCursor(): Promise<string> {
  try {
    const r = (await ws.request('sync', { since: HEAD })) as SyncReply;
    return r.cursor;
  } catch (e) {
    if (!isApiError(e, 'bad_request')) throw e;
    // The documented way: everything from "0", keeping only what is loaded.
    await loadConversations();
    return syncFrom('0');
  }
}

let syncing: Promise<void> | null = null;

/** Runs after every authenticated (re)connect: catch up, then resend the
 * outbox (after sync, so that sends acked before a lost reply are matched
 * by their client_msg_id instead of being sent again). */
export function catchUp(): Promise<void> {
  if (!syncing) syncing = doCatchUp().finally(() => (syncing = null));
  return syncing;
}

async function doCatchUp(): Promise<void> {
  try {
    if (cursor === null) {
      const saved = loadSaved();
      if (saved) {
        for (const [c, [d, r]] of Object.entries(saved.peers ?? {})) peerCursors.set(c, { delivered: d, read: r });
        cursor = saved.cursor;
        await listLoad; // entries first, so that sync's updates land on them
      } else {
        cursor = await headCursor();
        save(cursor);
        // A list load that began before the cursor was taken may miss what
        // happened in between: load it again, once, after.
        await listLoad;
        await loadConversations();
      }
    }
    cursor = await syncFrom(cursor);
  } catch {
    /* offline again: the next connect catches up */
  }
  void flushOutbox();
}

// ---- live events ---------------------------------------------------------------------

/**
 * Live events may have been missed (docs/protocol.md, "Missed events"): the
 * server said so (`resync`), or a message skipped a seq. Sync again, after
 * the one running if any (it may have read before what was missed).
 */
function resync(): void {
  const running = syncing;
  if (running) void running.then(() => catchUp());
  else void catchUp();
}

/** A new message (also a group's system message). */
function onMessage(ev: EventFrame): void {
  const m = ev.message as Message;
  const conv = m.conversation;
  const me = myId();
  const c = conversations.value.get(conv);
  // seq has no gaps: one more than the next means messages in between never
  // came live.
  if (c && m.seq && c.last_seq && m.seq > c.last_seq + 1) resync();
  batch(() => {
    if (m.sender === me && m.client_msg_id) ackedElsewhere(m);
    if (isLoaded(conv)) mergeMessages(conv, [m], false);
    if (c) putConvs([entryAfter(c, m, !isSeen(conv))]);
    if (m.sender !== me) clearTyping(conv, m.sender);
    if (m.kind === 'system') onSystem(m);
  });
  noteReceived(conv, [m]);
  readIfSeen(conv);
  if (m.sender === me) return;
  if (c || ev.mention === true) notifyMessage(m, c, ev.mention === true);
  else if (shouldLookFor(conv)) {
    // A conversation new to us: its entry (title, settings) comes with the
    // list, and the notification after it. The world room never enters the
    // list, so its messages notify only on a mention.
    void refreshConversationsSoon(conv).then(() => {
      const known = conversations.value.get(conv);
      if (known) notifyMessage(m, known, false);
    });
  }
}

/** Group events that change the list entry. */
function onSystem(m: Message): void {
  const s = m.system ?? {};
  const c = conversations.value.get(m.conversation);
  const me = myId();
  if (s.action === 'info_changed' && c) {
    const ch: any = { conversation_id: m.conversation };
    if (typeof s.title === 'string') ch.title = s.title;
    if ('avatar_file_id' in s) ch.avatar_file_id = s.avatar_file_id;
    putConvs([ch]);
  }
  // Removed from a group: it leaves the list (the next list load confirms).
  const ids: Id[] = Array.isArray(s.user_ids) ? s.user_ids : [];
  if ((s.action === 'member_removed' && me && ids.includes(me)) || (s.action === 'member_left' && m.sender === me))
    refreshConversationsSoon();
}

function onEdited(ev: EventFrame): void {
  const m = ev.message as Message;
  batch(() => {
    if (isLoaded(m.conversation)) mergeMessages(m.conversation, [m], false);
    const c = conversations.value.get(m.conversation);
    if (c?.last_message?.message_id === m.message_id) putConvs([{ ...c, last_message: { ...c.last_message, ...m } }]);
  });
}

function onReceipt(ev: EventFrame): void {
  if (ev.user_id === myId()) return;
  applyPeerCursor(ev.conversation, ev.delivered_seq, ev.read_seq);
}

function onRead(ev: EventFrame): void {
  const c = conversations.value.get(ev.conversation);
  if (c) putConvs([readState(c, ev.read_seq, ev.unread)]);
}

const typingTimers = new Map<string, ReturnType<typeof setTimeout>>();

function onTyping(ev: EventFrame): void {
  if (ev.user_id === myId()) return;
  const until = Date.now() + 5_000;
  const m = new Map(typing.value);
  m.set(ev.conversation, new Map(m.get(ev.conversation)).set(ev.user_id, until));
  typing.value = m;
  const k = ev.conversation + '/' + ev.user_id;
  clearTimeout(typingTimers.get(k));
  typingTimers.set(k, setTimeout(() => clearTyping(ev.conversation, ev.user_id), 5_000));
}

function clearTyping(conv: Id, user: Id): void {
  const inConv = typing.value.get(conv);
  if (!inConv?.has(user)) return;
  const m = new Map(typing.value);
  const next = new Map(inConv);
  next.delete(user);
  if (next.size) m.set(conv, next);
  else m.delete(conv);
  typing.value = m;
}

function onPresence(ev: EventFrame): void {
  const m = new Map(presence.value);
  m.set(ev.user_id, { online: !!ev.online, last_seen_at: ev.last_seen_at ?? null });
  presence.value = m;
}

function onProfile(ev: EventFrame): void {
  const p = ev.user as Profile;
  batch(() => {
    rememberUsers([p]);
    const list = [...conversations.value.values()].filter((c) => c.peer?.user_id === p.user_id);
    putConvs(list.map((c) => ({ ...c, peer: { ...c.peer!, ...p } })));
  });
}

function onBlock(ev: EventFrame): void {
  const u = users.value.get(ev.user_id);
  if (u) rememberUsers([{ ...u, blocked: !!ev.blocked }]);
}

const handlers: Record<string, (ev: EventFrame) => void> = {
  message: onMessage,
  message_edited: onEdited,
  message_deleted: (ev) => applyDelete(ev.conversation, ev.message_id, ev.for, Date.now()),
  reaction: (ev) => applyReaction(ev.conversation, ev.message_id, ev.emoji, ev.count, ev.user_id === myId() ? ev.added : undefined),
  pinned: (ev) => applyPin(ev.conversation, ev.message_id, ev.pinned, ev.by, ev.at),
  receipt: onReceipt,
  read: onRead,
  typing: onTyping,
  presence: onPresence,
  conversation_updated: (ev) => applySettings(ev.conversation, ev.settings as ConvSettings),
  profile_updated: onProfile,
  contact: (ev) => applyContacts([ev.contact]),
  block: onBlock,
  resync: () => resync(),
};

// ---- start and stop ------------------------------------------------------------------

let listLoad: Promise<void> = Promise.resolve();
let offs: (() => void)[] = [];

/** Starts the live part: the list at once over HTTP (first paint does not
 * wait for the WebSocket), events, catch-up after each (re)connect. */
export function startChat(): void {
  stopListening();
  cursor = null;
  restoreOutbox();
  listLoad = loadConversations().catch(() => {});
  offs = Object.entries(handlers).map(([name, fn]) => ws.on(name, fn));
  offs.push(ws.onOpen(() => void catchUp()));
  offs.push(ws.onPolicyClose(() => void checkSignedIn()));
  offs.push(watchAttention());
  ws.start();
}

/** After a 1008 close: a revoked device answers 401 to everything, which
 * (through the refresh that fails) signs out; otherwise reconnecting goes on. */
async function checkSignedIn(): Promise<void> {
  try {
    await get('/v1/me');
  } catch (e) {
    if (isApiError(e, 'unauthorized')) setSession(null);
  }
}

function stopListening(): void {
  for (const off of offs) off();
  offs = [];
}

export function stopChat(): void {
  stopListening();
  ws.stop();
  cursor = null;
  for (const t of typingTimers.values()) clearTimeout(t);
  typingTimers.clear();
  resetOutbox();
  resetChat();
}
