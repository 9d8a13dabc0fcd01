// OWNER: core. Placeholder with the contract the settings screen uses, until
// the notification work lands (it replaces this file).
import { signal } from '@preact/signals';

/** Whether the user turned desktop notifications on (and the browser allows them). */
export const notificationsEnabled = signal(false);

/** Asks the browser's permission (call from a click); true when granted. */
export async function askNotificationPermission(): Promise<boolean> {
  if (typeof Notification === 'undefined') return false;
  const ok = (await Notification.requestPermission()) === 'granted';
  notificationsEnabled.value = ok;
  return ok;
}
