// The chats screen's icons as inline SVG (no icon font, no emoji font
// needed); decorative: the buttons around them carry the names.
const base = {
  width: 20,
  height: 20,
  viewBox: '0 0 24 24',
  fill: 'none',
  stroke: 'currentColor',
  'stroke-width': 2,
  'stroke-linecap': 'round' as const,
  'stroke-linejoin': 'round' as const,
  'aria-hidden': true,
  focusable: 'false',
};

export const SearchIcon = () => (
  <svg {...base}>
    <circle cx="11" cy="11" r="7" />
    <path d="m20 20-3.5-3.5" />
  </svg>
);
export const PlusIcon = () => (
  <svg {...base}>
    <path d="M12 5v14M5 12h14" />
  </svg>
);
export const MoreIcon = () => (
  <svg {...base}>
    <circle cx="5" cy="12" r="1" />
    <circle cx="12" cy="12" r="1" />
    <circle cx="19" cy="12" r="1" />
  </svg>
);
export const PinIcon = () => (
  <svg {...base} width={14} height={14}>
    <path d="M12 17v5M9 3h6l-1 7 4 4H6l4-4z" />
  </svg>
);
export const MutedIcon = () => (
  <svg {...base} width={14} height={14}>
    <path d="M6 8a6 6 0 0 1 10.4-4M18 8c0 7 3 9 3 9H7M13.7 21a2 2 0 0 1-3.4 0M2 2l20 20" />
  </svg>
);
