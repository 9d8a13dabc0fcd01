// (h) A reload keeps the session, and two tabs of one browser refreshing
// short-lived tokens do not get the device revoked (the server revokes a
// device whose refresh token is presented twice).
import assert from 'node:assert/strict';
import { browserTest, newPage, signIn, byId, send, messagesWithText, expectCount, openConversation, eventually } from './harness.mjs';

const TTL = 30; // seconds: the tokens rotate every few seconds, while the tabs reload

browserTest(
  'a reload keeps the session; two tabs refresh tokens without theft detection',
  async ({ server, browser }) => {
    const alice = await server.user('alice');
    const bob = await server.user('bob');
    const conv = await server.direct(alice, bob);
    const tab1 = await newPage({ server, browser });
    await signIn(tab1, alice);
    await tab1.reload();
    await byId(tab1, 'nav-settings').waitFor();
    assert.equal(await byId(tab1, 'login-username').count(), 0, 'still signed in after a reload');

    const tab2 = await tab1.context().newPage();
    await tab2.goto('/chats');
    await byId(tab2, 'nav-settings').waitFor();
    const session = () => tab1.evaluate(() => JSON.parse(localStorage.getItem('magpie.session') ?? 'null'));
    const first = await session();
    assert.ok(first?.refreshToken, 'the session is stored');

    // Both tabs work through several token lifetimes, reloading on the way.
    await openConversation(tab1, conv);
    await tab2.goto(`/chats/${conv}`); // a conversation opened by its address
    await byId(tab2, 'composer-input').waitFor();
    for (let round = 0; round < 3; round++) {
      const before = (await session()).refreshToken;
      // Both tabs start up at the same moment, and each keeps the shared
      // tokens fresh: the token rotates (within one lifetime) and no tab
      // presents a used refresh token, or the server would revoke the device.
      await Promise.all([tab1.reload(), tab2.reload()]);
      await byId(tab1, 'composer-input').waitFor();
      await byId(tab2, 'composer-input').waitFor();
      await eventually(async () => assert.notEqual((await session()).refreshToken, before, 'rotated'), { timeout: (TTL + 10) * 1000 });
      await send(round % 2 ? tab1 : tab2, `round ${round}`);
      await expectCount(messagesWithText(tab1, `round ${round}`), 1);
      await expectCount(messagesWithText(tab2, `round ${round}`), 1);
    }
    // No device was revoked: the browser's is listed, and both tabs are still signed in.
    const fresh = await server.login(alice);
    const devices = await server.call('GET', '/v1/devices', undefined, fresh.token);
    assert.equal(devices.devices.length, 3, 'the two test logins and the browser; none revoked');
    await Promise.all([tab1.reload(), tab2.reload()]);
    await byId(tab1, 'composer-input').waitFor();
    await byId(tab2, 'composer-input').waitFor();
    assert.equal(await byId(tab1, 'login-username').count(), 0);
  },
  { flags: ['--access_token_ttl', String(TTL)], timeout: 240_000 },
);
