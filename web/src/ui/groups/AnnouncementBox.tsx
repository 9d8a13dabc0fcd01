// The group's announcement: everyone reads it, admins set or clear it.
import { useState } from 'preact/hooks';
import { t, fmtDay } from '../../i18n';
import { isAdmin, setAnnouncement, clearAnnouncement } from '../../state/groups';
import { users } from '../../state/chat';
import { ErrorText } from '../common/ErrorText';
import type { Group } from '../../lib/types';

export function AnnouncementBox(p: { group: Group }) {
  const g = p.group;
  const a = g.announcement;
  const admin = isAdmin(g.my_role) && !g.dissolved;
  const [editing, setEditing] = useState(false);
  const [text, setText] = useState('');
  const [error, setError] = useState<unknown>(null);
  if (!a && !admin) return null;
  const save = async (e: Event) => {
    e.preventDefault();
    try {
      await setAnnouncement(g.conversation_id, text.trim());
      setEditing(false);
    } catch (err) {
      setError(err);
    }
  };
  const by = a ? users.value.get(a.set_by)?.display_name : undefined;
  return (
    <section class="g-section" aria-labelledby="g-ann-h" data-testid="announcement">
      <h3 id="g-ann-h">{t('groups.announcement.heading')}</h3>
      {a ? (
        <div class="g-announcement">
          <p data-testid="announcement-text">{a.text}</p>
          <p class="muted small">
            {by ? t('groups.announcement.byWhen', { name: by, when: fmtDay(a.set_at) }) : fmtDay(a.set_at)}
          </p>
        </div>
      ) : (
        <p class="muted">{t('groups.announcement.none')}</p>
      )}
      {admin &&
        (editing ? (
          <form class="g-form" onSubmit={save}>
            <label>
              {t('groups.announcement.label')}
              <textarea required maxLength={2048} rows={3} value={text} data-testid="announcement-input" onInput={(e) => setText((e.target as HTMLTextAreaElement).value)} />
            </label>
            <div class="g-actions">
              <button type="button" onClick={() => setEditing(false)}>
                {t('common.cancel')}
              </button>
              <button type="submit" class="primary" data-testid="announcement-save">
                {t('common.save')}
              </button>
            </div>
          </form>
        ) : (
          <div class="g-actions start">
            <button type="button" data-testid="announcement-edit" onClick={() => (setText(a?.text ?? ''), setEditing(true))}>
              {a ? t('groups.announcement.change') : t('groups.announcement.set')}
            </button>
            {a && (
              <button type="button" data-testid="announcement-clear" onClick={() => clearAnnouncement(g.conversation_id).catch(setError)}>
                {t('groups.announcement.clear')}
              </button>
            )}
          </div>
        ))}
      <ErrorText error={error} />
    </section>
  );
}
