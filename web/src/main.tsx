import { render } from 'preact';
import { App } from './ui/shell/App';
import { setLang, lang } from './i18n';
import { applyTheme } from './ui/shell/theme';
import './styles/base.css';

setLang(lang.value);
applyTheme();
render(<App />, document.getElementById('app')!);
