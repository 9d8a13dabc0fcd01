import { describe, expect, it } from 'vitest';
import {
  buildRows,
  estimateRowHeight,
  collectMentions,
  dayKey,
  hasMention,
  insertMention,
  mentionAt,
  messageKey,
  newestSeq,
  relativeParts,
  richText,
  splitLinks,
  stateIcon,
  stateLabelKey,
} from '../../src/ui/chats/convLogic';
import type { LocalMessage } from '../../src/state/chat';
import en from '../../src/i18n/en/conv';

function msg(seq: number, at: Date, sender = 'a', extra: Partial<LocalMessage> = {}): LocalMessage {
  return { message_id: 'm' + seq, conversation: 'c', seq, sender, kind: 'text', text: 'x', created_at: at.getTime(), ...extra };
}

describe('day grouping', () => {
  it('puts a separator before the first message of each local day', () => {
    const rows = buildRows([
      msg(1, new Date(2026, 0, 1, 9)),
      msg(2, new Date(2026, 0, 1, 23, 59)),
      msg(3, new Date(2026, 0, 2, 0, 1)),
    ]);
    expect(rows.map((r) => r.type)).toEqual(['day', 'msg', 'msg', 'day', 'msg']);
    expect(rows[0].key).not.toEqual(rows[3].key);
  });
  it('marks the first message of each run of one sender', () => {
    const d = new Date(2026, 0, 1, 9);
    const rows = buildRows([msg(1, d, 'a'), msg(2, d, 'a'), msg(3, d, 'b'), msg(4, d, 'b', { kind: 'system' }), msg(5, d, 'b')]);
    expect(rows.filter((r) => r.type === 'msg').map((r) => (r.type === 'msg' ? r.first : null))).toEqual([true, false, true, true, true]);
  });
  it('starts a new run after a day separator', () => {
    const rows = buildRows([msg(1, new Date(2026, 0, 1, 9)), msg(2, new Date(2026, 0, 2, 9))]);
    expect(rows[3].type === 'msg' && rows[3].first).toBe(true);
  });
  it('is empty without messages', () => {
    expect(buildRows([])).toEqual([]);
  });
  it('keys by day and keeps a pending message on its client id', () => {
    expect(dayKey(new Date(2026, 4, 3, 1).getTime())).toBe(dayKey(new Date(2026, 4, 3, 22).getTime()));
    expect(messageKey(msg(0, new Date(), 'a', { message_id: 'local:w-1', client_msg_id: 'w-1' }))).toBe(
      messageKey(msg(5, new Date(), 'a', { message_id: '99', client_msg_id: 'w-1' })),
    );
  });
  it('finds the newest seq in a range, skipping separators and pending rows', () => {
    const d = new Date(2026, 0, 1, 9);
    const rows = buildRows([msg(7, d), msg(8, d), msg(0, d, 'a', { message_id: 'local:x', client_msg_id: 'x' })]);
    expect(newestSeq(rows, 0, rows.length - 1)).toBe(8);
    expect(newestSeq(rows, 0, 1)).toBe(7);
    expect(newestSeq(rows, 0, 0)).toBe(0);
  });
});

describe('links', () => {
  it('links http and https only', () => {
    const p = splitLinks('see https://example.com/a?b=1 and http://x.org, not javascript:alert(1) or ftp://f');
    expect(p.filter((x) => x.href).map((x) => x.href)).toEqual(['https://example.com/a?b=1', 'http://x.org/']);
    expect(p.map((x) => x.text).join('')).toBe('see https://example.com/a?b=1 and http://x.org, not javascript:alert(1) or ftp://f');
  });
  it('leaves sentence punctuation out but keeps balanced parentheses', () => {
    expect(splitLinks('(https://en.wikipedia.org/wiki/Magpie_(bird)).')[1].text).toBe('https://en.wikipedia.org/wiki/Magpie_(bird)');
    expect(splitLinks('go to https://a.com.')[1].text).toBe('https://a.com');
    expect(splitLinks('"https://a.com/x"')[1].text).toBe('https://a.com/x');
  });
  it('never links text that only looks like a tag or a script', () => {
    const p = splitLinks('<img src=x onerror=alert(1)> https://ok.com/<script>');
    expect(p.filter((x) => x.href).map((x) => x.text)).toEqual(['https://ok.com/']);
  });
  it('keeps plain text whole', () => {
    expect(splitLinks('hello 世界')).toEqual([{ text: 'hello 世界' }]);
    expect(splitLinks('')).toEqual([]);
  });
});

