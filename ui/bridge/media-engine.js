// @ts-check
/**
 * `BridgeMedia`: the page side of the bridge's media (the contract is
 * docs/BRIDGE.md, "The page side"). The shim calls it; it owns:
 *
 * - capture: the camera (camera-capture.js: a hidden `<video>` → buffers → the video
 *   worker → VP8) and the microphone (audio-graph.js: the capture worklet → the audio
 *   worker → Opus);
 * - the media workers (media-worker.js, one for video and one for sound, so sound never
 *   waits behind pictures): encoders, per-remote decoders, painting;
 * - remote tracks: a {@link BridgeVideoTrack} per remote video (painted into its tile's
 *   canvas by the worker) and, per remote audio, a REAL (silent) track the UI shows;
 *   the sound itself plays in the audio graph's one AudioContext, which also measures
 *   levels for the speaking meter ({@link BridgeMedia.levelOf});
 * - the figures the UI and the benchmark read ({@link BridgeMedia.stats}).
 *
 * Bounded everywhere: the capture takes a camera frame only when the worker has taken
 * the previous ones; remote frames wait for a worker at most {@link MAX_REMOTE_QUEUED};
 * the worker bounds the rest.
 */
import { BridgeVideoTrack, BridgeMediaStream } from './media-stream.js';
import { gapFigures } from './frames.js';
import { CameraCapture, encodeSize } from './camera-capture.js';
import { AudioGraph } from './audio-graph.js';

/** @typedef {{p50: number, p95: number, max: number, n: number}} GapFigures */

export { BridgeMediaStream, BridgeVideoTrack, encodeSize };

/** Remote frames handed to a worker and not yet taken by it (~4 s of 8 people's audio and video). */
const MAX_REMOTE_QUEUED = 512;
/** How often the engine checks what the page cannot be told by events (track.enabled). */
const HOUSEKEEPING_MS = 250;
const DEFAULT_FPS = 30;

/**
 * @typedef {object} BridgeMediaDeps
 * @property {(buf: ArrayBuffer) => void} sendFrame a page frame (16-byte header + chunk) to the bridge
 * @property {(pc: number) => unknown} requestKeyframe ask the bridge for a keyframe of `pc`'s video
 * @property {(...m: unknown[]) => void} [log]
 * @property {Document} [document] where the hidden capture `<video>` lives (default: the page's)
 * @property {(role: 'audio' | 'video') => Worker} [createWorker] (default: media-worker.js as a module worker)
 */

/**
 * @typedef {object} VideoEncoding
 * @property {number} [maxBitrate] bits per second
 * @property {number} [maxFramerate]
 * @property {number} [scaleResolutionDownBy]
 */

/**
 * @typedef {object} RemoteStats
 * @property {number} pc
 * @property {number} transceiver
 * @property {'audio' | 'video'} kind
 * @property {number} framesDecoded
 * @property {number} framesPainted
 * @property {number} fps painted (video with a canvas) or decoded frames per second
 * @property {number} gaps frames that came after a gap
 * @property {number} [dropped] decoded frames replaced by newer ones before painting
 * @property {number} [stale] frames skipped because they waited too long for the worker
 * @property {number} [width]
 * @property {number} [height]
 * @property {number | null} [decodePaintMs] mean time from a chunk handed to the decoder to its picture painted
 * @property {{p50: number, p95: number, n: number} | null} [latencyMs] capture-to-paint (with the bench stamp on)
 * @property {number} [underruns] audio: times playback ran dry (a glitch each)
 * @property {number} [droppedMs] audio: sound dropped to keep the delay down
 * @property {number} [bufferedMs] audio: queued for playback now
 * @property {number} [targetMs] audio: the jitter buffer's target now (grows after underruns)
 * @property {number} [peak] audio: the loudest sample played over the last second (0-1)
 * @property {number} [heardPeak] audio: the same after the tile's gain (0 while muted on this device)
 * @property {boolean} [localMuted] audio: muted on this device
 */

/**
 * What a number of frames over the last second makes.
 */
class RateMeter {
  constructor() {
    /** @type {number[]} */
    this.times = [];
  }

  mark() {
    const now = performance.now();
    this.times.push(now);
    while (this.times.length && now - this.times[0] > 1000) this.times.shift();
  }

  get fps() {
    const now = performance.now();
    while (this.times.length && now - this.times[0] > 1000) this.times.shift();
    return this.times.length;
  }
}

