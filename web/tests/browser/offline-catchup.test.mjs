// (b) Bob is offline (his page closed) while alice sends three messages;
// when he opens the app again he catches up: the unread count, then the
// messages in order.
import assert from 'node:assert/strict';
import { browserTest, newPage, signIn, byId, send, messagesWithText, expectCount, openConversation, eventually } from './harness.mjs';

browserTest('an offline bob catches up on three messages', async ({ server, browser }) => {
  const alice = await server.user('alice');
  const bob = await server.user('bob');
  const conv = await server.direct(alice, bob);

  // Bob signs in once, so his browser holds a session, then closes the tab.
  const pb = await newPage({ server, browser });
  await signIn(pb, bob);
  await byId(pb, 'conv-item').first().waitFor();
  const bobContext = pb.context();
  await pb.close();

  const pa = await newPage({ server, browser });
  await signIn(pa, alice);
  await openConversation(pa, conv);
  const texts = ['one: are you there?', 'two: the train is late', 'three: see you at 7'];
  for (const text of texts) {
    await send(pa, text);
    await expectCount(messagesWithText(pa, text), 1);
  }

  // Bob opens the app again (same browser, still signed in).
  const pb2 = await bobContext.newPage();
  await pb2.goto('/chats');
  const item = byId(pb2, 'conv-item').filter({ hasText: 'Alice' });
  await byId(item, 'conv-unread').getByText('3', { exact: true }).waitFor();
  await item.click();
  for (const text of texts) await expectCount(messagesWithText(pb2, text), 1, text);
  // In order: their seq rise in the order alice sent them.
  const seqs = [];
  for (const text of texts) seqs.push(Number(await messagesWithText(pb2, text).getAttribute('data-seq')));
  assert.deepEqual([...seqs].sort((a, b) => a - b), seqs, 'messages in the order sent');
  const rows = await byId(pb2, 'message').locator('[data-testid="message-text"]').allInnerTexts();
  const at = texts.map((t) => rows.indexOf(t));
  assert.deepEqual([...at].sort((a, b) => a - b), at, 'shown in the order sent');
  // Opening it read them: the list's badge goes away.
  await pb2.goto('/chats');
  await eventually(async () => assert.equal(await byId(byId(pb2, 'conv-item').filter({ hasText: 'Alice' }), 'conv-unread').count(), 0));
});
