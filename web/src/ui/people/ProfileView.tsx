// A person's profile: who they are, whether they are around, and what we can
// do with them (write, befriend, block). Used by /people/ID and ProfileDialog.
import { useEffect, useState } from 'preact/hooks';
import { Avatar } from '../media/Avatar';
import { ErrorText } from '../common/ErrorText';
import { useAsync } from '../common/hooks';
import { ConfirmDialog } from './ConfirmDialog';
import { displayName } from './UserRow';
import { profileActions, presenceLine, type ProfileAction } from './logic';
import { Ago } from './Ago';
import {
  getProfile,
  getPresence,
  contacts,
  blocks,
  peopleLoaded,
  requestContact,
  acceptContact,
  declineContact,
  cancelContact,
  removeContact,
  blockUser,
  unblockUser,
  type PresenceInfo,
} from '../../state/people';
import { openDirect } from '../../state/chat';
import { session } from '../../lib/session';
import { ws } from '../../lib/ws';
import { navigate } from '../../router';
import { t } from '../../i18n';
import type { Profile } from '../../lib/types';

/** Presence from the route, then kept live by `presence` events. */
function usePresence(userId: string, enabled: boolean): PresenceInfo | undefined {
  const [p, setP] = useState<PresenceInfo>();
  useEffect(() => {
    if (!enabled) return;
    let live = true;
    getPresence(userId).then((r) => live && setP(r), () => {});
    const off = ws.on('presence', (ev) => {
      if (ev.user_id === userId) setP({ online: ev.online, last_seen_at: ev.last_seen_at ?? null });
    });
    return () => {
      live = false;
      off();
    };
  }, [userId, enabled]);
  return p;
}

function PresenceText(p: { info?: PresenceInfo }) {
  if (!p.info) return null;
  const line = presenceLine(p.info, Date.now());
  return (
    <p class="presence muted" data-testid="profile-presence">
      {line.kind === 'online' ? (
        <span class="online-text">{t('people.online')}</span>
      ) : line.kind === 'longAgo' ? (
        t('people.lastSeenLongAgo')
      ) : (
        <>
          {t('people.lastSeen')} <Ago at={line.at} />
        </>
      )}
    </p>
  );
}

/** The relation as we know it now: the contact and block lists follow
 * events, the profile fetched on opening does not. */
function liveRelation(p: Profile): Profile {
  if (!peopleLoaded.value) return p;
  return { ...p, contact: contacts.value.get(p.user_id)?.state ?? 'none', blocked: blocks.value.has(p.user_id) };
}

export function ProfileView(p: { userId: string; onLeave?: () => void }) {
  const prof = useAsync(() => getProfile(p.userId), [p.userId]);
  const self = p.userId === session.value?.userId;
  const user = prof.data && liveRelation(prof.data);
  const presence = usePresence(p.userId, !!user && !user.deleted && !user.guest);

  if (prof.error) return <div data-testid="profile-view" class="profile"><ErrorText error={prof.error} /></div>;
  if (!user) return <p class="muted" data-testid="profile-view">{t('common.loading')}</p>;
  const name = displayName(user);
  return (
    <article class="profile" data-testid="profile-view" data-user-id={user.user_id} aria-labelledby="profile-name">
      <header class="profile-head">
        <Avatar name={name} fileId={user.avatar_file_id} size={96} online={presence?.online} />
        <div>
          <h2 id="profile-name" data-testid="profile-name">{name}</h2>
          {!user.deleted && <p class="muted" data-testid="profile-username">@{user.username}</p>}
          {user.guest && <p class="badge">{t('people.guest')}</p>}
          {user.deleted && <p class="muted">{t('people.deletedHelp')}</p>}
          <PresenceText info={presence} />
        </div>
      </header>
      {user.bio && <p class="bio" data-testid="profile-bio">{user.bio}</p>}
      {self ? (
        <p>
          <a href="/settings/profile" onClick={(e) => { e.preventDefault(); p.onLeave?.(); navigate('/settings/profile'); }}>
            {t('people.editOwn')}
          </a>
        </p>
      ) : (
        <ProfileActions user={user} actions={profileActions(user, self)} onLeave={p.onLeave} />
      )}
    </article>
  );
}

function ProfileActions(p: { user: Profile; actions: ProfileAction[]; onLeave?: () => void }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const [note, setNote] = useState('');
  const [confirmBlock, setConfirmBlock] = useState(false);
  const id = p.user.user_id;
  const has = (a: ProfileAction) => p.actions.includes(a);
  const request = contacts.value.get(id);

  const run = async (fn: () => Promise<unknown>) => {
    setBusy(true);
    setError(undefined);
    try {
      await fn();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const message = () =>
    run(async () => {
      const conv = await openDirect({ user_id: id });
      p.onLeave?.();
      navigate('/chats/' + conv);
    });

  if (p.actions.length === 0) return null;
  const state = p.user.contact ?? 'none';
  return (
    <section class="profile-actions" aria-label={t('people.actions')}>
      {state !== 'none' && <p class="muted" data-testid="contact-state">{t('people.state.' + state)}</p>}
      {state === 'incoming' && request?.message && (
        <blockquote class="request-note" data-testid="request-note">{request.message}</blockquote>
      )}
      {has('request') && (
        <label class="field">
          <span>{t('people.requestMessage')}</span>
          <textarea
            data-testid="friend-request-message"
            maxLength={256}
            rows={2}
            value={note}
            onInput={(e) => setNote(e.currentTarget.value)}
          />
        </label>
      )}
      <div class="row-actions wrap">
        {has('message') && (
          <button type="button" class="primary" data-testid="message-user" disabled={busy} onClick={message}>
            {t('people.message')}
          </button>
        )}
        {has('request') && (
          <button type="button" data-testid="friend-request" disabled={busy} onClick={() => run(() => requestContact(id, note.trim()))}>
            {t('people.addFriend')}
          </button>
        )}
        {has('cancel') && (
          <button type="button" data-testid="friend-cancel" disabled={busy} onClick={() => run(() => cancelContact(id))}>
            {t('people.cancelRequest')}
          </button>
        )}
        {has('accept') && (
          <button type="button" class="primary" data-testid="friend-accept" disabled={busy} onClick={() => run(() => acceptContact(id))}>
            {t('people.accept')}
          </button>
        )}
        {has('decline') && (
          <button type="button" data-testid="friend-decline" disabled={busy} onClick={() => run(() => declineContact(id))}>
            {t('people.decline')}
          </button>
        )}
        {has('remove') && (
          <button type="button" data-testid="friend-remove" disabled={busy} onClick={() => run(() => removeContact(id))}>
            {t('people.removeFriend')}
          </button>
        )}
        {(has('block') || has('unblock')) && (
          <button
            type="button"
            class="danger"
            data-testid="block-user"
            data-blocked={String(has('unblock'))}
            disabled={busy}
            onClick={() => (has('unblock') ? run(() => unblockUser(id)) : setConfirmBlock(true))}
          >
            {has('unblock') ? t('people.unblock') : t('people.block')}
          </button>
        )}
      </div>
      {has('unblock') && <p class="muted">{t('people.blockedHelp')}</p>}
      <ErrorText error={error} />
      {confirmBlock && (
        <ConfirmDialog
          title={t('people.blockTitle', { name: p.user.display_name })}
          confirmLabel={t('people.block')}
          busy={busy}
          onClose={() => setConfirmBlock(false)}
          onConfirm={() => {
            setConfirmBlock(false);
            void run(() => blockUser(p.user));
          }}
        >
          <p>{t('people.blockExplain')}</p>
        </ConfirmDialog>
      )}
    </section>
  );
}