export class BridgeMedia {
  /** @param {BridgeMediaDeps} deps */
  constructor(deps) {
    this.deps = deps;
    this.log = deps.log ?? (() => {});
    /**
     * The page's join timeline (ui/timeline.js), set by the page once it has one: the
     * engine's steps of a join (keyframe asked, first picture decoded) show there.
     * @type {(what: string) => void}
     */
    this.mark = () => {};
    this.closed = false;
    const make =
      deps.createWorker ??
      ((/** @type {string} */ role) => new Worker(new URL('./media-worker.js', import.meta.url), { type: 'module', name: `lanmeet-${role}` }));
    // Two workers of the same code: sound must not wait behind pictures (a worker busy
    // converting and painting several videos delivered audio in bursts, which glitched).
    /** @type {{video: Worker, audio: Worker} | null} */
    this.workers = { video: make('video'), audio: make('audio') };
    for (const [role, w] of Object.entries(this.workers)) {
      w.onmessage = (ev) => this._onWorker(ev.data, /** @type {'audio' | 'video'} */ (role));
      w.onerror = (ev) => this.log(`media worker (${role}) error`, ev.message);
    }

    /** @type {{audio: MediaStreamTrack | null, video: MediaStreamTrack | null}} */
    this.local = { audio: null, video: null };
    this.sending = { audio: false, video: false };
    /** @type {VideoEncoding} */
    this.encoding = {};

    this.capture = new CameraCapture({
      post: (msg, transfer) => this._post(msg, transfer, 'video'),
      fps: () => this._fps(),
      scale: () => this.encoding.scaleResolutionDownBy,
      encode: () => this._sendsCaptured(),
      preview: () => this._previewsCaptured(),
      log: this.log,
      document: deps.document,
    });
    this._stamp = false;
    /**
     * The self tile's picture: `real` is the camera track it shows, `track` the canvas
     * track the tile paints instead (see {@link previewStream}); `on` once it has a canvas.
     * @type {{real: MediaStreamTrack, track: BridgeVideoTrack, on: boolean} | null}
     */
    this._preview = null;

    this.audio = new AudioGraph({ post: (msg, transfer) => this._post(msg, transfer, 'audio'), log: this.log, document: deps.document });

    /** @type {Map<string, BridgeVideoTrack>} */
    this._videoTracks = new Map();
    this.sent = {
      video: { frames: 0, keyframes: 0, width: 0, height: 0, rate: new RateMeter() },
      audio: { frames: 0 },
    };
    /** The workers' last reports of their remote streams. @type {{audio: RemoteStats[], video: RemoteStats[]}} */
    this._remoteStats = { audio: [], video: [] };
    /** Remote frames posted to each worker, taken by it, dropped here because it was behind. */
    this._remoteQueue = { audio: { posted: 0, taken: 0, dropped: 0 }, video: { posted: 0, taken: 0, dropped: 0 } };
    /** When the worker counted `_remoteStats` (ms, the machine's clock): rates over two reports are exact. */
    this._remoteAt = 0;
    /** @type {{encodeMs: number | null, previewMs: number | null, dropped: number}} */
    this._workerVideo = { encodeMs: null, previewMs: null, dropped: 0 };
    /** The audio worker's figures: gaps between the capture worklet's frames. */
    this._workerAudio = { captureGapMs: /** @type {any} */ (null) };
    /** ms between sound frames sent to the bridge (the first 500 since the benchmark's last reset). */
    this._audioSendGaps = /** @type {number[]} */ ([]);
    this._audioSentAt = 0;

    this._housekeeping = /** @type {any} */ (setInterval(() => this._tick(), HOUSEKEEPING_MS));
    // Where tests and the benchmark find the page's engine (like __lanmeetTimeline).
    /** @type {any} */ (globalThis).__lanmeetBridgeMedia = this;
  }

  // ---- what the shim calls ----

  /**
   * The track our senders of `kind` send (addTransceiver(track) / replaceTrack(track)).
   * @param {'audio' | 'video'} kind
   * @param {MediaStreamTrack | null} track
   */
  setLocalTrack(kind, track) {
    if (this.closed || this.local[kind] === track) return;
    this.local[kind] = track;
    if (kind === 'video') {
      this._updateCapture();
      this.capture.wantKeyframe();
    } else {
      this.audio.setMic(track);
    }
  }

  /**
   * Whether at least one sender of `kind` sends: nothing is encoded otherwise.
   * @param {'audio' | 'video'} kind
   * @param {boolean} sending
   */
  setSending(kind, sending) {
    if (this.closed) return;
    const was = this.sending[kind];
    this.sending[kind] = !!sending;
    if (kind === 'audio') this._post({ t: 'audio-send', on: !!sending }, [], 'audio');
    else if (sending && !was) {
      this.capture.wantKeyframe();
      this.capture.schedule();
    }
  }

