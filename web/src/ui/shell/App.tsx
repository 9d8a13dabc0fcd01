// The shell: signed out → the auth screens; signed in → the navigation and
// the screen of the current path. Every route of the client is in this table.
import { useEffect } from 'preact/hooks';
import { path, match, navigate } from '../../router';
import { session, me } from '../../lib/session';
import { wsStatus, wsLost } from '../../lib/ws';
import { keepTokensFresh } from '../../lib/http';
import { loadMe } from '../../state/account';
import { startChat, stopChat, totalUnread } from '../../state/chat';
import './shell.css';
import { t } from '../../i18n';
import { AuthScreen } from '../auth/AuthScreen';
import { ChatsScreen } from '../chats/ChatsScreen';
import { WorldScreen } from '../groups/WorldScreen';
import { GroupsScreen } from '../groups/GroupsScreen';
import { JoinPage } from '../groups/JoinPage';
import { PeopleScreen } from '../people/PeopleScreen';
import { SettingsScreen } from '../settings/SettingsScreen';
import { Lazy } from '../common/Lazy';

const loadAdmin = () => import('../admin/AdminScreen').then((m) => m.AdminScreen);

/** Paths a signed-out visitor may see. */
const PUBLIC = ['/login', '/register', '/guest'];

/** Guests have the world room and their settings, nothing else. */
function guestPath(p: string): string {
  return p === '/world' || p === '/settings' || p.startsWith('/settings/') ? p : '/world';
}

function screen(p: string) {
  let m: Record<string, string> | null;
  if (p === '/' || p === '/chats') return <ChatsScreen />;
  if ((m = match('/chats/:id', p))) return <ChatsScreen convId={m.id} />;
  if (p === '/world') return <WorldScreen />;
  if (p === '/groups') return <GroupsScreen />;
  if ((m = match('/join/:token', p))) return <JoinPage token={m.token} />;
  if (p === '/people') return <PeopleScreen />;
  if ((m = match('/people/:id', p))) return <PeopleScreen userId={m.id} />;
  if (p === '/settings') return <SettingsScreen />;
  if ((m = match('/settings/:section', p))) return <SettingsScreen section={m.section} />;
  if (p.startsWith('/admin') && !me.value?.admin) return <p class="muted">{t('common.notFound')}</p>;
  if (p === '/admin') return <Lazy load={loadAdmin} props={{ section: undefined }} />;
  if ((m = match('/admin/:section', p))) return <Lazy load={loadAdmin} props={{ section: m.section }} />;
  return <p class="muted">{t('common.notFound')}</p>;
}

function NavLink(p: { to: string; label: string; testid: string; count?: number }) {
  const cur = path.value === p.to || path.value.startsWith(p.to + '/');
  return (
    <a
      href={p.to}
      data-testid={p.testid}
      aria-current={cur ? 'page' : undefined}
      onClick={(e) => {
        e.preventDefault();
        navigate(p.to);
      }}
    >
      {p.label}
      {!!p.count && (
        <>
          <span class="nav-badge" aria-hidden="true">
            {p.count > 99 ? '99+' : p.count}
          </span>
          <span class="visually-hidden">{t('common.unread', { count: p.count })}</span>
        </>
      )}
    </a>
  );
}

export function App() {
  const s = session.value;
  const p = path.value;
  useEffect(() => {
    if (!s) return;
    void loadMe().catch(() => {});
    const stopTokens = keepTokensFresh();
    startChat();
    return () => {
      stopTokens();
      stopChat();
    };
  }, [s?.deviceId]);

  if (!s) {
    if (PUBLIC.includes(p)) return <AuthScreen mode={p.slice(1) as 'login' | 'register' | 'guest'} />;
    // Remember where the visitor was going (an invite link) and come back after.
    if (p.startsWith('/join/')) sessionStorage.setItem('magpie.after', p);
    return <AuthScreen mode="login" />;
  }
  if (PUBLIC.includes(p)) {
    const after = sessionStorage.getItem('magpie.after');
    sessionStorage.removeItem('magpie.after');
    queueMicrotask(() => navigate(after ?? (s.guest ? '/world' : '/chats'), true));
  }
  const guest = s.guest;
  return (
    <div class="shell">
      <a class="skip" href="#main">
        {t('common.skip')}
      </a>
      <nav class="nav" aria-label={t('common.nav.main')}>
        {!guest && <NavLink to="/chats" label={t('common.nav.chats')} testid="nav-chats" count={totalUnread.value} />}
        <NavLink to="/world" label={t('common.nav.world')} testid="nav-world" />
        {!guest && <NavLink to="/groups" label={t('common.nav.groups')} testid="nav-groups" />}
        {!guest && <NavLink to="/people" label={t('common.nav.people')} testid="nav-people" />}
        <NavLink to="/settings" label={t('common.nav.settings')} testid="nav-settings" />
        {me.value?.admin && <NavLink to="/admin" label={t('common.nav.admin')} testid="nav-admin" />}
      </nav>
      {wsStatus.value !== 'online' && (
        <div class="banner" role="status" data-testid="offline-banner">
          {wsStatus.value === 'connecting' && !wsLost.value ? t('common.connecting') : t('common.offline')}
        </div>
      )}
      <main id="main" class="main">
        {screen(guest ? guestPath(p) : p)}
      </main>
    </div>
  );
}
