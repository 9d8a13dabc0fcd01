// Invite links: create one (optionally expiring or limited in uses), show its
// full address to copy, and (admins) list and revoke the existing ones.
import { useEffect, useRef, useState } from 'preact/hooks';
import { t, fmtDay, fmtTime } from '../../i18n';
import { createInvite, listInvites, revokeInvite, inviteUrl, isAdmin, type Invite } from '../../state/groups';
import { ErrorText } from '../common/ErrorText';
import type { Group } from '../../lib/types';

const DAY = 86_400_000;
const EXPIRIES = [
  { ms: 0, key: 'groups.invite.never' },
  { ms: 3_600_000, key: 'groups.invite.1h' },
  { ms: DAY, key: 'groups.invite.1d' },
  { ms: 7 * DAY, key: 'groups.invite.1w' },
];

export function InviteLinks(p: { group: Group }) {
  const id = p.group.conversation_id;
  const admin = isAdmin(p.group.my_role);
  const [expiry, setExpiry] = useState(0);
  const [maxUses, setMaxUses] = useState('');
  const [latest, setLatest] = useState<Invite | null>(null);
  const [list, setList] = useState<Invite[]>([]);
  const [error, setError] = useState<unknown>(null);
  const reload = () => (admin ? listInvites(id).then(setList, setError) : Promise.resolve());
  useEffect(() => {
    void reload();
  }, [id, admin]);
  if (p.group.dissolved) return null;
  const create = async (e: Event) => {
    e.preventDefault();
    setError(null);
    try {
      const uses = parseInt(maxUses, 10);
      const inv = await createInvite(id, {
        ...(expiry ? { expires_at: Date.now() + expiry } : {}),
        ...(uses > 0 ? { max_uses: uses } : {}),
      });
      setLatest(inv);
      await reload();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <section class="g-section" aria-labelledby="g-inv-h">
      <h3 id="g-inv-h">{t('groups.invite.heading')}</h3>
      <form class="g-inline-form" onSubmit={create}>
        <label>
          {t('groups.invite.expires')}
          <select value={expiry} onChange={(e) => setExpiry(Number((e.target as HTMLSelectElement).value))}>
            {EXPIRIES.map((x) => (
              <option key={x.ms} value={x.ms}>
                {t(x.key)}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t('groups.invite.maxUses')}
          <input type="number" min={1} max={1000000} inputMode="numeric" value={maxUses} placeholder={t('groups.invite.unlimited')} onInput={(e) => setMaxUses((e.target as HTMLInputElement).value)} />
        </label>
        <button type="submit" class="primary" data-testid="invite-create">
          {t('groups.invite.create')}
        </button>
      </form>
      {latest && <InviteUrl token={latest.token} />}
      <ErrorText error={error} />
      {admin && list.length > 0 && (
        <ul class="g-invites" aria-label={t('groups.invite.list')}>
          {list.map((inv) => (
            <li key={inv.token} data-testid="invite-item" class={inv.revoked ? 'revoked' : ''}>
              <code>{inv.token}</code>
              <span class="muted">{describe(inv)}</span>
              {!inv.revoked && (
                <button type="button" data-testid="invite-revoke" aria-label={t('groups.invite.revokeOne', { token: inv.token })} onClick={() => revokeInvite(id, inv.token).then(reload, setError)}>
                  {t('groups.invite.revoke')}
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function describe(inv: Invite): string {
  const parts = [
    inv.max_uses ? t('groups.invite.usesOf', { n: inv.uses, max: inv.max_uses }) : t('groups.invite.uses', { n: inv.uses }),
  ];
  if (inv.expires_at) parts.push(t('groups.invite.until', { when: fmtDay(inv.expires_at) + ' ' + fmtTime(inv.expires_at) }));
  if (inv.revoked) parts.push(t('groups.invite.revoked'));
  return parts.join(' · ');
}

/** The link in a read-only field with a copy button; where the clipboard API
 * is refused (not a secure context), the text is selected for a manual copy. */
function InviteUrl(p: { token: string }) {
  const url = inviteUrl(location.origin, p.token);
  const ref = useRef<HTMLInputElement>(null);
  const [copied, setCopied] = useState<string | null>(null);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(url);
      setCopied(t('groups.invite.copied'));
    } catch {
      ref.current?.focus();
      ref.current?.select();
      setCopied(t('groups.invite.selectToCopy'));
    }
  };
  return (
    <div class="g-link">
      <label>
        {t('groups.invite.link')}
        <input ref={ref} readOnly value={url} data-testid="invite-link" onFocus={(e) => (e.target as HTMLInputElement).select()} />
      </label>
      <button type="button" data-testid="invite-copy" onClick={copy}>
        {t('groups.invite.copy')}
      </button>
      <span role="status" class="muted">
        {copied}
      </span>
    </div>
  );
}
