// A person's or a group's picture: the square thumbnail of their avatar
// file, and their initials on a colour derived from the name while it loads
// or when there is none. Decorative: the name is always shown beside it, so
// only the presence is told to screen readers.
import { t } from '../../i18n';
import { thumbnailUrl } from '../../lib/files';
import { useBlobUrl } from './useBlobUrl';
import './media.css';

/** A stable hue for a name, so that one person keeps one colour everywhere. */
export function hueOf(name: string): number {
  let h = 0;
  for (const ch of name) h = (h * 31 + ch.codePointAt(0)!) >>> 0;
  return h % 360;
}

/** Initials shown without a picture: "Ann Lee" → "AL", "bob" → "B", "李雷" → "李". */
export function initialsOf(name: string): string {
  const words = name.trim().split(/\s+/).filter(Boolean);
  if (!words.length) return '?';
  const a = [...words[0]][0];
  const b = words[1] ? [...words[1]][0] : '';
  return (/^[A-Za-z]$/.test(a) && /^[A-Za-z]$/.test(b) ? a + b : a).toUpperCase();
}

export function Avatar(p: { name: string; fileId?: string | null; size?: number; online?: boolean }) {
  const size = p.size ?? 40;
  const { src } = useBlobUrl(p.fileId ? thumbnailUrl(p.fileId, size > 64 ? 256 : 64) : null);
  return (
    <span class="avatar media-avatar" style={{ width: size + 'px', height: size + 'px' }} data-size={size}>
      <span
        class="media-avatar-face"
        aria-hidden="true"
        style={{ background: `hsl(${hueOf(p.name || '?')} 55% 26%)`, fontSize: Math.round(size * 0.4) + 'px' }}
      >
        {src ? <img src={src} alt="" width={size} height={size} /> : initialsOf(p.name || '?')}
      </span>
      {p.online !== undefined && (
        <span class={p.online ? 'media-dot online' : 'media-dot'} aria-hidden="true" />
      )}
      {p.online && <span class="visually-hidden">{t('media.online')}</span>}
    </span>
  );
}
