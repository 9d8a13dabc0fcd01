// The pure rules behind the group screens: permissions, countdowns, invite
// addresses, member paging and mention matching.
import { describe, it, expect } from 'vitest';
import {
  can, canModerate, isAdmin, inviteUrl, secondsLeft, mergeMembers, matchesPrefix, slowModeRetryMs,
  type Member,
} from '../../src/state/groups';
import type { GroupSettings } from '../../src/lib/types';

const settings = (over: Partial<GroupSettings> = {}): GroupSettings => ({
  who_can_post: 'all', who_can_invite: 'all', who_can_edit_info: 'admins', who_can_pin: 'all', ...over,
});
const group = (my_role: string, s: Partial<GroupSettings> = {}, dissolved = false) => ({ my_role, settings: settings(s), dissolved });

describe('permissions', () => {
  it('lets everyone do what a setting opens to all', () => {
    expect(can(group('member'), 'invite')).toBe(true);
    expect(can(group('member'), 'post')).toBe(true);
  });
  it('keeps admin-only actions to the owner and admins', () => {
    expect(can(group('member'), 'edit_info')).toBe(false);
    expect(can(group('admin'), 'edit_info')).toBe(true);
    expect(can(group('owner'), 'edit_info')).toBe(true);
    expect(can(group('member', { who_can_pin: 'admins' }), 'pin')).toBe(false);
    expect(can(group('admin', { who_can_invite: 'admins' }), 'invite')).toBe(true);
  });
  it('refuses every write in a dissolved group', () => {
    expect(can(group('owner', {}, true), 'post')).toBe(false);
  });
  it('knows who counts as an admin', () => {
    expect([isAdmin('owner'), isAdmin('admin'), isAdmin('member'), isAdmin(undefined)]).toEqual([true, true, false, false]);
  });
  it('follows the hierarchy for kicks, bans and mutes', () => {
    expect(canModerate('owner', 'admin')).toBe(true);
    expect(canModerate('owner', 'member')).toBe(true);
    expect(canModerate('owner', 'owner')).toBe(false);
    expect(canModerate('admin', 'member')).toBe(true);
    expect(canModerate('admin', 'admin')).toBe(false);
    expect(canModerate('admin', 'owner')).toBe(false);
    expect(canModerate('member', 'member')).toBe(false);
  });
});

describe('slow mode countdown', () => {
  it('rounds up to whole seconds and stops at zero', () => {
    expect(secondsLeft(10_000, 0)).toBe(10);
    expect(secondsLeft(10_000, 1)).toBe(10);
    expect(secondsLeft(10_000, 9_001)).toBe(1);
    expect(secondsLeft(10_000, 10_000)).toBe(0);
    expect(secondsLeft(10_000, 20_000)).toBe(0);
  });
  it('reads the retry time of a slow_mode refusal', () => {
    expect(slowModeRetryMs({ code: 'slow_mode', message: 'x', retry_after_ms: 640 })).toBe(640);
    expect(slowModeRetryMs({ code: 'slow_mode', message: 'slow mode: wait 640 ms before posting in the world room again' })).toBe(640);
    expect(slowModeRetryMs({ code: 'muted', message: 'wait 5 ms' })).toBe(0);
  });
});

describe('invite links', () => {
  it('builds the join address from the origin and the token', () => {
    expect(inviteUrl('https://chat.example.org', 'q3Xr0VbC2m9yJz4T7d1sAw')).toBe('https://chat.example.org/join/q3Xr0VbC2m9yJz4T7d1sAw');
    expect(inviteUrl('http://127.0.0.1:8080/', 'a-b_c')).toBe('http://127.0.0.1:8080/join/a-b_c');
  });
});

const mem = (id: string, role = 'member'): Member => ({
  user_id: id, username: 'u' + id, display_name: 'User ' + id, role, joined_at: Number(id), muted_until: null,
});

describe('member paging', () => {
  it('appends a page in order', () => {
    expect(mergeMembers([mem('1'), mem('2')], [mem('3'), mem('4')]).map((m) => m.user_id)).toEqual(['1', '2', '3', '4']);
  });
  it('updates a repeated member in place instead of listing it twice', () => {
    const out = mergeMembers([mem('1'), mem('2')], [mem('2', 'admin'), mem('3')]);
    expect(out.map((m) => m.user_id)).toEqual(['1', '2', '3']);
    expect(out[1].role).toBe('admin');
  });
  it('leaves the loaded list untouched', () => {
    const have = [mem('1')];
    mergeMembers(have, [mem('2')]);
    expect(have).toHaveLength(1);
  });
});

describe('mention matching', () => {
  const pat = { username: 'pat_s', display_name: 'Pat Smith' };
  it('matches a username prefix, with or without @', () => {
    expect(matchesPrefix(pat, 'pa')).toBe(true);
    expect(matchesPrefix(pat, '@PAT')).toBe(true);
  });
  it('matches the start of any word of the name', () => {
    expect(matchesPrefix(pat, 'smi')).toBe(true);
    expect(matchesPrefix(pat, 'mith')).toBe(false);
  });
  it('matches everyone on an empty prefix', () => {
    expect(matchesPrefix(pat, '')).toBe(true);
  });
});
