// Pure rules of the people screens: which actions a relation allows, and how
// "last seen" reads. Kept free of signals and I/O so unit tests cover them.
import type { ContactState, Profile } from '../../lib/types';

export type ProfileAction =
  | 'message'
  | 'request'
  | 'cancel'
  | 'accept'
  | 'decline'
  | 'remove'
  | 'block'
  | 'unblock';

/** The actions the profile view offers for a user, in display order.
 * Deleted accounts and guests take no relation (the API refuses them), our
 * own profile has nothing to act on, and while we block someone we cannot
 * write to them nor have a contact relation (a block ends it). */
export function profileActions(p: Pick<Profile, 'contact' | 'blocked' | 'deleted' | 'guest'>, self: boolean): ProfileAction[] {
  if (self || p.deleted || p.guest) return [];
  if (p.blocked) return ['unblock'];
  const byState: Record<ContactState, ProfileAction[]> = {
    none: ['request'],
    outgoing: ['cancel'],
    incoming: ['accept', 'decline'],
    friends: ['remove'],
  };
  return ['message', ...byState[p.contact ?? 'none'], 'block'];
}

/** A relative time as an i18n key and its parameters ("5 min ago"). */
export interface RelTime {
  key: string;
  params?: Record<string, string | number>;
}

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

/** How long ago `at` was, rounded the way a person says it; older than a
 * week gives the date (people.ago.date, whose {date} the caller formats). */
export function ago(at: number, now: number): RelTime {
  const d = Math.max(0, now - at);
  if (d < MIN) return { key: 'people.ago.now' };
  if (d < HOUR) return { key: 'people.ago.minutes', params: { n: Math.floor(d / MIN) } };
  if (d < DAY) return { key: 'people.ago.hours', params: { n: Math.floor(d / HOUR) } };
  if (d < 7 * DAY) return { key: 'people.ago.days', params: { n: Math.floor(d / DAY) } };
  return { key: 'people.ago.date' };
}

/** What the presence line of a profile says. The API answers
 * last_seen_at null both for "never seen" and for "hidden from you" on
 * purpose (a block looks like a setting), so both read "a long time ago",
 * as in Telegram. */
export type PresenceLine = { kind: 'online' } | { kind: 'longAgo' } | { kind: 'seen'; ago: RelTime; at: number };

export function presenceLine(p: { online: boolean; last_seen_at: number | null }, now: number): PresenceLine {
  if (p.online) return { kind: 'online' };
  if (p.last_seen_at === null) return { kind: 'longAgo' };
  return { kind: 'seen', ago: ago(p.last_seen_at, now), at: p.last_seen_at };
}
