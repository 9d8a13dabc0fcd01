// Renders a component loaded with import() on first use, so that screens few
// people open (the admin console) stay out of the initial bundle.
import { useEffect, useState } from 'preact/hooks';
import type { ComponentType } from 'preact';
import { t } from '../../i18n';

export function Lazy<P>(p: { load: () => Promise<ComponentType<P>>; props: P }) {
  const [C, setC] = useState<ComponentType<P> | null>(null);
  useEffect(() => {
    let live = true;
    p.load().then((c) => live && setC(() => c));
    return () => {
      live = false;
    };
  }, [p.load]);
  return C ? <C {...(p.props as any)} /> : <p class="muted">{t('common.loading')}</p>;
}
