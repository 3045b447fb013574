// @ts-check
/**
 * The call: a dark stage with a grid of tiles (one per person, ours mirrored and
 * muted), the control bar (icon buttons with their words under them: Mute, Camera,
 * Share screen, Raise hand, Devices, Chat, Shortcuts, Leave), the room's name, code
 * and head count, the chat as a panel that opens (with an unread badge), the
 * shortcuts popover, a live region that announces joins, leaves, messages and raised
 * hands to screen readers, and banners for what went wrong. Like the lobby, it shows
 * and reports; call-controller.js decides (keys go to it as shortcut actions).
 *
 * A person whose video comes through the bridge (a page without WebRTC, see
 * ui/bridge/) has a {@link import('../bridge/media-stream.js').BridgeVideoTrack}: the
 * media worker paints it into a `<canvas>` that takes the `<video>`'s place (same size,
 * same cover fit, `data-testid="tile-canvas"`, `data-painted="true"` once it shows a
 * picture); its sound is a real track that the bridge's media engine plays itself
 * (`__bridgePlayback` on the track: the tile's `<audio>` stays empty, and "mute on
 * this device" sets the engine's gain).
 *
 * Tiles carry data attributes for tests and styling: `data-testid="tile"`,
 * `data-peer-id`, `data-self`, `data-name`, `data-state` (connecting | connected |
 * reconnecting | failed), `data-muted`, `data-camera`, `data-sharing`,
 * `data-speaking`, `data-hand`, `data-route` (direct | relay), `data-local-muted` (silenced on this device) and
 * `data-verify` (the pair's verification code, see verification.js).
 *
 * Every sentence comes from {@link t}: fixed words are marked with `tr()` (see
 * localize.js), words that follow the call's state are set by `relabel()`; a language
 * switch does both in place (tiles and streams stay).
 */
import { h, tryPlay } from '../dom.js';
import { formatCode, normalizeCode } from '../codes.js';
import { gridLayout } from '../layout.js';
import { t } from '../i18n.js';
import { SHORTCUTS, shortcutFor } from '../shortcuts.js';
import { fillSelect } from './lobby.js';
import { icon, setIcon } from './icons.js';
import { ChatPanel } from './chat-panel.js';
import { Tile } from './tile.js';
import { tr, trAttr, followLanguage } from './localize.js';

/**
 * @typedef {object} CallHandlers
 * @property {() => void} onMute
 * @property {() => void} onCamera
 * @property {() => void} onShare
 * @property {() => void} onHand raise or lower our hand
 * @property {() => void} onLeave
 * @property {() => void} onCopyInvite
 * @property {(() => void) | undefined} [onInvitePhone] opens "Invite a phone" (views/invite-phone.js); absent on a guest's page
 * @property {(text: string) => void} onChat
 * @property {(open: boolean) => void} onChatOpen the chat panel opened or closed
 * @property {(action: import('../shortcuts.js').ShortcutAction) => void} onShortcut
 * @property {(kind: 'audio' | 'video', deviceId: string) => void} onDevice
 * @property {() => void} onEnableSound
 * @property {() => void} onAnyClick a click anywhere in the call (lets sound start)
 */

/** @typedef {import('./tile.js').TileState} TileState */

/**
 * The words of the controls in each state.
 * @typedef {object} ControlsState
 * @property {boolean} muted
 * @property {boolean} camera
 * @property {boolean} sharing
 * @property {boolean} canShare
 * @property {boolean} hasCamera
 * @property {boolean} [hand]
 */

/**
 * A control-bar button: an icon with its words under it, a tooltip naming the key.
 * @param {import('./icons.js').IconName} iconName
 * @param {() => void} onclick
 * @param {Record<string, string>} [attrs]
 * @param {string} [labelKey] the words, when they never change (else relabel() sets them)
 */
function controlButton(iconName, onclick, attrs = {}, labelKey) {
  const label = h('span', { class: 'control-label', ...(labelKey ? tr(labelKey) : {}) });
  const svg = icon(iconName);
  const el = /** @type {HTMLButtonElement} */ (h('button', { type: 'button', class: 'control', onclick, ...attrs }, svg, label));
  return { el, svg, label };
}

