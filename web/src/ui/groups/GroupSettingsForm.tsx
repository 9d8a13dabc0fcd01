// The four "who can" settings, each "all" or "admins"; admins change them.
import { useState } from 'preact/hooks';
import { t } from '../../i18n';
import { patchGroup } from '../../state/groups';
import { ErrorText } from '../common/ErrorText';
import type { Group, GroupSettings } from '../../lib/types';

const KEYS: (keyof GroupSettings)[] = ['who_can_post', 'who_can_invite', 'who_can_edit_info', 'who_can_pin'];

export function GroupSettingsForm(p: { group: Group }) {
  const [error, setError] = useState<unknown>(null);
  const change = (key: keyof GroupSettings, value: string) => {
    setError(null);
    patchGroup(p.group.conversation_id, { settings: { [key]: value } }).catch(setError);
  };
  return (
    <section class="g-section" aria-labelledby="g-settings-h">
      <h3 id="g-settings-h">{t('groups.settings.heading')}</h3>
      <div class="g-settings">
        {KEYS.map((k) => (
          <label key={k}>
            {t('groups.settings.' + k)}
            <select
              value={p.group.settings[k]}
              data-testid={'group-setting-' + k}
              onChange={(e) => change(k, (e.target as HTMLSelectElement).value)}
            >
              <option value="all">{t('groups.settings.all')}</option>
              <option value="admins">{t('groups.settings.admins')}</option>
            </select>
          </label>
        ))}
      </div>
      <ErrorText error={error} />
    </section>
  );
}
