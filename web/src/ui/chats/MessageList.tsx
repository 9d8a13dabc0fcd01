// The messages of a conversation, virtualised: only the rows in view are in
// the DOM. Older pages load as the top comes near, without moving what the
// reader looks at; new messages keep the view at the bottom when it was
// there, else a "new messages" button appears. Read receipts follow what is
// actually seen (the newest visible message, while the window has focus).
import { Component } from 'preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { Id } from '../../lib/types';
import { useVirtualizer } from '../../lib/virtual';
import { wsStatus } from '../../lib/ws';
import { hasOlder, loadOlder, markRead, messagesOf, openConversation } from '../../state/chat';
import { fmtDay, t } from '../../i18n';
import { buildRows, estimateRowHeight, newestSeq, type Row } from './convLogic';
import { MessageBubble, type BubbleActions } from './MessageBubble';
import './conv.css';

/** How near the top (in rows) the next page of history is asked for. */
const PRELOAD_ROWS = 10;
/** Within this many pixels of the bottom counts as "at the bottom". */
const END_SLACK = 48;

export function MessageList(p: { convId: Id; kind: string; actions: BubbleActions; scrollToEndSignal: number }) {
  const messages = messagesOf(p.convId).value;
  const older = hasOlder(p.convId).value;
  const rows = useMemo(() => buildRows(messages), [messages]);
  const scroller = useRef<HTMLDivElement>(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<unknown>(null);

  const v = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scroller.current,
    estimateSize: (i) => estimateRowHeight(rows[i], scroller.current?.clientWidth),
    getItemKey: (i) => rows[i]?.key ?? i,
    overscan: 8,
    anchorTo: 'end',
    followOnAppend: true,
    scrollEndThreshold: END_SLACK,
  });
  const items = v.getVirtualItems();
  const atEnd = v.isAtEnd(END_SLACK);

  // The list shrinks when the composer grows (or a phone's keyboard opens):
  // a reader at the bottom stays there.
  const atEndRef = useRef(atEnd);
  atEndRef.current = atEnd;
  useEffect(() => {
    const el = scroller.current;
    if (!el || typeof ResizeObserver === 'undefined') return;
    let height = el.clientHeight;
    const ro = new ResizeObserver(() => {
      if (el.clientHeight !== height && atEndRef.current) v.scrollToEnd();
      height = el.clientHeight;
    });
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  // First page, then the bottom of it; history pages are asked for only once
  // the view has settled there (the list is keyed by conversation).
  const [ready, setReady] = useState(false);
  const online = wsStatus.value === 'online';
  useEffect(() => {
    if (!online) return;
    setError(null);
    openConversation(p.convId).catch(setError);
  }, [online]);
  useEffect(() => {
    if (rows.length === 0 || ready) return;
    v.scrollToEnd();
    // Once more when the rows in view have been measured.
    const id = requestAnimationFrame(() =>
      requestAnimationFrame(() => {
        v.scrollToEnd();
        setReady(true);
      }),
    );
    return () => cancelAnimationFrame(id);
  }, [rows.length > 0]);
  // The composer sent something: show it.
  useEffect(() => {
    if (p.scrollToEndSignal) v.scrollToEnd();
  }, [p.scrollToEndSignal]);

  // The next page of history when the top comes near (not again after a
  // failure until the connection comes back: no loop while offline).
  const first = items[0]?.index ?? 0;
  useEffect(() => {
    if (loading || error || !older || !ready || first > PRELOAD_ROWS) return;
    setLoading(true);
    loadOlder(p.convId)
      .catch(setError)
      .finally(() => setLoading(false));
  }, [first, older, loading, ready, error]);

  // "New messages" appear when the newest message changes while the reader
  // is up in the history; they go once the bottom is reached.
  const lastKey = rows.length ? rows[rows.length - 1].key : '';
  const [unseen, setUnseen] = useState(false);
  const prevLast = useRef(lastKey);
  useEffect(() => {
    if (lastKey !== prevLast.current && prevLast.current && !atEnd) setUnseen(true);
    prevLast.current = lastKey;
  }, [lastKey]);
  useEffect(() => {
    if (atEnd) setUnseen(false);
  }, [atEnd]);

  useMarkRead(p.convId, rows, v);

  // A click on a quote brings the quoted message into view when it is loaded.
  const rowsRef = useRef(rows);
  rowsRef.current = rows;
  const actions = useMemo<BubbleActions>(
    () => ({
      ...p.actions,
      jump: (id: Id) => {
        const i = rowsRef.current.findIndex((r) => r.type === 'msg' && r.m.message_id === id);
        if (i >= 0) v.scrollToIndex(i, { align: 'center' });
      },
    }),
    [p.actions],
  );

  return (
    <div class="msg-list-wrap">
      <div
        ref={scroller}
        class="msg-scroll"
        data-testid="message-list"
        role="log"
        aria-live="polite"
        aria-busy={loading || v.isScrolling}
        aria-label={t('conv.messages')}
        tabIndex={0}
      >
        <div class="msg-sizer" style={{ height: v.getTotalSize() + 'px' }}>
          {items.map((it) => (
            <div
              key={it.key}
              data-index={it.index}
              ref={v.measureElement}
              class="msg-row"
              style={{ top: it.start + 'px' }}
            >
              <RowView row={rows[it.index]} kind={p.kind} actions={actions} />
            </div>
          ))}
        </div>
      </div>
      {loading && (
        <p class="conv-loading muted">
          <span>{t('conv.loadingOlder')}</span>
        </p>
      )}
      {!older && messages.length === 0 && !loading && <p class="conv-empty muted">{t('conv.empty')}</p>}
      {error ? (
        <p class="error conv-list-error" role="alert">
          {t('conv.loadFailed', { message: (error as Error).message ?? String(error) })}
        </p>
      ) : null}
      {unseen && !atEnd && (
        <button type="button" class="new-below primary" data-testid="new-messages" onClick={() => v.scrollToEnd({ behavior: 'smooth' })}>
          {t('conv.newBelow')}
        </button>
      )}
    </div>
  );
}

type RowProps = { row: Row | undefined; kind: string; actions: BubbleActions };

/** A row re-renders only when its own props change, not on every scroll
 * frame of the list (the list re-renders as the range moves). Messages are
 * replaced, never mutated, so comparing references is enough. */
class RowView extends Component<RowProps> {
  shouldComponentUpdate(next: RowProps) {
    return next.row !== this.props.row || next.kind !== this.props.kind || next.actions !== this.props.actions;
  }
  render() {
    return <RowBody {...this.props} />;
  }
}

function RowBody(p: RowProps) {
  const r = p.row;
  if (!r) return null;
  if (r.type === 'day')
    return (
      <div class="day-separator" data-testid="day-separator">
        <span>{fmtDay(r.day)}</span>
      </div>
    );
  return <MessageBubble m={r.m} first={r.first} kind={p.kind} actions={p.actions} />;
}

/** Marks read up to the newest message fully in view, whenever it changes
 * and the page is visible and focused (a background tab reads nothing). */
function useMarkRead(conv: Id, rows: Row[], v: ReturnType<typeof useVirtualizer>) {
  const [focused, setFocused] = useState(() => typeof document !== 'undefined' && document.hasFocus());
  useEffect(() => {
    const on = () => setFocused(document.visibilityState === 'visible' && document.hasFocus());
    window.addEventListener('focus', on);
    window.addEventListener('blur', on);
    document.addEventListener('visibilitychange', on);
    return () => {
      window.removeEventListener('focus', on);
      window.removeEventListener('blur', on);
      document.removeEventListener('visibilitychange', on);
    };
  }, []);
  const offset = v.scrollOffset ?? 0;
  const height = v.scrollRect?.height ?? 0;
  let firstVisible = -1;
  let lastVisible = -1;
  for (const it of v.getVirtualItems()) {
    if (it.end <= offset || it.end > offset + height + 1) continue;
    if (firstVisible < 0) firstVisible = it.index;
    lastVisible = it.index;
  }
  const seq = firstVisible < 0 ? 0 : newestSeq(rows, firstVisible, lastVisible);
  useEffect(() => {
    if (!focused || seq <= 0) return;
    // A short pause so that scrolling fast through history does not send a
    // read for every row that flies by.
    const timer = setTimeout(() => void markRead(conv, seq).catch(() => {}), 300);
    return () => clearTimeout(timer);
  }, [conv, seq, focused]);
}