/** The room's name worth showing: none when it is only the code again. */
function shownName(/** @type {string} */ roomName, /** @type {string} */ code) {
  const name = (roomName ?? '').trim();
  if (!name) return '';
  try {
    if (normalizeCode(name) === code) return '';
  } catch {
    // not a code: a real name
  }
  return name;
}

export class CallView {
  /**
   * @param {HTMLElement} root
   * @param {CallHandlers} handlers
   * @param {{code: string, roomName: string}} room
   * @param {{selfStream?: (stream: MediaStream | null) => MediaStream | null}} [options]
   * `selfStream`: what the self tile shows for the person's own stream (a bridged page
   * paints its camera in a canvas instead of playing it in a `<video>`: media-engine.js
   * `previewStream`).
   */
  constructor(root, handlers, room, options = {}) {
    this.root = root;
    this.handlers = handlers;
    this.selfStream = options.selfStream ?? null;
    /** @type {Map<string, Tile>} */
    this.tiles = new Map();
    /** @type {ControlsState} */
    this.controls = { muted: false, camera: true, sharing: false, canShare: false, hasCamera: false, hand: false };
    this.people = 1;
    this.unread = 0;

    const name = shownName(room.roomName, room.code);
    this.roomName = h('h1', { class: 'room-name', hidden: !name }, name);
    this.roomCode = h('span', { class: 'room-code', 'data-testid': 'room-code' }, formatCode(room.code));
    this.copyButton = h(
      'button',
      { type: 'button', class: 'bar-button', onclick: handlers.onCopyInvite, ...trAttr({ title: 'call.copyInviteHint' }) },
      icon('link'),
      h('span', tr('call.copyInvite')),
    );
    this.copyStatus = h('span', { class: 'copy-status', role: 'status' });
    this.peopleCount = h('span', { class: 'people-count', 'data-testid': 'people-count' }, icon('people'), h('span', null));
    // "Invite a phone" (views/invite-phone.js): not on a guest's page (no handler there).
    this.invitePhoneButton = handlers.onInvitePhone
      ? h(
          'button',
          { type: 'button', class: 'bar-button', 'data-testid': 'invite-phone', onclick: handlers.onInvitePhone, ...trAttr({ title: 'invitePhone.hint' }) },
          icon('phone'),
          h('span', tr('invitePhone.button')),
        )
      : null;
    this.banner = h('div', { class: 'banner', role: 'status', hidden: true, 'data-testid': 'call-banner' });
    this.soundButton = h('button', { type: 'button', class: 'primary', hidden: true, onclick: handlers.onEnableSound, ...tr('call.turnOnSound') });
    this.grid = h('div', { class: 'grid', 'data-testid': 'grid', ...trAttr({ 'aria-label': 'call.grid' }) });

    this.chat = new ChatPanel({
      onSend: (text) => handlers.onChat(text),
      onClose: () => handlers.onChatOpen(false),
    });

    // ---- the control bar ----
    const mute = controlButton('mic', handlers.onMute, { 'aria-keyshortcuts': 'M' });
    const camera = controlButton('camera', handlers.onCamera, { 'aria-keyshortcuts': 'V' });
    const share = controlButton('screen', handlers.onShare);
    const hand = controlButton('hand', handlers.onHand, { 'aria-keyshortcuts': 'H' });
    const chat = controlButton('chat', () => handlers.onChatOpen(!this.chat.isOpen), { 'aria-keyshortcuts': 'C', 'aria-controls': 'chat-panel', 'data-testid': 'chat-toggle' });
    const help = controlButton(
      'keyboard',
      () => this.toggleHelp(),
      {
        'aria-keyshortcuts': '?',
        'aria-controls': 'shortcut-help',
        'aria-expanded': 'false',
        ...trAttr({ title: 'call.control.shortcutsHint' }),
      },
      'call.control.shortcuts',
    );
    const leave = controlButton('leave', handlers.onLeave, { 'aria-keyshortcuts': 'Shift+L', ...trAttr({ title: 'call.control.leaveHint' }) }, 'call.control.leave');
    leave.el.classList.add('danger');
    // Off is the state to notice: red, like the call apps people know.
    mute.el.classList.add('off');
    camera.el.classList.add('off');
    this.muteButton = mute.el;
    this.cameraButton = camera.el;
    this.shareButton = share.el;
    this.handButton = hand.el;
    this.chatButton = chat.el;
    this.helpButton = help.el;
    this.leaveButton = leave.el;
    this._mute = mute;
    this._camera = camera;
    this._share = share;
    this._hand = hand;
    this.chatBadge = h('span', { class: 'unread', 'data-testid': 'chat-unread', hidden: true, 'aria-hidden': 'true' });
    this.chatButton.append(this.chatBadge);

    this.micSelect = /** @type {HTMLSelectElement} */ (h('select', { id: 'call-mic' }));
    this.cameraSelect = /** @type {HTMLSelectElement} */ (h('select', { id: 'call-camera' }));
    this.micSelect.addEventListener('change', () => handlers.onDevice('audio', this.micSelect.value));
    this.cameraSelect.addEventListener('change', () => handlers.onDevice('video', this.cameraSelect.value));
    const micLabel = h('label', { for: 'call-mic', ...tr('call.microphone') });
    const cameraLabel = h('label', { for: 'call-camera', ...tr('call.camera') });
    const devicesLabel = h('span', { class: 'control-label', ...tr('call.control.devices') });
    this.devices = /** @type {HTMLDetailsElement} */ (
      h(
        'details',
        { class: 'devices' },
        h('summary', { class: 'control' }, icon('devices'), devicesLabel),
        h('div', { class: 'devices-panel' }, h('div', { class: 'field' }, micLabel, this.micSelect), h('div', { class: 'field' }, cameraLabel, this.cameraSelect)),
      )
    );

    // ---- the shortcuts popover ----
    this.helpList = h('dl', { class: 'shortcut-list' }, ...SHORTCUTS.flatMap((sc) => [h('dt', null, h('kbd', null, sc.key)), h('dd', tr(sc.label))]));
    const helpTitle = h('h2', { id: 'shortcut-help-title', ...tr('call.shortcuts.title') });
    this.helpClose = h(
      'button',
      { type: 'button', class: 'icon-only', onclick: () => this.toggleHelp(false), ...trAttr({ 'aria-label': 'call.close', title: 'call.close' }) },
      icon('close'),
    );
    this.help = h(
      'div',
      { class: 'popover help', id: 'shortcut-help', role: 'dialog', 'aria-labelledby': 'shortcut-help-title', hidden: true, 'data-testid': 'shortcut-help' },
      h('div', { class: 'popover-head' }, helpTitle, this.helpClose),
      this.helpList,
    );

    // Screen readers hear joins, leaves, messages and raised hands here.
    this.announcer = h('div', { class: 'visually-hidden', role: 'status', 'aria-live': 'polite', 'data-testid': 'announcer' });

    this.overlay = h('div', { class: 'overlay', hidden: true, role: 'alertdialog', 'aria-modal': 'true', 'data-testid': 'call-overlay' });

    const controlsLabel = h('span', { class: 'visually-hidden', id: 'call-controls-label', ...tr('call.controls') });
    this.el = h(
      'main',
      { class: 'call', 'data-testid': 'call' },
      h(
        'header',
        { class: 'call-bar' },
        h('div', { class: 'room-info' }, this.roomName, this.roomCode, this.peopleCount),
        h('div', { class: 'bar-actions' }, this.soundButton, this.copyStatus, this.copyButton, this.invitePhoneButton),
      ),
      this.banner,
      h('div', { class: 'stage' }, this.grid, this.chat.el),
      h(
        'footer',
        { class: 'controls', role: 'toolbar', 'aria-labelledby': 'call-controls-label' },
        controlsLabel,
        h('div', { class: 'controls-main' }, mute.el, camera.el, share.el, hand.el, this.devices),
        h('div', { class: 'controls-side' }, chat.el, help.el, leave.el),
      ),
      this.help,
      this.announcer,
      this.overlay,
    );
    root.replaceChildren(this.el);
    this.el.addEventListener('click', (e) => {
      // A click elsewhere closes the shortcuts popover and the devices panel, as Escape does.
      const target = /** @type {Node} */ (e.target);
      if (!this.help.hidden && !this.help.contains(target) && !this.helpButton.contains(target)) this.toggleHelp(false);
      if (this.devices.open && !this.devices.contains(target)) this.devices.open = false;
      handlers.onAnyClick();
    });

    this._onKey = (/** @type {KeyboardEvent} */ e) => this._key(e);
    document.addEventListener('keydown', this._onKey);
    this._offLanguage = followLanguage(this.el, () => this.relabel());
    this.relabel();

    /** A {@link _relayoutSoon} waiting to run. @type {any} */
    this._relayoutTimer = 0;
    this._resize = () => this.relayout();
    this._observer = typeof ResizeObserver === 'function' ? new ResizeObserver(this._resize) : null;
    this._observer?.observe(this.grid);
    window.addEventListener('resize', this._resize);
  }

