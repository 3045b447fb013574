// @ts-check
/**
 * The call: a grid of tiles (one per person, ours mirrored and muted), the controls
 * (Mute, Camera off, Share screen, devices, Leave), the room code with Copy invite,
 * the chat, and banners for what went wrong. Like the lobby, it shows and reports;
 * call-controller.js decides.
 *
 * Tiles carry data attributes for tests and styling: `data-testid="tile"`,
 * `data-peer-id`, `data-self`, `data-name`, `data-state` (connecting | connected |
 * reconnecting | failed), `data-muted`, `data-camera`, `data-sharing`,
 * `data-speaking`.
 */
import { h, tryPlay } from '../dom.js';
import { formatCode } from '../codes.js';
import { gridLayout } from '../layout.js';
import { fillSelect } from './lobby.js';

/**
 * @typedef {object} CallHandlers
 * @property {() => void} onMute
 * @property {() => void} onCamera
 * @property {() => void} onShare
 * @property {() => void} onLeave
 * @property {() => void} onCopyInvite
 * @property {(text: string) => void} onChat
 * @property {(kind: 'audio' | 'video', deviceId: string) => void} onDevice
 * @property {() => void} onEnableSound
 * @property {() => void} onAnyClick a click anywhere in the call (lets sound start)
 */

/**
 * @typedef {object} TileState
 * @property {string} [name]
 * @property {string} [state]
 * @property {boolean} [muted]
 * @property {boolean} [camera]
 * @property {boolean} [sharing]
 * @property {boolean} [speaking]
 */

const STATE_TEXT = /** @type {Record<string, string>} */ ({
  connecting: 'Connecting…',
  connected: '',
  reconnecting: 'Reconnecting…',
  failed: 'Could not connect. Check that you are on the same network.',
});

/**
 * One person's tile.
 */
class Tile {
  /**
   * @param {string} id
   * @param {string} name
   * @param {boolean} self
   */
  constructor(id, name, self) {
    this.id = id;
    this.self = self;
    this.video = /** @type {HTMLVideoElement} */ (h('video', { playsInline: true, autoplay: true, muted: true }));
    this.video.muted = true; // sound goes through the <audio> element (or nowhere, for our own)
    this.audio = self ? null : /** @type {HTMLAudioElement} */ (h('audio', { autoplay: true }));
    this.nameEl = h('span', { class: 'tile-name' }, name || 'Guest');
    this.initial = h('div', { class: 'avatar', 'aria-hidden': 'true' }, initialOf(name));
    this.statusEl = h('div', { class: 'tile-status', role: 'status' });
    this.el = h(
      'div',
      {
        class: 'tile',
        'data-testid': 'tile',
        dataset: { peerId: id, self: String(self), name: name, state: self ? 'connected' : 'connecting', muted: 'false', camera: 'true', sharing: 'false', speaking: 'false' },
      },
      this.video,
      this.audio,
      this.initial,
      h(
        'div',
        { class: 'tile-label' },
        this.nameEl,
        self ? h('span', { class: 'you' }, '(you)') : null,
        h('span', { class: 'badge badge-muted', title: 'Muted' }, 'Muted'),
        h('span', { class: 'badge badge-camera', title: 'Camera off' }, 'Camera off'),
        h('span', { class: 'badge badge-sharing' }, 'Sharing screen'),
      ),
      this.statusEl,
    );
    /** @type {MediaStream | null} */
    this.stream = null;
    if (!self) this.setState({ state: 'connecting' });
  }

  /** @param {TileState} s */
  setState(s) {
    const d = this.el.dataset;
    if (s.name !== undefined) {
      d.name = s.name;
      this.nameEl.textContent = s.name || 'Guest';
      this.initial.textContent = initialOf(s.name);
    }
    if (s.state !== undefined) {
      d.state = s.state;
      this.statusEl.textContent = STATE_TEXT[s.state] ?? '';
      this.statusEl.hidden = !this.statusEl.textContent;
    }
    if (s.muted !== undefined) d.muted = String(s.muted);
    if (s.camera !== undefined) d.camera = String(s.camera);
    if (s.sharing !== undefined) d.sharing = String(s.sharing);
    if (s.speaking !== undefined) d.speaking = String(s.speaking);
  }

