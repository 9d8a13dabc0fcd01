// "5 min ago", re-rendered each minute so that it stays true; the exact time
// is in the <time> element for assistive technology and a tooltip.
import { useEffect, useState } from 'preact/hooks';
import { ago } from './logic';
import { t, fmtDay, fmtTime } from '../../i18n';

export function Ago(p: { at: number }) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const id = setInterval(() => setNow(Date.now()), 60_000);
    return () => clearInterval(id);
  }, []);
  const r = ago(p.at, now);
  const exact = fmtDay(p.at) + ' ' + fmtTime(p.at);
  const text = t(r.key, { ...r.params, date: fmtDay(p.at) });
  return (
    <time dateTime={new Date(p.at).toISOString()} title={exact}>
      {text}
    </time>
  );
}
