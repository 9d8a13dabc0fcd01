// /people and /people/ID: finding people and our relations with them on the
// left, a person's profile on the right (alone on a phone, with a way back).
import { useEffect } from 'preact/hooks';
import { SearchBox } from './SearchBox';
import { ContactLists } from './ContactLists';
import { ProfileView } from './ProfileView';
import { startPeople } from '../../state/people';
import { session } from '../../lib/session';
import { navigate } from '../../router';
import { t } from '../../i18n';
import './people.css';

export function PeopleScreen(p: { userId?: string }) {
  const guest = session.value?.guest ?? false;
  useEffect(() => {
    if (!guest) startPeople();
  }, [guest]);
  if (guest) return <p class="muted pad">{t('people.guestsCannot')}</p>;
  return (
    <div class={p.userId ? 'people has-detail' : 'people'}>
      <div class="people-list">
        <h1 class="screen-title">{t('people.title')}</h1>
        <SearchBox />
        <ContactLists />
      </div>
      {p.userId ? (
        <div class="people-detail">
          {/* The list and its heading are hidden on a phone while a profile shows. */}
          <h1 class="phone-title">{t('people.title')}</h1>
          <a
            class="back"
            href="/people"
            onClick={(e) => {
              e.preventDefault();
              navigate('/people');
            }}
          >
            ← {t('people.back')}
          </a>
          <ProfileView userId={p.userId} />
        </div>
      ) : (
        <p class="people-detail people-empty muted">{t('people.pickSomeone')}</p>
      )}
    </div>
  );
}
