// The full-size picture in a dialog (Escape or the close button closes it),
// with a download button.
import { t } from '../../i18n';
import { Modal } from '../common/Modal';
import { useBlobUrl } from './useBlobUrl';
import { DownloadButton } from './DownloadButton';

export function ImageViewer(p: { fileId: string; name?: string; preview?: string; width?: number; height?: number; onClose: () => void }) {
  const { src, error } = useBlobUrl('/v1/files/' + p.fileId);
  const shown = src ?? p.preview;
  return (
    <Modal title={p.name || t('media.viewer')} onClose={p.onClose} wide>
      <div class="media-viewer" data-testid="image-viewer">
        {shown && (
          <img
            src={shown}
            alt={p.name || t('media.image')}
            width={p.width}
            height={p.height}
            class={src ? 'media-full' : 'media-full media-blur'}
          />
        )}
        {error && <p class="error" role="alert">{t('media.loadFailed', { message: error.message })}</p>}
        <DownloadButton fileId={p.fileId} name={p.name || 'image-' + p.fileId + '.jpg'} />
      </div>
    </Modal>
  );
}
