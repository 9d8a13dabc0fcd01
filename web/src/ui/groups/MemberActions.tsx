// What an owner or admin may do to one member: change the role and hand over
// ownership (owner only), remove, ban, mute for a while or unmute.
import { useState } from 'preact/hooks';
import { t } from '../../i18n';
import {
  setRole, kickMember, banUser, muteMember, unmuteMember, transferOwnership, type Member,
} from '../../state/groups';
import { ErrorText } from '../common/ErrorText';
import type { Group } from '../../lib/types';

const HOUR = 3_600_000;
const DURATIONS = [
  { ms: HOUR, key: 'groups.mute.1h' },
  { ms: 8 * HOUR, key: 'groups.mute.8h' },
  { ms: 24 * HOUR, key: 'groups.mute.1d' },
  { ms: 7 * 24 * HOUR, key: 'groups.mute.1w' },
];

export function MemberActions(p: { group: Group; member: Member; muted: boolean }) {
  const id = p.group.conversation_id;
  const m = p.member;
  const [dur, setDur] = useState(DURATIONS[0].ms);
  const [error, setError] = useState<unknown>(null);
  const [sure, setSure] = useState(false);
  const run = (fn: () => Promise<unknown>) => () => {
    setError(null);
    fn().catch(setError);
  };
  const owner = p.group.my_role === 'owner';
  return (
    <div class="g-member-actions" role="group" aria-label={t('groups.members.manage', { name: m.display_name })}>
      {owner && m.role === 'member' && (
        <button type="button" data-testid="member-promote" onClick={run(() => setRole(id, m.user_id, 'admin'))}>
          {t('groups.members.promote')}
        </button>
      )}
      {owner && m.role === 'admin' && (
        <button type="button" data-testid="member-demote" onClick={run(() => setRole(id, m.user_id, 'member'))}>
          {t('groups.members.demote')}
        </button>
      )}
      {owner &&
        (sure ? (
          // Handing over ownership cannot be taken back by the one who does it: ask once more.
          <button type="button" class="danger" data-testid="member-transfer-confirm" onClick={run(() => transferOwnership(id, m.user_id))}>
            {t('groups.members.transferConfirm', { name: m.display_name })}
          </button>
        ) : (
          <button type="button" data-testid="member-transfer" onClick={() => setSure(true)}>
            {t('groups.members.transfer')}
          </button>
        ))}
      <button type="button" class="danger" data-testid="member-remove" onClick={run(() => kickMember(id, m.user_id))}>
        {t('groups.members.remove')}
      </button>
      <button type="button" class="danger" data-testid="member-ban" onClick={run(() => banUser(id, m.user_id))}>
        {t('groups.members.ban')}
      </button>
      {p.muted ? (
        <button type="button" data-testid="member-unmute" onClick={run(() => unmuteMember(id, m.user_id))}>
          {t('groups.members.unmute')}
        </button>
      ) : (
        <span class="g-mute">
          <label>
            <span class="visually-hidden">{t('groups.mute.for')}</span>
            <select value={dur} data-testid="member-mute-duration" onChange={(e) => setDur(Number((e.target as HTMLSelectElement).value))}>
              {DURATIONS.map((d) => (
                <option key={d.ms} value={d.ms}>
                  {t(d.key)}
                </option>
              ))}
            </select>
          </label>
          <button type="button" data-testid="member-mute" onClick={run(() => muteMember(id, m.user_id, Date.now() + dur))}>
            {t('groups.members.mute')}
          </button>
        </span>
      )}
      <ErrorText error={error} />
    </div>
  );
}
