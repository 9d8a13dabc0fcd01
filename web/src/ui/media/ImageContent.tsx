// An image message: the inlined preview at once, at the picture's aspect
// ratio, then the 320 px thumbnail; activating it opens the full size.
import { useState } from 'preact/hooks';
import { t } from '../../i18n';
import { thumbnailUrl } from '../../lib/files';
import { useBlobUrl } from './useBlobUrl';
import { ImageViewer } from './ImageViewer';

/** The box an image is shown in: at most maxW × maxH, never enlarged,
 * keeping the aspect ratio (a square box when the size is unknown). */
export function fitBox(w: number | undefined, h: number | undefined, maxW = 280, maxH = 320): { width: number; height: number } {
  if (!w || !h) return { width: Math.min(maxW, maxH), height: Math.min(maxW, maxH) };
  const s = Math.min(1, maxW / w, maxH / h);
  return { width: Math.max(1, Math.round(w * s)), height: Math.max(1, Math.round(h * s)) };
}

export function ImageContent(p: { c: Record<string, any> }) {
  const [open, setOpen] = useState(false);
  const { src, error } = useBlobUrl(thumbnailUrl(p.c.file_id));
  const box = fitBox(p.c.width, p.c.height);
  const shown = src ?? p.c.preview;
  return (
    <>
      <button
        type="button"
        class="media-image"
        style={{ width: box.width + 'px', aspectRatio: `${box.width} / ${box.height}` }}
        aria-label={t('media.openImage')}
        onClick={() => setOpen(true)}
      >
        {shown ? (
          <img
            data-testid="message-image"
            src={shown}
            alt={t('media.image')}
            width={box.width}
            height={box.height}
            class={src ? '' : 'media-blur'}
          />
        ) : (
          <span class="muted">{error ? t('media.imageUnavailable') : t('media.image')}</span>
        )}
      </button>
      {open && (
        <ImageViewer
          fileId={p.c.file_id}
          name={p.c.name}
          preview={src ?? p.c.preview}
          width={p.c.width}
          height={p.c.height}
          onClose={() => setOpen(false)}
        />
      )}
    </>
  );
}
