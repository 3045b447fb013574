// @ts-check
/**
 * One person's tile in the call (views/call.js): their video (or, through the bridge,
 * the canvas the media worker paints, canvas-slot.js), their sound, name, initial,
 * badges (hand, muted, camera off, sharing, muted on this device), connection state,
 * verification code, picture in picture and "mute on this device". The data
 * attributes tests and styles read are listed in views/call.js.
 */
import { h, tryPlay } from '../dom.js';
import { t } from '../i18n.js';
import { icon, setIcon } from './icons.js';
import { CanvasSlot, bridgeVideoOf } from './canvas-slot.js';
import { tr, localize } from './localize.js';

/**
 * @typedef {object} TileState
 * @property {string} [name]
 * @property {string} [state]
 * @property {boolean} [muted]
 * @property {boolean} [camera]
 * @property {boolean} [sharing]
 * @property {boolean} [speaking]
 * @property {boolean} [hand] hand raised
 * @property {string | null} [verify] the pair's verification code
 * @property {'direct' | 'relay' | null} [route] how the connected pair goes
 *   (peer.js reads it from getStats); a relayed one says so
 * @property {boolean} [relay] with `state: 'failed'`: whether a relay was there
 *   to fall back on (without one, the tile says what to do)
 */

const STATE_KEYS = /** @type {Record<string, string>} */ ({
  connecting: 'call.tile.connecting',
  reconnecting: 'call.tile.reconnecting',
  failed: 'call.tile.failed',
});

/** Whether Picture-in-Picture can be asked for in this browser (WebKitGTK: no). */
function pipSupported() {
  const doc = /** @type {any} */ (globalThis.document);
  return !!doc?.pictureInPictureEnabled && typeof globalThis.HTMLVideoElement?.prototype?.requestPictureInPicture === 'function';
}

/**
 * One person's tile.
 */
export class Tile {
  /**
   * @param {string} id
   * @param {string} name
   * @param {boolean} self
   * @param {(text: string) => void} announce
   */
  constructor(id, name, self, announce) {
    this.id = id;
    this.self = self;
    this.name = name;
    this._announce = announce;
    /** @type {string} */
    this.state = self ? 'connected' : 'connecting';
    /** @type {'direct' | 'relay' | null} */
    this.route = null;
    /** @type {boolean | undefined} */
    this.relay = undefined;
    this.video = /** @type {HTMLVideoElement} */ (h('video', { playsInline: true, autoplay: true, muted: true }));
    this.video.muted = true; // sound goes through the <audio> element (or nowhere, for our own)
    this.audio = self ? null : /** @type {HTMLAudioElement} */ (h('audio', { autoplay: true }));
    /** Called when the tile's picture starts (video playing, or a bridge track's first frame). @type {Set<() => void>} */
    this.playingListeners = new Set();
    this.video.addEventListener('playing', () => this._playing());
    /** Where a bridge video track is painted instead of the video. */
    this.slot = new CanvasSlot(this.video, { className: 'tile-canvas', testId: 'tile-canvas', onFirstFrame: () => this._playing() });
    this.nameEl = h('span', { class: 'tile-name' });
    this.youEl = self ? h('span', { class: 'you', ...tr('call.tile.you') }) : null;
    this.initial = h('div', { class: 'avatar', 'aria-hidden': 'true' }, initialOf(name));
    this.statusEl = h('div', { class: 'tile-status', role: 'status' });
    this.handBadge = h('span', { class: 'badge badge-hand' }, icon('hand'), h('span', tr('call.tile.hand')));
    this.mutedBadge = h('span', { class: 'badge badge-muted' }, icon('mic-off'), h('span', tr('call.tile.muted')));
    this.cameraBadge = h('span', { class: 'badge badge-camera' }, icon('camera-off'), h('span', tr('call.tile.cameraOff')));
    this.sharingBadge = h('span', { class: 'badge badge-sharing' }, icon('screen'), h('span', tr('call.tile.sharing')));
    this.localBadge = h('span', { class: 'badge badge-local' }, icon('speaker-off'), h('span', tr('call.tile.localMuted')));
    this.verifyText = h('span', { class: 'verify-code' });
    this.verifyEl = h('span', { class: 'verify', 'data-testid': 'verify', hidden: true, tabindex: '0' }, icon('shield'), this.verifyText);

    /** @type {HTMLButtonElement | null} */
    this.pipButton = null;
    /** @type {HTMLButtonElement | null} */
    this.localMuteButton = null;
    const actions = h('div', { class: 'tile-actions' });
    if (pipSupported()) {
      this.pipButton = /** @type {HTMLButtonElement} */ (
        h('button', { type: 'button', class: 'tile-button', 'data-testid': 'tile-pip', onclick: () => this.togglePip() }, icon('pip'))
      );
      actions.append(this.pipButton);
    }
    if (!self) {
      this.localMuteButton = /** @type {HTMLButtonElement} */ (
        h(
          'button',
          { type: 'button', class: 'tile-button', 'aria-pressed': 'false', 'data-testid': 'tile-local-mute', onclick: () => this.setLocalMuted(!this.localMuted) },
          icon('speaker'),
        )
      );
      actions.append(this.localMuteButton);
    }
    this.localMuted = false;
    /** @type {{setMuted(muted: boolean): void} | null} the bridge's playback of this tile's sound, if it plays it */
    this.bridgePlayback = null;

    this.el = h(
      'div',
      {
        class: 'tile',
        role: 'group',
        'data-testid': 'tile',
        dataset: {
          peerId: id,
          self: String(self),
          name,
          state: this.state,
          muted: 'false',
          camera: 'true',
          sharing: 'false',
          speaking: 'false',
          hand: 'false',
          localMuted: 'false',
        },
      },
      this.video,
      this.audio,
      this.initial,
      this.statusEl,
      actions.childElementCount ? actions : null,
      h(
        'div',
        { class: 'tile-label' },
        this.handBadge,
        this.nameEl,
        this.youEl,
        this.mutedBadge,
        this.cameraBadge,
        this.sharingBadge,
        this.localBadge,
        h('span', { class: 'spacer' }),
        this.verifyEl,
      ),
    );
    /** @type {MediaStream | null} */
    this.stream = null;
    localize(this.el);
    this.relabel();
  }

