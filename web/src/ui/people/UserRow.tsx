// One person in a list: avatar, name and @username, linking to their profile;
// `children` are the row's own buttons (accept, cancel, unblock).
import type { ComponentChildren } from 'preact';
import { Avatar } from '../media/Avatar';
import { navigate } from '../../router';
import type { Profile } from '../../lib/types';
import { t } from '../../i18n';

export function displayName(u: Pick<Profile, 'display_name' | 'deleted'>): string {
  return u.deleted ? t('people.deleted') : u.display_name;
}

export function UserRow(p: { user: Profile; testid: string; note?: string; children?: ComponentChildren }) {
  const u = p.user;
  const href = '/people/' + u.user_id;
  return (
    <li class="user-row" data-testid={p.testid} data-user-id={u.user_id}>
      <a
        class="user-link"
        href={href}
        onClick={(e) => {
          e.preventDefault();
          navigate(href);
        }}
      >
        <Avatar name={displayName(u)} fileId={u.avatar_file_id} size={40} />
        <span class="user-names">
          <span class="user-name">{displayName(u)}</span>
          <span class="muted user-handle">@{u.username}</span>
          {p.note && <span class="muted user-note">{p.note}</span>}
        </span>
      </a>
      {p.children && <span class="row-actions">{p.children}</span>}
    </li>
  );
}
