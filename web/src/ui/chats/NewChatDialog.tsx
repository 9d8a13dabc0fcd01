// Starts (or reopens) a direct conversation by username, then opens it.
import { useState } from 'preact/hooks';
import { navigate } from '../../router';
import { ApiError } from '../../lib/errors';
import { openDirect } from '../../state/chat';
import { t } from '../../i18n';
import { Modal } from '../common/Modal';

/** What a refusal means for the person, beside the server's own message. */
const EXPLAIN: Record<string, string> = {
  not_found: 'chat.new.notFound',
  privacy_restricted: 'chat.new.privacy',
  guest_forbidden: 'chat.new.guest',
};

export function NewChatDialog(p: { onClose: () => void }) {
  const [name, setName] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error | null>(null);

  async function submit(e: Event) {
    e.preventDefault();
    const username = name.trim().replace(/^@/, '');
    if (!username) return;
    setBusy(true);
    setError(null);
    try {
      const id = await openDirect({ username });
      p.onClose();
      navigate('/chats/' + id);
    } catch (err) {
      setError(err as Error);
      setBusy(false);
    }
  }

  const code = error instanceof ApiError ? error.code : '';
  return (
    <Modal title={t('chat.new.title')} onClose={p.onClose}>
      <form class="chats-form" onSubmit={submit}>
        <label for="new-chat-username">{t('chat.new.username')}</label>
        <input
          id="new-chat-username"
          data-testid="new-chat-username"
          autoComplete="off"
          autoCapitalize="none"
          spellcheck={false}
          required
          maxLength={64}
          value={name}
          aria-describedby="new-chat-hint"
          aria-invalid={error ? true : undefined}
          onInput={(e) => setName((e.target as HTMLInputElement).value)}
        />
        <p id="new-chat-hint" class="muted small">
          {t('chat.new.hint')}
        </p>
        {error && (
          <div class="error" role="alert" data-testid="new-chat-error">
            {EXPLAIN[code] && <p>{t(EXPLAIN[code])}</p>}
            <p>{t('common.error', { message: error.message })}</p>
          </div>
        )}
        <button type="submit" class="primary" data-testid="new-chat-submit" disabled={busy}>
          {busy ? t('chat.new.busy') : t('chat.new.submit')}
        </button>
      </form>
    </Modal>
  );
}