  /** The tile's words that depend on the person and the state, in the current language. */
  relabel() {
    const who = this.name || t('call.guest');
    this.nameEl.textContent = who;
    this.el.setAttribute('aria-label', this.self ? t('call.tile.selfLabel', { name: who }) : who);
    const status = this._statusKey();
    this.statusEl.textContent = status ? t(status) : '';
    this.statusEl.hidden = !this.statusEl.textContent;
    const verify = t('call.verify.title', { name: who });
    this.verifyEl.title = verify;
    this.verifyEl.setAttribute('aria-label', `${verify} ${this.verifyText.textContent}`);
    if (this.pipButton) {
      const label = t('call.tile.pip', { name: who });
      this.pipButton.setAttribute('aria-label', label);
      this.pipButton.title = label;
    }
    if (this.localMuteButton) {
      const label = t('call.tile.localMute', { name: who });
      this.localMuteButton.setAttribute('aria-label', label);
      this.localMuteButton.title = t('call.tile.localMuteHint', { name: who });
    }
  }

  /** The key of the tile's status line ('' for none). */
  _statusKey() {
    if (this.state === 'failed' && this.relay === false) return 'call.tile.failedNoRelay';
    if (this.state === 'connected' && this.route === 'relay') return 'call.tile.relayed';
    return STATE_KEYS[this.state] ?? '';
  }

  /** @param {TileState} s */
  setState(s) {
    const d = this.el.dataset;
    if (s.name !== undefined) {
      d.name = s.name;
      this.name = s.name;
      this.initial.textContent = initialOf(s.name);
    }
    if (s.state !== undefined) {
      d.state = s.state;
      this.state = s.state;
    }
    if (s.muted !== undefined) d.muted = String(s.muted);
    if (s.camera !== undefined) d.camera = String(s.camera);
    if (s.sharing !== undefined) d.sharing = String(s.sharing);
    if (s.speaking !== undefined) d.speaking = String(s.speaking);
    if (s.hand !== undefined) d.hand = String(s.hand);
    if (s.verify !== undefined) {
      this.verifyText.textContent = s.verify ?? '';
      this.verifyEl.hidden = !s.verify;
      if (s.verify) d.verify = s.verify;
      else delete d.verify;
    }
    if (s.route !== undefined) {
      this.route = s.route;
      d.route = s.route ?? '';
    }
    if (s.relay !== undefined) this.relay = s.relay;
    if (s.name !== undefined || s.state !== undefined || s.verify !== undefined || s.route !== undefined) this.relabel();
  }