  /** The words that follow the call's state (buttons, badge, count, tiles), in the current language. */
  relabel() {
    this._labelControls();
    this._labelChat();
    this._labelPeople();
    this.chat.relabel();
    for (const tile of this.tiles.values()) tile.relabel();
  }

  /** @param {KeyboardEvent} e */
  _key(e) {
    if (e.key === 'Escape') {
      if (!this.help.hidden) {
        e.preventDefault();
        this.toggleHelp(false);
      } else if (this.devices.open) {
        e.preventDefault();
        this.devices.open = false;
        /** @type {HTMLElement} */ (this.devices.firstElementChild).focus();
      } else if (this.chat.isOpen && this.chat.el.contains(/** @type {Node} */ (e.target))) {
        e.preventDefault();
        this.handlers.onChatOpen(false);
      }
      return;
    }
    if (!this.overlay.hidden) return;
    const action = shortcutFor(e);
    if (!action) return;
    e.preventDefault();
    this.handlers.onShortcut(action);
  }

  /**
   * Opens or closes the shortcuts popover; focus goes in, and back to its button.
   * @param {boolean} [open]
   */
  toggleHelp(open = this.help.hidden) {
    this.help.hidden = !open;
    this.helpButton.setAttribute('aria-expanded', String(open));
    if (open) this.helpClose.focus();
    else if (this.help.contains(document.activeElement) || document.activeElement === document.body) this.helpButton.focus();
  }