  /**
   * Shows a stream (ours or theirs). Video plays muted; remote sound plays in the
   * audio element, which may need a click first (autoplay rules).
   * @param {MediaStream | null} stream
   * @returns {Promise<boolean>} false if sound was blocked
   */
  async show(stream) {
    this.stream = stream;
    // An element playing a stream without tracks never gets data, and delays the
    // page's load event for as long: attach streams only once they have tracks.
    const video = stream && stream.getVideoTracks().length ? stream : null;
    if (this.video.srcObject !== video) this.video.srcObject = video;
    if (video) tryPlay(this.video);
    if (!this.audio) return true;
    const audio = stream && stream.getAudioTracks().length ? stream : null;
    if (this.audio.srcObject !== audio) this.audio.srcObject = audio;
    if (!audio) return true;
    return tryPlay(this.audio);
  }

  destroy() {
    this.video.srcObject = null;
    if (this.audio) this.audio.srcObject = null;
    this.el.remove();
  }
}

/** @param {string | undefined} name */
function initialOf(name) {
  const t = (name ?? '').trim();
  return t ? [...t][0].toUpperCase() : '?';
}

export class CallView {
  /**
   * @param {HTMLElement} root
   * @param {CallHandlers} handlers
   * @param {{code: string, roomName: string}} room
   */
  constructor(root, handlers, room) {
    this.root = root;
    this.handlers = handlers;
    /** @type {Map<string, Tile>} */
    this.tiles = new Map();

    this.roomName = h('span', { class: 'room-name' }, room.roomName || 'Room');
    this.roomCode = h('span', { class: 'room-code', 'data-testid': 'room-code' }, formatCode(room.code));
    this.copyButton = h('button', { type: 'button', class: 'ghost', onclick: handlers.onCopyInvite }, 'Copy invite');
    this.copyStatus = h('span', { class: 'copy-status', role: 'status' });
    this.banner = h('div', { class: 'banner', role: 'status', hidden: true, 'data-testid': 'call-banner' });
    this.soundButton = h('button', { type: 'button', class: 'primary', hidden: true, onclick: handlers.onEnableSound }, 'Turn on sound');
    this.grid = h('div', { class: 'grid', 'data-testid': 'grid' });

    this.messages = h('ol', { class: 'messages', 'aria-live': 'polite', 'data-testid': 'chat-messages' });
    this.chatInput = /** @type {HTMLInputElement} */ (h('input', { id: 'chat-input', autocomplete: 'off', maxLength: 2000 }));
    const chatForm = h(
      'form',
      {
        class: 'chat-form',
        onsubmit: (/** @type {Event} */ e) => {
          e.preventDefault();
          const text = this.chatInput.value.trim();
          if (!text) return;
          handlers.onChat(text);
          this.chatInput.value = '';
        },
      },
      h('label', { for: 'chat-input', class: 'visually-hidden-label' }, 'Message'),
      this.chatInput,
      h('button', { type: 'submit' }, 'Send'),
    );
    this.chat = h('aside', { class: 'chat', 'aria-labelledby': 'chat-title' }, h('h2', { id: 'chat-title' }, 'Chat'), this.messages, chatForm);

    this.muteButton = h('button', { type: 'button', class: 'control', 'aria-pressed': 'false', onclick: handlers.onMute }, 'Mute');
    this.cameraButton = h('button', { type: 'button', class: 'control', 'aria-pressed': 'false', onclick: handlers.onCamera }, 'Camera off');
    this.shareButton = h('button', { type: 'button', class: 'control', 'aria-pressed': 'false', onclick: handlers.onShare }, 'Share screen');
    this.leaveButton = h('button', { type: 'button', class: 'control danger', onclick: handlers.onLeave }, 'Leave');
    this.micSelect = /** @type {HTMLSelectElement} */ (h('select', { id: 'call-mic' }));
    this.cameraSelect = /** @type {HTMLSelectElement} */ (h('select', { id: 'call-camera' }));
    this.micSelect.addEventListener('change', () => handlers.onDevice('audio', this.micSelect.value));
    this.cameraSelect.addEventListener('change', () => handlers.onDevice('video', this.cameraSelect.value));
    const devices = h(
      'details',
      { class: 'devices' },
      h('summary', null, 'Devices'),
      h(
        'div',
        { class: 'devices-panel' },
        h('div', { class: 'field' }, h('label', { for: 'call-mic' }, 'Microphone'), this.micSelect),
        h('div', { class: 'field' }, h('label', { for: 'call-camera' }, 'Camera'), this.cameraSelect),
      ),
    );

    this.overlay = h('div', { class: 'overlay', hidden: true, role: 'alertdialog', 'aria-modal': 'true', 'data-testid': 'call-overlay' });

    this.el = h(
      'main',
      { class: 'call', 'data-testid': 'call' },
      h(
        'header',
        { class: 'call-bar' },
        h('div', { class: 'room-info' }, this.roomName, this.roomCode, this.copyButton, this.copyStatus),
        this.soundButton,
      ),
      this.banner,
      h('div', { class: 'stage' }, this.grid, this.chat),
      h('footer', { class: 'controls' }, this.muteButton, this.cameraButton, this.shareButton, devices, this.leaveButton),
      this.overlay,
    );
    root.replaceChildren(this.el);
    this.el.addEventListener('click', () => handlers.onAnyClick());

    this._resize = () => this.relayout();
    this._observer = typeof ResizeObserver === 'function' ? new ResizeObserver(this._resize) : null;
    this._observer?.observe(this.grid);
    window.addEventListener('resize', this._resize);
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
    tile = new Tile(id, name, self);
    this.tiles.set(id, tile);
    if (self) this.grid.prepend(tile.el);
    else this.grid.append(tile.el);
    this.relayout();
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
    this.tiles.get(id)?.video.addEventListener('playing', fn);
  }

