// @ts-check
/**
 * The sound side of a bridged page's media engine (media-engine.js), in ONE
 * AudioContext (48 kHz):
 *
 * - the microphone: its source node feeds the capture worklet
 *   (audio-capture-worklet.js), which posts 20 ms frames straight to the audio worker;
 * - the others' sound: every person mixed by one playback worklet
 *   (audio-playback-worklet.js) fed by the audio worker's decoders, with a gain per
 *   person for the tile's "mute on this device";
 * - the speaking meters ({@link AudioGraph.levelOf}): the others' levels as the mixer
 *   reports them, the microphone's from an analyser on the source node the capture
 *   already uses (each source node is a consumer of the track in WebKit).
 *
 * Why one context: WebKitGTK plays each MediaStream `<audio>` through a media pipeline
 * of its own, and a second AudioContext for the meters cost 57 ms of a launch into a
 * call (README, "The window in a call").
 */
import { analyserLevel } from '../audio-level.js';

/** A remote level older than this reads as silence (the mixer reports every ~100 ms). */
const STALE_LEVEL_MS = 300;

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
 * @typedef {object} AudioGraphDeps
 * @property {(msg: any, transfer: Transferable[]) => void} post to the audio worker
 * @property {(...m: unknown[]) => void} log
 * @property {Document} [document] where a click lets a suspended context run (default: the page's)
 */

export class AudioGraph {
  /** @param {AudioGraphDeps} deps */
  constructor(deps) {
    this.deps = deps;
    this.closed = false;
    /** @type {AudioContext | null} */
    this.ctx = null;
    /** @type {Promise<boolean> | null} the worklet modules loaded (false: they could not be) */
    this._worklets = null;
    /** The track the capture worklet is fed from. @type {MediaStreamTrack | null} */
    this._micTrack = null;
    /** @type {AudioWorkletNode | null} */
    this._micNode = null;
    /** @type {GainNode | null} */
    this._micSink = null;
    this._micGen = 0;
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
     * the speaking meter.
     * @type {Map<MediaStreamTrack, {node: MediaStreamAudioSourceNode, users: number}>}
     */
    this._sources = new Map();
    /** @type {(() => void) | null} resumes the AudioContext on a click, while it waits for one */
    this._gesture = null;
  }

  /**
   * The remote audio of transceiver `tid` on `pc`: a real MediaStreamTrack (the same
   * object each time).
   * @param {number} pc
   * @param {number} tid
   * @returns {MediaStreamTrack}
   */
  remoteTrack(pc, tid) {
    const key = `${pc}:${tid}`;
    const have = this._audio.get(key);
    if (have && have.track.readyState === 'live') return have.track;
    const ctx = this.context();
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
      this.deps.post({ t: 'remote', key, pc, tid, kind: 'audio', port: ch.port2 }, [ch.port2]);
    });
    return track;
  }

  /**
   * A peer connection closed: its sounds leave the mixer, their tracks end.
   * @param {number} pc
   */
  closeRemote(pc) {
    for (const [key, a] of [...this._audio]) {
      if (a.pc === pc) this._dropAudio(key, a);
    }
  }

  /**
   * The mixer's figures of a remote sound, and whether it is muted on this device.
   * @param {number} pc
   * @param {number} tid
   * @returns {(NonNullable<RemoteAudio['playback']> & {localMuted: boolean}) | null} null before the mixer's first report
   */
  playbackOf(pc, tid) {
    const a = this._audio.get(`${pc}:${tid}`);
    return a?.playback ? { ...a.playback, localMuted: a.muted } : null;
  }

  /**
   * The speaking meter's level of `track`, measured in this AudioContext, so a bridged
   * page runs one AudioContext, not a second one for its meters (`LevelMonitor`'s
   * `tap`). A remote sound's level comes from the mixer: RMS of what it played over
   * the last ~100 ms, 0 once the mixer has not reported for {@link STALE_LEVEL_MS}. A
   * local microphone's comes from an AnalyserNode on the source node the capture uses
   * too. Null once closed.
   * @param {MediaStreamTrack} track
   * @returns {import('../audio-level.js').LevelTap | null}
   */
  levelOf(track) {
    const playback = /** @type {any} */ (track).__bridgePlayback;
    if (playback?.level) return { read: () => playback.level(), close: () => {} };
    if (this.closed || track.kind !== 'audio') return null;
    const analyser = this.context().createAnalyser();
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
      audioContext: this.ctx ? this.ctx.state : null,
      gestureListener: !!this._gesture,
      micNode: !!this._micNode,
      mixer: !!this._mixer,
      sources: this._sources.size,
      remoteAudio: this._audio.size,
    };
  }

  /** Everything stops: the microphone's capture, the mixer, the context; remote tracks end. */
  close() {
    if (this.closed) return;
    this._resumeOnGesture(false);
    this.setMic(null);
    this.closed = true;
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
    this.ctx?.close().catch(() => {});
  }

  /** @returns {AudioContext} */
  context() {
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
   * Feeds the capture worklet from `track` (null: no microphone).
   * @param {MediaStreamTrack | null} track
   */
  setMic(track) {
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
    const ctx = this.context();
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
      this.deps.post({ t: 'audio-port', port: ch.port2 }, [ch.port2]);
      this._micTrack = track;
      this._micNode = node;
      this._micSink = sink;
    });
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
      const ctx = this.context();
      this._worklets = Promise.all([
        ctx.audioWorklet.addModule(new URL('./audio-capture-worklet.js', import.meta.url).href),
        ctx.audioWorklet.addModule(new URL('./audio-playback-worklet.js', import.meta.url).href),
      ]).then(
        () => true,
        (e) => {
          this.deps.log('audio worklets did not load', e?.message ?? e);
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
        const ctx = this.context();
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
   * The source node of local `track` in the AudioContext, one per track whoever uses
   * it; each use is given back with {@link _unuseSource}.
   * @param {MediaStreamTrack} track
   * @returns {MediaStreamAudioSourceNode}
   */
  _useSource(track) {
    let s = this._sources.get(track);
    if (!s) {
      s = { node: this.context().createMediaStreamSource(new MediaStream([track])), users: 0 };
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
