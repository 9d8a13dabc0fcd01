// The group's picture, title, description and size, editable by those the
// `who_can_edit_info` setting allows.
import { useState } from 'preact/hooks';
import { t } from '../../i18n';
import { can, patchGroup } from '../../state/groups';
import { uploadFile } from '../../lib/files';
import { Avatar } from '../media/Avatar';
import { ErrorText } from '../common/ErrorText';
import type { Group } from '../../lib/types';

export function GroupInfo(p: { group: Group }) {
  const g = p.group;
  const [editing, setEditing] = useState(false);
  const mayEdit = can(g, 'edit_info');
  return (
    <section class="g-section g-info" aria-labelledby="g-info-h">
      <div class="g-info-row">
        <Avatar name={g.title} fileId={g.avatar_file_id} size={64} />
        <div>
          <h3 id="g-info-h" class="g-title">
            {g.title}
          </h3>
          <p class="muted">{t('groups.memberCount', { n: g.member_count })}</p>
        </div>
      </div>
      {g.description && <p class="g-desc">{g.description}</p>}
      {mayEdit && (editing ? <InfoForm group={g} onDone={() => setEditing(false)} /> : (
        <div class="g-actions start">
          <button type="button" data-testid="group-edit" onClick={() => setEditing(true)}>
            {t('groups.info.edit')}
          </button>
          <AvatarUpload group={g} />
        </div>
      ))}
    </section>
  );
}

function InfoForm(p: { group: Group; onDone: () => void }) {
  const [title, setTitle] = useState(p.group.title);
  const [description, setDescription] = useState(p.group.description ?? '');
  const [error, setError] = useState<unknown>(null);
  const save = async (e: Event) => {
    e.preventDefault();
    try {
      await patchGroup(p.group.conversation_id, { title: title.trim(), description: description.trim() });
      p.onDone();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <form class="g-form" onSubmit={save}>
      <label>
        {t('groups.field.title')}
        <input required maxLength={128} value={title} data-testid="group-edit-title" onInput={(e) => setTitle((e.target as HTMLInputElement).value)} />
      </label>
      <label>
        {t('groups.field.description')}
        <textarea maxLength={1024} rows={3} value={description} onInput={(e) => setDescription((e.target as HTMLTextAreaElement).value)} />
      </label>
      <ErrorText error={error} />
      <div class="g-actions">
        <button type="button" onClick={p.onDone}>
          {t('common.cancel')}
        </button>
        <button type="submit" class="primary" data-testid="group-edit-save">
          {t('common.save')}
        </button>
      </div>
    </form>
  );
}

/** Uploads an image and makes it the group's picture (PATCH avatar_file_id). */
function AvatarUpload(p: { group: Group }) {
  const [progress, setProgress] = useState<number | null>(null);
  const [error, setError] = useState<unknown>(null);
  const pick = async (e: Event) => {
    const input = e.target as HTMLInputElement;
    const file = input.files?.[0];
    input.value = '';
    if (!file) return;
    setError(null);
    setProgress(0);
    try {
      const info = await uploadFile(file, setProgress);
      await patchGroup(p.group.conversation_id, { avatar_file_id: info.file_id });
    } catch (err) {
      setError(err);
    } finally {
      setProgress(null);
    }
  };
  return (
    <>
      <label class="g-file button">
        {t('groups.info.avatar')}
        <input type="file" accept="image/*" class="visually-hidden" data-testid="group-avatar-input" onChange={pick} />
      </label>
      {p.group.avatar_file_id && (
        <button type="button" onClick={() => patchGroup(p.group.conversation_id, { avatar_file_id: null }).catch(setError)}>
          {t('groups.info.avatarRemove')}
        </button>
      )}
      {progress !== null && <progress max={1} value={progress} aria-label={t('groups.info.uploading')} />}
      <ErrorText error={error} />
    </>
  );
}
