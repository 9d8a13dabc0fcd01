// The admin console: one tab per section, each a real path (/admin/users),
// so a reload or a shared link lands on the same section. Loaded lazily by
// the shell; only administrators get the link, and every section still
// shows a 403 from the server as "administrators only".
import { me } from '../../lib/session';
import { navigate } from '../../router';
import { t } from '../../i18n';
import { Overview } from './Overview';
import { Users } from './Users';
import { Invites } from './Invites';
import { World } from './World';
import { Audit } from './Audit';
import './admin.css';

const SECTIONS = {
  overview: Overview,
  users: Users,
  invites: Invites,
  world: World,
  audit: Audit,
} as const;
type Section = keyof typeof SECTIONS;

function Tab(p: { id: Section; current: Section }) {
  const to = '/admin/' + p.id;
  return (
    <a
      href={to}
      class="admin-tab"
      data-testid={'admin-tab-' + p.id}
      aria-current={p.id === p.current ? 'page' : undefined}
      onClick={(e) => {
        e.preventDefault();
        navigate(to);
      }}
    >
      {t('admin.tab.' + p.id)}
    </a>
  );
}

export function AdminScreen(p: { section?: string }) {
  const current: Section = p.section && p.section in SECTIONS ? (p.section as Section) : 'overview';
  const Body = SECTIONS[current];
  const m = me.value;
  return (
    <div class="admin">
      <header class="admin-head">
        <h1>{t('admin.title')}</h1>
        <nav class="admin-tabs" aria-label={t('admin.sections')}>
          {(Object.keys(SECTIONS) as Section[]).map((s) => (
            <Tab key={s} id={s} current={current} />
          ))}
        </nav>
      </header>
      {m && !m.admin ? (
        <p class="error" role="alert">
          {t('admin.forbidden')}
        </p>
      ) : (
        <Body />
      )}
    </div>
  );
}
