// The audit log (GET /v1/admin/audit), newest first, page by page. The API
// pages but does not filter, so the filters narrow the entries loaded so
// far; "Load more" reaches further back.
import { useState } from 'preact/hooks';
import { t } from '../../i18n';
import { auditDetail, listAudit, type AuditEntry } from '../../state/admin';
import { PageFooter, TableFrame, fmtDate, usePaged } from './common';

const ACTIONS = [
  'user.add',
  'user.passwd',
  'user.disable',
  'user.enable',
  'user.promote',
  'user.demote',
  'user.delete',
  'invite.create',
  'invite.revoke',
  'world.delete_message',
  'world.ban',
  'world.unban',
];

/** Whether e passes the filters: an action, and text found in the actor,
 * the target or the detail (any case). */
function keep(e: AuditEntry, action: string, text: string): boolean {
  if (action && e.action !== action) return false;
  if (!text) return true;
  const hay = [e.actor_username ?? '', e.actor_id ?? '', e.target_id ?? '', auditDetail(e.detail)].join(' ').toLowerCase();
  return hay.includes(text.toLowerCase());
}

export function Audit() {
  const list = usePaged(listAudit, (e) => e.id, []);
  const [action, setAction] = useState('');
  const [text, setText] = useState('');
  const shown = list.items.filter((e) => keep(e, action, text.trim()));
  return (
    <section class="admin-section" data-testid="admin-audit" aria-labelledby="admin-audit-h">
      <h2 id="admin-audit-h">{t('admin.tab.audit')}</h2>
      <form class="admin-toolbar" role="search" onSubmit={(e) => e.preventDefault()}>
        <label>
          {t('admin.audit.action')}
          <select value={action} data-testid="admin-audit-action" onChange={(e) => setAction(e.currentTarget.value)}>
            <option value="">{t('admin.audit.allActions')}</option>
            {ACTIONS.map((a) => (
              <option key={a} value={a}>
                {a}
              </option>
            ))}
          </select>
        </label>
        <label class="admin-grow">
          {t('admin.audit.text')}
          <input type="search" value={text} data-testid="admin-audit-text" onInput={(e) => setText(e.currentTarget.value)} />
        </label>
        <p class="muted admin-hint" role="status">
          {t('admin.audit.shown', { shown: shown.length, loaded: list.items.length })}
        </p>
      </form>
      <TableFrame label={t('admin.audit.caption')}>
        <table class="admin-table">
          <caption>{t('admin.audit.caption')}</caption>
          <thead>
            <tr>
              <th scope="col">{t('admin.audit.time')}</th>
              <th scope="col">{t('admin.audit.actor')}</th>
              <th scope="col">{t('admin.audit.action')}</th>
              <th scope="col">{t('admin.audit.target')}</th>
              <th scope="col">{t('admin.audit.detail')}</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((e) => (
              <tr key={e.id} data-testid="admin-audit-row" data-action={e.action}>
                <th scope="row" class="admin-nowrap">{fmtDate(e.at)}</th>
                <td>{e.actor_id === null ? t('admin.audit.console') : (e.actor_username ?? e.actor_id)}</td>
                <td class="admin-mono">{e.action}</td>
                <td class="admin-mono">{e.target_id ?? '—'}</td>
                <td class="admin-detail">{auditDetail(e.detail)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableFrame>
      <PageFooter list={list} empty={t('admin.audit.none')} />
    </section>
  );
}
