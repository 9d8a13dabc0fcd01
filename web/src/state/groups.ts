// Groups and the world room: what the group screens and the composer need.
// OWNER: groups. Placeholder until that work lands; the exports are the contract.
import { signal } from '@preact/signals';
import type { Id, Profile } from '../lib/types';

/** The world room's conversation id, once GET /v1/world answered. */
export const worldId = signal<Id | null>(null);

/** Members of a conversation whose name or username starts with prefix (mentions). */
export async function searchMembers(_conv: Id, _prefix: string): Promise<Profile[]> {
  return [];
}
