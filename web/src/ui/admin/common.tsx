// Pieces every admin section uses: paged loading, the error line (with the
// "administrators only" case), a confirmation dialog that shows the server's
// refusal in place, dates, and a scrollable table frame.
import { useEffect, useRef, useState } from 'preact/hooks';
import type { ComponentChildren } from 'preact';
import { Modal } from '../common/Modal';
import { ErrorText } from '../common/ErrorText';
import { isApiError } from '../../lib/errors';
import { t, fmtDay, fmtTime, lang } from '../../i18n';
import { agoParts, mergePage, type Page } from '../../state/admin';

export function fmtDate(ms: number | null | undefined): string {
  return ms ? fmtDay(ms) + ' ' + fmtTime(ms) : '—';
}

/** "5 minutes ago" in the current language, the full date as its tooltip
 * and machine-readable value. */
export function Ago(p: { at: number | null }) {
  if (!p.at) return <>—</>;
  const { value, unit } = agoParts(p.at, Date.now());
  const text = new Intl.RelativeTimeFormat(lang.value === 'zh' ? 'zh-CN' : 'en', { numeric: 'auto' }).format(value, unit);
  return (
    <time dateTime={new Date(p.at).toISOString()} title={fmtDate(p.at)}>
      {text}
    </time>
  );
}

/** The server's message, or "administrators only" for a 403 forbidden
 * (a user demoted while the console was open). */
export function AdminError(p: { error?: unknown }) {
  if (isApiError(p.error, 'forbidden'))
    return (
      <p class="error" role="alert">
        {t('admin.forbidden')}
      </p>
    );
  return <ErrorText error={p.error} />;
}

export interface Paged<T> {
  items: T[];
  setItems: (f: (items: T[]) => T[]) => void;
  hasMore: boolean;
  loading: boolean;
  error?: unknown;
  more: () => void;
  reload: () => void;
}

/** A list loaded page by page from fetch(cursor); reloads from the first
 * page when deps change. An answer that arrives after deps changed is dropped. */
export function usePaged<T>(fetch: (cursor: string | null) => Promise<Page<T>>, key: (x: T) => string, deps: unknown[]): Paged<T> {
  const [items, setItems] = useState<T[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<unknown>();
  const gen = useRef(0);

  const load = (cursor: string | null) => {
    const g = ++gen.current;
    setLoading(true);
    setError(undefined);
    fetch(cursor).then(
      (pg) => {
        if (g !== gen.current) return;
        setItems((old) => (cursor ? mergePage(old, pg.items, key) : pg.items));
        setNext(pg.next);
        setLoading(false);
      },
      (e) => {
        if (g !== gen.current) return;
        setError(e);
        setLoading(false);
      },
    );
  };
  useEffect(() => {
    load(null);
    return () => {
      gen.current++;
    };
  }, deps);
  return {
    items,
    setItems,
    hasMore: next !== null,
    loading,
    error,
    more: () => next && load(next),
    reload: () => load(null),
  };
}

/** The table's frame: scrolls sideways on a phone, and can take focus so
 * that a keyboard can scroll it too. */
export function TableFrame(p: { label: string; children: ComponentChildren }) {
  return (
    <div class="admin-table-frame" role="region" aria-label={p.label} tabIndex={0}>
      {p.children}
    </div>
  );
}

/** The footer of a paged list: "Load more", "Loading…", or the end. */
export function PageFooter<T>(p: { list: Paged<T>; empty: string }) {
  const l = p.list;
  return (
    <div class="admin-footer">
      <AdminError error={l.error} />
      {l.loading ? (
        <p class="muted" role="status">
          {t('common.loading')}
        </p>
      ) : l.items.length === 0 && !l.error ? (
        <p class="muted">{p.empty}</p>
      ) : null}
      {l.hasMore && !l.loading && (
        <button type="button" onClick={l.more}>
          {t('admin.more')}
        </button>
      )}
      {l.error !== undefined && !l.loading && (
        <button type="button" onClick={l.reload}>
          {t('common.retry')}
        </button>
      )}
    </div>
  );
}

/** A dialog that asks before a dangerous action. With `typed`, the confirm
 * button stays disabled until that exact text is typed (deleting an account).
 * A refusal keeps the dialog open with the server's message. */
export function ConfirmDialog(p: {
  title: string;
  body: ComponentChildren;
  confirm: string;
  typed?: string;
  onConfirm: () => Promise<void>;
  onClose: () => void;
  /** After success (default: onClose); a dialog that shows a result next passes its own. */
  onDone?: () => void;
}) {
  const [text, setText] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const ok = !p.typed || text.trim() === p.typed;
  const submit = async (e: Event) => {
    e.preventDefault();
    if (!ok || busy) return;
    setBusy(true);
    setError(undefined);
    try {
      await p.onConfirm();
      (p.onDone ?? p.onClose)();
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  return (
    <Modal title={p.title} onClose={p.onClose}>
      <form class="admin-form" onSubmit={submit}>
        <div>{p.body}</div>
        {p.typed && (
          <label>
            {t('admin.typeToConfirm', { text: p.typed })}
            <input value={text} onInput={(e) => setText(e.currentTarget.value)} autoComplete="off" spellcheck={false} data-testid="admin-confirm-text" />
          </label>
        )}
        <AdminError error={error} />
        <div class="admin-actions">
          <button type="button" onClick={p.onClose}>
            {t('common.cancel')}
          </button>
          <button type="submit" class="primary admin-danger-button" disabled={!ok || busy} data-testid="admin-confirm">
            {p.confirm}
          </button>
        </div>
      </form>
    </Modal>
  );
}

/** Copies text; falls back to selecting the given field when the clipboard
 * API is refused (no permission, insecure origin). */
export async function copyText(text: string, field?: HTMLInputElement | null): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    field?.select();
    return false;
  }
}