  /**
   * The largest size, rate and bitrate any peer asked for (one encoding for all).
   * @param {VideoEncoding} e
   */
  setVideoEncoding(e) {
    if (this.closed) return;
    this.encoding = { ...e };
    this._post({ t: 'encoding', fps: this._fps(), bitrate: e.maxBitrate }, [], 'video');
  }

  /** The bridge asks for a keyframe of our video (a peer lost it, or a sender started). */
  keyframeRequested() {
    this.capture.wantKeyframe();
    this._post({ t: 'keyframe' }, [], 'video');
  }

  /**
   * A frame from the bridge (0x02 header): straight to the worker, which parses it.
   * @param {ArrayBuffer} buf
   */
  onRemoteFrame(buf) {
    if (this.closed || !(buf instanceof ArrayBuffer)) return;
    // Byte 2 is the kind (docs/BRIDGE.md): 0 audio, else video (the worker checks the rest).
    const kind = buf.byteLength > 2 && new Uint8Array(buf, 2, 1)[0] === 0 ? 'audio' : 'video';
    const q = this._remoteQueue[kind];
    // A worker this far behind is not reading: drop here (it sees the hole in the
    // frame sequence and asks for a keyframe) rather than queue without bound.
    if (q.posted - q.taken >= MAX_REMOTE_QUEUED) {
      q.dropped++;
      return;
    }
    q.posted++;
    this._post({ t: 'frame', buf, at: Date.now() }, [buf], kind);
  }

  /**
   * The self tile's stream, with its camera painted by the media worker from the frames
   * taken for the encoder instead of played by a `<video>`: in WebKitGTK a visible
   * playing `<video>` held the page's main thread for 100–340 ms several times a second,
   * and that thread carries every frame to and from the bridge (README, "The window in
   * a call"). The same canvas track while the camera track stays the same.
   * @param {MediaStream | BridgeMediaStream | null} stream the person's own stream
   * @returns {MediaStream | BridgeMediaStream | null}
   */
  previewStream(stream) {
    const real = /** @type {MediaStreamTrack | undefined} */ (stream?.getVideoTracks()[0]);
    if (this.closed || !stream || !real || /** @type {any} */ (real).__bridge) return stream;
    if (this._preview?.real !== real || this._preview.track.readyState !== 'live') {
      this._preview?.track.stop();
      const track = new BridgeVideoTrack(
        {
          attach: (canvas) => this._attachPreview(track, canvas),
          detach: () => this._detachPreview(track),
        },
        'self view',
      );
      this._preview = { real, track, on: false };
      this._post({ t: 'preview', canvas: null }, [], 'video');
      this._updateCapture();
    }
    return new BridgeMediaStream([...stream.getAudioTracks(), this._preview.track]);
  }

  /**
   * @param {BridgeVideoTrack} track
   * @param {HTMLCanvasElement} canvas
   */
  _attachPreview(track, canvas) {
    const p = this._preview;
    if (this.closed || p?.track !== track) return;
    try {
      const off = canvas.transferControlToOffscreen();
      this._post({ t: 'preview', canvas: off }, [off], 'video');
      p.on = true;
      this._updateCapture();
      this.capture.schedule();
    } catch (e) {
      this.log('cannot hand the self view canvas to the worker', /** @type {any} */ (e)?.message ?? e);
    }
  }

  /** @param {BridgeVideoTrack} track */
  _detachPreview(track) {
    const p = this._preview;
    if (this.closed || p?.track !== track) return;
    p.on = false;
    this._post({ t: 'preview', canvas: null }, [], 'video');
    this._updateCapture();
  }

  /**
   * The remote video of transceiver `tid` on `pc` (the same object each time).
   * @param {number} pc
   * @param {number} tid
   * @returns {BridgeVideoTrack}
   */
  remoteVideoTrack(pc, tid) {
    const key = `${pc}:${tid}`;
    let track = this._videoTracks.get(key);
    if (track && track.readyState === 'live') return track;
    const t = new BridgeVideoTrack({
      attach: (canvas) => {
        if (this.closed) return;
        try {
          const off = canvas.transferControlToOffscreen();
          this._post({ t: 'attach', key, canvas: off }, [off], 'video');
        } catch (e) {
          this.log('cannot hand the tile canvas to the worker', /** @type {any} */ (e)?.message ?? e);
        }
      },
      detach: () => this._post({ t: 'detach', key }, [], 'video'),
    });
    track = t;
    this._videoTracks.set(key, t);
    this._post({ t: 'remote', key, pc, tid, kind: 'video' }, [], 'video');
    return t;
  }

