// @ts-check
/**
 * Camera, microphone and screen: getting them with fallbacks, switching devices,
 * and telling who is speaking.
 *
 * Why fallbacks: a person without a camera, or who denied it, should still join with
 * what is there. We try audio+video, then audio only, then video only, and finally
 * join receive-only, and say which happened and why (denied, missing, busy).
 */

import { t } from './i18n.js';
import { analyserLevel } from './audio-level.js';

/**
 * @typedef {object} Acquired
 * @property {MediaStreamTrack | null} audio
 * @property {MediaStreamTrack | null} video
 * @property {'ok' | 'denied' | 'missing' | 'busy' | 'unsupported' | 'error'} [audioProblem]
 * @property {'ok' | 'denied' | 'missing' | 'busy' | 'unsupported' | 'error'} [videoProblem]
 */

/**
 * @typedef {object} DeviceChoice
 * @property {string} [audioDeviceId]
 * @property {string} [videoDeviceId]
 */

/**
 * Maps a getUserMedia error to what a person can act on.
 * @param {unknown} err
 * @returns {'denied' | 'missing' | 'busy' | 'unsupported' | 'error'}
 */
export function classifyMediaError(err) {
  const name = err && typeof err === 'object' && 'name' in err ? String(err.name) : '';
  switch (name) {
    case 'NotAllowedError':
    case 'SecurityError':
    case 'PermissionDeniedError':
      return 'denied';
    case 'NotFoundError':
    case 'OverconstrainedError':
    case 'DevicesNotFoundError':
      return 'missing';
    case 'NotReadableError':
    case 'AbortError':
    case 'TrackStartError':
      return 'busy';
    case 'TypeError':
      return 'unsupported';
    default:
      return 'error';
  }
}

/**
 * Video constraints: a modest size keeps an 8-person mesh (7 uploads) affordable.
 * @param {string} [deviceId]
 */
export function videoConstraints(deviceId) {
  return {
    width: { ideal: 640 },
    height: { ideal: 360 },
    frameRate: { ideal: 24, max: 30 },
    ...(deviceId ? { deviceId: { exact: deviceId } } : {}),
  };
}

/** @param {string} [deviceId] */
export function audioConstraints(deviceId) {
  return {
    echoCancellation: true,
    noiseSuppression: true,
    autoGainControl: true,
    ...(deviceId ? { deviceId: { exact: deviceId } } : {}),
  };
}

/**
 * Gets microphone and camera, falling back step by step.
 * @param {DeviceChoice} [choice]
 * @param {{audio?: boolean, video?: boolean}} [want]
 * @param {(c: MediaStreamConstraints) => Promise<MediaStream>} [getUserMedia] injected for tests
 * @returns {Promise<Acquired>}
 */
export async function acquireMedia(choice = {}, want = { audio: true, video: true }, getUserMedia) {
  const gum =
    getUserMedia ??
    (globalThis.navigator?.mediaDevices?.getUserMedia
      ? (/** @type {MediaStreamConstraints} */ c) => navigator.mediaDevices.getUserMedia(c)
      : null);
  /** @type {Acquired} */
  const out = { audio: null, video: null };
  if (!gum) {
    out.audioProblem = want.audio ? 'unsupported' : undefined;
    out.videoProblem = want.video ? 'unsupported' : undefined;
    return out;
  }
  const wantAudio = want.audio !== false;
  const wantVideo = want.video !== false;
  const audio = wantAudio ? audioConstraints(choice.audioDeviceId) : false;
  const video = wantVideo ? videoConstraints(choice.videoDeviceId) : false;
  if (wantAudio && wantVideo) {
    try {
      const s = await gum({ audio, video });
      out.audio = s.getAudioTracks()[0] ?? null;
      out.video = s.getVideoTracks()[0] ?? null;
      return out;
    } catch {
      // Find out which one is the problem by asking for each alone.
    }
  }
  if (wantAudio) {
    try {
      out.audio = (await gum({ audio })).getAudioTracks()[0] ?? null;
    } catch (err) {
      out.audioProblem = classifyMediaError(err);
      // A device id that vanished: try the default device once.
      if (out.audioProblem === 'missing' && choice.audioDeviceId) {
        try {
          out.audio = (await gum({ audio: audioConstraints() })).getAudioTracks()[0] ?? null;
          out.audioProblem = undefined;
        } catch {
          // keep the first reason
        }
      }
    }
  }
  if (wantVideo) {
    try {
      out.video = (await gum({ video })).getVideoTracks()[0] ?? null;
    } catch (err) {
      out.videoProblem = classifyMediaError(err);
      if (out.videoProblem === 'missing' && choice.videoDeviceId) {
        try {
          out.video = (await gum({ video: videoConstraints() })).getVideoTracks()[0] ?? null;
          out.videoProblem = undefined;
        } catch {
          // keep the first reason
        }
      }
    }
  }
  return out;
}

