// (g) A guest in the world room: enters by name, posts, and a registered
// user sees the post live.
import assert from 'node:assert/strict';
import { browserTest, newPage, signIn, byId, send, messagesWithText, expectCount } from './harness.mjs';

browserTest('a guest posts in the world room and a registered user sees it', async ({ server, browser }) => {
  const carol = await server.user('carol');
  const pc = await newPage({ server, browser });
  await signIn(pc, carol);
  await byId(pc, 'nav-world').click();
  await byId(pc, 'world-view').waitFor();

  const pg = await newPage({ server, browser });
  await pg.goto('/');
  await byId(pg, 'goto-guest').click();
  await byId(pg, 'guest-name').fill('Visitor');
  await byId(pg, 'guest-submit').click();
  await byId(pg, 'world-view').waitFor();
  // Guests only get the world room and settings.
  assert.equal(await byId(pg, 'nav-chats').count(), 0);
  assert.equal(await byId(pg, 'nav-people').count(), 0);
  await send(pg, 'hello from a guest');
  await expectCount(messagesWithText(pg, 'hello from a guest'), 1, 'the guest sees the post');
  await expectCount(messagesWithText(pc, 'hello from a guest'), 1, 'carol sees it live');
});
