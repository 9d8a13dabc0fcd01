// /groups: the groups I am in (they are conversations of kind "group"), each
// opening its conversation or its panel, and the "New group" dialog.
import { useState } from 'preact/hooks';
import { t } from '../../i18n';
import { navigate } from '../../router';
import { session } from '../../lib/session';
import { conversationsLoaded } from '../../state/chat';
import { groupList } from '../../state/groups';
import { Avatar } from '../media/Avatar';
import { CreateGroupDialog } from './CreateGroupDialog';
import { GroupPanel } from './GroupPanel';
import './groups.css';

export function GroupsScreen(_p: {}) {
  const [creating, setCreating] = useState(false);
  const [open, setOpen] = useState<string | null>(null);
  const list = groupList.value;
  if (session.value?.guest)
    return (
      <section class="g-screen" aria-labelledby="groups-h">
        <h1 id="groups-h">{t('groups.heading')}</h1>
        <p class="muted">{t('groups.guest')}</p>
      </section>
    );
  return (
    <section class="g-screen" aria-labelledby="groups-h">
      <header class="g-head">
        <h1 id="groups-h">{t('groups.heading')}</h1>
        <button type="button" class="primary" data-testid="group-create" onClick={() => setCreating(true)}>
          {t('groups.create.open')}
        </button>
      </header>
      {list.length === 0 ? (
        <p class="muted">{conversationsLoaded.value ? t('groups.empty') : t('common.loading')}</p>
      ) : (
        <ul class="g-list">
          {list.map((c) => (
            <li key={c.conversation_id}>
              <a
                href={'/chats/' + c.conversation_id}
                class="g-item"
                data-testid="group-item"
                data-conv-id={c.conversation_id}
                onClick={(e) => {
                  e.preventDefault();
                  navigate('/chats/' + c.conversation_id);
                }}
              >
                <Avatar name={c.title ?? ''} fileId={c.avatar_file_id} />
                <span class="g-item-title">{c.title}</span>
                {c.unread > 0 && (
                  <span class="g-badge" aria-label={t('groups.unread', { n: c.unread })}>
                    {c.unread}
                  </span>
                )}
              </a>
              <button
                type="button"
                class="icon"
                data-testid="group-info"
                aria-label={t('groups.infoFor', { title: c.title ?? '' })}
                onClick={() => setOpen(c.conversation_id)}
              >
                ⓘ
              </button>
            </li>
          ))}
        </ul>
      )}
      {creating && <CreateGroupDialog onClose={() => setCreating(false)} />}
      {open && <GroupPanel convId={open} onClose={() => setOpen(null)} />}
    </section>
  );
}
