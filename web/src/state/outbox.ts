// The outbox: optimistic sends that survive a reload, a lost connection and a
// server restart without duplicates.
//
// Each send is kept in localStorage (per user and device) with its
// client_msg_id until the server acks it. The server dedups by (device,
// client_msg_id), so resending the same frame after any failure is safe: a
// duplicate is answered with the original message_id and seq. Sends go out
// one at a time, in the order they were written, so that they are stored in
// that order. A permanent refusal marks the message failed (kept, with the
// server's message, for retryMessage); a transient one waits and tries again.
import { batch } from '@preact/signals';
import { ws, wsStatus } from '../lib/ws';
import { deviceKey } from '../lib/session';
import { ApiError } from '../lib/errors';
import type { Id, Message } from '../lib/types';
import {
  conversations, messagesOf, mergeMessages, mapMessages, entryAfter, putConvs, myId, ownState,
  type Draft, type LocalMessage,
} from './chat';

export interface OutboxEntry {
  conv: Id;
  cmid: string;
  draft: Draft;
  created_at: number;
  failed?: { code: string; message: string };
}

/** Errors that waiting cures; every other code is final for this draft. */
const TRANSIENT = new Set(['offline', 'timeout', 'unavailable', 'rate_limited', 'network', 'internal']);

let entries: OutboxEntry[] = [];
let running = false;
let retryTimer: ReturnType<typeof setTimeout> | undefined;
let backoff = 0;

const localId = (cmid: string) => 'local:' + cmid;

function storageKey(): string | null {
  return deviceKey('outbox');
}

function readStored(): OutboxEntry[] {
  const k = storageKey();
  try {
    const raw = k && globalThis.localStorage?.getItem(k);
    return raw ? (JSON.parse(raw) as OutboxEntry[]) : [];
  } catch {
    return [];
  }
}

/** Writes one change to the stored list. Read-modify-write by client_msg_id,
 * so that two tabs of the device never drop each other's entries. */
function persist(cmid: string, e: OutboxEntry | null): void {
  const k = storageKey();
  if (!k) return;
  const list = readStored().filter((x) => x.cmid !== cmid);
  if (e) list.push(e);
  list.sort((a, b) => a.created_at - b.created_at);
  try {
    if (list.length) globalThis.localStorage?.setItem(k, JSON.stringify(list));
    else globalThis.localStorage?.removeItem(k);
  } catch {
    /* full or private: memory only */
  }
}

let counter = 0;

/** A client_msg_id unique to this device: time, a random part, a counter. */
export function newClientMsgId(): string {
  const rnd = globalThis.crypto?.randomUUID?.().slice(0, 8) ?? Math.random().toString(36).slice(2, 10);
  return 'w' + Date.now().toString(36) + '-' + rnd + '-' + (counter++).toString(36);
}

function localMessage(e: OutboxEntry): LocalMessage {
  const d = e.draft;
  const m: LocalMessage = {
    message_id: localId(e.cmid),
    conversation: e.conv,
    seq: 0,
    sender: myId() ?? '',
    kind: d.kind ?? 'text',
    text: d.text ?? '',
    created_at: e.created_at,
    client_msg_id: e.cmid,
    state: e.failed ? 'failed' : 'pending',
  };
  if (d.content) m.content = d.content;
  if (d.mentions) m.mentions = d.mentions;
  if (d.mention_all) m.mention_all = true;
  if (d.reply_to) {
    const q = messagesOf(e.conv).peek().find((x) => x.message_id === d.reply_to);
    m.reply_to = q ? { message_id: q.message_id, sender: q.sender, kind: q.kind, text: q.text.slice(0, 100) } : { message_id: d.reply_to };
  }
  if (e.failed) {
    m.error = e.failed.message;
    m.errorCode = e.failed.code;
  }
  return m;
}

/** Sends a message optimistically: it shows at once as pending, becomes
 * sent when acked; a refusal shows as failed (retry with retryMessage). */
export function sendMessage(conv: Id, d: Draft): LocalMessage {
  const e: OutboxEntry = { conv, cmid: newClientMsgId(), draft: d, created_at: Date.now() };
  entries.push(e);
  persist(e.cmid, e);
  const m = localMessage(e);
  mergeMessages(conv, [m]);
  void flushOutbox();
  return m;
}

