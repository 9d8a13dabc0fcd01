// /settings and /settings/SECTION: one link per section (tabs on a desktop,
// a scrolling row on a phone), the section, and logging out.
import type { ComponentType } from 'preact';
import { session } from '../../lib/session';
import { logout } from '../../state/account';
import { navigate } from '../../router';
import { t } from '../../i18n';
import { pickSection, sectionsFor, type Section } from './logic';
import { ProfileSection } from './ProfileSection';
import { PrivacySection } from './PrivacySection';
import { DevicesSection } from './DevicesSection';
import { AccountSection } from './AccountSection';
import { AppearanceSection } from './AppearanceSection';
import { NotificationsSection } from './NotificationsSection';
import '../people/people.css';
import './settings.css';

const BODY: Record<Section, ComponentType> = {
  profile: ProfileSection,
  privacy: PrivacySection,
  devices: DevicesSection,
  account: AccountSection,
  appearance: AppearanceSection,
  notifications: NotificationsSection,
};

export function SettingsScreen(p: { section?: string }) {
  const guest = session.value?.guest ?? false;
  const cur = pickSection(p.section, guest);
  const Body = BODY[cur];
  return (
    <div class="settings">
      <nav class="settings-nav" aria-label={t('settings.sections')}>
        <h1 class="screen-title">{t('settings.title')}</h1>
        <ul>
          {sectionsFor(guest).map((s) => (
            <li key={s}>
              <a
                href={'/settings/' + s}
                data-testid={'settings-' + s}
                aria-current={s === cur ? 'page' : undefined}
                onClick={(e) => {
                  e.preventDefault();
                  navigate('/settings/' + s);
                }}
              >
                {t('settings.section.' + s)}
              </a>
            </li>
          ))}
        </ul>
        <button type="button" class="logout" data-testid="logout" onClick={() => void logout()}>
          {t('settings.logout')}
        </button>
      </nav>
      <section class="settings-body" aria-labelledby="settings-h">
        <h2 id="settings-h" class="section-title">{t('settings.section.' + cur)}</h2>
        <Body key={cur} />
      </section>
    </div>
  );
}
