// A person's profile over whatever screen opened it (a sender's name, a
// group member): the same view as /people/ID, in a modal dialog.
import { Modal } from '../common/Modal';
import { ProfileView } from './ProfileView';
import { startPeople } from '../../state/people';
import { t } from '../../i18n';
import { useEffect } from 'preact/hooks';
import './people.css';

export function ProfileDialog(p: { userId: string; onClose: () => void }) {
  // The actions follow the contact and block lists, loaded once.
  useEffect(() => startPeople(), []);
  return (
    <Modal title={t('people.profile')} onClose={p.onClose}>
      <ProfileView userId={p.userId} onLeave={p.onClose} />
    </Modal>
  );
}
