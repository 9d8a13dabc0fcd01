// Reactions under a message: one chip per emoji with its count, pressed when
// we are among them (a click toggles ours), and a small picker of common emoji.
import { useEffect, useRef } from 'preact/hooks';
import type { Id } from '../../lib/types';
import { react, unreact, type LocalMessage } from '../../state/chat';
import { t } from '../../i18n';
import { Icon } from './convIcons';

/** The emoji offered by the picker: the ones people reach for most. */
export const COMMON_EMOJI = ['👍', '❤️', '😂', '😮', '😢', '🙏', '🎉', '👀'];

async function toggle(conv: Id, m: LocalMessage, emoji: string, mine: boolean, onError: (e: string | null) => void) {
  onError(null);
  try {
    await (mine ? unreact : react)(conv, m.message_id, emoji);
  } catch (e) {
    onError((e as Error).message);
  }
}

export function Reactions(p: { convId: Id; m: LocalMessage; onError: (e: string | null) => void }) {
  return (
    <ul class="reactions" aria-label={t('conv.reactions')}>
      {p.m.reactions!.map((r) => (
        <li key={r.emoji}>
          <button
            type="button"
            class={'reaction' + (r.me ? ' me' : '')}
            data-testid="reaction"
            data-emoji={r.emoji}
            aria-pressed={r.me}
            aria-label={t('conv.reactionLabel', { emoji: r.emoji, count: r.count })}
            onClick={() => void toggle(p.convId, p.m, r.emoji, r.me, p.onError)}
          >
            <span aria-hidden="true">{r.emoji}</span> <span aria-hidden="true">{r.count}</span>
          </button>
        </li>
      ))}
    </ul>
  );
}

export function EmojiPicker(p: { convId: Id; m: LocalMessage; onError: (e: string | null) => void; onClose: () => void }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    ref.current?.querySelector<HTMLElement>('button')?.focus();
  }, []);
  const mine = (emoji: string) => !!p.m.reactions?.find((r) => r.emoji === emoji)?.me;
  return (
    <div
      ref={ref}
      class="emoji-picker"
      role="group"
      aria-label={t('conv.pickEmoji')}
      onKeyDown={(e) => e.key === 'Escape' && (e.stopPropagation(), p.onClose())}
    >
      {COMMON_EMOJI.map((e) => (
        <button
          key={e}
          type="button"
          class="icon"
          data-testid="emoji-option"
          data-emoji={e}
          aria-label={t('conv.reactWith', { emoji: e })}
          onClick={() => {
            p.onClose();
            void toggle(p.convId, p.m, e, mine(e), p.onError);
          }}
        >
          {e}
        </button>
      ))}
      <button type="button" class="icon" aria-label={t('common.close')} onClick={p.onClose}>
        <Icon name="close" />
      </button>
    </div>
  );
}
