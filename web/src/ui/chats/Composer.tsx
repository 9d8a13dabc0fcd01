// Writing a message: a textarea that grows, Enter to send (Shift+Enter for a
// new line, never while an input method composes), a reply bar, edit mode
// (Up in an empty box edits our last message), @mentions, a draft per
// conversation, the attachment and voice buttons, and the reason when this
// conversation cannot take our messages.
import { useEffect, useRef, useState } from 'preact/hooks';
import type { Id, Profile } from '../../lib/types';
import { session } from '../../lib/session';
import { editMessage, messagesOf, sendMessage, sendTyping, type LocalMessage } from '../../state/chat';
import { can, groups, loadGroup, searchMembers, slowModeRemaining, world } from '../../state/groups';
import { t } from '../../i18n';
import { Icon } from './convIcons';
import { AttachButton } from '../media/AttachButton';
import { VoiceButton } from '../media/VoiceButton';
import { SlowModeNotice } from '../groups/SlowModeNotice';
import { collectMentions, insertMention, mentionAt } from './convLogic';
import { ALL_OPTION, MentionPicker, mentionOptionId, toOption, type MentionOption } from './MentionPicker';
import { senderName } from './MessageBubble';

/** Drafts by conversation, kept while the page lives. */
const drafts = new Map<Id, { text: string; chosen: Map<string, Id> }>();

const EDITABLE = new Set(['text', 'image', 'file', 'voice', 'video']);
const MAX_HEIGHT = 200;

export interface ComposerProps {
  convId: Id;
  kind: string;
  peer?: Profile;
  reply: LocalMessage | null;
  editing: LocalMessage | null;
  onCancelReply: () => void;
  onEdit: (m: LocalMessage | null) => void;
  onSent: () => void;
}

/** Why we cannot post here, or null: a guest in a read-only world room, a
 * dissolved group, a group where only admins post. Anything else the server
 * refuses shows on the message itself. */
function useBlocked(convId: Id, kind: string): string | null {
  useEffect(() => {
    if (kind === 'group' && !groups.value.has(convId)) void loadGroup(convId).catch(() => {});
  }, [convId, kind]);
  if (kind === 'world') {
    const w = world.value;
    return session.value?.guest && w && w.guests !== 'write' ? t('conv.readOnlyGuest') : null;
  }
  if (kind !== 'group') return null;
  const g = groups.value.get(convId);
  const msgs = messagesOf(convId).value;
  if (g?.dissolved || msgs.some((m) => m.kind === 'system' && m.system?.action === 'dissolved'))
    return t('conv.dissolved');
  if (g && !can(g, 'post')) return t('conv.adminsOnly');
  return null;
}

