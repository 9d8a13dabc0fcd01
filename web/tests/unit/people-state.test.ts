// The contact lists follow each entry that arrives (event, reply or sync):
// a `none` entry ends the relation, the lists are split by state, newest first.
import { describe, it, expect, beforeEach } from 'vitest';
import { applyContact, contacts, friends, incoming, outgoing, contactState, type ContactEntry } from '../../src/state/people';

const entry = (id: string, state: ContactEntry['state'], updated_at: number): ContactEntry => ({
  user: { user_id: id, username: 'u' + id, display_name: 'U' + id },
  state,
  message: '',
  created_at: 1,
  updated_at,
});

describe('contact entries', () => {
  beforeEach(() => {
    contacts.value = new Map();
  });
  it('splits the entries by state, most recently changed first', () => {
    applyContact(entry('1', 'friends', 10));
    applyContact(entry('2', 'friends', 20));
    applyContact(entry('3', 'incoming', 5));
    applyContact(entry('4', 'outgoing', 7));
    expect(friends.value.map((c) => c.user.user_id)).toEqual(['2', '1']);
    expect(incoming.value.map((c) => c.user.user_id)).toEqual(['3']);
    expect(outgoing.value.map((c) => c.user.user_id)).toEqual(['4']);
  });
  it('moves a request to friends when accepted, and drops it on none', () => {
    applyContact(entry('3', 'incoming', 5));
    applyContact(entry('3', 'friends', 6));
    expect(contactState('3')).toBe('friends');
    expect(incoming.value).toEqual([]);
    applyContact(entry('3', 'none', 7));
    expect(contactState('3')).toBe('none');
    expect(contacts.value.size).toBe(0);
  });
});
