// @ts-check
/**
 * The camera side of a bridged page's media engine (media-engine.js): ONE capture path
 * for every engine (WebKitGTK's, WEBKITGTK.md bug 1). The camera track plays in a
 * hidden muted `<video>`; at the frame rate its picture is copied into a buffer
 * (`new VideoFrame(video).copyTo`, or where that fails drawn into a canvas and read
 * back) and handed to the video worker, which scales, encodes and paints the self view.
 *
 * Bounded: a frame is taken only when the worker has taken the previous ones (at most
 * {@link MAX_FRAMES_IN_FLIGHT}).
 */
import { nowUs } from './frames.js';

/** Camera frames handed to the worker and not yet taken by it. */
const MAX_FRAMES_IN_FLIGHT = 2;

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

/**
 * @typedef {object} CameraCaptureDeps
 * @property {(msg: any, transfer: Transferable[]) => void} post to the video worker
 * @property {() => number} fps frames a second to take
 * @property {() => number | undefined} scale the encoding's `scaleResolutionDownBy`
 * @property {() => boolean} encode whether the frames go to the encoder (a sender sends them)
 * @property {() => boolean} preview whether the frames are the self tile's picture
 * @property {(...m: unknown[]) => void} log
 * @property {Document} [document] where the hidden `<video>` lives (default: the page's)
 */

export class CameraCapture {
  /** @param {CameraCaptureDeps} deps */
  constructor(deps) {
    this.deps = deps;
    /** The track being captured. @type {MediaStreamTrack | null} */
    this.track = null;
    /** @type {HTMLVideoElement | null} */
    this._video = null;
    /** @type {HTMLCanvasElement | OffscreenCanvas | null} */
    this._canvas = null;
    /** @type {CanvasRenderingContext2D | OffscreenCanvasRenderingContext2D | null} */
    this._ctx2d = null;
    this._timer = 0;
    this._next = 0;
    this._inFlight = 0;
    this._wantKey = false;
    /** Whether frames are copied from `new VideoFrame(video)` (else drawn into a canvas). */
    this.frameCopy = true;
    this._msSum = 0;
    this._n = 0;
    this.closed = false;
  }

  /** Stops for good: no camera, no frame posted (one being copied is dropped). */
  close() {
    this.setTrack(null);
    this.closed = true;
  }

  /**
   * Captures `track` from now on (null: none). The same track again changes nothing.
   * @param {MediaStreamTrack | null} track
   */
  setTrack(track) {
    if (track === this.track) return;
    this.track = track;
    if (this._timer) clearTimeout(this._timer);
    this._timer = 0;
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
    this._video.play().catch((e) => this.deps.log('capture video does not play', e?.message ?? e));
    this.schedule();
  }

  /** The next frame taken is encoded as a keyframe. */
  wantKeyframe() {
    this._wantKey = true;
  }

  /** The worker took a frame: room for the next. */
  taken() {
    this._inFlight = Math.max(0, this._inFlight - 1);
  }

  /** Mean ms to take a frame since the last {@link resetFigures} (null: none taken). */
  get captureMs() {
    return this._n ? this._msSum / this._n : null;
  }

  resetFigures() {
    this._msSum = 0;
    this._n = 0;
  }

  /** Whether a frame is due (the timer runs) and whether a `<video>` plays the camera. */
  liveness() {
    return { capture: !!this._timer, captureVideo: !!this._video };
  }

  /** @returns {boolean} whether frames should be taken now */
  _wanted() {
    const t = this.track;
    return !!t && t.readyState === 'live' && t.enabled && !!this._video && (this.deps.encode() || this.deps.preview());
  }

  /** Starts taking frames if they are wanted and it is not doing so already. */
  schedule() {
    if (this._timer || !this._wanted()) return;
    // (Re)starting after a pause (camera off, no sender): begin with a keyframe.
    this._wantKey = true;
    this._next = performance.now();
    this._timer = /** @type {any} */ (setTimeout(() => this._capture(), 0));
  }

  /** Takes one camera frame (if the worker keeps up) and schedules the next. */
  _capture() {
    this._timer = 0;
    if (!this._wanted()) return;
    const v = /** @type {HTMLVideoElement} */ (this._video);
    if (v.readyState >= 2 && v.videoWidth > 0 && this._inFlight < MAX_FRAMES_IN_FLIGHT) {
      try {
        this._grab(v);
      } catch (e) {
        this.deps.log('camera frame not taken', /** @type {any} */ (e)?.message ?? e);
      }
    }
    const interval = 1000 / this.deps.fps();
    const now = performance.now();
    this._next += interval;
    // Behind by more than a frame (a busy page): start the rhythm again from now.
    if (this._next < now - interval) this._next = now;
    this._timer = /** @type {any} */ (setTimeout(() => this._capture(), Math.max(0, this._next - now)));
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
    const { width: tw, height: th } = encodeSize(v.videoWidth, v.videoHeight, this.deps.scale());
    if (this._wantKey) {
      this._wantKey = false;
      this.deps.post({ t: 'keyframe' }, []);
    }
    if (this.frameCopy && typeof VideoFrame === 'function') {
      /** @type {VideoFrame | null} */
      let frame = null;
      try {
        frame = new VideoFrame(v, { timestamp: ts });
      } catch (e) {
        this.frameCopy = false;
        this.deps.log('camera frames cannot be copied, drawing them instead:', /** @type {any} */ (e)?.message ?? e);
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
            // A frame of a track given up meanwhile is still posted: the worker's ack
            // frees its place (dropped here, it would hold one for good).
            if (this.closed) return;
            this.deps.post(
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
                preview: this.deps.preview(),
                encode: this.deps.encode(),
              },
              [buf],
            );
            this._msSum += performance.now() - t0;
            this._n++;
          },
          (e) => {
            f.close();
            this._inFlight = Math.max(0, this._inFlight - 1);
            this.frameCopy = false;
            this.deps.log('camera frames cannot be copied, drawing them instead:', e?.message ?? e);
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
    this.deps.post(
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
        preview: this.deps.preview(),
        encode: this.deps.encode(),
      },
      [img.data.buffer],
    );
    this._msSum += performance.now() - t0;
    this._n++;
  }
}