export function Composer(p: ComposerProps) {
  const ref = useRef<HTMLTextAreaElement>(null);
  const draft = drafts.get(p.convId);
  const [text, setText] = useState(draft?.text ?? '');
  const chosen = useRef<Map<string, Id>>(draft?.chosen ?? new Map());
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [mention, setMention] = useState<{ start: number; options: MentionOption[]; active: number } | null>(null);
  const blocked = useBlocked(p.convId, p.kind);
  // The world room's slow mode: typing goes on, sending waits for the countdown.
  const slow = p.kind === 'world' && slowModeRemaining(p.convId).value > 0;

  // Keep the draft (the composer is keyed by conversation, so this runs for
  // the one being left).
  useEffect(() => {
    drafts.set(p.convId, { text, chosen: chosen.current });
  }, [text]);
  useEffect(() => grow(), [text]);
  // Entering edit mode puts the message's text in; leaving it restores the draft.
  const before = useRef('');
  useEffect(() => {
    if (p.editing) {
      before.current = text;
      setText(p.editing.text);
      ref.current?.focus();
    }
  }, [p.editing?.message_id]);
  useEffect(() => {
    if (p.reply) ref.current?.focus();
  }, [p.reply?.message_id]);

  function grow() {
    const el = ref.current;
    if (!el) return;
    el.style.height = 'auto';
    el.style.height = Math.min(el.scrollHeight, MAX_HEIGHT) + 'px';
  }

  async function lookForMention(value: string, caret: number) {
    const at = mentionAt(value, caret);
    if (!at || (p.kind !== 'direct' && p.kind !== 'group')) return setMention(null);
    let people: MentionOption[] = [];
    if (p.kind === 'direct') {
      if (p.peer) people = [toOption(p.peer)];
    } else {
      people = (await searchMembers(p.convId, at.query).catch(() => [])).map(toOption);
      if ('all'.startsWith(at.query)) people.push(ALL_OPTION());
    }
    const me = session.value?.userId;
    const options = people
      .filter((o) => o.user_id !== me)
      .filter((o) => o.username.startsWith(at.query) || o.display_name.toLowerCase().startsWith(at.query))
      .slice(0, 8);
    // The caret may have moved on while the members were asked for.
    const now = ref.current ? mentionAt(ref.current.value, ref.current.selectionStart ?? 0) : null;
    if (!now || now.start !== at.start) return;
    setMention(options.length ? { start: at.start, options, active: 0 } : null);
  }

  function pick(o: MentionOption) {
    const el = ref.current!;
    if (!mention) return;
    const r = insertMention(el.value, mention.start, el.selectionStart ?? el.value.length, o.username);
    if (o.user_id) chosen.current.set(o.username, o.user_id);
    // Written to the element at once, caret included, so that keys typed
    // before the next render land after the name.
    el.value = r.text;
    el.setSelectionRange(r.caret, r.caret);
    setText(r.text);
    setMention(null);
  }

  function onInput(e: Event) {
    const el = e.currentTarget as HTMLTextAreaElement;
    setText(el.value);
    setError(null);
    if (el.value.trim() && !p.editing) sendTyping(p.convId);
    void lookForMention(el.value, el.selectionStart ?? el.value.length);
  }

  function lastOwnEditable(): LocalMessage | undefined {
    const me = session.value?.userId;
    const list = messagesOf(p.convId).value;
    for (let i = list.length - 1; i >= 0; i--) {
      const m = list[i];
      if (m.sender === me && m.seq > 0 && !m.deleted && EDITABLE.has(m.kind)) return m;
    }
    return undefined;
  }

  function cancelEdit() {
    p.onEdit(null);
    setText(before.current);
  }

  function onKeyDown(e: KeyboardEvent) {
    if (e.isComposing) return;
    if (mention) {
      const n = mention.options.length;
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        e.preventDefault();
        setMention({ ...mention, active: (mention.active + (e.key === 'ArrowDown' ? 1 : n - 1)) % n });
        return;
      }
      if (e.key === 'Enter' || e.key === 'Tab') {
        e.preventDefault();
        pick(mention.options[mention.active]);
        return;
      }
      if (e.key === 'Escape') {
        e.preventDefault();
        setMention(null);
        return;
      }
    }
    if (e.key === 'Enter' && !e.shiftKey) {
      e.preventDefault();
      void submit();
    } else if (e.key === 'ArrowUp' && text === '' && !p.editing) {
      const m = lastOwnEditable();
      if (m) {
        e.preventDefault();
        p.onEdit(m);
      }
    } else if (e.key === 'Escape') {
      if (p.editing) cancelEdit();
      else if (p.reply) p.onCancelReply();
    }
  }

  async function submit() {
    if (busy || blocked) return;
    if (p.editing) {
      const m = p.editing;
      if (!canSubmit) return;
      setBusy(true);
      try {
        await editMessage(p.convId, m.message_id, text);
        p.onEdit(null);
        setText(before.current);
      } catch (e) {
        setError((e as Error).message);
      } finally {
        setBusy(false);
      }
      return;
    }
    if (!canSubmit) return;
    const { mentions, mention_all } = collectMentions(text, chosen.current, p.kind === 'group');
    sendMessage(p.convId, {
      text,
      ...(p.reply ? { reply_to: p.reply.message_id } : {}),
      ...(mentions.length ? { mentions } : {}),
      ...(mention_all ? { mention_all } : {}),
    });
    setText('');
    chosen.current = new Map();
    drafts.delete(p.convId);
    p.onCancelReply();
    p.onSent();
    ref.current?.focus();
  }

  // A caption may be edited away; a text message may not.
  const canSubmit = p.editing ? p.editing.kind !== 'text' || !!text.trim() : !!text.trim() && !slow;

  if (blocked)
    return (
      <div class="composer blocked" role="status">
        <p class="muted">{blocked}</p>
      </div>
    );

  return (
    <div class="composer">
      {p.kind === 'world' && <SlowModeNotice convId={p.convId} />}
      {p.reply && (
        <div class="reply-preview" data-testid="reply-preview">
          <div>
            <strong>{t('conv.replyingTo', { name: senderName(p.reply.sender) })}</strong>
            <span class="muted" dir="auto">
              {p.reply.text || t('conv.kind.' + p.reply.kind)}
            </span>
          </div>
          <button type="button" class="icon" aria-label={t('conv.cancelReply')} onClick={p.onCancelReply}>
            <Icon name="close" />
          </button>
        </div>
      )}
      {p.editing && (
        <div class="reply-preview editing" data-testid="edit-preview">
          <strong>{t('conv.editing')}</strong>
          <button type="button" class="icon" aria-label={t('conv.cancelEdit')} onClick={cancelEdit}>
            <Icon name="close" />
          </button>
        </div>
      )}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {mention && <MentionPicker options={mention.options} active={mention.active} onPick={pick} />}
      <div class="composer-row">
        {!p.editing && <AttachButton convId={p.convId} replyTo={p.reply?.message_id} />}
        <textarea
          ref={ref}
          class="composer-input"
          data-testid="composer-input"
          rows={1}
          maxLength={4096}
          value={text}
          placeholder={t('conv.placeholder')}
          aria-label={t('conv.placeholder')}
          aria-autocomplete="list"
          aria-controls={mention ? 'mention-list' : undefined}
          aria-activedescendant={mention ? mentionOptionId(mention.active) : undefined}
          onInput={onInput}
          onKeyDown={onKeyDown}
          onBlur={() => setMention(null)}
          dir="auto"
        />
        {!p.editing && !text.trim() && <VoiceButton convId={p.convId} />}
        <button
          type="button"
          class="primary composer-send"
          data-testid="composer-send"
          disabled={busy || !canSubmit}
          aria-label={p.editing ? t('conv.saveEdit') : t('conv.send')}
          onClick={() => void submit()}
        >
          <Icon name={p.editing ? 'check' : 'send'} />
        </button>
      </div>
    </div>
  );
}
