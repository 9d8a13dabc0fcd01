// Message search over every conversation (or the open one): GET /v1/search,
// asked 300 ms after the last keystroke, newest first, "more" pages with the
// server's cursor. The matches are highlighted by splitting the snippet into
// text nodes: a message is never parsed as HTML.
import { useEffect, useRef, useState } from 'preact/hooks';
import { navigate } from '../../router';
import { get, query } from '../../lib/http';
import { session } from '../../lib/session';
import type { Id, Message } from '../../lib/types';
import { conversations, users } from '../../state/chat';
import { t } from '../../i18n';
import { ErrorText } from '../common/ErrorText';
import { convName, kindLabel, splitHighlights, timeLabel } from './listLogic';

interface Hit {
  message: Message;
  snippet: string;
  highlights: [number, number][];
}
interface Page {
  results: Hit[];
  has_more: boolean;
  next_cursor?: string | null;
}

const DEBOUNCE_MS = 300;

export function SearchPanel(p: { convId?: string; onClose: () => void }) {
  const [q, setQ] = useState('');
  const [here, setHere] = useState(false);
  const [hits, setHits] = useState<Hit[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const ctl = useRef<AbortController | null>(null);
  const input = useRef<HTMLInputElement>(null);
  const scope = here && p.convId ? p.convId : undefined;

  useEffect(() => input.current?.focus(), []);

  async function fetchPage(before: string | null) {
    ctl.current?.abort();
    const c = (ctl.current = new AbortController());
    setBusy(true);
    setError(null);
    try {
      const r = await get<Page>(
        '/v1/search' + query({ q: q.trim(), conversation: scope, before, limit: 20 }),
        { signal: c.signal },
      );
      if (c.signal.aborted) return;
      setHits((h) => (before ? [...h, ...r.results] : r.results));
      setCursor(r.has_more ? (r.next_cursor ?? null) : null);
      setDone(true);
    } catch (e) {
      if ((e as Error)?.name !== 'AbortError') setError(e);
    } finally {
      if (ctl.current === c) setBusy(false);
    }
  }

  useEffect(() => {
    const text = q.trim();
    if (!text) {
      ctl.current?.abort();
      setHits([]);
      setCursor(null);
      setDone(false);
      setBusy(false);
      return;
    }
    const timer = setTimeout(() => void fetchPage(null), DEBOUNCE_MS);
    return () => clearTimeout(timer);
  }, [q, scope]);
  useEffect(() => () => ctl.current?.abort(), []);

  return (
    <div class="search-panel">
      <div class="search-bar" role="search">
        <label class="visually-hidden" for="search-input">
          {t('chat.search.label')}
        </label>
        <input
          id="search-input"
          ref={input}
          type="search"
          data-testid="search-input"
          placeholder={t('chat.search.placeholder')}
          maxLength={256}
          value={q}
          onInput={(e) => setQ((e.target as HTMLInputElement).value)}
          onKeyDown={(e) => e.key === 'Escape' && p.onClose()}
        />
        <button type="button" class="icon" aria-label={t('chat.search.close')} onClick={p.onClose}>
          ✕
        </button>
      </div>
      {p.convId && (
        <label class="search-scope">
          <input type="checkbox" checked={here} onChange={(e) => setHere((e.target as HTMLInputElement).checked)} />
          {t('chat.search.here')}
        </label>
      )}
      <p class="visually-hidden" role="status">
        {busy ? t('chat.search.searching') : done ? t('chat.search.found', { count: hits.length }) : ''}
      </p>
      <ErrorText error={error} />
      <ul class="search-results" aria-label={t('chat.search.results')}>
        {hits.map((h) => (
          <SearchResult key={h.message.message_id} hit={h} />
        ))}
      </ul>
      {done && !busy && hits.length === 0 && !error && <p class="conv-empty muted">{t('chat.search.none')}</p>}
      {busy && <p class="conv-empty muted">{t('chat.search.searching')}</p>}
      {cursor && !busy && (
        <button type="button" class="search-more" onClick={() => void fetchPage(cursor)}>
          {t('chat.search.more')}
        </button>
      )}
    </div>
  );
}

function senderName(id: Id): string {
  if (id === session.value?.userId) return t('chat.you');
  const u = users.value.get(id);
  return u?.display_name || u?.username || t('chat.unknownUser');
}

function SearchResult(p: { hit: Hit }) {
  const m = p.hit.message;
  const c = conversations.value.get(m.conversation);
  const where = c ? convName(c) : t('chat.unknownConv');
  const label = m.kind === 'text' ? '' : kindLabel(m);
  return (
    <li>
      <a
        class="search-result"
        href={'/chats/' + m.conversation}
        data-testid="search-result"
        data-conv-id={m.conversation}
        data-message-id={m.message_id}
        onClick={(e) => {
          e.preventDefault();
          navigate('/chats/' + m.conversation);
        }}
      >
        <span class="conv-top">
          <span class="conv-name">{where}</span>
          <time class="conv-time" dateTime={new Date(m.created_at).toISOString()}>
            {timeLabel(m.created_at)}
          </time>
        </span>
        <span class="search-sender muted">
          {senderName(m.sender)}
          {label && ' · ' + label}
        </span>
        <span class="search-snippet">
          {splitHighlights(p.hit.snippet || m.text, p.hit.highlights).map((part, i) =>
            part.hit ? <mark key={i}>{part.text}</mark> : <span key={i}>{part.text}</span>,
          )}
        </span>
      </a>
    </li>
  );
}
