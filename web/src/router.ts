// Client-side routes are real paths (/chats/123, /join/<token>): the server
// answers every non-API path with index.html, so a link or a reload lands on
// the same screen.
import { signal } from '@preact/signals';

export const path = signal<string>(globalThis.location?.pathname ?? '/');

export function navigate(to: string, replace = false): void {
  if (to === path.value) return;
  if (replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  path.value = to;
}

globalThis.addEventListener?.('popstate', () => {
  path.value = location.pathname;
});

/** Matches "/chats/:id" against p; returns the params or null. */
export function match(pattern: string, p: string): Record<string, string> | null {
  const a = pattern.split('/');
  const b = p.split('/');
  if (a.length !== b.length) return null;
  const out: Record<string, string> = {};
  for (let i = 0; i < a.length; i++) {
    if (a[i].startsWith(':')) {
      if (!b[i]) return null;
      out[a[i].slice(1)] = decodeURIComponent(b[i]);
    } else if (a[i] !== b[i]) return null;
  }
  return out;
}