/** Sends a failed message again (same client_msg_id: never a duplicate). */
export function retryMessage(_conv: Id, localMessageId: Id): void {
  const e = entries.find((x) => localId(x.cmid) === localMessageId);
  if (!e) return;
  delete e.failed;
  persist(e.cmid, e);
  // Back at the end of the queue: it goes after what was written since.
  entries = [...entries.filter((x) => x !== e), e];
  mapMessages(e.conv, (m) => (m.message_id === localMessageId ? localMessage(e) : m));
  backoff = 0;
  void flushOutbox();
}

/** Gives up a failed (or pending) message: it leaves the outbox and the list. */
export function discardMessage(conv: Id, localMessageId: Id): void {
  const e = entries.find((x) => localId(x.cmid) === localMessageId);
  if (e) forget(e);
  mapMessages(conv, (m) => (m.message_id === localMessageId ? null : m));
}

function forget(e: OutboxEntry): void {
  entries = entries.filter((x) => x !== e);
  persist(e.cmid, null);
}

/** Puts the stored message in place of the local one (ack, or the message
 * reaching us another way: sync or another tab's event). */
function acked(e: OutboxEntry, stored: { message_id: Id; seq: number; created_at: number }): void {
  if (entries.includes(e)) forget(e);
  const m: LocalMessage = { ...localMessage(e), ...stored, state: ownState(e.conv, stored.seq) };
  batch(() => {
    mergeMessages(e.conv, [m], false);
    const c = conversations.peek().get(e.conv);
    if (c) putConvs([entryAfter(c, m as Message, false)]);
  });
}

/** A stored own message carrying a client_msg_id arrived (sync, the event
 * another tab's session got): the matching entry is done. */
export function ackedElsewhere(m: Message): void {
  const e = entries.find((x) => x.cmid === m.client_msg_id);
  if (e) forget(e);
}

/** Sends every pending entry in order, one at a time; stops at the first
 * transient failure (so that order holds) and tries again later. */
export async function flushOutbox(): Promise<void> {
  if (running) return;
  running = true;
  clearTimeout(retryTimer);
  try {
    for (;;) {
      const e = entries.find((x) => !x.failed);
      if (!e) break;
      if (wsStatus.peek() !== 'online') return; // the next connect flushes
      let reply: Record<string, any>;
      try {
        reply = await ws.request('send', { conversation: e.conv, client_msg_id: e.cmid, ...e.draft });
      } catch (err) {
        if (!entries.includes(e)) continue; // acked meanwhile through sync
        const code = err instanceof ApiError ? err.code : 'network';
        if (TRANSIENT.has(code)) {
          scheduleRetry(err instanceof ApiError ? err.retryAfter * 1000 : 0);
          return;
        }
        fail(e, code, (err as Error).message);
        continue;
      }
      backoff = 0;
      acked(e, { message_id: reply.message_id, seq: reply.seq, created_at: reply.created_at });
    }
  } finally {
    running = false;
  }
}

function fail(e: OutboxEntry, code: string, message: string): void {
  e.failed = { code, message };
  persist(e.cmid, e);
  mapMessages(e.conv, (m) => (m.message_id === localId(e.cmid) ? localMessage(e) : m));
}

function scheduleRetry(afterMs: number): void {
  const base = Math.min(30_000, 1_000 * 2 ** backoff++);
  clearTimeout(retryTimer);
  retryTimer = setTimeout(() => void flushOutbox(), Math.max(afterMs, base / 2 + Math.random() * (base / 2)));
}

/** After a reload: the stored entries come back, shown as pending/failed. */
export function restoreOutbox(): void {
  entries = readStored();
  const per = new Map<Id, LocalMessage[]>();
  for (const e of entries) {
    const l = per.get(e.conv) ?? [];
    l.push(localMessage(e));
    per.set(e.conv, l);
  }
  batch(() => {
    for (const [conv, list] of per) mergeMessages(conv, list);
  });
}

/** The entries not acked yet (for tests and the UI). */
export function pendingSends(): readonly OutboxEntry[] {
  return entries;
}

/** Signed out: forget the in-memory queue (the stored one stays with its
 * user and device, for when they sign in again). */
export function resetOutbox(): void {
  entries = [];
  clearTimeout(retryTimer);
  backoff = 0;
}
