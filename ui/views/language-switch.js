// @ts-check
/**
 * The language switch: a labelled `<select>` of the languages, each named in itself
 * (English, 한국어). Picking one applies it at once everywhere (views follow
 * {@link onLanguageChange}) and remembers it for the next visit
 * ({@link chooseLanguage}). Any view can place one: the lobby's header does, and the
 * call view can put one in its settings.
 *
 * Usage: `const sw = createLanguageSwitch(); parent.append(sw.el); … sw.destroy();`
 */
import { h } from '../dom.js';
import { LANGUAGES, chooseLanguage, language, onLanguageChange, isLanguage, t } from '../i18n.js';

let serial = 0;

/**
 * @param {{compact?: boolean}} [opts] compact: the label is only read out (an icon-free
 *   `aria-label`), for tight bars
 * @returns {{el: HTMLElement, select: HTMLSelectElement, destroy: () => void}}
 */
export function createLanguageSwitch(opts = {}) {
  const id = `language-${++serial}`;
  const select = /** @type {HTMLSelectElement} */ (
    h(
      'select',
      { id, 'data-testid': 'language-switch', class: 'language-select' },
      ...LANGUAGES.map((l) => h('option', { value: l.code, lang: l.code }, l.label)),
    )
  );
  select.value = language();
  select.addEventListener('change', () => {
    if (isLanguage(select.value)) chooseLanguage(select.value);
  });
  const label = h('label', { for: id, class: opts.compact ? 'visually-hidden-label' : '' }, t('language.label'));
  const el = h('div', { class: 'language-switch' }, label, select);
  const off = onLanguageChange((lang) => {
    select.value = lang;
    label.textContent = t('language.label');
  });
  return { el, select, destroy: off };
}
