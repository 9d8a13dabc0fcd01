// Records a voice message with the microphone (MediaRecorder), then uploads
// it and sends it as kind `voice`; the server measures its duration and
// waveform. Without a microphone (no getUserMedia, not a secure context,
// permission denied) the button says why instead.
import { useEffect, useRef, useState } from 'preact/hooks';
import { t } from '../../i18n';
import { formatDuration } from '../../lib/files';
import { sendFile } from './uploads';
import { MicIcon, StopIcon } from './icons';
import './media.css';

/** Longest voice message: recording stops and sends by itself then. */
export const MAX_VOICE_MS = 15 * 60 * 1000;

function unavailable(): boolean {
  return !globalThis.navigator?.mediaDevices?.getUserMedia || typeof MediaRecorder === 'undefined';
}

/** The recording format: Opus in WebM (Chrome, Firefox) or MP4 (Safari). */
function mimeType(): string | undefined {
  return ['audio/webm;codecs=opus', 'audio/webm', 'audio/mp4', 'audio/ogg;codecs=opus'].find((m) =>
    MediaRecorder.isTypeSupported(m),
  );
}

interface Rec {
  recorder: MediaRecorder;
  stream: MediaStream;
  chunks: Blob[];
  started: number;
  send: boolean;
}

export function VoiceButton(p: { convId: string }) {
  const [problem, setProblem] = useState<string | null>(unavailable() ? t('media.noMic') : null);
  const [recording, setRecording] = useState(false);
  const [elapsed, setElapsed] = useState(0);
  const rec = useRef<Rec | null>(null);
  const conv = useRef(p.convId);
  conv.current = p.convId;

  const finish = (send: boolean) => {
    const r = rec.current;
    if (!r) return;
    r.send = send;
    if (r.recorder.state !== 'inactive') r.recorder.stop();
    r.stream.getTracks().forEach((tr) => tr.stop());
    rec.current = null;
    setRecording(false);
  };

  // Leaving the conversation discards a recording in progress.
  useEffect(() => () => finish(false), [p.convId]);

  useEffect(() => {
    if (!recording) return;
    const timer = setInterval(() => {
      const r = rec.current;
      if (!r) return;
      const ms = Date.now() - r.started;
      setElapsed(ms);
      if (ms >= MAX_VOICE_MS) finish(true);
    }, 250);
    return () => clearInterval(timer);
  }, [recording]);

  const start = async () => {
    // After a refusal a click asks again (the person may have allowed it since).
    if (unavailable() || rec.current) return;
    let stream: MediaStream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    } catch (e) {
      const name = (e as Error)?.name;
      setProblem(name === 'NotAllowedError' || name === 'SecurityError'
        ? t('media.micDenied')
        : t('media.micError', { message: (e as Error)?.message || String(e) }));
      return;
    }
    setProblem(null);
    const type = mimeType();
    const recorder = new MediaRecorder(stream, type ? { mimeType: type } : undefined);
    const r: Rec = { recorder, stream, chunks: [], started: Date.now(), send: false };
    const target = conv.current;
    recorder.ondataavailable = (e) => e.data.size && r.chunks.push(e.data);
    recorder.onstop = () => {
      if (!r.send || !r.chunks.length) return;
      const blobType = recorder.mimeType || type || 'audio/webm';
      const ext = blobType.includes('mp4') ? 'm4a' : blobType.includes('ogg') ? 'ogg' : 'webm';
      const file = new File(r.chunks, `voice-${new Date(r.started).toISOString().replace(/[:.]/g, '-')}.${ext}`, { type: blobType });
      void sendFile(target, file, { recorded: true });
    };
    recorder.start(1000);
    rec.current = r;
    setElapsed(0);
    setRecording(true);
  };

  if (recording)
    return (
      <span class="media-recording" role="group" aria-label={t('media.voice')}>
        <span class="media-rec-dot" aria-hidden="true" />
        <span class="media-time" role="timer" aria-live="off">{t('media.recording', { time: formatDuration(elapsed) })}</span>
        <button type="button" class="icon" aria-label={t('media.cancelRecording')} title={t('media.cancelRecording')} onClick={() => finish(false)}>
          ✕
        </button>
        <button type="button" class="primary" data-testid="voice-stop" aria-label={t('media.stop')} title={t('media.stop')} onClick={() => finish(true)}>
          <StopIcon />
        </button>
      </span>
    );
  // Unavailable: aria-disabled rather than disabled, so that the button stays
  // focusable and its title (the reason) can be read with the keyboard too.
  return (
    <button
      type="button"
      class="icon media-mic"
      data-testid="voice-record"
      aria-label={t('media.record')}
      aria-disabled={problem ? 'true' : undefined}
      aria-describedby={problem ? 'media-mic-why-' + p.convId : undefined}
      title={problem ?? t('media.record')}
      onClick={start}
    >
      <MicIcon />
      {problem && <span id={'media-mic-why-' + p.convId} class="visually-hidden">{problem}</span>}
    </button>
  );
}
