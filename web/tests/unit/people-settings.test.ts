// The settings screens' rules: privacy options and changes, device order and
// names, the sections a guest sees.
import { describe, it, expect } from 'vitest';
import {
  AUDIENCES,
  AUDIENCE_FIELDS,
  audienceLabelKey,
  privacyChange,
  sortDevices,
  deviceName,
  sectionsFor,
  pickSection,
} from '../../src/ui/settings/logic';
import { tables } from '../../src/i18n';
import type { Privacy } from '../../src/state/people';

const base: Privacy = { message: 'everyone', presence: 'everyone', search: 'everyone', groups: 'everyone', read_receipts: true };

describe('privacy options', () => {
  it('covers every setting of the API with a label, an explanation and each audience', () => {
    expect([...AUDIENCE_FIELDS].sort()).toEqual(['groups', 'message', 'presence', 'search']);
    for (const f of AUDIENCE_FIELDS) {
      expect(tables.en[`settings.privacy.${f}`]).toBeTruthy();
      expect(tables.en[`settings.privacy.${f}.help`]).toBeTruthy();
      for (const a of AUDIENCES) expect(tables.en[audienceLabelKey(f, a)]).toBeTruthy();
    }
    expect(tables.en['settings.privacy.read_receipts.help']).toBeTruthy();
  });
  it('sends only the fields that changed', () => {
    expect(privacyChange(base, base)).toEqual({});
    expect(privacyChange(base, { ...base, presence: 'contacts', read_receipts: false })).toEqual({
      presence: 'contacts',
      read_receipts: false,
    });
    expect(privacyChange({ ...base, search: 'nobody' }, base)).toEqual({ search: 'everyone' });
  });
});

describe('devices', () => {
  const d = (id: string, seen: number, current = false, name = 'x') => ({ device_id: id, name, created_at: 1, last_seen_at: seen, current });
  it('lists this device first, then the most recently seen', () => {
    const out = sortDevices([d('a', 5), d('b', 9), d('c', 1, true), d('e', 7)]);
    expect(out.map((x) => x.device_id)).toEqual(['c', 'b', 'e', 'a']);
  });
  it('falls back to the creation time when a device was never seen', () => {
    const out = sortDevices([{ device_id: 'a', name: 'a', created_at: 10 }, d('b', 5)]);
    expect(out.map((x) => x.device_id)).toEqual(['a', 'b']);
  });
  it('names a device by its name, or as unnamed', () => {
    expect(deviceName(d('a', 1, false, ' Firefox (web) '))).toEqual({ text: 'Firefox (web)' });
    expect(deviceName(d('a', 1, false, ''))).toEqual({ key: 'settings.devices.unnamed' });
  });
});

describe('sections', () => {
  it('gives guests appearance only', () => {
    expect(sectionsFor(true)).toEqual(['appearance']);
    expect(pickSection('privacy', true)).toBe('appearance');
  });
  it('opens the named section, or the first one', () => {
    expect(sectionsFor(false)).toContain('devices');
    expect(pickSection('devices', false)).toBe('devices');
    expect(pickSection(undefined, false)).toBe('profile');
    expect(pickSection('nonsense', false)).toBe('profile');
  });
});
