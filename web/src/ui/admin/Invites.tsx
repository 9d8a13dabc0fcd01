// Invite codes (POST/GET/DELETE /v1/admin/invites): create with a number of
// uses, an expiry and a note; list; copy; revoke. A code is what a person
// types into the registration form when registration = invite.
import { useState } from 'preact/hooks';
import { t } from '../../i18n';
import { createInvite, expiresIn, listInvites, revokeInvite, type Invite } from '../../state/admin';
import { AdminError, ConfirmDialog, PageFooter, TableFrame, copyText, fmtDate, usePaged } from './common';

const EXPIRIES = ['', '1h', '1d', '7d', '30d'];

function CreateInvite(p: { onCreated: (i: Invite) => void }) {
  const [uses, setUses] = useState('1');
  const [expiry, setExpiry] = useState('7d');
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const inv = await createInvite({ max_uses: Number(uses), expires_in: expiresIn(expiry), note: note.trim() || undefined });
      p.onCreated(inv);
      setNote('');
    } catch (err) {
      setError(err);
    }
    setBusy(false);
  };
  return (
    <form class="admin-toolbar" onSubmit={submit} aria-labelledby="admin-invite-new-h">
      <h3 id="admin-invite-new-h" class="visually-hidden">
        {t('admin.invites.new')}
      </h3>
      <label>
        {t('admin.invites.uses')}
        <input type="number" min={0} max={1000000} required value={uses} data-testid="admin-invite-uses" onInput={(e) => setUses(e.currentTarget.value)} />
      </label>
      <label>
        {t('admin.invites.expiry')}
        <select value={expiry} data-testid="admin-invite-expiry" onChange={(e) => setExpiry(e.currentTarget.value)}>
          {EXPIRIES.map((x) => (
            <option key={x} value={x}>
              {t('admin.invites.expiry.' + (x || 'never'))}
            </option>
          ))}
        </select>
      </label>
      <label class="admin-grow">
        {t('admin.invites.note')}
        <input value={note} maxLength={256} data-testid="admin-invite-note" onInput={(e) => setNote(e.currentTarget.value)} />
      </label>
      <button type="submit" class="primary" disabled={busy} data-testid="admin-invite-create">
        {t('admin.invites.create')}
      </button>
      <p class="muted admin-hint">{t('admin.invites.usesHint')}</p>
      <AdminError error={error} />
    </form>
  );
}

function InviteRow(p: { inv: Invite; fresh: boolean; onRevoke: (i: Invite) => void }) {
  const i = p.inv;
  const [copied, setCopied] = useState(false);
  return (
    <tr data-testid="admin-invite-row" data-code={i.code} class={p.fresh ? 'admin-fresh' : undefined}>
      <th scope="row" class="admin-mono">
        {i.code}
      </th>
      <td>
        <span class={i.state === 'active' ? 'admin-badge ok' : 'admin-badge'}>{t('admin.invites.state.' + i.state)}</span>
      </td>
      <td>{i.max_uses ? t('admin.invites.usesOf', { uses: i.uses, max: i.max_uses }) : t('admin.invites.usesUnlimited', { uses: i.uses })}</td>
      <td class="admin-nowrap">{i.expires_at ? fmtDate(i.expires_at) : t('admin.invites.expiry.never')}</td>
      <td>{i.note}</td>
      <td class="admin-nowrap">{fmtDate(i.created_at)}</td>
      <td class="admin-row-actions">
        <button
          type="button"
          data-testid="admin-invite-copy"
          aria-label={t(copied ? 'admin.invites.copiedFor' : 'admin.invites.copyFor', { code: i.code })}
          onClick={async () => setCopied(await copyText(i.code))}
        >
          {copied ? t('admin.copied') : t('admin.copy')}
        </button>
        {i.state !== 'revoked' && (
          <button
            type="button"
            class="danger"
            data-testid="admin-invite-revoke"
            aria-label={t('admin.invites.revokeFor', { code: i.code })}
            onClick={() => p.onRevoke(i)}
          >
            {t('admin.invites.revoke')}
          </button>
        )}
      </td>
    </tr>
  );
}

export function Invites() {
  const list = usePaged(listInvites, (i) => i.code, []);
  const [revoking, setRevoking] = useState<Invite | null>(null);
  const [fresh, setFresh] = useState<string | null>(null);
  return (
    <section class="admin-section" data-testid="admin-invites" aria-labelledby="admin-invites-h">
      <h2 id="admin-invites-h">{t('admin.tab.invites')}</h2>
      <p class="muted">{t('admin.invites.intro')}</p>
      <CreateInvite
        onCreated={(inv) => {
          list.setItems((items) => [inv, ...items]);
          setFresh(inv.code);
        }}
      />
      <p class="visually-hidden" role="status">
        {fresh ? t('admin.invites.created', { code: fresh }) : ''}
      </p>
      <TableFrame label={t('admin.invites.caption')}>
        <table class="admin-table">
          <caption>{t('admin.invites.caption')}</caption>
          <thead>
            <tr>
              <th scope="col">{t('admin.invites.code')}</th>
              <th scope="col">{t('admin.invites.stateCol')}</th>
              <th scope="col">{t('admin.invites.uses')}</th>
              <th scope="col">{t('admin.invites.expires')}</th>
              <th scope="col">{t('admin.invites.note')}</th>
              <th scope="col">{t('admin.invites.createdAt')}</th>
              <th scope="col">{t('admin.actions')}</th>
            </tr>
          </thead>
          <tbody>
            {list.items.map((i) => (
              <InviteRow key={i.code} inv={i} fresh={i.code === fresh} onRevoke={setRevoking} />
            ))}
          </tbody>
        </table>
      </TableFrame>
      <PageFooter list={list} empty={t('admin.invites.none')} />
      {revoking && (
        <ConfirmDialog
          title={t('admin.invites.revokeTitle', { code: revoking.code })}
          body={<p>{t('admin.invites.revokeBody', { code: revoking.code })}</p>}
          confirm={t('admin.invites.revoke')}
          onConfirm={async () => {
            await revokeInvite(revoking.code);
            const code = revoking.code;
            list.setItems((items) => items.map((x) => (x.code === code ? { ...x, state: 'revoked', revoked_at: x.revoked_at || Date.now() } : x)));
          }}
          onClose={() => setRevoking(null)}
        />
      )}
    </section>
  );
}
