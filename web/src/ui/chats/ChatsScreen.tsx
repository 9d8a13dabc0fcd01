// The chats screen: the conversation list beside the open conversation on a
// desktop; on a phone (< 700 px) one of the two, the list at /chats and the
// conversation at /chats/ID (its back button goes to /chats).
import { useEffect, useState } from 'preact/hooks';
import { navigate } from '../../router';
import { get, query } from '../../lib/http';
import type { ConversationEntry } from '../../lib/types';
import { conversations, conversationList, archivedList, conversationsLoaded } from '../../state/chat';
import { t } from '../../i18n';
import { ConversationView } from './ConversationView';
import { ConversationList } from './ConversationList';
import { SearchPanel } from './SearchPanel';
import { NewChatDialog } from './NewChatDialog';
import { ErrorText } from '../common/ErrorText';
import { PlusIcon, SearchIcon } from './icons';
import './chats.css';

/** GET /v1/conversations lists archived conversations only when asked
 * (?archived=true): fetch them into the shared map when the archive opens. */
async function loadArchived(): Promise<void> {
  let cursor: string | null = null;
  do {
    const page: { conversations: ConversationEntry[]; next_cursor: string | null } = await get(
      '/v1/conversations' + query({ archived: true, limit: 200, cursor }),
    );
    const m = new Map(conversations.value);
    for (const c of page.conversations) m.set(c.conversation_id, { ...m.get(c.conversation_id), ...c });
    conversations.value = m;
    cursor = page.next_cursor;
  } while (cursor);
}

export function ChatsScreen(p: { convId?: string }) {
  const [archived, setArchived] = useState(false);
  const [searching, setSearching] = useState(false);
  const [newChat, setNewChat] = useState(false);
  // null: not asked yet or loading; then true, or the error.
  const [archiveState, setArchiveState] = useState<true | Error | null>(null);
  useEffect(() => {
    if (!archived) return;
    setArchiveState(null);
    loadArchived().then(
      () => setArchiveState(true),
      (e: Error) => setArchiveState(e),
    );
  }, [archived]);

  const list = archived ? archivedList.value : conversationList.value;
  // The archive shows what is known at once; "loading" only while empty.
  const ready = archived ? archiveState !== null || list.length > 0 : conversationsLoaded.value;
  const none = conversationsLoaded.value && conversationList.value.length === 0 && archivedList.value.length === 0;
  return (
    <div class={p.convId ? 'chats has-conv' : 'chats'}>
      <section class="chats-side" aria-labelledby="chats-heading">
        <header class="chats-head">
          <h1 id="chats-heading">{archived ? t('chat.archived') : t('chat.title')}</h1>
          <button
            type="button"
            class="icon"
            data-testid="search-open"
            aria-label={t('chat.search.open')}
            aria-pressed={searching}
            onClick={() => setSearching(!searching)}
          >
            <SearchIcon />
          </button>
          <button type="button" class="icon" data-testid="new-chat" aria-label={t('chat.new')} onClick={() => setNewChat(true)}>
            <PlusIcon />
          </button>
        </header>
        {searching ? (
          <SearchPanel convId={p.convId} onClose={() => setSearching(false)} />
        ) : (
          <>
            <button
              type="button"
              class="chats-archived"
              data-testid="archived-toggle"
              aria-pressed={archived}
              onClick={() => setArchived(!archived)}
            >
              {archived ? t('chat.archivedHide') : t('chat.archivedShow')}
            </button>
            {archived && archiveState instanceof Error && <ErrorText error={archiveState} />}
            {ready ? (
              <ConversationList
                list={list}
                selected={p.convId}
                emptyText={archived ? t('chat.archivedEmpty') : t('chat.listEmpty')}
              />
            ) : (
              <p class="conv-empty muted" role="status">
                {t('common.loading')}
              </p>
            )}
          </>
        )}
      </section>
      <section class="chats-pane" aria-label={p.convId ? undefined : t('chat.empty.title')}>
        {p.convId ? (
          <ConversationView key={p.convId} convId={p.convId} onBack={() => navigate('/chats')} />
        ) : (
          <div class="chats-empty">
            <h2>{t('chat.empty.title')}</h2>
            <p class="muted">{none ? t('chat.empty.none') : t('chat.empty.body')}</p>
            <button type="button" class="primary" onClick={() => setNewChat(true)}>
              {t('chat.new')}
            </button>
          </div>
        )}
      </section>
      {newChat && <NewChatDialog onClose={() => setNewChat(false)} />}
    </div>
  );
}
