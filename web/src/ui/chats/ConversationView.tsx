// One conversation: its header (who, presence or typing, info), its messages
// and the composer. Reply and edit are chosen on a message and carried out by
// the composer, so they live here, between the two.
import { useEffect, useMemo, useState } from 'preact/hooks';
import type { Id, Profile } from '../../lib/types';
import { get } from '../../lib/http';
import { session } from '../../lib/session';
import { conversations, presence, typing, type LocalMessage } from '../../state/chat';
import { worldId } from '../../state/groups';
import { lang, t } from '../../i18n';
import { Avatar } from '../media/Avatar';
import { GroupPanel } from '../groups/GroupPanel';
import { ProfileDialog } from '../people/ProfileDialog';
import { ForwardDialog } from './ForwardDialog';
import { MessageList } from './MessageList';
import { Composer } from './Composer';
import { senderName, type BubbleActions } from './MessageBubble';
import { relativeParts } from './convLogic';
import './conv.css';
import { Icon } from './convIcons';

export function ConversationView(p: { convId: string; onBack?: () => void }) {
  const entry = conversations.value.get(p.convId);
  // Until the conversation list has it, a conversation's kind is unknown: it
  // is shown like a direct one (no sender names) and nothing group-only runs.
  const kind = entry?.kind ?? (worldId.value === p.convId ? 'world' : 'unknown');
  const [reply, setReply] = useState<LocalMessage | null>(null);
  const [editing, setEditing] = useState<LocalMessage | null>(null);
  const [profile, setProfile] = useState<Id | null>(null);
  const [panel, setPanel] = useState(false);
  const [forwarding, setForwarding] = useState<Id[] | null>(null);
  const [sent, setSent] = useState(0);

  useEffect(() => {
    setReply(null);
    setEditing(null);
  }, [p.convId]);

  // Stable, so that the rows (which compare their props) do not re-render.
  const actions = useMemo<BubbleActions>(
    () => ({
      convId: p.convId,
      reply: (m) => {
        setEditing(null);
        setReply(m);
      },
      edit: (m) => {
        setReply(null);
        setEditing(m);
      },
      forward: (m) => setForwarding([m.message_id]),
      profile: (id) => !session.value?.guest && setProfile(id),
    }),
    [p.convId],
  );

  const title =
    kind === 'world' ? t('conv.world') : kind === 'direct' ? entry?.peer?.display_name ?? '' : entry?.title ?? '';

  return (
    <section class="conv" aria-label={title || t('conv.conversation')}>
      {/* The world room's screen has a header of its own (topic, guests, slow mode). */}
      {kind !== 'world' && (
        <header class="conv-head">
          {p.onBack && (
            <button type="button" class="icon conv-back" aria-label={t('conv.back')} onClick={p.onBack}>
              <Icon name="back" />
            </button>
          )}
          <Avatar name={title || '?'} fileId={entry?.peer?.avatar_file_id ?? entry?.avatar_file_id} size={36} />
          <div class="conv-head-text">
            <h2 data-testid="conv-title">{title}</h2>
            <Subtitle convId={p.convId} kind={kind} peer={entry?.peer} />
          </div>
          {(kind === 'direct' || kind === 'group') && !session.value?.guest && (
            <button
              type="button"
              class="icon"
              data-testid="conv-info"
              aria-label={t('conv.info')}
              onClick={() => (kind === 'direct' && entry?.peer ? setProfile(entry.peer.user_id) : setPanel(true))}
            >
              <Icon name="info" />
            </button>
          )}
        </header>
      )}
      <MessageList key={p.convId} convId={p.convId} kind={kind} actions={actions} scrollToEndSignal={sent} />
      <Composer
        key={p.convId}
        convId={p.convId}
        kind={kind}
        peer={entry?.peer}
        reply={reply}
        editing={editing}
        onCancelReply={() => setReply(null)}
        onEdit={setEditing}
        onSent={() => setSent((n) => n + 1)}
      />
      {profile && <ProfileDialog userId={profile} onClose={() => setProfile(null)} />}
      {panel && <GroupPanel convId={p.convId} onClose={() => setPanel(false)} />}
      {forwarding && <ForwardDialog fromConv={p.convId} messageIds={forwarding} onClose={() => setForwarding(null)} />}
    </section>
  );
}

/** Who is typing; else the peer's presence; else nothing. */
function Subtitle(p: { convId: Id; kind: string; peer?: Profile }) {
  const typers = useTypers(p.convId);
  const pres = usePresence(p.kind === 'direct' ? p.peer?.user_id : undefined);
  if (typers.length)
    return (
      <p class="conv-sub typing" data-testid="typing-indicator" aria-live="polite">
        {typers.length === 1
          ? t('conv.typingOne', { name: senderName(typers[0]) })
          : t('conv.typingMany', { count: typers.length })}
      </p>
    );
  if (!pres) return <p class="conv-sub" aria-live="polite" />;
  return (
    <p class="conv-sub muted" aria-live="polite">
      {pres.online
        ? t('conv.online')
        : pres.last_seen_at
          ? t('conv.lastSeen', { when: relative(pres.last_seen_at) })
          : t('conv.offline')}
    </p>
  );
}

/** The users typing here now (the map holds until-times; a timer re-renders
 * when the first of them runs out). */
function useTypers(conv: Id): Id[] {
  const [, tick] = useState(0);
  const me = session.value?.userId;
  const now = Date.now();
  const map = typing.value.get(conv);
  const ids: Id[] = [];
  let next = Infinity;
  for (const [id, until] of map ?? []) {
    if (id === me || until <= now) continue;
    ids.push(id);
    next = Math.min(next, until);
  }
  useEffect(() => {
    if (next === Infinity) return;
    const id = setTimeout(() => tick((n) => n + 1), next - Date.now() + 50);
    return () => clearTimeout(id);
  }, [next]);
  return ids;
}

/** The peer's presence: the live one when events brought it, else asked once. */
function usePresence(user?: Id) {
  const live = user ? presence.value.get(user) : undefined;
  const [asked, setAsked] = useState<{ online: boolean; last_seen_at: number | null } | null>(null);
  useEffect(() => {
    setAsked(null);
    if (!user || live || session.value?.guest) return;
    let on = true;
    get('/v1/users/' + user + '/presence').then((r) => on && setAsked(r), () => {});
    return () => {
      on = false;
    };
  }, [user]);
  return live ?? asked;
}

/** "3 min ago"-style time, in the current language. */
function relative(ms: number): string {
  const [v, unit] = relativeParts(ms, Date.now());
  return new Intl.RelativeTimeFormat(lang.value === 'zh' ? 'zh-CN' : 'en', { numeric: 'auto' }).format(v, unit);
}
