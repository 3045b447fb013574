// @ts-check
/**
 * Our own camera, microphone and shared screen: what we send and show for ourselves.
 * One instance lives as long as the page, so the lobby preview and the call share the
 * same tracks (the camera is asked for once, not at every join).
 *
 * The rules about the tracks live here; where they go is the caller's business.
 * Operations that change what we send take a {@link TrackSink} (the call's mesh, or
 * null in the lobby) so a new track replaces the old one on every connection
 * *before* the old one is stopped.
 *
 * Events (see {@link Emitter}):
 * - `stopped` `'audio' | 'video' | 'screen'` — a device stopped by itself (unplugged,
 *   taken by the system, permission revoked, the browser's "Stop sharing"). For
 *   audio and video we already behave as if the person had switched it off; the
 *   listener tells the connections and the person.
 * - `devicechange` — cameras or microphones came or went.
 */
import { Emitter } from './emitter.js';
import { t } from './i18n.js';
import { acquireMedia, describeMediaProblems, listDevices, getScreen, stopTrack, classifyMediaError } from './media.js';

/**
 * Where our tracks are sent: the mesh (every connection) during a call.
 * @typedef {object} TrackSink
 * @property {(kind: 'audio' | 'video', track: MediaStreamTrack | null) => Promise<void>} setLocalTrack
 * @property {(sharing: boolean) => void} setSharing
 */

/**
 * What the page's `navigator.mediaDevices` offers; every part may be missing.
 * @typedef {object} MediaDevicesLike
 * @property {(c: MediaStreamConstraints) => Promise<MediaStream>} [getUserMedia]
 * @property {(c?: DisplayMediaStreamOptions) => Promise<MediaStream>} [getDisplayMedia]
 * @property {() => Promise<MediaDeviceInfo[]>} [enumerateDevices]
 * @property {(type: string, fn: () => void) => void} [addEventListener]
 */

/**
 * @typedef {object} LocalMediaDeps
 * @property {{new (tracks?: MediaStreamTrack[]): MediaStream}} MediaStream
 * @property {MediaDevicesLike | undefined} mediaDevices
 */

export class LocalMedia extends Emitter {
  /** @param {LocalMediaDeps} deps */
  constructor(deps) {
    super();
    this.MediaStream = deps.MediaStream;
    this.md = deps.mediaDevices;
    /** @type {MediaStreamTrack | null} */ this.audio = null;
    /** @type {MediaStreamTrack | null} */ this.camera = null;
    /** @type {MediaStreamTrack | null} */ this.screen = null;
    /** The stream our tracks are announced in, and shown on our own tile. @type {MediaStream | null} */
    this.stream = null;
    this.muted = false;
    this.cameraOn = true;
    /** Devices the person picked (used for every later request). @type {{audioDeviceId?: string, videoDeviceId?: string}} */
    this.choice = {};
    /** What the first request for camera and microphone got (for {@link LocalMedia#note}). @type {import('./media.js').Acquired | null} */
    this._first = null;
    /** @type {Promise<void> | null} */
    this._ready = null;
    this._watchingDevices = false;
  }

  /**
   * What was missing when camera and microphone were first asked for, as a sentence in
   * the current language ('' when all was well).
   */
  get note() {
    return this._first ? describeMediaProblems(this._first) : '';
  }

  /** Gets camera and microphone once (lobby preview and call share them). */
  ensure() {
    this._ready ??= this._acquireAll();
    return this._ready;
  }

  async _acquireAll() {
    const got = await this._acquire({ audio: true, video: true });
    this._watchEnded(got.audio);
    this._watchEnded(got.video);
    this.audio = got.audio;
    this.camera = got.video;
    this.cameraOn = !!got.video;
    this.muted = !got.audio;
    if (this.audio) this.audio.enabled = !this.muted;
    this._first = { audio: got.audio, video: got.video, audioProblem: got.audioProblem, videoProblem: got.videoProblem };
    this.rebuild();
    this._watchDeviceChanges();
  }

  /** @param {{audio: boolean, video: boolean}} want */
  _acquire(want) {
    const gum = this.md?.getUserMedia ? (/** @type {MediaStreamConstraints} */ c) => /** @type {any} */ (this.md).getUserMedia(c) : undefined;
    return acquireMedia(this.choice, want, gum);
  }

  /** Brings the stream in line with the tracks (same object: views showing it follow). */
  rebuild() {
    const tracks = /** @type {MediaStreamTrack[]} */ ([this.audio, this.screen ?? this.camera].filter(Boolean));
    if (!this.stream) this.stream = new this.MediaStream(tracks);
    else {
      for (const t of this.stream.getTracks()) if (!tracks.includes(t)) this.stream.removeTrack(t);
      for (const t of tracks) if (!this.stream.getTracks().includes(t)) this.stream.addTrack(t);
    }
    return this.stream;
  }

  /** The track we send as video: the screen while sharing, else the camera (if on). */
  outgoingVideo() {
    return this.screen ?? (this.cameraOn ? this.camera : null);
  }

  /** What the others should show for us (the `state` data-channel message). */
  state() {
    return { muted: this.muted, camera: !!(this.cameraOn && this.camera), sharing: !!this.screen };
  }

  /** Whether this page can share a screen at all. */
  canShare() {
    return !!this.md?.getDisplayMedia;
  }

