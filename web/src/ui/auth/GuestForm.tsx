// Entering the world room as a guest. Whether the server takes guests can
// only be read with a token, so the form simply tries: a server without
// guests answers guest_forbidden, shown as its message.
import { useState } from 'preact/hooks';
import { enterAsGuest } from '../../state/account';
import { t } from '../../i18n';
import { Field } from './Field';
import { AuthError, SubmitButton } from './AuthError';
import { useSubmit } from './useSubmit';

export function GuestForm() {
  const [name, setName] = useState('');
  const s = useSubmit();

  const submit = (e: Event) => {
    e.preventDefault();
    void s.run(() => enterAsGuest(name.trim()));
  };

  return (
    <form class="auth-form" onSubmit={submit} aria-labelledby="auth-title">
      <p class="auth-intro">{t('auth.guest.intro')}</p>
      <Field
        id="guest-name"
        label={t('auth.guestName')}
        value={name}
        onInput={setName}
        invalid={s.code === 'bad_request'}
        testid="guest-name"
        input={{ type: 'text', autocomplete: 'nickname', required: true, maxLength: 64, autoFocus: true }}
      />
      <AuthError s={s} />
      <SubmitButton s={s} testid="guest-submit" label={t('auth.guest.submit')} />
    </form>
  );
}
