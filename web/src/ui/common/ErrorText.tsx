// An error shown to a person: the server's message, announced to screen readers.
import { t } from '../../i18n';

export function ErrorText(p: { error?: unknown }) {
  if (!p.error) return null;
  const msg = p.error instanceof Error ? p.error.message : String(p.error);
  return (
    <p class="error" role="alert">
      {t('common.error', { message: msg })}
    </p>
  );
}
