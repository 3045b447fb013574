// @ts-check
/**
 * Korean (한국어). Same keys as en.js; Korean has no plural forms, so a counted
 * sentence needs only `key.other`.
 */
export default /** @type {Record<string, string>} */ ({
  'language.label': '언어',
});
