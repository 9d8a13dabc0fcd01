// The WebSocket client: authentication, reconnects with backoff, the policy
// close (1008), and the app-level ping that drops a dead connection.
import { storage } from './core-fakes';
import { describe, it, expect, vi, beforeEach, afterEach } from 'vitest';
import { setSession } from '../../src/lib/session';
import { WsClient, wsStatus } from '../../src/lib/ws';

class FakeSocket {
  static all: FakeSocket[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((m: { data: string }) => void) | null = null;
  onclose: ((e: { code: number }) => void) | null = null;
  sent: any[] = [];
  closed = false;
  /** Whether the fake server answers (false: a dead connection). */
  answering = true;
  constructor(public url: string) {
    FakeSocket.all.push(this);
    setTimeout(() => this.onopen?.(), 0);
  }
  send(s: string) {
    const f = JSON.parse(s);
    this.sent.push(f);
    if (!this.answering) return;
    setTimeout(() => this.onmessage?.({ data: JSON.stringify({ id: f.id, ok: true, ...(f.type === 'ping' ? { pong: true } : {}) }) }), 0);
  }
  close() {
    this.closed = true;
  }
  /** The server closes the connection. */
  drop(code: number) {
    this.onclose?.({ code });
  }
}

beforeEach(() => {
  storage.clear();
  FakeSocket.all = [];
  vi.useFakeTimers();
  vi.stubGlobal('WebSocket', FakeSocket);
  setSession({ userId: 'me', deviceId: 'd1', accessToken: 'tok', refreshToken: 'r', expiresAt: Date.now() + 900_000, guest: false });
});
afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

describe('WsClient', () => {
  it('authenticates, then reconnects with growing delays after drops', async () => {
    const c = new WsClient('ws://x/v1/ws');
    const opens: number[] = [];
    c.onOpen(() => opens.push(Date.now()));
    c.start();
    await vi.advanceTimersByTimeAsync(10);
    expect(FakeSocket.all[0].sent[0]).toMatchObject({ type: 'auth', token: 'tok' });
    expect(wsStatus.value).toBe('online');
    FakeSocket.all[0].drop(1006);
    expect(wsStatus.value).toBe('connecting');
    await vi.advanceTimersByTimeAsync(600); // first retry: 250–500 ms
    expect(FakeSocket.all.length).toBe(2);
    expect(opens.length).toBe(2);
    c.stop();
    expect(wsStatus.value).toBe('offline');
  });

  it('skips the backoff when asked (back online, tab visible)', async () => {
    const c = new WsClient('ws://x/v1/ws');
    c.start();
    await vi.advanceTimersByTimeAsync(10);
    FakeSocket.all[0].drop(1006);
    c.reconnectNow();
    expect(FakeSocket.all.length).toBe(2);
    c.stop();
  });

  it('tells the policy listeners about a 1008 close', async () => {
    const c = new WsClient('ws://x/v1/ws');
    const seen: string[] = [];
    c.onPolicyClose(() => seen.push('policy'));
    c.start();
    await vi.advanceTimersByTimeAsync(10);
    FakeSocket.all[0].drop(1008);
    expect(seen).toEqual(['policy']);
    c.stop();
  });

  it('pings every 25 s and drops a connection that stopped answering', async () => {
    const c = new WsClient('ws://x/v1/ws');
    c.start();
    await vi.advanceTimersByTimeAsync(10);
    const s = FakeSocket.all[0];
    await vi.advanceTimersByTimeAsync(25_000);
    expect(s.sent.map((f) => f.type)).toEqual(['auth', 'ping']);
    s.answering = false;
    await vi.advanceTimersByTimeAsync(25_000 + 10_000);
    expect(s.closed).toBe(true);
    expect(wsStatus.value).not.toBe('online');
    await vi.advanceTimersByTimeAsync(1_000);
    expect(FakeSocket.all.length).toBe(2);
    expect(wsStatus.value).toBe('online');
    c.stop();
  });

  it('fails pending requests when the connection is lost', async () => {
    const c = new WsClient('ws://x/v1/ws');
    c.start();
    await vi.advanceTimersByTimeAsync(10);
    FakeSocket.all[0].answering = false;
    const r = c.request('history', {}).catch((e) => e.code);
    FakeSocket.all[0].drop(1001);
    expect(await r).toBe('offline');
    c.stop();
  });
});
