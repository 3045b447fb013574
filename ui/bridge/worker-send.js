// @ts-check
/**
 * The media worker's out side (media-worker.js): camera frames from the page → scaled
 * when a peer asked → buffer-backed `VideoFrame` → `VideoEncoder` (VP8, realtime), the
 * self view painted from the same frames; 20 ms microphone frames from the capture
 * worklet → `AudioEncoder` (Opus). Each chunk goes to the page as a ready page frame
 * (frames.js) for the bridge socket.
 *
 * Bounded: the page waits for an `ack` before its next camera frame, and the encoders
 * drop input when behind.
 */
import { buildPageFrame, gapFigures, frameToRgba, frameToRgbaHalf, scaleRgba, writeStampFrame, nowUs } from './frames.js';
import { self_, flags, log, closeQuietly, OPUS_RATE } from './worker-shared.js';

/*
 * No periodic keyframe: a keyframe is sent at the start, on a new encoder, and when a peer
 * asks (PLI/FIR through the bridge, or a peer that joins). A forced keyframe every 3 s
 * made the frame sizes jumpy, which Chromium's jitter estimate sizes its delay for (its
 * effect alone was not measured: README, "The window in a call"). Browsers do not send
 * periodic keyframes either.
 */
/** Encoder input waiting beyond this is dropped (realtime: newer frames are coming). */
const MAX_ENCODE_QUEUE = 2;
const OPUS_FRAME = 960;

// ---- the camera ----

export const enc = {
  /** @type {VideoEncoder | null} */
  video: null,
  width: 0,
  height: 0,
  fps: 30,
  /** @type {number | undefined} */
  bitrate: undefined,
  forceKey: true,
  /** capture µs (absolute) of frames in the encoder, by their timestamp; bounded by the queue */
  inFlight: /** @type {Map<number, {capture: number, t0: number}>} */ (new Map()),
  lastTimestamp: -1,
  frames: 0,
  keyframes: 0,
  encodeMsSum: 0,
  encodeMsN: 0,
  dropped: 0,
};

/**
 * Bits per second for a size and rate when no peer set maxBitrate: ~0.08 bit per pixel
 * per frame (640x360 at 30 fps ≈ 550 kbps), within 100 kbps … 2.5 Mbps.
 * @param {number} w
 * @param {number} h
 * @param {number} fps
 */
function defaultBitrate(w, h, fps) {
  return Math.round(Math.min(2_500_000, Math.max(100_000, w * h * fps * 0.08)));
}

/**
 * (Re)creates the encoder for a size: a new size means a new configuration, whose first
 * frame is a keyframe.
 * @param {number} w
 * @param {number} h
 */
function configureVideo(w, h) {
  closeQuietly(enc.video);
  enc.inFlight.clear();
  const encoder = new VideoEncoder({
    output: (chunk, _meta) => onVideoChunk(encoder, chunk),
    error: (e) => {
      log('video encoder error', e?.message ?? e);
      // The next frame makes a new one.
      if (enc.video === encoder) enc.video = null;
    },
  });
  const bitrate = enc.bitrate ?? defaultBitrate(w, h, enc.fps);
  /** @type {VideoEncoderConfig} */
  const config = { codec: 'vp8', width: w, height: h, bitrate, framerate: enc.fps, latencyMode: 'realtime' };
  try {
    encoder.configure(config);
  } catch (e) {
    // An engine that knows no latencyMode: the default is still fine for a call.
    const { latencyMode: _, ...plain } = config;
    encoder.configure(plain);
  }
  enc.video = encoder;
  enc.width = w;
  enc.height = h;
  enc.forceKey = true;
}

/**
 * The person's own picture (the lobby's preview, then the self tile): painted here from
 * the camera frames the page copies for the encoder, not by a playing `<video>`. In WebKitGTK a visible playing
 * `<video>` held the page's main thread for 100–340 ms several times a second, which
 * is the thread that carries every frame to and from the bridge (README, "The window in a
 * call").
 */
export const preview = {
  /** @type {OffscreenCanvas | null} */
  canvas: null,
  /** when the last picture was painted (performance.now()) */
  at: -Infinity,
  msSum: 0,
  msN: 0,
  /** @type {OffscreenCanvasRenderingContext2D | null} */
  ctx: null,
  /** @type {ImageData | null} */
  image: null,
  painted: 0,
  width: 0,
  height: 0,
};

/**
 * Paints a camera frame into the self view's canvas (at most {@link PREVIEW_FPS} a second,
 * from 480 pixels wide at half size).
 * @param {Uint8Array} bytes
 * @param {string} format
 * @param {{offset: number, stride: number}[]} layout
 * @param {number} w
 * @param {number} h
 */
