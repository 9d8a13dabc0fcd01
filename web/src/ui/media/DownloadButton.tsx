// A download with a progress bar; the server's message when it fails.
import { useState } from 'preact/hooks';
import { t } from '../../i18n';
import { downloadFile } from '../../lib/files';
import { DownloadIcon } from './icons';

export function DownloadButton(p: { fileId: string; name: string; label?: string }) {
  const [progress, setProgress] = useState<number | null>(null);
  const [error, setError] = useState<string>();
  const start = async () => {
    setError(undefined);
    setProgress(0);
    try {
      await downloadFile(p.fileId, p.name, setProgress);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setProgress(null);
    }
  };
  return (
    <span class="media-download">
      <button
        type="button"
        data-testid="file-download"
        disabled={progress !== null}
        aria-label={t('media.downloadName', { name: p.name })}
        onClick={start}
      >
        <DownloadIcon /> {p.label ?? t('media.download')}
      </button>
      {progress !== null && (
        <progress data-testid="download-progress" max={1} value={progress} aria-label={t('media.downloading', { name: p.name })} />
      )}
      {error && <span class="error" role="alert">{t('media.loadFailed', { message: error })}</span>}
    </span>
  );
}
