// (i) An accessibility scan (axe-core) of each main screen: no serious or
// critical violation, in the light theme and (for a few) the dark one.
import { browserTest, newPage, signIn, byId, seedDemo, visit, checkA11y } from './harness.mjs';

/** [name, path, a test id that shows the screen is drawn] */
const SIGNED_OUT = [
  ['login', '/login', 'login-username'],
  ['register', '/register', 'register-username'],
  ['guest', '/guest', 'guest-name'],
];

browserTest('no serious or critical accessibility violation on the main screens', async ({ server, browser, t }) => {
  const env = { server, browser };
  const demo = await seedDemo(env);
  const SIGNED_IN = [
    ['chats list', '/chats', 'conv-list'],
    ['conversation', `/chats/${demo.direct}`, 'message-list'],
    ['group conversation', `/chats/${demo.group}`, 'message-list'],
    ['world', '/world', 'world-view'],
    ['groups', '/groups', 'group-item'],
    ['people', '/people', 'people-search-input'],
    ['settings', '/settings', 'logout'],
    ['admin', '/admin', 'admin-stat-users'],
  ];
  for (const colorScheme of ['light', 'dark']) {
    const out = await newPage(env, { colorScheme });
    for (const [name, path, ready] of SIGNED_OUT) {
      await t.test(`${name} (${colorScheme})`, async () => {
        await out.goto(path);
        await byId(out, ready).waitFor();
        await checkA11y(out, name);
      });
    }
    const page = await newPage(env, { colorScheme });
    await signIn(page, demo.alice);
    for (const [name, path, ready] of SIGNED_IN) {
      if (colorScheme === 'dark' && !['chats list', 'conversation'].includes(name)) continue;
      await t.test(`${name} (${colorScheme})`, async () => {
        await visit(page, path);
        await byId(page, ready).first().waitFor();
        await checkA11y(page, name);
      });
    }
    await page.context().close();
    await out.context().close();
  }
}, { timeout: 400_000 });
