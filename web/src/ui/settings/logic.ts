// Pure rules of the settings screens: the privacy form's fields, the change
// it sends, the device list's order and labels, and the sections a session sees.
import type { Device } from '../../lib/types';
import type { Audience, Privacy } from '../../state/people';

export const AUDIENCES: Audience[] = ['everyone', 'contacts', 'nobody'];

/** Every privacy setting of the API, in the order the form shows them; the
 * labels and explanations are settings.privacy.<key>[.help]. */
export const AUDIENCE_FIELDS = ['message', 'presence', 'search', 'groups'] as const;
export type AudienceField = (typeof AUDIENCE_FIELDS)[number];

/** The i18n key of one option of one setting ("who can find me: my contacts"). */
export function audienceLabelKey(field: AudienceField, a: Audience): string {
  return `settings.privacy.${field}.${a}`;
}

/** The fields of `next` that differ from `cur`: the PATCH body (the API
 * changes only what it is given; `{}` means nothing to send). */
export function privacyChange(cur: Privacy, next: Privacy): Partial<Privacy> {
  const out: Partial<Privacy> = {};
  for (const k of [...AUDIENCE_FIELDS, 'read_receipts'] as const) if (cur[k] !== next[k]) (out as any)[k] = next[k];
  return out;
}

/** Devices as listed: this one first, then the most recently seen. */
export function sortDevices(ds: Device[]): Device[] {
  const seen = (d: Device) => d.last_seen_at ?? d.created_at;
  return [...ds].sort((a, b) => Number(!!b.current) - Number(!!a.current) || seen(b) - seen(a));
}

/** A device's name as shown: the name it logged in with, or a placeholder
 * key when it gave none. */
export function deviceName(d: Device): { text?: string; key?: string } {
  const n = (d.name ?? '').trim();
  return n ? { text: n } : { key: 'settings.devices.unnamed' };
}

export const SECTIONS = ['profile', 'privacy', 'devices', 'account', 'appearance', 'notifications'] as const;
export type Section = (typeof SECTIONS)[number];

/** The sections a session may open: guests have no profile, privacy,
 * devices or account routes (403 guest_forbidden), only appearance. */
export function sectionsFor(guest: boolean): Section[] {
  return guest ? ['appearance'] : [...SECTIONS];
}

/** The section a path names, or the first one allowed. */
export function pickSection(name: string | undefined, guest: boolean): Section {
  const allowed = sectionsFor(guest);
  return allowed.includes(name as Section) ? (name as Section) : allowed[0];
}
