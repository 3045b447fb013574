// @ts-check
/**
 * The lobby: name, room code or invite, Join; Host a room (name, passcode, listed);
 * the camera/microphone preview with device pickers; Nearby rooms; the language
 * switch. The view only shows things and reports what the person did;
 * lobby-controller.js decides what happens (and re-says its notices when the
 * language changes; the view's own text follows by itself).
 *
 * Layout at 1280×720: the preview and Nearby rooms on the left, Join and Host on the
 * right, so Join is on screen without scrolling; narrow screens stack Join first.
 */
import { h, tryPlay } from '../dom.js';
import { CanvasSlot, bridgeVideoOf } from './canvas-slot.js';
import { formatCode } from '../codes.js';
import { t } from '../i18n.js';
import { tr, trAttr, followLanguage } from './localize.js';
import { createLanguageSwitch } from './language-switch.js';

/**
 * @typedef {object} LobbyHandlers
 * @property {(v: {name: string, room: string, passcode: string}) => void} onJoin
 * @property {(v: {name: string, roomName: string, passcode: string, listed: boolean}) => void} onHost
 * @property {(room: import('../api.js').LanRoom, name: string) => void} onJoinNearby
 * @property {(kind: 'audio' | 'video', deviceId: string) => void} onDevice
 * @property {(name: string) => void} onNameChange
 * @property {(text: string) => void} [onIceServersChange] the advanced settings'
 *   ICE servers field, as typed
 */

/**
 * @typedef {object} NoticeAction
 * @property {string} label
 * @property {() => void} run
 */

