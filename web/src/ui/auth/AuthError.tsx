// The server's answer to a refused form, announced as an alert; with a
// rate limit, also how long to wait.
import { t } from '../../i18n';
import type { Submit } from './useSubmit';

export function AuthError(p: { s: Submit }) {
  if (!p.s.message && p.s.wait <= 0) return null;
  return (
    <div class="auth-error" role="alert" data-testid="auth-error">
      {p.s.message && <p>{p.s.message}</p>}
      {p.s.wait > 0 && <p>{t('auth.retryIn', { seconds: p.s.wait })}</p>}
    </div>
  );
}

/** The submit button: disabled while busy or rate-limited. */
export function SubmitButton(p: { s: Submit; testid: string; label: string }) {
  const off = p.s.busy || p.s.wait > 0;
  return (
    <button type="submit" class="primary auth-submit" data-testid={p.testid} disabled={off} aria-busy={p.s.busy}>
      {p.s.busy ? t('auth.busy') : p.label}
    </button>
  );
}
