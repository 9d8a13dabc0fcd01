// The conversation list: virtualised (only the rows in view, plus a few, are
// in the DOM, so a thousand conversations paint as fast as ten), one link per
// row with a roving tabindex (arrow keys move, Enter opens), and a menu per
// row for pin, mute and archive.
import { useEffect, useLayoutEffect, useReducer, useRef, useState } from 'preact/hooks';
import { useVirtualizer } from '../../lib/virtual';
import { navigate } from '../../router';
import { session } from '../../lib/session';
import type { ConversationEntry, Id } from '../../lib/types';
import { conversations, users, typing, presence, updateSettings } from '../../state/chat';
import { t } from '../../i18n';
import { Avatar } from '../media/Avatar';
import { MoreIcon, MutedIcon, PinIcon } from './icons';
import { Modal } from '../common/Modal';
import { ErrorText } from '../common/ErrorText';
import {
  convName,
  previewText,
  timeLabel,
  isMuted,
  muteUntil,
  typingNames,
  typingLabel,
  unreadBadge,
  type MuteChoice,
} from './listLogic';

/** Every row has the same height: no measuring, exact scroll positions. */
const ROW = 72;

/** A virtualiser over a scroll container of fixed-height rows. */
function useVirtualRows(count: number, scrollRef: { current: HTMLElement | null }) {
  return useVirtualizer({
    count,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW,
    overscan: 6,
    // Rows show on the first paint, before the container has been measured.
    initialRect: { width: 320, height: typeof innerHeight === 'number' ? innerHeight : 800 },
  });
}

export function ConversationList(p: { list: ConversationEntry[]; selected?: Id; emptyText: string }) {
  const scrollRef = useRef<HTMLDivElement>(null);
  const v = useVirtualRows(p.list.length, scrollRef);
  const [focusIdx, setFocusIdx] = useState(0);
  const [menuFor, setMenuFor] = useState<ConversationEntry | null>(null);
  // Focus is wanted on a row that may not be rendered yet (after a scroll).
  const pendingFocus = useRef<number | null>(null);

  const selIdx = p.selected ? p.list.findIndex((c) => c.conversation_id === p.selected) : -1;
  // The row reached with Tab is the open conversation, else the one last focused.
  const tabIdx = Math.min(focusIdx, Math.max(0, p.list.length - 1));
  useEffect(() => {
    if (selIdx >= 0) setFocusIdx(selIdx);
  }, [selIdx]);
  // Opened from elsewhere (a link, a search result): bring its row into view,
  // once; a new message moving it to the top must not scroll the list.
  useEffect(() => {
    if (selIdx >= 0) v.scrollToIndex(selIdx, { align: 'auto' });
  }, [p.selected, selIdx < 0]);

  useLayoutEffect(() => {
    const i = pendingFocus.current;
    if (i === null) return;
    const el = scrollRef.current?.querySelector<HTMLElement>(`[data-index="${i}"] a`);
    if (el) {
      el.focus();
      pendingFocus.current = null;
    }
  });

  function moveTo(i: number) {
    const n = Math.max(0, Math.min(p.list.length - 1, i));
    setFocusIdx(n);
    pendingFocus.current = n;
    v.scrollToIndex(n, { align: 'auto' });
  }

  function onKeyDown(e: KeyboardEvent) {
    const page = Math.max(1, Math.floor((scrollRef.current?.clientHeight ?? ROW) / ROW) - 1);
    const keys: Record<string, number> = {
      ArrowDown: focusIdx + 1,
      ArrowUp: focusIdx - 1,
      Home: 0,
      End: p.list.length - 1,
      PageDown: focusIdx + page,
      PageUp: focusIdx - page,
    };
    if (!(e.key in keys) || !(e.target as HTMLElement).matches('a.conv-link')) return;
    e.preventDefault();
    moveTo(keys[e.key]);
  }

  if (p.list.length === 0) return <p class="conv-empty muted">{p.emptyText}</p>;
  const items = v.getVirtualItems();
  // Tab must always reach the list: when the remembered row has scrolled out
  // of the DOM, the first row in view takes its place.
  const tabbable = items.some((it) => it.index === tabIdx) ? tabIdx : (v.range?.startIndex ?? items[0]?.index ?? 0);
  return (
    <div class="conv-scroll" ref={scrollRef} data-testid="conv-list" onKeyDown={onKeyDown}>
      <ul class="conv-rows" role="list" aria-label={t('chat.list')} style={{ height: v.getTotalSize() + 'px' }}>
        {items.map((it) => {
          const c = p.list[it.index];
          return (
            <ConvRow
              key={c.conversation_id}
              c={c}
              index={it.index}
              size={p.list.length}
              top={it.start}
              selected={c.conversation_id === p.selected}
              tabbable={it.index === tabbable}
              onFocus={() => setFocusIdx(it.index)}
              onMenu={() => setMenuFor(c)}
            />
          );
        })}
      </ul>
      {menuFor && <RowMenu c={menuFor} onClose={() => setMenuFor(null)} />}
    </div>
  );
}

