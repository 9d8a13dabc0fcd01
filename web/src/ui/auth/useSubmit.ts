// The submit logic the auth forms share: busy state, the server's error, and
// the Retry-After countdown of a rate_limited answer (the button stays
// disabled until it ends, so a person is not pushed into more refusals).
import { useEffect, useState } from 'preact/hooks';
import { isApiError } from '../../lib/errors';
import { t } from '../../i18n';

export interface Submit {
  busy: boolean;
  /** The message to show, or '' when there is none. */
  message: string;
  /** The error's code, for the form to mark the field it concerns. */
  code: string;
  /** Seconds left before a rate-limited form may be sent again. */
  wait: number;
  run: (fn: () => Promise<void>) => Promise<void>;
  clear: () => void;
}

export function useSubmit(): Submit {
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState('');
  const [code, setCode] = useState('');
  const [wait, setWait] = useState(0);

  useEffect(() => {
    if (wait <= 0) return;
    const id = setTimeout(() => setWait((w) => w - 1), 1000);
    return () => clearTimeout(id);
  }, [wait]);

  async function run(fn: () => Promise<void>): Promise<void> {
    if (busy || wait > 0) return;
    setBusy(true);
    setMessage('');
    setCode('');
    try {
      await fn();
    } catch (e) {
      if (isApiError(e)) {
        setCode(e.code);
        setMessage(e.code === 'network' ? t('auth.network') : e.message);
        if (e.code === 'rate_limited' && e.retryAfter > 0) setWait(Math.ceil(e.retryAfter));
      } else {
        setCode('internal');
        setMessage(e instanceof Error ? e.message : String(e));
      }
    } finally {
      setBusy(false);
    }
  }

  const clear = () => {
    setMessage('');
    setCode('');
  };
  return { busy, message, code, wait, run, clear };
}
