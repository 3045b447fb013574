// @ts-check
/**
 * A small element builder, so views read like the markup they make without a
 * framework or a build step. Text always goes in as text (never as HTML).
 */

/**
 * @param {string} tag
 * @param {Record<string, any> | null} [attrs] `class`, `dataset`, `on*` handlers, properties, attributes
 * @param {...(Node | string | number | null | undefined | false)} children
 * @returns {HTMLElement}
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = String(v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k in el && typeof v !== 'string') /** @type {any} */ (el)[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === 'object' ? c : String(c));
  }
  return el;
}

/**
 * Replaces the children of `el`.
 * @param {Element} el
 * @param {...(Node | string)} children
 */
export function setChildren(el, ...children) {
  el.replaceChildren(...children);
}

/**
 * Plays a media element, swallowing the rejection of an interrupted play().
 * Resolves false when autoplay rules blocked it.
 * @param {HTMLMediaElement} el
 */
export async function tryPlay(el) {
  try {
    await el.play();
    return true;
  } catch (err) {
    return !(err && typeof err === 'object' && 'name' in err && err.name === 'NotAllowedError');
  }
}
