// Our side of every relation: requests to answer, friends, requests we sent
// and users we block. The lists follow the contact and block events.
import { useState } from 'preact/hooks';
import type { ComponentChildren } from 'preact';
import { UserRow } from './UserRow';
import { ErrorText } from '../common/ErrorText';
import {
  friends,
  incoming,
  outgoing,
  blocks,
  peopleLoaded,
  acceptContact,
  declineContact,
  cancelContact,
  unblockUser,
} from '../../state/people';
import { t } from '../../i18n';

function useRun() {
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<unknown>();
  const run = async (key: string, fn: () => Promise<unknown>) => {
    setBusy(key);
    setError(undefined);
    try {
      await fn();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(null);
    }
  };
  return { busy, error, run };
}

function Group(p: { id: string; title: string; count: number; testid: string; empty?: string; children: ComponentChildren }) {
  if (p.count === 0 && !p.empty) return null;
  return (
    <section class="people-group" aria-labelledby={p.id}>
      <h2 id={p.id}>
        {p.title} <span class="muted">({p.count})</span>
      </h2>
      {p.count === 0 ? <p class="muted">{p.empty}</p> : <ul class="user-list" data-testid={p.testid}>{p.children}</ul>}
    </section>
  );
}

export function ContactLists() {
  const { busy, error, run } = useRun();
  if (!peopleLoaded.value) return <p class="muted">{t('common.loading')}</p>;
  return (
    <div class="contact-lists">
      <ErrorText error={error} />
      <Group id="pg-incoming" title={t('people.incoming')} count={incoming.value.length} testid="requests-list">
        {incoming.value.map((c) => (
          <UserRow key={c.user.user_id} user={c.user} testid="request-item" note={c.message || undefined}>
            <button type="button" class="primary" data-testid="friend-accept" disabled={busy !== null} onClick={() => run(c.user.user_id, () => acceptContact(c.user.user_id))}>
              {t('people.accept')}
            </button>
            <button type="button" data-testid="friend-decline" disabled={busy !== null} onClick={() => run(c.user.user_id, () => declineContact(c.user.user_id))}>
              {t('people.decline')}
            </button>
          </UserRow>
        ))}
      </Group>
      <Group id="pg-friends" title={t('people.friends')} count={friends.value.length} testid="friends-list" empty={t('people.noFriends')}>
        {friends.value.map((c) => (
          <UserRow key={c.user.user_id} user={c.user} testid="friend-item" />
        ))}
      </Group>
      <Group id="pg-outgoing" title={t('people.outgoing')} count={outgoing.value.length} testid="outgoing-list">
        {outgoing.value.map((c) => (
          <UserRow key={c.user.user_id} user={c.user} testid="outgoing-item" note={c.message || undefined}>
            <button type="button" data-testid="friend-cancel" disabled={busy !== null} onClick={() => run(c.user.user_id, () => cancelContact(c.user.user_id))}>
              {t('people.cancelRequest')}
            </button>
          </UserRow>
        ))}
      </Group>
      <Group id="pg-blocked" title={t('people.blocked')} count={blocks.value.size} testid="blocked-list">
        {[...blocks.value.values()].map((b) => (
          <UserRow key={b.user.user_id} user={b.user} testid="blocked-item">
            <button type="button" data-testid="unblock-user" disabled={busy !== null} onClick={() => run(b.user.user_id, () => unblockUser(b.user.user_id))}>
              {t('people.unblock')}
            </button>
          </UserRow>
        ))}
      </Group>
    </div>
  );
}