  /**
   * @param {string} id
   * @param {string} name
   * @param {boolean} self
   */
  addTile(id, name, self) {
    let tile = this.tiles.get(id);
    if (tile) {
      tile.setState({ name });
      return tile;
    }
    tile = new Tile(id, name, self, (text) => this.announce(text));
    this.tiles.set(id, tile);
    if (self) this.grid.prepend(tile.el);
    else this.grid.append(tile.el);
    this._relayoutSoon();
    return tile;
  }

  /**
   * Marks a tile with a peer id (our own gets ours once the node tells us).
   * @param {string} key
   * @param {string} peerId
   */
  setPeerId(key, peerId) {
    this.tiles.get(key)?.el.setAttribute('data-peer-id', peerId);
  }

  /**
   * Calls `fn` whenever the tile's video starts playing (the join timeline).
   * @param {string} id
   * @param {() => void} fn
   */
  onTilePlaying(id, fn) {
    this.tiles.get(id)?.onPlaying(fn);
  }

  /** @param {string} id */
  removeTile(id) {
    const tile = this.tiles.get(id);
    if (!tile) return;
    tile.destroy();
    this.tiles.delete(id);
    this._relayoutSoon();
  }

  /**
   * {@link relayout} once the current task is done (coalesced): measuring the grid makes
   * the engine lay the whole view out there and then, which for a new call view took
   * WebKitGTK 165 ms that the join waited for before its first offer. At worst one frame
   * shows the grid as it was.
   */
  _relayoutSoon() {
    if (this._relayoutTimer) return;
    this._relayoutTimer = setTimeout(() => {
      this._relayoutTimer = 0;
      this.relayout();
    }, 0);
  }