describe('mentions', () => {
  it('highlights @names only when the message has mentions', () => {
    expect(richText('hi @bob and @all', false)).toEqual([{ text: 'hi @bob and @all' }]);
    const p = richText('hi @bob, mail a@b.com https://x.com/@carol', true);
    expect(p.filter((x) => x.mention).map((x) => x.text)).toEqual(['@bob']);
    expect(p.map((x) => x.text).join('')).toBe('hi @bob, mail a@b.com https://x.com/@carol');
  });
  it('finds the @word under the caret', () => {
    expect(mentionAt('hello @bo', 9)).toEqual({ start: 6, query: 'bo' });
    expect(mentionAt('@', 1)).toEqual({ start: 0, query: '' });
    expect(mentionAt('mail a@b', 8)).toBeNull();
    expect(mentionAt('hello @bob done', 15)).toBeNull();
    expect(mentionAt('x @Al', 5)).toEqual({ start: 2, query: 'al' });
  });
  it('inserts @username and a space and moves the caret after it', () => {
    expect(insertMention('hi @bo!', 3, 6, 'bob')).toEqual({ text: 'hi @bob !', caret: 8 });
  });
  it('collects the chosen mentions still in the text, and @all in groups', () => {
    const chosen = new Map([
      ['bob', '1'],
      ['carol', '2'],
      ['bo', '3'],
    ]);
    expect(collectMentions('hey @bob and @all', chosen, true)).toEqual({ mentions: ['1'], mention_all: true });
    expect(collectMentions('hey @bob and @all', chosen, false)).toEqual({ mentions: ['1'], mention_all: false });
    expect(collectMentions('nobody', chosen, true)).toEqual({ mentions: [], mention_all: false });
    expect(hasMention('x@bob', 'bob')).toBe(false);
    expect(hasMention('@bob.smith', 'bob')).toBe(false);
    expect(hasMention('(@bob)', 'bob')).toBe(true);
  });
});

describe('delivery state', () => {
  it('has a label and an icon for every state', () => {
    for (const s of ['pending', 'sent', 'delivered', 'read', 'failed'] as const) {
      expect(en[stateLabelKey(s)]).toBeTruthy();
      expect(stateIcon(s)).toBeTruthy();
    }
    expect(stateIcon('read')).toBe(stateIcon('delivered'));
    expect(en[stateLabelKey('read')]).not.toBe(en[stateLabelKey('delivered')]);
  });
});

describe('relative time', () => {
  it('picks the largest unit below its next step', () => {
    const now = 1_000_000_000_000;
    expect(relativeParts(now - 30_000, now)).toEqual([-30, 'second']);
    expect(relativeParts(now - 3 * 60_000, now)).toEqual([-3, 'minute']);
    expect(relativeParts(now - 5 * 3600_000, now)).toEqual([-5, 'hour']);
    expect(relativeParts(now - 2 * 86400_000, now)).toEqual([-2, 'day']);
  });
});

describe('row height estimate', () => {
  it('grows with the text and the parts a bubble shows', () => {
    const d = new Date(2026, 0, 1, 9);
    const [day, row] = buildRows([msg(1, d)]);
    const short = estimateRowHeight(row);
    expect(estimateRowHeight(day)).toBeLessThan(short);
    const long = buildRows([msg(1, d, 'a', { text: 'word '.repeat(200) })])[1];
    expect(estimateRowHeight(long)).toBeGreaterThan(short + 100);
    const photo = buildRows([msg(1, d, 'a', { kind: 'image', text: '' })])[1];
    expect(estimateRowHeight(photo)).toBeGreaterThan(200);
    expect(estimateRowHeight(undefined)).toBeGreaterThan(0);
  });
});
