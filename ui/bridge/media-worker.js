// @ts-check
/**
 * The bridge's media worker: everything heavy off the page's main thread.
 *
 * - Out: camera frames (copied by the page from a hidden `<video>`, WEBKITGTK.md bug 1; in
 *   whatever format the engine gave: I420, NV12 or packed RGB), scaled down in JS when a
 *   peer asked for it → buffer-backed `VideoFrame` → `VideoEncoder` (VP8, realtime); 20 ms microphone frames
 *   (straight from the capture worklet over a MessagePort) → `AudioEncoder` (Opus). Each
 *   chunk goes back to the page as a ready page frame (frames.js) for the bridge socket.
 * - In: per remote stream a `VideoDecoder` (deltas after a gap skipped, an error resets it
 *   and asks for a keyframe) whose newest frame is converted I420 → RGBA in JS (bugs 2, 3)
 *   and `putImageData` into the tile's `OffscreenCanvas`; per remote audio an
 *   `AudioDecoder` whose PCM goes straight to the page's playback mixer, over that
 *   remote's own MessagePort.
 *
 * Every queue is bounded: the page waits for an ack before its next camera frame, the
 * encoders drop input when behind, a decoder that falls behind skips to the next keyframe,
 * and only the newest decoded frame of a stream is kept for painting.
 *
 * Messages from the page (`t` is the type): `encoding`, `video`, `keyframe`, `audio-port`,
 * `audio-send`, `remote`, `frame`, `attach`, `detach`, `preview`, `close-remote`, `stamp`,
 * `reset-figures`, `close`.
 * To the page: `out` (a page frame), `ack`, `taken` (remote frames taken so far),
 * `request-keyframe`, `size`, `stats`, `closed-remote`, `log`.
 */
import { buildPageFrame, gapFigures, parseRemoteFrame, i420ToRgba, nv12ToRgba, frameToRgba, frameToRgbaHalf, scaleRgba, writeStampFrame, readStamp, stampAgeUs, nowUs } from './frames.js';

/** @type {any} */
const self_ = globalThis;

/*
 * No periodic keyframe: a keyframe is sent at the start, on a new encoder, and when a peer
 * asks (PLI/FIR through the bridge, or a peer that joins). A forced keyframe every 3 s
 * made the frame sizes jumpy, which Chromium's jitter estimate sizes its delay for (its
 * effect alone was not measured: README, "The window in a call"). Browsers do not send
 * periodic keyframes either.
 */
/** Encoder input waiting beyond this is dropped (realtime: newer frames are coming). */
const MAX_ENCODE_QUEUE = 2;
/** A decoder with more chunks waiting than this is behind: skip to the next keyframe. */
const MAX_DECODE_QUEUE = 8;
/** Keyframe requests per stream at most this often (the bridge coalesces as well). */
const KEYFRAME_REQUEST_MS = 500;
/** Latency samples kept per stream (the bench reads p50/p95 of these). */
const LATENCY_SAMPLES = 600;
const STATS_EVERY_MS = 1000;
/**
 * A video delta that waited longer than this between the page and its decoder is late:
 * it is skipped and a keyframe asked for (a current picture, not one seconds behind).
 */
const STALE_MS = 250;
/**
 * Sound that waited longer than this is dropped. Much longer than for video: on a
 * starved machine (load 48 on 2 cores) most 20 ms frames waited over 250 ms, and
 * dropping them left no sound at all; the playback worklet keeps the delay bounded.
 */
const STALE_AUDIO_MS = 1000;
/** The page hears how many frames were taken every this many (its bound on what is queued here). */
const TAKEN_EVERY = 16;
const OPUS_RATE = 48000;
const OPUS_FRAME = 960;

/** @param {...any} m */
function log(...m) {
  self_.postMessage({ t: 'log', m: m.map(String).join(' ') });
}

// ---- out: the camera ----

