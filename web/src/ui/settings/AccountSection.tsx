// The account itself: password, e-mail address (shown; the API has no route
// to change it), a copy of our data, and deleting the account.
import { useState } from 'preact/hooks';
import { me, setSession } from '../../lib/session';
import { changePassword, deleteAccount, exportData } from '../../state/people';
import { ErrorText } from '../common/ErrorText';
import { Modal } from '../common/Modal';
import { useAction } from './useAction';
import { t } from '../../i18n';

function PasswordForm() {
  const [cur, setCur] = useState('');
  const [next, setNext] = useState('');
  const [keep, setKeep] = useState(false);
  const act = useAction();
  const submit = async (e: Event) => {
    e.preventDefault();
    if (await act.run(() => changePassword(cur, next, keep))) {
      setCur('');
      setNext('');
    }
  };
  return (
    <form class="form" data-testid="password-form" onSubmit={submit} aria-labelledby="pw-h">
      <h2 id="pw-h">{t('settings.account.password')}</h2>
      <label class="field">
        <span>{t('settings.account.currentPassword')}</span>
        <input type="password" data-testid="password-current" autoComplete="current-password" required value={cur} onInput={(e) => setCur(e.currentTarget.value)} />
      </label>
      <label class="field">
        <span>{t('settings.account.newPassword')}</span>
        <input type="password" data-testid="password-new" autoComplete="new-password" required value={next} onInput={(e) => setNext(e.currentTarget.value)} />
      </label>
      <label class="check">
        <input type="checkbox" data-testid="password-keep-devices" checked={keep} onChange={(e) => setKeep(e.currentTarget.checked)} />
        {t('settings.account.keepDevices')}
      </label>
      <span class="muted small">{t('settings.account.keepDevicesHelp')}</span>
      <div>
        <button type="submit" class="primary" data-testid="password-submit" disabled={act.busy}>
          {t('settings.account.changePassword')}
        </button>
      </div>
      <p role="status" class="small">{act.done ? t('settings.account.passwordChanged') : ''}</p>
      <ErrorText error={act.error} />
    </form>
  );
}

/** Saves the export through a temporary blob: link (the route needs the token). */
function ExportData() {
  const act = useAction();
  const go = () =>
    act.run(async () => {
      const url = URL.createObjectURL(await exportData());
      const a = document.createElement('a');
      a.href = url;
      a.download = 'magpie-export.json';
      a.click();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    });
  return (
    <section aria-labelledby="export-h">
      <h2 id="export-h">{t('settings.account.export')}</h2>
      <p class="muted">{t('settings.account.exportHelp')}</p>
      <button type="button" data-testid="export-data" disabled={act.busy} onClick={go}>
        {act.busy ? t('settings.account.exporting') : t('settings.account.exportButton')}
      </button>
      <ErrorText error={act.error} />
    </section>
  );
}

function DeleteAccount() {
  const [open, setOpen] = useState(false);
  const [pw, setPw] = useState('');
  const act = useAction();
  const submit = async (e: Event) => {
    e.preventDefault();
    // Every device is revoked by the deletion: nothing left to log out of.
    if (await act.run(() => deleteAccount(pw))) setSession(null);
  };
  return (
    <section aria-labelledby="del-h">
      <h2 id="del-h">{t('settings.account.delete')}</h2>
      <p class="muted">{t('settings.account.deleteHelp')}</p>
      <button type="button" class="danger" data-testid="delete-account" onClick={() => setOpen(true)}>
        {t('settings.account.deleteButton')}
      </button>
      {open && (
        <Modal title={t('settings.account.delete')} onClose={() => setOpen(false)}>
          <form class="form" onSubmit={submit}>
            <p>{t('settings.account.deleteConfirm')}</p>
            <label class="field">
              <span>{t('settings.account.currentPassword')}</span>
              <input type="password" data-testid="delete-password" autoComplete="current-password" required value={pw} onInput={(e) => setPw(e.currentTarget.value)} />
            </label>
            <ErrorText error={act.error} />
            <div class="row-actions end">
              <button type="button" onClick={() => setOpen(false)}>
                {t('common.cancel')}
              </button>
              <button type="submit" class="primary danger-fill" data-testid="delete-confirm" disabled={act.busy}>
                {t('settings.account.deleteButton')}
              </button>
            </div>
          </form>
        </Modal>
      )}
    </section>
  );
}

export function AccountSection() {
  const email = me.value?.email;
  return (
    <div class="stack-lg">
      <section aria-labelledby="email-h">
        <h2 id="email-h">{t('settings.account.email')}</h2>
        <p data-testid="account-email">{email ?? <span class="muted">{t('settings.account.noEmail')}</span>}</p>
        <p class="muted small">{t('settings.account.emailHelp')}</p>
      </section>
      <PasswordForm />
      <ExportData />
      <DeleteAccount />
    </div>
  );
}
