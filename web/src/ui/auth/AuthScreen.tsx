// The signed-out screens: sign in, create an account, enter as a guest, and
// the e-mail verification step that registration = email adds. The mode
// comes from the path (/login, /register, /guest); the links between them
// are real links, so the back button and reloads work.
import { useState } from 'preact/hooks';
import { navigate } from '../../router';
import { t, lang, setLang, type Lang } from '../../i18n';
import { LoginForm } from './LoginForm';
import { RegisterForm } from './RegisterForm';
import { GuestForm } from './GuestForm';
import { VerifyForm, type Pending } from './VerifyForm';
import './auth.css';

type Mode = 'login' | 'register' | 'guest';

function Goto(p: { to: Mode; testid: string; label: string }) {
  return (
    <a
      href={'/' + p.to}
      data-testid={p.testid}
      onClick={(e) => {
        e.preventDefault();
        navigate('/' + p.to);
      }}
    >
      {p.label}
    </a>
  );
}

/** The language can be chosen before signing in (settings has it after). */
function LangSelect() {
  return (
    <select
      class="auth-lang"
      aria-label={t('auth.language')}
      value={lang.value}
      onChange={(e) => setLang((e.currentTarget as HTMLSelectElement).value as Lang)}
    >
      <option value="en">{t('auth.lang.en')}</option>
      <option value="zh">{t('auth.lang.zh')}</option>
    </select>
  );
}

export function AuthScreen(p: { mode: Mode }) {
  const [pending, setPending] = useState<Pending | null>(null);
  const title = pending ? t('auth.verify.title') : t(`auth.${p.mode}.title`);

  let form;
  if (pending) form = <VerifyForm pending={pending} />;
  else if (p.mode === 'register') form = <RegisterForm onUnverified={setPending} />;
  else if (p.mode === 'guest') form = <GuestForm />;
  else form = <LoginForm onUnverified={setPending} />;

  return (
    <main class="auth" id="main">
      <div class="auth-card">
        <header class="auth-head">
          <p class="auth-brand">{t('common.app')}</p>
          <LangSelect />
        </header>
        <p class="auth-tagline muted">{t('auth.tagline')}</p>
        <h1 id="auth-title">{title}</h1>
        {/* key: a fresh form (and state) for each mode */}
        <div key={pending ? 'verify' : p.mode}>{form}</div>
        <nav class="auth-links" aria-label={t('auth.forms')}>
          {(p.mode !== 'login' || pending) && <Goto to="login" testid="goto-login" label={t('auth.gotoLogin')} />}
          {p.mode !== 'register' && !pending && <Goto to="register" testid="goto-register" label={t('auth.gotoRegister')} />}
          {p.mode !== 'guest' && !pending && <Goto to="guest" testid="goto-guest" label={t('auth.gotoGuest')} />}
        </nav>
      </div>
    </main>
  );
}
