// @ts-check
/**
 * English: the reference dictionary. Keys are `area.what`; `{name}` is filled in by
 * `t()`; `key.one` / `key.other` are plural forms picked by a `count` parameter.
 * Every key here must also be in ko.js (tests/unit/i18n.test.js checks).
 */
export default /** @type {Record<string, string>} */ ({
  'language.label': 'Language',
});
