// Uploads and downloads of files with progress, and pictures of the API as
// blob: URLs (an <img> cannot send the bearer token, and the CSP allows blob:).
//
// OWNER: media.
import { ApiError } from './errors';
import { accessToken, refreshTokens } from './http';
import type { FileInfo, Id } from './types';

/** Files above this go through the resumable (tus) upload, so a dropped
 * connection costs one chunk, not the whole file. */
export const RESUMABLE_ABOVE = 8 * 1024 * 1024;
/** The bytes of one tus PATCH. */
export const CHUNK = 4 * 1024 * 1024;
/** How many times a cut transfer is resumed before giving up. */
const MAX_RETRIES = 5;

/** "1.5 MB", "820 KB", "12 B": sizes as people read them (powers of 1024). */
export function formatSize(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '';
  if (bytes < 1024) return bytes + ' B';
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = bytes / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return (v >= 10 ? Math.round(v) : Math.round(v * 10) / 10) + ' ' + units[i];
}

/** "1:05", "12:00", "1:02:03" for a duration in ms. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** The message kind and the content to send for an uploaded file. Only the
 * members `send` accepts for the kind (the server refuses unknown ones and
 * fills in the rest from the file). A sound is a voice note only when it was
 * recorded as one: an uploaded song is better shown as a file. */
export function messageFor(f: FileInfo, recorded = false): { kind: 'image' | 'video' | 'voice' | 'file'; content: Record<string, unknown> } {
  const dims = f.width && f.height ? { width: f.width, height: f.height } : {};
  if (f.class === 'image') return { kind: 'image', content: { file_id: f.file_id, ...dims } };
  if (f.class === 'video') return { kind: 'video', content: { file_id: f.file_id, ...dims } };
  if (f.class === 'audio' && recorded) return { kind: 'voice', content: { file_id: f.file_id } };
  return {
    kind: 'file',
    content: { file_id: f.file_id, name: (f.name || 'file').slice(0, 255), size: f.size, mime: f.mime },
  };
}

/** Files this tab uploaded lately, by id: a pending message shows its
 * preview and waveform from here before the server's stored content comes
 * back. Only the last few are kept: older messages have their content. */
export const uploaded = new Map<Id, FileInfo>();
const UPLOADED_KEPT = 50;

// ---------------------------------------------------------------- transport

/** One request's answer as the upload code needs it. */
export interface XhrAnswer {
  status: number;
  body: string;
  header: (name: string) => string | null;
}

export interface XhrRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: Blob | null;
  onProgress?: (sent: number) => void;
  signal?: AbortSignal;
}

/** Sends one request with XMLHttpRequest (fetch reports no upload progress).
 * Resolves with any HTTP answer; rejects with ApiError('network') when no
 * answer came and with an AbortError when the signal fired. Replaceable in
 * tests. */
export let transport = (r: XhrRequest): Promise<XhrAnswer> =>
  new Promise((resolve, reject) => {
    const x = new XMLHttpRequest();
    x.open(r.method, r.url);
    for (const [k, v] of Object.entries(r.headers)) x.setRequestHeader(k, v);
    if (r.onProgress) x.upload.onprogress = (e) => r.onProgress!(e.loaded);
    x.onload = () => resolve({ status: x.status, body: x.responseText, header: (n) => x.getResponseHeader(n) });
    x.onerror = x.ontimeout = () => reject(new ApiError('network', 'the server cannot be reached'));
    x.onabort = () => reject(new DOMException('aborted', 'AbortError'));
    if (r.signal) {
      if (r.signal.aborted) return x.abort();
      r.signal.addEventListener('abort', () => x.abort(), { once: true });
    }
    x.send(r.body ?? null);
  });

/** For tests: replaces the transport. */
export function setTransport(fn: typeof transport): void {
  transport = fn;
}

function errorOf(a: XhrAnswer): ApiError {
  let code = 'http_' + a.status;
  let message = code;
  try {
    const j = JSON.parse(a.body);
    if (j?.error?.code) {
      code = j.error.code;
      message = j.error.message ?? code;
    }
  } catch {
    /* not JSON */
  }
  const ra = Number(a.header('Retry-After') ?? 0);
  return new ApiError(code, message, a.status, Number.isFinite(ra) ? ra : 0);
}

/** transport() with the bearer token, refreshing it once on a 401. */
async function authed(r: XhrRequest): Promise<XhrAnswer> {
  for (let attempt = 0; ; attempt++) {
    const tok = await accessToken();
    const a = await transport({ ...r, headers: { ...r.headers, ...(tok ? { Authorization: 'Bearer ' + tok } : {}) } });
    if (a.status === 401 && attempt === 0 && (await refreshTokens())) continue;
    return a;
  }
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      reject(new DOMException('aborted', 'AbortError'));
    }, { once: true });
  });