  /**
   * @param {string} id
   * @param {TileState} s
   */
  updateTile(id, s) {
    this.tiles.get(id)?.setState(s);
  }

  /**
   * @param {string} id
   * @param {MediaStream | null} stream
   */
  showStream(id, stream) {
    const tile = this.tiles.get(id);
    if (!tile) return Promise.resolve(true);
    return tile.show(id === 'self' && this.selfStream ? this.selfStream(stream) : stream);
  }

  /** Plays every remote audio element (after a click that allows sound). */
  async enableSound() {
    let ok = true;
    for (const tl of this.tiles.values()) if (tl.audio && tl.audio.srcObject) ok = (await tryPlay(tl.audio)) && ok;
    this.soundButton.hidden = ok;
  }

  /** @param {boolean} blocked */
  setSoundBlocked(blocked) {
    this.soundButton.hidden = !blocked;
  }

  relayout() {
    const n = Math.max(1, this.tiles.size);
    const cs = getComputedStyle(this.grid);
    const padX = parseFloat(cs.paddingLeft) + parseFloat(cs.paddingRight) || 0;
    const padY = parseFloat(cs.paddingTop) + parseFloat(cs.paddingBottom) || 0;
    const g = gridLayout(n, this.grid.clientWidth - padX, this.grid.clientHeight - padY, { gap: 8 });
    this.grid.style.setProperty('--cols', String(g.cols));
    this.grid.style.setProperty('--rows', String(g.rows));
    this.grid.style.setProperty('--tile-w', g.tileWidth ? `${g.tileWidth}px` : '100%');
    this.grid.dataset.count = String(n);
  }

  /** @param {ControlsState} s */
  setControls(s) {
    this.controls = { ...s };
    this._labelControls();
  }

  /** The control bar's words and icons for the current state. */
  _labelControls() {
    const s = this.controls;
    this._mute.label.textContent = t(s.muted ? 'call.control.unmute' : 'call.control.mute');
    this.muteButton.title = t(s.muted ? 'call.control.unmuteHint' : 'call.control.muteHint');
    this.muteButton.dataset.active = String(s.muted);
    setIcon(this._mute.svg, s.muted ? 'mic-off' : 'mic');
    this._camera.label.textContent = t(s.camera ? 'call.control.cameraOff' : 'call.control.cameraOn');
    this.cameraButton.title = t(s.camera ? 'call.control.cameraOffHint' : 'call.control.cameraOnHint');
    this.cameraButton.dataset.active = String(!s.camera);
    setIcon(this._camera.svg, s.camera ? 'camera' : 'camera-off');
    this._share.label.textContent = t(s.sharing ? 'call.control.stopSharing' : 'call.control.share');
    this.shareButton.title = t(s.canShare ? (s.sharing ? 'call.control.stopSharingHint' : 'call.control.shareHint') : 'call.control.shareUnavailable');
    this.shareButton.dataset.active = String(s.sharing);
    this.shareButton.disabled = !s.canShare;
    this._hand.label.textContent = t(s.hand ? 'call.control.lowerHand' : 'call.control.raiseHand');
    this.handButton.title = t(s.hand ? 'call.control.lowerHandHint' : 'call.control.raiseHandHint');
    this.handButton.dataset.active = String(!!s.hand);
  }

  /**
   * The chat panel open or closed, and how many messages came while it was closed.
   * Opening puts focus in the message box; closing gives it back to the Chat button.
   * @param {{open: boolean, unread: number}} s
   */
  setChat(s) {
    const was = this.chat.isOpen;
    this.unread = s.unread;
    this.chat.setOpen(s.open);
    this.el.classList.toggle('chat-open', s.open);
    this.chatButton.dataset.active = String(s.open);
    this.chatButton.setAttribute('aria-expanded', String(s.open));
    this._labelChat();
    if (s.open && !was) this.chat.focusInput();
    if (!s.open && was && (this.chat.el.contains(document.activeElement) || document.activeElement === document.body)) this.chatButton.focus();
    this.relayout();
  }