  /**
   * The remote audio of transceiver `tid` on `pc`: a real MediaStreamTrack (the same
   * object each time).
   * @param {number} pc
   * @param {number} tid
   * @returns {MediaStreamTrack}
   */
  remoteAudioTrack(pc, tid) {
    return this.audio.remoteTrack(pc, tid);
  }

  /**
   * A peer connection closed: its decoders go, its sounds leave the mixer, its tracks
   * end.
   * @param {number} pc
   */
  closeRemote(pc) {
    for (const [key, t] of [...this._videoTracks]) {
      if (key.startsWith(`${pc}:`)) {
        this._videoTracks.delete(key);
        t._end();
      }
    }
    this.audio.closeRemote(pc);
    for (const role of /** @type {const} */ (['audio', 'video'])) {
      this._remoteStats[role] = this._remoteStats[role].filter((r) => r.pc !== pc);
      this._post({ t: 'close-remote', pc }, [], role);
    }
  }

  /**
   * Figures for the UI and the benchmark.
   * `remote` is the worker's last report (once a second), counted at `remoteAt`.
   * @returns {{sent: {video: {frames: number, keyframes: number, fps: number, width: number, height: number, encodeMs: number | null, previewMs: number | null, captureMs: number | null, dropped: number}, audio: {frames: number, captureGapMs: GapFigures | null, sendGapMs: GapFigures | null}}, remote: RemoteStats[], remoteAt: number, droppedBeforeWorker: {audio: number, video: number}}}
   */
  stats() {
    const v = this.sent.video;
    return {
      sent: {
        video: {
          frames: v.frames,
          keyframes: v.keyframes,
          fps: v.rate.fps,
          width: v.width,
          height: v.height,
          encodeMs: this._workerVideo.encodeMs,
          previewMs: this._workerVideo.previewMs,
          captureMs: this.capture.captureMs,
          dropped: this._workerVideo.dropped,
        },
        audio: { frames: this.sent.audio.frames, captureGapMs: this._workerAudio.captureGapMs, sendGapMs: gapFigures(this._audioSendGaps) },
      },
      remote: [...this._remoteStats.video, ...this._remoteStats.audio].map((r) => {
        const playback = r.kind === 'audio' ? this.audio.playbackOf(r.pc, r.transceiver) : null;
        return playback ? { ...r, ...playback } : { ...r };
      }),
      remoteAt: this._remoteAt,
      droppedBeforeWorker: { audio: this._remoteQueue.audio.dropped, video: this._remoteQueue.video.dropped },
    };
  }

  /** The benchmark's figures (encode, decode+paint, capture ms; latency samples) start over. */
  resetFigures() {
    this._audioSendGaps = [];
    this.capture.resetFigures();
    this._post({ t: 'reset-figures' }, [], 'audio');
    this._post({ t: 'reset-figures' }, [], 'video');
  }

  /**
   * The speaking meter's level of `track` (`LevelMonitor`'s `tap`), measured in the
   * audio graph's one AudioContext ({@link AudioGraph.levelOf}).
   * @param {MediaStreamTrack} track
   * @returns {import('../audio-level.js').LevelTap | null}
   */
  levelOf(track) {
    return this.audio.levelOf(track);
  }

  /** Lets sound run after a click (autoplay rules). */
  resume() {
    this.audio.resume();
  }

  /** What is still running (tests check that close leaves nothing). */
  liveness() {
    return {
      worker: !!this.workers,
      housekeeping: !!this._housekeeping,
      ...this.capture.liveness(),
      ...this.audio.liveness(),
      remoteVideo: this._videoTracks.size,
    };
  }

