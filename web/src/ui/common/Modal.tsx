// A modal dialog on the native <dialog> element: focus is trapped and Escape
// closes it, as the platform does, and it is announced as a dialog.
import { useEffect, useRef } from 'preact/hooks';
import type { ComponentChildren } from 'preact';
import { t } from '../../i18n';

export function Modal(p: { title: string; onClose: () => void; children: ComponentChildren; wide?: boolean }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current!;
    if (!d.open) d.showModal();
    const onCancel = (e: Event) => {
      e.preventDefault();
      p.onClose();
    };
    d.addEventListener('cancel', onCancel);
    return () => d.removeEventListener('cancel', onCancel);
  }, []);
  return (
    <dialog ref={ref} class={p.wide ? 'modal wide' : 'modal'} aria-label={p.title}>
      <header class="modal-head">
        <h2>{p.title}</h2>
        <button type="button" class="icon" aria-label={t('common.close')} onClick={p.onClose}>
          ✕
        </button>
      </header>
      <div class="modal-body">{p.children}</div>
    </dialog>
  );
}