  _labelChat() {
    const label = /** @type {HTMLElement} */ (this.chatButton.querySelector('.control-label'));
    label.textContent = t('call.control.chat');
    this.chatButton.title = t(this.chat.isOpen ? 'call.control.chatCloseHint' : 'call.control.chatOpenHint');
    this.chatBadge.hidden = this.unread === 0;
    this.chatBadge.textContent = this.unread > 99 ? '99+' : String(this.unread);
    // The badge is drawn for the eyes; the name says it in words.
    if (this.unread) this.chatButton.setAttribute('aria-label', t('call.control.chatUnread', { count: this.unread }));
    else this.chatButton.removeAttribute('aria-label');
  }

  /**
   * How many people are in the call, us included.
   * @param {number} n
   */
  setPeople(n) {
    this.people = n;
    this._labelPeople();
  }

  _labelPeople() {
    /** @type {HTMLElement} */ (this.peopleCount.lastElementChild).textContent = t('call.people', { count: this.people });
  }

  /**
   * Says something to screen readers (the live region), without showing it.
   * @param {string} text
   */
  announce(text) {
    this.announcer.append(h('p', null, text));
    while (this.announcer.childElementCount > 5) this.announcer.firstElementChild?.remove();
  }

  /**
   * @param {{audio: MediaDeviceInfo[], video: MediaDeviceInfo[]}} devices
   * @param {{audio?: string, video?: string}} current
   */
  setDevices(devices, current) {
    fillSelect(this.cameraSelect, devices.video, current.video, 'video');
    fillSelect(this.micSelect, devices.audio, current.audio, 'audio');
  }

  /**
   * @param {{from: string, text: string, ts: number, self: boolean}} m
   */
  addMessage(m) {
    this.chat.addMessage(m);
  }

  /** @param {string} text */
  addSystemMessage(text) {
    this.chat.addSystemMessage(text);
  }

  /**
   * A line under the header (reconnecting, media problems); null hides it.
   * @param {string | null} text
   * @param {'info' | 'warn' | 'error'} [kind]
   */
  setBanner(text, kind = 'info') {
    this.banner.hidden = !text;
    this.banner.className = `banner ${kind}`;
    this.banner.textContent = text ?? '';
  }

  /** @param {string} text */
  flashCopyStatus(text) {
    this.copyStatus.textContent = text;
    setTimeout(() => {
      if (this.copyStatus.textContent === text) this.copyStatus.textContent = '';
    }, 2500);
  }

  /**
   * The call is over or stuck: a sentence and ways forward.
   * @param {string} title
   * @param {string} text
   * @param {{label: string, run: () => void, primary?: boolean}[]} actions
   * @param {string} [detail] something to copy (a URL)
   */
  showOverlay(title, text, actions, detail) {
    this.overlay.hidden = false;
    this.overlay.setAttribute('aria-labelledby', 'call-overlay-title');
    const buttons = actions.map((a) => h('button', { type: 'button', class: a.primary ? 'primary' : '', onclick: a.run }, a.label));
    this.overlay.replaceChildren(
      h(
        'div',
        { class: 'overlay-card' },
        h('h2', { id: 'call-overlay-title' }, title),
        h('p', null, text),
        detail ? h('p', { class: 'detail' }, h('code', null, detail)) : null,
        h('div', { class: 'actions' }, ...buttons),
      ),
    );
    (buttons.find((b) => b.classList.contains('primary')) ?? buttons[0])?.focus();
  }

  hideOverlay() {
    this.overlay.hidden = true;
  }

  destroy() {
    clearTimeout(this._relayoutTimer);
    this._relayoutTimer = 0;
    this._observer?.disconnect();
    window.removeEventListener('resize', this._resize);
    document.removeEventListener('keydown', this._onKey);
    this._offLanguage();
    for (const tl of this.tiles.values()) tl.destroy();
    this.tiles.clear();
    this.el.remove();
  }
}
