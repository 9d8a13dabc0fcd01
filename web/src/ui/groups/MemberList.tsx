// The group's members, a page at a time, with their roles; admins manage
// those below them in the hierarchy, and those allowed add people.
import { useEffect, useState } from 'preact/hooks';
import { t, fmtDay, fmtTime } from '../../i18n';
import { session } from '../../lib/session';
import {
  membersOf, loadMembers, can, canModerate, isAdmin, addMembers, type Member,
} from '../../state/groups';
import { ErrorText } from '../common/ErrorText';
import { UserPicker } from './UserPicker';
import { MemberActions } from './MemberActions';
import { BanList } from './BanList';
import type { Group, Profile } from '../../lib/types';

export function MemberList(p: { group: Group }) {
  const g = p.group;
  const id = g.conversation_id;
  const page = membersOf(id).value;
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    loadMembers(id, true).catch(setError);
  }, [id]);
  const more = async () => {
    setBusy(true);
    try {
      await loadMembers(id);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section class="g-section" aria-labelledby="g-members-h">
      <h3 id="g-members-h">{t('groups.members.heading', { n: g.member_count })}</h3>
      {can(g, 'invite') && <AddMembers group={g} exclude={page.members.map((m) => m.user_id)} />}
      <ul class="g-members">
        {page.members.map((m) => (
          <MemberRow key={m.user_id} group={g} member={m} />
        ))}
      </ul>
      {!page.done && page.members.length > 0 && (
        <button type="button" data-testid="member-more" disabled={busy} onClick={more}>
          {t('groups.members.more')}
        </button>
      )}
      <ErrorText error={error} />
      {isAdmin(g.my_role) && <BanList group={g} />}
    </section>
  );
}

function MemberRow(p: { group: Group; member: Member }) {
  const m = p.member;
  const [open, setOpen] = useState(false);
  const mine = m.user_id === session.value?.userId;
  const manage = !mine && !p.group.dissolved && canModerate(p.group.my_role, m.role);
  const muted = m.muted_until && m.muted_until > Date.now() ? m.muted_until : null;
  return (
    <li class="g-member" data-testid="member-item" data-user-id={m.user_id} data-role={m.role}>
      <div class="g-member-row">
        <span class="g-member-name">
          {m.display_name} <span class="muted">@{m.username}</span>
          {mine && <span class="muted"> {t('groups.members.you')}</span>}
        </span>
        {m.role !== 'member' && <span class={'g-role ' + m.role}>{t('groups.role.' + m.role)}</span>}
        {muted && (
          <span class="g-role muted-badge">
            {t('groups.members.mutedUntil', { when: fmtDay(muted) + ' ' + fmtTime(muted) })}
          </span>
        )}
        {manage && (
          <button
            type="button"
            class="icon"
            data-testid="member-manage"
            aria-expanded={open}
            aria-label={t('groups.members.manage', { name: m.display_name })}
            onClick={() => setOpen(!open)}
          >
            ⋯
          </button>
        )}
      </div>
      {open && <MemberActions group={p.group} member={m} muted={!!muted} />}
    </li>
  );
}

function AddMembers(p: { group: Group; exclude: string[] }) {
  const [picked, setPicked] = useState<Profile[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState<string | null>(null);
  if (p.group.dissolved) return null;
  const add = async () => {
    setError(null);
    try {
      const added = await addMembers(p.group.conversation_id, picked.map((u) => u.user_id));
      setPicked([]);
      setDone(t('groups.members.added', { n: added.length }));
    } catch (e) {
      setError(e);
    }
  };
  return (
    <div class="g-add">
      <UserPicker picked={picked} onChange={(u) => (setPicked(u), setDone(null))} exclude={p.exclude} />
      {picked.length > 0 && (
        <button type="button" class="primary" data-testid="member-add-submit" onClick={add}>
          {t('groups.members.add', { n: picked.length })}
        </button>
      )}
      {done && <p role="status" class="muted">{done}</p>}
      <ErrorText error={error} />
    </div>
  );
}
