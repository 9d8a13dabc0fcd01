// (f) Search finds a sent message and opens its conversation.
import { browserTest, newPage, signIn, byId, send, messagesWithText, expectCount, openConversation, expectAttr } from './harness.mjs';

browserTest('search finds a sent message', async ({ server, browser }) => {
  const alice = await server.user('alice');
  const bob = await server.user('bob');
  const conv = await server.direct(alice, bob);
  const pa = await newPage({ server, browser });
  await signIn(pa, alice);
  await openConversation(pa, conv);
  await send(pa, 'the blueberry pancakes recipe');
  await send(pa, 'something else entirely');
  await expectAttr(messagesWithText(pa, 'something else entirely'), 'data-state', ['sent', 'delivered', 'read']);

  await pa.goto('/chats');
  await byId(pa, 'search-open').click();
  await byId(pa, 'search-input').fill('blueberry');
  await byId(pa, 'search-input').press('Enter');
  const result = byId(pa, 'search-result').filter({ hasText: 'blueberry' });
  await expectCount(result, 1, 'one result');
  await result.click();
  await expectCount(messagesWithText(pa, 'the blueberry pancakes recipe'), 1, 'the conversation opens');
});
