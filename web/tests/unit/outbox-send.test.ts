// The outbox: order, persistence across a reload, dedup when the ack and the
// message race, permanent and transient errors.
import { storage, fakeWs, wsStatus, flush, entry, msg } from './core-fakes';
import { describe, it, expect, vi, beforeEach } from 'vitest';

vi.mock('../../src/lib/ws', async () => (await import('./core-fakes')).wsModule());

import { setSession } from '../../src/lib/session';
import { ApiError } from '../../src/lib/errors';
import { messagesOf, putConvs, resetChat, conversations } from '../../src/state/chat';
import { sendMessage, retryMessage, flushOutbox, restoreOutbox, resetOutbox, pendingSends } from '../../src/state/outbox';
import { applySync } from '../../src/state/sync';

const C = '100';
const OUTBOX_KEY = 'magpie.outbox.me.d1';

/** A server that stores each send once per client_msg_id, as the real one dedups. */
function dedupServer() {
  const stored = new Map<string, { message_id: string; seq: number; created_at: number }>();
  let seq = 0;
  return (type: string, f: Record<string, any>) => {
    if (type !== 'send') return {};
    const dup = stored.get(f.client_msg_id);
    if (dup) return { ...dup, conversation: f.conversation, duplicate: true };
    const m = { message_id: 'srv' + ++seq, seq, created_at: 2_000_000 + seq };
    stored.set(f.client_msg_id, m);
    return { ...m, conversation: f.conversation, duplicate: false };
  };
}

beforeEach(() => {
  storage.clear();
  resetOutbox();
  resetChat();
  fakeWs.sent = [];
  wsStatus.value = 'online';
  setSession({ userId: 'me', deviceId: 'd1', accessToken: 'a', refreshToken: 'r', expiresAt: Date.now() + 900_000, guest: false });
  putConvs([entry(C, 'bob')]);
});

