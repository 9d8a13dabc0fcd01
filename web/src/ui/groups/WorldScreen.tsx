// /world: the public room everyone (guests too) can read, with a strip that
// says its topic, whether guests may post, and its slow mode; the server's
// admins also find the room's bans there.
import { useEffect, useState } from 'preact/hooks';
import { t } from '../../i18n';
import { world, worldId, loadWorld, type WorldInfo } from '../../state/groups';
import { ConversationView } from '../chats/ConversationView';
import { me } from '../../lib/session';
import { WorldModeration } from './WorldModeration';
import { ErrorText } from '../common/ErrorText';
import './groups.css';

export function WorldScreen(_p: {}) {
  const [error, setError] = useState<unknown>(null);
  const [moderating, setModerating] = useState(false);
  useEffect(() => {
    loadWorld().catch(setError);
  }, []);
  const w = world.value;
  const id = worldId.value;
  return (
    <section class="g-world" aria-labelledby="world-h">
      <header class="g-world-head">
        <h1 id="world-h">{w?.title || t('groups.world.title')}</h1>
        {w && <WorldFacts w={w} />}
        {me.value?.admin && (
          <button type="button" class="g-mod-open" data-testid="world-moderation" onClick={() => setModerating(true)}>
            {t('groups.world.mod.open')}
          </button>
        )}
      </header>
      {moderating && <WorldModeration onClose={() => setModerating(false)} />}
      <ErrorText error={error} />
      {id && (
        <div class="g-world-view" data-testid="world-view">
          <ConversationView convId={id} />
        </div>
      )}
    </section>
  );
}

function WorldFacts(p: { w: WorldInfo }) {
  const topic = p.w.topic || p.w.description;
  const secs = p.w.slow_mode_ms / 1000;
  return (
    <>
      {topic && <p class="g-world-topic">{topic}</p>}
      <ul class="g-world-facts">
        <li data-testid="world-guests">{t('groups.world.guests.' + (p.w.guests in GUESTS ? p.w.guests : 'write'))}</li>
        <li data-testid="world-slowmode">
          {p.w.slow_mode_ms > 0 ? t('groups.world.slow', { n: Number.isInteger(secs) ? secs : secs.toFixed(1) }) : t('groups.world.slowOff')}
        </li>
      </ul>
    </>
  );
}

const GUESTS = { write: 1, read: 1, off: 1 };
