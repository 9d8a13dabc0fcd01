// The devices signed in to the account; revoking one signs it out at once
// (revoking this one is logging out).
import { useState } from 'preact/hooks';
import { listDevices, revokeDevice } from '../../state/people';
import { logout } from '../../state/account';
import { useAsync } from '../common/hooks';
import { ErrorText } from '../common/ErrorText';
import { ConfirmDialog } from '../people/ConfirmDialog';
import { Ago } from '../people/Ago';
import { sortDevices, deviceName } from './logic';
import { t, fmtDay } from '../../i18n';
import type { Device } from '../../lib/types';

function label(d: Device): string {
  const n = deviceName(d);
  return n.text ?? t(n.key!);
}

export function DevicesSection() {
  const list = useAsync(listDevices, []);
  const [confirm, setConfirm] = useState<Device | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();

  const revoke = async (d: Device) => {
    setBusy(true);
    setError(undefined);
    try {
      if (d.current) await logout();
      else await revokeDevice(d.device_id);
      setConfirm(null);
      list.reload();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  if (list.error) return <ErrorText error={list.error} />;
  if (!list.data) return <p class="muted">{t('common.loading')}</p>;
  return (
    <>
      <p class="muted">{t('settings.devices.intro')}</p>
      <ul class="device-list" data-testid="devices-list">
        {sortDevices(list.data).map((d) => (
          <li key={d.device_id} class="device-item" data-testid="device-item" data-current={String(!!d.current)} data-device-id={d.device_id}>
            <div class="device-info">
              <span class="device-name">
                {label(d)} {d.current && <span class="badge">{t('settings.devices.current')}</span>}
              </span>
              <span class="muted small">
                {t('settings.devices.created', { date: fmtDay(d.created_at) })}
                {d.last_seen_at ? (
                  <>
                    {' · '}
                    {t('settings.devices.lastSeen')} <Ago at={d.last_seen_at} />
                  </>
                ) : null}
              </span>
            </div>
            <button type="button" class="danger" data-testid="device-revoke" onClick={() => setConfirm(d)}>
              {d.current ? t('settings.devices.logoutHere') : t('settings.devices.revoke')}
            </button>
          </li>
        ))}
      </ul>
      <ErrorText error={error} />
      {confirm && (
        <ConfirmDialog
          title={confirm.current ? t('settings.devices.logoutHere') : t('settings.devices.revokeTitle', { name: label(confirm) })}
          confirmLabel={confirm.current ? t('settings.logout') : t('settings.devices.revoke')}
          busy={busy}
          onClose={() => setConfirm(null)}
          onConfirm={() => void revoke(confirm)}
        >
          <p>{confirm.current ? t('settings.devices.logoutExplain') : t('settings.devices.revokeExplain')}</p>
        </ConfirmDialog>
      )}
    </>
  );
}
