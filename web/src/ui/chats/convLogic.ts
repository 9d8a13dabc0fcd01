// The conversation view's pure logic, kept apart from the components so that
// unit tests run it without a DOM: rows with day separators, safe links,
// mentions in the composer, and what a delivery state says.
import type { DeliveryState, LocalMessage } from '../../state/chat';
import type { Id } from '../../lib/types';

/** A row of the message list: a day separator or a message. */
export type Row =
  | { type: 'day'; key: string; day: number }
  | { type: 'msg'; key: string; m: LocalMessage; first: boolean };

/** The local calendar day of a time, as a sortable key. */
export function dayKey(ms: number): string {
  const d = new Date(ms);
  return d.getFullYear() + '-' + (d.getMonth() + 1) + '-' + d.getDate();
}

/** A message's row key: its client_msg_id when we sent it, so that a pending
 * message keeps its row (and measured height) when the ack gives it an id. */
export function messageKey(m: LocalMessage): string {
  return m.client_msg_id ? 'c:' + m.client_msg_id : m.message_id;
}

/** Interleaves day separators into messages (in seq order). `first` marks a
 * message that starts a run of one sender, where the name and avatar show. */
export function buildRows(messages: LocalMessage[]): Row[] {
  const rows: Row[] = [];
  let lastDay = '';
  let lastSender: Id | null = null;
  for (const m of messages) {
    const day = dayKey(m.created_at);
    if (day !== lastDay) {
      rows.push({ type: 'day', key: 'day:' + day, day: m.created_at });
      lastDay = day;
      lastSender = null;
    }
    const first = m.kind === 'system' || m.sender !== lastSender;
    rows.push({ type: 'msg', key: messageKey(m), m, first });
    lastSender = m.kind === 'system' ? null : m.sender;
  }
  return rows;
}

/** A piece of message text: plain, a link (http/https only) or a mention. */
export type Piece = { text: string; href?: string; mention?: boolean };

