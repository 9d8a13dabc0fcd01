// Who the mention picker suggests: the peer of a direct conversation, the
// loaded members of a group (never oneself), nobody in the world room.
import { describe, it, expect } from 'vitest';
import { searchMembers, membersOf, worldId } from '../../src/state/groups';
import { conversations } from '../../src/state/chat';
import { session } from '../../src/lib/session';
import type { ConversationEntry } from '../../src/lib/types';

const entry = (id: string, kind: 'direct' | 'group', extra: Partial<ConversationEntry> = {}): ConversationEntry => ({
  conversation_id: id, kind, last_message: null, last_seq: 0, read_seq: 0, unread: 0, unread_mentions: 0, active_at: 0,
  settings: { muted_until: 0, pinned: false, archived: false, cleared_seq: 0, deleted: false }, ...extra,
});

session.value = { userId: 'me', deviceId: 'd', accessToken: 'a', refreshToken: 'r', expiresAt: Date.now() + 1e6, guest: false };
conversations.value = new Map([
  ['d1', entry('d1', 'direct', { peer: { user_id: 'u9', username: 'ann', display_name: 'Ann Lee' } })],
  ['g1', entry('g1', 'group', { title: 'Climbing' })],
]);
membersOf('g1').value = {
  done: true,
  cursor: null,
  members: [
    { user_id: 'me', username: 'annie', display_name: 'Me', role: 'owner', joined_at: 1, muted_until: null },
    { user_id: 'u1', username: 'bob', display_name: 'Ann Bobson', role: 'member', joined_at: 2, muted_until: null },
    { user_id: 'u2', username: 'carol', display_name: 'Carol', role: 'admin', joined_at: 3, muted_until: null },
  ],
};

describe('searchMembers', () => {
  it('offers the peer of a direct conversation when it matches', async () => {
    expect((await searchMembers('d1', 'le')).map((p) => p.username)).toEqual(['ann']);
    expect(await searchMembers('d1', 'zz')).toEqual([]);
  });
  it('offers the matching members of a group, without me', async () => {
    expect((await searchMembers('g1', 'an')).map((p) => p.user_id)).toEqual(['u1']);
    expect((await searchMembers('g1', '')).map((p) => p.user_id)).toEqual(['u1', 'u2']);
  });
  it('offers nobody in the world room', async () => {
    worldId.value = 'w';
    expect(await searchMembers('w', '')).toEqual([]);
  });
});
