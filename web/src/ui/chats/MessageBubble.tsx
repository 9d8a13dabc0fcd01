// One message: own or someone else's, with sender, quote, forward label,
// content, text (links and mentions, never as HTML), reactions, time, pin,
// edit mark and, for our own, the delivery state. Its actions menu opens from
// a button (keyboard), a right click or a long press.
import { useEffect, useRef, useState } from 'preact/hooks';
import type { Id } from '../../lib/types';
import { get } from '../../lib/http';
import { me, session } from '../../lib/session';
import { deleteMessage, discardMessage, pin, rememberUser, retryMessage, unpin, users, type LocalMessage } from '../../state/chat';
import { fmtTime, t } from '../../i18n';
import { MessageContent } from '../media/MessageContent';
import { Avatar } from '../media/Avatar';
import { richText, stateIcon, stateLabelKey } from './convLogic';
import { Reactions, EmojiPicker } from './Reactions';
import { Icon } from './convIcons';

/** What a bubble asks of the conversation view. */
export interface BubbleActions {
  convId: Id;
  reply: (m: LocalMessage) => void;
  edit: (m: LocalMessage) => void;
  forward: (m: LocalMessage) => void;
  profile: (userId: Id) => void;
  /** Brings a loaded message into view (the list fills it in). */
  jump?: (messageId: Id) => void;
}

const asked = new Set<Id>();
/** A user's profile, asked of the server once when not known yet (guests
 * may not ask: they see the fallback name). */
export function useUser(id: Id | undefined) {
  const u = id ? users.value.get(id) : undefined;
  useEffect(() => {
    if (!id || u || asked.has(id) || session.value?.guest) return;
    asked.add(id);
    get('/v1/users/' + id).then(rememberUser, () => {});
  }, [id, !!u]);
  return u;
}

export function senderName(id: Id): string {
  const u = users.value.get(id);
  return u?.display_name || u?.username || t('conv.someone');
}

const EDITABLE = new Set(['text', 'image', 'file', 'voice', 'video']);

export function MessageBubble(p: { m: LocalMessage; first: boolean; kind: string; actions: BubbleActions }) {
  const m = p.m;
  const mine = m.sender === session.value?.userId;
  const sender = useUser(m.sender);
  const [menu, setMenu] = useState<{ x: number; y: number } | null>(null);
  const [picker, setPicker] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const longPress = useRef<ReturnType<typeof setTimeout> | null>(null);

  if (m.kind === 'system')
    return (
      <div class="msg-system" data-testid="message" data-message-id={m.message_id} data-seq={m.seq}>
        <span>{m.text}</span>
      </div>
    );

  const many = p.kind === 'group' || p.kind === 'world';
  const showSender = many && !mine && p.first;
  const name = sender?.display_name || sender?.username || t('conv.someone');
  const openMenu = (x: number, y: number) => !m.deleted && m.seq > 0 && setMenu({ x, y });
  const onContext = (e: MouseEvent) => {
    e.preventDefault();
    openMenu(e.clientX, e.clientY);
  };
  const onTouchStart = (e: TouchEvent) => {
    const t0 = e.touches[0];
    longPress.current = setTimeout(() => openMenu(t0.clientX, t0.clientY), 500);
  };
  const cancelLong = () => longPress.current && clearTimeout(longPress.current);

  return (
    <article
      class={'msg' + (mine ? ' mine' : '') + (p.first ? ' first' : '')}
      data-testid="message"
      data-message-id={m.message_id}
      data-seq={m.seq}
      data-mine={mine ? 'true' : 'false'}
      data-state={mine ? m.state ?? 'sent' : undefined}
      aria-label={t('conv.messageFrom', { name: mine ? t('conv.you') : name, time: fmtTime(m.created_at) })}
      onContextMenu={onContext}
      onTouchStart={onTouchStart}
      onTouchEnd={cancelLong}
      onTouchMove={cancelLong}
    >
      {many && !mine && (
        <div class="msg-avatar">
          {/* A pointer shortcut only: the sender's name beside it is the
              button that keyboards and screen readers use. */}
          {p.first && (
            <div class="msg-avatar-click" aria-hidden="true" onClick={() => p.actions.profile(m.sender)}>
              <Avatar name={name} fileId={sender?.avatar_file_id} size={32} />
            </div>
          )}
        </div>
      )}
      <div class="bubble">
        {showSender && (
          <button type="button" class="msg-sender" onClick={() => p.actions.profile(m.sender)}>
            {name}
            {m.sender_guest && <span class="muted"> · {t('conv.guest')}</span>}
          </button>
        )}
        {m.deleted ? (
          <p class="msg-tombstone muted" data-testid="message-text">
            {t('conv.deleted')}
          </p>
        ) : (
          <Body m={m} jump={p.actions.jump} />
        )}
        <Footer m={m} mine={mine} />
        {!m.deleted && m.reactions?.length ? <Reactions convId={p.actions.convId} m={m} onError={setError} /> : null}
        {picker && (
          <EmojiPicker
            convId={p.actions.convId}
            m={m}
            onError={setError}
            onClose={() => setPicker(false)}
          />
        )}
        {error && (
          <p class="error msg-error" role="alert">
            {error}
          </p>
        )}
      </div>
      {!m.deleted && m.seq > 0 && (
        <button
          type="button"
          class="icon msg-actions-btn"
          data-testid="msg-actions"
          aria-haspopup="menu"
          aria-expanded={!!menu}
          aria-label={t('conv.actions')}
          onClick={(e) => {
            const r = (e.currentTarget as HTMLElement).getBoundingClientRect();
            setMenu(menu ? null : { x: r.left, y: r.bottom });
          }}
        >
          <Icon name="more" />
        </button>
      )}
      {menu && (
        <ActionsMenu
          at={menu}
          m={m}
          mine={mine}
          kind={p.kind}
          actions={p.actions}
          onReact={() => setPicker(true)}
          onError={setError}
          onClose={() => setMenu(null)}
        />
      )}
    </article>
  );
}

