// (c) An optimistic send survives a server restart mid-send without a
// duplicate: the server stops while alice's page is open, she sends (the
// message shows as pending), the server comes back on the same port and data
// directory, and the message is stored and shown exactly once.
import assert from 'node:assert/strict';
import { browserTest, newPage, signIn, byId, send, messagesWithText, expectCount, expectAttr, openConversation, eventually } from './harness.mjs';

browserTest('a message sent while the server is down is sent exactly once after it restarts', async ({ server, browser }) => {
  const alice = await server.user('alice');
  const bob = await server.user('bob');
  const conv = await server.direct(alice, bob);
  const pa = await newPage({ server, browser });
  await signIn(pa, alice);
  await openConversation(pa, conv);
  await send(pa, 'before the restart');
  await expectAttr(messagesWithText(pa, 'before the restart'), 'data-state', ['sent', 'delivered', 'read']);

  await server.halt();
  await byId(pa, 'offline-banner').waitFor();
  const text = 'sent while the server was down';
  await send(pa, text);
  const msg = messagesWithText(pa, text);
  await expectCount(msg, 1);
  assert.equal(await msg.getAttribute('data-state'), 'pending');

  await server.restart();
  await expectAttr(msg, 'data-state', ['sent', 'delivered', 'read'], 'sent once the server is back');
  await expectCount(messagesWithText(pa, text), 1, 'alice sees it once');

  const stored = (await server.history(bob, conv)).filter((m) => m.text === text);
  assert.equal(stored.length, 1, 'the server stored it once');

  const pb = await newPage({ server, browser });
  await signIn(pb, bob);
  await openConversation(pb, conv);
  await expectCount(messagesWithText(pb, text), 1, 'bob sees it once');
  // A while later (the outbox has had every chance to resend), still once.
  await pa.reload();
  await byId(pa, 'composer-input').waitFor();
  await expectCount(messagesWithText(pa, text), 1, 'once after a reload');
  await eventually(async () => assert.equal((await server.history(bob, conv)).filter((m) => m.text === text).length, 1));
});
