// Picks registered users by username or name (GET /v1/users/search), for a
// new group's first members and for adding members later.
import { useEffect, useRef, useState } from 'preact/hooks';
import { t } from '../../i18n';
import { searchUsers } from '../../state/groups';
import { ErrorText } from '../common/ErrorText';
import type { Profile } from '../../lib/types';

export function UserPicker(p: { picked: Profile[]; onChange: (users: Profile[]) => void; exclude?: string[] }) {
  const [q, setQ] = useState('');
  const [found, setFound] = useState<Profile[]>([]);
  const [error, setError] = useState<unknown>(null);
  const seq = useRef(0);
  useEffect(() => {
    const text = q.trim().replace(/^@/, '');
    if (!text) return setFound([]);
    // Wait for a pause in typing: the search route is rate limited per user.
    const n = ++seq.current;
    const timer = setTimeout(() => {
      searchUsers(text).then(
        (u) => n === seq.current && (setFound(u), setError(null)),
        (e) => n === seq.current && setError(e),
      );
    }, 250);
    return () => clearTimeout(timer);
  }, [q]);
  const skip = new Set([...(p.exclude ?? []), ...p.picked.map((u) => u.user_id)]);
  const add = (u: Profile) => {
    p.onChange([...p.picked, u]);
    setQ('');
    setFound([]);
  };
  return (
    <div class="g-picker">
      <label>
        {t('groups.picker.label')}
        <input
          type="search"
          value={q}
          data-testid="group-member-search"
          autocomplete="off"
          onInput={(e) => setQ((e.target as HTMLInputElement).value)}
        />
      </label>
      {found.length > 0 && (
        <ul class="g-found" aria-label={t('groups.picker.results')}>
          {found
            .filter((u) => !skip.has(u.user_id))
            .map((u) => (
              <li key={u.user_id}>
                <button type="button" data-testid="group-member-option" onClick={() => add(u)}>
                  {u.display_name} <span class="muted">@{u.username}</span>
                </button>
              </li>
            ))}
        </ul>
      )}
      <ErrorText error={error} />
      {p.picked.length > 0 && (
        <ul class="g-chips" aria-label={t('groups.picker.picked')}>
          {p.picked.map((u) => (
            <li key={u.user_id}>
              {u.display_name}
              <button
                type="button"
                class="icon"
                aria-label={t('groups.picker.remove', { name: u.display_name })}
                onClick={() => p.onChange(p.picked.filter((x) => x.user_id !== u.user_id))}
              >
                ✕
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
