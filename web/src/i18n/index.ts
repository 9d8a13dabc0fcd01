// One translation table for every string the client shows. Each area of the
// client has its own file per language (en/<area>.ts, zh/<area>.ts), so that
// the areas grow without touching each other; tests/unit/i18n.test.ts checks
// that both languages have the same keys and parameters.
import { signal } from '@preact/signals';
import enCommon from './en/common';
import enAuth from './en/auth';
import enChat from './en/chat';
import enConv from './en/conv';
import enMedia from './en/media';
import enGroups from './en/groups';
import enPeople from './en/people';
import enSettings from './en/settings';
import enAdmin from './en/admin';
import zhCommon from './zh/common';
import zhAuth from './zh/auth';
import zhChat from './zh/chat';
import zhConv from './zh/conv';
import zhMedia from './zh/media';
import zhGroups from './zh/groups';
import zhPeople from './zh/people';
import zhSettings from './zh/settings';
import zhAdmin from './zh/admin';

export type Lang = 'en' | 'zh';

export const tables: Record<Lang, Record<string, string>> = {
  en: { ...enCommon, ...enAuth, ...enChat, ...enConv, ...enMedia, ...enGroups, ...enPeople, ...enSettings, ...enAdmin },
  zh: { ...zhCommon, ...zhAuth, ...zhChat, ...zhConv, ...zhMedia, ...zhGroups, ...zhPeople, ...zhSettings, ...zhAdmin },
};

function initial(): Lang {
  const saved = globalThis.localStorage?.getItem('magpie.lang');
  if (saved === 'en' || saved === 'zh') return saved;
  return globalThis.navigator?.language?.toLowerCase().startsWith('zh') ? 'zh' : 'en';
}

export const lang = signal<Lang>(initial());

export function setLang(l: Lang): void {
  lang.value = l;
  globalThis.localStorage?.setItem('magpie.lang', l);
  if (globalThis.document) document.documentElement.lang = l === 'zh' ? 'zh-Hans' : 'en';
}

/** The string for key in the current language, with {name} replaced from
 * params. A missing key shows as the key itself (and fails the unit test). */
export function t(key: string, params?: Record<string, string | number>): string {
  let s = tables[lang.value][key] ?? tables.en[key] ?? key;
  if (params) s = s.replace(/\{(\w+)\}/g, (m, k) => (k in params ? String(params[k]) : m));
  return s;
}

// Building an Intl formatter costs far more than using one: a long list
// formats hundreds of times per scroll, so each is made once per language.
const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(kind: 'time' | 'day'): Intl.DateTimeFormat {
  const key = lang.value + kind;
  let f = formatters.get(key);
  if (!f) {
    const locale = lang.value === 'zh' ? 'zh-CN' : 'en';
    f = new Intl.DateTimeFormat(locale, kind === 'time' ? { hour: '2-digit', minute: '2-digit' } : { dateStyle: 'medium' });
    formatters.set(key, f);
  }
  return f;
}

/** A time of day ("14:05") in the current language. */
export function fmtTime(ms: number): string {
  return formatter('time').format(ms);
}
/** A date ("Nov 26, 2026") in the current language. */
export function fmtDay(ms: number): string {
  return formatter('day').format(ms);
}
