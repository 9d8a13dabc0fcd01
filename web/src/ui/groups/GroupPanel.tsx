// A group's panel, opened from the conversation header: its info, settings,
// announcement, members, invite links, and leaving or dissolving. What each
// person sees follows their role and the group's settings; the server decides
// in the end, and its refusals are shown as it words them.
import { useEffect, useState } from 'preact/hooks';
import { t } from '../../i18n';
import { navigate } from '../../router';
import { groups, loadGroup, can, isAdmin, leaveGroup, dissolveGroup } from '../../state/groups';
import { Modal } from '../common/Modal';
import { ErrorText } from '../common/ErrorText';
import { GroupInfo } from './GroupInfo';
import { GroupSettingsForm } from './GroupSettingsForm';
import { AnnouncementBox } from './AnnouncementBox';
import { MemberList } from './MemberList';
import { InviteLinks } from './InviteLinks';
import type { Group } from '../../lib/types';
import './groups.css';

export function GroupPanel(p: { convId: string; onClose: () => void }) {
  const g = groups.value.get(p.convId);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    loadGroup(p.convId).catch(setError);
  }, [p.convId]);
  return (
    <Modal title={g?.title ?? t('groups.panel.title')} onClose={p.onClose} wide>
      <div class="g-panel" data-testid="group-panel">
        <ErrorText error={error} />
        {!g ? (
          !error && <p class="muted">{t('common.loading')}</p>
        ) : (
          <>
            {g.dissolved && (
              <p class="g-note" role="status">
                {t('groups.dissolved')}
              </p>
            )}
            <GroupInfo group={g} />
            <AnnouncementBox group={g} />
            {isAdmin(g.my_role) && !g.dissolved && <GroupSettingsForm group={g} />}
            <MemberList group={g} />
            {can(g, 'invite') && <InviteLinks group={g} />}
            <LeaveOrDissolve group={g} onDone={p.onClose} />
          </>
        )}
      </div>
    </Modal>
  );
}

function LeaveOrDissolve(p: { group: Group; onDone: () => void }) {
  const g = p.group;
  const [error, setError] = useState<unknown>(null);
  const [confirming, setConfirming] = useState(false);
  const leave = async () => {
    setError(null);
    try {
      await leaveGroup(g.conversation_id);
      p.onDone();
      navigate('/groups');
    } catch (e) {
      setError(e);
    }
  };
  const dissolve = async () => {
    setError(null);
    try {
      await dissolveGroup(g.conversation_id);
      setConfirming(false);
    } catch (e) {
      setError(e);
    }
  };
  return (
    <section class="g-section" aria-labelledby="g-leave-h">
      <h3 id="g-leave-h">{t('groups.leave.heading')}</h3>
      {g.my_role === 'owner' && <p class="muted">{t('groups.leave.ownerHint')}</p>}
      <div class="g-actions start">
        <button type="button" class="danger" data-testid="group-leave" onClick={leave}>
          {t('groups.leave.submit')}
        </button>
        {g.my_role === 'owner' && !g.dissolved && (
          <button type="button" class="danger" data-testid="group-dissolve" aria-expanded={confirming} onClick={() => setConfirming(true)}>
            {t('groups.dissolve.submit')}
          </button>
        )}
      </div>
      {confirming && (
        <div class="g-confirm" role="group" aria-labelledby="g-dissolve-q">
          <p id="g-dissolve-q">{t('groups.dissolve.confirm', { title: g.title })}</p>
          <div class="g-actions start">
            <button type="button" class="danger" data-testid="group-dissolve-confirm" onClick={dissolve}>
              {t('groups.dissolve.yes')}
            </button>
            <button type="button" onClick={() => setConfirming(false)}>
              {t('common.cancel')}
            </button>
          </div>
        </div>
      )}
      <ErrorText error={error} />
    </section>
  );
}