const URL_RE = /\bhttps?:\/\/[^\s<>"'`]+/gi;
const TRAILING = /[.,;:!?'"»”’)\]}]+$/;

/** Cuts the punctuation that ends a sentence off a found URL, but keeps a
 * closing parenthesis that has its opening one inside (wikipedia links). */
function trimUrl(u: string): string {
  let out = u;
  for (;;) {
    const m = TRAILING.exec(out);
    if (!m) return out;
    const tail = m[0];
    if (tail.endsWith(')') && count(out, '(') >= count(out, ')')) return out;
    out = out.slice(0, out.length - 1);
  }
}
function count(s: string, c: string): number {
  let n = 0;
  for (const ch of s) if (ch === c) n++;
  return n;
}

/** Splits text into plain pieces and http(s) links. Only these two schemes
 * ever become links (no javascript:, data: or file:). */
export function splitLinks(text: string): Piece[] {
  const out: Piece[] = [];
  let at = 0;
  for (const m of text.matchAll(URL_RE)) {
    const url = trimUrl(m[0]);
    let href: string;
    try {
      const u = new URL(url);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') continue;
      href = u.href;
    } catch {
      continue;
    }
    if (m.index! > at) out.push({ text: text.slice(at, m.index) });
    out.push({ text: url, href });
    at = m.index! + url.length;
  }
  if (at < text.length) out.push({ text: text.slice(at) });
  return out;
}

const MENTION_RE = /(^|[^\w@.])@([a-z0-9_.]{3,32}|all)\b/gi;

/** Splits plain text further into @mentions to highlight: @all when the
 * message mentions everyone, @name when the message has mentions. */
export function splitMentions(text: string, highlight: boolean): Piece[] {
  if (!highlight) return [{ text }];
  const out: Piece[] = [];
  let at = 0;
  for (const m of text.matchAll(MENTION_RE)) {
    const start = m.index! + m[1].length;
    if (start > at) out.push({ text: text.slice(at, start) });
    out.push({ text: '@' + m[2], mention: true });
    at = start + 1 + m[2].length;
  }
  if (at < text.length) out.push({ text: text.slice(at) });
  return out;
}

/** Links first, then mentions inside the plain pieces. */
export function richText(text: string, mentions: boolean): Piece[] {
  return splitLinks(text).flatMap((p) => (p.href ? [p] : splitMentions(p.text, mentions)));
}

/** The @word the caret is in (for the mention picker), or null. */
export function mentionAt(text: string, caret: number): { start: number; query: string } | null {
  const before = text.slice(0, caret);
  const m = /(^|\s)@([a-z0-9_.]{0,32})$/i.exec(before);
  if (!m) return null;
  return { start: before.length - m[2].length - 1, query: m[2].toLowerCase() };
}

/** Replaces the @word at start..caret with "@username " and gives the new
 * text and caret. */
export function insertMention(text: string, start: number, caret: number, username: string) {
  const ins = '@' + username + ' ';
  return { text: text.slice(0, start) + ins + text.slice(caret), caret: start + ins.length };
}

/** Whether text still holds "@username" as a whole word. */
export function hasMention(text: string, username: string): boolean {
  const esc = username.replace(/[.]/g, '\\.');
  return new RegExp('(^|[^\\w@.])@' + esc + '(?![\\w.])', 'i').test(text);
}

/** The ids of the chosen mentions that the text still contains, and whether
 * it mentions everyone (@all, groups only). */
export function collectMentions(text: string, chosen: Map<string, Id>, group: boolean) {
  const ids = [...chosen].filter(([name]) => hasMention(text, name)).map(([, id]) => id);
  return { mentions: [...new Set(ids)], mention_all: group && hasMention(text, 'all') };
}

/** The i18n key of a delivery state's accessible label, and its icon. */
export function stateLabelKey(s: DeliveryState): string {
  return 'conv.state.' + s;
}
export function stateIcon(s: DeliveryState): 'clock' | 'check' | 'checks' | 'alert' {
  switch (s) {
    case 'pending':
      return 'clock';
    case 'sent':
      return 'check';
    case 'delivered':
    case 'read':
      return 'checks';
    case 'failed':
      return 'alert';
  }
}

/** The newest seq among the messages in [from, to] of rows. */
export function newestSeq(rows: Row[], from: number, to: number): number {
  let seq = 0;
  for (let i = Math.max(0, from); i <= to && i < rows.length; i++) {
    const r = rows[i];
    if (r.type === 'msg' && r.m.seq > seq) seq = r.m.seq;
  }
  return seq;
}

const STEPS: [Intl.RelativeTimeFormatUnit, number][] = [
  ['second', 60],
  ['minute', 60],
  ['hour', 24],
  ['day', 7],
  ['week', 4.35],
  ['month', 12],
  ['year', Infinity],
];
/** A time relative to now as a rounded value and the largest unit that keeps
 * it below that unit's next step ("last seen 3 hours ago"). */
export function relativeParts(ms: number, now: number): [number, Intl.RelativeTimeFormatUnit] {
  let v = (ms - now) / 1000;
  for (const [unit, n] of STEPS) {
    if (Math.abs(v) < n) return [Math.round(v), unit];
    v /= n;
  }
  return [Math.round(v), 'year'];
}

/** A guess at a row's height before it is measured: close guesses keep the
 * scrollbar steady and the first measurement from moving rows around. */
export function estimateRowHeight(r: Row | undefined, width = 600): number {
  if (!r) return 60;
  if (r.type === 'day') return 40;
  const m = r.m;
  if (m.kind === 'system') return 32;
  let h = 36 + (r.first ? 22 : 0);
  if (m.kind === 'image' || m.kind === 'video') h += 220;
  else if (m.kind !== 'text') h += 56;
  if (m.reply_to) h += 44;
  if (m.reactions?.length) h += 30;
  const perLine = Math.max(20, Math.floor((width * 0.7) / 8.5));
  let lines = 0;
  for (const part of (m.text ?? '').split('\n')) lines += Math.max(1, Math.ceil(part.length / perLine));
  return h + (m.text ? lines * 21 : 0);
}
