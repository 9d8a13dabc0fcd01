// The admin console's pure logic: rates from counters, sample windows,
// durations, paging merges, sparklines, temporary passwords.
import { describe, it, expect } from 'vitest';
import {
  ratePerSecond,
  pushSample,
  rates,
  splitDuration,
  mergePage,
  replaceItem,
  sparkPath,
  tempPassword,
  expiresIn,
  auditDetail,
  agoParts,
} from '../../src/state/admin';

const s = (at: number, messages: number, sessions = 0) => ({ at, messages, sessions });

describe('message rate', () => {
  it('is the difference of the counters over the time between readings', () => {
    expect(ratePerSecond(s(0, 100), s(5000, 150))).toBe(10);
    expect(ratePerSecond(s(1000, 7), s(3000, 8))).toBe(0.5);
  });
  it('cannot be told without an earlier reading, time between, or when the counter went back', () => {
    expect(ratePerSecond(undefined, s(0, 5))).toBeNull();
    expect(ratePerSecond(s(1000, 5), s(1000, 9))).toBeNull();
    expect(ratePerSecond(s(0, 50), s(5000, 10))).toBeNull();
  });
  it('gives one rate per pair of readings, skipping the ones it cannot tell', () => {
    expect(rates([s(0, 0), s(1000, 2), s(2000, 1), s(3000, 4)])).toEqual([2, 3]);
    expect(rates([s(0, 0)])).toEqual([]);
  });
});

describe('sample window', () => {
  it('keeps only the readings of the last window', () => {
    let l = [s(0, 0), s(5000, 1)];
    l = pushSample(l, s(11000, 2), 10000);
    expect(l.map((x) => x.at)).toEqual([5000, 11000]);
  });
});

describe('durations', () => {
  it('keeps the two largest units, dropping a zero second one', () => {
    expect(splitDuration(0)).toEqual([[0, 's']]);
    expect(splitDuration(59)).toEqual([[59, 's']]);
    expect(splitDuration(62)).toEqual([[1, 'm'], [2, 's']]);
    expect(splitDuration(3600)).toEqual([[1, 'h']]);
    expect(splitDuration(86400 * 3 + 3600 * 4 + 61)).toEqual([[3, 'd'], [4, 'h']]);
    expect(splitDuration(86400 + 300)).toEqual([[1, 'd']]);
    expect(splitDuration(-5)).toEqual([[0, 's']]);
  });
});

describe('paging', () => {
  const key = (x: { id: string }) => x.id;
  it('appends a page and drops rows already shown', () => {
    const a = [{ id: '1' }, { id: '2' }];
    expect(mergePage(a, [{ id: '2' }, { id: '3' }], key).map(key)).toEqual(['1', '2', '3']);
    expect(mergePage([], [{ id: '9' }], key).map(key)).toEqual(['9']);
  });
  it('replaces a changed row in place', () => {
    const a = [{ id: '1', v: 1 }, { id: '2', v: 1 }];
    expect(replaceItem(a, { id: '2', v: 2 }, key)).toEqual([{ id: '1', v: 1 }, { id: '2', v: 2 }]);
  });
});

describe('sparkline', () => {
  it('needs two values', () => {
    expect(sparkPath([], 100, 10)).toBe('');
    expect(sparkPath([3], 100, 10)).toBe('');
  });
  it('spreads values over the width with the largest at the top', () => {
    expect(sparkPath([0, 5, 10], 100, 10)).toBe('M0 10 L50 5 L100 0');
  });
  it('lays a flat zero line at the bottom', () => {
    expect(sparkPath([0, 0], 10, 10)).toBe('M0 10 L10 10');
  });
});

describe('temporary password', () => {
  it('has 16 characters without look-alikes', () => {
    const p = tempPassword();
    expect(p).toHaveLength(16);
    expect(p).not.toMatch(/[01lIO]/);
  });
  it('draws from the random source it is given', () => {
    const zeros = (a: Uint32Array) => a.fill(0);
    expect(tempPassword(zeros)).toBe('a'.repeat(16));
  });
});

describe('invite expiry', () => {
  it('turns a choice into seconds, or none for never', () => {
    expect(expiresIn('1h')).toBe(3600);
    expect(expiresIn('7d')).toBe(604800);
    expect(expiresIn('')).toBeUndefined();
  });
});

describe('audit detail', () => {
  it('lists the members', () => {
    expect(auditDetail({ username: 'bob', changed: false })).toBe('username: bob, changed: false');
    expect(auditDetail(null)).toBe('');
  });
});

describe('last seen', () => {
  it('is told in the largest whole unit', () => {
    const now = 10_000_000_000;
    expect(agoParts(now - 5_000, now)).toEqual({ value: -5, unit: 'second' });
    expect(agoParts(now - 125_000, now)).toEqual({ value: -2, unit: 'minute' });
    expect(agoParts(now - 3 * 3600_000, now)).toEqual({ value: -3, unit: 'hour' });
    expect(agoParts(now - 49 * 3600_000, now)).toEqual({ value: -2, unit: 'day' });
    expect(agoParts(now + 1000, now)).toEqual({ value: 0, unit: 'second' });
  });
});
