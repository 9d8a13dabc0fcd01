// The pure parts of the conversation list, the search and the forward picker:
// names, previews, time labels, filtering and highlight splitting. Kept apart
// from the components so that the unit tests run them without a DOM.
import { t, lang } from '../../i18n';
import type { ConversationEntry, ConvSettings, Id, Message, Profile } from '../../lib/types';

/** The name a conversation is listed under. */
export function convName(c: ConversationEntry): string {
  if (c.kind === 'world') return t('chat.world');
  if (c.kind === 'direct') return c.peer?.display_name || c.peer?.username || t('chat.unknownUser');
  return c.title || t('chat.untitledGroup');
}

/** What a message of a kind other than text is called in a preview. */
export function kindLabel(m: Pick<Message, 'kind' | 'content'>): string {
  switch (m.kind) {
    case 'image':
      return t('chat.kind.image');
    case 'voice':
      return t('chat.kind.voice');
    case 'video':
      return t('chat.kind.video');
    case 'file':
      return t('chat.kind.file', { name: String(m.content?.name ?? '') });
    case 'location':
      return m.content?.title ? t('chat.kind.locationNamed', { title: String(m.content.title) }) : t('chat.kind.location');
    case 'contact':
      return t('chat.kind.contact');
    default:
      return '';
  }
}

/** The body of a preview line without the sender: the text, the kind's
 * label (with the caption when there is one), or the tombstone. */
export function messageSummary(m: Message): string {
  if (m.deleted) return t('chat.preview.deleted');
  if (m.kind === 'text' || m.kind === 'system') return oneLine(m.text);
  const label = kindLabel(m);
  return m.text ? t('chat.preview.caption', { label, text: oneLine(m.text) }) : label;
}

/** The last-message line of a row: "You: …" for our own messages, the
 * sender's name in a group or the world, nothing before a direct peer's. */
export function previewText(
  c: Pick<ConversationEntry, 'kind' | 'last_message'>,
  meId: Id | undefined,
  users: Map<Id, Profile>,
): string {
  const m = c.last_message;
  if (!m) return t('chat.preview.empty');
  const body = messageSummary(m);
  if (m.kind === 'system' || m.deleted) return body;
  if (m.sender === meId) return t('chat.preview.mine', { text: body });
  if (c.kind === 'direct') return body;
  const who = users.get(m.sender);
  return who ? t('chat.preview.theirs', { name: who.display_name || who.username, text: body }) : body;
}

function oneLine(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}

/** Intl.DateTimeFormat objects are costly to build (about a millisecond
 * each): a list that builds one per row and per render stutters while it
 * scrolls. One per language and style, kept. */
const formats = new Map<string, Intl.DateTimeFormat>();
function fmt(style: 'time' | 'weekday' | 'day' | 'date', ms: number): string {
  const loc = lang.value === 'zh' ? 'zh-CN' : 'en';
  const key = loc + style;
  let f = formats.get(key);
  if (!f) {
    const opts: Record<typeof style, Intl.DateTimeFormatOptions> = {
      time: { hour: '2-digit', minute: '2-digit' },
      weekday: { weekday: 'short' },
      day: { month: 'short', day: 'numeric' },
      date: { year: 'numeric', month: 'short', day: 'numeric' },
    };
    formats.set(key, (f = new Intl.DateTimeFormat(loc, opts[style])));
  }
  return f.format(ms);
}

function dayStart(ms: number): number {
  const d = new Date(ms);
  d.setHours(0, 0, 0, 0);
  return d.getTime();
}

/** The time a row shows: hh:mm today, the weekday within the last week,
 * else the date (without the year when it is this year). */
export function timeLabel(ms: number, now = Date.now()): string {
  if (!ms) return '';
  const today = dayStart(now);
  if (ms >= today) return fmt('time', ms);
  // Six days back: a weekday name is never ambiguous with today's.
  const weekAgo = new Date(today);
  weekAgo.setDate(weekAgo.getDate() - 6);
  if (ms >= weekAgo.getTime()) return fmt('weekday', ms);
  return fmt(new Date(ms).getFullYear() === new Date(now).getFullYear() ? 'day' : 'date', ms);
}

/** Whether notifications of a conversation are off now. */
export function isMuted(s: Pick<ConvSettings, 'muted_until'> | undefined, now = Date.now()): boolean {
  const u = s?.muted_until ?? 0;
  return u === -1 || u > now;
}

export type MuteChoice = '1h' | '8h' | 'forever' | 'off';

/** The muted_until a menu choice sends to the server. */
export function muteUntil(choice: MuteChoice, now = Date.now()): number {
  if (choice === 'forever') return -1;
  if (choice === 'off') return 0;
  return now + (choice === '1h' ? 1 : 8) * 3_600_000;
}

/** Case-insensitive filter by name (and a peer's username); keeps order. */
export function filterConversations(list: ConversationEntry[], q: string): ConversationEntry[] {
  const needle = q.trim().toLocaleLowerCase();
  if (!needle) return list;
  return list.filter(
    (c) =>
      convName(c).toLocaleLowerCase().includes(needle) ||
      (c.peer?.username ?? '').toLocaleLowerCase().includes(needle),
  );
}

/** Who types in a conversation now (not us, not expired), by display name. */
export function typingNames(
  who: Map<Id, number> | undefined,
  meId: Id | undefined,
  users: Map<Id, Profile>,
  now = Date.now(),
): string[] {
  if (!who) return [];
  const out: string[] = [];
  for (const [id, until] of who) {
    if (id === meId || until <= now) continue;
    const p = users.get(id);
    out.push(p?.display_name || p?.username || '');
  }
  return out;
}

/** The line shown in place of the preview while someone types. */
export function typingLabel(kind: ConversationEntry['kind'], names: string[]): string {
  if (names.length === 0) return '';
  if (kind === 'direct' || names.length > 1 || !names[0]) return t('chat.typing');
  return t('chat.typingNamed', { name: names[0] });
}

export interface Part {
  text: string;
  hit: boolean;
}

/** Splits a search snippet into plain and highlighted parts. The server
 * counts [start, length] in Unicode characters (code points), so the text is
 * split by code point, never by UTF-16 unit; overlapping or out-of-range
 * ranges are clipped. Rendered as text nodes: nothing is parsed as HTML. */
export function splitHighlights(snippet: string, highlights: [number, number][] | undefined): Part[] {
  const chars = Array.from(snippet);
  const ranges = (highlights ?? [])
    .map(([s, l]) => [Math.max(0, s), Math.min(chars.length, s + l)] as [number, number])
    .filter(([s, e]) => e > s)
    .sort((a, b) => a[0] - b[0]);
  const parts: Part[] = [];
  let at = 0;
  for (const [s, e] of ranges) {
    const from = Math.max(s, at);
    if (from >= e) continue;
    if (from > at) parts.push({ text: chars.slice(at, from).join(''), hit: false });
    const text = chars.slice(from, e).join('');
    const last = parts[parts.length - 1];
    // Touching ranges make one mark.
    if (last?.hit && from === at) last.text += text;
    else parts.push({ text, hit: true });
    at = e;
  }
  if (at < chars.length) parts.push({ text: chars.slice(at).join(''), hit: false });
  return parts;
}

/** The badge text: the count (99+ above 99). */
export function unreadBadge(n: number): string {
  return n > 99 ? '99+' : String(n);
}
