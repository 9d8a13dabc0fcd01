// lib/files.ts: sizes and durations, the kind an upload is sent as, the
// blob-URL cache, and the resumable upload's offsets after a cut.
import { describe, it, expect, beforeEach } from 'vitest';
import {
  BlobCache, CHUNK, formatDuration, formatSize, messageFor, sendChunks, setRetryDelay, setTransport,
  uploadResumable, type XhrAnswer, type XhrRequest,
} from '../../src/lib/files';
import { ApiError } from '../../src/lib/errors';
import type { FileInfo } from '../../src/lib/types';

describe('formatSize', () => {
  it('shows bytes, then one decimal below 10, then whole units', () => {
    expect(formatSize(0)).toBe('0 B');
    expect(formatSize(1023)).toBe('1023 B');
    expect(formatSize(1024)).toBe('1 KB');
    expect(formatSize(1536)).toBe('1.5 KB');
    expect(formatSize(820 * 1024)).toBe('820 KB');
    expect(formatSize(5.25 * 1024 * 1024)).toBe('5.3 MB');
    expect(formatSize(3 * 1024 ** 3)).toBe('3 GB');
    expect(formatSize(-1)).toBe('');
  });
});

describe('formatDuration', () => {
  it('shows m:ss, and h:mm:ss past an hour', () => {
    expect(formatDuration(0)).toBe('0:00');
    expect(formatDuration(5400)).toBe('0:05');
    expect(formatDuration(65_000)).toBe('1:05');
    expect(formatDuration(15 * 60_000)).toBe('15:00');
    expect(formatDuration(3_723_000)).toBe('1:02:03');
  });
});

const file = (f: Partial<FileInfo>): FileInfo => ({ file_id: '7', class: 'file', mime: 'application/pdf', size: 10, url: '/v1/files/7', ...f });

describe('messageFor', () => {
  it('sends an image with its size only (the server fills the rest)', () => {
    expect(messageFor(file({ class: 'image', mime: 'image/png', width: 640, height: 480, preview: 'data:x' }))).toEqual({
      kind: 'image',
      content: { file_id: '7', width: 640, height: 480 },
    });
  });
  it('sends a video as video, a recorded sound as voice', () => {
    expect(messageFor(file({ class: 'video' })).kind).toBe('video');
    expect(messageFor(file({ class: 'audio' }), true)).toEqual({ kind: 'voice', content: { file_id: '7' } });
  });
  it('sends an uploaded sound and anything else as a file with name, size and type', () => {
    expect(messageFor(file({ class: 'audio', name: 'song.mp3', mime: 'audio/mpeg' }))).toEqual({
      kind: 'file',
      content: { file_id: '7', name: 'song.mp3', size: 10, mime: 'audio/mpeg' },
    });
    expect(messageFor(file({ name: '' })).content.name).toBe('file');
  });
});

describe('BlobCache', () => {
  it('evicts the least recently used entry and revokes its URL', () => {
    const revoked: string[] = [];
    const c = new BlobCache(2, (u) => revoked.push(u));
    c.set('a', 'blob:a');
    c.set('b', 'blob:b');
    expect(c.get('a')).toBe('blob:a'); // a is now the most recent
    c.set('c', 'blob:c');
    expect(revoked).toEqual(['blob:b']);
    expect(c.get('b')).toBeUndefined();
    expect(c.size).toBe(2);
  });
  it('revokes a URL replaced under the same key', () => {
    const revoked: string[] = [];
    const c = new BlobCache(2, (u) => revoked.push(u));
    c.set('a', 'blob:1');
    c.set('a', 'blob:2');
    expect(revoked).toEqual(['blob:1']);
    expect(c.get('a')).toBe('blob:2');
  });
});

/** A fake tus server: holds an offset, can cut a PATCH after some bytes. */
function fakeTus(size: number, opts: { cutAt?: number[]; conflictOnce?: boolean } = {}) {
  let offset = 0;
  const cuts = [...(opts.cutAt ?? [])];
  let conflict = opts.conflictOnce ?? false;
  const log: string[] = [];
  const ans = (status: number, headers: Record<string, string> = {}, body = ''): XhrAnswer => ({
    status,
    body,
    header: (n) => headers[n] ?? null,
  });
  setTransport(async (r: XhrRequest) => {
    log.push(r.method + (r.headers['Upload-Offset'] !== undefined ? ' ' + r.headers['Upload-Offset'] : ''));
    if (r.method === 'POST') return ans(201, { Location: '/v1/uploads/9' }, '{"upload_id":"9","offset":0}');
    if (r.method === 'HEAD') return ans(200, { 'Upload-Offset': String(offset) });
    if (r.method === 'GET') return ans(200, {}, JSON.stringify({ file_id: '42', class: 'file', mime: 'x/y', size, url: '' }));
    if (r.method === 'PATCH') {
      if (conflict) {
        conflict = false;
        return ans(409, {}, '{"error":{"code":"conflict","message":"busy"}}');
      }
      expect(Number(r.headers['Upload-Offset'])).toBe(offset);
      const n = r.body!.size;
      const cut = cuts[0];
      if (cut !== undefined && cut >= offset && cut < offset + n) {
        cuts.shift();
        offset = cut; // the bytes before the cut reached the server
        throw new ApiError('network', 'cut');
      }
      offset += n;
      return ans(204, { 'Upload-Offset': String(offset), ...(offset === size ? { 'Magpie-File-Id': '42' } : {}) });
    }
    return ans(404);
  });
  return { log, offset: () => offset };
}