  /** Everything stops: capture, worker, audio; remote tracks end. */
  close() {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this._housekeeping);
    this._housekeeping = 0;
    this._preview?.track.stop();
    this._preview = null;
    this.capture.close();
    for (const t of this._videoTracks.values()) t._end();
    this._videoTracks.clear();
    this.audio.close();
    for (const w of Object.values(this.workers ?? {})) {
      w.postMessage({ t: 'close' });
      w.terminate();
      w.onmessage = null;
    }
    this.workers = null;
    this._remoteStats = { audio: [], video: [] };
    const g = /** @type {any} */ (globalThis);
    if (g.__lanmeetBridgeMedia === this) g.__lanmeetBridgeMedia = null;
  }

  // ---- internals ----

  /**
   * @param {any} msg
   * @param {Transferable[]} transfer
   * @param {'audio' | 'video'} role which worker
   */
  _post(msg, transfer, role) {
    this.workers?.[role].postMessage(msg, transfer);
  }

  /**
   * @param {any} m
   * @param {'audio' | 'video'} role the worker it came from
   */
  _onWorker(m, role) {
    if (this.closed) return;
    switch (m?.t) {
      case 'out': {
        const kind = /** @type {'audio' | 'video'} */ (m.kind);
        // A sender that stopped meanwhile: nothing more goes out.
        if (!this.sending[kind]) return;
        // The window bench's --no-sound: the video alone, so Chromium has no sound to
        // hold it in step with (what the video path costs by itself).
        if (kind === 'audio' && /** @type {any} */ (globalThis).__lanmeetBenchNoSound) return;
        if (kind === 'video') {
          const v = this.sent.video;
          v.frames++;
          if (m.keyframe) v.keyframes++;
          v.width = m.width;
          v.height = m.height;
          v.rate.mark();
        } else {
          this.sent.audio.frames++;
          // How evenly sound leaves the page (its worker's frames wait for this thread).
          const at = performance.now();
          if (this._audioSentAt && this._audioSendGaps.length < 500) this._audioSendGaps.push(at - this._audioSentAt);
          this._audioSentAt = at;
        }
        try {
          this.deps.sendFrame(m.buf);
        } catch (e) {
          this.log('sendFrame failed', /** @type {any} */ (e)?.message ?? e);
        }
        break;
      }
      case 'taken':
        this._remoteQueue[role].taken = m.n;
        break;
      case 'ack':
        this.capture.taken();
        break;
      case 'request-keyframe':
        this.mark(`keyframe asked ${m.pc}`);
        Promise.resolve()
          .then(() => this.deps.requestKeyframe(m.pc))
          .catch((e) => this.log('requestKeyframe failed', e?.message ?? e));
        break;
      case 'size': {
        const t = this._paintedTrack(m.key);
        if (m.key !== 'preview' && !t?.getSettings().width) this.mark(`decoded ${m.key}`);
        t?._frame(m.width, m.height, false);
        break;
      }
      case 'painted': {
        const t = this._paintedTrack(m.key);
        if (t) {
          const s = t.getSettings();
          t._frame(s.width ?? 0, s.height ?? 0, true);
          t.dispatchEvent(new Event('firstframe'));
        }
        break;
      }
      case 'stats':
        this._remoteStats[role] = m.remote;
        if (role === 'video') {
          this._remoteAt = m.at;
          this._workerVideo = m.video;
        }
        if (role === 'audio' && m.audio) this._workerAudio = m.audio;
        for (const r of m.remote) {
          const t = r.kind === 'video' ? this._videoTracks.get(`${r.pc}:${r.transceiver}`) : null;
          if (t) t.framesPainted = r.framesPainted;
        }
        break;
      case 'log':
        this.log('worker:', m.m);
        break;
      default:
        break;
    }
  }

  /**
   * @param {string} key the worker's name for a picture it paints
   * @returns {BridgeVideoTrack | undefined} the self view's track, or a remote video's
   */
  _paintedTrack(key) {
    return key === 'preview' ? this._preview?.track : this._videoTracks.get(key);
  }

  _fps() {
    const f = this.encoding.maxFramerate;
    return typeof f === 'number' && f > 0 ? Math.min(f, DEFAULT_FPS) : DEFAULT_FPS;
  }

  _tick() {
    const stamp = !!(/** @type {any} */ (globalThis).__lanmeetBenchStamp);
    if (stamp !== this._stamp) {
      this._stamp = stamp;
      this._post({ t: 'stamp', on: stamp }, [], 'video');
    }
    // A captured track that ended without a replacement gives way to the self view's.
    this._updateCapture();
    this.capture.schedule();
  }

  /** @returns {boolean} whether the captured frames go to the encoder (a sender sends them) */
  _sendsCaptured() {
    const captured = this.capture.track;
    return this.sending.video && !!captured && this.local.video === captured;
  }

  /** @returns {boolean} whether the captured frames are the self tile's picture */
  _previewsCaptured() {
    const captured = this.capture.track;
    return !!this._preview?.on && !!captured && this._preview.real === captured;
  }

  /**
   * Plays what should be captured: the senders' track, else (in the lobby, or with no
   * one to send to) the camera the self tile shows.
   */
  _updateCapture() {
    /** @param {MediaStreamTrack | null | undefined} t */
    const live = (t) => (t && t.readyState === 'live' ? t : null);
    this.capture.setTrack(live(this.local.video) ?? (this._preview?.on ? live(this._preview.real) : null));
  }
}
