// Moderation of the world room with the admin API: bans (who may no longer
// post there), and deleting any message by its id. Slow mode and the list of
// moderators are server settings (world_slow_mode, world_moderators): shown,
// not changed here. Pins are made from the room itself, as any moderator does.
import { useState } from 'preact/hooks';
import { t } from '../../i18n';
import { ApiError, isApiError } from '../../lib/errors';
import { useAsync } from '../common/hooks';
import { banUser, deleteWorldMessage, findUser, getWorld, listBans, unbanUser, type WorldBan } from '../../state/admin';
import { AdminError, ConfirmDialog, PageFooter, TableFrame, fmtDate, usePaged } from './common';

function RoomInfo() {
  const w = useAsync(getWorld, []);
  if (!w.data) return <AdminError error={w.error} />;
  const ms = w.data.slow_mode_ms;
  return (
    <dl class="admin-kv">
      <dt>{t('admin.world.room')}</dt>
      <dd>{w.data.title}</dd>
      <dt>{t('admin.world.slowMode')}</dt>
      <dd data-testid="admin-world-slowmode">{ms ? t('admin.world.slowModeMs', { s: ms / 1000 }) : t('admin.world.slowModeOff')}</dd>
      <dt>{t('admin.world.guests')}</dt>
      <dd>{t('admin.world.guests.' + w.data.guests)}</dd>
    </dl>
  );
}

function BanForm(p: { onBanned: (b: WorldBan) => void }) {
  const [name, setName] = useState('');
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const u = await findUser(name);
      if (!u) throw new ApiError('not_found', t('admin.world.noSuchUser', { name: name.trim() }));
      p.onBanned(await banUser(u.user_id, reason.trim()));
      setName('');
      setReason('');
    } catch (err) {
      setError(err);
    }
    setBusy(false);
  };
  return (
    <form class="admin-toolbar" onSubmit={submit} aria-labelledby="admin-ban-h">
      <h3 id="admin-ban-h" class="admin-h3">
        {t('admin.world.ban')}
      </h3>
      <label>
        {t('admin.users.username')}
        <input required value={name} autoComplete="off" data-testid="admin-ban-username" onInput={(e) => setName(e.currentTarget.value)} />
      </label>
      <label class="admin-grow">
        {t('admin.world.reason')}
        <input value={reason} maxLength={256} data-testid="admin-ban-reason" onInput={(e) => setReason(e.currentTarget.value)} />
      </label>
      <button type="submit" class="primary" disabled={busy} data-testid="admin-ban-submit">
        {t('admin.world.banSubmit')}
      </button>
      <AdminError error={error} />
    </form>
  );
}

function DeleteMessage() {
  const [id, setId] = useState('');
  const [asking, setAsking] = useState(false);
  const [done, setDone] = useState('');
  const valid = /^\d{1,20}$/.test(id.trim());
  return (
    <form
      class="admin-toolbar"
      aria-labelledby="admin-delmsg-h"
      onSubmit={(e) => {
        e.preventDefault();
        if (valid) setAsking(true);
      }}
    >
      <h3 id="admin-delmsg-h" class="admin-h3">
        {t('admin.world.deleteMessage')}
      </h3>
      <label class="admin-grow">
        {t('admin.world.messageId')}
        <input value={id} inputMode="numeric" autoComplete="off" data-testid="admin-delete-message-id" onInput={(e) => setId(e.currentTarget.value)} />
      </label>
      <button type="submit" class="danger" disabled={!valid} data-testid="admin-delete-message">
        {t('common.delete')}
      </button>
      <p class="muted admin-hint">{t('admin.world.messageIdHint')}</p>
      <p role="status" class="admin-hint">
        {done && t('admin.world.deleted', { id: done })}
      </p>
      {asking && (
        <ConfirmDialog
          title={t('admin.world.deleteMessage')}
          body={<p>{t('admin.world.deleteBody', { id: id.trim() })}</p>}
          confirm={t('common.delete')}
          onConfirm={async () => {
            await deleteWorldMessage(id.trim());
            setDone(id.trim());
            setId('');
          }}
          onClose={() => setAsking(false)}
        />
      )}
    </form>
  );
}

export function World() {
  const bans = usePaged(listBans, (b) => b.user_id, []);
  const [unbanning, setUnbanning] = useState<WorldBan | null>(null);
  return (
    <section class="admin-section" data-testid="admin-world" aria-labelledby="admin-world-h">
      <h2 id="admin-world-h">{t('admin.tab.world')}</h2>
      <RoomInfo />
      <p class="muted">{t('admin.world.settingsNote')}</p>
      <BanForm onBanned={(b) => bans.setItems((items) => [b, ...items.filter((x) => x.user_id !== b.user_id)])} />
      <TableFrame label={t('admin.world.caption')}>
        <table class="admin-table">
          <caption>{t('admin.world.caption')}</caption>
          <thead>
            <tr>
              <th scope="col">{t('admin.users.username')}</th>
              <th scope="col">{t('admin.world.reason')}</th>
              <th scope="col">{t('admin.world.since')}</th>
              <th scope="col">{t('admin.actions')}</th>
            </tr>
          </thead>
          <tbody>
            {bans.items.map((b) => (
              <tr key={b.user_id} data-testid="admin-ban-row" data-user-id={b.user_id}>
                <th scope="row">{b.username}</th>
                <td>{b.reason}</td>
                <td class="admin-nowrap">{fmtDate(b.created_at)}</td>
                <td class="admin-row-actions">
                  <button
                    type="button"
                    data-testid="admin-unban"
                    aria-label={t('admin.world.unbanFor', { name: b.username })}
                    onClick={() => setUnbanning(b)}
                  >
                    {t('admin.world.unban')}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableFrame>
      <PageFooter list={bans} empty={t('admin.world.noBans')} />
      <DeleteMessage />
      {unbanning && (
        <ConfirmDialog
          title={t('admin.world.unbanFor', { name: unbanning.username })}
          body={<p>{t('admin.world.unbanBody', { name: unbanning.username })}</p>}
          confirm={t('admin.world.unban')}
          onConfirm={async () => {
            const id = unbanning.user_id;
            try {
              await unbanUser(id);
            } catch (e) {
              // Unbanned meanwhile (another admin): the row is stale, not an error.
              if (!isApiError(e, 'not_found')) throw e;
            }
            bans.setItems((items) => items.filter((x) => x.user_id !== id));
          }}
          onClose={() => setUnbanning(null)}
        />
      )}
    </section>
  );
}