describe('resumable upload', () => {
  beforeEach(() => setRetryDelay(() => 0));
  const blob = (n: number) => new Blob([new Uint8Array(n)]);

  it('sends chunks in order and returns the file id', async () => {
    const size = CHUNK * 2 + 10;
    const s = fakeTus(size);
    const seen: number[] = [];
    expect(await sendChunks('/v1/uploads/9', blob(size), (f) => seen.push(f))).toBe('42');
    expect(s.log).toEqual(['PATCH 0', 'PATCH ' + CHUNK, 'PATCH ' + 2 * CHUNK]);
    expect(seen.at(-1)).toBe(1);
  });

  it('resumes from the server offset (HEAD) after a cut', async () => {
    const size = CHUNK * 2;
    const cut = CHUNK + 1000;
    const s = fakeTus(size, { cutAt: [cut] });
    expect(await sendChunks('/v1/uploads/9', blob(size))).toBe('42');
    expect(s.log).toEqual(['PATCH 0', 'PATCH ' + CHUNK, 'HEAD', 'PATCH ' + cut]);
  });

  it('waits and asks again when the cut PATCH is still open (409 conflict)', async () => {
    const s = fakeTus(100, { conflictOnce: true });
    expect(await sendChunks('/v1/uploads/9', blob(100))).toBe('42');
    expect(s.log).toEqual(['PATCH 0', 'HEAD', 'PATCH 0']);
  });

  it('gives up after repeated cuts with the network error', async () => {
    fakeTus(100, { cutAt: [0, 0, 0, 0, 0, 0, 0] });
    await expect(sendChunks('/v1/uploads/9', blob(100))).rejects.toMatchObject({ code: 'network' });
  });

  it('creates the session, uploads and returns the file object', async () => {
    const s = fakeTus(50);
    const f = await uploadResumable(Object.assign(blob(50), { name: 'a.bin' }));
    expect(f.file_id).toBe('42');
    expect(s.log).toEqual(['POST', 'PATCH 0', 'GET']);
  });

  it('passes the server error code through', async () => {
    setTransport(async () => ({
      status: 413,
      body: '{"error":{"code":"quota_exceeded","message":"over quota"}}',
      header: () => null,
    }));
    await expect(uploadResumable(blob(50))).rejects.toMatchObject({ code: 'quota_exceeded', message: 'over quota', status: 413 });
  });
});

describe('fetchBlobUrl', () => {
  it('shares one request between concurrent callers and caches the URL', async () => {
    const { fetchBlobUrl } = await import('../../src/lib/files');
    let calls = 0;
    const realFetch = globalThis.fetch;
    globalThis.fetch = (async () => {
      calls++;
      return new Response(new Uint8Array([1, 2, 3]), { status: 200 });
    }) as typeof fetch;
    try {
      const [a, b] = await Promise.all([fetchBlobUrl('/v1/files/1/thumbnail'), fetchBlobUrl('/v1/files/1/thumbnail')]);
      expect(a).toBe(b);
      expect(a.startsWith('blob:')).toBe(true);
      expect(await fetchBlobUrl('/v1/files/1/thumbnail')).toBe(a);
      expect(calls).toBe(1);
    } finally {
      globalThis.fetch = realFetch;
    }
  });
  it('rejects with the server error code and does not cache it', async () => {
    const { fetchBlobUrl } = await import('../../src/lib/files');
    const realFetch = globalThis.fetch;
    globalThis.fetch = (async () =>
      new Response('{"error":{"code":"not_found","message":"no such file"}}', { status: 404 })) as typeof fetch;
    try {
      await expect(fetchBlobUrl('/v1/files/2')).rejects.toMatchObject({ code: 'not_found', message: 'no such file' });
    } finally {
      globalThis.fetch = realFetch;
    }
  });
});