  /** Device ids in use, for the pickers. */
  deviceIds() {
    return {
      audio: this.audio?.getSettings?.().deviceId,
      video: this.camera?.getSettings?.().deviceId,
    };
  }

  /** Cameras and microphones. */
  devices() {
    return listDevices(/** @type {any} */ (this.md));
  }

  /** @param {MediaStreamTrack | null} track */
  _watchEnded(track) {
    track?.addEventListener('ended', () => {
      if (track === this.camera) {
        this.camera = null;
        this.cameraOn = false;
        this.rebuild();
        this.emit('stopped', 'video');
      } else if (track === this.audio) {
        this.audio = null;
        this.muted = true;
        this.rebuild();
        this.emit('stopped', 'audio');
      }
    });
  }

  _watchDeviceChanges() {
    if (this._watchingDevices || !this.md) return;
    this._watchingDevices = true;
    this.md.addEventListener?.('devicechange', () => this.emit('devicechange'));
  }

  /**
   * Switches microphone or camera. In a call (`sink` given) the new track replaces
   * the old one on every connection (replaceTrack, no renegotiation). With the camera
   * off in a call, the choice is only kept for the next time it goes on.
   * @param {'audio' | 'video'} kind
   * @param {string} deviceId
   * @param {TrackSink | null} sink
   * @returns {Promise<{changed: boolean, problem: string}>}
   */
  async useDevice(kind, deviceId, sink) {
    if (kind === 'audio') this.choice.audioDeviceId = deviceId || undefined;
    else this.choice.videoDeviceId = deviceId || undefined;
    if (kind === 'video' && !this.cameraOn && sink) return { changed: false, problem: '' };
    const got = await this._acquire({ audio: kind === 'audio', video: kind === 'video' });
    const track = kind === 'audio' ? got.audio : got.video;
    this._watchEnded(track);
    if (!track) return { changed: false, problem: describeMediaProblems(got) || t('media.deviceFailed') };
    if (kind === 'audio') {
      const old = this.audio;
      track.enabled = !this.muted;
      this.audio = track;
      await sink?.setLocalTrack('audio', track);
      stopTrack(old);
    } else {
      const old = this.camera;
      this.camera = track;
      this.cameraOn = true;
      if (!this.screen) await sink?.setLocalTrack('video', track);
      stopTrack(old);
    }
    this.rebuild();
    return { changed: true, problem: '' };
  }

  /**
   * Mute / Unmute. Without a microphone (none at first, or it stopped) this asks
   * for one.
   * @param {TrackSink} sink
   * @returns {Promise<string | null>} null when done, else what went wrong
   */
  async toggleMute(sink) {
    if (!this.audio) {
      const got = await this._acquire({ audio: true, video: false });
      if (!got.audio) return describeMediaProblems(got);
      this._watchEnded(got.audio);
      this.audio = got.audio;
      await sink.setLocalTrack('audio', got.audio);
      this.muted = false;
    } else {
      this.muted = !this.muted;
    }
    if (this.audio) this.audio.enabled = !this.muted;
    this.rebuild();
    return null;
  }

  /**
   * Camera off stops the camera (its light goes off); Camera on asks for it again.
   * @param {TrackSink} sink
   * @returns {Promise<string | null>} null when done, else what went wrong
   */
  async toggleCamera(sink) {
    if (this.cameraOn && this.camera) {
      this.cameraOn = false;
      const old = this.camera;
      this.camera = null;
      if (!this.screen) await sink.setLocalTrack('video', null);
      stopTrack(old);
    } else {
      const got = await this._acquire({ audio: false, video: true });
      if (!got.video) return describeMediaProblems(got);
      this._watchEnded(got.video);
      this.camera = got.video;
      this.cameraOn = true;
      if (!this.screen) await sink.setLocalTrack('video', got.video);
    }
    this.rebuild();
    return null;
  }

  /**
   * Asks for a screen and sends it instead of the camera.
   * @param {TrackSink} sink
   * @param {() => boolean} stillWanted false when the call ended while the picker was open
   * @returns {Promise<string | null>} null when sharing, else what went wrong ('' when
   *   the person cancelled or the call is over: nothing to say)
   */
  async startSharing(sink, stillWanted) {
    let track;
    try {
      track = await getScreen(/** @type {any} */ (this.md));
    } catch (err) {
      if (classifyMediaError(err) === 'denied') return '';
      return err instanceof Error ? t('media.shareFailedWhy', { reason: err.message }) : t('media.shareFailed');
    }
    if (!stillWanted()) {
      stopTrack(track);
      return '';
    }
    this.screen = track;
    sink.setSharing(true);
    track.addEventListener('ended', () => {
      if (this.screen === track) this.emit('stopped', 'screen');
    });
    await sink.setLocalTrack('video', track);
    this.rebuild();
    return null;
  }

  /**
   * Stops sharing; the camera (if on) is sent again.
   * @param {TrackSink | null} sink null at the end of a call: nobody to tell
   */
  stopSharing(sink) {
    const t = this.screen;
    this.screen = null;
    stopTrack(t);
    if (sink) {
      sink.setSharing(false);
      sink.setLocalTrack('video', this.outgoingVideo());
    }
    this.rebuild();
  }
}
