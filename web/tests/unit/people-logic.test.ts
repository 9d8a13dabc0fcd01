// The people screens' rules: actions per relation, relative times, presence lines.
import { describe, it, expect } from 'vitest';
import { profileActions, ago, presenceLine } from '../../src/ui/people/logic';

describe('profileActions', () => {
  it('offers what each contact state allows', () => {
    expect(profileActions({ contact: 'none' }, false)).toEqual(['message', 'request', 'block']);
    expect(profileActions({ contact: 'outgoing' }, false)).toEqual(['message', 'cancel', 'block']);
    expect(profileActions({ contact: 'incoming' }, false)).toEqual(['message', 'accept', 'decline', 'block']);
    expect(profileActions({ contact: 'friends' }, false)).toEqual(['message', 'remove', 'block']);
    expect(profileActions({}, false)).toEqual(['message', 'request', 'block']);
  });
  it('offers only unblocking while we block someone', () => {
    expect(profileActions({ contact: 'friends', blocked: true }, false)).toEqual(['unblock']);
  });
  it('offers nothing for ourselves, deleted accounts and guests', () => {
    expect(profileActions({ contact: 'none' }, true)).toEqual([]);
    expect(profileActions({ deleted: true }, false)).toEqual([]);
    expect(profileActions({ guest: true }, false)).toEqual([]);
  });
});

describe('ago', () => {
  const now = 1_800_000_000_000;
  it('rounds down to the unit a person uses', () => {
    expect(ago(now - 30_000, now)).toEqual({ key: 'people.ago.now' });
    expect(ago(now - 5 * 60_000 - 59_000, now)).toEqual({ key: 'people.ago.minutes', params: { n: 5 } });
    expect(ago(now - 3 * 3_600_000, now)).toEqual({ key: 'people.ago.hours', params: { n: 3 } });
    expect(ago(now - 2 * 86_400_000, now)).toEqual({ key: 'people.ago.days', params: { n: 2 } });
    expect(ago(now - 8 * 86_400_000, now)).toEqual({ key: 'people.ago.date' });
  });
  it('treats a time slightly in the future (clock skew) as now', () => {
    expect(ago(now + 5_000, now)).toEqual({ key: 'people.ago.now' });
  });
});

describe('presenceLine', () => {
  it('says online, seen, or a long time ago when hidden or never seen', () => {
    expect(presenceLine({ online: true, last_seen_at: null }, 0)).toEqual({ kind: 'online' });
    expect(presenceLine({ online: false, last_seen_at: null }, 0)).toEqual({ kind: 'longAgo' });
    expect(presenceLine({ online: false, last_seen_at: 1000 }, 61_000)).toEqual({
      kind: 'seen',
      at: 1000,
      ago: { key: 'people.ago.minutes', params: { n: 1 } },
    });
  });
});
