// The attachment of a non-text message (image, file, voice, video,
// location, contact). The bubble renders the caption (`text`) itself.
import { useEffect, useState } from 'preact/hooks';
import { t } from '../../i18n';
import { fetchBlobUrl, formatSize, uploaded } from '../../lib/files';
import { get } from '../../lib/http';
import { users, rememberUser, type LocalMessage } from '../../state/chat';
import { navigate } from '../../router';
import type { Profile } from '../../lib/types';
import { ImageContent, fitBox } from './ImageContent';
import { VoicePlayer } from './VoicePlayer';
import { DownloadButton } from './DownloadButton';
import { FileIcon, PersonIcon, PinIcon, PlayIcon } from './icons';
import './media.css';

export function MessageContent(p: { message: LocalMessage }) {
  const m = p.message;
  const raw = m.content ?? {};
  // A message of ours not stored yet carries only what was sent; what the
  // upload answered (preview, waveform, size) fills the rest meanwhile.
  const info = raw.file_id ? uploaded.get(raw.file_id) : undefined;
  const c: Record<string, any> = info ? { ...info, ...raw } : raw;
  // Deleted for everyone: the bubble says so; a file kind without its file
  // (never sent by the server, but a client could) has nothing to show.
  if (m.deleted) return null;
  if (['image', 'file', 'voice', 'video'].includes(m.kind) && !c.file_id) return <p class="muted">{t('media.unsupported')}</p>;
  switch (m.kind) {
    case 'image':
      return <ImageContent c={c} />;
    case 'file':
      return <FileContent c={c} />;
    case 'voice':
      return <VoicePlayer c={c} />;
    case 'video':
      return <VideoContent c={c} />;
    case 'location':
      return <LocationContent c={c} />;
    case 'contact':
      return <ContactContent userId={c.user_id} />;
    default:
      return m.kind === 'text' || m.kind === 'system' ? null : <p class="muted">{t('media.unsupported')}</p>;
  }
}

/** The short label on a file's icon: its extension, else its type's family. */
export function mimeLabel(mime = '', name = ''): string {
  const ext = /\.([a-z0-9]{1,4})$/i.exec(name)?.[1];
  if (ext) return ext.toUpperCase();
  if (mime === 'application/pdf') return 'PDF';
  if (/zip|tar|gzip|compressed|7z|rar/.test(mime)) return 'ZIP';
  const family = mime.split('/')[0];
  return ({ image: 'IMG', audio: 'AUD', video: 'VID', text: 'TXT' } as Record<string, string>)[family] ?? 'FILE';
}

function FileContent(p: { c: Record<string, any> }) {
  const name: string = p.c.name || t('media.file');
  return (
    <div class="media-file">
      <FileIcon label={mimeLabel(p.c.mime, name)} />
      <span class="media-file-meta">
        <span class="media-file-name">{name}</span>
        {typeof p.c.size === 'number' && <span class="muted">{formatSize(p.c.size)}</span>}
      </span>
      <DownloadButton fileId={p.c.file_id} name={name} />
    </div>
  );
}

/** The poster (the inlined preview) until the video is asked for; then the
 * whole file as a blob: URL in a <video controls>. */
function VideoContent(p: { c: Record<string, any> }) {
  const [src, setSrc] = useState<string>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const box = fitBox(p.c.width, p.c.height);
  const style = { width: box.width + 'px', aspectRatio: `${box.width} / ${box.height}` };
  const load = async () => {
    setBusy(true);
    try {
      setSrc(await fetchBlobUrl('/v1/files/' + p.c.file_id));
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };
  if (src) return <video class="media-video" style={style} src={src} controls autoplay aria-label={t('media.video')} />;
  return (
    <div class="media-video-wrap">
      <button type="button" class="media-image media-video-poster" style={style} aria-label={t('media.playVideo')} onClick={load} aria-busy={busy}>
        {p.c.preview && <img src={p.c.preview} alt="" class="media-blur" width={box.width} height={box.height} />}
        <span class="media-play-big" aria-hidden="true"><PlayIcon /></span>
      </button>
      {error && <p class="error" role="alert">{t('media.loadFailed', { message: error })}</p>}
    </div>
  );
}

function LocationContent(p: { c: Record<string, any> }) {
  const lat = Number(p.c.latitude);
  const lon = Number(p.c.longitude);
  const href = `https://www.openstreetmap.org/?mlat=${lat}&mlon=${lon}#map=16/${lat}/${lon}`;
  return (
    <div class="media-location">
      <PinIcon />
      <span class="media-file-meta">
        <span class="media-file-name">{p.c.title || t('media.location')}</span>
        <span class="muted">{lat.toFixed(5)}, {lon.toFixed(5)}</span>
        <a href={href} target="_blank" rel="noopener noreferrer">{t('media.openMap')}</a>
      </span>
    </div>
  );
}

function ContactContent(p: { userId: string }) {
  const known = users.value.get(p.userId);
  useEffect(() => {
    if (!known && p.userId) get<Profile>('/v1/users/' + p.userId).then(rememberUser, () => {});
  }, [p.userId]);
  const name = known ? known.display_name || known.username : t('media.unknownUser');
  return (
    <div class="media-contact">
      <PersonIcon />
      <span class="media-file-meta">
        <span class="media-file-name">{name}</span>
        {known?.username && <span class="muted">@{known.username}</span>}
      </span>
      <button type="button" onClick={() => navigate('/people/' + p.userId)}>{t('media.openProfile')}</button>
    </div>
  );
}
