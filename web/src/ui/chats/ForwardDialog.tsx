// Forwards messages: pick a target conversation (filtered by name), then
// `forward` copies them there; the dialog closes when the server has them.
import { useState } from 'preact/hooks';
import type { ConversationEntry } from '../../lib/types';
import { conversationList, forward } from '../../state/chat';
import { t } from '../../i18n';
import { Modal } from '../common/Modal';
import { ErrorText } from '../common/ErrorText';
import { Avatar } from '../media/Avatar';
import { convName, filterConversations } from './listLogic';
import './chats.css';

export function ForwardDialog(p: { fromConv: string; messageIds: string[]; onClose: () => void }) {
  const [q, setQ] = useState('');
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const list = filterConversations(conversationList.value, q);

  async function send(c: ConversationEntry) {
    setBusy(c.conversation_id);
    setError(null);
    try {
      await forward(p.fromConv, p.messageIds, c.conversation_id);
      p.onClose();
    } catch (e) {
      setError(e);
      setBusy(null);
    }
  }

  return (
    <Modal title={t('chat.forward.title', { count: p.messageIds.length })} onClose={p.onClose}>
      <label class="visually-hidden" for="forward-filter">
        {t('chat.forward.filter')}
      </label>
      <input
        id="forward-filter"
        class="forward-filter"
        type="search"
        placeholder={t('chat.forward.filter')}
        value={q}
        onInput={(e) => setQ((e.target as HTMLInputElement).value)}
      />
      <ErrorText error={error} />
      {busy && (
        <p class="muted" role="status">
          {t('chat.forward.sending')}
        </p>
      )}
      <ul class="forward-list" aria-label={t('chat.forward.targets')}>
        {list.map((c) => {
          const name = convName(c);
          return (
            <li key={c.conversation_id}>
              <button
                type="button"
                class="forward-target"
                data-testid="forward-target"
                data-conv-id={c.conversation_id}
                disabled={busy !== null}
                onClick={() => void send(c)}
              >
                <Avatar name={name} fileId={c.kind === 'direct' ? c.peer?.avatar_file_id : c.avatar_file_id} size={32} />
                <span>{name}</span>
              </button>
            </li>
          );
        })}
      </ul>
      {list.length === 0 && <p class="muted">{t('chat.forward.none')}</p>}
    </Modal>
  );
}
