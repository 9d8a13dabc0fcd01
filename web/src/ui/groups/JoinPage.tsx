// /join/TOKEN: joins a group by its invite link. The API offers no preview of
// a link before joining, so the page says what the link is and joins on a
// click; the group's title shows once joined. Signed-out visitors reach it
// again after signing in (the shell keeps the path).
import { useState } from 'preact/hooks';
import { t } from '../../i18n';
import { navigate } from '../../router';
import { session } from '../../lib/session';
import { isApiError } from '../../lib/errors';
import { joinByInvite } from '../../state/groups';
import type { Group } from '../../lib/types';
import './groups.css';

/** A sentence for the refusals a join can meet; else the server's own words. */
export function joinErrorText(e: unknown): string {
  const known = ['not_found', 'invite_expired', 'invite_revoked', 'invite_exhausted', 'banned', 'guest_forbidden', 'dissolved', 'group_full'];
  if (isApiError(e) && known.includes(e.code)) return t('groups.join.error.' + e.code);
  return t('common.error', { message: e instanceof Error ? e.message : String(e) });
}

export function JoinPage(p: { token: string }) {
  const [busy, setBusy] = useState(false);
  const [joined, setJoined] = useState<Group | null>(null);
  const [error, setError] = useState<unknown>(null);
  const guest = session.value?.guest;
  const join = async () => {
    setBusy(true);
    setError(null);
    try {
      const g = await joinByInvite(p.token);
      setJoined(g);
      navigate('/chats/' + g.conversation_id, true);
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  };
  return (
    <section class="g-screen g-join" aria-labelledby="join-h">
      <h1 id="join-h" data-testid="join-title">
        {joined ? joined.title : t('groups.join.heading')}
      </h1>
      {joined ? (
        <p class="muted">{t('groups.memberCount', { n: joined.member_count })}</p>
      ) : (
        <p class="muted">{guest ? t('groups.join.error.guest_forbidden') : t('groups.join.intro')}</p>
      )}
      {error != null && (
        <p class="error" role="alert" data-testid="join-error">
          {joinErrorText(error)}
        </p>
      )}
      <div class="g-actions start">
        <button type="button" class="primary" data-testid="join-submit" disabled={busy || guest} onClick={join}>
          {t('groups.join.submit')}
        </button>
        <button type="button" onClick={() => navigate('/groups')}>
          {t('groups.join.back')}
        </button>
      </div>
    </section>
  );
}
