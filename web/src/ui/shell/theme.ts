// Light and dark themes: "system" follows prefers-color-scheme; the choice is
// kept in localStorage and set as data-theme on <html> (styles/base.css).
import { signal } from '@preact/signals';

export type Theme = 'system' | 'light' | 'dark';
export const theme = signal<Theme>((globalThis.localStorage?.getItem('magpie.theme') as Theme) || 'system');

export function applyTheme(th: Theme = theme.value): void {
  theme.value = th;
  globalThis.localStorage?.setItem('magpie.theme', th);
  const dark = th === 'dark' || (th === 'system' && globalThis.matchMedia?.('(prefers-color-scheme: dark)').matches);
  document.documentElement.dataset.theme = dark ? 'dark' : 'light';
}
