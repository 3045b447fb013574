// @ts-check
/**
 * The lobby: name, room code or invite, Join; Host a room (name, passcode, listed);
 * the camera/microphone preview with device pickers; Nearby rooms. The view only
 * shows things and reports what the person did; lobby-controller.js decides
 * what happens.
 */
import { h, tryPlay } from '../dom.js';
import { formatCode } from '../codes.js';

/**
 * @typedef {object} LobbyHandlers
 * @property {(v: {name: string, room: string, passcode: string}) => void} onJoin
 * @property {(v: {name: string, roomName: string, passcode: string, listed: boolean}) => void} onHost
 * @property {(room: import('../api.js').LanRoom, name: string) => void} onJoinNearby
 * @property {(kind: 'audio' | 'video', deviceId: string) => void} onDevice
 * @property {(name: string) => void} onNameChange
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
   * @param {{name: string, room: string}} initial
   */
  constructor(root, handlers, initial) {
    this.root = root;
    this.handlers = handlers;

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
        placeholder: 'K7M-Q2P or lanmeet://…',
        value: initial.room,
      })
    );
    this.passcodeInput = /** @type {HTMLInputElement} */ (h('input', { id: 'passcode', name: 'passcode', type: 'password', autocomplete: 'off' }));
    this.passcodeHint = h('p', { class: 'hint', id: 'passcode-hint' });
    this.passcodeRow = h(
      'div',
      { class: 'field', hidden: true },
      h('label', { for: 'passcode' }, 'Passcode'),
      this.passcodeInput,
      this.passcodeHint,
    );
    this.joinButton = /** @type {HTMLButtonElement} */ (h('button', { type: 'submit', class: 'primary' }, 'Join'));
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
      h('div', { class: 'field' }, h('label', { for: 'name' }, 'Your name'), this.nameInput),
      h(
        'div',
        { class: 'field' },
        h('label', { for: 'room' }, 'Room code'),
        this.roomInput,
        h('p', { class: 'hint' }, 'The 6-character code, or an invite link from the host.'),
      ),
      this.passcodeRow,
      this.joinButton,
    );
    this.nameInput.addEventListener('change', () => handlers.onNameChange(this.name));

    // Preview and devices.
    this.previewVideo = /** @type {HTMLVideoElement} */ (h('video', { class: 'mirror', muted: true, playsInline: true, autoplay: true }));
    this.previewVideo.muted = true;
    this.previewNote = h('p', { class: 'preview-note', 'data-testid': 'media-note' });
    this.cameraSelect = /** @type {HTMLSelectElement} */ (h('select', { id: 'lobby-camera' }));
    this.micSelect = /** @type {HTMLSelectElement} */ (h('select', { id: 'lobby-mic' }));
    this.cameraSelect.addEventListener('change', () => handlers.onDevice('video', this.cameraSelect.value));
    this.micSelect.addEventListener('change', () => handlers.onDevice('audio', this.micSelect.value));
    const preview = h(
      'div',
      { class: 'preview' },
      h('div', { class: 'preview-frame' }, this.previewVideo, h('div', { class: 'preview-empty' }, 'No camera')),
      this.previewNote,
      h(
        'div',
        { class: 'devices-row' },
        h('div', { class: 'field' }, h('label', { for: 'lobby-camera' }, 'Camera'), this.cameraSelect),
        h('div', { class: 'field' }, h('label', { for: 'lobby-mic' }, 'Microphone'), this.micSelect),
      ),
    );

    // Host a room.
    this.hostName = /** @type {HTMLInputElement} */ (h('input', { id: 'host-room-name', maxLength: 64, autocomplete: 'off' }));
    this.hostPasscode = /** @type {HTMLInputElement} */ (h('input', { id: 'host-passcode', type: 'password', autocomplete: 'new-password' }));
    this.hostListed = /** @type {HTMLInputElement} */ (h('input', { id: 'host-listed', type: 'checkbox', checked: true }));
    this.hostButton = /** @type {HTMLButtonElement} */ (
      h(
        'button',
        {
          type: 'button',
          onclick: () =>
            handlers.onHost({
              name: this.name,
              roomName: this.hostName.value.trim(),
              passcode: this.hostPasscode.value,
              listed: this.hostListed.checked,
            }),
        },
        'Host a room',
      )
    );
    const host = h(
      'section',
      { class: 'card host', 'aria-labelledby': 'host-title' },
      h('h2', { id: 'host-title' }, 'Start a call'),
      h('div', { class: 'field' }, h('label', { for: 'host-room-name' }, 'Room name (optional)'), this.hostName),
      h('div', { class: 'field' }, h('label', { for: 'host-passcode' }, 'Room passcode (optional)'), this.hostPasscode),
      h('div', { class: 'check' }, this.hostListed, h('label', { for: 'host-listed' }, 'List on this network')),
      this.hostButton,
    );

    // Nearby rooms.
    this.nearbyList = h('ul', { class: 'rooms', 'data-testid': 'nearby-rooms' });
    this.nearbyEmpty = h(
      'div',
      { class: 'empty' },
      h('p', null, 'No rooms found nearby yet.'),
      h(
        'ul',
        { class: 'tips' },
        h('li', null, 'Make sure you are on the same network as the host (not a guest Wi-Fi, which often keeps devices apart).'),
        h('li', null, 'A firewall can hide rooms: lanmeet uses TCP port 7878 and mDNS (UDP port 5353).'),
        h('li', null, 'You can always join with the code or the invite link the host sends you.'),
      ),
    );
    const nearby = h(
      'section',
      { class: 'card nearby', 'aria-labelledby': 'nearby-title' },
      h('h2', { id: 'nearby-title' }, 'Nearby rooms'),
      this.nearbyList,
      this.nearbyEmpty,
    );

    this.el = h(
      'main',
      { class: 'lobby', 'data-testid': 'lobby' },
      h('header', { class: 'brand' }, h('h1', null, 'lanmeet'), h('p', null, 'Video calls on your local network. No account, no cloud.')),
      this.notice,
      h('div', { class: 'lobby-grid' }, h('section', { class: 'card join', 'aria-label': 'Join a room' }, preview, joinForm), h('div', { class: 'side' }, host, nearby)),
    );
    root.replaceChildren(this.el);
    if (!initial.name) this.nameInput.focus();
    else if (!initial.room) this.roomInput.focus();
  }

  get name() {
    return this.nameInput.value.trim();
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
   */
  askPasscode(reason) {
    this.passcodeRow.hidden = false;
    this.passcodeHint.textContent = reason;
    this.passcodeInput.value = '';
    this.passcodeInput.focus();
  }

  /** @param {boolean} busy */
  setBusy(busy) {
    this.joinButton.disabled = busy;
    this.hostButton.disabled = busy;
    this.joinButton.textContent = busy ? 'Joining…' : 'Join';
    this.el.toggleAttribute('aria-busy', busy);
  }

  /**
   * @param {MediaStream | null} stream
   * @param {string} note
   */
  setPreview(stream, note) {
    const hasVideo = !!stream && stream.getVideoTracks().length > 0;
    // Never a stream without video: it would hold the page's load event forever.
    this.previewVideo.srcObject = hasVideo ? stream : null;
    this.previewVideo.parentElement?.classList.toggle('no-video', !hasVideo);
    if (hasVideo) tryPlay(this.previewVideo);
    this.previewNote.textContent = note;
    this.previewNote.hidden = !note;
  }

  /**
   * @param {{audio: MediaDeviceInfo[], video: MediaDeviceInfo[]}} devices
   * @param {{audio?: string, video?: string}} current device ids in use
   */
  setDevices(devices, current) {
    fillSelect(this.cameraSelect, devices.video, current.video, 'Camera');
    fillSelect(this.micSelect, devices.audio, current.audio, 'Microphone');
  }

  /** @param {import('../api.js').LanRoom[] | null} rooms null: could not ask */
  setRooms(rooms) {
    const list = rooms ?? [];
    this.nearbyEmpty.hidden = list.length > 0;
    this.nearbyList.replaceChildren(
      ...list.map((r) =>
        h(
          'li',
          { class: 'room', 'data-code': r.code },
          h(
            'div',
            { class: 'room-text' },
            h('span', { class: 'room-title' }, r.name || formatCode(r.code)),
            h(
              'span',
              { class: 'room-meta' },
              `${r.local ? 'On this computer' : `Hosted by ${r.host || 'someone'}`} · ${r.peers} of ${r.capacity} · ${formatCode(r.code)}`,
            ),
          ),
          h(
            'button',
            {
              type: 'button',
              'aria-label': `Join ${r.name || formatCode(r.code)}`,
              disabled: r.peers >= r.capacity,
              onclick: () => this.handlers.onJoinNearby(r, this.name),
            },
            'Join',
          ),
        ),
      ),
    );
  }

  destroy() {
    this.previewVideo.srcObject = null;
    this.el.remove();
  }
}

/**
 * @param {HTMLSelectElement} select
 * @param {MediaDeviceInfo[]} devices
 * @param {string | undefined} current
 * @param {string} noun
 */
export function fillSelect(select, devices, current, noun) {
  select.replaceChildren(
    ...(devices.length
      ? devices.map((d, i) => h('option', { value: d.deviceId, selected: d.deviceId === current }, d.label || `${noun} ${i + 1}`))
      : [h('option', { value: '' }, `No ${noun.toLowerCase()} found`)]),
  );
  select.disabled = devices.length === 0;
}
