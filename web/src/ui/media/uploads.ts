// Uploads in progress, per conversation: a module-level signal so an upload
// goes on (and its message is sent) when the person switches conversation
// while it runs, and the tray shows it again on the way back.
import { signal } from '@preact/signals';
import { messageFor, uploadFile } from '../../lib/files';
import { isApiError } from '../../lib/errors';
import { sendMessage } from '../../state/chat';
import { t } from '../../i18n';
import type { Id } from '../../lib/types';

export interface Upload {
  id: number;
  conv: Id;
  name: string;
  progress: number; // 0..1
  error?: string;
  abort: AbortController;
  /** What to upload again on retry. */
  retry: () => void;
}

export const uploads = signal<Upload[]>([]);
let next = 1;

function update(id: number, change: Partial<Upload>): void {
  uploads.value = uploads.value.map((u) => (u.id === id ? { ...u, ...change } : u));
}

export function dismiss(id: number): void {
  uploads.value = uploads.value.filter((u) => u.id !== id);
}

export function cancel(id: number): void {
  uploads.value.find((u) => u.id === id)?.abort.abort();
  dismiss(id);
}

/** The text shown for a failed upload: the server's message, or how long to
 * wait when rate limited. */
function reason(e: unknown): string {
  if (isApiError(e, 'rate_limited') && e.retryAfter) return t('media.rateLimited', { seconds: e.retryAfter });
  return e instanceof Error ? e.message : String(e);
}

/** Uploads a file, shows it in the tray, then sends it as a message of the
 * kind its class suits (`recorded`: a voice note from the microphone). */
export async function sendFile(conv: Id, file: Blob & { name?: string }, opts: { replyTo?: Id; recorded?: boolean } = {}): Promise<void> {
  const u: Upload = {
    id: next++,
    conv,
    name: file.name || t('media.file'),
    progress: 0,
    abort: new AbortController(),
    retry: () => {
      dismiss(u.id);
      void sendFile(conv, file, opts);
    },
  };
  uploads.value = [...uploads.value, u];
  try {
    const info = await uploadFile(file, (f) => update(u.id, { progress: f }), u.abort.signal);
    dismiss(u.id);
    const { kind, content } = messageFor(info, opts.recorded);
    sendMessage(conv, { kind, content, ...(opts.replyTo ? { reply_to: opts.replyTo } : {}) });
  } catch (e) {
    if ((e as Error)?.name === 'AbortError') return;
    update(u.id, { error: reason(e) });
  }
}
