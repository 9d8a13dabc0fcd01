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

  /** The <audio> with its sound loaded (fetched on first use). */
  const loaded = async () => {
    const a = audio.current!;
    if (!src) {
      const u = await fetchBlobUrl('/v1/files/' + p.c.file_id);
      a.src = u;
      setSrc(u);
    }
    return a;
  };

  const seek = async (ms: number) => {
    setPos(ms);
    try {
      (await loaded()).currentTime = ms / 1000;
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  };

  const toggle = async () => {
    if (on) return audio.current!.pause();
    try {
      const a = await loaded();
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
      <span class="media-wave">
        {bars.map((h, i) => (
          <span key={i} aria-hidden="true" class={i / bars.length < done ? 'played' : ''} style={{ height: h + '%' }} />
        ))}
        {/* The bars are the slider: a transparent range input over them seeks
            by pointer and by keyboard. */}
        <input
          type="range"
          class="media-seek"
          min={0}
          max={Math.max(1, Math.round(duration))}
          step={1000}
          value={Math.round(pos)}
          aria-label={t('media.seek')}
          aria-valuetext={formatDuration(pos)}
          onInput={(e) => void seek(Number(e.currentTarget.value))}
        />
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
