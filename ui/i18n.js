// @ts-check
/**
 * Translations: every sentence a person reads goes through {@link t}, so the UI can
 * speak Korean or English (see locales/). The language comes from the person's
 * choice if they made one, else from the browser's languages; a key missing from
 * the chosen language falls back to English, and a key missing from English shows
 * the key itself (tests/unit/i18n.test.js lists any key missing from either
 * dictionary, so neither happens in a release).
 *
 * Plain module state (one page, one language): views call `t()` while building DOM
 * and re-render on {@link onLanguageChange}.
 */
import en from './locales/en.js';
import ko from './locales/ko.js';

/** @typedef {'en' | 'ko'} Language */

/** @type {Record<Language, Record<string, string>>} */
export const DICTIONARIES = { en, ko };

/** Languages in the order the switch shows them, each named in itself. */
export const LANGUAGES = /** @type {const} */ ([
  { code: 'en', label: 'English' },
  { code: 'ko', label: '한국어' },
]);

/** @type {Language} */
let current = 'en';
/** @type {Set<(lang: Language) => void>} */
const listeners = new Set();
/** @type {LanguageStore | null} where {@link chooseLanguage} remembers the choice */
let store = null;

/**
 * Where the person's choice is kept (`AppStorage` in the page, a fake in tests).
 * @typedef {object} LanguageStore
 * @property {() => string | null} language the stored choice, or null
 * @property {(lang: Language) => void} saveLanguage
 */

/**
 * Picks the UI language: a stored choice wins, then the first of the browser's
 * languages we speak (`ko-KR` → `ko`), then English.
 * @param {readonly string[] | undefined} browserLanguages navigator.languages
 * @param {string | null | undefined} stored the person's earlier choice
 * @returns {Language}
 */
export function pickLanguage(browserLanguages, stored) {
  if (isLanguage(stored)) return stored;
  for (const tag of browserLanguages ?? []) {
    const base = String(tag).toLowerCase().split('-')[0];
    if (isLanguage(base)) return base;
  }
  return 'en';
}

/**
 * @param {unknown} v
 * @returns {v is Language}
 */
export function isLanguage(v) {
  return typeof v === 'string' && Object.hasOwn(DICTIONARIES, v);
}

/**
 * Page start: picks the language (stored choice, else the browser's languages),
 * applies it, and keeps `remember` for {@link chooseLanguage}.
 * @param {readonly string[] | undefined} browserLanguages navigator.languages
 * @param {LanguageStore | null} remember
 * @returns {Language}
 */
export function initLanguage(browserLanguages, remember) {
  store = remember;
  const lang = pickLanguage(browserLanguages, remember?.language());
  setLanguage(lang);
  return lang;
}

/**
 * The person picked a language (the switch): applies it everywhere and remembers it
 * for the next visit.
 * @param {Language} lang
 */
export function chooseLanguage(lang) {
  if (!isLanguage(lang)) return;
  store?.saveLanguage(lang);
  setLanguage(lang);
}

/** @returns {Language} */
export function language() {
  return current;
}

/**
 * Switches the language, sets `<html lang>` and tells every listener (views re-render).
 * @param {Language} lang
 */
export function setLanguage(lang) {
  if (!isLanguage(lang)) return;
  current = lang;
  const doc = globalThis.document;
  if (doc?.documentElement) doc.documentElement.lang = lang;
  for (const fn of [...listeners]) fn(lang);
}

/**
 * @param {(lang: Language) => void} fn
 * @returns {() => void} unsubscribe
 */
export function onLanguageChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/**
 * A sentence that came from the node or the browser (always English): shown as it is
 * when the page speaks English (it may say more than ours), else `ours`.
 * @param {string | undefined} english
 * @param {string} ours our own sentence, already in the current language
 */
export function englishOr(english, ours) {
  return english && current === 'en' ? english : ours;
}

/**
 * The sentence for `key` in the current language, with `{name}` placeholders filled
 * from `params`. A `count` parameter picks `key.one` / `key.other` where those exist
 * (English plurals; Korean has one form, so its dictionary just has `key.other`).
 * @param {string} key
 * @param {Record<string, string | number>} [params]
 * @returns {string}
 */
export function t(key, params) {
  const text = lookup(current, key, params) ?? lookup('en', key, params) ?? key;
  if (!params) return text;
  return text.replace(/\{(\w+)\}/g, (m, name) => (Object.hasOwn(params, name) ? String(params[name]) : m));
}

/**
 * @param {Language} lang
 * @param {string} key
 * @param {Record<string, string | number>} [params]
 * @returns {string | undefined}
 */
function lookup(lang, key, params) {
  const dict = DICTIONARIES[lang];
  if (params && typeof params.count === 'number') {
    const form = new Intl.PluralRules(lang).select(params.count);
    const plural = dict[`${key}.${form}`] ?? dict[`${key}.other`];
    if (plural !== undefined) return plural;
  }
  return Object.hasOwn(dict, key) ? dict[key] : undefined;
}
