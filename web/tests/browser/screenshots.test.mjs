// (j) A screenshot of each main screen, for the README, written to
// $MAGPIE_SCREENSHOTS (e.g. ../docs/screenshots) when it is set:
// desktop size (1280×800), plus a phone-sized conversation and the dark theme.
import { test } from 'node:test';
import { browserTest, newPage, signIn, byId, seedDemo, visit, screenshot, PHONE } from './harness.mjs';

const enabled = !!process.env.MAGPIE_SCREENSHOTS;

if (!enabled) test('screenshots of the main screens', (t) => t.skip('MAGPIE_SCREENSHOTS is not set: no screenshots taken'));
else browserTest('screenshots of the main screens', async ({ server, browser, t }) => {
  const env = { server, browser };
  const demo = await seedDemo(env);
  // The images show settled screens: each waits for what it shows.
  const out = await newPage(env);
  await out.goto('/login');
  await byId(out, 'login-username').waitFor();
  await screenshot(out, 'login');
  await out.goto('/register');
  await byId(out, 'register-username').waitFor();
  await screenshot(out, 'register');

  const page = await newPage(env);
  await signIn(page, demo.alice);
  const shots = [
    ['chats', '/chats', 'conv-item'],
    ['conversation', `/chats/${demo.direct}`, 'message-text'],
    ['group', `/chats/${demo.group}`, 'message-text'],
    ['world', '/world', 'message-text'],
    ['groups', '/groups', 'group-item'],
    ['people', '/people', 'people-search-input'],
    ['settings', '/settings', 'logout'],
    ['admin', '/admin', 'admin-stat-users'],
  ];
  for (const [name, path, ready] of shots) {
    await t.test(name, async () => {
      await visit(page, path);
      await byId(page, ready).first().waitFor();
      await screenshot(page, name);
    });
  }

  await t.test('phone', async () => {
    const phone = await newPage(env, { viewport: PHONE });
    await signIn(phone, demo.bob);
    await visit(phone, `/chats/${demo.direct}`);
    await byId(phone, 'message-text').first().waitFor();
    await screenshot(phone, 'phone');
  });
  await t.test('dark', async () => {
    const dark = await newPage(env, { colorScheme: 'dark' });
    await signIn(dark, demo.bob);
    await visit(dark, `/chats/${demo.direct}`);
    await byId(dark, 'message-text').first().waitFor();
    await screenshot(dark, 'dark');
  });
}, { timeout: 400_000 });
