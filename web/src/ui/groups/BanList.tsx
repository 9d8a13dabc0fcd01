// The users banned from a group (admins), shown on demand, with unban.
import { useState } from 'preact/hooks';
import { t, fmtDay } from '../../i18n';
import { listBans, unbanUser, type Ban } from '../../state/groups';
import { users } from '../../state/chat';
import { ErrorText } from '../common/ErrorText';
import type { Group } from '../../lib/types';

export function BanList(p: { group: Group }) {
  const id = p.group.conversation_id;
  const [bans, setBans] = useState<Ban[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const load = () => listBans(id).then(setBans, setError);
  if (!bans)
    return (
      <button type="button" data-testid="bans-show" onClick={load}>
        {t('groups.bans.show')}
      </button>
    );
  return (
    <div class="g-bans">
      <h4>{t('groups.bans.heading')}</h4>
      {bans.length === 0 && <p class="muted">{t('groups.bans.none')}</p>}
      <ul>
        {bans.map((b) => {
          const u = users.value.get(b.user_id);
          return (
            <li key={b.user_id} data-testid="ban-item">
              {u ? `${u.display_name} (@${u.username})` : b.user_id}{' '}
              <span class="muted">{fmtDay(b.banned_at)}</span>{' '}
              <button type="button" onClick={() => unbanUser(id, b.user_id).then(load, setError)}>
                {t('groups.bans.unban')}
              </button>
            </li>
          );
        })}
      </ul>
      <ErrorText error={error} />
    </div>
  );
}
