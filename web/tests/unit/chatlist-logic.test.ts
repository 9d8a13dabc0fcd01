// The conversation list's pure logic: names, previews, time labels,
// filtering, typing lines, mute choices and the search highlight split.
import { describe, it, expect, beforeEach } from 'vitest';
import { lang } from '../../src/i18n';
import type { ConversationEntry, Message, Profile } from '../../src/lib/types';
import {
  convName,
  previewText,
  messageSummary,
  timeLabel,
  isMuted,
  muteUntil,
  filterConversations,
  typingNames,
  typingLabel,
  splitHighlights,
  unreadBadge,
} from '../../src/ui/chats/listLogic';

const ME = '1';
const settings = { muted_until: 0, pinned: false, archived: false, cleared_seq: 0, deleted: false };

function msg(p: Partial<Message>): Message {
  return { message_id: 'm', conversation: 'c', seq: 1, sender: '2', kind: 'text', text: '', created_at: 0, ...p };
}
function conv(p: Partial<ConversationEntry>): ConversationEntry {
  return {
    conversation_id: 'c',
    kind: 'direct',
    last_message: null,
    last_seq: 0,
    read_seq: 0,
    unread: 0,
    unread_mentions: 0,
    active_at: 0,
    settings,
    ...p,
  };
}
const bob: Profile = { user_id: '2', username: 'bob', display_name: 'Bob' };
const users = new Map([['2', bob]]);

beforeEach(() => {
  lang.value = 'en';
});

describe('convName', () => {
  it('names a direct conversation after the peer, a group by its title, the world room by its label', () => {
    expect(convName(conv({ peer: bob }))).toBe('Bob');
    expect(convName(conv({ peer: { ...bob, display_name: '' } }))).toBe('bob');
    expect(convName(conv({ kind: 'group', title: 'Hikers' }))).toBe('Hikers');
    expect(convName(conv({ kind: 'world' }))).toBe('World');
    lang.value = 'zh';
    expect(convName(conv({ kind: 'world' }))).toBe('世界');
  });
});

describe('previews', () => {
  it('shows text on one line and prefixes our own messages', () => {
    expect(previewText(conv({ last_message: msg({ text: 'hi\n there' }) }), ME, users)).toBe('hi there');
    expect(previewText(conv({ last_message: msg({ text: 'yo', sender: ME }) }), ME, users)).toBe('You: yo');
  });
  it('names the sender in a group, not in a direct conversation', () => {
    const m = msg({ text: 'yo' });
    expect(previewText(conv({ kind: 'group', last_message: m }), ME, users)).toBe('Bob: yo');
    expect(previewText(conv({ kind: 'group', last_message: { ...m, sender: '9' } }), ME, users)).toBe('yo');
  });
  it('labels each kind other than text', () => {
    expect(messageSummary(msg({ kind: 'image' }))).toBe('Photo');
    expect(messageSummary(msg({ kind: 'image', text: 'the view' }))).toBe('Photo · the view');
    expect(messageSummary(msg({ kind: 'voice' }))).toBe('Voice message');
    expect(messageSummary(msg({ kind: 'video' }))).toBe('Video');
    expect(messageSummary(msg({ kind: 'file', content: { name: 'a.pdf' } }))).toBe('File: a.pdf');
    expect(messageSummary(msg({ kind: 'location' }))).toBe('Location');
    expect(messageSummary(msg({ kind: 'location', content: { title: 'Home' } }))).toBe('Location: Home');
    expect(messageSummary(msg({ kind: 'contact' }))).toBe('Contact');
  });
  it('shows deleted and system messages as they are, without a sender', () => {
    expect(previewText(conv({ last_message: msg({ deleted: true, sender: ME }) }), ME, users)).toBe('Message deleted');
    expect(previewText(conv({ kind: 'group', last_message: msg({ kind: 'system', text: 'Bob joined' }) }), ME, users)).toBe(
      'Bob joined',
    );
  });
  it('says so when there is no message', () => {
    expect(previewText(conv({}), ME, users)).toBe('No messages yet');
  });
});