  /** @param {string} id */
  removeTile(id) {
    const tile = this.tiles.get(id);
    if (!tile) return;
    tile.destroy();
    this.tiles.delete(id);
    this.relayout();
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
    return tile ? tile.show(stream) : Promise.resolve(true);
  }

  /** Plays every remote audio element (after a click that allows sound). */
  async enableSound() {
    let ok = true;
    for (const t of this.tiles.values()) if (t.audio && t.audio.srcObject) ok = (await tryPlay(t.audio)) && ok;
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

  /**
   * @param {{muted: boolean, camera: boolean, sharing: boolean, canShare: boolean, hasCamera: boolean}} s
   */
  setControls(s) {
    this.muteButton.textContent = s.muted ? 'Unmute' : 'Mute';
    this.muteButton.setAttribute('aria-pressed', String(s.muted));
    this.cameraButton.textContent = s.camera ? 'Camera off' : 'Camera on';
    this.cameraButton.setAttribute('aria-pressed', String(!s.camera));
    this.shareButton.textContent = s.sharing ? 'Stop sharing' : 'Share screen';
    this.shareButton.setAttribute('aria-pressed', String(s.sharing));
    /** @type {HTMLButtonElement} */ (this.shareButton).disabled = !s.canShare;
  }

  /**
   * @param {{audio: MediaDeviceInfo[], video: MediaDeviceInfo[]}} devices
   * @param {{audio?: string, video?: string}} current
   */
  setDevices(devices, current) {
    fillSelect(this.cameraSelect, devices.video, current.video, 'Camera');
    fillSelect(this.micSelect, devices.audio, current.audio, 'Microphone');
  }

  /**
   * @param {{from: string, text: string, ts: number, self: boolean}} m
   */
  addMessage(m) {
    const time = new Date(Number.isFinite(m.ts) ? m.ts : Date.now());
    const li = h(
      'li',
      { class: m.self ? 'message self' : 'message', 'data-testid': 'chat-message' },
      h('span', { class: 'from' }, m.self ? 'You' : m.from || 'Guest'),
      h('time', { dateTime: time.toISOString() }, time.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })),
      h('p', { class: 'text' }, m.text),
    );
    this.messages.append(li);
    while (this.messages.children.length > 500) this.messages.firstElementChild?.remove();
    li.scrollIntoView?.({ block: 'end' });
  }

  /** @param {string} text */
  addSystemMessage(text) {
    this.messages.append(h('li', { class: 'message system' }, h('p', { class: 'text' }, text)));
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
    this.overlay.replaceChildren(
      h(
        'div',
        { class: 'overlay-card' },
        h('h2', null, title),
        h('p', null, text),
        detail ? h('p', { class: 'detail' }, h('code', null, detail)) : null,
        h('div', { class: 'actions' }, ...actions.map((a) => h('button', { type: 'button', class: a.primary ? 'primary' : '', onclick: a.run }, a.label))),
      ),
    );
  }

  hideOverlay() {
    this.overlay.hidden = true;
  }

  destroy() {
    this._observer?.disconnect();
    window.removeEventListener('resize', this._resize);
    for (const t of this.tiles.values()) t.destroy();
    this.tiles.clear();
    this.el.remove();
  }
}
