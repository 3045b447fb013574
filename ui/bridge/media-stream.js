// @ts-check
/**
 * The bridge's stand-ins for `MediaStream` and a remote video `MediaStreamTrack`. A
 * remote video from the bridge is decoded and painted by the media worker into a canvas
 * (WebKitGTK cannot feed a `<video>` fast enough, docs/BRIDGE.md and the team's
 * WEBKITGTK.md bugs 3 and 6), so it is no real track: {@link BridgeVideoTrack} carries the
 * track's surface the UI reads plus `attachCanvas`. Audio stays a real track (a clone of
 * a silent MediaStreamAudioDestinationNode's: the media engine's mixer plays the sound,
 * `__bridgePlayback` on the track), and a {@link BridgeMediaStream} holds both;
 * `realStream()` gives a real `MediaStream` of its real tracks.
 */

let nextId = 1;

/** @returns {string} a unique id (crypto.randomUUID where there is one) */
function makeId() {
  const c = /** @type {any} */ (globalThis).crypto;
  if (c?.randomUUID) return c.randomUUID();
  return `bridge-${Date.now().toString(36)}-${nextId++}`;
}

/**
 * What a {@link BridgeVideoTrack} asks of whoever paints it (the media engine).
 * @typedef {object} CanvasSink
 * @property {(canvas: HTMLCanvasElement) => void} attach hand the canvas to the painter
 * @property {() => void} detach stop painting it
 */

/**
 * A remote video track from the bridge: looks like a `MediaStreamTrack` to the UI; the
 * media worker paints its frames into an attached canvas.
 */
export class BridgeVideoTrack extends EventTarget {
  /**
   * @param {CanvasSink} sink
   * @param {string} [label]
   */
  constructor(sink, label = 'bridge video') {
    super();
    /** Marker the call view checks to show a canvas instead of a `<video>`. */
    this.__bridge = true;
    /** @type {'video'} */
    this.kind = 'video';
    this.id = makeId();
    this.label = label;
    this.enabled = true;
    /** Whether frames are arriving (false until the first is painted or decoded). */
    this.muted = true;
    /** @type {'live' | 'ended'} */
    this.readyState = 'live';
    /** @type {((ev: Event) => void) | null} */
    this.onended = null;
    /** @type {((ev: Event) => void) | null} */
    this.onmute = null;
    /** @type {((ev: Event) => void) | null} */
    this.onunmute = null;
    this._sink = sink;
    /** @type {{width: number, height: number}} */
    this._size = { width: 0, height: 0 };
    /** @type {HTMLCanvasElement | null} */
    this.canvas = null;
    /** Frames painted so far (the engine counts; the tile reads it for its first-frame moment). */
    this.framesPainted = 0;
  }

  /** @returns {{width?: number, height?: number}} the last decoded frame's size */
  getSettings() {
    return this._size.width ? { ...this._size } : {};
  }

  /**
   * The worker paints this track into `canvas` from now on (the canvas is handed to it
   * with `transferControlToOffscreen`, so it can be attached once; a new tile makes a new
   * canvas). Replaces a canvas attached before.
   * @param {HTMLCanvasElement} canvas
   */
  attachCanvas(canvas) {
    if (this.canvas === canvas) return;
    this.canvas = canvas;
    if (this.readyState === 'live') this._sink.attach(canvas);
  }

  /**
   * Stops painting the attached canvas (it keeps its last picture).
   * @param {HTMLCanvasElement} [canvas] only if this one is still the attached one (a
   *   view that let go after another took the track keeps the other's)
   */
  detachCanvas(canvas) {
    if (!this.canvas || (canvas && canvas !== this.canvas)) return;
    this.canvas = null;
    if (this.readyState === 'live') this._sink.detach();
  }

  /** Ends the track here (the UI's stop): nothing is painted any more. */
  stop() {
    if (this.readyState === 'ended') return;
    this.readyState = 'ended';
    if (this.canvas) this._sink.detach();
    this.canvas = null;
  }

  clone() {
    return this;
  }

  // ---- called by the engine ----

  /**
   * A frame of `width`×`height` was painted or decoded: the track is unmuted.
   * @param {number} width
   * @param {number} height
   * @param {boolean} painted
   */
  _frame(width, height, painted) {
    this._size = { width, height };
    if (painted) this.framesPainted++;
    if (this.muted && this.readyState === 'live') {
      this.muted = false;
      this._fire('unmute');
    }
  }

  /** The remote stopped sending (or the stream was reset): muted until frames come again. */
  _mute() {
    if (this.muted || this.readyState === 'ended') return;
    this.muted = true;
    this._fire('mute');
  }

  /** The remote ended (closeRemote): `ended` fires, as for a real track. */
  _end() {
    if (this.readyState === 'ended') return;
    this.stop();
    this._fire('ended');
  }

  /** @param {'ended' | 'mute' | 'unmute'} type */
  _fire(type) {
    const ev = new Event(type);
    this.dispatchEvent(ev);
    const h = type === 'ended' ? this.onended : type === 'mute' ? this.onmute : this.onunmute;
    try {
      h?.call(this, ev);
    } catch (e) {
      queueMicrotask(() => {
        throw e;
      });
    }
  }
}

/**
 * A `MediaStream` look-alike holding real tracks and {@link BridgeVideoTrack}s; what the
 * call controller gets as `MediaStream` when the bridge is in use.
 */
export class BridgeMediaStream extends EventTarget {
  /** @param {Iterable<MediaStreamTrack | BridgeVideoTrack> | BridgeMediaStream | MediaStream} [tracks] */
  constructor(tracks) {
    super();
    this.id = makeId();
    /** @type {(MediaStreamTrack | BridgeVideoTrack)[]} */
    this._tracks = [];
    const list = tracks && 'getTracks' in tracks ? tracks.getTracks() : tracks;
    for (const t of list ?? []) this.addTrack(t);
    /** @type {MediaStream | null} */
    this._real = null;
  }

  get active() {
    return this._tracks.some((t) => t.readyState === 'live');
  }

  getTracks() {
    return [...this._tracks];
  }

  getAudioTracks() {
    return this._tracks.filter((t) => t.kind === 'audio');
  }

  getVideoTracks() {
    return this._tracks.filter((t) => t.kind === 'video');
  }

  /** @param {string} id */
  getTrackById(id) {
    return this._tracks.find((t) => t.id === id) ?? null;
  }

  /** @param {MediaStreamTrack | BridgeVideoTrack} track */
  addTrack(track) {
    if (!this._tracks.includes(track)) this._tracks.push(track);
  }

  /** @param {MediaStreamTrack | BridgeVideoTrack} track */
  removeTrack(track) {
    this._tracks = this._tracks.filter((t) => t !== track);
  }

  clone() {
    return new BridgeMediaStream(this._tracks);
  }

  /**
   * A real `MediaStream` of this stream's real tracks (the audio; a `<audio>` element's
   * `srcObject` takes nothing else). The same object while the tracks stay the same.
   * @returns {MediaStream | null} null where there is no `MediaStream` or no real track
   */
  realStream() {
    const MS = globalThis.MediaStream;
    const real = this._tracks.filter((t) => !(/** @type {any} */ (t).__bridge));
    if (!MS || !real.length) return null;
    const have = this._real?.getTracks() ?? [];
    if (!this._real || have.length !== real.length || real.some((t) => !have.includes(/** @type {MediaStreamTrack} */ (t)))) {
      this._real = new MS(/** @type {MediaStreamTrack[]} */ (real));
    }
    return this._real;
  }
}
