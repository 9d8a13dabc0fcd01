// Live events: unread counts, reactions, pins, deletes, typing, settings,
// unknown conversations, and the typing rate limit.
import { storage, fakeWs, wsStatus, flush, entry, msg } from './core-fakes';
import { describe, it, expect, vi, beforeEach } from 'vitest';

vi.mock('../../src/lib/ws', async () => (await import('./core-fakes')).wsModule());
const http = vi.hoisted(() => ({ lists: 0, convs: [] as any[] }));
vi.mock('../../src/lib/http', async (orig) => ({
  ...(await orig<typeof import('../../src/lib/http')>()),
  get: async (path: string) => {
    if (path.startsWith('/v1/conversations') && !path.includes('archived=true')) http.lists++;
    return { conversations: path.includes('archived=true') ? [] : http.convs, next_cursor: null };
  },
}));

import { setSession } from '../../src/lib/session';
import { path } from '../../src/router';
const navigate = (p: string) => (path.value = p);
import {
  messagesOf, conversations, openConversation, typing, sendTyping, totalUnread, presence,
} from '../../src/state/chat';
import { startChat, stopChat } from '../../src/state/sync';

const C = '100';

beforeEach(async () => {
  storage.clear();
  stopChat();
  fakeWs.sent = [];
  wsStatus.value = 'online';
  setSession({ userId: 'me', deviceId: 'd1', accessToken: 'a', refreshToken: 'r', expiresAt: Date.now() + 900_000, guest: false });
  http.convs = [entry(C, 'bob', { last_seq: 2, read_seq: 2 })];
  http.lists = 0;
  fakeWs.handler = (t, f) => {
    if (t === 'history') return { messages: [msg(C, 1, 'bob'), msg(C, 2, 'me')], has_more: false };
    if (t === 'read') return { conversation: f.conversation, read_seq: f.seq, delivered_seq: f.seq, last_seq: f.seq, unread: 0 };
    if (t === 'sync') return { cursor: '1', has_more: false, conversations: [], messages: [], receipts: [], hidden: [], contacts: [] };
    return {};
  };
  navigate('/chats');
  startChat();
  await flush(20);
});

