// The e-mail verification step (registration = email): the 6-digit code,
// then signing in with the credentials just typed (kept in memory only).
import { useState } from 'preact/hooks';
import { login } from '../../state/account';
import { t } from '../../i18n';
import { Field } from './Field';
import { AuthError, SubmitButton } from './AuthError';
import { useSubmit } from './useSubmit';
import { verifyEmail, resendCode } from './verify';

export interface Pending {
  username: string;
  password: string;
  /** '' when the step comes from the login form (the address is asked). */
  email: string;
}

export function VerifyForm(p: { pending: Pending }) {
  const [email, setEmail] = useState(p.pending.email);
  const [code, setCode] = useState('');
  const [resent, setResent] = useState(false);
  const s = useSubmit();

  const submit = (e: Event) => {
    e.preventDefault();
    void s.run(async () => {
      await verifyEmail(email.trim(), code.trim());
      await login(p.pending.username, p.pending.password);
    });
  };
  const resend = () =>
    void s.run(async () => {
      await resendCode(email.trim());
      setResent(true);
    });

  return (
    <form class="auth-form" onSubmit={submit} aria-labelledby="auth-title">
      <p class="auth-intro">{t('auth.verify.intro')}</p>
      {!p.pending.email && (
        <Field
          id="verify-email"
          label={t('auth.email')}
          value={email}
          onInput={setEmail}
          testid="verify-email"
        input={{ type: 'email', name: 'email', autocomplete: 'email', required: true, autoFocus: true }}
        />
      )}
      <Field
        id="verify-code"
        label={t('auth.code')}
        hint={email ? t('auth.code.hint', { email }) : undefined}
        value={code}
        onInput={setCode}
        invalid={s.code === 'invalid_code'}
        testid="verify-code"
        input={{
          type: 'text',
          inputMode: 'numeric',
          autocomplete: 'one-time-code',
          pattern: '[0-9]{6}',
          maxLength: 6,
          required: true,
          autoFocus: !!p.pending.email,
        }}
      />
      <AuthError s={s} />
      {resent && (
        <p class="auth-hint" role="status">
          {t('auth.verify.resent')}
        </p>
      )}
      <SubmitButton s={s} testid="verify-submit" label={t('auth.verify.submit')} />
      <button type="button" class="auth-link-button" onClick={resend} disabled={s.busy || s.wait > 0 || !email.trim()}>
        {t('auth.verify.resend')}
      </button>
    </form>
  );
}
