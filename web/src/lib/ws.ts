// The one WebSocket to the server: authenticates with an `auth` frame,
// matches replies to requests by id, hands events to listeners, reconnects.
//
// OWNER: core (reconnect with backoff and jitter, catching up through sync on
// every reconnect, and the outbox's resend hook are built on this).
import { signal } from '@preact/signals';
import { ApiError } from './errors';
import { accessToken } from './http';
import type { EventFrame, Reply } from './types';

export type WsStatus = 'offline' | 'connecting' | 'online';

/** Where the connection stands; the UI shows "offline" from it. */
export const wsStatus = signal<WsStatus>('offline');

type Pending = { resolve: (r: Reply) => void; reject: (e: Error) => void; timer: any };
type Listener = (ev: EventFrame) => void;

export class WsClient {
  private sock: WebSocket | null = null;
  private nextId = 1;
  private pending = new Map<number, Pending>();
  private listeners = new Map<string, Set<Listener>>();
  private openHooks = new Set<() => void>();
  private wanted = false;
  private attempt = 0;
  private retryTimer: any = null;

  constructor(private readonly url = defaultUrl()) {}

  /** Opens the connection and keeps it open until stop(). */
  start(): void {
    this.wanted = true;
    if (!this.sock) this.connect();
  }

  /** Closes the connection and stops reconnecting. */
  stop(): void {
    this.wanted = false;
    clearTimeout(this.retryTimer);
    this.sock?.close(1000);
    this.sock = null;
    wsStatus.value = 'offline';
  }

  /** Sends a request; resolves with the reply, rejects with ApiError
   * ('offline' when not connected, 'timeout' after timeoutMs). */
  request(type: string, fields: Record<string, unknown> = {}, timeoutMs = 15_000): Promise<Reply> {
    const sock = this.sock;
    if (!sock || wsStatus.value !== 'online')
      return Promise.reject(new ApiError('offline', 'not connected'));
    return this.raw(sock, type, fields, timeoutMs);
  }

  /** Calls fn for every event named name (or '*' for all); returns an unsubscribe. */
  on(name: string, fn: Listener): () => void {
    let set = this.listeners.get(name);
    if (!set) this.listeners.set(name, (set = new Set()));
    set.add(fn);
    return () => set!.delete(fn);
  }

  /** Calls fn each time the connection is authenticated (first and every reconnect). */
  onOpen(fn: () => void): () => void {
    this.openHooks.add(fn);
    return () => this.openHooks.delete(fn);
  }

  private raw(sock: WebSocket, type: string, fields: Record<string, unknown>, timeoutMs: number) {
    const id = this.nextId++;
    return new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new ApiError('timeout', 'no answer from the server'));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      sock.send(JSON.stringify({ ...fields, id, type }));
    });
  }

  private connect(): void {
    wsStatus.value = 'connecting';
    const sock = new WebSocket(this.url);
    this.sock = sock;
    sock.onopen = async () => {
      const token = await accessToken();
      if (!token || this.sock !== sock) return sock.close(1000);
      try {
        await this.raw(sock, 'auth', { token }, 10_000);
      } catch {
        return sock.close(1000);
      }
      this.attempt = 0;
      wsStatus.value = 'online';
      for (const fn of this.openHooks) fn();
    };
    sock.onmessage = (m) => this.frame(String(m.data));
    sock.onclose = () => {
      if (this.sock === sock) this.sock = null;
      for (const [, p] of this.pending) {
        clearTimeout(p.timer);
        p.reject(new ApiError('offline', 'the connection was lost'));
      }
      this.pending.clear();
      wsStatus.value = this.wanted ? 'connecting' : 'offline';
      if (this.wanted) this.retry();
    };
  }

  private retry(): void {
    const base = Math.min(30_000, 500 * 2 ** this.attempt++);
    const delay = base / 2 + Math.random() * (base / 2);
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.wanted && !this.sock && this.connect(), delay);
  }

  private frame(text: string): void {
    let f: any;
    try {
      f = JSON.parse(text);
    } catch {
      return;
    }
    if (typeof f.event === 'string') {
      for (const fn of this.listeners.get(f.event) ?? []) fn(f);
      for (const fn of this.listeners.get('*') ?? []) fn(f);
      return;
    }
    const p = typeof f.id === 'number' ? this.pending.get(f.id) : undefined;
    if (!p) return;
    this.pending.delete(f.id);
    clearTimeout(p.timer);
    if (f.error) p.reject(new ApiError(f.error.code, f.error.message));
    else {
      delete f.id;
      delete f.ok;
      p.resolve(f);
    }
  }
}

function defaultUrl(): string {
  const l = globalThis.location;
  if (!l) return 'ws://127.0.0.1:8080/v1/ws';
  return (l.protocol === 'https:' ? 'wss://' : 'ws://') + l.host + '/v1/ws';
}

/** The application's connection. */
export const ws = new WsClient();
