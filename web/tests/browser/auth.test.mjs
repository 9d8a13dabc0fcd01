// The auth screens against a real server: creating an account, a refused
// sign-in showing the server's message, signing in, and a server whose
// registration needs an invite code.
import assert from 'node:assert/strict';
import { browserTest, newPage, byId, PASSWORD } from './harness.mjs';

browserTest('register, then sign in from another browser; a taken name and a wrong password show the server message', async ({ server, browser }) => {
  const page = await newPage({ server, browser });
  await page.goto('/');
  await byId(page, 'login-username').waitFor();
  // Password managers find the fields by their autocomplete tokens.
  assert.equal(await byId(page, 'login-username').getAttribute('autocomplete'), 'username');
  assert.equal(await byId(page, 'login-password').getAttribute('autocomplete'), 'current-password');

  await byId(page, 'goto-register').click();
  await page.waitForURL('**/register');
  assert.equal(await byId(page, 'register-password').getAttribute('autocomplete'), 'new-password');
  await byId(page, 'register-username').fill('carol');
  await byId(page, 'register-display-name').fill('Carol');
  await byId(page, 'register-password').fill(PASSWORD);
  await byId(page, 'register-submit').click();
  await byId(page, 'nav-chats').waitFor();
  await page.waitForURL((u) => u.pathname === '/chats');

  // The same username again is refused with the server's own message.
  const other = await newPage({ server, browser });
  await other.goto('/register');
  await byId(other, 'register-username').fill('CAROL');
  await byId(other, 'register-password').fill(PASSWORD);
  await byId(other, 'register-submit').click();
  const err = byId(other, 'auth-error');
  await err.waitFor();
  assert.equal(await err.getAttribute('role'), 'alert');
  assert.match(await err.innerText(), /taken/i);

  await other.goto('/login');
  await byId(other, 'login-username').fill('carol');
  await byId(other, 'login-password').fill('not the password');
  await byId(other, 'login-submit').click();
  await byId(other, 'auth-error').getByText(/password/i).waitFor();

  await byId(other, 'login-password').fill(PASSWORD);
  await byId(other, 'login-submit').click();
  await byId(other, 'nav-chats').waitFor();
});

browserTest(
  'invite-only registration asks for the invite code',
  async ({ server, browser }) => {
    const code = server.admin(['--json', 'invite', 'create']).match(/"code"\s*:\s*"([A-Z0-9]+)"/)[1];
    const page = await newPage({ server, browser });
    await page.goto('/register');
    await byId(page, 'register-username').fill('dave');
    await byId(page, 'register-password').fill(PASSWORD);
    await byId(page, 'register-submit').click();
    await byId(page, 'auth-error').waitFor();
    await byId(page, 'register-invite').fill(code.toLowerCase());
    await byId(page, 'register-submit').click();
    await byId(page, 'nav-chats').waitFor();
  },
  { flags: ['--registration', 'invite'] },
);

browserTest(
  'without guests the guest form shows the server refusal',
  async ({ server, browser }) => {
    const page = await newPage({ server, browser });
    await page.goto('/guest');
    await byId(page, 'guest-name').fill('Visitor');
    await byId(page, 'guest-submit').click();
    await byId(page, 'auth-error').waitFor();
    assert.ok((await byId(page, 'auth-error').innerText()).length > 0);
  },
  { flags: ['--guests', 'off'] },
);

browserTest(
  'a rate-limited login shows how long to wait',
  async ({ server, browser }) => {
    await server.user('erin');
    const page = await newPage({ server, browser });
    await page.goto('/login');
    await byId(page, 'login-username').fill('erin');
    // login_rate 2: the third attempt in a minute is refused with Retry-After.
    for (let i = 0; i < 3; i++) {
      await byId(page, 'login-password').fill('wrong password ' + i);
      const answer = page.waitForResponse((r) => r.url().endsWith('/v1/auth/login'));
      await byId(page, 'login-submit').click();
      if ((await answer).status() === 429) break;
    }
    await byId(page, 'auth-error').getByText(/\d+ s|\d+ 秒/).waitFor();
    assert.ok(await byId(page, 'login-submit').isDisabled());
  },
  { flags: ['--login_rate', '2'] },
);
