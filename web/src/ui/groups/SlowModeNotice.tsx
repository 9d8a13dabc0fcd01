// The world room's slow mode: after a post (or a `slow_mode` refusal) a live
// countdown until the next post is accepted. Only this small component
// re-renders each second; the composer reads slowModeRemaining(convId).
import { t } from '../../i18n';
import { slowModeRemaining } from '../../state/groups';
import './groups.css';

export function SlowModeNotice(p: { convId: string }) {
  const left = slowModeRemaining(p.convId).value;
  // The live region stays in the page so that screen readers announce its changes.
  return (
    <p class={left > 0 ? 'g-slow on' : 'g-slow'} aria-live="polite" aria-atomic="true" data-testid="slowmode-countdown">
      {left > 0 ? t('groups.slow.wait', { n: left }) : ''}
    </p>
  );
}
