// (d) A group created in the UI and joined by its invite link: alice creates
// "Climbing", makes an invite link in the group panel, bob opens
// /join/TOKEN, joins, and they exchange a message.
import assert from 'node:assert/strict';
import { browserTest, newPage, signIn, byId, send, messagesWithText, expectCount, eventually } from './harness.mjs';

browserTest('a group created and joined by invite link', async ({ server, browser }) => {
  const alice = await server.user('alice');
  const bob = await server.user('bob');
  const pa = await newPage({ server, browser });
  await signIn(pa, alice);
  await byId(pa, 'nav-groups').click();
  await byId(pa, 'group-create').click();
  await byId(pa, 'group-title-input').fill('Climbing');
  await byId(pa, 'group-create-submit').click();
  await byId(pa, 'composer-input').waitFor();
  await byId(pa, 'conv-title').getByText('Climbing').waitFor();

  await byId(pa, 'conv-info').click();
  await byId(pa, 'group-panel').waitFor();
  await byId(pa, 'invite-create').click();
  const link = byId(pa, 'invite-link').first();
  const url = await eventually(async () => {
    const v = await link.inputValue();
    assert.match(v, /\/join\/[A-Za-z0-9_-]{22,}$/);
    return v;
  });
  const path = new URL(url).pathname;

  // Bob follows the link: signed out first, so he signs in and comes back to it.
  const pb = await newPage({ server, browser });
  await pb.goto(path);
  await byId(pb, 'login-username').fill(bob.username);
  await byId(pb, 'login-password').fill(bob.password);
  await byId(pb, 'login-submit').click();
  await byId(pb, 'join-title').waitFor();
  await byId(pb, 'join-submit').click();
  await byId(pb, 'conv-title').getByText('Climbing').waitFor();
  await byId(pb, 'composer-input').waitFor();
  await send(pb, 'Hi all, thanks for the invite');
  await expectCount(messagesWithText(pa, 'Hi all, thanks for the invite'), 1, 'alice sees bob in the group');

  await pa.keyboard.press('Escape');
  await send(pa, 'Welcome, Bob!');
  await expectCount(messagesWithText(pb, 'Welcome, Bob!'), 1, 'bob sees alice');
});