function Body(p: { m: LocalMessage; jump?: (id: Id) => void }) {
  const m = p.m;
  useUser(m.forwarded_from?.sender);
  useUser(m.reply_to?.sender);
  const highlight = !!(m.mentions?.length || m.mention_all);
  return (
    <>
      {m.forwarded_from && (
        <p class="msg-forwarded muted">{t('conv.forwardedFrom', { name: senderName(m.forwarded_from.sender) })}</p>
      )}
      {m.reply_to && <Quote q={m.reply_to} jump={p.jump} />}
      {m.kind !== 'text' && <MessageContent message={m} />}
      {m.text && (
        <p class="msg-text" data-testid="message-text" dir="auto">
          {richText(m.text, highlight).map((piece, i) =>
            piece.href ? (
              <a key={i} href={piece.href} target="_blank" rel="noopener noreferrer">
                {piece.text}
              </a>
            ) : piece.mention ? (
              <mark key={i} class="mention">
                {piece.text}
              </mark>
            ) : (
              piece.text
            ),
          )}
        </p>
      )}
    </>
  );
}

function Quote(p: { q: NonNullable<LocalMessage['reply_to']>; jump?: (id: Id) => void }) {
  if (p.q.deleted) return <blockquote class="msg-quote muted">{t('conv.quoteDeleted')}</blockquote>;
  const text = p.q.text || (p.q.kind && p.q.kind !== 'text' ? t('conv.kind.' + p.q.kind) : '');
  return (
    <button type="button" class="msg-quote" title={t('conv.showQuoted')} onClick={() => p.jump?.(p.q.message_id)}>
      <strong>{p.q.sender ? senderName(p.q.sender) : ''}</strong>
      <span dir="auto">{text}</span>
    </button>
  );
}

function Footer(p: { m: LocalMessage; mine: boolean }) {
  const m = p.m;
  const st = m.state ?? 'sent';
  // The server's reason for a refused message (dissolved, privacy_restricted...).
  const failure = m.error;
  return (
    <div class="msg-meta">
      {m.pinned_at ? <span title={t('conv.pinned')} aria-label={t('conv.pinned')}>📌</span> : null}
      {m.edited_at && !m.deleted ? <span class="muted">{t('conv.edited')}</span> : null}
      <time class="muted" dateTime={new Date(m.created_at).toISOString()}>
        {fmtTime(m.created_at)}
      </time>
      {p.mine && (
        <span class={'msg-state ' + st} data-state={st} role="img" aria-label={t(stateLabelKey(st))} title={t(stateLabelKey(st))}>
          <Icon name={stateIcon(st)} />
        </span>
      )}
      {p.mine && st === 'failed' && failure && (
        <span class="error msg-failure" role="alert">
          {failure}
        </span>
      )}
      {p.mine && st === 'failed' && (
        <button type="button" class="msg-retry" data-testid="msg-retry" onClick={() => retryMessage(m.conversation, m.message_id)}>
          {t('common.retry')}
        </button>
      )}
      {p.mine && st === 'failed' && (
        <button type="button" class="msg-retry" data-testid="msg-discard" onClick={() => discardMessage(m.conversation, m.message_id)}>
          {t('conv.discard')}
        </button>
      )}
    </div>
  );
}

