// The upload tray's state: an upload shows with its progress, then is sent
// as a message of the kind its class suits; a failure keeps the server's
// message in the tray; a cancelled upload disappears without a message.
import { describe, it, expect, vi, beforeEach } from 'vitest';

const sent: unknown[][] = [];
vi.mock('../../src/state/chat', () => ({ sendMessage: (...a: unknown[]) => sent.push(a) }));

const { setTransport } = await import('../../src/lib/files');
const { sendFile, uploads, cancel } = await import('../../src/ui/media/uploads');

const answer = (status: number, body: unknown, headers: Record<string, string> = {}) => ({
  status,
  body: JSON.stringify(body),
  header: (n: string) => headers[n] ?? null,
});
const named = (name: string, n = 10) => Object.assign(new Blob([new Uint8Array(n)]), { name });

beforeEach(() => {
  sent.length = 0;
  uploads.value = [];
});

describe('sendFile', () => {
  it('uploads with progress, then sends an image with its reply', async () => {
    const progress: number[] = [];
    setTransport(async (r) => {
      r.onProgress?.(5);
      progress.push(uploads.value[0].progress);
      return answer(201, { file_id: '5', class: 'image', mime: 'image/png', size: 10, width: 4, height: 3, url: '' });
    });
    await sendFile('c1', named('a.png'), { replyTo: 'm9' });
    expect(progress).toEqual([0.5]);
    expect(uploads.value).toEqual([]);
    expect(sent).toEqual([['c1', { kind: 'image', content: { file_id: '5', width: 4, height: 3 }, reply_to: 'm9' }]]);
  });

  it('sends a recorded sound as a voice message', async () => {
    setTransport(async () => answer(201, { file_id: '6', class: 'audio', mime: 'audio/webm', size: 10, url: '' }));
    await sendFile('c1', named('voice.webm'), { recorded: true });
    expect(sent).toEqual([['c1', { kind: 'voice', content: { file_id: '6' } }]]);
  });

  it('keeps the server message of a refusal in the tray, and retries', async () => {
    setTransport(async () => answer(413, { error: { code: 'quota_exceeded', message: 'your storage quota is used up' } }));
    await sendFile('c1', named('big.bin'));
    expect(sent).toEqual([]);
    expect(uploads.value.map((u) => [u.name, u.error])).toEqual([['big.bin', 'your storage quota is used up']]);
    setTransport(async () => answer(201, { file_id: '8', class: 'file', mime: 'x/y', size: 10, name: 'big.bin', url: '' }));
    uploads.value[0].retry();
    await new Promise((r) => setTimeout(r, 0));
    expect(uploads.value).toEqual([]);
    expect(sent).toEqual([['c1', { kind: 'file', content: { file_id: '8', name: 'big.bin', size: 10, mime: 'x/y' } }]]);
  });

  it('says how long to wait when rate limited', async () => {
    setTransport(async () => answer(429, { error: { code: 'rate_limited', message: 'slow down' } }, { 'Retry-After': '12' }));
    await sendFile('c1', named('x'));
    expect(uploads.value[0].error).toContain('12');
  });

  it('drops a cancelled upload without sending', async () => {
    setTransport((r) => new Promise((_, reject) => r.signal!.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')))));
    const p = sendFile('c1', named('x'));
    await Promise.resolve();
    await new Promise((r) => setTimeout(r, 0));
    cancel(uploads.value[0].id);
    await p;
    expect(uploads.value).toEqual([]);
    expect(sent).toEqual([]);
  });
});