export class LobbyView {
  /**
   * @param {HTMLElement} root
   * @param {LobbyHandlers} handlers
   * @param {{name: string, room: string, iceServers?: string}} initial
   * @param {{selfStream?: (stream: MediaStream | null) => MediaStream | null}} [options]
   * `selfStream`: what the preview shows for the person's own stream (a bridged page
   * paints its camera in a canvas instead of playing it: media-engine.js `previewStream`).
   */
  constructor(root, handlers, initial, options = {}) {
    this.selfStream = options.selfStream ?? null;
    this.root = root;
    this.handlers = handlers;
    this.busy = false;
    /** @type {import('../api.js').LanRoom[]} */
    this.rooms = [];
    /** @type {{devices: {audio: MediaDeviceInfo[], video: MediaDeviceInfo[]}, current: {audio?: string, video?: string}} | null} */
    this.devices = null;

    this.notice = h('div', { class: 'notice', role: 'alert', hidden: true, 'data-testid': 'lobby-notice' });
    this.nameInput = /** @type {HTMLInputElement} */ (
      h('input', { id: 'name', name: 'name', autocomplete: 'nickname', maxLength: 64, value: initial.name, required: true })
    );
    this.roomInput = /** @type {HTMLInputElement} */ (
      h('input', {
        id: 'room',
        name: 'room',
        autocomplete: 'off',
        spellcheck: false,
        ...trAttr({ placeholder: 'lobby.roomPlaceholder' }),
        value: initial.room,
      })
    );
    this.passcodeInput = /** @type {HTMLInputElement} */ (h('input', { id: 'passcode', name: 'passcode', type: 'password', autocomplete: 'off' }));
    this.passcodeHint = h('p', { class: 'hint', id: 'passcode-hint' });
    this.passcodeRow = h(
      'div',
      { class: 'field', hidden: true },
      h('label', { for: 'passcode', ...tr('lobby.passcode') }),
      this.passcodeInput,
      this.passcodeHint,
    );
    this.joinButton = /** @type {HTMLButtonElement} */ (h('button', { type: 'submit', class: 'primary', 'data-testid': 'join' }));
    const joinForm = h(
      'form',
      {
        class: 'join-form',
        novalidate: true,
        onsubmit: (/** @type {Event} */ e) => {
          e.preventDefault();
          handlers.onJoin({ name: this.name, room: this.roomInput.value, passcode: this.passcodeInput.value });
        },
      },
      h('div', { class: 'field' }, h('label', { for: 'name', ...tr('lobby.name') }), this.nameInput),
      h(
        'div',
        { class: 'field' },
        h('label', { for: 'room', ...tr('lobby.room') }),
        this.roomInput,
        h('p', { class: 'hint', ...tr('lobby.roomHint') }),
      ),
      this.passcodeRow,
      this.joinButton,
    );
    this.nameInput.addEventListener('change', () => handlers.onNameChange(this.name));
    const join = h('section', { class: 'card join', 'aria-labelledby': 'join-title' }, h('h2', { id: 'join-title', ...tr('lobby.joinTitle') }), joinForm);

    // Preview and devices.
    this.previewVideo = /** @type {HTMLVideoElement} */ (h('video', { class: 'mirror', muted: true, playsInline: true, autoplay: true }));
    this.previewVideo.muted = true;
    /** Where a bridged page's camera is painted instead of {@link previewVideo}. */
    this.previewSlot = new CanvasSlot(this.previewVideo, { className: 'mirror preview-canvas', testId: 'preview-canvas' });
    this.previewNote = h('p', { class: 'preview-note', 'data-testid': 'media-note' });
    this.cameraSelect = /** @type {HTMLSelectElement} */ (h('select', { id: 'lobby-camera' }));
    this.micSelect = /** @type {HTMLSelectElement} */ (h('select', { id: 'lobby-mic' }));
    this.cameraSelect.addEventListener('change', () => handlers.onDevice('video', this.cameraSelect.value));
    this.micSelect.addEventListener('change', () => handlers.onDevice('audio', this.micSelect.value));
    const preview = h(
      'section',
      { class: 'card preview', ...trAttr({ 'aria-label': 'lobby.previewTitle' }) },
      h('div', { class: 'preview-frame' }, this.previewVideo, h('div', { class: 'preview-empty', ...tr('lobby.noCamera') })),
      this.previewNote,
      h(
        'div',
        { class: 'devices-row' },
        h('div', { class: 'field' }, h('label', { for: 'lobby-camera', ...tr('lobby.camera') }), this.cameraSelect),
        h('div', { class: 'field' }, h('label', { for: 'lobby-mic', ...tr('lobby.microphone') }), this.micSelect),
      ),
    );

    // Host a room.
    this.hostName = /** @type {HTMLInputElement} */ (h('input', { id: 'host-room-name', maxLength: 64, autocomplete: 'off' }));
    this.hostPasscode = /** @type {HTMLInputElement} */ (h('input', { id: 'host-passcode', type: 'password', autocomplete: 'new-password' }));
    this.hostListed = /** @type {HTMLInputElement} */ (h('input', { id: 'host-listed', type: 'checkbox', checked: true }));
    this.hostButton = /** @type {HTMLButtonElement} */ (
      h('button', {
        type: 'button',
        'data-testid': 'host',
        ...tr('lobby.host'),
        onclick: () =>
          handlers.onHost({
            name: this.name,
            roomName: this.hostName.value.trim(),
            passcode: this.hostPasscode.value,
            listed: this.hostListed.checked,
          }),
      })
    );
    const host = h(
      'section',
      { class: 'card host', 'aria-labelledby': 'host-title' },
      h('h2', { id: 'host-title', ...tr('lobby.hostTitle') }),
      h(
        'div',
        { class: 'host-fields' },
        h('div', { class: 'field' }, h('label', { for: 'host-room-name', ...tr('lobby.roomName') }), this.hostName),
        h('div', { class: 'field' }, h('label', { for: 'host-passcode', ...tr('lobby.roomPasscode') }), this.hostPasscode),
      ),
      h('div', { class: 'check' }, this.hostListed, h('label', { for: 'host-listed', ...tr('lobby.listed') })),
      this.hostButton,
    );

    // Nearby rooms.
    this.nearbyList = h('ul', { class: 'rooms', 'data-testid': 'nearby-rooms' });
    this.nearbyEmpty = h(
      'div',
      { class: 'empty' },
      h('p', tr('lobby.nearbyEmpty')),
      h(
        'ul',
        { class: 'tips' },
        h('li', tr('lobby.tipSameNetwork')),
        h('li', tr('lobby.tipFirewall', { port: 7878 })),
        h('li', tr('lobby.tipInvite')),
      ),
    );
    const nearby = h(
      'section',
      { class: 'card nearby', 'aria-labelledby': 'nearby-title' },
      h('h2', { id: 'nearby-title', ...tr('lobby.nearbyTitle') }),
      this.nearbyList,
      this.nearbyEmpty,
    );

    // Advanced: STUN/TURN servers the person runs, one a line (storage.js parses).
    this.iceInput = /** @type {HTMLTextAreaElement} */ (
      h('textarea', { id: 'ice-servers', rows: 2, spellcheck: false, 'data-testid': 'ice-servers', value: initial.iceServers ?? '' })
    );
    this.iceInput.addEventListener('change', () => handlers.onIceServersChange?.(this.iceInput.value));
    const advanced = h(
      'details',
      { class: 'card advanced' },
      h('summary', tr('lobby.advanced')),
      h('div', { class: 'field' }, h('label', { for: 'ice-servers', ...tr('lobby.iceServers') }), this.iceInput, h('p', { class: 'hint', ...tr('lobby.iceServersHint') })),
    );

    this.languageSwitch = createLanguageSwitch();
    this.el = h(
      'main',
      { class: 'lobby', 'data-testid': 'lobby' },
      h(
        'header',
        { class: 'brand' },
        h('div', { class: 'brand-text' }, h('h1', null, 'lanmeet'), h('p', tr('lobby.tagline'))),
        this.languageSwitch.el,
      ),
      this.notice,
      h('div', { class: 'lobby-grid' }, h('div', { class: 'main-col' }, preview, nearby), h('div', { class: 'side' }, join, host, advanced)),
    );
    this._offLanguage = followLanguage(this.el, () => this._retranslate());
    this._retranslate();
    root.replaceChildren(this.el);
    if (!initial.name) this.nameInput.focus();
    else if (!initial.room) this.roomInput.focus();
  }

