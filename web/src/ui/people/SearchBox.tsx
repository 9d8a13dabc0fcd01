// User search as one types: debounced (the server allows about one search a
// second, with a burst), the previous request aborted, more pages on demand.
import { useEffect, useRef, useState } from 'preact/hooks';
import { searchUsers } from '../../state/people';
import { UserRow } from './UserRow';
import { ErrorText } from '../common/ErrorText';
import { t } from '../../i18n';
import type { Profile } from '../../lib/types';

const DEBOUNCE_MS = 300;

export function SearchBox() {
  const [q, setQ] = useState('');
  const [results, setResults] = useState<Profile[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<unknown>();
  const [loading, setLoading] = useState(false);
  const ctl = useRef<AbortController | null>(null);

  const run = async (query: string, cursor: string | null) => {
    ctl.current?.abort();
    const c = (ctl.current = new AbortController());
    setLoading(true);
    setError(undefined);
    try {
      const page = await searchUsers(query, cursor, c.signal);
      setResults((prev) => (cursor && prev ? [...prev, ...page.items] : page.items));
      setNext(page.next);
    } catch (e) {
      if ((e as Error).name !== 'AbortError') setError(e);
    } finally {
      if (ctl.current === c) setLoading(false);
    }
  };

  useEffect(() => {
    const query = q.trim().replace(/^@/, '');
    if (!query) {
      ctl.current?.abort();
      setResults(null);
      setNext(null);
      setLoading(false);
      return;
    }
    const id = setTimeout(() => void run(query, null), DEBOUNCE_MS);
    return () => clearTimeout(id);
  }, [q]);

  return (
    <section class="people-search" aria-labelledby="people-search-h">
      <h2 id="people-search-h" class="visually-hidden">{t('people.search')}</h2>
      <label class="field">
        <span class="visually-hidden">{t('people.search')}</span>
        <input
          type="search"
          data-testid="people-search-input"
          placeholder={t('people.searchPlaceholder')}
          value={q}
          maxLength={64}
          autoComplete="off"
          onInput={(e) => setQ(e.currentTarget.value)}
        />
      </label>
      <div role="status" class="muted small">
        {loading ? t('common.loading') : results && results.length === 0 ? t('people.noResults') : results ? t('people.resultCount', { n: results.length }) : ''}
      </div>
      <ErrorText error={error} />
      {results && results.length > 0 && (
        <ul class="user-list" data-testid="people-results">
          {results.map((u) => (
            <UserRow key={u.user_id} user={u} testid="people-result" />
          ))}
        </ul>
      )}
      {next && (
        <button type="button" data-testid="people-more" disabled={loading} onClick={() => void run(q.trim().replace(/^@/, ''), next)}>
          {t('people.more')}
        </button>
      )}
    </section>
  );
}
