// Sync: merging replies (upserts in seq order, tombstones, hidden, receipts
// → delivery states, own cursors → unread), paging, the saved cursor, and a
// fresh device that does not download the history.
import { storage, fakeWs, wsStatus, flush, entry, msg } from './core-fakes';
import { describe, it, expect, vi, beforeEach } from 'vitest';

vi.mock('../../src/lib/ws', async () => (await import('./core-fakes')).wsModule());
const http = vi.hoisted(() => ({ pages: [] as any[], lists: 0 }));
vi.mock('../../src/lib/http', async (orig) => ({
  ...(await orig<typeof import('../../src/lib/http')>()),
  get: async (path: string) => {
    if (path.includes('archived=true')) return { conversations: [], next_cursor: null };
    http.lists++;
    return http.pages.length > 1 ? http.pages.shift() : http.pages[0] ?? { conversations: [], next_cursor: null };
  },
}));

import { setSession } from '../../src/lib/session';
import type { SyncReply } from '../../src/lib/types';
import {
  messagesOf, putConvs, resetChat, conversations, openConversation, users, contacts, rememberUser,
} from '../../src/state/chat';
import { applySync, syncFrom, catchUp, startChat, stopChat, HEAD } from '../../src/state/sync';

const C = '100';
const reply = (r: Partial<SyncReply>): SyncReply => ({
  cursor: '1', has_more: false, conversations: [], messages: [], receipts: [], hidden: [], contacts: [], ...r,
});

async function loadedConv(history: any[]) {
  fakeWs.handler = (t) => (t === 'history' ? { messages: history, has_more: false } : {});
  await openConversation(C);
}

beforeEach(() => {
  storage.clear();
  stopChat();
  resetChat();
  fakeWs.sent = [];
  wsStatus.value = 'online';
  http.pages = [];
  setSession({ userId: 'me', deviceId: 'd1', accessToken: 'a', refreshToken: 'r', expiresAt: Date.now() + 900_000, guest: false });
  putConvs([entry(C, 'bob', { last_seq: 3, read_seq: 3, delivered_seq: 3 })]);
});

