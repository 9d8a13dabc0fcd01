// The composer's paperclip: pick files (or drop / paste them onto the
// composer), each is uploaded with a progress bar in a tray above the
// composer, then sent as an image, video or file message.
import { useEffect, useRef } from 'preact/hooks';
import { t } from '../../i18n';
import { cancel, dismiss, sendFile, uploads } from './uploads';
import { ClipIcon } from './icons';
import './media.css';

export function AttachButton(p: { convId: string; replyTo?: string }) {
  const input = useRef<HTMLInputElement>(null);
  const root = useRef<HTMLSpanElement>(null);
  // The latest props for the drop/paste listeners, which are added once.
  const props = useRef(p);
  props.current = p;

  const sendAll = (files: FileList | File[] | null | undefined) => {
    for (const f of files ?? []) void sendFile(props.current.convId, f, { replyTo: props.current.replyTo });
  };

  useEffect(() => {
    // Drops and pastes anywhere on the composer (the closest form) attach.
    const area = root.current?.closest('form') ?? root.current?.parentElement;
    if (!area) return;
    const hasFiles = (d: DataTransfer | null) => !!d && [...d.types].includes('Files');
    const over = (e: DragEvent) => {
      if (hasFiles(e.dataTransfer)) e.preventDefault();
    };
    const drop = (e: DragEvent) => {
      if (!hasFiles(e.dataTransfer)) return;
      e.preventDefault();
      sendAll(e.dataTransfer!.files);
    };
    const paste = (e: ClipboardEvent) => {
      const files = e.clipboardData?.files;
      if (!files?.length) return;
      e.preventDefault();
      sendAll(files);
    };
    area.addEventListener('dragover', over as EventListener);
    area.addEventListener('drop', drop as EventListener);
    area.addEventListener('paste', paste as EventListener);
    return () => {
      area.removeEventListener('dragover', over as EventListener);
      area.removeEventListener('drop', drop as EventListener);
      area.removeEventListener('paste', paste as EventListener);
    };
  }, []);

  const mine = uploads.value.filter((u) => u.conv === p.convId);
  return (
    <span class="media-attach" ref={root}>
      {mine.length > 0 && (
        <ul class="media-tray" aria-label={t('media.uploads')}>
          {mine.map((u) => (
            <li key={u.id} class="media-tray-item">
              {u.error ? (
                <>
                  <p class="error" role="alert">{t('media.uploadFailed', { name: u.name, message: u.error })}</p>
                  <button type="button" onClick={u.retry}>{t('common.retry')}</button>
                </>
              ) : (
                <>
                  <span class="media-tray-name">{u.name}</span>
                  <progress
                    data-testid="upload-progress"
                    max={1}
                    value={u.progress}
                    aria-label={t('media.uploading', { name: u.name })}
                  />
                </>
              )}
              <button
                type="button"
                class="icon"
                aria-label={u.error ? t('media.dismiss') : t('media.cancelUpload', { name: u.name })}
                onClick={() => (u.error ? dismiss(u.id) : cancel(u.id))}
              >
                ✕
              </button>
            </li>
          ))}
        </ul>
      )}
      <button type="button" class="icon media-clip" aria-label={t('media.attach')} title={t('media.attach')} onClick={() => input.current?.click()}>
        <ClipIcon />
      </button>
      <input
        ref={input}
        type="file"
        multiple
        class="visually-hidden"
        tabIndex={-1}
        aria-label={t('media.attachInput')}
        data-testid="attach-input"
        onChange={(e) => {
          const el = e.currentTarget;
          sendAll([...(el.files ?? [])]);
          el.value = ''; // the same file may be chosen again
        }}
      />
    </span>
  );
}