describe('outbox', () => {
  it('shows a pending message at once and sends in the order written', async () => {
    wsStatus.value = 'offline';
    sendMessage(C, { text: 'one' });
    sendMessage(C, { text: 'two' });
    sendMessage(C, { text: 'three' });
    expect(messagesOf(C).value.map((m) => [m.text, m.state])).toEqual([
      ['one', 'pending'], ['two', 'pending'], ['three', 'pending'],
    ]);
    await flush();
    expect(fakeWs.sent).toEqual([]);
    fakeWs.handler = dedupServer();
    wsStatus.value = 'online';
    await flushOutbox();
    expect(fakeWs.of('send').map((s) => s.fields.text)).toEqual(['one', 'two', 'three']);
    expect(messagesOf(C).value.map((m) => [m.message_id, m.seq, m.state])).toEqual([
      ['srv1', 1, 'sent'], ['srv2', 2, 'sent'], ['srv3', 3, 'sent'],
    ]);
    expect(pendingSends()).toEqual([]);
    expect(storage.getItem(OUTBOX_KEY)).toBeNull();
    expect(conversations.value.get(C)!.last_message!.message_id).toBe('srv3');
  });

  it('survives a reload and resends with the same client_msg_id (no duplicate)', async () => {
    const server = dedupServer();
    // The first attempt is stored by the server but its reply is lost.
    let lose = true;
    fakeWs.handler = (t, f) => {
      const r = server(t, f);
      if (lose) {
        lose = false;
        throw new ApiError('offline', 'the connection was lost');
      }
      return r;
    };
    const local = sendMessage(C, { text: 'hello' });
    await flush();
    expect(JSON.parse(storage.getItem(OUTBOX_KEY)!).map((e: any) => e.cmid)).toEqual([local.client_msg_id]);
    // Reload: memory is gone, the stored outbox comes back.
    resetOutbox();
    resetChat();
    putConvs([entry(C, 'bob')]);
    restoreOutbox();
    expect(messagesOf(C).value.map((m) => [m.client_msg_id, m.state])).toEqual([[local.client_msg_id, 'pending']]);
    await flushOutbox();
    const sends = fakeWs.of('send');
    expect(sends.map((s) => s.fields.client_msg_id)).toEqual([local.client_msg_id, local.client_msg_id]);
    expect(messagesOf(C).value.map((m) => [m.message_id, m.state])).toEqual([['srv1', 'sent']]);
    expect(storage.getItem(OUTBOX_KEY)).toBeNull();
  });

  it('keeps one message when sync brings it before the ack', async () => {
    let release!: () => void;
    fakeWs.handler = async () => {
      await new Promise<void>((r) => (release = r));
      return { message_id: 'srv9', seq: 9, created_at: 5, conversation: C, duplicate: false };
    };
    const local = sendMessage(C, { text: 'race' });
    await flush();
    applySync({
      cursor: '5', has_more: false, conversations: [], receipts: [], hidden: [], contacts: [],
      messages: [msg(C, 9, 'me', { message_id: 'srv9', text: 'race', client_msg_id: local.client_msg_id })],
    });
    release();
    await flush();
    expect(messagesOf(C).value.map((m) => [m.message_id, m.state])).toEqual([['srv9', 'sent']]);
    expect(pendingSends()).toEqual([]);
  });

  it('keeps one message when the ack comes before the event of another tab', async () => {
    fakeWs.handler = () => ({ message_id: 'srv4', seq: 4, created_at: 5, conversation: C, duplicate: false });
    const local = sendMessage(C, { text: 'x' });
    await flush();
    applySync({
      cursor: '5', has_more: false, conversations: [], receipts: [], hidden: [], contacts: [],
      messages: [msg(C, 4, 'me', { message_id: 'srv4', text: 'x', client_msg_id: local.client_msg_id })],
    });
    expect(messagesOf(C).value.map((m) => m.message_id)).toEqual(['srv4']);
  });

  it('marks permanent refusals failed, goes on with the next, and retries on demand', async () => {
    const server = dedupServer();
    let refuse = true;
    fakeWs.handler = (t, f) => {
      if (f.text === 'bad' && refuse) throw new ApiError('not_member', 'not a member of this conversation');
      return server(t, f);
    };
    const bad = sendMessage(C, { text: 'bad' });
    sendMessage(C, { text: 'good' });
    await flush(30);
    const list = messagesOf(C).value;
    expect(list.map((m) => [m.text, m.state])).toEqual([['good', 'sent'], ['bad', 'failed']]);
    expect(list[1].error).toBe('not a member of this conversation');
    expect(list[1].errorCode).toBe('not_member');
    expect(JSON.parse(storage.getItem(OUTBOX_KEY)!)[0].failed.code).toBe('not_member');
    refuse = false;
    retryMessage(C, bad.message_id);
    await flush(30);
    expect(messagesOf(C).value.map((m) => [m.text, m.state])).toEqual([['good', 'sent'], ['bad', 'sent']]);
    const cmids = fakeWs.of('send').filter((s) => s.fields.text === 'bad').map((s) => s.fields.client_msg_id);
    expect(cmids).toEqual([bad.client_msg_id, bad.client_msg_id]);
  });

  it('waits after a transient error and keeps the order', async () => {
    vi.useFakeTimers();
    try {
      const server = dedupServer();
      let busy = 1;
      fakeWs.handler = (t, f) => {
        if (busy-- > 0) throw new ApiError('rate_limited', 'slow down', 0, 2);
        return server(t, f);
      };
      sendMessage(C, { text: 'a' });
      sendMessage(C, { text: 'b' });
      await flush(30);
      expect(fakeWs.of('send').map((s) => s.fields.text)).toEqual(['a']);
      expect(messagesOf(C).value.map((m) => m.state)).toEqual(['pending', 'pending']);
      await vi.advanceTimersByTimeAsync(1_500);
      expect(fakeWs.of('send').length).toBe(1); // Retry-After is 2 s
      await vi.advanceTimersByTimeAsync(1_000);
      expect(fakeWs.of('send').map((s) => s.fields.text)).toEqual(['a', 'a', 'b']);
      expect(messagesOf(C).value.map((m) => [m.text, m.seq, m.state])).toEqual([['a', 1, 'sent'], ['b', 2, 'sent']]);
    } finally {
      vi.useRealTimers();
    }
  });
});
