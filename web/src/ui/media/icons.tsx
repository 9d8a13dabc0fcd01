// Small line icons drawn with SVG (emoji depend on the fonts installed, and
// an SVG follows the text colour of either theme). Always decorative: the
// button around an icon carries the name.
import type { ComponentChildren } from 'preact';

function Svg(p: { size?: number; children: ComponentChildren }) {
  const s = p.size ?? 20;
  return (
    <svg class="media-icon" width={s} height={s} viewBox="0 0 24 24" fill="none" stroke="currentColor"
      stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true" focusable="false">
      {p.children}
    </svg>
  );
}

export const ClipIcon = () => (
  <Svg><path d="M21 11.5l-8.6 8.6a5.5 5.5 0 0 1-7.8-7.8l8.6-8.6a3.7 3.7 0 0 1 5.2 5.2l-8.6 8.6a1.8 1.8 0 0 1-2.6-2.6l8-8" /></Svg>
);
export const MicIcon = () => (
  <Svg><rect x="9" y="2" width="6" height="12" rx="3" /><path d="M5 11a7 7 0 0 0 14 0M12 18v4M8 22h8" /></Svg>
);
export const DownloadIcon = () => (
  <Svg size={16}><path d="M12 3v12M7 10l5 5 5-5M4 21h16" /></Svg>
);
export const PlayIcon = () => (
  <Svg size={16}><path d="M7 4l13 8-13 8z" fill="currentColor" /></Svg>
);
export const PauseIcon = () => (
  <Svg size={16}><path d="M7 4v16M17 4v16" stroke-width="4" /></Svg>
);
export const StopIcon = () => (
  <Svg size={16}><rect x="5" y="5" width="14" height="14" rx="2" fill="currentColor" /></Svg>
);
export const PinIcon = () => (
  <Svg size={28}><path d="M12 22s7-6.5 7-12a7 7 0 0 0-14 0c0 5.5 7 12 7 12z" /><circle cx="12" cy="10" r="2.5" /></Svg>
);
export const PersonIcon = () => (
  <Svg size={28}><circle cx="12" cy="8" r="4" /><path d="M4 21a8 8 0 0 1 16 0" /></Svg>
);

/** A document with a label of its family (PDF, ZIP, …) under the fold. */
export function FileIcon(p: { label: string }) {
  return (
    <svg class="media-icon media-file-icon" width="36" height="40" viewBox="0 0 36 40" aria-hidden="true" focusable="false">
      <path d="M4 2h19l9 9v27H4z" fill="var(--bg-soft)" stroke="currentColor" stroke-width="2" stroke-linejoin="round" />
      <path d="M23 2v9h9" fill="none" stroke="currentColor" stroke-width="2" stroke-linejoin="round" />
      <text x="18" y="31" text-anchor="middle" font-size="9" font-weight="700" fill="currentColor">{p.label}</text>
    </svg>
  );
}
