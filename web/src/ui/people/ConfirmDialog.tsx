// "Are you sure?" before something hard to undo (a block, revoking a device).
import type { ComponentChildren } from 'preact';
import { Modal } from '../common/Modal';
import { t } from '../../i18n';

export function ConfirmDialog(p: {
  title: string;
  children: ComponentChildren;
  confirmLabel: string;
  onConfirm: () => void;
  onClose: () => void;
  busy?: boolean;
}) {
  return (
    <Modal title={p.title} onClose={p.onClose}>
      <div class="confirm-text">{p.children}</div>
      <div class="row-actions end">
        <button type="button" data-testid="confirm-cancel" onClick={p.onClose}>
          {t('common.cancel')}
        </button>
        <button type="button" class="primary danger-fill" data-testid="confirm-ok" disabled={p.busy} onClick={p.onConfirm}>
          {p.confirmLabel}
        </button>
      </div>
    </Modal>
  );
}
