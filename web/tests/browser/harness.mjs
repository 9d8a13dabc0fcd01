// The browser tests' harness: a real `magpie serve` on a free loopback port
// with a temporary data directory, Debian's chromium driven by playwright-core,
// HTTP helpers for the API, an axe-core scan and screenshots.
//
// Nothing is mocked: the page talks to the server the way a person's browser
// does. Waits are bounded: playwright's auto-waiting locators, or `eventually`
// (an assertion retried until it holds or its deadline passes).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync, readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { deflateSync } from 'node:zlib';
import { request as httpsRequest } from 'node:https';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const WEB = resolve(here, '../..');
export const MAGPIE_BIN = resolve(WEB, process.env.MAGPIE_BIN ?? '../build/magpie');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
/** MAGPIE_WEB_ROOT=dist tests a fresh `vite build` with the binary as it is
 * (magpie serve --web_root), without rebuilding the C code. Unset: the copy
 * of the client embedded in the binary. */
const WEB_ROOT = process.env.MAGPIE_WEB_ROOT ? resolve(WEB, process.env.MAGPIE_WEB_ROOT) : '';

const START_TIMEOUT = 15_000;
const STOP_TIMEOUT = 10_000;
/** How long a UI expectation may take before the test fails. */
export const TIMEOUT = Number(process.env.MAGPIE_UI_TIMEOUT ?? 15_000);

/** Defaults that let a test make many accounts from one address quickly. */
const BASE_FLAGS = [
  '--log_level', 'warn',
  '--register_rate', '100000',
  '--login_rate', '100000',
  '--guest_rate', '100000',
  '--send_burst', '1000',
];

// ---- processes: nothing outlives the test file ----

const live = new Set();
process.on('exit', () => {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
});

/** Whether the child has exited, by a status or by a signal. */
function hasExited(child) {
  return child.exitCode !== null || child.signalCode !== null;
}

/** Resolves when the child has exited (at once if it already has). */
function exited(child) {
  if (hasExited(child)) return Promise.resolve();
  return new Promise((res) => child.once('exit', () => res()));
}

function within(promise, ms) {
  let timer;
  const timeout = new Promise((res) => (timer = setTimeout(() => res('timeout'), ms)));
  return Promise.race([promise.then(() => 'done'), timeout]).finally(() => clearTimeout(timer));
}

/** SIGTERM, then SIGKILL if it has not exited within the bound. */
async function stopChild(child, signal = 'SIGTERM') {
  if (!child || hasExited(child)) return;
  child.kill(signal);
  if ((await within(exited(child), STOP_TIMEOUT)) === 'timeout') {
    child.kill('SIGKILL');
    await exited(child);
  }
}

/** Calls fn until it stops throwing or timeout ms pass; returns its result.
 * For conditions no event announces (a value over the API, a count). */
export async function eventually(fn, { timeout = TIMEOUT, interval = 100, message } = {}) {
  const deadline = Date.now() + timeout;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (Date.now() > deadline) {
        if (message) e.message = message + ': ' + e.message;
        throw e;
      }
    }
    await new Promise((r) => setTimeout(r, interval));
  }
}

// ---- the server ----

/** fetch, or for a server with its own CA (a TLS test) the same over
 * node:https trusting that CA: Node's fetch takes no CA of its own. Returns
 * what the helpers use of a Response (ok, status, headers.get, text). */
