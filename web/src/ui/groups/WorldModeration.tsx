// The world room's bans, for the server's admins: ban someone from posting
// there (they still read it), see who is banned, lift a ban. Deleting any
// message is in the message menu.
import { useEffect, useState } from 'preact/hooks';
import { t, fmtDay } from '../../i18n';
import { listWorldBans, worldBan, worldUnban, type WorldBan } from '../../state/groups';
import { Modal } from '../common/Modal';
import { ErrorText } from '../common/ErrorText';
import { UserPicker } from './UserPicker';
import type { Profile } from '../../lib/types';

export function WorldModeration(p: { onClose: () => void }) {
  const [bans, setBans] = useState<WorldBan[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [picked, setPicked] = useState<Profile[]>([]);
  const [reason, setReason] = useState('');
  const [error, setError] = useState<unknown>(null);
  const load = (from: string | null, have: WorldBan[]) =>
    listWorldBans(from).then((r) => {
      setBans([...have, ...r.bans]);
      setCursor(r.next_cursor);
    }, setError);
  useEffect(() => {
    void load(null, []);
  }, []);
  const ban = async (e: Event) => {
    e.preventDefault();
    setError(null);
    try {
      for (const u of picked) await worldBan(u.user_id, reason.trim());
      setPicked([]);
      setReason('');
      await load(null, []);
    } catch (err) {
      setError(err);
    }
  };
  return (
    <Modal title={t('groups.world.mod.title')} onClose={p.onClose}>
      <form class="g-form" onSubmit={ban} data-testid="world-ban-form">
        <UserPicker picked={picked} onChange={setPicked} />
        <label>
          {t('groups.world.mod.reason')}
          <input maxLength={256} value={reason} onInput={(e) => setReason((e.target as HTMLInputElement).value)} />
        </label>
        <div class="g-actions start">
          <button type="submit" class="danger" data-testid="world-ban-submit" disabled={picked.length === 0}>
            {t('groups.world.mod.ban')}
          </button>
        </div>
      </form>
      <ErrorText error={error} />
      <h3>{t('groups.world.mod.banned')}</h3>
      {bans.length === 0 && <p class="muted">{t('groups.bans.none')}</p>}
      <ul class="g-invites">
        {bans.map((b) => (
          <li key={b.user_id} data-testid="world-ban-item">
            <span>@{b.username}</span>
            <span class="muted">
              {fmtDay(b.created_at)}
              {b.reason ? ' · ' + b.reason : ''}
            </span>
            <button type="button" onClick={() => worldUnban(b.user_id).then(() => load(null, []), setError)}>
              {t('groups.bans.unban')}
            </button>
          </li>
        ))}
      </ul>
      {cursor && (
        <button type="button" onClick={() => load(cursor, bans)}>
          {t('groups.world.mod.more')}
        </button>
      )}
    </Modal>
  );
}
