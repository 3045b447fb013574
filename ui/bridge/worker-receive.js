// @ts-check
/**
 * The media worker's in side (media-worker.js): per remote stream a `VideoDecoder`
 * (deltas after a gap skipped, an error resets it and asks for a keyframe) whose newest
 * frame is converted I420 → RGBA in JS (WEBKITGTK.md bugs 2, 3) and `putImageData` into
 * the tile's `OffscreenCanvas`; per remote audio an `AudioDecoder` whose PCM goes
 * straight to the page's playback mixer, over that remote's own MessagePort.
 *
 * Bounded: a decoder that falls behind skips to the next keyframe, frames that waited
 * too long are skipped, and only the newest decoded frame of a stream is kept for
 * painting.
 */
import { parseRemoteFrame, i420ToRgba, nv12ToRgba, readStamp, stampAgeUs, nowUs, gapFigures } from './frames.js';
import { self_, flags, log, closeQuietly, OPUS_RATE } from './worker-shared.js';

/** A decoder with more chunks waiting than this is behind: skip to the next keyframe. */
const MAX_DECODE_QUEUE = 8;
/** Keyframe requests per stream at most this often (the bridge coalesces as well). */
const KEYFRAME_REQUEST_MS = 500;
/** Latency samples kept per stream (the bench reads p50/p95 of these). */
const LATENCY_SAMPLES = 600;
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
export const remotes = new Map();
/** Remote frames taken from the page so far. */
let taken = 0;
let unknownFrames = 0;

/**
 * @param {{key: string, pc: number, tid: number, kind: 'audio' | 'video', port?: MessagePort}} m
 */
export function addRemote(m) {
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
export function onFrame(buf, postedAt) {
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
    if (flags.stampOn) {
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
export function closeRemote(r) {
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

/**
 * p50 / p95 of capture-to-paint samples (ms), one sort (frames.js `gapFigures`).
 * @param {number[]} samples
 */
function latencyFigures(samples) {
  const g = gapFigures(samples);
  return g ? { p50: g.p50, p95: g.p95, n: g.n } : null;
}

/** Each remote stream's figures (rates over the time since the last call), and frames for no known stream. */
export function receiveFigures() {
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
      latencyMs: latencyFigures(r.latency),
    });
  }
  return { remote, unknownFrames };
}

/** The benchmark's figures start over. */
export function resetReceiveFigures() {
  for (const r of remotes.values()) {
    r.latency = [];
    r.paintMsSum = 0;
    r.paintMsN = 0;
  }
}
