// The pure helpers of the media components: avatar initials and colour,
// image boxes, waveform bars, file icons.
import { describe, it, expect } from 'vitest';
import { hueOf, initialsOf } from '../../src/ui/media/Avatar';
import { fitBox } from '../../src/ui/media/ImageContent';
import { barsOf } from '../../src/ui/media/VoicePlayer';
import { mimeLabel } from '../../src/ui/media/MessageContent';

describe('avatar', () => {
  it('takes initials of two Latin words, else the first character', () => {
    expect(initialsOf('Ann Lee')).toBe('AL');
    expect(initialsOf('bob')).toBe('B');
    expect(initialsOf('李雷')).toBe('李');
    expect(initialsOf('  ')).toBe('?');
    expect(initialsOf('😀 x')).toBe('😀');
  });
  it('keeps one hue per name', () => {
    expect(hueOf('ann')).toBe(hueOf('ann'));
    expect(hueOf('ann')).toBeGreaterThanOrEqual(0);
    expect(hueOf('ann')).toBeLessThan(360);
  });
});

describe('fitBox', () => {
  it('scales down keeping the aspect ratio and never enlarges', () => {
    expect(fitBox(640, 480)).toEqual({ width: 280, height: 210 });
    expect(fitBox(480, 1920)).toEqual({ width: 80, height: 320 });
    expect(fitBox(100, 50)).toEqual({ width: 100, height: 50 });
    expect(fitBox(undefined, undefined)).toEqual({ width: 280, height: 280 });
  });
});

describe('barsOf', () => {
  it('gives 64 bars with a floor', () => {
    const b = barsOf(Array.from({ length: 64 }, (_, i) => i));
    expect(b).toHaveLength(64);
    expect(b[0]).toBe(8);
    expect(b[63]).toBe(63);
    expect(barsOf(undefined)).toEqual(Array(64).fill(8));
  });
});

describe('mimeLabel', () => {
  it('shows the extension, else the type family', () => {
    expect(mimeLabel('application/pdf', 'report.pdf')).toBe('PDF');
    expect(mimeLabel('application/zip', 'noext')).toBe('ZIP');
    expect(mimeLabel('text/plain', '')).toBe('TXT');
    expect(mimeLabel('application/octet-stream', 'a.verylongext')).toBe('FILE');
  });
});
