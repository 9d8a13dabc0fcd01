// Theme (system, light, dark) and language; both are kept by this browser.
import { theme, applyTheme, type Theme } from '../shell/theme';
import { lang, setLang, t, type Lang } from '../../i18n';

const THEMES: Theme[] = ['system', 'light', 'dark'];
// Each language is named in itself, so that someone who cannot read the
// current one still finds theirs.
const LANGS: { code: Lang; name: string }[] = [
  { code: 'en', name: 'English' },
  { code: 'zh', name: '简体中文' },
];

export function AppearanceSection() {
  return (
    <div class="form">
      <div class="field">
        <label for="theme-select">{t('settings.appearance.theme')}</label>
        <select id="theme-select" data-testid="theme-select" value={theme.value} onChange={(e) => applyTheme(e.currentTarget.value as Theme)}>
          {THEMES.map((th) => (
            <option key={th} value={th}>
              {t('settings.appearance.theme.' + th)}
            </option>
          ))}
        </select>
      </div>
      <div class="field">
        <label for="lang-select">{t('settings.appearance.lang')}</label>
        <select id="lang-select" data-testid="lang-select" value={lang.value} onChange={(e) => setLang(e.currentTarget.value as Lang)}>
          {LANGS.map((l) => (
            <option key={l.code} value={l.code} lang={l.code === 'zh' ? 'zh-Hans' : 'en'}>
              {l.name}
            </option>
          ))}
        </select>
      </div>
    </div>
  );
}