  get name() {
    return this.nameInput.value.trim();
  }

  /** The text this view builds itself (not `data-t`): Join, the room list, the device pickers. */
  _retranslate() {
    this.joinButton.textContent = this.busy ? t('common.joining') : t('common.join');
    this.setRooms(this.rooms);
    if (this.devices) this.setDevices(this.devices.devices, this.devices.current);
  }

  /**
   * Shows a sentence and ways forward; `null` hides it.
   * @param {string | null} message
   * @param {{kind?: 'error' | 'info', actions?: NoticeAction[], detail?: string}} [opts]
   */
  setNotice(message, opts = {}) {
    if (!message) {
      this.notice.hidden = true;
      this.notice.replaceChildren();
      return;
    }
    this.notice.hidden = false;
    this.notice.className = `notice ${opts.kind ?? 'error'}`;
    this.notice.replaceChildren(
      ...[
        h('p', null, message),
        opts.detail ? h('p', { class: 'detail' }, h('code', null, opts.detail)) : null,
        opts.actions?.length
          ? h('div', { class: 'actions' }, ...opts.actions.map((a) => h('button', { type: 'button', onclick: a.run }, a.label)))
          : null,
      ].filter((n) => n !== null),
    );
    this.notice.scrollIntoView?.({ block: 'nearest' });
  }

  /**
   * Shows the passcode field with a reason.
   * @param {string} reason
   * @param {{focus?: boolean}} [opts] focus: false when only the language changed
   */
  askPasscode(reason, opts = {}) {
    const wasHidden = this.passcodeRow.hidden;
    this.passcodeRow.hidden = false;
    this.passcodeHint.textContent = reason;
    if (opts.focus === false && !wasHidden) return;
    this.passcodeInput.value = '';
    this.passcodeInput.focus();
  }

