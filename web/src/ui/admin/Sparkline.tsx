// A small inline SVG line of recent values (no chart library): decorative,
// the figure beside it says the current value in words.
import { sparkPath } from '../../state/admin';

const W = 120;
const H = 28;

export function Sparkline(p: { values: number[] }) {
  const d = sparkPath(p.values, W, H);
  return (
    <svg class="admin-spark" viewBox={`0 0 ${W} ${H}`} width={W} height={H} aria-hidden="true" focusable="false">
      {d && <path d={d} fill="none" stroke="currentColor" stroke-width="1.5" stroke-linejoin="round" />}
    </svg>
  );
}
