// The slow-mode countdown the composer reads: it starts on a refusal, counts
// down once a second and stops its clock at zero.
import { describe, it, expect, vi, afterEach } from 'vitest';
import { noteSendError, noteSlowMode, slowModeRemaining } from '../../src/state/groups';

afterEach(() => {
  vi.useRealTimers();
});

describe('slowModeRemaining', () => {
  it('counts down from a slow_mode refusal to zero', () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const left = slowModeRemaining('w1');
    expect(left.value).toBe(0);
    noteSendError('w1', { code: 'slow_mode', message: 'slow mode: wait 2500 ms before posting in the world room again' });
    expect(left.value).toBe(3);
    vi.advanceTimersByTime(1000);
    expect(left.value).toBe(2);
    vi.advanceTimersByTime(1600);
    expect(left.value).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });
  it('ignores other errors and keeps the later deadline', () => {
    vi.useFakeTimers({ now: 2_000_000 });
    noteSendError('w2', { code: 'muted', message: 'wait 9000 ms' });
    expect(slowModeRemaining('w2').value).toBe(0);
    noteSlowMode('w2', 10_000);
    noteSlowMode('w2', 1_000);
    expect(slowModeRemaining('w2').value).toBe(10);
    vi.advanceTimersByTime(10_000);
    expect(slowModeRemaining('w2').value).toBe(0);
  });
});
