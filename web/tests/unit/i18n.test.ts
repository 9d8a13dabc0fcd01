// Every string exists in English and Simplified Chinese, with the same {params}.
import { describe, it, expect } from 'vitest';
import { tables } from '../../src/i18n';

const params = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort().join(',');

describe('translation table', () => {
  it('has the same keys in both languages', () => {
    const en = Object.keys(tables.en).sort();
    const zh = Object.keys(tables.zh).sort();
    expect(zh.filter((k) => !(k in tables.en))).toEqual([]);
    expect(en.filter((k) => !(k in tables.zh))).toEqual([]);
  });
  it('has the same parameters in both languages', () => {
    for (const k of Object.keys(tables.en)) expect([k, params(tables.zh[k] ?? '')]).toEqual([k, params(tables.en[k])]);
  });
  it('has no empty string', () => {
    for (const l of ['en', 'zh'] as const) for (const [k, v] of Object.entries(tables[l])) expect([k, v.trim().length > 0]).toEqual([k, true]);
  });
});
