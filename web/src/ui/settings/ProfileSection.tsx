// Our own profile: display name, bio and avatar (PATCH /v1/me).
import { useEffect, useState } from 'preact/hooks';
import { me } from '../../lib/session';
import { uploadFile } from '../../lib/files';
import { updateMe } from '../../state/people';
import { Avatar } from '../media/Avatar';
import { ErrorText } from '../common/ErrorText';
import { useAction } from './useAction';
import { t } from '../../i18n';

function AvatarEditor() {
  const m = me.value!;
  const [progress, setProgress] = useState<number | null>(null);
  const act = useAction();
  const pick = (file: File | undefined) => {
    if (!file) return;
    void act.run(async () => {
      setProgress(0);
      try {
        const info = await uploadFile(file, setProgress);
        await updateMe({ avatar_file_id: info.file_id });
      } finally {
        setProgress(null);
      }
    });
  };
  return (
    <div class="avatar-editor">
      <Avatar name={m.display_name} fileId={m.avatar_file_id} size={96} />
      <div class="stack">
        <label class="button-like">
          {t('settings.profile.avatarChoose')}
          <input
            type="file"
            accept="image/*"
            class="visually-hidden"
            data-testid="avatar-input"
            disabled={act.busy}
            onChange={(e) => {
              pick(e.currentTarget.files?.[0]);
              e.currentTarget.value = '';
            }}
          />
        </label>
        {m.avatar_file_id && (
          <button type="button" data-testid="avatar-remove" disabled={act.busy} onClick={() => act.run(() => updateMe({ avatar_file_id: null }))}>
            {t('settings.profile.avatarRemove')}
          </button>
        )}
        {progress !== null && <progress max={1} value={progress} aria-label={t('settings.profile.uploading')} />}
        <ErrorText error={act.error} />
      </div>
    </div>
  );
}

export function ProfileSection() {
  const m = me.value;
  const [name, setName] = useState(m?.display_name ?? '');
  const [bio, setBio] = useState(m?.bio ?? '');
  const act = useAction();
  // me arrives after the first render on a reload.
  useEffect(() => {
    if (m) {
      setName(m.display_name);
      setBio(m.bio ?? '');
    }
  }, [m?.user_id]);
  if (!m) return <p class="muted">{t('common.loading')}</p>;
  const submit = (e: Event) => {
    e.preventDefault();
    const change: { display_name?: string; bio?: string } = {};
    if (name.trim() !== m.display_name) change.display_name = name.trim();
    if (bio !== (m.bio ?? '')) change.bio = bio;
    // Nothing changed still answers "Saved": the form shows what is stored.
    void act.run(async () => Object.keys(change).length > 0 && updateMe(change));
  };
  return (
    <>
      <AvatarEditor />
      <form class="form" data-testid="profile-form" onSubmit={submit}>
        <p class="muted">@{m.username}</p>
        <label class="field">
          <span>{t('settings.profile.displayName')}</span>
          <input data-testid="display-name-input" required maxLength={64} value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </label>
        <label class="field">
          <span>{t('settings.profile.bio')}</span>
          <textarea data-testid="bio-input" maxLength={256} rows={3} value={bio} onInput={(e) => setBio(e.currentTarget.value)} />
          <span class="muted small">{t('settings.profile.bioHelp', { n: 256 - [...bio].length })}</span>
        </label>
        <div>
          <button type="submit" class="primary" data-testid="profile-save" disabled={act.busy}>
            {t('common.save')}
          </button>
        </div>
        <p role="status" class="small">{act.done ? t('settings.saved') : ''}</p>
        <ErrorText error={act.error} />
      </form>
    </>
  );
}
