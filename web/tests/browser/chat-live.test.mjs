// (a) Two people chatting live: alice starts a chat with bob from the UI,
// bob sees it arrive without a reload, replies, and alice's message goes
// from sent to delivered to read.
import { browserTest, newPage, signIn, byId, send, messagesWithText, expectCount, expectAttr } from './harness.mjs';

browserTest('alice and bob chat live, with delivered and read ticks', async ({ server, browser }) => {
  const alice = await server.user('alice');
  const bob = await server.user('bob');
  const pa = await newPage({ server, browser });
  const pb = await newPage({ server, browser });
  await signIn(pb, bob);
  await byId(pb, 'new-chat').waitFor();
  await signIn(pa, alice);

  await byId(pa, 'new-chat').click();
  await byId(pa, 'new-chat-username').fill('bob');
  await byId(pa, 'new-chat-submit').click();
  await byId(pa, 'composer-input').waitFor();
  await send(pa, 'Hello Bob, lunch today?');
  const mine = messagesWithText(pa, 'Hello Bob, lunch today?');
  await expectCount(mine, 1, 'alice sees her message once');
  // Bob's device is online: the message is delivered as soon as it lands.
  await expectAttr(mine, 'data-state', ['delivered', 'read'], 'delivered tick');

  // Bob's list shows the new conversation with one unread message.
  const item = byId(pb, 'conv-item').filter({ hasText: 'Alice' });
  await item.waitFor();
  await byId(item, 'conv-unread').getByText('1', { exact: true }).waitFor();
  await byId(item, 'conv-preview').getByText('Hello Bob, lunch today?').waitFor();
  await item.click();
  await expectCount(messagesWithText(pb, 'Hello Bob, lunch today?'), 1, 'bob sees it once');
  await expectAttr(mine, 'data-state', 'read', 'read tick once bob opened the conversation');

  await send(pb, 'Sure, 12:30!');
  await expectCount(messagesWithText(pa, 'Sure, 12:30!'), 1, 'alice sees the reply live');
  await expectAttr(messagesWithText(pb, 'Sure, 12:30!'), 'data-state', 'read', 'alice read the reply');
});