  /** @param {boolean} busy */
  setBusy(busy) {
    this.busy = busy;
    this.joinButton.disabled = busy;
    this.hostButton.disabled = busy;
    this.joinButton.textContent = busy ? t('common.joining') : t('common.join');
    this.el.toggleAttribute('aria-busy', busy);
  }

  /**
   * @param {MediaStream | null} stream
   * @param {string} note
   */
  setPreview(stream, note) {
    if (this.selfStream) stream = this.selfStream(stream);
    const hasVideo = !!stream && stream.getVideoTracks().length > 0;
    const bridged = bridgeVideoOf(stream);
    this.previewSlot.show(bridged);
    // Never a stream without video: it would hold the page's load event forever.
    const played = hasVideo && !bridged ? stream : null;
    if (this.previewVideo.srcObject !== played) this.previewVideo.srcObject = played;
    this.previewVideo.parentElement?.classList.toggle('no-video', !hasVideo);
    if (played) tryPlay(this.previewVideo);
    this.previewNote.textContent = note;
    this.previewNote.hidden = !note;
  }

  /**
   * @param {{audio: MediaDeviceInfo[], video: MediaDeviceInfo[]}} devices
   * @param {{audio?: string, video?: string}} current device ids in use
   */
  setDevices(devices, current) {
    this.devices = { devices, current };
    fillSelect(this.cameraSelect, devices.video, current.video, 'video');
    fillSelect(this.micSelect, devices.audio, current.audio, 'audio');
  }

  /** @param {import('../api.js').LanRoom[] | null} rooms null: could not ask */
  setRooms(rooms) {
    const list = rooms ?? [];
    this.rooms = list;
    this.nearbyEmpty.hidden = list.length > 0;
    this.nearbyList.replaceChildren(
      ...list.map((r) => {
        const title = r.name || formatCode(r.code);
        const where = r.local ? t('lobby.roomHere') : r.host ? t('lobby.roomHostedBy', { host: r.host }) : t('lobby.roomHostedBySomeone');
        return h(
          'li',
          { class: 'room', 'data-code': r.code },
          h(
            'div',
            { class: 'room-text' },
            h('span', { class: 'room-title' }, title),
            h(
              'span',
              { class: 'room-meta' },
              // The code once: in the title when the room has no name.
              [where, t('lobby.roomPeople', { peers: r.peers, capacity: r.capacity }), title !== formatCode(r.code) ? formatCode(r.code) : null].filter(Boolean).join(' · '),
            ),
          ),
          h(
            'button',
            {
              type: 'button',
              'aria-label': t('lobby.joinRoom', { room: title }),
              disabled: r.peers >= r.capacity,
              onclick: () => this.handlers.onJoinNearby(r, this.name),
            },
            t('common.join'),
          ),
        );
      }),
    );
  }

  destroy() {
    this._offLanguage();
    this.languageSwitch.destroy();
    this.previewSlot.show(null);
    this.previewVideo.srcObject = null;
    this.el.remove();
  }
}

/**
 * Fills a device picker; devices without a label (no permission yet) are numbered.
 * @param {HTMLSelectElement} select
 * @param {MediaDeviceInfo[]} devices
 * @param {string | undefined} current
 * @param {'video' | 'audio' | 'Camera' | 'Microphone'} kind which picker (the nouns are the old spelling)
 */
export function fillSelect(select, devices, current, kind) {
  const camera = kind === 'video' || kind === 'Camera';
  select.replaceChildren(
    ...(devices.length
      ? devices.map((d, i) =>
          h('option', { value: d.deviceId, selected: d.deviceId === current }, d.label || t(camera ? 'media.cameraN' : 'media.microphoneN', { n: i + 1 })),
        )
      : [h('option', { value: '' }, t(camera ? 'media.noCameraFound' : 'media.noMicrophoneFound'))]),
  );
  select.disabled = devices.length === 0;
}