describe('live events', () => {
  it('syncs again when the server says events were missed, or a seq is skipped', async () => {
    const syncs = () => fakeWs.of('sync').length;
    fakeWs.open(); // the first catch-up takes the cursor; each later one is one sync
    await flush();
    const before = syncs();
    fakeWs.emit({ event: 'resync' });
    await flush();
    expect(syncs()).toBe(before + 1);
    // 3 follows 2: no sync; 5 after 3 skips 4: sync.
    fakeWs.emit({ event: 'message', message: msg(C, 3, 'bob') });
    await flush();
    expect(syncs()).toBe(before + 1);
    fakeWs.emit({ event: 'message', message: msg(C, 5, 'bob') });
    await flush();
    expect(syncs()).toBe(before + 2);
  });

  it('a message of someone else counts as unread, ours does not', async () => {
    fakeWs.emit({ event: 'message', message: msg(C, 3, 'bob') });
    expect(conversations.value.get(C)!.unread).toBe(1);
    expect(totalUnread.value).toBe(1);
    fakeWs.emit({ event: 'message', message: msg(C, 4, 'me', { client_msg_id: 'x' }) });
    const c = conversations.value.get(C)!;
    expect([c.unread, c.last_seq, c.last_message!.seq]).toEqual([0, 4, 4]);
  });

  it('a message in the open, visible conversation is read at once', async () => {
    await openConversation(C);
    navigate('/chats/' + C);
    fakeWs.emit({ event: 'message', message: msg(C, 3, 'bob') });
    await flush();
    expect(fakeWs.of('read').map((s) => s.fields)).toEqual([{ conversation: C, seq: 3 }]);
    expect(conversations.value.get(C)!.unread).toBe(0);
    expect(messagesOf(C).value.map((m) => m.seq)).toEqual([1, 2, 3]);
    navigate('/chats');
  });

  it('keeps reaction counts from events (which carry no list)', async () => {
    await openConversation(C);
    const ev = { event: 'reaction', conversation: C, message_id: 'm100-1', emoji: '👍' };
    fakeWs.emit({ ...ev, user_id: 'bob', added: true, count: 1 });
    fakeWs.emit({ ...ev, user_id: 'me', added: true, count: 2 });
    expect(messagesOf(C).value[0].reactions).toEqual([{ emoji: '👍', count: 2, me: true }]);
    fakeWs.emit({ ...ev, user_id: 'bob', added: false, count: 1 });
    expect(messagesOf(C).value[0].reactions).toEqual([{ emoji: '👍', count: 1, me: true }]);
    fakeWs.emit({ event: 'message_edited', message: msg(C, 1, 'bob', { text: 'new', edited_at: 5 }) });
    expect(messagesOf(C).value[0].reactions).toEqual([{ emoji: '👍', count: 1, me: true }]);
    expect(messagesOf(C).value[0].text).toBe('new');
  });

  it('pins, deletes for everyone (tombstone) and for me (gone)', async () => {
    await openConversation(C);
    fakeWs.emit({ event: 'pinned', conversation: C, message_id: 'm100-1', pinned: true, by: 'bob', at: 7 });
    expect(messagesOf(C).value[0].pinned_at).toBe(7);
    expect(conversations.value.get(C)!.pinned_messages).toEqual(['m100-1']);
    fakeWs.emit({ event: 'message_deleted', conversation: C, message_id: 'm100-1', seq: 1, for: 'everyone' });
    expect(messagesOf(C).value[0]).toMatchObject({ deleted: true, text: '' });
    expect(messagesOf(C).value[0].pinned_at).toBeUndefined();
    fakeWs.emit({ event: 'message_deleted', conversation: C, message_id: 'm100-2', seq: 2, for: 'me' });
    expect(messagesOf(C).value.map((m) => m.seq)).toEqual([1]);
  });

  it('receipts drive the states of own messages', async () => {
    await openConversation(C);
    expect(messagesOf(C).value[1].state).toBe('sent');
    fakeWs.emit({ event: 'receipt', conversation: C, user_id: 'bob', delivered_seq: 2 });
    expect(messagesOf(C).value[1].state).toBe('delivered');
    fakeWs.emit({ event: 'receipt', conversation: C, user_id: 'bob', delivered_seq: 2, read_seq: 2 });
    expect(messagesOf(C).value[1].state).toBe('read');
  });

  it('typing shows for 5 s; presence and settings follow their events', async () => {
    vi.useFakeTimers();
    try {
      fakeWs.emit({ event: 'typing', conversation: C, user_id: 'bob' });
      expect(typing.value.get(C)?.has('bob')).toBe(true);
      await vi.advanceTimersByTimeAsync(5_100);
      expect(typing.value.get(C)).toBeUndefined();
    } finally {
      vi.useRealTimers();
    }
    fakeWs.emit({ event: 'presence', user_id: 'bob', online: true, last_seen_at: null });
    expect(presence.value.get('bob')).toEqual({ online: true, last_seen_at: null });
    const settings = { muted_until: -1, pinned: true, archived: false, cleared_seq: 0, deleted: false };
    fakeWs.emit({ event: 'conversation_updated', conversation: C, settings });
    expect(conversations.value.get(C)!.settings).toEqual(settings);
    fakeWs.emit({ event: 'message', message: msg(C, 3, 'bob') });
    expect(totalUnread.value).toBe(0); // muted
  });

  it('a message of an unknown conversation reloads the list', async () => {
    vi.useFakeTimers();
    try {
      const before = http.lists;
      http.convs = [...http.convs, entry('300', 'dave')];
      fakeWs.emit({ event: 'message', message: msg('300', 1, 'dave') });
      await vi.advanceTimersByTimeAsync(400);
      expect(http.lists).toBe(before + 1);
      expect(conversations.value.has('300')).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });

  it('a conversation the list does not have (the world room) reloads it once only', async () => {
    vi.useFakeTimers();
    try {
      const before = http.lists;
      fakeWs.emit({ event: 'message', message: msg('999', 1, 'zed') });
      await vi.advanceTimersByTimeAsync(400);
      fakeWs.emit({ event: 'message', message: msg('999', 2, 'zed') });
      await vi.advanceTimersByTimeAsync(400);
      expect(http.lists).toBe(before + 1);
    } finally {
      vi.useRealTimers();
    }
  });

  it('sends typing at most every 3 s', async () => {
    vi.useFakeTimers();
    try {
      sendTyping(C);
      sendTyping(C);
      await vi.advanceTimersByTimeAsync(2_000);
      sendTyping(C);
      expect(fakeWs.of('typing').length).toBe(1);
      await vi.advanceTimersByTimeAsync(1_100);
      sendTyping(C);
      expect(fakeWs.of('typing').length).toBe(2);
    } finally {
      vi.useRealTimers();
    }
  });
});