/** Waits between retries; tests set it to zero. */
export let retryDelay = (attempt: number) => 500 * 2 ** attempt;
export function setRetryDelay(fn: typeof retryDelay): void {
  retryDelay = fn;
}

// ------------------------------------------------------------------ uploads

type Named = Blob & { name?: string };

/** Uploads a file; onProgress gets 0..1. Big files go through tus so that a
 * dropped connection resumes where it stopped. Errors are ApiError with the
 * server's code (too_large, quota_exceeded, rate_limited, bad_media, …). */
export async function uploadFile(file: Named, onProgress?: (f: number) => void, signal?: AbortSignal): Promise<FileInfo> {
  const info = file.size > RESUMABLE_ABOVE
    ? await uploadResumable(file, onProgress, signal)
    : await uploadPlain(file, onProgress, signal);
  uploaded.set(info.file_id, info);
  if (uploaded.size > UPLOADED_KEPT) uploaded.delete(uploaded.keys().next().value!);
  return info;
}

async function uploadPlain(file: Named, onProgress?: (f: number) => void, signal?: AbortSignal): Promise<FileInfo> {
  const q = file.name ? '?name=' + encodeURIComponent(file.name) : '';
  const a = await authed({
    method: 'POST',
    url: '/v1/files' + q,
    headers: { 'Content-Type': 'application/octet-stream' },
    body: file,
    signal,
    onProgress: (n) => onProgress?.(file.size ? n / file.size : 1),
  });
  if (a.status !== 201 && a.status !== 200) throw errorOf(a);
  return JSON.parse(a.body) as FileInfo;
}

const TUS = { 'Tus-Resumable': '1.0.0' };

/** base64 of a UTF-8 string, for Upload-Metadata. */
function b64(s: string): string {
  let bin = '';
  for (const b of new TextEncoder().encode(s)) bin += String.fromCharCode(b);
  return btoa(bin);
}

/** The tus upload: create a session, PATCH chunks, and after a cut ask the
 * server's offset (HEAD) and go on from there. */
export async function uploadResumable(file: Named, onProgress?: (f: number) => void, signal?: AbortSignal): Promise<FileInfo> {
  const created = await authed({
    method: 'POST',
    url: '/v1/uploads',
    headers: {
      ...TUS,
      'Upload-Length': String(file.size),
      ...(file.name ? { 'Upload-Metadata': 'filename ' + b64(file.name) } : {}),
    },
    signal,
  });
  if (created.status !== 201) throw errorOf(created);
  const url = created.header('Location') || '/v1/uploads/' + JSON.parse(created.body).upload_id;
  try {
    const fileId = await sendChunks(url, file, onProgress, signal);
    return await fileInfo(fileId, signal);
  } catch (e) {
    // A cancelled upload frees its declared length from the quota at once.
    if ((e as Error)?.name === 'AbortError') void authed({ method: 'DELETE', url, headers: TUS }).catch(() => {});
    throw e;
  }
}

/** PATCHes from the server's offset to the end; returns the file's id. */
export async function sendChunks(url: string, file: Blob, onProgress?: (f: number) => void, signal?: AbortSignal): Promise<Id> {
  let offset = 0;
  let failures = 0;
  for (;;) {
    let a: XhrAnswer;
    try {
      const end = Math.min(offset + CHUNK, file.size);
      const start = offset;
      a = await authed({
        method: 'PATCH',
        url,
        headers: { ...TUS, 'Content-Type': 'application/offset+octet-stream', 'Upload-Offset': String(offset) },
        body: file.slice(offset, end),
        signal,
        onProgress: (n) => onProgress?.((start + n) / file.size),
      });
    } catch (e) {
      if (!(e instanceof ApiError) || ++failures > MAX_RETRIES) throw e;
      await sleep(retryDelay(failures - 1), signal);
      offset = await serverOffset(url, signal);
      continue;
    }
    if (a.status === 204) {
      failures = 0;
      offset = Number(a.header('Upload-Offset'));
      onProgress?.(offset / file.size);
      const id = a.header('Magpie-File-Id');
      if (id) return id;
      continue;
    }
    if (a.status === 409 && ++failures <= MAX_RETRIES) {
      // offset_mismatch names the server's offset; conflict means the cut
      // PATCH is still open on the server: wait, then ask.
      await sleep(retryDelay(failures - 1), signal);
      offset = a.header('Upload-Offset') ? Number(a.header('Upload-Offset')) : await serverOffset(url, signal);
      continue;
    }
    throw errorOf(a);
  }
}

/** HEAD of the session: the bytes the server has. */
async function serverOffset(url: string, signal?: AbortSignal): Promise<number> {
  const a = await authed({ method: 'HEAD', url, headers: TUS, signal });
  if (a.status !== 200) throw errorOf(a);
  return Number(a.header('Upload-Offset'));
}

