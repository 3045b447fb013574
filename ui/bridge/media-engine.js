// @ts-check
/**
 * `BridgeMedia`: the page side of the bridge's media (the contract is
 * docs/BRIDGE.md, "The page side"). The shim calls it; it owns:
 *
 * - capture: ONE path for every engine (WebKitGTK's, WEBKITGTK.md bug 1): the camera track
 *   plays in a hidden muted `<video>`; at the frame rate its picture is copied into a
 *   buffer (`new VideoFrame(video).copyTo`, or where that fails drawn into a canvas and
 *   read back) → the media worker → a buffer-backed VideoFrame → VP8. The microphone goes through an AudioContext
 *   (48 kHz) into the capture worklet, which posts 20 ms frames straight to the worker.
 * - the media worker (media-worker.js): encoders, per-remote decoders, painting.
 * - remote tracks: a {@link BridgeVideoTrack} per remote video (painted into its tile's
 *   canvas by the worker) and, per remote audio, a REAL (silent) track the UI shows;
 *   the sound itself plays in this engine's AudioContext, every person mixed by one
 *   playback worklet (audio-playback-worklet.js), which also measures their levels for
 *   the speaking meter ({@link BridgeMedia.levelOf}).
 *
 * Bounded everywhere: a camera frame is taken only when the worker has taken the
 * previous ones (at most {@link MAX_FRAMES_IN_FLIGHT}); the worker bounds the rest.
 */
import { BridgeVideoTrack, BridgeMediaStream } from './media-stream.js';
import { gapFigures, nowUs } from './frames.js';
import { analyserLevel } from '../audio-level.js';

/** @typedef {{p50: number, p95: number, max: number, n: number}} GapFigures */

export { BridgeMediaStream, BridgeVideoTrack };