function paintPreview(bytes, format, layout, w, h) {
  const canvas = preview.canvas;
  if (!canvas || w <= 0 || h <= 0) return;
  const t0 = performance.now();
  // The person's own picture at most PREVIEW_FPS: it is only theirs to look at, and the
  // conversion costs this worker what it needs for the others' pictures.
  if (t0 - preview.at < 1000 / PREVIEW_FPS - 4) return;
  preview.at = t0;
  // From 480 pixels wide at half the size, scaled up to its tile: a quarter of the work
  // (640x360 in full took WebKitGTK's worker 13.5 ms a picture, the bench's "self view").
  const half = w >= 480;
  const cw = half ? w >> 1 : w;
  const ch = half ? h >> 1 : h;
  if (canvas.width !== cw || canvas.height !== ch) {
    canvas.width = cw;
    canvas.height = ch;
    preview.ctx = null;
  }
  preview.ctx ??= /** @type {OffscreenCanvasRenderingContext2D | null} */ (canvas.getContext('2d'));
  if (!preview.ctx) return;
  if (!preview.image || preview.image.width !== cw || preview.image.height !== ch) preview.image = new ImageData(cw, ch);
  const ok = half ? frameToRgbaHalf(bytes, format, layout, w, h, preview.image.data) : frameToRgba(bytes, format, layout, w, h, preview.image.data);
  if (!ok) return;
  preview.ctx.putImageData(preview.image, 0, 0);
  preview.painted++;
  preview.msSum += performance.now() - t0;
  preview.msN++;
  if (w !== preview.width || h !== preview.height) {
    preview.width = w;
    preview.height = h;
    self_.postMessage({ t: 'size', key: 'preview', width: w, height: h });
  }
  if (preview.painted === 1) self_.postMessage({ t: 'painted', key: 'preview' });
}

/** The most pictures a second the self view is painted with. */
const PREVIEW_FPS = 15;

/** Scratch for scaling: the camera frame as RGBA. */
let scratch = new Uint8ClampedArray(0);

/**
 * A camera frame from the page: its bytes as `VideoFrame.copyTo` (or `getImageData`) gave
 * them, its size, and the size to encode (`tw`×`th`, smaller when a peer asked for
 * `scaleResolutionDownBy`). Stamped here when the bench asks (at the size encoded).
 * `preview`: also paint it into the self tile; `encode`: a sender sends it (false while
 * only the self tile shows the camera, in the lobby).
 * @param {{data: ArrayBuffer, format: string, layout: {offset: number, stride: number}[], width: number, height: number, tw: number, th: number, ts: number, capture: number, preview?: boolean, encode?: boolean}} m
 */
export function encodeVideo(m) {
  self_.postMessage({ t: 'ack' });
  let bytes = new Uint8Array(m.data);
  if (m.preview) paintPreview(bytes, m.format, m.layout, m.width, m.height);
  if (m.encode === false) return;
  let format = m.format;
  let layout = m.layout;
  let w = m.width;
  let h = m.height;
  if (m.tw !== w || m.th !== h || !['I420', 'NV12', 'RGBA', 'RGBX', 'BGRA', 'BGRX'].includes(format)) {
    if (scratch.length < w * h * 4) scratch = new Uint8ClampedArray(w * h * 4);
    if (!frameToRgba(bytes, format, layout, w, h, scratch)) {
      enc.dropped++;
      return;
    }
    const out = new Uint8Array(m.tw * m.th * 4);
    scaleRgba(scratch, w, h, out, m.tw, m.th);
    bytes = out;
    format = 'RGBA';
    w = m.tw;
    h = m.th;
    layout = [{ offset: 0, stride: w * 4 }];
  }
  if (flags.stampOn) writeStampFrame(bytes, format, layout, w, h, m.capture);
  if (!enc.video || enc.video.state === 'closed' || w !== enc.width || h !== enc.height) configureVideo(w, h);
  const encoder = /** @type {VideoEncoder} */ (enc.video);
  if (encoder.encodeQueueSize > MAX_ENCODE_QUEUE) {
    enc.dropped++;
    return;
  }
  const frame = new VideoFrame(bytes, {
    format: /** @type {VideoPixelFormat} */ (format),
    codedWidth: w,
    codedHeight: h,
    layout,
    timestamp: m.ts,
  });
  const now = performance.now();
  const keyFrame = enc.forceKey;
  enc.forceKey = false;
  enc.inFlight.set(m.ts, { capture: m.capture, t0: now });
  try {
    encoder.encode(frame, { keyFrame });
  } catch (e) {
    log('video encode failed', /** @type {any} */ (e)?.message ?? e);
    enc.inFlight.delete(m.ts);
    enc.forceKey = true;
  } finally {
    frame.close();
  }
}

/**
 * @param {VideoEncoder} encoder
 * @param {EncodedVideoChunk} chunk
 */
