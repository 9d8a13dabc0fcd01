// Creating an account. The server's registration mode cannot be read before
// signing in, so the form asks for what every mode accepts (the e-mail
// address is optional unless the server requires it) and shows the invite
// code field when the server asks for one (or when the link carries one).
import { useEffect, useState } from 'preact/hooks';
import { register } from '../../state/account';
import { isApiError } from '../../lib/errors';
import { t } from '../../i18n';
import { Field, usernameInput } from './Field';
import { AuthError, SubmitButton } from './AuthError';
import { useSubmit } from './useSubmit';
import type { Pending } from './VerifyForm';

/** Which field an error code is about, to mark it invalid and focus it. */
const FIELD_OF: Record<string, string> = {
  bad_username: 'register-username',
  username_taken: 'register-username',
  weak_password: 'register-password',
  bad_email: 'register-email',
  email_taken: 'register-email',
  invite_required: 'register-invite',
  invalid_invite: 'register-invite',
};

function inviteFromLink(): string {
  return new URLSearchParams(globalThis.location?.search ?? '').get('invite') ?? '';
}

export function RegisterForm(p: { onUnverified: (v: Pending) => void }) {
  const [username, setUsername] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [password, setPassword] = useState('');
  const [email, setEmail] = useState('');
  const [invite, setInvite] = useState(inviteFromLink);
  const [needInvite, setNeedInvite] = useState(invite !== '');
  const [needEmail, setNeedEmail] = useState(false);
  const s = useSubmit();
  const field = FIELD_OF[s.code] ?? '';
  // Take the person to the field the server refused.
  useEffect(() => {
    if (field) document.getElementById(field)?.focus();
  }, [s.code, field]);

  const submit = (e: Event) => {
    e.preventDefault();
    const name = username.trim();
    const extra: Record<string, string> = {};
    if (displayName.trim()) extra.display_name = displayName.trim();
    if (email.trim()) extra.email = email.trim();
    if (invite.trim()) extra.invite_code = invite.trim();
    void s.run(async () => {
      try {
        await register(name, password, extra);
      } catch (err) {
        if (isApiError(err, 'email_unverified')) return p.onUnverified({ username: name, password, email: email.trim() });
        if (isApiError(err, 'invite_required') || isApiError(err, 'invalid_invite')) setNeedInvite(true);
        // registration = email refuses a missing address with bad_email.
        if (isApiError(err, 'bad_email') && !email.trim()) setNeedEmail(true);
        throw err;
      }
    });
  };

  return (
    <form class="auth-form" onSubmit={submit} aria-labelledby="auth-title">
      <Field
        id="register-username"
        label={t('auth.username')}
        hint={t('auth.username.hint')}
        value={username}
        onInput={setUsername}
        invalid={field === 'register-username'}
        testid="register-username"
        input={{ ...usernameInput, autoFocus: true }}
      />
      <Field
        id="register-display-name"
        label={t('auth.displayName')}
        hint={t('auth.displayName.hint')}
        value={displayName}
        onInput={setDisplayName}
        testid="register-display-name"
        input={{ type: 'text', autocomplete: 'nickname', maxLength: 64 }}
      />
      <Field
        id="register-password"
        label={t('auth.password')}
        hint={t('auth.password.hint')}
        value={password}
        onInput={setPassword}
        invalid={field === 'register-password'}
        testid="register-password"
        input={{ type: 'password', name: 'password', autocomplete: 'new-password', required: true, minLength: 8 }}
      />
      <Field
        id="register-email"
        label={t('auth.email')}
        hint={needEmail ? t('auth.email.required') : t('auth.email.optional')}
        value={email}
        onInput={setEmail}
        invalid={field === 'register-email'}
        testid="register-email"
        input={{ type: 'email', name: 'email', autocomplete: 'email', required: needEmail }}
      />
      {needInvite && (
        <Field
          id="register-invite"
          label={t('auth.invite')}
          hint={t('auth.invite.hint')}
          value={invite}
          onInput={setInvite}
          invalid={field === 'register-invite'}
          testid="register-invite"
        input={{ type: 'text', autocomplete: 'off', autocapitalize: 'characters', spellcheck: false, required: true }}
        />
      )}
      <AuthError s={s} />
      <SubmitButton s={s} testid="register-submit" label={t('auth.register.submit')} />
    </form>
  );
}