/** Camera frames handed to the worker and not yet taken by it. */
const MAX_FRAMES_IN_FLIGHT = 2;
/** Remote frames handed to a worker and not yet taken by it (~4 s of 8 people's audio and video). */
const MAX_REMOTE_QUEUED = 512;
/** How often the engine checks what the page cannot be told by events (track.enabled). */
const HOUSEKEEPING_MS = 250;
const DEFAULT_FPS = 30;
/** A remote level older than this reads as silence (the mixer reports every ~100 ms). */
const STALE_LEVEL_MS = 300;

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
 * @typedef {object} RemoteAudio
 * @property {MediaStreamTrack} track what the UI got (silent; the mixer plays the sound)
 * @property {number} pc
 * @property {boolean} muted muted on this device (the mixer's gain for it is 0)
 * @property {number} level the mixer's last level of it (RMS, 0..1)
 * @property {number} levelAt when that came (performance.now())
 * @property {{underruns: number, droppedMs: number, bufferedMs: number, targetMs: number, peak: number, heardPeak: number} | null} playback
 *   the mixer's last figures
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

/**
 * Rounds a size down to even (I420 halves it) and to at least 2.
 * @param {number} n
 */
function even(n) {
  return Math.max(2, Math.floor(n / 2) * 2);
}

/**
 * `VideoFrame.copyTo`'s plane layouts as plain objects (they go to the worker).
 * @param {ReadonlyArray<{offset: number, stride: number}>} layout
 */
function plainLayout(layout) {
  return layout.map((p) => ({ offset: p.offset, stride: p.stride }));
}

/**
 * The size the camera is encoded at: the track's size scaled down by the largest
 * `scaleResolutionDownBy` any peer needs (the smallest factor: one encoding for all).
 * @param {number} w the camera's width
 * @param {number} h
 * @param {number | undefined} scale
 * @returns {{width: number, height: number}}
 */
export function encodeSize(w, h, scale) {
  const s = typeof scale === 'number' && scale >= 1 ? scale : 1;
  return { width: even(w / s), height: even(h / s) };
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

    /** @type {AudioContext | null} */
    this.ctx = null;
    /** @type {Promise<boolean> | null} the worklet modules loaded (false: they could not be) */
    this._worklets = null;

    /** @type {{audio: MediaStreamTrack | null, video: MediaStreamTrack | null}} */
    this.local = { audio: null, video: null };
    this.sending = { audio: false, video: false };
    /** @type {VideoEncoding} */
    this.encoding = {};

    // Camera capture.
    /** @type {HTMLVideoElement | null} */
    this._video = null;
    /** @type {HTMLCanvasElement | OffscreenCanvas | null} */
    this._canvas = null;
    /** @type {CanvasRenderingContext2D | OffscreenCanvasRenderingContext2D | null} */
    this._ctx2d = null;
    this._captureTimer = 0;
    this._nextCapture = 0;
    this._inFlight = 0;
    this._wantKey = false;
    /** Whether camera frames are copied from `new VideoFrame(video)` (else drawn into a canvas). */
    this._frameCopy = true;
    this._stamp = false;
    this._captureMsSum = 0;
    this._captureN = 0;
    /** The track the hidden `<video>` plays (what is sent, else the self tile's camera). @type {MediaStreamTrack | null} */
    this._captured = null;
    /**
     * The self tile's picture: `real` is the camera track it shows, `track` the canvas
     * track the tile paints instead (see {@link previewStream}); `on` once it has a canvas.
     * @type {{real: MediaStreamTrack, track: BridgeVideoTrack, on: boolean} | null}
     */
    this._preview = null;

    // Microphone capture.
    /** The track the capture worklet is fed from. @type {MediaStreamTrack | null} */
    this._micTrack = null;
    /** @type {AudioWorkletNode | null} */
    this._micNode = null;
    /** @type {GainNode | null} */
    this._micSink = null;
    this._micGen = 0;

    /** @type {Map<string, BridgeVideoTrack>} */
    this._videoTracks = new Map();
    /**
     * Remote sounds by `pc:tid`: the track the UI got, whether the tile muted it on this
     * device, its level and playback figures as the mixer last reported them.
     * @type {Map<string, RemoteAudio>}
     */
    this._audio = new Map();
    /** The playback worklet node mixing every remote sound (made once the worklets load). @type {AudioWorkletNode | null} */
    this._mixer = null;
    /** @type {Promise<AudioWorkletNode | null> | null} */
    this._mixerReady = null;
    /** The silent source every remote audio track is a clone of. @type {MediaStreamAudioDestinationNode | null} */
    this._silence = null;
    /**
     * One MediaStreamAudioSourceNode per local track, shared by the capture worklet and
     * the speaking meter (each source node is a consumer of the track in WebKit).
     * @type {Map<MediaStreamTrack, {node: MediaStreamAudioSourceNode, users: number}>}
     */
    this._sources = new Map();

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

    /** @type {(() => void) | null} resumes the AudioContext on a click, while it waits for one */
    this._gesture = null;
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
      this._wantKey = true;
    } else {
      this._setMicTrack(track);
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
      this._wantKey = true;
      this._scheduleCapture();
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
    this._wantKey = true;
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
      this._scheduleCapture();
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
    const key = `${pc}:${tid}`;
    const have = this._audio.get(key);
    if (have && have.track.readyState === 'live') return have.track;
    const ctx = this._audioContext();
    // The sound plays here, in the engine's AudioContext, not through the tile's
    // `<audio>` element: WebKitGTK plays each MediaStream `<audio>` through a media
    // pipeline of its own. Measured (`scripts/desktop-bench-call --probes`, alternating
    // runs): a debug window in a call of 4, the web process 107-124% of a core through
    // `<audio>` elements, 71-81% this way. Every person is mixed by one worklet node,
    // which also measures their levels: the track carries no sound (a clone of one
    // silent destination), so nothing taps it. `__bridgePlayback` tells the UI to leave
    // it out of the `<audio>` element, lets the tile's "mute on this device" reach the
    // mixer and gives the speaking meter the level ({@link levelOf}).
    this._silence ??= ctx.createMediaStreamDestination();
    const track = this._silence.stream.getAudioTracks()[0].clone();
    /** @type {RemoteAudio} */
    const entry = { track, pc, muted: false, level: 0, levelAt: 0, playback: null };
    Object.defineProperty(track, '__bridgePlayback', {
      value: {
        /** @param {boolean} muted */
        setMuted: (muted) => {
          entry.muted = muted;
          this._mixer?.port.postMessage({ gain: key, value: muted ? 0 : 1 });
        },
        muted: () => entry.muted,
        // A stopped or suspended AudioContext reports nothing: the last level is not kept.
        level: () => (performance.now() - entry.levelAt < STALE_LEVEL_MS ? entry.level : 0),
      },
    });
    this._audio.set(key, entry);
    this._loadMixer().then((mixer) => {
      if (!mixer || this.closed || this._audio.get(key) !== entry) return;
      const ch = new MessageChannel();
      mixer.port.postMessage({ add: key, port: ch.port1 }, [ch.port1]);
      if (entry.muted) mixer.port.postMessage({ gain: key, value: 0 });
      this._post({ t: 'remote', key, pc, tid, kind: 'audio', port: ch.port2 }, [ch.port2], 'audio');
    });
    return track;
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
    for (const [key, a] of [...this._audio]) {
      if (a.pc === pc) this._dropAudio(key, a);
    }
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
          captureMs: this._captureN ? this._captureMsSum / this._captureN : null,
          dropped: this._workerVideo.dropped,
        },
        audio: { frames: this.sent.audio.frames, captureGapMs: this._workerAudio.captureGapMs, sendGapMs: gapFigures(this._audioSendGaps) },
      },
      remote: [...this._remoteStats.video, ...this._remoteStats.audio].map((r) => {
        const a = r.kind === 'audio' ? this._audio.get(`${r.pc}:${r.transceiver}`) : null;
        return a?.playback ? { ...r, ...a.playback, localMuted: a.muted } : { ...r };
      }),
      remoteAt: this._remoteAt,
      droppedBeforeWorker: { audio: this._remoteQueue.audio.dropped, video: this._remoteQueue.video.dropped },
    };
  }

  /** The benchmark's figures (encode, decode+paint, capture ms; latency samples) start over. */
  resetFigures() {
    this._audioSendGaps = [];
    this._captureMsSum = 0;
    this._captureN = 0;
    this._post({ t: 'reset-figures' }, [], 'audio');
    this._post({ t: 'reset-figures' }, [], 'video');
  }

  /**
   * The speaking meter's level of `track`, measured in this engine's AudioContext, so
   * a bridged page runs one AudioContext, not a second one for its meters
   * (`LevelMonitor`'s `tap`). A remote sound's level comes from the mixer: RMS of what
   * it played over the last ~100 ms (a mean where an analyser gives a ~10 ms snapshot:
   * the same for speech, and a short sound is not missed between two readings), 0 once
   * the mixer has not reported for {@link STALE_LEVEL_MS}. A local microphone's comes
   * from an AnalyserNode on the source node the capture uses too. Null once closed.
   * @param {MediaStreamTrack} track
   * @returns {import('../audio-level.js').LevelTap | null}
   */
  levelOf(track) {
    const playback = /** @type {any} */ (track).__bridgePlayback;
    if (playback?.level) return { read: () => playback.level(), close: () => {} };
    if (this.closed || track.kind !== 'audio') return null;
    const analyser = this._audioContext().createAnalyser();
    this._useSource(track).connect(analyser);
    return analyserLevel(analyser, () => this._unuseSource(track, analyser));
  }

  /** Lets sound run after a click (autoplay rules). */
  resume() {
    if (this.ctx && this.ctx.state === 'suspended') this.ctx.resume().catch(() => {});
  }

  /** What is still running (tests check that close leaves nothing). */
  liveness() {
    return {
      worker: !!this.workers,
      audioContext: this.ctx ? this.ctx.state : null,
      housekeeping: !!this._housekeeping,
      gestureListener: !!this._gesture,
      capture: !!this._captureTimer,
      captureVideo: !!this._video,
      micNode: !!this._micNode,
      mixer: !!this._mixer,
      sources: this._sources.size,
      remoteVideo: this._videoTracks.size,
      remoteAudio: this._audio.size,
    };
  }

  /** Everything stops: capture, worker, audio; remote tracks end. */
  close() {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this._housekeeping);
    this._housekeeping = 0;
    this._resumeOnGesture(false);
    this._preview?.track.stop();
    this._preview = null;
    this._setCameraTrack(null);
    this._setMicTrack(null);
    for (const t of this._videoTracks.values()) t._end();
    this._videoTracks.clear();
    for (const [key, a] of [...this._audio]) this._dropAudio(key, a);
    if (this._mixer) {
      this._mixer.port.postMessage({ stop: true });
      this._mixer.port.onmessage = null;
      this._mixer.port.close();
      this._mixer.disconnect();
      this._mixer = null;
    }
    for (const t of this._silence?.stream.getTracks() ?? []) t.stop();
    this._silence?.disconnect();
    this._silence = null;
    for (const s of this._sources.values()) s.node.disconnect();
    this._sources.clear();
    for (const w of Object.values(this.workers ?? {})) {
      w.postMessage({ t: 'close' });
      w.terminate();
      w.onmessage = null;
    }
    this.workers = null;
    this.ctx?.close().catch(() => {});
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
        this._inFlight = Math.max(0, this._inFlight - 1);
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
    this._scheduleCapture();
  }

  /** @returns {boolean} whether camera frames should be taken now */
  _wantVideo() {
    const t = this._captured;
    return !this.closed && !!t && t.readyState === 'live' && t.enabled && !!this._video && (this._sendsCaptured() || this._previewsCaptured());
  }

  /** @returns {boolean} whether the captured frames go to the encoder (a sender sends them) */
  _sendsCaptured() {
    return this.sending.video && !!this._captured && this.local.video === this._captured;
  }

  /** @returns {boolean} whether the captured frames are the self tile's picture */
  _previewsCaptured() {
    return !!this._preview?.on && !!this._captured && this._preview.real === this._captured;
  }

  /**
   * Plays what should be captured: the senders' track, else (in the lobby, or with no
   * one to send to) the camera the self tile shows.
   */
  _updateCapture() {
    /** @param {MediaStreamTrack | null | undefined} t */
    const live = (t) => (t && t.readyState === 'live' ? t : null);
    const want = live(this.local.video) ?? (this._preview?.on ? live(this._preview.real) : null);
    if (want === this._captured) return;
    this._captured = want;
    this._setCameraTrack(want);
  }

  /** @param {MediaStreamTrack | null} track */
  _setCameraTrack(track) {
    if (this._captureTimer) clearTimeout(this._captureTimer);
    this._captureTimer = 0;
    if (!track) {
      if (this._video) {
        this._video.pause();
        this._video.srcObject = null;
        this._video.remove();
      }
      this._video = null;
      this._canvas = null;
      this._ctx2d = null;
      return;
    }
    const doc = this.deps.document ?? globalThis.document;
    if (!this._video) {
      const v = doc.createElement('video');
      v.muted = true;
      v.playsInline = true;
      v.autoplay = true;
      v.setAttribute('aria-hidden', 'true');
      // In the document (a detached element may not advance in every engine), not seen.
      v.style.cssText = 'position:fixed;left:0;top:0;width:2px;height:2px;opacity:0;pointer-events:none;z-index:-1';
      doc.body.append(v);
      this._video = v;
    }
    this._video.srcObject = new MediaStream([track]);
    this._video.play().catch((e) => this.log('capture video does not play', e?.message ?? e));
    this._scheduleCapture();
  }

  _scheduleCapture() {
    if (this._captureTimer || !this._wantVideo()) return;
    // (Re)starting after a pause (camera off, no sender): begin with a keyframe.
    this._wantKey = true;
    this._nextCapture = performance.now();
    this._captureTimer = /** @type {any} */ (setTimeout(() => this._capture(), 0));
  }

  /** Takes one camera frame (if the worker keeps up) and schedules the next. */
  _capture() {
    this._captureTimer = 0;
    if (!this._wantVideo()) return;
    const v = /** @type {HTMLVideoElement} */ (this._video);
    if (v.readyState >= 2 && v.videoWidth > 0 && this._inFlight < MAX_FRAMES_IN_FLIGHT) {
      try {
        this._grab(v);
      } catch (e) {
        this.log('camera frame not taken', /** @type {any} */ (e)?.message ?? e);
      }
    }
    const interval = 1000 / this._fps();
    const now = performance.now();
    this._nextCapture += interval;
    // Behind by more than a frame (a busy page): start the rhythm again from now.
    if (this._nextCapture < now - interval) this._nextCapture = now;
    this._captureTimer = /** @type {any} */ (setTimeout(() => this._capture(), Math.max(0, this._nextCapture - now)));
  }

  /**
   * Takes the camera's current picture. First choice (fast in WebKitGTK and Chromium):
   * `new VideoFrame(video)` copied into a buffer (WebKitGTK cannot encode the frame
   * itself, WEBKITGTK.md bug 1; the copy is ~1 ms at 640x360); the worker scales it if
   * needed and encodes a buffer-backed frame. Where that fails (an engine without it, a
   * GPU frame that cannot be copied), the picture is drawn into a canvas and read back
   * (`getImageData`: ~33 ms at 640x360 in WebKitGTK, hence not the first choice).
   * @param {HTMLVideoElement} v
   */
  _grab(v) {
    const t0 = performance.now();
    const capture = nowUs();
    const ts = Math.round(t0 * 1000);
    const { width: tw, height: th } = encodeSize(v.videoWidth, v.videoHeight, this.encoding.scaleResolutionDownBy);
    if (this._wantKey) {
      this._wantKey = false;
      this._post({ t: 'keyframe' }, [], 'video');
    }
    if (this._frameCopy && typeof VideoFrame === 'function') {
      /** @type {VideoFrame | null} */
      let frame = null;
      try {
        frame = new VideoFrame(v, { timestamp: ts });
      } catch (e) {
        this._frameCopy = false;
        this.log('camera frames cannot be copied, drawing them instead:', /** @type {any} */ (e)?.message ?? e);
      }
      if (frame) {
        const f = frame;
        const w = f.visibleRect?.width ?? f.codedWidth;
        const h = f.visibleRect?.height ?? f.codedHeight;
        const buf = new ArrayBuffer(f.allocationSize());
        this._inFlight++;
        f.copyTo(buf).then(
          (layout) => {
            const format = f.format;
            f.close();
            if (this.closed) return;
            this._post(
              {
                t: 'video',
                data: buf,
                format,
                layout: plainLayout(layout),
                width: w,
                height: h,
                tw: Math.min(tw, even(w)),
                th: Math.min(th, even(h)),
                ts,
                capture,
                preview: this._previewsCaptured(),
                encode: this._sendsCaptured(),
              },
              [buf],
              'video',
            );
            this._captureMsSum += performance.now() - t0;
            this._captureN++;
          },
          (e) => {
            f.close();
            this._inFlight = Math.max(0, this._inFlight - 1);
            this._frameCopy = false;
            this.log('camera frames cannot be copied, drawing them instead:', e?.message ?? e);
          },
        );
        return;
      }
    }
    if (!this._canvas || this._canvas.width !== tw || this._canvas.height !== th) {
      const doc = this.deps.document ?? globalThis.document;
      this._canvas = typeof OffscreenCanvas === 'function' ? new OffscreenCanvas(tw, th) : doc.createElement('canvas');
      this._canvas.width = tw;
      this._canvas.height = th;
      this._ctx2d = /** @type {any} */ (this._canvas.getContext('2d', { willReadFrequently: true }));
    }
    const ctx = this._ctx2d;
    if (!ctx) return;
    ctx.drawImage(v, 0, 0, tw, th);
    const img = ctx.getImageData(0, 0, tw, th);
    this._inFlight++;
    this._post(
      {
        t: 'video',
        data: img.data.buffer,
        format: 'RGBA',
        layout: [{ offset: 0, stride: tw * 4 }],
        width: tw,
        height: th,
        tw,
        th,
        ts,
        capture,
        preview: this._previewsCaptured(),
        encode: this._sendsCaptured(),
      },
      [img.data.buffer],
      'video',
    );
    this._captureMsSum += performance.now() - t0;
    this._captureN++;
  }

  /** @returns {AudioContext} */
  _audioContext() {
    if (!this.ctx) {
      const AC = globalThis.AudioContext ?? /** @type {any} */ (globalThis).webkitAudioContext;
      this.ctx = /** @type {AudioContext} */ (new AC({ sampleRate: 48000, latencyHint: 'interactive' }));
      // Made before any click (autoplay rules): it runs from the person's next one.
      const ctx = this.ctx;
      if (ctx.state === 'suspended') this._resumeOnGesture(true);
      ctx.addEventListener('statechange', () => {
        if (ctx.state !== 'suspended') this._resumeOnGesture(false);
      });
    }
    return this.ctx;
  }

  /**
   * Listens (or stops listening) for the person's next click or key, which lets a
   * suspended AudioContext run.
   * @param {boolean} on
   */
  _resumeOnGesture(on) {
    const doc = this.deps.document ?? globalThis.document;
    if (!doc) return;
    if (on && !this._gesture) {
      this._gesture = () => {
        this.resume();
        this._resumeOnGesture(false);
      };
      for (const type of ['pointerdown', 'keydown']) doc.addEventListener(type, this._gesture, true);
    } else if (!on && this._gesture) {
      for (const type of ['pointerdown', 'keydown']) doc.removeEventListener(type, this._gesture, true);
      this._gesture = null;
    }
  }

  /** @returns {Promise<boolean>} */
  _loadWorklets() {
    if (!this._worklets) {
      const ctx = this._audioContext();
      this._worklets = Promise.all([
        ctx.audioWorklet.addModule(new URL('./audio-capture-worklet.js', import.meta.url).href),
        ctx.audioWorklet.addModule(new URL('./audio-playback-worklet.js', import.meta.url).href),
      ]).then(
        () => true,
        (e) => {
          this.log('audio worklets did not load', e?.message ?? e);
          return false;
        },
      );
    }
    return this._worklets;
  }

  /**
   * The playback worklet node that mixes every remote sound into the output, made once.
   * @returns {Promise<AudioWorkletNode | null>}
   */
  _loadMixer() {
    if (!this._mixerReady) {
      this._mixerReady = this._loadWorklets().then((ok) => {
        if (!ok || this.closed) return null;
        const ctx = this._audioContext();
        const node = new AudioWorkletNode(ctx, 'lanmeet-playback', { numberOfInputs: 0, numberOfOutputs: 1, outputChannelCount: [1] });
        node.connect(ctx.destination);
        node.port.onmessage = (ev) => this._onMixer(ev.data);
        this._mixer = node;
        return node;
      });
    }
    return this._mixerReady;
  }

  /**
   * The mixer's reports: levels ~10 times a second, playback figures once a second.
   * @param {any} d
   */
  _onMixer(d) {
    for (const [key, level] of Object.entries(d?.levels ?? {})) {
      const a = this._audio.get(key);
      if (a && typeof level === 'number') {
        a.level = level;
        a.levelAt = performance.now();
      }
    }
    for (const [key, figures] of Object.entries(d?.stats ?? {})) {
      const a = this._audio.get(key);
      if (a) a.playback = figures;
    }
  }

  /**
   * The source node of local `track` in the engine's AudioContext, one per track
   * whoever uses it; each use is given back with {@link _unuseSource}.
   * @param {MediaStreamTrack} track
   * @returns {MediaStreamAudioSourceNode}
   */
  _useSource(track) {
    let s = this._sources.get(track);
    if (!s) {
      s = { node: this._audioContext().createMediaStreamSource(new MediaStream([track])), users: 0 };
      this._sources.set(track, s);
    }
    s.users++;
    return s.node;
  }

  /**
   * @param {MediaStreamTrack} track
   * @param {AudioNode} from what this use connected the source to
   */
  _unuseSource(track, from) {
    const s = this._sources.get(track);
    if (!s) return;
    try {
      s.node.disconnect(from);
    } catch {
      // Not connected to `from` (any more): this use was given back already.
      return;
    }
    if (--s.users > 0) return;
    s.node.disconnect();
    this._sources.delete(track);
  }

  /** @param {MediaStreamTrack | null} track */
  _setMicTrack(track) {
    const gen = ++this._micGen;
    if (this._micNode) {
      if (this._micTrack) this._unuseSource(this._micTrack, this._micNode);
      this._micNode.port.postMessage({ stop: true });
      this._micNode.disconnect();
      this._micNode = null;
    }
    this._micTrack = null;
    this._micSink?.disconnect();
    this._micSink = null;
    if (!track || this.closed) return;
    const ctx = this._audioContext();
    this._loadWorklets().then((ok) => {
      if (!ok || gen !== this._micGen || this.closed) return;
      const node = new AudioWorkletNode(ctx, 'lanmeet-capture', { numberOfInputs: 1, numberOfOutputs: 1, outputChannelCount: [1] });
      const source = this._useSource(track);
      // The node runs only while pulled: into the destination through a silent gain.
      const sink = ctx.createGain();
      sink.gain.value = 0;
      source.connect(node);
      node.connect(sink);
      sink.connect(ctx.destination);
      const ch = new MessageChannel();
      node.port.postMessage({ port: ch.port1 }, [ch.port1]);
      this._post({ t: 'audio-port', port: ch.port2 }, [ch.port2], 'audio');
      this._micTrack = track;
      this._micNode = node;
      this._micSink = sink;
    });
  }

  /**
   * A remote sound goes: out of the mixer, its track ended.
   * @param {string} key
   * @param {RemoteAudio} a
   */
  _dropAudio(key, a) {
    if (this._audio.get(key) === a) {
      this._audio.delete(key);
      this._mixer?.port.postMessage({ remove: key });
    }
    a.track.stop();
  }
}