function ConvRow(p: {
  c: ConversationEntry;
  index: number;
  size: number;
  top: number;
  selected: boolean;
  tabbable: boolean;
  onFocus: () => void;
  onMenu: () => void;
}) {
  const { c } = p;
  const meId = session.value?.userId;
  const name = convName(c);
  const typers = typing.value.get(c.conversation_id);
  const who = typingNames(typers, meId, users.value);
  const typingLine = typingLabel(c.kind, who);
  useExpiry(typingLine ? typers : undefined);
  const online = c.kind === 'direct' && c.peer ? presence.value.get(c.peer.user_id)?.online === true : undefined;
  const muted = isMuted(c.settings);
  const pinned = c.settings?.pinned === true;
  const time = timeLabel(c.last_message?.created_at ?? c.active_at);
  const href = '/chats/' + c.conversation_id;
  const avatarId = c.kind === 'direct' ? c.peer?.avatar_file_id : c.avatar_file_id;
  return (
    <li
      class={p.selected ? 'conv-row selected' : 'conv-row'}
      data-index={p.index}
      aria-setsize={p.size}
      aria-posinset={p.index + 1}
      style={{ transform: `translateY(${p.top}px)` }}
      onContextMenu={(e) => {
        e.preventDefault();
        p.onMenu();
      }}
    >
      <a
        class="conv-link"
        href={href}
        data-testid="conv-item"
        data-conv-id={c.conversation_id}
        aria-current={p.selected ? 'page' : undefined}
        tabIndex={p.tabbable ? 0 : -1}
        onFocus={p.onFocus}
        onClick={(e) => {
          e.preventDefault();
          navigate(href);
        }}
      >
        <Avatar name={name} fileId={avatarId} online={online} />
        <span class="conv-main">
          <span class="conv-top">
            <span class="conv-name" data-testid="conv-name">
              {name}
            </span>
            {pinned && (
              <span class="conv-icon" title={t('chat.pinned')}>
                <PinIcon />
                <span class="visually-hidden">{t('chat.pinned')}</span>
              </span>
            )}
            {muted && (
              <span class="conv-icon" title={t('chat.muted')}>
                <MutedIcon />
                <span class="visually-hidden">{t('chat.muted')}</span>
              </span>
            )}
            <span class="conv-time">{time}</span>
          </span>
          <span class="conv-bottom">
            {typingLine ? (
              <span class="conv-preview conv-typing" data-testid="conv-typing">
                {typingLine}
              </span>
            ) : (
              <span class="conv-preview" data-testid="conv-preview">
                {previewText(c, meId, users.value)}
              </span>
            )}
            <Badge unread={c.unread ?? 0} mentions={c.unread_mentions ?? 0} muted={muted} />
          </span>
        </span>
      </a>
      <button
        type="button"
        class="icon conv-more"
        tabIndex={p.tabbable ? 0 : -1}
        aria-label={t('chat.menu.open', { name })}
        aria-haspopup="dialog"
        onClick={p.onMenu}
      >
        <MoreIcon />
      </button>
    </li>
  );
}

/** Renders again when the soonest typing indicator runs out, so that
 * "typing…" gives way to the preview even when no event follows. */
function useExpiry(until: Map<Id, number> | undefined) {
  const [, tick] = useReducer((n: number) => n + 1, 0);
  useEffect(() => {
    if (!until) return;
    const now = Date.now();
    const next = Math.min(...[...until.values()].filter((u) => u > now));
    if (!Number.isFinite(next)) return;
    const timer = setTimeout(tick, next - now + 50);
    return () => clearTimeout(timer);
  }, [until]);
}

function Badge(p: { unread: number; mentions: number; muted: boolean }) {
  if (p.unread <= 0) return null;
  return (
    <span class={p.muted ? 'conv-unread muted-badge' : 'conv-unread'} data-testid="conv-unread">
      {p.mentions > 0 && (
        <span class="conv-at" aria-hidden="true">
          @
        </span>
      )}
      <span aria-hidden="true">{unreadBadge(p.unread)}</span>
      <span class="visually-hidden">
        {t('chat.unread', { count: p.unread })}
        {p.mentions > 0 ? ', ' + t('chat.mentioned') : ''}
      </span>
    </span>
  );
}

/** The actions of one conversation, in a dialog (opened by the row's ⋯
 * button or a right click). */
function RowMenu(p: { c: ConversationEntry; onClose: () => void }) {
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  // The latest settings: another device may change them while this is open.
  const s = (conversations.value.get(p.c.conversation_id) ?? p.c).settings;
  const world = p.c.kind === 'world';
  async function apply(change: Parameters<typeof updateSettings>[1]) {
    setBusy(true);
    setError(null);
    try {
      await updateSettings(p.c.conversation_id, change);
      p.onClose();
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  }
  const mute = (m: MuteChoice) => () => void apply({ muted_until: muteUntil(m) });
  return (
    <Modal title={convName(p.c)} onClose={p.onClose}>
      {world ? (
        <p class="muted">{t('chat.menu.worldNone')}</p>
      ) : (
        <div class="conv-menu" role="group" aria-label={t('chat.menu.label')}>
          <button type="button" disabled={busy} onClick={() => void apply({ pinned: !s?.pinned })} data-testid="conv-pin">
            {s?.pinned ? t('chat.menu.unpin') : t('chat.menu.pin')}
          </button>
          {isMuted(s) ? (
            <button type="button" disabled={busy} onClick={mute('off')} data-testid="conv-unmute">
              {t('chat.menu.unmute')}
            </button>
          ) : (
            <>
              <button type="button" disabled={busy} onClick={mute('1h')} data-testid="conv-mute-1h">
                {t('chat.menu.mute1h')}
              </button>
              <button type="button" disabled={busy} onClick={mute('8h')} data-testid="conv-mute-8h">
                {t('chat.menu.mute8h')}
              </button>
              <button type="button" disabled={busy} onClick={mute('forever')} data-testid="conv-mute-forever">
                {t('chat.menu.muteForever')}
              </button>
            </>
          )}
          <button type="button" disabled={busy} onClick={() => void apply({ archived: !s?.archived })} data-testid="conv-archive">
            {s?.archived ? t('chat.menu.unarchive') : t('chat.menu.archive')}
          </button>
        </div>
      )}
      <ErrorText error={error} />
    </Modal>
  );
}