function fetchWith(ca, url, { method = 'GET', headers = {}, body } = {}) {
  if (!ca) return fetch(url, { method, headers, body });
  return new Promise((res, rej) => {
    const req = httpsRequest(url, { method, headers, ca, timeout: START_TIMEOUT }, (r) => {
      let text = '';
      r.setEncoding('utf8');
      r.on('data', (d) => (text += d));
      r.on('end', () =>
        res({
          ok: r.statusCode >= 200 && r.statusCode < 300,
          status: r.statusCode,
          headers: { get: (n) => r.headers[n.toLowerCase()] ?? null },
          text: async () => text,
        }),
      );
    });
    req.on('timeout', () => req.destroy(new Error(`${url}: timed out`)));
    req.on('error', rej);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/** Answers true when the binary serves the client itself at `/`. */
async function servesClient(base, ca) {
  try {
    const res = await fetchWith(ca, base + '/');
    const type = res.headers.get('content-type') ?? '';
    return res.ok && type.includes('text/html') && (await res.text()).includes('id="app"');
  } catch {
    return false;
  }
}

export class Server {
  /** tls: { cert, key, ca } (files) to serve HTTPS and WSS with them. */
  constructor(flags = [], { tls } = {}) {
    this.flags = tls ? [...flags, '--tls_cert', tls.cert, '--tls_key', tls.key] : flags;
    this.ca = tls ? readFileSync(tls.ca) : null;
    this.dataDir = mkdtempSync(join(tmpdir(), 'magpie-web-'));
    this.port = 0;
    this.child = null;
    /** The origin the browser opens (the server serves the client itself). */
    this.url = '';
    this.api = '';
  }

  /** Starts magpie serve on `port` (0: any free port); resolves once /readyz answers 200. */
  async launch(port = this.port) {
    const args = ['serve', '--listen', `127.0.0.1:${port}`, '--data', this.dataDir, ...BASE_FLAGS];
    if (WEB_ROOT) args.push('--web_root', WEB_ROOT);
    args.push(...this.flags);
    const child = spawn(MAGPIE_BIN, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    live.add(child);
    child.once('exit', () => live.delete(child));
    this.child = child;
    this.lastLines = [];
    const got = await new Promise((res) => {
      let buf = '';
      const timer = setTimeout(() => res(0), START_TIMEOUT);
      const done = (p) => {
        clearTimeout(timer);
        res(p);
      };
      child.stderr.setEncoding('utf8');
      child.stderr.on('data', (chunk) => {
        buf += chunk;
        let nl;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (process.env.MAGPIE_TEST_VERBOSE) process.stderr.write(`[magpie] ${line}\n`);
          this.lastLines = [...this.lastLines.slice(-39), line];
          const m = /magpie: listening on .*:(\d+)\s*$/.exec(line);
          if (m) done(Number(m[1]));
          else if (/error|fatal|cannot/i.test(line)) process.stderr.write(`[magpie] ${line}\n`);
        }
      });
      child.once('error', (e) => {
        this.lastLines.push(`cannot run ${MAGPIE_BIN}: ${e.message}`);
        done(0);
      });
      child.once('exit', () => done(0));
    });
    if (!got) {
      await stopChild(child, 'SIGKILL');
      return false;
    }
    this.port = got;
    // The test certificate names localhost (and 127.0.0.1).
    this.api = this.ca ? `https://localhost:${got}` : `http://127.0.0.1:${got}`;
    await eventually(
      async () => {
        const r = await fetchWith(this.ca, this.api + '/readyz');
        assert.equal(r.status, 200);
      },
      { timeout: START_TIMEOUT, message: 'the server did not become ready' },
    );
    return true;
  }

  async start() {
    if (WEB_ROOT && !existsSync(join(WEB_ROOT, 'index.html'))) throw new Error(`no index.html in ${WEB_ROOT} (run vite build)`);
    if (!existsSync(MAGPIE_BIN)) throw new Error(`no magpie binary at ${MAGPIE_BIN} (set MAGPIE_BIN)`);
    if (!(await this.launch(0))) throw new Error(`magpie serve did not start:\n${this.lastLines.join('\n')}`);
    if (!(await servesClient(this.api, this.ca)))
      throw new Error(`${MAGPIE_BIN} does not serve the web client at / (built without it? set MAGPIE_WEB_ROOT=dist)`);
    this.url = this.api;
    return this;
  }

  /** Stops the server (SIGTERM, SIGKILL after a bound); the data stays. */
  async halt(signal = 'SIGTERM') {
    await stopChild(this.child, signal);
  }

  /** Starts it again on the same port and data directory (the port may be
   * held for a moment after the old process exits: retry, bounded). */
  async restart() {
    await this.halt();
    const deadline = Date.now() + START_TIMEOUT;
    while (!(await this.launch(this.port))) {
      if (Date.now() > deadline) throw new Error(`cannot restart the server on port ${this.port}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** For a failed test: whether the server is still running, how it ended
   * if not (a sanitizer report ends it with its own status), and its last
   * lines of stderr. */
  report() {
    const c = this.child;
    const state = !c
      ? 'not running'
      : hasExited(c)
        ? `exited during the test (status ${c.exitCode ?? c.signalCode})`
        : `still running (pid ${c.pid})`;
    return `server: ${state}; its last lines:\n${this.lastLines.join('\n')}\n`;
  }

  async stop() {
    await this.halt();
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  /** Runs `magpie admin --data DIR ...` against the running server. */
  admin(args, password) {
    const r = spawnSync(MAGPIE_BIN, ['admin', '--data', this.dataDir, ...args], {
      env: { ...process.env, MAGPIE_PASSWORD: password ?? '' },
      encoding: 'utf8',
    });
    if (r.status !== 0) throw new Error(`magpie admin ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  }

  // ---- the API over HTTP ----

  async call(method, path, body, token) {
    const headers = {};
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (token) headers.Authorization = 'Bearer ' + token;
    const res = await fetchWith(this.ca, this.api + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    const json = text ? JSON.parse(text) : undefined;
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return json;
  }

  /** Registers and logs in over the API; the user's password is PASSWORD. */
  async user(username, { displayName, admin = false } = {}) {
    if (admin) this.admin(['user', 'add', username, '--admin', '--display-name', displayName ?? cap(username)], PASSWORD);
    else await this.call('POST', '/v1/auth/register', { username, password: PASSWORD, display_name: displayName ?? cap(username) });
    return this.login({ username, password: PASSWORD });
  }

  /** Logs in over the API (a new device): the user with a fresh token. */
  async login(user) {
    const t = await this.call('POST', '/v1/auth/login', { username: user.username, password: user.password, device_name: 'test' });
    return { ...user, id: t.user_id, token: t.access_token };
  }

  /** The direct conversation of a and b (created when missing). */
  async direct(a, b) {
    const r = await this.call('POST', '/v1/conversations/direct', { username: b.username }, a.token);
    return r.conversation_id;
  }

  async history(user, convId) {
    const r = await this.call('GET', `/v1/conversations/${convId}/messages?limit=200`, undefined, user.token);
    return r.messages;
  }
}

export const PASSWORD = 'correct horse battery';
const cap = (s) => s.charAt(0).toUpperCase() + s.slice(1);

// ---- the browser ----

const ARGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Launches chromium, or returns the reason it cannot start. Playwright gives
 * every launch a fresh temporary profile (user-data-dir). */
export async function launchBrowser() {
  if (!existsSync(CHROMIUM)) return { error: `${CHROMIUM} is missing` };
  try {
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, timeout: 30_000 });
    return { browser };
  } catch (e) {
    return { error: String(e?.message ?? e).split('\n')[0] };
  }
}

export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

/** A browser context is one person's browser (own localStorage). */
export async function newPage(env, { viewport = DESKTOP, colorScheme = 'light', locale = 'en-US' } = {}) {
  // A TLS server's certificate is from a throwaway CA the browser does not
  // know: the page still runs in a secure context, on https:// and wss://.
  const context = await env.browser.newContext({
    viewport,
    colorScheme,
    locale,
    baseURL: env.server.url,
    ignoreHTTPSErrors: Boolean(env.server.ca),
  });
  context.setDefaultTimeout(TIMEOUT);
  const page = await context.newPage();
  page.on('pageerror', (e) => process.stderr.write(`[page error] ${e.message}\n`));
  return page;
}

/**
 * One browser test: starts a server (with extra flags) and chromium, runs
 * fn({server, browser}), and cleans up. Skips with a clear message when
 * chromium cannot start, so `node --test` still exits 0 on such machines.
 */
export function browserTest(name, fn, { flags = [], timeout = 120_000, tls = false } = {}) {
  test(name, { timeout }, async (t) => {
    const { browser, error } = await launchBrowser();
    if (!browser) {
      t.skip(`chromium cannot start (${error}): browser tests skipped`);
      return;
    }
    const server = new Server(flags, { tls: tls ? makeCerts() : undefined });
    try {
      await server.start();
      await fn({ server, browser, t });
    } catch (e) {
      await keepFailure(browser, name);
      process.stderr.write(server.report());
      throw e;
    } finally {
      await browser.close().catch(() => {});
      await server.stop();
    }
  });
}

/** A throwaway CA and a certificate for localhost (scripts/test-certs.sh). */
function makeCerts() {
  const dir = mkdtempSync(join(tmpdir(), 'magpie-web-tls-'));
  const r = spawnSync(resolve(WEB, '../scripts/test-certs.sh'), [dir, 'localhost'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`scripts/test-certs.sh failed: ${r.stderr}`);
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  return { cert: join(dir, 'chain.pem'), key: join(dir, 'key.pem'), ca: join(dir, 'ca.pem') };
}

/** Saves a screenshot of every open page of a failed test, to see why. */
async function keepFailure(browser, name) {
  const dir = join(process.env.MAGPIE_TEST_ARTIFACTS ?? join(tmpdir(), 'magpie-browser-failures'));
  mkdirSync(dir, { recursive: true });
  const slug = name.replace(/[^a-z0-9]+/gi, '-').slice(0, 60);
  let i = 0;
  for (const context of browser.contexts()) {
    for (const page of context.pages()) {
      const path = join(dir, `${slug}-${++i}.png`);
      if (await page.screenshot({ path, timeout: 5000 }).then(() => true, () => false))
        process.stderr.write(`failure screenshot: ${path} (${page.url()})\n`);
    }
  }
}

// ---- the client, as a person uses it ----

export const byId = (page, id) => page.getByTestId(id);

/** Signs in through the login screen and waits for the shell. */
export async function signIn(page, user) {
  await page.goto('/login');
  await byId(page, 'login-username').fill(user.username);
  await byId(page, 'login-password').fill(user.password);
  await byId(page, 'login-submit').click();
  await byId(page, 'nav-settings').waitFor();
}

/** Opens the conversation with this id from the list, as a person does.
 * (Loading /chats/ID directly is what the reload tests exercise.) */
export async function openConversation(page, convId) {
  if (!new URL(page.url()).pathname.startsWith('/chats')) await byId(page, 'nav-chats').click();
  await page.locator(`[data-testid="conv-item"][data-conv-id="${convId}"]`).click();
  await byId(page, 'composer-input').waitFor();
}

/** Goes to a client route without reloading the page, as an in-app link
 * does (the client's router follows popstate). */
export async function visit(page, path) {
  await page.evaluate((p) => {
    history.pushState(null, '', p);
    dispatchEvent(new PopStateEvent('popstate'));
  }, path);
}

/** Types text in the composer and sends it with the send button. */
export async function send(page, text) {
  await byId(page, 'composer-input').fill(text);
  await byId(page, 'composer-send').click();
}

/** The message rows whose text is exactly text. */
export function messagesWithText(page, text) {
  return byId(page, 'message').filter({ has: page.getByTestId('message-text').getByText(text, { exact: true }) });
}

/** Waits until locator's count is n. */
export async function expectCount(locator, n, message) {
  await eventually(async () => assert.equal(await locator.count(), n), { message });
}

/** Waits until the locator's element has this attribute value (one of values). */
export async function expectAttr(locator, name, values, message) {
  const want = Array.isArray(values) ? values : [values];
  await eventually(async () => assert.ok(want.includes(await locator.getAttribute(name, { timeout: 1000 })), `${name} = ${await locator.getAttribute(name, { timeout: 1000 })}, want ${want.join('|')}`), { message });
}

// ---- seeding over the WebSocket ----

/**
 * Sends text messages as user over the WebSocket (messages have no HTTP
 * route). Node 20 has no WebSocket, so a throwaway page of the server's own
 * origin (the WebSocket's Origin rule) opens it.
 */
export async function wsSend(env, user, convId, texts) {
  const context = await env.browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto(env.server.api + '/readyz');
    const err = await page.evaluate(
      async ({ token, convId, texts }) => {
        const ws = new WebSocket(location.origin.replace(/^http/, 'ws') + '/v1/ws');
        let id = 0;
        const pending = new Map();
        ws.onmessage = (e) => {
          const f = JSON.parse(e.data);
          if (f.id != null && pending.has(f.id)) pending.get(f.id)(f);
        };
        await new Promise((res, rej) => {
          ws.onopen = res;
          ws.onerror = () => rej(new Error('websocket error'));
        });
        const req = (fields) =>
          new Promise((res) => {
            const n = ++id;
            pending.set(n, res);
            ws.send(JSON.stringify({ id: n, ...fields }));
          });
        const a = await req({ type: 'auth', token });
        if (a.error) return a.error.message;
        for (const text of texts) {
          const r = await req({ type: 'send', conversation: convId, client_msg_id: crypto.randomUUID(), text });
          if (r.error) return r.error.message;
        }
        ws.close();
        return null;
      },
      { token: user.token, convId, texts },
    );
    if (err) throw new Error('wsSend: ' + err);
  } finally {
    await context.close();
  }
}

/** A small world for screenshots and scans: alice (an admin), bob and carol,
 * a conversation of alice and bob, a group, posts in the world room. */
export async function seedDemo(env) {
  const { server } = env;
  const alice = await server.user('alice', { displayName: 'Alice Martin', admin: true });
  const bob = await server.user('bob', { displayName: 'Bob Chen' });
  const carol = await server.user('carol', { displayName: 'Carol Diaz' });
  const direct = await server.direct(alice, bob);
  const group = await server.call('POST', '/v1/groups', { title: 'Climbing club', description: 'Tuesday evenings at the wall', member_ids: [bob.id, carol.id] }, alice.token);
  const world = await server.call('GET', '/v1/world', undefined, alice.token);
  await wsSend(env, bob, direct, ['Hi Alice! Are we still on for Saturday?']);
  await wsSend(env, alice, direct, ['Yes! Meet at the station at 9?']);
  await wsSend(env, bob, direct, ['Perfect, I will bring the ropes']);
  await wsSend(env, carol, group.conversation_id, ['Who is coming on Tuesday?']);
  await wsSend(env, bob, group.conversation_id, ['Me, and I found new shoes']);
  await wsSend(env, carol, world.conversation_id, ['Hello world, nice to meet you all']);
  return { alice, bob, carol, direct, group: group.conversation_id, world: world.conversation_id };
}

// ---- axe-core ----

const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/**
 * Scans the page with axe-core and fails on serious or critical violations.
 * The source is evaluated through the DevTools protocol, which the page's
 * CSP (script-src 'self') does not govern, so the page keeps its real CSP.
 */
export async function checkA11y(page, screen) {
  await page.evaluate(AXE);
  const violations = await page.evaluate(async () => {
    const r = await globalThis.axe.run(document, { resultTypes: ['violations'] });
    return r.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map((n) => n.target.join(' ')) }));
  });
  assert.deepEqual(violations, [], `${screen}: axe found serious or critical violations:\n${JSON.stringify(violations, null, 2)}`);
}

// ---- screenshots ----

/** Saves a PNG of the page as $MAGPIE_SCREENSHOTS/<name>.png (when set). */
export async function screenshot(page, name) {
  const dir = process.env.MAGPIE_SCREENSHOTS;
  if (!dir) return;
  mkdirSync(resolve(WEB, dir), { recursive: true });
  await page.screenshot({ path: resolve(WEB, dir, name + '.png'), animations: 'disabled', caret: 'hide' });
}

// ---- test files ----

/** Makes a w×h PNG at path with vips (or ffmpeg); without either, writes one
 * itself (a plain RGB PNG: signature, IHDR, one IDAT, IEND). */
export function makePng(path, w = 320, h = 240) {
  if (spawnSync('vips', ['black', path, String(w), String(h), '--bands', '3']).status === 0) return path;
  if (spawnSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', `color=c=0x3366cc:s=${w}x${h}`, '-frames:v', '1', path]).status === 0) return path;
  writeFileSync(path, encodePng(w, h));
  return path;
}

function encodePng(w, h) {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf) => {
    let c = 0xffffffff;
    for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type), data]);
    const c = Buffer.alloc(4);
    c.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, c]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const raw = Buffer.alloc((w * 3 + 1) * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) raw.set([x % 256, y % 256, 160], y * (w * 3 + 1) + 1 + x * 3);
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}
