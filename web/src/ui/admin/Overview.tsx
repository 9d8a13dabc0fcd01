import { formatSize } from '../../lib/files';
// Live figures of the server (GET /v1/admin/stats), read every few seconds
// while the page is visible. The API gives totals, so the message rate is
// computed from two successive readings; the last minutes of readings feed
// the sparklines. The timer stops when the tab is hidden or the screen goes.
import { useEffect, useState } from 'preact/hooks';
import { t } from '../../i18n';
import { getStats, pushSample, rates, splitDuration, type AdminStats, type Sample } from '../../state/admin';
import { AdminError } from './common';
import { Sparkline } from './Sparkline';

const EVERY_MS = 5000;
const WINDOW_MS = 10 * 60_000;

function fmtDuration(s: number): string {
  return splitDuration(s)
    .map(([n, u]) => t('admin.unit.' + u, { n }))
    .join(' ');
}

// A figure an older server does not send shows as 0 rather than breaking the screen.
const num = (n: number | undefined) => (n ?? 0).toLocaleString();
const rate = (r: number | undefined) => (r === undefined ? '—' : r < 10 ? r.toFixed(2) : r.toFixed(0));

/** Polls fn every ms while the document is visible; calls it at once when
 * the page shows again. Readings never overlap. */
function useVisiblePoll(fn: () => Promise<void>, ms: number) {
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let stopped = false;
    const tick = async () => {
      timer = undefined;
      await fn();
      if (!stopped && document.visibilityState === 'visible') timer = setTimeout(tick, ms);
    };
    const onVis = () => {
      if (document.visibilityState !== 'visible') {
        clearTimeout(timer);
        timer = undefined;
      } else if (!timer) void tick();
    };
    void tick();
    document.addEventListener('visibilitychange', onVis);
    return () => {
      stopped = true;
      clearTimeout(timer);
      document.removeEventListener('visibilitychange', onVis);
    };
  }, []);
}

function Figure(p: { label: string; value: string; spark?: number[]; testid?: string; sub?: string }) {
  return (
    <div class="admin-figure" data-testid={p.testid}>
      <dt>{p.label}</dt>
      <dd>
        <span class="admin-figure-value">{p.value}</span>
        {p.sub && <span class="muted admin-figure-sub">{p.sub}</span>}
        {p.spark && <Sparkline values={p.spark} />}
      </dd>
    </div>
  );
}

export function Overview() {
  const [stats, setStats] = useState<AdminStats | null>(null);
  const [samples, setSamples] = useState<Sample[]>([]);
  const [error, setError] = useState<unknown>();

  useVisiblePoll(async () => {
    try {
      const s = await getStats();
      setStats(s);
      setError(undefined);
      setSamples((l) => pushSample(l, { at: Date.now(), messages: s.messages, sessions: s.online_sessions }, WINDOW_MS));
    } catch (e) {
      setError(e);
    }
  }, EVERY_MS);

  const perSec = rates(samples);
  return (
    <section class="admin-section" data-testid="admin-stats" aria-labelledby="admin-stats-h">
      <h2 id="admin-stats-h">{t('admin.tab.overview')}</h2>
      <AdminError error={error} />
      {!stats && !error && <p class="muted">{t('common.loading')}</p>}
      {stats && (
        <>
          <dl class="admin-figures">
            <Figure
              label={t('admin.stats.sessions')}
              value={num(stats.online_sessions)}
              spark={samples.map((s) => s.sessions)}
              testid="admin-stat-sessions"
            />
            <Figure
              label={t('admin.stats.rate')}
              value={rate(perSec[perSec.length - 1])}
              spark={perSec}
              testid="admin-stat-rate"
            />
            <Figure label={t('admin.stats.messages')} value={num(stats.messages)} testid="admin-stat-messages" />
            <Figure
              label={t('admin.stats.users')}
              value={num(stats.users)}
              sub={t('admin.stats.usersSub', { admins: stats.admins, disabled: stats.disabled, pending: stats.pending })}
              testid="admin-stat-users"
            />
            <Figure label={t('admin.stats.guests')} value={num(stats.guests)} />
            <Figure label={t('admin.stats.deleted')} value={num(stats.deleted)} />
            <Figure
              label={t('admin.stats.conversations')}
              value={num(stats.conversations)}
              sub={t('admin.stats.convSub', { direct: stats.direct, groups: stats.groups })}
            />
            <Figure label={t('admin.stats.connections')} value={num(stats.connections)} testid="admin-stat-connections" />
            <Figure
              label={t('admin.stats.storage')}
              value={formatSize((stats.db_bytes ?? 0) + (stats.file_bytes ?? 0))}
              sub={t('admin.stats.storageSub', { db: formatSize(stats.db_bytes ?? 0), files: num(stats.files), bytes: formatSize(stats.file_bytes ?? 0) })}
              testid="admin-stat-storage"
            />
            <Figure label={t('admin.stats.uptime')} value={fmtDuration(stats.uptime_s)} testid="admin-stat-uptime" />
            <Figure label={t('admin.stats.version')} value={stats.version} />
          </dl>
          <p class="muted">{t('admin.stats.note', { s: EVERY_MS / 1000 })}</p>
        </>
      )}
    </section>
  );
}