const enc = {
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
const preview = {
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
function encodeVideo(m) {
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
  if (stampOn) writeStampFrame(bytes, format, layout, w, h, m.capture);
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

// ---- out: the microphone ----

const mic = {
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
function encodeAudio(pcm) {
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

// ---- in: remote streams ----

/**
 * @typedef {object} Remote
 * @property {string} key
 * @property {number} pc
 * @property {number} tid
 * @property {'audio' | 'video'} kind
 * @property {VideoDecoder | AudioDecoder | null} decoder
 * @property {boolean} needKey
 * @property {number} lastRequest
 * @property {number} framesDecoded
 * @property {number} framesPainted
 * @property {number} gaps
 * @property {number} dropped decoded frames replaced by a newer one before painting
 * @property {number} counter decode timestamps (a counter: the decoder only echoes it)
 * @property {Map<number, number>} t0 decode start by timestamp
 * @property {OffscreenCanvas | null} canvas
 * @property {OffscreenCanvasRenderingContext2D | null} ctx
 * @property {ImageData | null} image
 * @property {Uint8Array | null} planes
 * @property {VideoFrame | null} pending
 * @property {boolean} painting
 * @property {number} width
 * @property {number} height
 * @property {MessagePort | null} port audio: the playback worklet's
 * @property {number[]} latency capture-to-paint ms (stamped frames only)
 * @property {number} paintMsSum decode start to painted, ms
 * @property {number} paintMsN
 * @property {number} windowStart
 * @property {number} windowFrames
 * @property {number} fps
 * @property {number | null} lastSeq the last frame sequence seen (gaps in it are losses)
 * @property {number} stale frames skipped because they waited too long in this worker
 */

/** @type {Map<string, Remote>} */
const remotes = new Map();
let stampOn = false;
/** Remote frames taken from the page so far. */
let taken = 0;
let unknownFrames = 0;

/**
 * @param {{key: string, pc: number, tid: number, kind: 'audio' | 'video', port?: MessagePort}} m
 */
function addRemote(m) {
  const old = remotes.get(m.key);
  if (old) closeRemote(old);
  /** @type {Remote} */
  const r = {
    key: m.key, pc: m.pc, tid: m.tid, kind: m.kind, decoder: null, needKey: true, lastRequest: 0,
    framesDecoded: 0, framesPainted: 0, gaps: 0, dropped: 0, counter: 0, t0: new Map(),
    canvas: null, ctx: null, image: null, planes: null, pending: null, painting: false,
    width: 0, height: 0, port: m.port ?? null, latency: [], paintMsSum: 0, paintMsN: 0,
    windowStart: performance.now(), windowFrames: 0, fps: 0, lastSeq: null, stale: 0,
  };
  remotes.set(m.key, r);
}

/** @param {Remote} r */
function videoDecoder(r) {
  if (r.decoder && r.decoder.state !== 'closed') return /** @type {VideoDecoder} */ (r.decoder);
  const decoder = new VideoDecoder({
    output: (frame) => onDecoded(r, decoder, frame),
    error: (e) => {
      log('video decoder error', r.key, e?.message ?? e);
      if (r.decoder === decoder) {
        r.decoder = null;
        r.t0.clear();
        askKeyframe(r);
      }
    },
  });
  /** @type {VideoDecoderConfig} */
  const config = { codec: 'vp8', optimizeForLatency: true };
  decoder.configure(config);
  r.decoder = decoder;
  return decoder;
}

/**
 * The decoder lost its reference (or never had one): wait for a keyframe and ask the
 * remote for one (at most every {@link KEYFRAME_REQUEST_MS}).
 * @param {Remote} r
 */
function askKeyframe(r) {
  r.needKey = true;
  const now = performance.now();
  if (now - r.lastRequest < KEYFRAME_REQUEST_MS) return;
  r.lastRequest = now;
  self_.postMessage({ t: 'request-keyframe', pc: r.pc });
}

/**
 * @param {ArrayBuffer} buf
 * @param {number} [postedAt] when the page posted it (Date.now(), the machine's clock)
 */
function onFrame(buf, postedAt) {
  taken++;
  if (taken % TAKEN_EVERY === 0) self_.postMessage({ t: 'taken', n: taken });
  const f = parseRemoteFrame(buf);
  if (!f) return;
  const r = remotes.get(`${f.pc}:${f.transceiver}`);
  if (!r || r.kind !== f.kind) {
    unknownFrames++;
    return;
  }
  // A frame missing between the bridge and here (the page dropped it: this worker was
  // too far behind) is a gap like one the bridge flags.
  const missing = r.lastSeq !== null && f.seq !== ((r.lastSeq + 1) >>> 0);
  r.lastSeq = f.seq;
  if (f.kind === 'audio') {
    // Sound that waited too long here is dropped rather than played late.
    if (typeof postedAt === 'number' && Date.now() - postedAt > STALE_AUDIO_MS) {
      r.stale++;
      return;
    }
    return decodeAudio(r, f.data);
  }
  const gap = f.afterGap || missing;
  if (gap) r.gaps++;
  // Behind (the frame waited in this worker's queue): skip deltas until a fresh keyframe,
  // so the picture stays current instead of growing later and later.
  if (!f.keyframe && typeof postedAt === 'number' && Date.now() - postedAt > STALE_MS) {
    r.stale++;
    askKeyframe(r);
    return;
  }
  if (!f.keyframe && (gap || r.needKey)) {
    askKeyframe(r);
    return;
  }
  const decoder = videoDecoder(r);
  if (!f.keyframe && decoder.decodeQueueSize > MAX_DECODE_QUEUE) {
    askKeyframe(r);
    return;
  }
  const timestamp = r.counter++;
  r.t0.set(timestamp, performance.now());
  if (r.t0.size > 64) r.t0.delete(/** @type {number} */ (r.t0.keys().next().value));
  try {
    decoder.decode(new EncodedVideoChunk({ type: f.keyframe ? 'key' : 'delta', timestamp, data: f.data }));
    if (f.keyframe) r.needKey = false;
  } catch (e) {
    log('video decode failed', r.key, /** @type {any} */ (e)?.message ?? e);
    closeQuietly(r.decoder);
    r.decoder = null;
    askKeyframe(r);
  }
}

/**
 * @param {Remote} r
 * @param {VideoDecoder} decoder
 * @param {VideoFrame} frame
 */
function onDecoded(r, decoder, frame) {
  if (r.decoder !== decoder || !remotes.has(r.key)) {
    frame.close();
    return;
  }
  r.framesDecoded++;
  const w = frame.displayWidth;
  const h = frame.displayHeight;
  if (w !== r.width || h !== r.height) {
    r.width = w;
    r.height = h;
    self_.postMessage({ t: 'size', key: r.key, width: w, height: h });
  }
  if (!r.canvas) {
    countFrame(r);
    r.t0.delete(frame.timestamp);
    frame.close();
    return;
  }
  // Newest only: a frame not painted yet is replaced.
  if (r.pending) {
    r.dropped++;
    r.t0.delete(r.pending.timestamp);
    r.pending.close();
  }
  r.pending = frame;
  if (!r.painting) paint(r);
}

/** @param {Remote} r */
function countFrame(r) {
  r.windowFrames++;
}

/**
 * Paints the stream's newest decoded frame, then any that came meanwhile.
 * @param {Remote} r
 */
async function paint(r) {
  r.painting = true;
  try {
    while (r.pending && r.canvas && remotes.get(r.key) === r) {
      const frame = r.pending;
      r.pending = null;
      try {
        await paintFrame(r, frame);
      } catch (e) {
        log('paint failed', r.key, /** @type {any} */ (e)?.message ?? e);
      } finally {
        frame.close();
      }
    }
  } finally {
    r.painting = false;
    if (r.pending && (!r.canvas || remotes.get(r.key) !== r)) {
      r.pending.close();
      r.pending = null;
    }
  }
}

/**
 * @param {Remote} r
 * @param {VideoFrame} frame
 */
async function paintFrame(r, frame) {
  const canvas = /** @type {OffscreenCanvas} */ (r.canvas);
  const w = frame.displayWidth;
  const h = frame.displayHeight;
  if (canvas.width !== w || canvas.height !== h) {
    canvas.width = w;
    canvas.height = h;
    r.ctx = null;
  }
  r.ctx ??= /** @type {OffscreenCanvasRenderingContext2D | null} */ (canvas.getContext('2d'));
  const ctx = r.ctx;
  if (!ctx) return;
  const format = frame.format;
  const converted = format === 'I420' || format === 'I420A' || format === 'NV12';
  if (converted && frame.visibleRect && frame.visibleRect.x === 0 && frame.visibleRect.y === 0) {
    const size = frame.allocationSize();
    if (!r.planes || r.planes.byteLength < size) r.planes = new Uint8Array(size);
    const layout = await frame.copyTo(r.planes);
    if (!r.image || r.image.width !== w || r.image.height !== h) r.image = new ImageData(w, h);
    if (format === 'NV12') nv12ToRgba(r.planes, layout, w, h, r.image.data);
    else i420ToRgba(r.planes, layout, w, h, r.image.data);
    ctx.putImageData(r.image, 0, 0);
    if (stampOn) {
      const stamp = readStamp(r.image.data, w, h);
      if (stamp !== null) {
        r.latency.push(stampAgeUs(stamp, nowUs()) / 1000);
        if (r.latency.length > LATENCY_SAMPLES) r.latency.shift();
      }
    }
  } else {
    // RGB frames or a cropped one (not from VP8 software decoders): the engine draws it.
    ctx.drawImage(frame, 0, 0, w, h);
  }
  const t0 = r.t0.get(frame.timestamp);
  r.t0.delete(frame.timestamp);
  if (t0 !== undefined) {
    r.paintMsSum += performance.now() - t0;
    r.paintMsN++;
  }
  r.framesPainted++;
  countFrame(r);
  if (r.framesPainted === 1) self_.postMessage({ t: 'painted', key: r.key });
}

/**
 * @param {Remote} r
 * @param {Uint8Array} data
 */
function decodeAudio(r, data) {
  if (!r.port) return;
  let decoder = /** @type {AudioDecoder | null} */ (r.decoder);
  if (!decoder || decoder.state === 'closed') {
    const d = new AudioDecoder({
      output: (audio) => {
        try {
          if (r.decoder !== d || !r.port) return;
          const pcm = new Float32Array(audio.numberOfFrames);
          try {
            audio.copyTo(pcm, { planeIndex: 0, format: 'f32-planar' });
          } catch {
            audio.copyTo(pcm, { planeIndex: 0 });
          }
          r.framesDecoded++;
          countFrame(r);
          r.port.postMessage({ pcm, rate: audio.sampleRate }, [pcm.buffer]);
        } finally {
          audio.close();
        }
      },
      error: (e) => {
        log('audio decoder error', r.key, e?.message ?? e);
        if (r.decoder === d) r.decoder = null;
      },
    });
    d.configure({ codec: 'opus', sampleRate: OPUS_RATE, numberOfChannels: 1 });
    r.decoder = d;
    decoder = d;
  }
  if (decoder.decodeQueueSize > 10) return;
  try {
    decoder.decode(new EncodedAudioChunk({ type: 'key', timestamp: r.counter++ * 20_000, data }));
  } catch (e) {
    log('audio decode failed', r.key, /** @type {any} */ (e)?.message ?? e);
    closeQuietly(r.decoder);
    r.decoder = null;
  }
}

/** @param {Remote} r */
function closeRemote(r) {
  remotes.delete(r.key);
  closeQuietly(r.decoder);
  r.decoder = null;
  r.pending?.close();
  r.pending = null;
  r.canvas = null;
  r.ctx = null;
  try {
    r.port?.close();
  } catch {
    // already closed
  }
  r.port = null;
}

/** @param {{close(): void, state?: string} | null | undefined} c */
function closeQuietly(c) {
  try {
    if (c && c.state !== 'closed') c.close();
  } catch {
    // closing what is closed
  }
}

/** @param {number[]} xs @param {number} q */
function quantile(xs, q) {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

function postStats() {
  const now = performance.now();
  const remote = [];
  for (const r of remotes.values()) {
    const span = now - r.windowStart;
    if (span >= 500) {
      r.fps = (r.windowFrames * 1000) / span;
      r.windowFrames = 0;
      r.windowStart = now;
    }
    remote.push({
      pc: r.pc,
      transceiver: r.tid,
      kind: r.kind,
      framesDecoded: r.framesDecoded,
      framesPainted: r.framesPainted,
      fps: Math.round(r.fps * 10) / 10,
      gaps: r.gaps,
      dropped: r.dropped,
      stale: r.stale,
      width: r.width,
      height: r.height,
      decodePaintMs: r.paintMsN ? r.paintMsSum / r.paintMsN : null,
      latencyMs: r.latency.length ? { p50: quantile(r.latency, 0.5), p95: quantile(r.latency, 0.95), n: r.latency.length } : null,
    });
  }
  self_.postMessage({
    t: 'stats',
    at: nowUs() / 1000,
    remote,
    unknownFrames,
    video: {
      encodeMs: enc.encodeMsN ? enc.encodeMsSum / enc.encodeMsN : null,
      previewMs: preview.msN ? preview.msSum / preview.msN : null,
      dropped: enc.dropped,
    },
    audio: { captureGapMs: gapFigures(mic.gaps) },
  });
}

const statsTimer = setInterval(postStats, STATS_EVERY_MS);

self_.onmessage = (/** @type {MessageEvent} */ ev) => {
  const m = ev.data;
  try {
    switch (m?.t) {
      case 'encoding': {
        const fps = typeof m.fps === 'number' && m.fps > 0 ? m.fps : enc.fps;
        const bitrate = typeof m.bitrate === 'number' && m.bitrate > 0 ? m.bitrate : undefined;
        if (fps === enc.fps && bitrate === enc.bitrate) break;
        enc.fps = fps;
        enc.bitrate = bitrate;
        // Takes effect with a new configuration (next frame, a keyframe).
        closeQuietly(enc.video);
        enc.video = null;
        break;
      }
      case 'video':
        encodeVideo(m);
        break;
      case 'keyframe':
        enc.forceKey = true;
        break;
      case 'audio-port':
        mic.port?.close();
        mic.port = m.port;
        if (mic.port) mic.port.onmessage = (/** @type {MessageEvent} */ e) => encodeAudio(e.data);
        break;
      case 'audio-send':
        mic.sending = !!m.on;
        break;
      case 'remote':
        addRemote(m);
        break;
      case 'frame':
        onFrame(m.buf, m.at);
        break;
      case 'attach': {
        const r = remotes.get(m.key);
        if (r) {
          r.canvas = m.canvas;
          r.ctx = null;
        }
        break;
      }
      case 'preview':
        preview.canvas = m.canvas ?? null;
        preview.ctx = null;
        preview.painted = 0;
        preview.width = 0;
        preview.height = 0;
        break;
      case 'detach': {
        const r = remotes.get(m.key);
        if (r) {
          r.canvas = null;
          r.ctx = null;
        }
        break;
      }
      case 'close-remote': {
        let closed = 0;
        for (const r of [...remotes.values()]) {
          if (r.pc === m.pc) {
            closeRemote(r);
            closed++;
          }
        }
        self_.postMessage({ t: 'closed-remote', pc: m.pc, closed });
        postStats();
        break;
      }
      case 'stamp':
        stampOn = !!m.on;
        break;
      case 'reset-figures':
        mic.gaps = [];
        enc.encodeMsSum = 0;
        enc.encodeMsN = 0;
        preview.msSum = 0;
        preview.msN = 0;
        for (const r of remotes.values()) {
          r.latency = [];
          r.paintMsSum = 0;
          r.paintMsN = 0;
        }
        break;
      case 'close':
        for (const r of [...remotes.values()]) closeRemote(r);
        closeQuietly(enc.video);
        closeQuietly(mic.encoder);
        preview.canvas = null;
        preview.ctx = null;
        mic.port?.close();
        clearInterval(statsTimer);
        self_.close();
        break;
      default:
        break;
    }
  } catch (e) {
    log('worker:', m?.t, /** @type {any} */ (e)?.message ?? e);
  }
};
