// @ts-check
/**
 * The call's keyboard shortcuts: which key does what, and when a key is not a
 * shortcut (typing in the chat, a key with Ctrl/Alt/Meta held, a repeat).
 *
 * Single keys, like the call apps people know (Jitsi's M, V, C, R): they need no
 * chord and work on every keyboard layout that has Latin letters (`KeyM` is read as
 * well as `m`, so a Korean 2-set layout, which types ㅡ there, still mutes). Leave is
 * Shift+L so a stray L does not end a call. Pure: the view feeds it key events.
 */

/** @typedef {'mute' | 'camera' | 'chat' | 'hand' | 'leave' | 'help'} ShortcutAction */

/**
 * @typedef {object} Shortcut
 * @property {ShortcutAction} action
 * @property {string} key what the help lists (a key cap)
 * @property {string} code `KeyboardEvent.code` of the key
 * @property {boolean} shift
 * @property {string} label i18n key of what it does
 */

/** In the order the help popover lists them. */
export const SHORTCUTS = /** @type {readonly Shortcut[]} */ ([
  { action: 'mute', key: 'M', code: 'KeyM', shift: false, label: 'call.shortcut.mute' },
  { action: 'camera', key: 'V', code: 'KeyV', shift: false, label: 'call.shortcut.camera' },
  { action: 'chat', key: 'C', code: 'KeyC', shift: false, label: 'call.shortcut.chat' },
  { action: 'hand', key: 'H', code: 'KeyH', shift: false, label: 'call.shortcut.hand' },
  { action: 'leave', key: 'Shift+L', code: 'KeyL', shift: true, label: 'call.shortcut.leave' },
  { action: 'help', key: '?', code: 'Slash', shift: true, label: 'call.shortcut.help' },
]);

/**
 * What of a `KeyboardEvent` decides a shortcut.
 * @typedef {object} KeyLike
 * @property {string} key
 * @property {string} [code]
 * @property {boolean} [shiftKey]
 * @property {boolean} [ctrlKey]
 * @property {boolean} [altKey]
 * @property {boolean} [metaKey]
 * @property {boolean} [repeat]
 * @property {boolean} [isComposing]
 * @property {unknown} [target]
 */

/**
 * Whether keys typed at `target` are text: inputs that take text, text areas, select
 * boxes and editable content. Buttons and checkboxes are not (M on a focused button
 * still mutes).
 * @param {unknown} target
 */
export function isTypingTarget(target) {
  if (!target || typeof target !== 'object') return false;
  const el = /** @type {{tagName?: string, type?: string, isContentEditable?: boolean}} */ (target);
  if (el.isContentEditable) return true;
  const tag = String(el.tagName ?? '').toUpperCase();
  if (tag === 'TEXTAREA' || tag === 'SELECT') return true;
  if (tag !== 'INPUT') return false;
  const type = String(el.type ?? 'text').toLowerCase();
  return !['button', 'submit', 'reset', 'checkbox', 'radio', 'range', 'color', 'file', 'image'].includes(type);
}

/**
 * The action of a key press, or null when it is not one of ours.
 * @param {KeyLike} e
 * @returns {ShortcutAction | null}
 */
export function shortcutFor(e) {
  if (e.ctrlKey || e.altKey || e.metaKey || e.repeat || e.isComposing) return null;
  if (isTypingTarget(e.target)) return null;
  if (e.key === '?') return 'help';
  const shift = !!e.shiftKey;
  const letter = typeof e.key === 'string' && e.key.length === 1 ? e.key.toUpperCase() : '';
  for (const s of SHORTCUTS) {
    if (s.action === 'help' || s.shift !== shift) continue;
    const keyOf = s.key.slice(-1);
    if (letter === keyOf || (!/^[A-Z]$/.test(letter) && e.code === s.code)) return s.action;
  }
  return null;
}
