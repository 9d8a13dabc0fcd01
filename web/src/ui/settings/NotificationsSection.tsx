// Desktop notifications: the browser asks its permission only from a click,
// so the toggle is where that question is asked.
import { useState } from 'preact/hooks';
import { setNotificationsEnabled, notificationsEnabled } from '../../lib/notify';
import { t } from '../../i18n';

function permission(): NotificationPermission | 'unsupported' {
  return typeof Notification === 'undefined' ? 'unsupported' : Notification.permission;
}

export function NotificationsSection() {
  const [perm, setPerm] = useState(permission());
  const [busy, setBusy] = useState(false);
  const toggle = async (on: boolean) => {
    setBusy(true);
    try {
      // Turning on asks the browser's permission; this click is the gesture
      // browsers require before they show their prompt.
      await setNotificationsEnabled(on);
    } finally {
      setPerm(permission());
      setBusy(false);
    }
  };
  if (perm === 'unsupported') return <p class="muted">{t('settings.notifications.unsupported')}</p>;
  return (
    <div class="form">
      <label class="check">
        <input
          type="checkbox"
          data-testid="notifications-toggle"
          checked={notificationsEnabled.value}
          disabled={busy || perm === 'denied'}
          onChange={(e) => void toggle(e.currentTarget.checked)}
        />
        {t('settings.notifications.enable')}
      </label>
      <p class="muted small" role="status">
        {perm === 'denied' ? t('settings.notifications.denied') : t('settings.notifications.help')}
      </p>
    </div>
  );
}