/** The menu of a message: a list of buttons placed where it was asked for,
 * kept inside the window; arrow keys move, Escape closes, focus returns. */
function ActionsMenu(p: {
  at: { x: number; y: number };
  m: LocalMessage;
  mine: boolean;
  kind: string;
  actions: BubbleActions;
  onReact: () => void;
  onError: (e: string | null) => void;
  onClose: () => void;
}) {
  const ref = useRef<HTMLDivElement>(null);
  const [pos, setPos] = useState({ left: p.at.x, top: p.at.y });
  useEffect(() => {
    const el = ref.current!;
    const r = el.getBoundingClientRect();
    setPos({
      left: Math.max(4, Math.min(p.at.x, window.innerWidth - r.width - 4)),
      top: Math.max(4, Math.min(p.at.y, window.innerHeight - r.height - 4)),
    });
    const back = document.activeElement as HTMLElement | null;
    el.querySelector<HTMLElement>('button')?.focus();
    const away = (e: Event) => !el.contains(e.target as Node) && p.onClose();
    document.addEventListener('pointerdown', away, true);
    return () => {
      document.removeEventListener('pointerdown', away, true);
      if (back?.isConnected) back.focus();
    };
  }, []);
  const m = p.m;
  const run = (fn: () => void | Promise<void>) => async () => {
    p.onClose();
    p.onError(null);
    try {
      await fn();
    } catch (e) {
      p.onError((e as Error).message);
    }
  };
  const onKey = (e: KeyboardEvent) => {
    const items = [...ref.current!.querySelectorAll<HTMLElement>('button')];
    const i = items.indexOf(document.activeElement as HTMLElement);
    if (e.key === 'Escape' || e.key === 'Tab') {
      e.preventDefault();
      p.onClose();
    } else if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      const n = items.length;
      items[(i + (e.key === 'ArrowDown' ? 1 : n - 1)) % n]?.focus();
    }
  };
  const canEdit = p.mine && EDITABLE.has(m.kind);
  // Moderators may remove anything in the world room; in a group the server
  // decides (owner and admins), and its answer is shown.
  const canRecall = p.mine || p.kind === 'group' || (p.kind === 'world' && !!me.value?.admin);
  // Pins: both members of a direct chat, a group's members as its settings
  // allow (the server answers), the world's moderators; never guests.
  const canPin = !session.value?.guest && (p.kind === 'direct' || p.kind === 'group' || (p.kind === 'world' && !!me.value?.admin));
  const item = (testid: string, label: string, fn: () => void | Promise<void>) => (
    <button type="button" role="menuitem" data-testid={testid} onClick={run(fn)}>
      {label}
    </button>
  );
  return (
    <div ref={ref} class="msg-menu" role="menu" aria-label={t('conv.actions')} style={{ left: pos.left + 'px', top: pos.top + 'px' }} onKeyDown={onKey}>
      {item('msg-reply', t('conv.reply'), () => p.actions.reply(m))}
      {item('msg-react', t('conv.react'), p.onReact)}
      {canEdit && item('msg-edit', t('conv.edit'), () => p.actions.edit(m))}
      {m.text && item('msg-copy', t('conv.copy'), () => navigator.clipboard?.writeText(m.text))}
      {!session.value?.guest && item('msg-forward', t('conv.forward'), () => p.actions.forward(m))}
      {canPin &&
        (m.pinned_at
          ? item('msg-unpin', t('conv.unpin'), () => unpin(m.conversation, m.message_id))
          : item('msg-pin', t('conv.pin'), () => pin(m.conversation, m.message_id)))}
      {item('msg-delete', t('conv.deleteForMe'), () => deleteMessage(m.conversation, m.message_id, 'me'))}
      {canRecall && item('msg-delete-everyone', t('conv.deleteForEveryone'), () => deleteMessage(m.conversation, m.message_id, 'everyone'))}
    </div>
  );
}
