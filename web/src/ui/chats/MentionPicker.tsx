// The list of people to mention, opened by typing @ in the composer. The
// composer keeps the focus and drives it with the arrow keys (the input
// points at the active option with aria-activedescendant).
import type { Profile } from '../../lib/types';
import { t } from '../../i18n';

/** An entry: a person, or everyone (@all, groups). */
export type MentionOption = { username: string; user_id: string | null; display_name: string };

export const ALL_OPTION = (): MentionOption => ({ username: 'all', user_id: null, display_name: t('conv.mentionAll') });

export function toOption(p: Profile): MentionOption {
  return { username: p.username, user_id: p.user_id, display_name: p.display_name };
}

export function mentionOptionId(i: number): string {
  return 'mention-opt-' + i;
}

export function MentionPicker(p: { options: MentionOption[]; active: number; onPick: (o: MentionOption) => void }) {
  if (p.options.length === 0) return null;
  return (
    <ul class="mention-picker" role="listbox" id="mention-list" aria-label={t('conv.mentionPick')}>
      {p.options.map((o, i) => (
        <li
          key={o.username}
          id={mentionOptionId(i)}
          role="option"
          aria-selected={i === p.active}
          class={i === p.active ? 'active' : ''}
          data-testid="mention-option"
          data-username={o.username}
          // mousedown, not click: the textarea must keep the focus and caret.
          onMouseDown={(e) => {
            e.preventDefault();
            p.onPick(o);
          }}
        >
          <strong>{o.display_name}</strong> <span class="muted">@{o.username}</span>
        </li>
      ))}
    </ul>
  );
}
