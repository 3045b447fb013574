// @ts-check
/**
 * Static text in views, in the current language: an element made with
 * `h('label', tr('lobby.name'))` carries its key in `data-t` (and placeholders or
 * aria-labels in `data-t-attr`), and {@link localize} fills them all in. A view calls
 * it once when built and again on {@link onLanguageChange}, so switching language
 * never rebuilds the page (inputs, focus and the camera preview stay).
 */
import { t, onLanguageChange } from '../i18n.js';

/**
 * Attributes for an element whose text is the sentence `key`.
 * @param {string} key
 * @param {Record<string, string | number>} [params]
 * @returns {Record<string, string>}
 */
export function tr(key, params) {
  return params ? { 'data-t': key, 'data-t-params': JSON.stringify(params) } : { 'data-t': key };
}

/**
 * Attributes for an element whose attributes (placeholder, aria-label, title) are
 * sentences: `trAttr({placeholder: 'lobby.roomPlaceholder'})`.
 * @param {Record<string, string>} attrs attribute → key
 * @returns {Record<string, string>}
 */
export function trAttr(attrs) {
  return { 'data-t-attr': Object.entries(attrs).map(([a, k]) => `${a}=${k}`).join(';') };
}

/**
 * Fills every `data-t` text and `data-t-attr` attribute under `root` (and root itself)
 * in the current language.
 * @param {Element} root
 */
export function localize(root) {
  for (const el of [root, ...root.querySelectorAll('[data-t],[data-t-attr]')]) {
    const key = el.getAttribute('data-t');
    if (key) {
      let params;
      try {
        params = JSON.parse(el.getAttribute('data-t-params') ?? 'null') ?? undefined;
      } catch {
        params = undefined;
      }
      el.textContent = t(key, params);
    }
    const attrs = el.getAttribute('data-t-attr');
    if (attrs) {
      for (const pair of attrs.split(';')) {
        const [attr, k] = pair.split('=');
        if (attr && k) el.setAttribute(attr, t(k));
      }
    }
  }
}

/**
 * Localizes `root` now and at every language change, then runs `also` (for the text
 * a view builds itself: lists, selects).
 * @param {Element} root
 * @param {() => void} [also]
 * @returns {() => void} stop following the language (call on destroy)
 */
export function followLanguage(root, also) {
  localize(root);
  return onLanguageChange(() => {
    localize(root);
    also?.();
  });
}