async function fileInfo(id: Id, signal?: AbortSignal): Promise<FileInfo> {
  const a = await authed({ method: 'GET', url: `/v1/files/${id}/info`, headers: {}, signal });
  if (a.status !== 200) throw errorOf(a);
  return JSON.parse(a.body) as FileInfo;
}

// ------------------------------------------------------------ blob URLs

/** A least-recently-used map of blob: URLs that revokes what it evicts, so
 * that pictures scrolled past long ago free their memory. */
export class BlobCache {
  private m = new Map<string, string>();
  constructor(
    private readonly max: number,
    private readonly revoke: (u: string) => void = (u) => URL.revokeObjectURL(u),
  ) {}
  get(key: string): string | undefined {
    const v = this.m.get(key);
    if (v !== undefined) {
      this.m.delete(key);
      this.m.set(key, v);
    }
    return v;
  }
  set(key: string, url: string): void {
    const old = this.m.get(key);
    if (old !== undefined && old !== url) this.revoke(old);
    this.m.delete(key);
    this.m.set(key, url);
    while (this.m.size > this.max) {
      const [k, v] = this.m.entries().next().value!;
      this.m.delete(k);
      this.revoke(v);
    }
  }
  get size(): number {
    return this.m.size;
  }
}

// Thumbnails and avatars are small and many; whole files (a full-size
// photo, a voice note, a video of up to max_upload) are kept only a few.
const small = new BlobCache(300);
const whole = new BlobCache(6);
const cacheOf = (url: string) => (url.includes('/thumbnail') ? small : whole);
const inflight = new Map<string, Promise<string>>();

/** GETs an API URL with the token and returns a blob: URL of the body,
 * cached by URL; concurrent callers of one URL share one request. */
export function fetchBlobUrl(url: string): Promise<string> {
  const hit = cacheOf(url).get(url);
  if (hit) return Promise.resolve(hit);
  let p = inflight.get(url);
  if (!p) {
    p = fetchBlob(url)
      .then((b) => {
        const u = URL.createObjectURL(b);
        cacheOf(url).set(url, u);
        return u;
      })
      .finally(() => inflight.delete(url));
    inflight.set(url, p);
  }
  return p;
}

async function fetchBlob(url: string): Promise<Blob> {
  for (let attempt = 0; ; attempt++) {
    const tok = await accessToken();
    let res: Response;
    try {
      res = await fetch(url, { headers: tok ? { Authorization: 'Bearer ' + tok } : {} });
    } catch {
      throw new ApiError('network', 'the server cannot be reached');
    }
    if (res.status === 401 && attempt === 0 && (await refreshTokens())) continue;
    if (!res.ok) {
      const body = await res.text().catch(() => '');
      throw errorOf({ status: res.status, body, header: (n) => res.headers.get(n) });
    }
    return res.blob();
  }
}

// ---------------------------------------------------------------- downloads

/** Downloads a file with progress (0..1) and hands it to the browser as a
 * download named `name`. */
export async function downloadFile(fileId: Id, name: string, onProgress?: (f: number) => void, signal?: AbortSignal): Promise<void> {
  const blob = await getWithProgress(`/v1/files/${fileId}?download=1`, onProgress, signal);
  const u = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = u;
  a.download = name || 'file';
  document.body.append(a);
  a.click();
  a.remove();
  // The click starts the save synchronously; give it a moment before freeing.
  setTimeout(() => URL.revokeObjectURL(u), 10_000);
}

async function getWithProgress(url: string, onProgress?: (f: number) => void, signal?: AbortSignal): Promise<Blob> {
  for (let attempt = 0; ; attempt++) {
    const tok = await accessToken();
    let res: Response;
    try {
      res = await fetch(url, { headers: tok ? { Authorization: 'Bearer ' + tok } : {}, signal });
    } catch (e) {
      if ((e as Error)?.name === 'AbortError') throw e;
      throw new ApiError('network', 'the server cannot be reached');
    }
    if (res.status === 401 && attempt === 0 && (await refreshTokens())) continue;
    if (!res.ok) {
      const body = await res.text().catch(() => '');
      throw errorOf({ status: res.status, body, header: (n) => res.headers.get(n) });
    }
    const total = Number(res.headers.get('Content-Length') ?? 0);
    if (!res.body || !total) return res.blob();
    const reader = res.body.getReader();
    const parts: Uint8Array[] = [];
    let got = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      parts.push(value);
      got += value.length;
      onProgress?.(got / total);
    }
    return new Blob(parts as BlobPart[], { type: res.headers.get('Content-Type') ?? '' });
  }
}

/** The thumbnail URL of a file (size 320 keeps the aspect ratio; 256 and 64
 * are square crops for avatars). */
export function thumbnailUrl(fileId: Id, size?: 64 | 256 | 320): string {
  return `/v1/files/${fileId}/thumbnail` + (size && size !== 320 ? '?size=' + size : '');
}