/**
 * What is missing and what the person can still do, in the current language, or ''
 * when all is well. The same problem on both devices is one sentence ("No camera or
 * microphone was found."), different ones a sentence each.
 * @param {Acquired} a
 */
export function describeMediaProblems(a) {
  const audio = a.audioProblem && a.audioProblem !== 'ok' ? a.audioProblem : null;
  const video = a.videoProblem && a.videoProblem !== 'ok' ? a.videoProblem : null;
  if (!audio && !video) return '';
  const parts =
    audio && video && audio === video
      ? [t(`media.both.${audio}`)]
      : [video ? t(`media.camera.${video}`) : '', audio ? t(`media.microphone.${audio}`) : ''].filter(Boolean);
  parts.push(!a.audio && !a.video ? t('media.joinWithNothing') : t('media.joinWithWhatWorks'));
  if (audio === 'denied' || video === 'denied') parts.push(t('media.howToAllow'));
  return parts.join(' ');
}

/**
 * Lists cameras and microphones (labels appear once permission was given).
 * @param {Pick<MediaDevices, 'enumerateDevices'> | undefined} [md] injected for tests
 * @returns {Promise<{audio: MediaDeviceInfo[], video: MediaDeviceInfo[]}>}
 */
export async function listDevices(md = globalThis.navigator?.mediaDevices) {
  if (!md?.enumerateDevices) return { audio: [], video: [] };
  try {
    const all = await md.enumerateDevices();
    return {
      audio: all.filter((d) => d.kind === 'audioinput' && d.deviceId),
      video: all.filter((d) => d.kind === 'videoinput' && d.deviceId),
    };
  } catch {
    return { audio: [], video: [] };
  }
}

/**
 * Asks for a screen or window to share.
 * @param {Pick<MediaDevices, 'getDisplayMedia'> | undefined} [md] injected for tests
 * @returns {Promise<MediaStreamTrack>}
 */
export async function getScreen(md = globalThis.navigator?.mediaDevices) {
  if (!md?.getDisplayMedia) throw Object.assign(new Error(t('media.shareUnavailable')), { name: 'NotSupportedError' });
  const s = await md.getDisplayMedia({ video: { frameRate: { ideal: 15, max: 30 } }, audio: false });
  const track = s.getVideoTracks()[0];
  if (!track) throw new Error(t('media.noScreenChosen'));
  try {
    // Text on screens stays sharp when the encoder favours detail over motion.
    track.contentHint = 'detail';
  } catch {
    // older browsers
  }
  return track;
}

/**
 * Speaking detection with hysteresis: a level above `on` starts speaking, it stops
 * after `holdMs` below `off`. Pure so it is tested without audio.
 */
export class SpeakingGate {
  /** @param {{on?: number, off?: number, holdMs?: number}} [opts] */
  constructor(opts = {}) {
    this.on = opts.on ?? 0.04;
    this.off = opts.off ?? 0.02;
    this.holdMs = opts.holdMs ?? 400;
    this.speaking = false;
    this._quietSince = 0;
  }