describe('sync merge', () => {
  it('upserts by message_id and keeps seq order', async () => {
    await loadedConv([msg(C, 1, 'bob'), msg(C, 3, 'bob')]);
    applySync(reply({
      messages: [msg(C, 2, 'bob'), msg(C, 3, 'bob', { text: 'edited', edited_at: 9 }), msg(C, 4, 'bob')],
    }));
    const list = messagesOf(C).value;
    expect(list.map((m) => m.seq)).toEqual([1, 2, 3, 4]);
    expect(list[2].text).toBe('edited');
    expect(conversations.value.get(C)!.last_message!.seq).toBe(4);
  });

  it('replaces a message by its tombstone and marks the replies quoting it', async () => {
    await loadedConv([
      msg(C, 1, 'bob', { content: { file_id: 'f' }, kind: 'image', reactions: [{ emoji: '👍', count: 1, me: true }] }),
      msg(C, 2, 'me', { reply_to: { message_id: 'm100-1', text: 'quoted' } }),
    ]);
    applySync(reply({
      messages: [
        msg(C, 1, 'bob', { kind: 'image', text: '', deleted: true, deleted_at: 5 }),
        msg(C, 2, 'me', { reply_to: { message_id: 'm100-1', deleted: true } }),
      ],
    }));
    const [a, b] = messagesOf(C).value;
    expect(a.deleted).toBe(true);
    expect(a.content).toBeUndefined();
    expect(a.reactions).toBeUndefined();
    expect(b.reply_to).toEqual({ message_id: 'm100-1', deleted: true });
  });

  it('drops hidden messages', async () => {
    await loadedConv([msg(C, 1, 'bob'), msg(C, 2, 'bob')]);
    applySync(reply({ hidden: [{ conversation: C, message_id: 'm100-1' }] }));
    expect(messagesOf(C).value.map((m) => m.seq)).toEqual([2]);
  });

  it("turns the peer's receipts into the states of own messages", async () => {
    await loadedConv([msg(C, 1, 'me'), msg(C, 2, 'me'), msg(C, 3, 'me')]);
    expect(messagesOf(C).value.map((m) => m.state)).toEqual(['sent', 'sent', 'sent']);
    applySync(reply({ receipts: [{ conversation: C, user_id: 'bob', delivered_seq: 2, read_seq: 1 }] }));
    expect(messagesOf(C).value.map((m) => m.state)).toEqual(['read', 'delivered', 'sent']);
    applySync(reply({ receipts: [{ conversation: C, user_id: 'bob', delivered_seq: 3, read_seq: 3 }] }));
    expect(messagesOf(C).value.map((m) => m.state)).toEqual(['read', 'read', 'read']);
  });

  it('clears the unread badge from own cursors and keeps the peer profile', () => {
    putConvs([entry(C, 'bob', { last_seq: 5, read_seq: 2, unread: 3 })]);
    applySync(reply({
      conversations: [{ conversation_id: C, kind: 'direct', peer: 'bob', last_seq: 5, read_seq: 2, unread: 3 } as any],
      receipts: [{ conversation: C, user_id: 'me', delivered_seq: 5, read_seq: 5 }],
    }));
    const c = conversations.value.get(C)!;
    expect(c.unread).toBe(0);
    expect(c.peer).toEqual({ user_id: 'bob', username: 'userbob', display_name: 'User bob' });
  });

  it('updates only the entry of a conversation whose messages are not loaded', () => {
    putConvs([entry(C, 'bob', { last_seq: 3, unread: 0 })]);
    applySync(reply({
      conversations: [{ conversation_id: C, kind: 'direct', peer: 'bob', last_seq: 5, read_seq: 3, unread: 2 } as any],
      messages: [msg(C, 4, 'bob'), msg(C, 5, 'bob')],
    }));
    expect(messagesOf(C).value).toEqual([]);
    const c = conversations.value.get(C)!;
    expect([c.unread, c.last_message!.seq, c.active_at]).toEqual([2, 5, 1_000_005]);
  });

  it('upserts contacts and drops ended ones', () => {
    const bob = { user_id: 'bob', username: 'bob', display_name: 'Bob' };
    const carol = { user_id: 'carol', username: 'carol', display_name: 'Carol' };
    applySync(reply({ contacts: [
      { user: bob, state: 'friends', message: '', created_at: 1, updated_at: 1 },
      { user: carol, state: 'incoming', message: 'hi', created_at: 1, updated_at: 1 },
    ] }));
    applySync(reply({ contacts: [{ user: carol, state: 'none', message: '', created_at: 1, updated_at: 2 }] }));
    expect([...contacts.value.keys()]).toEqual(['bob']);
    expect(users.value.get('carol')!.display_name).toBe('Carol');
  });

  it('pages while has_more and saves the cursor per user and device', async () => {
    const replies = [
      reply({ cursor: '10', has_more: true, messages: [msg(C, 4, 'bob')] }),
      reply({ cursor: '20', has_more: false, messages: [msg(C, 5, 'bob')] }),
    ];
    fakeWs.handler = (t) => (t === 'sync' ? replies.shift()! : {});
    expect(await syncFrom('3')).toBe('20');
    expect(fakeWs.of('sync').map((s) => s.fields.since)).toEqual(['3', '10']);
    expect(JSON.parse(storage.getItem('magpie.sync.me.d1')!).cursor).toBe('20');
    expect(conversations.value.get(C)!.last_seq).toBe(5);
  });

  it('reports delivered for messages received, batched', async () => {
    vi.useFakeTimers();
    try {
      fakeWs.handler = (t, f) => (t === 'delivered' ? { conversation: f.conversation, delivered_seq: f.seq } : {});
      applySync(reply({ messages: [msg(C, 4, 'bob'), msg(C, 5, 'bob'), msg(C, 6, 'me')] }));
      await vi.advanceTimersByTimeAsync(1_100);
      expect(fakeWs.of('delivered').map((s) => s.fields)).toEqual([{ conversation: C, seq: 5 }]);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('catching up', () => {
  it('a fresh device takes the current cursor, loads the list over HTTP, never syncs from "0"', async () => {
    resetChat();
    rememberUser({ user_id: 'x', username: 'x', display_name: 'x' });
    http.pages = [{ conversations: [entry('200', 'carol')], next_cursor: null }];
    http.lists = 0;
    fakeWs.handler = (t, f) => (t === 'sync' ? reply({ cursor: f.since === HEAD ? '77' : '78' }) : {});
    startChat();
    fakeWs.open();
    await catchUp();
    expect(fakeWs.of('sync').map((s) => s.fields.since)).toEqual([HEAD, '77']);
    expect([...conversations.value.keys()]).toEqual(['200']);
    // Once at start, once after the cursor was taken.
    expect(http.lists).toBe(2);
    expect(JSON.parse(storage.getItem('magpie.sync.me.d1')!).cursor).toBe('78');
  });

  it('a known device syncs from its saved cursor, on each reconnect', async () => {
    storage.setItem('magpie.sync.me.d1', JSON.stringify({ cursor: '40', peers: { [C]: [2, 1] } }));
    let next = 41;
    fakeWs.handler = (t) => (t === 'sync' ? reply({ cursor: String(next++) }) : {});
    startChat();
    fakeWs.open();
    await catchUp();
    await flush();
    fakeWs.open();
    await catchUp();
    expect(fakeWs.of('sync').map((s) => s.fields.since)).toEqual(['40', '41']);
  });
});