  /**
   * "We're in the same room": this person's sound stops on this device only (two
   * laptops side by side would otherwise echo). Nothing is sent to anyone.
   * @param {boolean} muted
   */
  setLocalMuted(muted) {
    this.localMuted = muted;
    if (this.audio) this.audio.muted = muted;
    this.bridgePlayback?.setMuted(muted);
    this.el.dataset.localMuted = String(muted);
    this.localMuteButton?.setAttribute('aria-pressed', String(muted));
    if (this.localMuteButton) setIcon(/** @type {SVGSVGElement} */ (this.localMuteButton.firstElementChild), muted ? 'speaker-off' : 'speaker');
    const who = this.name || t('call.guest');
    this._announce(t(muted ? 'call.announce.localMuted' : 'call.announce.localUnmuted', { name: who }));
  }

  /** Picture-in-picture for this tile's video, or back. */
  async togglePip() {
    const doc = /** @type {any} */ (document);
    try {
      if (doc.pictureInPictureElement === this.video) await doc.exitPictureInPicture();
      else await /** @type {any} */ (this.video).requestPictureInPicture();
    } catch {
      // No video yet, or the browser refused: the tile stays as it is.
    }
  }

  /**
   * Shows a stream (ours or theirs). Video plays muted; remote sound plays in the
   * audio element, which may need a click first (autoplay rules).
   * @param {MediaStream | null} stream
   * @returns {Promise<boolean>} false if sound was blocked
   */
  async show(stream) {
    this.stream = stream;
    const bridged = bridgeVideoOf(stream);
    this._showBridgeTrack(bridged);
    // An element playing a stream without tracks never gets data, and delays the
    // page's load event for as long: attach streams only once they have tracks.
    const video = stream && !bridged && stream.getVideoTracks().length ? stream : null;
    if (this.video.srcObject !== video) this.video.srcObject = video;
    if (video) tryPlay(this.video);
    if (!this.audio) return true;
    // A bridged person's sound plays in the bridge's own AudioContext, not here (see
    // bridge/audio-graph.js remoteTrack): this tile only passes its local mute on.
    const playback = /** @type {any} */ (stream?.getAudioTracks()[0])?.__bridgePlayback ?? null;
    this.bridgePlayback = playback;
    playback?.setMuted(this.localMuted);
    const audio = stream && !playback && stream.getAudioTracks().length ? realStream(stream) : null;
    if (this.audio.srcObject !== audio) this.audio.srcObject = audio;
    if (!audio) return true;
    return tryPlay(this.audio);
  }

  /**
   * A bridge video track in a canvas in the video's place (no picture-in-picture for
   * it), or back to the video (`null`).
   * @param {any} track
   */
  _showBridgeTrack(track) {
    this.slot.show(track);
    if (this.pipButton) this.pipButton.hidden = !!track;
  }

  /** @param {() => void} fn called whenever the tile's picture starts */
  onPlaying(fn) {
    this.playingListeners.add(fn);
  }

  _playing() {
    for (const fn of this.playingListeners) fn();
  }

  destroy() {
    const doc = /** @type {any} */ (document);
    if (doc.pictureInPictureElement === this.video) doc.exitPictureInPicture?.().catch(() => {});
    this._showBridgeTrack(null);
    this.playingListeners.clear();
    this.video.srcObject = null;
    if (this.audio) this.audio.srcObject = null;
    this.el.remove();
  }
}

/**
 * What an `<audio>` element can play of `stream`: itself, or for a bridge stream (which
 * also holds a canvas-painted video track) a real MediaStream of its real tracks.
 * @param {MediaStream} stream
 * @returns {MediaStream | null}
 */
function realStream(stream) {
  const s = /** @type {any} */ (stream);
  return typeof s.realStream === 'function' ? s.realStream() : stream;
}

/** @param {string | undefined} name */
function initialOf(name) {
  const s = (name ?? '').trim();
  return s ? [...s][0].toUpperCase() : '?';
}
