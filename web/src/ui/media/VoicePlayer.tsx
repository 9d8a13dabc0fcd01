// A voice message: play/pause, the server's 64-point waveform as bars that
// fill as it plays, and the time. The sound is fetched with the token as a
// blob: URL on the first play.
import { useEffect, useRef, useState } from 'preact/hooks';
import { t } from '../../i18n';
import { fetchBlobUrl, formatDuration } from '../../lib/files';
import { PauseIcon, PlayIcon } from './icons';

/** Only one voice message plays at a time. */
let playing: HTMLAudioElement | null = null;

/** 64 bar heights (% of the tallest possible bar) from the server's waveform,
 * with a floor so silence still shows as a line. */
export function barsOf(waveform: unknown, n = 64): number[] {
  const w = Array.isArray(waveform) ? waveform.map(Number).filter(Number.isFinite) : [];
  if (!w.length) return Array(n).fill(8);
  return Array.from({ length: n }, (_, i) => Math.max(8, Math.min(100, w[Math.floor((i * w.length) / n)])));
}

export function VoicePlayer(p: { c: Record<string, any> }) {
  const audio = useRef<HTMLAudioElement>(null);
  const [src, setSrc] = useState<string>();
  const [on, setOn] = useState(false);
  const [pos, setPos] = useState(0); // ms
  const [error, setError] = useState<string>();
  const [duration, setDuration] = useState<number>(p.c.duration_ms ?? 0);

  useEffect(() => () => audio.current?.pause(), []);

  const toggle = async () => {
    const a = audio.current!;
    if (on) return a.pause();
    try {
      if (!src) {
        const u = await fetchBlobUrl('/v1/files/' + p.c.file_id);
        a.src = u;
        setSrc(u);
      }
      if (playing && playing !== a) playing.pause();
      playing = a;
      await a.play();
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  };

  const bars = barsOf(p.c.waveform);
  const done = duration ? pos / duration : 0;
  return (
    <div class="media-voice" data-testid="voice-player">
      <button type="button" class="media-play" aria-label={on ? t('media.pause') : t('media.play')} onClick={toggle}>
        {on ? <PauseIcon /> : <PlayIcon />}
      </button>
      <span class="media-wave" aria-hidden="true">
        {bars.map((h, i) => (
          <span key={i} class={i / bars.length < done ? 'played' : ''} style={{ height: h + '%' }} />
        ))}
      </span>
      <span class="media-time">
        {on || pos ? t('media.voiceTime', { position: formatDuration(pos), duration: formatDuration(duration) }) : formatDuration(duration)}
      </span>
      {error && <span class="error" role="alert">{t('media.loadFailed', { message: error })}</span>}
      <audio
        ref={audio}
        preload="none"
        onPlay={() => setOn(true)}
        onPause={() => setOn(false)}
        onEnded={() => {
          setOn(false);
          setPos(0);
        }}
        onTimeUpdate={(e) => setPos(e.currentTarget.currentTime * 1000)}
        onLoadedMetadata={(e) => {
          const d = e.currentTarget.duration;
          if (!duration && Number.isFinite(d)) setDuration(d * 1000);
        }}
      />
    </div>
  );
}
