// Signing in with a username and a password.
import { useState } from 'preact/hooks';
import { login } from '../../state/account';
import { isApiError } from '../../lib/errors';
import { t } from '../../i18n';
import { Field, usernameInput } from './Field';
import { AuthError, SubmitButton } from './AuthError';
import { useSubmit } from './useSubmit';
import type { Pending } from './VerifyForm';

export function LoginForm(p: { onUnverified: (v: Pending) => void }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const s = useSubmit();
  const bad = s.code === 'bad_credentials';

  const submit = (e: Event) => {
    e.preventDefault();
    void s.run(async () => {
      try {
        await login(username.trim(), password);
      } catch (err) {
        // The right password for an account that still waits for its code.
        if (isApiError(err, 'email_unverified')) return p.onUnverified({ username: username.trim(), password, email: '' });
        throw err;
      }
    });
  };

  return (
    <form class="auth-form" onSubmit={submit} aria-labelledby="auth-title">
      <Field
        id="login-username"
        label={t('auth.username')}
        value={username}
        onInput={setUsername}
        invalid={bad}
        testid="login-username"
        input={{ ...usernameInput, minLength: undefined, autoFocus: true }}
      />
      <Field
        id="login-password"
        label={t('auth.password')}
        value={password}
        onInput={setPassword}
        invalid={bad}
        testid="login-password"
        input={{ type: 'password', name: 'password', autocomplete: 'current-password', required: true }}
      />
      <AuthError s={s} />
      <SubmitButton s={s} testid="login-submit" label={t('auth.login.submit')} />
    </form>
  );
}
