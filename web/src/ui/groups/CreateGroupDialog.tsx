// The "New group" dialog: a title, a description and the first members.
import { useState } from 'preact/hooks';
import { t } from '../../i18n';
import { navigate } from '../../router';
import { createGroup } from '../../state/groups';
import { Modal } from '../common/Modal';
import { ErrorText } from '../common/ErrorText';
import { UserPicker } from './UserPicker';
import type { Profile } from '../../lib/types';

export function CreateGroupDialog(p: { onClose: () => void }) {
  const [title, setTitle] = useState('');
  const [description, setDescription] = useState('');
  const [members, setMembers] = useState<Profile[]>([]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const g = await createGroup({
        title: title.trim(),
        ...(description.trim() ? { description: description.trim() } : {}),
        ...(members.length ? { member_ids: members.map((m) => m.user_id) } : {}),
      });
      p.onClose();
      navigate('/chats/' + g.conversation_id);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  return (
    <Modal title={t('groups.create.title')} onClose={p.onClose}>
      <form class="g-form" onSubmit={submit}>
        <label>
          {t('groups.field.title')}
          <input
            data-testid="group-title-input"
            required
            maxLength={128}
            value={title}
            onInput={(e) => setTitle((e.target as HTMLInputElement).value)}
          />
        </label>
        <label>
          {t('groups.field.description')}
          <textarea
            data-testid="group-description-input"
            maxLength={1024}
            rows={3}
            value={description}
            onInput={(e) => setDescription((e.target as HTMLTextAreaElement).value)}
          />
        </label>
        <UserPicker picked={members} onChange={setMembers} />
        <ErrorText error={error} />
        <div class="g-actions">
          <button type="button" onClick={p.onClose}>
            {t('common.cancel')}
          </button>
          <button type="submit" class="primary" data-testid="group-create-submit" disabled={busy || !title.trim()}>
            {t('groups.create.submit')}
          </button>
        </div>
      </form>
    </Modal>
  );
}
