// @ts-check
/**
 * "Invite a phone": a dialog over the call with what a phone or a laptop without
 * lanmeet needs to join — the guest link as text (with Copy) and as a QR code drawn
 * by this node (`GET /api/qr`, no network beyond it), the certificate's fingerprint to
 * compare, and a note that the browser warns about the certificate once. What to show
 * is decided by `invitePhoneModel` (guest.js); this only shows it.
 *
 * A modal `role=dialog`: focus goes to its first button and comes back where it was
 * when it closes (Close, Escape, or a click outside the card).
 */
import { h } from '../dom.js';
import { t } from '../i18n.js';
import { tr, trAttr, followLanguage } from './localize.js';

/**
 * @typedef {object} InvitePhoneDeps
 * @property {(text: string) => string} qrImageUrl the QR code of a text, for an `<img>`
 * @property {{writeText(text: string): Promise<void>} | undefined} clipboard
 */

let serial = 0;

export class InvitePhoneDialog {
  /**
   * Opens the dialog on `parent` (the page's root).
   * @param {HTMLElement} parent
   * @param {import('../guest.js').InvitePhoneModel} model
   * @param {InvitePhoneDeps} deps
   */
  constructor(parent, model, deps) {
    const titleId = `invite-phone-title-${++serial}`;
    this.previousFocus = /** @type {HTMLElement | null} */ (globalThis.document?.activeElement ?? null);
    this.closeButton = /** @type {HTMLButtonElement} */ (
      h('button', { type: 'button', class: 'primary', onclick: () => this.close(), ...tr('invitePhone.close') })
    );
    this.status = h('span', { class: 'copy-status', role: 'status', 'data-testid': 'invite-phone-status' });

    /** @type {(Node | null)[]} */
    const body = [];
    if (model.link) {
      const link = model.link;
      const qr = /** @type {HTMLImageElement} */ (
        h('img', { class: 'qr', src: deps.qrImageUrl(link), width: 240, height: 240, 'data-testid': 'invite-phone-qr', ...trAttr({ alt: 'invitePhone.qrAlt' }) })
      );
      const qrFailed = h('p', { class: 'hint', hidden: true, ...tr('invitePhone.noQr') });
      qr.addEventListener('error', () => {
        qr.hidden = true;
        qrFailed.hidden = false;
      });
      this.copyButton = /** @type {HTMLButtonElement} */ (
        h('button', { type: 'button', onclick: () => this._copy(link, deps), ...tr('invitePhone.copy') })
      );
      body.push(
        h('p', tr('invitePhone.intro')),
        h('div', { class: 'qr-frame' }, qr, qrFailed),
        h('p', { class: 'field-label', ...tr('invitePhone.link') }),
        h('p', { class: 'guest-link' }, h('code', { 'data-testid': 'invite-phone-link' }, link)),
        h('p', tr('invitePhone.warning')),
        h('p', { class: 'field-label', ...tr('invitePhone.fingerprint') }),
        model.fingerprint
          ? h('p', { class: 'fingerprint' }, h('code', { 'data-testid': 'invite-phone-fingerprint' }, model.fingerprint))
          : h('p', { class: 'hint', ...tr('invitePhone.fingerprintElsewhere') }),
      );
    } else {
      body.push(h('p', { 'data-testid': 'invite-phone-unavailable', ...tr('invitePhone.unavailable') }));
    }

    this.card = h(
      'div',
      { class: 'overlay-card invite-phone', role: 'dialog', 'aria-modal': 'true', 'aria-labelledby': titleId, 'data-testid': 'invite-phone-dialog' },
      h('h2', { id: titleId, ...tr('invitePhone.title') }),
      ...body,
      h('div', { class: 'actions' }, this.copyButton ?? null, this.closeButton, this.status),
    );
    this.el = h('div', { class: 'overlay' }, this.card);
    this.el.addEventListener('click', (e) => {
      if (e.target === this.el) this.close();
    });
    this.el.addEventListener('keydown', (e) => {
      if (/** @type {KeyboardEvent} */ (e).key === 'Escape') {
        e.stopPropagation();
        this.close();
      }
    });
    this._stopLanguage = followLanguage(this.el);
    this.closed = false;
    parent.append(this.el);
    (this.copyButton ?? this.closeButton).focus();
  }

  /**
   * @param {string} link
   * @param {InvitePhoneDeps} deps
   */
  async _copy(link, deps) {
    try {
      if (!deps.clipboard) throw new Error('no clipboard');
      await deps.clipboard.writeText(link);
      this.status.textContent = t('invitePhone.copied');
    } catch {
      // The link is on screen, selectable: nothing more to offer.
      const code = this.card.querySelector('.guest-link code');
      if (code) globalThis.getSelection?.()?.selectAllChildren(code);
    }
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    this._stopLanguage();
    this.el.remove();
    this.previousFocus?.focus?.();
  }
}