  /**
   * Feeds one level (RMS 0..1) at time `now`; returns whether the person speaks.
   * @param {number} level
   * @param {number} now ms
   */
  update(level, now) {
    if (level >= this.on) {
      this.speaking = true;
      this._quietSince = 0;
    } else if (this.speaking && level < this.off) {
      if (!this._quietSince) this._quietSince = now;
      if (now - this._quietSince >= this.holdMs) this.speaking = false;
    } else if (level >= this.off) {
      this._quietSince = 0;
    }
    return this.speaking;
  }
}

/** @typedef {import('./audio-level.js').LevelTap} LevelTap */

/**
 * @typedef {object} LevelMonitorOptions
 * @property {(track: MediaStreamTrack) => LevelTap | null} [tap] measures a track
 *   somewhere else: a bridged page (no WebRTC) measures in its media engine, which
 *   already runs an AudioContext and plays the remote sound itself (ui/bridge), so the
 *   page does not start a second AudioContext tapping MediaStreams (null: that track
 *   has no meter)
 * @property {() => void} [resume] lets `tap`'s audio run after a click
 */

/**
 * Watches audio levels of several tracks with one timer, in one AudioContext of its own
 * (or through the `tap` it was given, then with none).
 * `onChange(key, speaking)` is called when someone starts or stops speaking.
 */
export class LevelMonitor {
  /**
   * @param {(key: string, speaking: boolean) => void} onChange
   * @param {LevelMonitorOptions} [opts]
   */
  constructor(onChange, opts = {}) {
    this.onChange = onChange;
    this.opts = opts;
    /** @type {AudioContext | null} */
    this.ctx = null;
    /** @type {Map<string, {track: MediaStreamTrack, tap: LevelTap, gate: SpeakingGate}>} */
    this.entries = new Map();
    this.timer = 0;
  }

  /**
   * Starts (or restarts) watching `track` under `key`.
   * @param {string} key
   * @param {MediaStreamTrack | null} track
   */
  watch(key, track) {
    this.unwatch(key);
    if (!track) return;
    /** @type {LevelTap | null} */
    let tap = null;
    try {
      tap = this.opts.tap ? this.opts.tap(track) : this._analyserTap(track);
    } catch {
      tap = null;
    }
    if (!tap) return;
    this.entries.set(key, { track, tap, gate: new SpeakingGate() });
    if (!this.timer) this.timer = /** @type {any} */ (setInterval(() => this._poll(), 100));
  }

  /**
   * An AnalyserNode on `track` in this monitor's own AudioContext.
   * @param {MediaStreamTrack} track
   * @returns {LevelTap | null}
   */
  _analyserTap(track) {
    const AC = globalThis.AudioContext ?? /** @type {any} */ (globalThis).webkitAudioContext;
    if (!AC) return null;
    this.ctx ??= new AC();
    const ctx = /** @type {AudioContext} */ (this.ctx);
    const source = ctx.createMediaStreamSource(new MediaStream([track]));
    const analyser = ctx.createAnalyser();
    source.connect(analyser);
    return analyserLevel(analyser, () => source.disconnect());
  }

  /** Lets the AudioContext run after a click (autoplay rules). */
  resume() {
    if (this.ctx && this.ctx.state === 'suspended') this.ctx.resume().catch(() => {});
    this.opts.resume?.();
  }

  /** @param {string} key */
  unwatch(key) {
    const e = this.entries.get(key);
    if (!e) return;
    this.entries.delete(key);
    try {
      e.tap.close();
    } catch {
      // already disconnected
    }
    if (e.gate.speaking) this.onChange(key, false);
  }

  _poll() {
    const now = performance.now();
    for (const [key, e] of this.entries) {
      const level = e.track.readyState === 'live' && e.track.enabled ? e.tap.read() : 0;
      const was = e.gate.speaking;
      const is = e.gate.update(level, now);
      if (was !== is) this.onChange(key, is);
    }
  }

  close() {
    for (const key of [...this.entries.keys()]) this.unwatch(key);
    if (this.timer) clearInterval(this.timer);
    this.timer = 0;
    this.ctx?.close().catch(() => {});
    this.ctx = null;
  }
}

/** @param {MediaStreamTrack | null | undefined} t */
export function stopTrack(t) {
  try {
    t?.stop();
  } catch {
    // already stopped
  }
}