describe('timeLabel', () => {
  const now = new Date(2026, 10, 26, 15, 30).getTime(); // a Thursday
  it('shows hh:mm today', () => {
    expect(timeLabel(new Date(2026, 10, 26, 9, 5).getTime(), now)).toMatch(/09:05/);
  });
  it('shows the weekday within the last six days', () => {
    expect(timeLabel(new Date(2026, 10, 25, 23, 59).getTime(), now)).toBe('Wed');
    expect(timeLabel(new Date(2026, 10, 20, 0, 0).getTime(), now)).toBe('Fri');
  });
  it('shows the date beyond, with the year only when it is another', () => {
    expect(timeLabel(new Date(2026, 10, 19, 12, 0).getTime(), now)).toBe('Nov 19');
    expect(timeLabel(new Date(2025, 0, 2, 12, 0).getTime(), now)).toBe('Jan 2, 2025');
  });
  it('is empty without a time', () => {
    expect(timeLabel(0, now)).toBe('');
  });
});

describe('mute', () => {
  it('knows muted forever, until a time, and off', () => {
    expect(isMuted({ muted_until: -1 }, 10)).toBe(true);
    expect(isMuted({ muted_until: 11 }, 10)).toBe(true);
    expect(isMuted({ muted_until: 9 }, 10)).toBe(false);
    expect(isMuted({ muted_until: 0 }, 10)).toBe(false);
    expect(isMuted(undefined, 10)).toBe(false);
  });
  it('turns menu choices into muted_until', () => {
    expect(muteUntil('1h', 1000)).toBe(1000 + 3_600_000);
    expect(muteUntil('8h', 1000)).toBe(1000 + 8 * 3_600_000);
    expect(muteUntil('forever', 1000)).toBe(-1);
    expect(muteUntil('off', 1000)).toBe(0);
  });
});

describe('filterConversations', () => {
  const list = [
    conv({ conversation_id: 'a', peer: bob }),
    conv({ conversation_id: 'b', kind: 'group', title: 'Bobsled team' }),
    conv({ conversation_id: 'c', kind: 'group', title: 'Hikers' }),
    conv({ conversation_id: 'd', kind: 'world' }),
  ];
  it('matches names and usernames case-insensitively, keeping the order', () => {
    expect(filterConversations(list, 'BOB').map((c) => c.conversation_id)).toEqual(['a', 'b']);
    expect(filterConversations(list, ' world ').map((c) => c.conversation_id)).toEqual(['d']);
    expect(filterConversations(list, '')).toBe(list);
    expect(filterConversations(list, 'zzz')).toEqual([]);
  });
});

describe('typing', () => {
  it('lists the others whose indicator has not expired', () => {
    const who = new Map([
      ['2', 2000],
      ['3', 500],
      [ME, 2000],
    ]);
    expect(typingNames(who, ME, users, 1000)).toEqual(['Bob']);
    expect(typingNames(undefined, ME, users, 1000)).toEqual([]);
  });
  it('names the typist in a group only', () => {
    expect(typingLabel('direct', ['Bob'])).toBe('typing…');
    expect(typingLabel('group', ['Bob'])).toBe('Bob is typing…');
    expect(typingLabel('group', ['Bob', 'Ann'])).toBe('typing…');
    expect(typingLabel('group', [])).toBe('');
  });
});

describe('splitHighlights', () => {
  it('splits around each match', () => {
    expect(splitHighlights('下周我们在东京见面', [[5, 2]])).toEqual([
      { text: '下周我们在', hit: false },
      { text: '东京', hit: true },
      { text: '见面', hit: false },
    ]);
    expect(splitHighlights('ab ab', [[3, 2], [0, 2]])).toEqual([
      { text: 'ab', hit: true },
      { text: ' ', hit: false },
      { text: 'ab', hit: true },
    ]);
  });
  it('counts code points, not UTF-16 units', () => {
    expect(splitHighlights('😀 cat', [[2, 3]])).toEqual([
      { text: '😀 ', hit: false },
      { text: 'cat', hit: true },
    ]);
  });
  it('clips overlapping and out-of-range ranges, and keeps markup as text', () => {
    expect(splitHighlights('<b>x</b>', [[0, 3], [1, 4], [7, 9]])).toEqual([
      { text: '<b>x<', hit: true },
      { text: '/b', hit: false },
      { text: '>', hit: true },
    ]);
    expect(splitHighlights('plain', undefined)).toEqual([{ text: 'plain', hit: false }]);
    expect(splitHighlights('', [[0, 1]])).toEqual([]);
  });
});

describe('unreadBadge', () => {
  it('caps at 99+', () => {
    expect(unreadBadge(5)).toBe('5');
    expect(unreadBadge(100)).toBe('99+');
  });
});
