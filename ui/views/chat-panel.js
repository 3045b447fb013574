// @ts-check
/**
 * The call's chat as a side panel: closed until someone opens it (the stage gets the
 * whole width meanwhile), with the messages, a box to type in, and a close button.
 * It keeps the last 500 messages. Whether it is open, and how many messages are
 * unread, is the call controller's to decide; this shows it. Its fixed words are
 * marked with `tr()` and filled by the call view's `followLanguage`.
 */
import { h } from '../dom.js';
import { t } from '../i18n.js';
import { icon } from './icons.js';
import { tr, trAttr } from './localize.js';

/** Messages kept on screen; older ones scroll away for good. */
const MAX_MESSAGES = 500;

export class ChatPanel {
  /**
   * @param {{onSend: (text: string) => void, onClose: () => void}} handlers
   */
  constructor(handlers) {
    this.isOpen = false;
    this.messages = h('ol', { class: 'messages', 'data-testid': 'chat-messages' });
    this.input = /** @type {HTMLInputElement} */ (
      h('input', { id: 'chat-input', autocomplete: 'off', maxLength: 2000, ...trAttr({ placeholder: 'call.chat.placeholder' }) })
    );
    this.inputLabel = h('label', { for: 'chat-input', class: 'visually-hidden', ...tr('call.chat.message') });
    this.sendButton = h('button', { type: 'submit', class: 'primary', ...tr('call.chat.send') });
    this.title = h('h2', { id: 'chat-title', ...tr('call.chat.title') });
    this.closeButton = h(
      'button',
      { type: 'button', class: 'icon-only', onclick: handlers.onClose, ...trAttr({ 'aria-label': 'call.chat.close', title: 'call.chat.close' }) },
      icon('close'),
    );
    this.empty = h('p', { class: 'chat-empty', ...tr('call.chat.empty') });
    const form = h(
      'form',
      {
        class: 'chat-form',
        onsubmit: (/** @type {Event} */ e) => {
          e.preventDefault();
          const text = this.input.value.trim();
          if (!text) return;
          handlers.onSend(text);
          this.input.value = '';
        },
      },
      this.inputLabel,
      this.input,
      this.sendButton,
    );
    this.el = h(
      'aside',
      { class: 'chat', id: 'chat-panel', 'aria-labelledby': 'chat-title', hidden: true, 'data-testid': 'chat-panel' },
      h('div', { class: 'chat-head' }, this.title, this.closeButton),
      this.empty,
      this.messages,
      form,
    );
  }

  /** Our own messages' "You", in the current language (the rest is marked with tr()). */
  relabel() {
    for (const el of this.messages.querySelectorAll('.message.self .from')) el.textContent = t('call.chat.you');
  }

  /** @param {boolean} open */
  setOpen(open) {
    this.isOpen = open;
    this.el.hidden = !open;
    if (open) this.messages.lastElementChild?.scrollIntoView?.({ block: 'end' });
  }

  focusInput() {
    this.input.focus();
  }

  /**
   * @param {{from: string, text: string, ts: number, self: boolean}} m
   */
  addMessage(m) {
    const time = new Date(Number.isFinite(m.ts) ? m.ts : Date.now());
    this._append(
      h(
        'li',
        { class: m.self ? 'message self' : 'message', 'data-testid': 'chat-message' },
        h('span', { class: 'from' }, m.self ? t('call.chat.you') : m.from || t('call.guest')),
        h('time', { dateTime: time.toISOString() }, time.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })),
        h('p', { class: 'text' }, m.text),
      ),
    );
  }

  /** @param {string} text */
  addSystemMessage(text) {
    this._append(h('li', { class: 'message system' }, h('p', { class: 'text' }, text)));
  }

  /** @param {HTMLElement} li */
  _append(li) {
    this.empty.hidden = true;
    this.messages.append(li);
    while (this.messages.children.length > MAX_MESSAGES) this.messages.firstElementChild?.remove();
    if (this.isOpen) li.scrollIntoView?.({ block: 'end' });
  }
}
