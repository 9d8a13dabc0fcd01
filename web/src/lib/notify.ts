// OWNER: core. Placeholder with the contract the settings screen uses, until
// the notification work lands (it replaces this file).
import { signal } from '@preact/signals';

/** Whether the person turned desktop notifications on. */
export const notificationsEnabled = signal<boolean>(false);

/** Turns notifications on or off; on asks the browser's permission first. */
export async function setNotificationsEnabled(on: boolean): Promise<boolean> {
  if (on && (await askNotificationPermission()) !== 'granted') on = false;
  notificationsEnabled.value = on;
  return on;
}

/** Asks the browser for permission (from a click); 'unsupported' without the API. */
export async function askNotificationPermission(): Promise<NotificationPermission | 'unsupported'> {
  const N = globalThis.Notification;
  if (!N) return 'unsupported';
  if (N.permission !== 'default') return N.permission;
  return N.requestPermission();
}
