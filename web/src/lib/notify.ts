// Getting attention while the tab is hidden: desktop notifications (off by
// default, asked for only from a user gesture in the settings) and the unread
// count in the tab title. No sounds.
import { signal, effect } from '@preact/signals';
import { t } from '../i18n';
import { navigate } from '../router';
import type { ConversationEntry, Message } from './types';
import { activeConversation, isMuted, readIfSeen, totalUnread, userName } from '../state/chat';

const KEY = 'magpie.notifications';

/** Whether the person turned desktop notifications on (persisted). */
export const notificationsEnabled = signal<boolean>(globalThis.localStorage?.getItem(KEY) === 'on');

// Kept across reloads however it is set.
notificationsEnabled.subscribe((on) => {
  try {
    globalThis.localStorage?.setItem(KEY, on ? 'on' : 'off');
  } catch {
    /* memory only */
  }
});

/** Turns notifications on or off; on asks the browser's permission first
 * (call it from a click). Returns whether they are on. */
export async function setNotificationsEnabled(on: boolean): Promise<boolean> {
  if (on && (await askNotificationPermission()) !== 'granted') on = false;
  notificationsEnabled.value = on;
  return on;
}

/** Asks the browser for permission (call it from a click: browsers refuse
 * prompts that no gesture started). 'unsupported' without the API. */
export async function askNotificationPermission(): Promise<NotificationPermission | 'unsupported'> {
  const N = globalThis.Notification;
  if (!N) return 'unsupported';
  if (N.permission !== 'default') return N.permission;
  return N.requestPermission();
}

const hidden = () => globalThis.document?.visibilityState === 'hidden';

/** Shows a notification for a message of someone else, when the tab is
 * hidden and the conversation is not muted (a mention notifies anyway). The
 * world room (not in the list) notifies only mentions. */
export function notifyMessage(m: Message, c: ConversationEntry | undefined, mention: boolean): void {
  const N = globalThis.Notification;
  if (!notificationsEnabled.value || !N || N.permission !== 'granted' || !hidden()) return;
  if (c ? isMuted(c) && !mention : !mention) return;
  const who = userName(m.sender);
  const title = c && c.kind !== 'direct' && c.title ? t('common.notify.inGroup', { name: who, title: c.title }) : who;
  const body = m.kind === 'text' || m.kind === 'system' || m.text ? m.text : t('common.notify.attachment');
  try {
    const n = new N(title, { body: body.slice(0, 200), tag: m.conversation });
    n.onclick = () => {
      globalThis.focus?.();
      navigate(c ? '/chats/' + m.conversation : '/world');
      n.close();
    };
  } catch {
    /* some mobile browsers only notify from a service worker */
  }
}

/** Keeps the tab title on "(3) Magpie" while hidden, and reads the open
 * conversation when the tab comes back. Returns the stop function. */
export function watchAttention(): () => void {
  const d = globalThis.document;
  if (!d) return () => {};
  const visible = signal(!hidden());
  const onVis = () => {
    visible.value = !hidden();
    const conv = activeConversation.value;
    if (visible.value && conv) readIfSeen(conv);
  };
  d.addEventListener('visibilitychange', onVis);
  const stop = effect(() => {
    const n = totalUnread.value;
    d.title = !visible.value && n > 0 ? `(${n}) ${t('common.app')}` : t('common.app');
  });
  // Opening a conversation reads it (only the route is tracked here).
  const stopRead = effect(() => {
    const conv = activeConversation.value;
    if (conv) readIfSeen(conv);
  });
  return () => {
    stopRead();
    d.removeEventListener('visibilitychange', onVis);
    stop();
    d.title = t('common.app');
  };
}
