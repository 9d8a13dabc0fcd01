// E-mail verification (registration = email): the two public routes the
// verification step calls. They are only used by this screen.
import { post } from '../../lib/http';

export function verifyEmail(email: string, code: string): Promise<void> {
  return post('/v1/auth/verify-email', { email, code }, { anonymous: true });
}

export function resendCode(email: string): Promise<void> {
  return post('/v1/auth/resend-code', { email }, { anonymous: true });
}
