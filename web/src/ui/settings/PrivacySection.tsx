// Every privacy setting of the API, each with what it does, saved together.
import { useEffect, useState } from 'preact/hooks';
import { privacy, loadPrivacy, savePrivacy, type Privacy, type Audience } from '../../state/people';
import { AUDIENCES, AUDIENCE_FIELDS, audienceLabelKey, privacyChange, type AudienceField } from './logic';
import { ErrorText } from '../common/ErrorText';
import { useAction } from './useAction';
import { t } from '../../i18n';

function AudienceSelect(p: { field: AudienceField; value: Audience; onChange: (a: Audience) => void }) {
  const id = 'privacy-' + p.field;
  return (
    <div class="field">
      <label for={id}>{t(`settings.privacy.${p.field}`)}</label>
      <select id={id} name={p.field} data-testid={id} value={p.value} aria-describedby={id + '-help'} onChange={(e) => p.onChange(e.currentTarget.value as Audience)}>
        {AUDIENCES.map((a) => (
          <option key={a} value={a}>
            {t(audienceLabelKey(p.field, a))}
          </option>
        ))}
      </select>
      <span id={id + '-help'} class="muted small">{t(`settings.privacy.${p.field}.help`)}</span>
    </div>
  );
}

export function PrivacySection() {
  const [form, setForm] = useState<Privacy | null>(privacy.value);
  const [loadErr, setLoadErr] = useState<unknown>();
  const act = useAction();
  useEffect(() => {
    loadPrivacy().then(setForm, setLoadErr);
  }, []);
  if (loadErr) return <ErrorText error={loadErr} />;
  if (!form) return <p class="muted">{t('common.loading')}</p>;
  const submit = (e: Event) => {
    e.preventDefault();
    const cur = privacy.value ?? form;
    const change = privacyChange(cur, form);
    void act.run(async () => setForm(await savePrivacy(change)));
  };
  return (
    <form class="form" data-testid="privacy-form" onSubmit={submit}>
      <p class="muted">{t('settings.privacy.intro')}</p>
      {AUDIENCE_FIELDS.map((f) => (
        <AudienceSelect key={f} field={f} value={form[f]} onChange={(a) => setForm({ ...form, [f]: a })} />
      ))}
      <div class="field">
        <label class="check">
          <input
            type="checkbox"
            data-testid="privacy-read_receipts"
            checked={form.read_receipts}
            aria-describedby="privacy-rr-help"
            onChange={(e) => setForm({ ...form, read_receipts: e.currentTarget.checked })}
          />
          {t('settings.privacy.read_receipts')}
        </label>
        <span id="privacy-rr-help" class="muted small">{t('settings.privacy.read_receipts.help')}</span>
      </div>
      <p class="muted small">{t('settings.privacy.blockNote')}</p>
      <div>
        <button type="submit" class="primary" data-testid="privacy-save" disabled={act.busy}>
          {t('common.save')}
        </button>
      </div>
      <p role="status" class="small">{act.done ? t('settings.saved') : ''}</p>
      <ErrorText error={act.error} />
    </form>
  );
}