function onVideoChunk(encoder, chunk) {
  if (encoder !== enc.video) return;
  const info = enc.inFlight.get(chunk.timestamp);
  enc.inFlight.delete(chunk.timestamp);
  const now = performance.now();
  if (info) {
    enc.encodeMsSum += now - info.t0;
    enc.encodeMsN++;
  }
  // The RTP timestamp advances by the real time between frames (30 fps when unknown).
  let duration = Math.round(1e6 / enc.fps);
  if (enc.lastTimestamp >= 0 && chunk.timestamp > enc.lastTimestamp) {
    duration = Math.min(1_000_000, Math.max(1000, chunk.timestamp - enc.lastTimestamp));
  }
  enc.lastTimestamp = chunk.timestamp;
  const data = new Uint8Array(chunk.byteLength);
  chunk.copyTo(data);
  const keyframe = chunk.type === 'key';
  enc.frames++;
  if (keyframe) enc.keyframes++;
  const buf = buildPageFrame({ keyframe, kind: 'video', durationUs: duration, captureUs: info?.capture ?? nowUs() }, data);
  self_.postMessage({ t: 'out', kind: 'video', keyframe, width: enc.width, height: enc.height, buf }, [buf]);
}

// ---- the microphone ----

export const mic = {
  /** @type {AudioEncoder | null} */
  encoder: null,
  /** @type {MessagePort | null} */
  port: null,
  sending: false,
  samples: 0,
  /** capture µs by AudioData timestamp (a few 20 ms frames at most) */
  capture: /** @type {Map<number, number>} */ (new Map()),
  /** ms between 20 ms frames from the capture worklet (the first 500 since the benchmark's last reset) */
  gaps: /** @type {number[]} */ ([]),
  lastAt: 0,
};
/** Gaps kept for the benchmark's figures (bounded: about 10 s of sound). */
const GAPS_KEPT = 500;

function audioEncoder() {
  if (mic.encoder && mic.encoder.state !== 'closed') return mic.encoder;
  const encoder = new AudioEncoder({
    output: (chunk) => {
      const capture = mic.capture.get(chunk.timestamp) ?? nowUs();
      mic.capture.delete(chunk.timestamp);
      const data = new Uint8Array(chunk.byteLength);
      chunk.copyTo(data);
      const buf = buildPageFrame({ keyframe: true, kind: 'audio', durationUs: chunk.duration ?? 20_000, captureUs: capture }, data);
      self_.postMessage({ t: 'out', kind: 'audio', buf }, [buf]);
    },
    error: (e) => {
      log('audio encoder error', e?.message ?? e);
      if (mic.encoder === encoder) mic.encoder = null;
    },
  });
  encoder.configure({ codec: 'opus', sampleRate: OPUS_RATE, numberOfChannels: 1, bitrate: 32_000 });
  mic.encoder = encoder;
  mic.capture.clear();
  return encoder;
}

/** @param {Float32Array} pcm 20 ms of mono samples at 48 kHz from the capture worklet */
export function encodeAudio(pcm) {
  if (!mic.sending || !(pcm instanceof Float32Array) || pcm.length !== OPUS_FRAME) return;
  // How evenly the worklet's frames come (every 20 ms at best): the sound's rhythm
  // before the page's main thread and the bridge.
  const at = performance.now();
  if (mic.lastAt && mic.gaps.length < GAPS_KEPT) mic.gaps.push(at - mic.lastAt);
  mic.lastAt = at;
  const encoder = audioEncoder();
  if (encoder.encodeQueueSize > 4) return;
  const timestamp = Math.round((mic.samples * 1e6) / OPUS_RATE);
  mic.samples += pcm.length;
  mic.capture.set(timestamp, nowUs());
  if (mic.capture.size > 64) mic.capture.delete(/** @type {number} */ (mic.capture.keys().next().value));
  const data = new AudioData({ format: 'f32-planar', sampleRate: OPUS_RATE, numberOfFrames: pcm.length, numberOfChannels: 1, timestamp, data: pcm });
  try {
    encoder.encode(data);
  } catch (e) {
    log('audio encode failed', /** @type {any} */ (e)?.message ?? e);
  } finally {
    data.close();
  }
}

/**
 * A new rate or bitrate for the video (the largest any peer asked for): it takes effect
 * with a new configuration at the next frame, a keyframe.
 * @param {unknown} fps
 * @param {unknown} bitrate
 */
export function setEncoding(fps, bitrate) {
  const f = typeof fps === 'number' && fps > 0 ? fps : enc.fps;
  const b = typeof bitrate === 'number' && bitrate > 0 ? bitrate : undefined;
  if (f === enc.fps && b === enc.bitrate) return;
  enc.fps = f;
  enc.bitrate = b;
  closeQuietly(enc.video);
  enc.video = null;
}

/** The out side's figures for the page's stats. */
export function sendFigures() {
  return {
    video: {
      encodeMs: enc.encodeMsN ? enc.encodeMsSum / enc.encodeMsN : null,
      previewMs: preview.msN ? preview.msSum / preview.msN : null,
      dropped: enc.dropped,
    },
    audio: { captureGapMs: gapFigures(mic.gaps) },
  };
}

/** The benchmark's figures start over. */
export function resetSendFigures() {
  mic.gaps = [];
  enc.encodeMsSum = 0;
  enc.encodeMsN = 0;
  preview.msSum = 0;
  preview.msN = 0;
}

/** The encoders close, the self view and the microphone's port go. */
export function closeSend() {
  closeQuietly(enc.video);
  closeQuietly(mic.encoder);
  preview.canvas = null;
  preview.ctx = null;
  mic.port?.close();
}
