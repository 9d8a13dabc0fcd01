// Accounts: search and filters (GET /v1/admin/users), a paged table, and per
// user disable / enable, promote / demote, a password reset and deletion.
// Every dangerous action asks first; refusals (409 for the last
// administrator) stay in the dialog with the server's message.
import { useEffect, useState } from 'preact/hooks';
import { t } from '../../i18n';
import { session } from '../../lib/session';
import { listUsers, replaceItem, type AdminUser, type UserFilter } from '../../state/admin';
import { Ago, TableFrame, PageFooter, usePaged, fmtDate } from './common';
import { UserDialog, type UserAction } from './UserDialogs';
import { AddUser } from './AddUser';

const FILTERS: Record<string, Omit<UserFilter, 'q'>> = {
  all: {},
  admins: { admin: true },
  disabled: { disabled: true },
  guests: { guest: true },
  registered: { guest: false },
};

/** The search box's text, settled for a moment before it is sent. */
function useDebounced(v: string, ms: number): string {
  const [d, setD] = useState(v);
  useEffect(() => {
    const h = setTimeout(() => setD(v), ms);
    return () => clearTimeout(h);
  }, [v]);
  return d;
}

function UserRow(p: { u: AdminUser; onAction: (a: UserAction, u: AdminUser) => void }) {
  const u = p.u;
  const self = u.user_id === session.value?.userId;
  const act = (a: UserAction, label: string, cls = '') => (
    <button
      type="button"
      class={cls}
      data-testid={'admin-user-' + a}
      aria-label={t('admin.users.actionFor', { action: label, name: u.username })}
      onClick={() => p.onAction(a, u)}
    >
      {label}
    </button>
  );
  return (
    <tr data-testid="admin-user-row" data-user-id={u.user_id} data-username={u.username}>
      <th scope="row">
        {u.username}
        {self && <span class="muted"> {t('admin.users.you')}</span>}
      </th>
      <td>{u.display_name}</td>
      <td class="admin-nowrap">{fmtDate(u.created_at)}</td>
      <td class="admin-nowrap">
        <Ago at={u.last_seen_at} />
      </td>
      <td>
        <span class="admin-flags">
          {u.sessions > 0 && <span class="admin-badge ok">{t('admin.users.online', { n: u.sessions })}</span>}
          {u.admin && <span class="admin-badge">{t('admin.users.admin')}</span>}
          {u.guest && <span class="admin-badge">{t('admin.users.guest')}</span>}
          {u.pending && <span class="admin-badge">{t('admin.users.pending')}</span>}
          {u.disabled && <span class="admin-badge bad">{t('admin.users.disabled')}</span>}
        </span>
      </td>
      <td class="admin-row-actions">
        {/* Disabling, resetting or deleting oneself would end this session mid-action;
            the control socket or another administrator can do it. */}
        {u.disabled ? act('enable', t('admin.users.enable')) : !self && act('disable', t('admin.users.disable'), 'danger')}
        {!u.guest && (u.admin ? act('demote', t('admin.users.demote')) : act('promote', t('admin.users.promote')))}
        {!u.guest && !self && act('password', t('admin.users.resetPassword'))}
        {!self && act('delete', t('admin.users.delete'), 'danger')}
      </td>
    </tr>
  );
}

export function Users() {
  const [text, setText] = useState('');
  const [filter, setFilter] = useState('all');
  const [dialog, setDialog] = useState<{ action: UserAction; user: AdminUser } | null>(null);
  const [adding, setAdding] = useState(false);
  const q = useDebounced(text, 300);
  const list = usePaged((c) => listUsers({ q, ...FILTERS[filter] }, c), (u) => u.user_id, [q, filter]);

  const changed = (u: AdminUser | null, id: string) =>
    list.setItems((items) => (u ? replaceItem(items, u, (x) => x.user_id) : items.filter((x) => x.user_id !== id)));

  return (
    <section class="admin-section" data-testid="admin-users" aria-labelledby="admin-users-h">
      <h2 id="admin-users-h">{t('admin.tab.users')}</h2>
      <form class="admin-toolbar" role="search" onSubmit={(e) => e.preventDefault()}>
        <label>
          {t('admin.users.search')}
          <input
            type="search"
            value={text}
            maxLength={64}
            placeholder={t('admin.users.searchHint')}
            data-testid="admin-user-search"
            onInput={(e) => setText(e.currentTarget.value)}
          />
        </label>
        <label>
          {t('admin.users.filter')}
          <select value={filter} data-testid="admin-user-filter" onChange={(e) => setFilter(e.currentTarget.value)}>
            {Object.keys(FILTERS).map((f) => (
              <option key={f} value={f}>
                {t('admin.users.filter.' + f)}
              </option>
            ))}
          </select>
        </label>
        <button type="button" class="primary" data-testid="admin-user-add" onClick={() => setAdding(true)}>
          {t('admin.users.add')}
        </button>
      </form>
      <TableFrame label={t('admin.users.caption')}>
        <table class="admin-table">
          <caption>{t('admin.users.caption')}</caption>
          <thead>
            <tr>
              <th scope="col">{t('admin.users.username')}</th>
              <th scope="col">{t('admin.users.displayName')}</th>
              <th scope="col">{t('admin.users.created')}</th>
              <th scope="col">{t('admin.users.lastSeen')}</th>
              <th scope="col">{t('admin.users.flags')}</th>
              <th scope="col">{t('admin.actions')}</th>
            </tr>
          </thead>
          <tbody>
            {list.items.map((u) => (
              <UserRow key={u.user_id} u={u} onAction={(action, user) => setDialog({ action, user })} />
            ))}
          </tbody>
        </table>
      </TableFrame>
      <PageFooter list={list} empty={t('admin.users.none')} />
      {dialog && <UserDialog {...dialog} onChanged={changed} onClose={() => setDialog(null)} />}
      {adding && (
        <AddUser
          onClose={() => setAdding(false)}
          onAdded={(u) => list.setItems((items) => [u, ...items.filter((x) => x.user_id !== u.user_id)])}
        />
      )}
    </section>
  );
}
