// Fakes for the core's unit tests: an in-memory localStorage, a WebSocket
// client whose replies a test scripts, and event delivery.
import { signal } from '@preact/signals';

export class MemoryStorage {
  private m = new Map<string, string>();
  getItem(k: string) {
    return this.m.has(k) ? this.m.get(k)! : null;
  }
  setItem(k: string, v: string) {
    this.m.set(k, String(v));
  }
  removeItem(k: string) {
    this.m.delete(k);
  }
  clear() {
    this.m.clear();
  }
  keys() {
    return [...this.m.keys()];
  }
}

export const storage = new MemoryStorage();
(globalThis as any).localStorage = storage;

type Handler = (type: string, fields: Record<string, any>) => Promise<Record<string, any>> | Record<string, any>;

/** The WebSocket client's surface that state/ uses. */
export class FakeWs {
  sent: { type: string; fields: Record<string, any> }[] = [];
  handler: Handler = () => ({});
  private listeners = new Map<string, Set<(ev: any) => void>>();
  private openHooks = new Set<() => void>();
  async request(type: string, fields: Record<string, any> = {}) {
    if (wsStatus.value !== 'online') {
      const { ApiError } = await import('../../src/lib/errors');
      throw new ApiError('offline', 'not connected');
    }
    this.sent.push({ type, fields });
    return this.handler(type, fields);
  }
  on(name: string, fn: (ev: any) => void) {
    let s = this.listeners.get(name);
    if (!s) this.listeners.set(name, (s = new Set()));
    s.add(fn);
    return () => s!.delete(fn);
  }
  onOpen(fn: () => void) {
    this.openHooks.add(fn);
    return () => this.openHooks.delete(fn);
  }
  onPolicyClose() {
    return () => {};
  }
  start() {}
  stop() {}
  /** Delivers a server event. */
  emit(ev: Record<string, any>) {
    for (const fn of this.listeners.get(ev.event) ?? []) fn(ev);
  }
  /** Runs the (re)connect hooks, as an authenticated connect would. */
  open() {
    wsStatus.value = 'online';
    for (const fn of this.openHooks) fn();
  }
  of(type: string) {
    return this.sent.filter((s) => s.type === type);
  }
}

export const wsStatus = signal<'offline' | 'connecting' | 'online'>('online');
export const wsLost = signal(false);
export const fakeWs = new FakeWs();

/** The module lib/ws.ts, faked. */
export const wsModule = () => ({ ws: fakeWs, wsStatus, wsLost, WsClient: FakeWs });

/** Lets pending promise callbacks run. */
export const flush = async (n = 10) => {
  for (let i = 0; i < n; i++) await Promise.resolve();
};

/** A message of conversation conv. */
export function msg(conv: string, seq: number, sender: string, extra: Record<string, any> = {}) {
  return {
    message_id: 'm' + conv + '-' + seq,
    conversation: conv,
    seq,
    sender,
    kind: 'text' as const,
    text: 'text ' + seq,
    created_at: 1_000_000 + seq,
    ...extra,
  };
}

/** A conversation entry as GET /v1/conversations has it. */
export function entry(id: string, peer: string, extra: Record<string, any> = {}) {
  return {
    conversation_id: id,
    kind: 'direct' as const,
    peer: { user_id: peer, username: 'user' + peer, display_name: 'User ' + peer },
    last_message: null,
    last_seq: 0,
    read_seq: 0,
    delivered_seq: 0,
    unread: 0,
    unread_mentions: 0,
    active_at: 1,
    settings: { muted_until: 0, pinned: false, archived: false, cleared_seq: 0, deleted: false },
    ...extra,
  };
}
