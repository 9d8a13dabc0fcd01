// The one WebSocket to the server: authenticates with an `auth` frame,
// matches replies to requests by id, hands events to listeners, reconnects.
//
// Reconnects with exponential backoff and jitter, at once when the browser
// comes back online or the tab becomes visible; an app-level ping notices dead
// connections. state/sync.ts catches up on every (re)connect (onOpen).
import { signal, batch } from '@preact/signals';
import { ApiError } from './errors';
import { accessToken, refreshTokens } from './http';
import type { EventFrame, Reply } from './types';

export type WsStatus = 'offline' | 'connecting' | 'online';

/** Where the connection stands; the UI shows "offline" from it. */
export const wsStatus = signal<WsStatus>('offline');
/** True from a lost connection until the next one is up (the UI says
 * "offline" rather than "connecting" then). */
export const wsLost = signal(false);

type Pending = { resolve: (r: Reply) => void; reject: (e: Error) => void; timer: any };
type Listener = (ev: EventFrame) => void;

/** How often an idle connection is checked with an app-level `ping`. */
const PING_MS = 25_000;

export class WsClient {
  private sock: WebSocket | null = null;
  private nextId = 1;
  private pending = new Map<number, Pending>();
  private listeners = new Map<string, Set<Listener>>();
  private openHooks = new Set<() => void>();
  private policyHooks = new Set<() => void>();
  private wanted = false;
  private attempt = 0;
  private retryTimer: any = null;
  private pingTimer: any = null;
  private unwatch: (() => void) | null = null;

  constructor(private readonly url = defaultUrl()) {}

  /** Opens the connection and keeps it open until stop(). */
  start(): void {
    this.wanted = true;
    if (!this.unwatch) this.unwatch = this.watchBrowser();
    if (!this.sock) this.connect();
  }

  /** Closes the connection and stops reconnecting. */
  stop(): void {
    this.wanted = false;
    clearTimeout(this.retryTimer);
    this.unwatch?.();
    this.unwatch = null;
    const sock = this.sock;
    if (sock) this.lost(sock);
    sock?.close(1000);
    wsStatus.value = 'offline';
  }

  /** Reconnects now (skipping the backoff) when the connection is down. */
  reconnectNow(): void {
    if (!this.wanted || this.sock) return;
    clearTimeout(this.retryTimer);
    this.connect();
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

  /** Calls fn when the server closes with 1008 (policy: revoked device, auth
   * timeout, slow reader...): the caller finds out whether it is still signed in. */
  onPolicyClose(fn: () => void): () => void {
    this.policyHooks.add(fn);
    return () => this.policyHooks.delete(fn);
  }

  private raw(sock: WebSocket, type: string, fields: Record<string, unknown>, timeoutMs: number) {
    const id = this.nextId++;
    return new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new ApiError('timeout', 'no answer from the server'));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      try {
        sock.send(JSON.stringify({ ...fields, id, type }));
      } catch {
        /* closing: the close handler rejects it */
      }
    });
  }

  private connect(): void {
    wsStatus.value = 'connecting';
    let sock: WebSocket;
    try {
      sock = new WebSocket(this.url);
    } catch {
      return this.retry();
    }
    this.sock = sock;
    sock.onopen = () => void this.authenticate(sock);
    sock.onmessage = (m) => this.frame(String(m.data));
    sock.onclose = (e) => {
      if (this.sock !== sock) return; // already given up on (ping timeout, stop)
      this.lost(sock);
      if (e.code === 1008) for (const fn of this.policyHooks) fn();
      if (this.wanted) this.retry();
    };
  }

  private async authenticate(sock: WebSocket): Promise<void> {
    for (let tries = 0; tries < 2; tries++) {
      const token = await accessToken();
      if (!token || this.sock !== sock) return sock.close(1000);
      try {
        await this.raw(sock, 'auth', { token }, 10_000);
        break;
      } catch (e) {
        // A token the server refuses before its expiry (a restart with a
        // shorter access_token_ttl): refresh once; a dead session ends there.
        if ((e as ApiError).code !== 'unauthorized' || tries > 0 || !(await refreshTokens(true)))
          return sock.close(1000);
      }
    }
    if (this.sock !== sock) return;
    this.attempt = 0;
    batch(() => {
      wsStatus.value = 'online';
      wsLost.value = false;
    });
    this.schedulePing(sock);
    for (const fn of this.openHooks) fn();
  }

  /** Forgets sock: fails its pending requests and marks the status. */
  private lost(sock: WebSocket): void {
    if (this.sock !== sock) return;
    this.sock = null;
    clearTimeout(this.pingTimer);
    for (const [, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new ApiError('offline', 'the connection was lost'));
    }
    this.pending.clear();
    batch(() => {
      if (wsStatus.value === 'online' || this.attempt > 0) wsLost.value = this.wanted;
      wsStatus.value = this.wanted ? 'connecting' : 'offline';
    });
  }

  /** A dead TCP connection can go unnoticed for minutes: an app-level ping
   * that gets no answer drops it and reconnects. */
  private schedulePing(sock: WebSocket): void {
    clearTimeout(this.pingTimer);
    this.pingTimer = setTimeout(async () => {
      try {
        await this.raw(sock, 'ping', {}, 10_000);
        if (this.sock === sock) this.schedulePing(sock);
      } catch {
        if (this.sock !== sock) return;
        this.lost(sock);
        sock.close(4000);
        if (this.wanted) this.retry();
      }
    }, PING_MS);
  }

  private retry(): void {
    wsStatus.value = 'connecting';
    const base = Math.min(30_000, 500 * 2 ** this.attempt++);
    const delay = base / 2 + Math.random() * (base / 2);
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.wanted && !this.sock && this.connect(), delay);
  }

  /** Back online, or back to the tab: no reason to wait out the backoff. */
  private watchBrowser(): () => void {
    const w = globalThis.window;
    const d = globalThis.document;
    if (!w || !d) return () => {};
    const now = () => this.reconnectNow();
    const vis = () => d.visibilityState === 'visible' && now();
    w.addEventListener('online', now);
    d.addEventListener('visibilitychange', vis);
    return () => {
      w.removeEventListener('online', now);
      d.removeEventListener('visibilitychange', vis);
    };
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
    if (f.error) p.reject(new ApiError(f.error.code, f.error.message, 0, (f.error.retry_after_ms ?? 0) / 1000));
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
