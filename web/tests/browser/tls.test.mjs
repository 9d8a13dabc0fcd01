// (l) The web client on a TLS listener (tls_cert, tls_key): served over
// https://, it opens its WebSocket on wss:// by itself, and two people chat
// live through it.
import assert from 'node:assert/strict';
import { browserTest, newPage, signIn, byId, send, messagesWithText, expectCount } from './harness.mjs';

browserTest(
  'over https:// the client talks wss:// and messages arrive live',
  async ({ server, browser }) => {
    assert.match(server.url, /^https:\/\/localhost:\d+$/);
    const alice = await server.user('alice');
    const bob = await server.user('bob');
    const conv = await server.direct(alice, bob);
    const pa = await newPage({ server, browser });
    const pb = await newPage({ server, browser });
    const sockets = [];
    for (const p of [pa, pb]) p.on('websocket', (ws) => sockets.push(ws.url()));
    await signIn(pa, alice);
    await signIn(pb, bob);
    assert.equal(await pa.evaluate(() => window.isSecureContext && location.protocol), 'https:');

    await pa.goto(`/chats/${conv}`);
    await byId(pa, 'composer-input').waitFor();
    await pb.goto(`/chats/${conv}`);
    await byId(pb, 'composer-input').waitFor();
    await send(pa, 'Hello over TLS');
    await expectCount(messagesWithText(pb, 'Hello over TLS'), 1, 'bob sees it live');
    await send(pb, 'Encrypted both ways');
    await expectCount(messagesWithText(pa, 'Encrypted both ways'), 1, 'alice sees the reply live');

    assert.ok(sockets.length >= 2, `both pages opened a WebSocket (${sockets.join(', ')})`);
    for (const url of sockets) assert.match(url, new RegExp(`^wss://localhost:${server.port}/v1/ws`));
    const history = await server.history(alice, conv);
    assert.deepEqual(
      history.map((m) => m.text).filter((t) => t !== undefined),
      ['Hello over TLS', 'Encrypted both ways'],
    );
  },
  { tls: true },
);
