// (e) An image upload shown as a thumbnail to the other side: alice attaches
// a PNG made at test time; bob's page loads its thumbnail.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { browserTest, newPage, signIn, byId, openConversation, makePng, eventually } from './harness.mjs';

browserTest('an image sent by alice shows as a thumbnail to bob', async ({ server, browser }) => {
  const alice = await server.user('alice');
  const bob = await server.user('bob');
  const conv = await server.direct(alice, bob);
  const dir = mkdtempSync(join(tmpdir(), 'magpie-img-'));
  try {
    const png = makePng(join(dir, 'view.png'), 640, 480);
    const pb = await newPage({ server, browser });
    await signIn(pb, bob);
    await openConversation(pb, conv);

    const pa = await newPage({ server, browser });
    await signIn(pa, alice);
    await openConversation(pa, conv);
    await byId(pa, 'attach-input').setInputFiles(png);
    // Some clients ask for a caption or a confirmation before sending.
    const confirm = pa.getByTestId('attach-send');
    if (await confirm.count()) await confirm.click();

    for (const page of [pa, pb]) {
      const img = byId(page, 'message-image').first();
      await img.waitFor();
      await eventually(async () => assert.ok(await img.evaluate((el) => el.complete && el.naturalWidth > 0), 'thumbnail decoded'));
    }
    const stored = (await server.history(bob, conv)).filter((m) => m.kind === 'image');
    assert.equal(stored.length, 1, 'one image message stored');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
