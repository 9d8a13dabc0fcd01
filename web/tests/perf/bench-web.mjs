// The web client's budgets, measured (never asserted: see docs/performance.md):
//   - the initial JS, gzipped (budget 150 KB);
//   - the conversation list's first paint with 1,000 conversations (budget 1 s);
//   - frame times while scrolling up through a 10,000-message conversation,
//     history loading page by page as it goes, and the rows kept in the DOM.
// A real `magpie serve` (MAGPIE_BIN, the Release build by default) and
// Debian's chromium, as in the browser tests.  Usage (from web/):
//   MAGPIE_BIN=../build/magpie node tests/perf/bench-web.mjs
import { readFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Server, launchBrowser, newPage, signIn, wsSend, MAGPIE_BIN } from '../browser/harness.mjs';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const CONVS = Number(process.env.BENCH_CONVERSATIONS ?? 1000);
const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 10000);
const SCROLL_MS = Number(process.env.BENCH_SCROLL_MS ?? 8000);

const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
  return { min: s[0], p50: at(0.5), p95: at(0.95), max: s[s.length - 1] };
};
const ms = (x) => `${x.toFixed(0)} ms`;

/** The scripts and styles index.html loads before anything else, gzipped. */
async function initialJs(server) {
  const html = await (await fetch(server.api + '/')).text();
  const urls = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+\.(?:js|css))"/g)].map((m) => m[1]);
  let js = 0, css = 0;
  for (const u of urls) {
    const body = Buffer.from(await (await fetch(server.api + u)).arrayBuffer());
    const gz = gzipSync(body, { level: 9 }).length;
    if (u.endsWith('.js')) js += gz;
    else css += gz;
  }
  return { js, css, files: urls.length };
}

/** ms from navigation start until the first conversation row is painted. */
async function firstPaint(page) {
  await page.goto('/chats');
  return page.evaluate(
    () =>
      new Promise((res) => {
        const tick = () =>
          document.querySelector('[data-testid="conv-item"]') ? requestAnimationFrame(() => res(performance.now())) : requestAnimationFrame(tick);
        tick();
      }),
  );
}

/** Scrolls the message list up for `duration` ms; frame times and DOM rows. */
async function scrollUp(page, duration) {
  return page.evaluate(async (duration) => {
    const list = document.querySelector('[data-testid="message-list"]');
    const scroller = list.closest('[data-scroller]') ?? (list.scrollHeight > list.clientHeight ? list : list.parentElement);
    const frames = [];
    let rows = 0;
    let last = performance.now();
    const end = last + duration;
    await new Promise((res) => {
      const step = (now) => {
        frames.push(now - last);
        last = now;
        scroller.scrollTop = Math.max(0, scroller.scrollTop - 150);
        rows = Math.max(rows, document.querySelectorAll('[data-testid="message"]').length);
        if (now < end) requestAnimationFrame(step);
        else res();
      };
      requestAnimationFrame(step);
    });
    const seqs = [...document.querySelectorAll('[data-testid="message"]')].map((m) => Number(m.dataset.seq)).filter((x) => x > 0);
    return { frames: frames.slice(1), rows, lowestSeq: Math.min(...seqs) };
  }, duration);
}

async function main() {
  if (!existsSync(MAGPIE_BIN)) throw new Error(`no server binary at ${MAGPIE_BIN}`);
  const { browser, error } = await launchBrowser();
  if (!browser) throw new Error('chromium cannot start: ' + error);
  const server = new Server(['--log_level', 'warn', '--send_rate', '1000000', '--send_burst', '1000000']);
  await server.start();
  const env = { server, browser };
  try {
    const size = await initialJs(server);
    console.log(`initial load: ${(size.js / 1024).toFixed(1)} KB of JS and ${(size.css / 1024).toFixed(1)} KB of CSS gzipped (${size.files} files)`);

    const alice = await server.user('alice');
    const bob = await server.user('bob');
    let t0 = Date.now();
    for (let i = 0; i < CONVS - 1; i++) await server.call('POST', '/v1/groups', { title: `Group ${i + 1}` }, alice.token);
    const direct = await server.direct(alice, bob);
    console.log(`seeded ${CONVS} conversations in ${Date.now() - t0} ms`);

    const page = await newPage(env);
    await signIn(page, alice);
    const paints = [];
    for (let i = 0; i < RUNS; i++) paints.push(await firstPaint(page));
    const p = stats(paints);
    console.log(`conversation list, ${CONVS} conversations, first row painted after navigation: min ${ms(p.min)}, median ${ms(p.p50)}, max ${ms(p.max)} (${RUNS} loads)`);

    t0 = Date.now();
    const batch = 1000;
    for (let i = 0; i < MESSAGES; i += batch)
      await wsSend(env, bob, direct, Array.from({ length: Math.min(batch, MESSAGES - i) }, (_, k) => `message ${i + k + 1}: the quick brown fox jumps over the lazy dog`));
    console.log(`seeded ${MESSAGES} messages in ${Date.now() - t0} ms`);
    await page.goto('/chats/' + direct);
    await page.getByTestId('message').first().waitFor();
    const s = await scrollUp(page, SCROLL_MS);
    const f = stats(s.frames);
    const long = s.frames.filter((x) => x > 50).length;
    console.log(
      `scrolling up ${SCROLL_MS / 1000} s through ${MESSAGES} messages: ${s.frames.length} frames, p50 ${f.p50.toFixed(1)} ms, p95 ${f.p95.toFixed(1)} ms, max ${f.max.toFixed(0)} ms, ${long} over 50 ms; at most ${s.rows} message rows in the DOM; reached seq ${s.lowestSeq}`,
    );
  } finally {
    await browser.close();
    await server.stop();
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error('bench-web:', e.message);
    process.exit(1);
  },
);
