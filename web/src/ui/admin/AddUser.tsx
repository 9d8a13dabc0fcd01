// Creating an account (POST /v1/admin/users): usable at once, whatever the
// registration setting says.
import { useState } from 'preact/hooks';
import { t } from '../../i18n';
import { Modal } from '../common/Modal';
import { createUser, type AdminUser } from '../../state/admin';
import { AdminError } from './common';

export function AddUser(p: { onClose: () => void; onAdded: (u: AdminUser) => void }) {
  const [username, setUsername] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [password, setPassword] = useState('');
  const [admin, setAdmin] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const u = await createUser({ username: username.trim(), password, display_name: displayName.trim() || undefined, admin });
      p.onAdded(u);
      p.onClose();
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  return (
    <Modal title={t('admin.users.addTitle')} onClose={p.onClose}>
      <form class="admin-form" onSubmit={submit}>
        <label>
          {t('admin.users.username')}
          <input required value={username} autoComplete="off" data-testid="admin-add-username" onInput={(e) => setUsername(e.currentTarget.value)} />
        </label>
        <label>
          {t('admin.users.displayName')}
          <input value={displayName} autoComplete="off" onInput={(e) => setDisplayName(e.currentTarget.value)} />
        </label>
        <label>
          {t('admin.users.password')}
          <input required type="password" value={password} autoComplete="new-password" data-testid="admin-add-password" onInput={(e) => setPassword(e.currentTarget.value)} />
        </label>
        <label class="admin-check">
          <input type="checkbox" checked={admin} onChange={(e) => setAdmin(e.currentTarget.checked)} />
          {t('admin.users.makeAdmin')}
        </label>
        <AdminError error={error} />
        <div class="admin-actions">
          <button type="button" onClick={p.onClose}>
            {t('common.cancel')}
          </button>
          <button type="submit" class="primary" disabled={busy} data-testid="admin-add-submit">
            {t('admin.users.add')}
          </button>
        </div>
      </form>
    </Modal>
  );
}
