// The confirmation dialogs of the user table's actions.
import { useRef, useState } from 'preact/hooks';
import { t } from '../../i18n';
import { Modal } from '../common/Modal';
import { deleteUser, setAdmin, setDisabled, setPassword, tempPassword, type AdminUser } from '../../state/admin';
import { ConfirmDialog, copyText } from './common';

export type UserAction = 'disable' | 'enable' | 'promote' | 'demote' | 'password' | 'delete';

interface Props {
  action: UserAction;
  user: AdminUser;
  /** The row's new state, or null when the account is gone. */
  onChanged: (u: AdminUser | null, id: string) => void;
  onClose: () => void;
}

export function UserDialog(p: Props) {
  const u = p.user;
  const name = { name: u.username };
  switch (p.action) {
    case 'disable':
    case 'enable': {
      const on = p.action === 'disable';
      return (
        <ConfirmDialog
          title={t(`admin.users.${p.action}Title`, name)}
          body={<p>{t(`admin.users.${p.action}Body`, name)}</p>}
          confirm={t(`admin.users.${p.action}`)}
          onConfirm={async () => {
            const r = await setDisabled(u.user_id, on);
            p.onChanged({ ...u, disabled: r.disabled, disabled_at: r.disabled ? (u.disabled_at ?? Date.now()) : null }, u.user_id);
          }}
          onClose={p.onClose}
        />
      );
    }
    case 'promote':
    case 'demote': {
      const on = p.action === 'promote';
      return (
        <ConfirmDialog
          title={t(`admin.users.${p.action}Title`, name)}
          body={<p>{t(`admin.users.${p.action}Body`, name)}</p>}
          confirm={t(`admin.users.${p.action}`)}
          onConfirm={async () => {
            const r = await setAdmin(u.user_id, on);
            p.onChanged({ ...u, admin: r.admin }, u.user_id);
          }}
          onClose={p.onClose}
        />
      );
    }
    case 'delete':
      return (
        <ConfirmDialog
          title={t('admin.users.deleteTitle', name)}
          body={<p>{t('admin.users.deleteBody', name)}</p>}
          confirm={t('admin.users.delete')}
          typed={u.username}
          onConfirm={async () => {
            await deleteUser(u.user_id);
            p.onChanged(null, u.user_id);
          }}
          onClose={p.onClose}
        />
      );
    case 'password':
      return <PasswordReset user={u} onClose={p.onClose} />;
  }
}

/** Sets a new random password (POST .../password signs every device out)
 * and shows it once, to be handed to the person by another channel. */
function PasswordReset(p: { user: AdminUser; onClose: () => void }) {
  const [pw, setPw] = useState<string | null>(null);
  const [copied, setCopied] = useState(false);
  const field = useRef<HTMLInputElement>(null);
  if (!pw)
    return (
      <ConfirmDialog
        title={t('admin.users.passwordTitle', { name: p.user.username })}
        body={<p>{t('admin.users.passwordBody', { name: p.user.username })}</p>}
        confirm={t('admin.users.resetPassword')}
        onConfirm={async () => {
          const next = tempPassword();
          await setPassword(p.user.user_id, next);
          setPw(next);
        }}
        onClose={p.onClose}
        // Once set, the password replaces this dialog (pw is no longer null).
        onDone={() => {}}
      />
    );
  return (
    <Modal title={t('admin.users.passwordTitle', { name: p.user.username })} onClose={p.onClose}>
      <div class="admin-form">
        <p role="status">{t('admin.users.passwordDone', { name: p.user.username })}</p>
        <label>
          {t('admin.users.newPassword')}
          <input ref={field} readOnly value={pw} class="admin-mono" data-testid="admin-temp-password" onFocus={(e) => e.currentTarget.select()} />
        </label>
        <div class="admin-actions">
          <button type="button" onClick={async () => setCopied(await copyText(pw, field.current))}>
            {copied ? t('admin.copied') : t('admin.copy')}
          </button>
          <button type="button" class="primary" onClick={p.onClose}>
            {t('common.close')}
          </button>
        </div>
      </div>
    </Modal>
  );
}
