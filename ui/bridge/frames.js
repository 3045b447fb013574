// @ts-check
/**
 * The pure parts of the bridge's media path, kept free of the DOM and of WebCodecs so
 * node can test them: the binary frame headers of docs/BRIDGE.md (the page's 16-byte
 * header out, the bridge's 20-byte header in), I420/NV12 → RGBA (WebKitGTK's
 * `VideoFrame.copyTo({format: 'RGBA'})` returns I420 anyway and drawing a decoded frame
 * costs 26–50 ms there, so the worker converts in JS and uses `putImageData`), and the
 * benchmark's capture-time stamp (a block pattern drawn into the pixels, readable after
 * VP8 by thresholding, because the bridge → page header does not carry the capture time).
 */

/** Byte 0 of a frame the page sends. */
export const PAGE_FRAME = 0x01;
/** Byte 0 of a frame the bridge delivers. */
export const REMOTE_FRAME = 0x02;
export const PAGE_HEADER_BYTES = 16;
export const REMOTE_HEADER_BYTES = 20;
/** Byte 2: what the frame carries. */
export const KIND_AUDIO = 0;
export const KIND_VIDEO = 1;
const FLAG_KEY = 1;
const FLAG_GAP = 2;

/**
 * @typedef {object} PageFrameHeader
 * @property {boolean} keyframe
 * @property {'audio' | 'video'} kind
 * @property {number} durationUs how far the RTP timestamp advances (u32)
 * @property {number} captureUs capture time in µs (informational; any non-negative integer below 2^53)
 */

/**
 * Builds a page → bridge frame: the 16-byte header, then the encoded bytes as WebCodecs
 * produced them.
 * @param {PageFrameHeader} h
 * @param {Uint8Array} payload
 * @returns {ArrayBuffer}
 */
export function buildPageFrame(h, payload) {
  const buf = new ArrayBuffer(PAGE_HEADER_BYTES + payload.byteLength);
  const v = new DataView(buf);
  v.setUint8(0, PAGE_FRAME);
  v.setUint8(1, h.keyframe || h.kind === 'audio' ? FLAG_KEY : 0);
  v.setUint8(2, h.kind === 'video' ? KIND_VIDEO : KIND_AUDIO);
  v.setUint8(3, 0);
  v.setUint32(4, clampU32(h.durationUs));
  v.setBigUint64(8, BigInt(Math.max(0, Math.floor(h.captureUs))));
  new Uint8Array(buf, PAGE_HEADER_BYTES).set(payload);
  return buf;
}

/**
 * Reads a page frame's header (the loopback test and the bench turn it into a remote frame).
 * @param {ArrayBuffer} buf
 * @returns {(PageFrameHeader & {data: Uint8Array}) | null} null when it is not a page frame
 */
export function parsePageFrame(buf) {
  if (buf.byteLength < PAGE_HEADER_BYTES) return null;
  const v = new DataView(buf);
  if (v.getUint8(0) !== PAGE_FRAME) return null;
  const kind = v.getUint8(2);
  if (kind !== KIND_AUDIO && kind !== KIND_VIDEO) return null;
  return {
    keyframe: (v.getUint8(1) & FLAG_KEY) !== 0,
    kind: kind === KIND_VIDEO ? 'video' : 'audio',
    durationUs: v.getUint32(4),
    captureUs: Number(v.getBigUint64(8)),
    data: new Uint8Array(buf, PAGE_HEADER_BYTES),
  };
}

/**
 * @typedef {object} RemoteFrameHeader
 * @property {boolean} keyframe
 * @property {boolean} afterGap frames of this stream were lost or dropped before this one
 * @property {'audio' | 'video'} kind
 * @property {number} pc the page's id of the peer connection
 * @property {number} transceiver the bridge's transceiver id
 * @property {number} rtpTimestamp 90 kHz video, 48 kHz Opus
 * @property {number} seq frame sequence of this stream
 */

/**
 * Reads a bridge → page frame.
 * @param {ArrayBuffer} buf
 * @returns {(RemoteFrameHeader & {data: Uint8Array}) | null} null for anything else (too short, wrong type or kind)
 */
export function parseRemoteFrame(buf) {
  if (!(buf instanceof ArrayBuffer) || buf.byteLength < REMOTE_HEADER_BYTES) return null;
  const v = new DataView(buf);
  if (v.getUint8(0) !== REMOTE_FRAME) return null;
  const kind = v.getUint8(2);
  if (kind !== KIND_AUDIO && kind !== KIND_VIDEO) return null;
  const flags = v.getUint8(1);
  return {
    keyframe: (flags & FLAG_KEY) !== 0,
    afterGap: (flags & FLAG_GAP) !== 0,
    kind: kind === KIND_VIDEO ? 'video' : 'audio',
    pc: v.getUint32(4),
    transceiver: v.getUint32(8),
    rtpTimestamp: v.getUint32(12),
    seq: v.getUint32(16),
    data: new Uint8Array(buf, REMOTE_HEADER_BYTES),
  };
}

/**
 * Builds a bridge → page frame (what the bridge sends; the loopback test uses it).
 * @param {RemoteFrameHeader} h
 * @param {Uint8Array} payload
 * @returns {ArrayBuffer}
 */
export function buildRemoteFrame(h, payload) {
  const buf = new ArrayBuffer(REMOTE_HEADER_BYTES + payload.byteLength);
  const v = new DataView(buf);
  v.setUint8(0, REMOTE_FRAME);
  v.setUint8(1, (h.keyframe ? FLAG_KEY : 0) | (h.afterGap ? FLAG_GAP : 0));
  v.setUint8(2, h.kind === 'video' ? KIND_VIDEO : KIND_AUDIO);
  v.setUint32(4, clampU32(h.pc));
  v.setUint32(8, clampU32(h.transceiver));
  v.setUint32(12, h.rtpTimestamp >>> 0);
  v.setUint32(16, h.seq >>> 0);
  new Uint8Array(buf, REMOTE_HEADER_BYTES).set(payload);
  return buf;
}

/**
 * Turns a page frame into the remote frame the bridge would deliver for it (as if the
 * page's own stream came back from a peer): the component test's and bench's loopback.
 * @param {ArrayBuffer} pageFrame
 * @param {{pc: number, transceiver: number, seq: number, afterGap?: boolean}} to
 * @returns {ArrayBuffer | null}
 */
export function loopbackFrame(pageFrame, to) {
  const p = parsePageFrame(pageFrame);
  if (!p) return null;
  const rate = p.kind === 'video' ? 90 : 48;
  return buildRemoteFrame(
    {
      keyframe: p.keyframe,
      afterGap: to.afterGap ?? false,
      kind: p.kind,
      pc: to.pc,
      transceiver: to.transceiver,
      rtpTimestamp: Math.floor((p.captureUs / 1000) * rate) >>> 0,
      seq: to.seq,
    },
    p.data,
  );
}

/** @param {number} n */
function clampU32(n) {
  if (!Number.isFinite(n) || n < 0) return 0;
  return Math.min(0xffffffff, Math.floor(n));
}

/**
 * Where a plane starts and how long its rows are, as `VideoFrame.copyTo` reports.
 * @typedef {{offset: number, stride: number}} PlaneLayout
 */

/**
 * I420 (BT.601 limited range, what VP8 carries) → RGBA, opaque. `out` has width × height × 4
 * bytes. Odd sizes are handled (chroma is (w+1)/2 × (h+1)/2).
 * @param {Uint8Array} src the frame's planes
 * @param {PlaneLayout[]} layout Y, U, V
 * @param {number} width
 * @param {number} height
 * @param {Uint8ClampedArray | Uint8Array} out
 */
export function i420ToRgba(src, layout, width, height, out) {
  const [ly, lu, lv] = layout;
  convert(src, width, height, out, ly, lu.offset, lu.stride, lv.offset, lv.stride, 1);
}

/**
 * NV12 (Y plane, then interleaved U/V) → RGBA: what some decoders give instead of I420.
 * @param {Uint8Array} src
 * @param {PlaneLayout[]} layout Y, UV
 * @param {number} width
 * @param {number} height
 * @param {Uint8ClampedArray | Uint8Array} out
 */
export function nv12ToRgba(src, layout, width, height, out) {
  const [ly, luv] = layout;
  convert(src, width, height, out, ly, luv.offset, luv.stride, luv.offset + 1, luv.stride, 2);
}

// BT.601 limited range in integers (the coefficients × 256), looked up by byte: the
// worker converts every remote picture, so the per-pixel work is table reads, adds and
// one 32-bit store (measured in WebKitGTK's JavaScriptCore, `jsc -m
// ui/bench/convert.mjs`: see there).
/** 298 × (Y − 16) */
const Y_TERM = new Int32Array(256);
/** 409 × (V − 128) + 128: red's chroma term (with rounding) */
const R_TERM = new Int32Array(256);
/** −100 × (U − 128) and −208 × (V − 128) + 128: green's */
const GU_TERM = new Int32Array(256);
const GV_TERM = new Int32Array(256);
/** 516 × (U − 128) + 128: blue's */
const B_TERM = new Int32Array(256);
for (let i = 0; i < 256; i++) {
  Y_TERM[i] = 298 * (i - 16);
  R_TERM[i] = 409 * (i - 128) + 128;
  GU_TERM[i] = -100 * (i - 128);
  GV_TERM[i] = -208 * (i - 128) + 128;
  B_TERM[i] = 516 * (i - 128) + 128;
}
/** (term sum) >> 8 lies in [−277, 534]: clamped to 0..255 by one lookup at +CLAMP_AT. */
const CLAMP_AT = 384;
const CLAMP = new Uint8Array(1024);
for (let i = 0; i < 1024; i++) CLAMP[i] = clamp8(i - CLAMP_AT);
/** Whether a Uint32 store puts its low byte first (RGBA as R | G<<8 | B<<16 | A<<24). */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * One opaque RGBA pixel as a little-endian 32-bit word.
 * @param {number} c the luma term
 * @param {number} rc
 * @param {number} gc
 * @param {number} bc
 */
function pixel(c, rc, gc, bc) {
  return 0xff000000 | (CLAMP[((c + bc) >> 8) + CLAMP_AT] << 16) | (CLAMP[((c + gc) >> 8) + CLAMP_AT] << 8) | CLAMP[((c + rc) >> 8) + CLAMP_AT];
}

/**
 * One opaque RGBA pixel written a byte at a time at `out[o]`.
 * @param {Uint8ClampedArray | Uint8Array} out
 * @param {number} o
 * @param {number} c the luma term
 * @param {number} rc
 * @param {number} gc
 * @param {number} bc
 */
function putPixel(out, o, c, rc, gc, bc) {
  out[o] = CLAMP[((c + rc) >> 8) + CLAMP_AT];
  out[o + 1] = CLAMP[((c + gc) >> 8) + CLAMP_AT];
  out[o + 2] = CLAMP[((c + bc) >> 8) + CLAMP_AT];
  out[o + 3] = 255;
}

/**
 * 4:2:0 → RGBA, two rows at a time (they share their chroma row), a 32-bit store a pixel.
 * @param {Uint8Array} src
 * @param {number} width
 * @param {number} height
 * @param {Uint8ClampedArray | Uint8Array} out
 * @param {PlaneLayout} ly
 * @param {number} uOff
 * @param {number} uStride
 * @param {number} vOff
 * @param {number} vStride
 * @param {number} step distance between chroma samples of one row (1 planar, 2 interleaved)
 */
function convert(src, width, height, out, ly, uOff, uStride, vOff, vStride, step) {
  if (!LITTLE_ENDIAN || out.byteOffset % 4 !== 0) {
    convertBytes(src, width, height, out, ly, uOff, uStride, vOff, vStride, step);
    return;
  }
  const px = new Uint32Array(out.buffer, out.byteOffset, width * height);
  const pairs = width >> 1;
  for (let row = 0; row < height; row += 2) {
    // An odd last row is converted as the first of a pair whose second row is itself.
    const second = row + 1 < height ? 1 : 0;
    let y0 = ly.offset + row * ly.stride;
    let y1 = y0 + second * ly.stride;
    let ui = uOff + (row >> 1) * uStride;
    let vi = vOff + (row >> 1) * vStride;
    let o0 = row * width;
    let o1 = o0 + second * width;
    for (let k = 0; k < pairs; k++) {
      const u = src[ui];
      const v = src[vi];
      const rc = R_TERM[v];
      const gc = GU_TERM[u] + GV_TERM[v];
      const bc = B_TERM[u];
      px[o0] = pixel(Y_TERM[src[y0]], rc, gc, bc);
      px[o0 + 1] = pixel(Y_TERM[src[y0 + 1]], rc, gc, bc);
      px[o1] = pixel(Y_TERM[src[y1]], rc, gc, bc);
      px[o1 + 1] = pixel(Y_TERM[src[y1 + 1]], rc, gc, bc);
      y0 += 2;
      y1 += 2;
      ui += step;
      vi += step;
      o0 += 2;
      o1 += 2;
    }
    if (width & 1) {
      const u = src[ui];
      const v = src[vi];
      const rc = R_TERM[v];
      const gc = GU_TERM[u] + GV_TERM[v];
      const bc = B_TERM[u];
      px[o0] = pixel(Y_TERM[src[y0]], rc, gc, bc);
      px[o1] = pixel(Y_TERM[src[y1]], rc, gc, bc);
    }
  }
}

/**
 * The same, a byte at a time: for an `out` a 32-bit view cannot cover (an unaligned
 * offset) or a big-endian machine.
 * @param {Uint8Array} src
 * @param {number} width
 * @param {number} height
 * @param {Uint8ClampedArray | Uint8Array} out
 * @param {PlaneLayout} ly
 * @param {number} uOff
 * @param {number} uStride
 * @param {number} vOff
 * @param {number} vStride
 * @param {number} step
 */
function convertBytes(src, width, height, out, ly, uOff, uStride, vOff, vStride, step) {
  for (let row = 0; row < height; row++) {
    let yi = ly.offset + row * ly.stride;
    const crow = row >> 1;
    let ui = uOff + crow * uStride;
    let vi = vOff + crow * vStride;
    let o = row * width * 4;
    for (let col = 0; col < width; col += 2) {
      const u = src[ui];
      const v = src[vi];
      const rc = R_TERM[v];
      const gc = GU_TERM[u] + GV_TERM[v];
      const bc = B_TERM[u];
      putPixel(out, o, Y_TERM[src[yi]], rc, gc, bc);
      if (col + 1 < width) putPixel(out, o + 4, Y_TERM[src[yi + 1]], rc, gc, bc);
      yi += 2;
      ui += step;
      vi += step;
      o += 8;
    }
  }
}

/**
 * Any format {@link frameToRgba} knows → RGBA at half the width and height (rounded down),
 * one pixel for each 2×2 block (its top-left luma, and the block's one chroma sample in
 * I420/NV12): a quarter of the work, for a picture shown small (the self view).
 * @param {Uint8Array} src
 * @param {string} format
 * @param {PlaneLayout[]} layout
 * @param {number} width the frame's
 * @param {number} height
 * @param {Uint8ClampedArray | Uint8Array} out (width >> 1) × (height >> 1) × 4 bytes
 * @returns {boolean} false for a format it does not know
 */
export function frameToRgbaHalf(src, format, layout, width, height, out) {
  const w = width >> 1;
  const h = height >> 1;
  const planar = format === 'I420' || format === 'I420A';
  if (planar || format === 'NV12') {
    const ly = layout[0];
    const uOff = layout[1].offset;
    const uStride = layout[1].stride;
    const vOff = planar ? layout[2].offset : uOff + 1;
    const vStride = planar ? layout[2].stride : uStride;
    const step = planar ? 1 : 2;
    const words = LITTLE_ENDIAN && out.byteOffset % 4 === 0;
    const px = words ? new Uint32Array(out.buffer, out.byteOffset, w * h) : null;
    for (let row = 0; row < h; row++) {
      let yi = ly.offset + 2 * row * ly.stride;
      let ui = uOff + row * uStride;
      let vi = vOff + row * vStride;
      let o = row * w;
      for (let col = 0; col < w; col++) {
        const u = src[ui];
        const v = src[vi];
        const c = Y_TERM[src[yi]];
        const rc = R_TERM[v];
        const gc = GU_TERM[u] + GV_TERM[v];
        const bc = B_TERM[u];
        if (px) px[o] = pixel(c, rc, gc, bc);
        else putPixel(out, 4 * o, c, rc, gc, bc);
        yi += 2;
        ui += step;
        vi += step;
        o++;
      }
    }
    return true;
  }
  return packedToRgba(src, format, layout[0], w, h, 2, out);
}

/** Formats whose single plane is 4 bytes a pixel, and where red sits in it. */
const PACKED = /** @type {Record<string, number>} */ ({ RGBA: 0, RGBX: 0, BGRA: 2, BGRX: 2 });

/**
 * Any frame format WebCodecs hands out for camera or decoded frames (I420, I420A, NV12,
 * RGBA, RGBX, BGRA, BGRX) → RGBA, opaque.
 * @param {Uint8Array} src
 * @param {string} format
 * @param {PlaneLayout[]} layout
 * @param {number} width
 * @param {number} height
 * @param {Uint8ClampedArray | Uint8Array} out width × height × 4 bytes
 * @returns {boolean} false for a format it does not know
 */
export function frameToRgba(src, format, layout, width, height, out) {
  if (format === 'I420' || format === 'I420A') {
    i420ToRgba(src, layout, width, height, out);
    return true;
  }
  if (format === 'NV12') {
    nv12ToRgba(src, layout, width, height, out);
    return true;
  }
  return packedToRgba(src, format, layout[0], width, height, 1, out);
}

/**
 * A 4-bytes-a-pixel frame ({@link PACKED}) → RGBA, opaque, taking every `k`-th pixel of
 * every `k`-th row (1: all of it; 2: half size).
 * @param {Uint8Array} src
 * @param {string} format
 * @param {PlaneLayout} plane
 * @param {number} w the size written
 * @param {number} h
 * @param {number} k
 * @param {Uint8ClampedArray | Uint8Array} out w × h × 4 bytes
 * @returns {boolean} false for a format it does not know
 */
function packedToRgba(src, format, plane, w, h, k, out) {
  const red = PACKED[format];
  if (red === undefined) return false;
  const blue = 2 - red;
  for (let row = 0; row < h; row++) {
    let i = plane.offset + k * row * plane.stride;
    let o = row * w * 4;
    for (let col = 0; col < w; col++, i += 4 * k, o += 4) {
      out[o] = src[i + red];
      out[o + 1] = src[i + 1];
      out[o + 2] = src[i + blue];
      out[o + 3] = 255;
    }
  }
  return true;
}

/**
 * Scales an RGBA image down (the one encoding's `scaleResolutionDownBy`): an average of
 * k×k pixels for a whole factor k, the nearest pixel otherwise.
 * @param {Uint8ClampedArray | Uint8Array} src
 * @param {number} sw
 * @param {number} sh
 * @param {Uint8ClampedArray | Uint8Array} out tw × th × 4 bytes
 * @param {number} tw
 * @param {number} th
 */
export function scaleRgba(src, sw, sh, out, tw, th) {
  const k = sw / tw;
  if (Number.isInteger(k) && k === sh / th && k >= 1) {
    const n = k * k;
    for (let y = 0; y < th; y++) {
      for (let x = 0; x < tw; x++) {
        let r = 0;
        let g = 0;
        let b = 0;
        for (let dy = 0; dy < k; dy++) {
          let i = ((y * k + dy) * sw + x * k) * 4;
          for (let dx = 0; dx < k; dx++, i += 4) {
            r += src[i];
            g += src[i + 1];
            b += src[i + 2];
          }
        }
        const o = (y * tw + x) * 4;
        out[o] = r / n;
        out[o + 1] = g / n;
        out[o + 2] = b / n;
        out[o + 3] = 255;
      }
    }
    return;
  }
  for (let y = 0; y < th; y++) {
    const sy = Math.min(sh - 1, Math.floor(((y + 0.5) * sh) / th));
    for (let x = 0; x < tw; x++) {
      const sx = Math.min(sw - 1, Math.floor(((x + 0.5) * sw) / tw));
      const i = (sy * sw + sx) * 4;
      const o = (y * tw + x) * 4;
      out[o] = src[i];
      out[o + 1] = src[i + 1];
      out[o + 2] = src[i + 2];
      out[o + 3] = 255;
    }
  }
}

/** @param {number} x */
function clamp8(x) {
  return x < 0 ? 0 : x > 255 ? 255 : x;
}

// ---- the benchmark's capture-time stamp ----

/** Columns × rows of blocks: 40 bits of time (µs modulo 2^40, ~12.7 days) and an 8-bit check. */
const STAMP_COLS = 8;
const STAMP_ROWS = 6;
const STAMP_BITS = 40;
/** The stamp's time field wraps here; a reader takes differences modulo it. */
export const STAMP_MODULO = 2 ** STAMP_BITS;

/**
 * Side of one stamp block in pixels for a frame `width` wide: large enough to survive VP8 at
 * low bitrates, even so it lines up with chroma; both ends compute it from the same width.
 * @param {number} width
 * @param {number} height
 * @returns {number} 0 when the frame is too small to carry a stamp
 */
export function stampBlock(width, height) {
  const b = Math.max(4, 2 * Math.floor(width / 80));
  return b * STAMP_COLS <= width && b * STAMP_ROWS <= height ? b : 0;
}

/** @param {number} us */
function stampBits(us) {
  const v = Math.floor(us) % STAMP_MODULO;
  /** @type {number[]} */
  const bytes = [];
  let rest = v;
  for (let i = 0; i < 5; i++) {
    bytes.push(rest % 256);
    rest = Math.floor(rest / 256);
  }
  const check = bytes.reduce((a, b) => a ^ b, 0x5a);
  /** @type {number[]} */
  const bits = [];
  for (const byte of [...bytes, check]) for (let i = 0; i < 8; i++) bits.push((byte >> i) & 1);
  return bits;
}

/**
 * Draws the capture time into the top-left corner of an RGBA image: 48 black/white
 * blocks (only when `globalThis.__lanmeetBenchStamp` is on: it spoils the picture).
 * @param {Uint8ClampedArray | Uint8Array} rgba
 * @param {number} width
 * @param {number} height
 * @param {number} us capture time in µs (performance.timeOrigin + performance.now(), × 1000)
 * @returns {boolean} false when the frame is too small
 */
export function writeStamp(rgba, width, height, us) {
  const b = stampBlock(width, height);
  if (!b) return false;
  const bits = stampBits(us);
  for (let i = 0; i < bits.length; i++) {
    const bx = (i % STAMP_COLS) * b;
    const by = Math.floor(i / STAMP_COLS) * b;
    const val = bits[i] ? 255 : 0;
    for (let y = by; y < by + b; y++) {
      let o = (y * width + bx) * 4;
      for (let x = 0; x < b; x++, o += 4) {
        rgba[o] = val;
        rgba[o + 1] = val;
        rgba[o + 2] = val;
        rgba[o + 3] = 255;
      }
    }
  }
  return true;
}

/**
 * {@link writeStamp} on a camera frame as `VideoFrame.copyTo` gave it (the page stamps
 * before the worker encodes): packed RGB formats get black/white pixels, I420/NV12 get
 * luma 16/235 with neutral chroma.
 * @param {Uint8Array} bytes
 * @param {string} format
 * @param {PlaneLayout[]} layout
 * @param {number} width
 * @param {number} height
 * @param {number} us
 * @returns {boolean} false when the frame is too small or its format unknown
 */
export function writeStampFrame(bytes, format, layout, width, height, us) {
  const b = stampBlock(width, height);
  if (!b) return false;
  const packed = PACKED[format] !== undefined;
  const planar = format === 'I420' || format === 'I420A' || format === 'NV12';
  if (!packed && !planar) return false;
  const bits = stampBits(us);
  for (let i = 0; i < bits.length; i++) {
    const bx = (i % STAMP_COLS) * b;
    const by = Math.floor(i / STAMP_COLS) * b;
    if (packed) {
      const val = bits[i] ? 255 : 0;
      const { offset, stride } = layout[0];
      for (let y = by; y < by + b; y++) {
        let o = offset + y * stride + bx * 4;
        for (let x = 0; x < b; x++, o += 4) {
          bytes[o] = val;
          bytes[o + 1] = val;
          bytes[o + 2] = val;
          bytes[o + 3] = 255;
        }
      }
      continue;
    }
    const luma = bits[i] ? 235 : 16;
    const ly = layout[0];
    for (let y = by; y < by + b; y++) bytes.fill(luma, ly.offset + y * ly.stride + bx, ly.offset + y * ly.stride + bx + b);
    // Neutral chroma under the block (b is even, so blocks cover whole chroma samples).
    const cb = b / 2;
    for (let y = by / 2; y < by / 2 + cb; y++) {
      if (format === 'NV12') {
        const uv = layout[1];
        bytes.fill(128, uv.offset + y * uv.stride + bx, uv.offset + y * uv.stride + bx + b);
      } else {
        for (const pl of [layout[1], layout[2]]) bytes.fill(128, pl.offset + y * pl.stride + bx / 2, pl.offset + y * pl.stride + bx / 2 + cb);
      }
    }
  }
  return true;
}

/**
 * Reads a stamp back from an RGBA image (after VP8: each block's middle half is averaged
 * and thresholded).
 * @param {Uint8ClampedArray | Uint8Array} rgba
 * @param {number} width
 * @param {number} height
 * @returns {number | null} the time field (µs modulo {@link STAMP_MODULO}), or null when
 *   there is no valid stamp (the check byte does not match)
 */
export function readStamp(rgba, width, height) {
  const b = stampBlock(width, height);
  return b ? readStampAt(rgba, width, b) : null;
}

/**
 * Microseconds from a stamp to `nowUs` (both on one machine's clock), modulo the stamp's wrap.
 * @param {number} stamp from {@link readStamp}
 * @param {number} nowUs
 */
export function stampAgeUs(stamp, nowUs) {
  return (((Math.floor(nowUs) - stamp) % STAMP_MODULO) + STAMP_MODULO) % STAMP_MODULO;
}

/** Now in µs on the machine's clock, comparable across pages and workers of one machine. */
export function nowUs() {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

/**
 * In a browser page (e.g. a Chromium peer of the bench): reads the stamp from what a
 * `<video>` shows now. Draws the top-left corner into a small canvas.
 * @param {HTMLVideoElement} video
 * @returns {number | null} capture-to-now in ms, or null without a stamp
 */
export function readStampFromVideo(video) {
  const w = video.videoWidth;
  const h = video.videoHeight;
  const b = stampBlock(w, h);
  if (!b) return null;
  const cw = b * STAMP_COLS;
  const ch = b * STAMP_ROWS;
  const canvas = new OffscreenCanvas(cw, ch);
  const ctx = /** @type {OffscreenCanvasRenderingContext2D | null} */ (canvas.getContext('2d', { willReadFrequently: true }));
  if (!ctx) return null;
  ctx.drawImage(video, 0, 0, cw, ch, 0, 0, cw, ch);
  const px = ctx.getImageData(0, 0, cw, ch).data;
  const stamp = readStampAt(px, cw, b);
  return stamp === null ? null : stampAgeUs(stamp, nowUs()) / 1000;
}

/**
 * Reads the stamp's blocks (side `block`) from the top-left of an RGBA image `width` wide.
 * @param {Uint8ClampedArray | Uint8Array} rgba
 * @param {number} width
 * @param {number} block
 * @returns {number | null}
 */
export function readStampAt(rgba, width, block) {
  const q = block >> 2;
  /** @type {number[]} */
  const bits = [];
  for (let i = 0; i < STAMP_COLS * STAMP_ROWS; i++) {
    const bx = (i % STAMP_COLS) * block;
    const by = Math.floor(i / STAMP_COLS) * block;
    let sum = 0;
    let n = 0;
    for (let y = by + q; y < by + block - q; y++) {
      let o = (y * width + bx + q) * 4;
      for (let x = q; x < block - q; x++, o += 4) {
        sum += (rgba[o] * 77 + rgba[o + 1] * 150 + rgba[o + 2] * 29) >> 8;
        n++;
      }
    }
    bits.push(sum / n >= 128 ? 1 : 0);
  }
  return decodeStampBits(bits);
}

/** @param {number[]} bits */
function decodeStampBits(bits) {
  const bytes = [];
  for (let k = 0; k < 6; k++) {
    let byte = 0;
    for (let i = 0; i < 8; i++) byte |= bits[k * 8 + i] << i;
    bytes.push(byte);
  }
  const check = bytes.slice(0, 5).reduce((a, c) => a ^ c, 0x5a);
  if (check !== bytes[5]) return null;
  let v = 0;
  for (let k = 4; k >= 0; k--) v = v * 256 + bytes[k];
  return v;
}

/**
 * The median, 95th percentile and largest of some gaps between events (ms), or null
 * without any: how evenly media came (the benchmark's rhythm figures).
 * @param {number[]} gaps
 * @returns {{p50: number, p95: number, max: number, n: number} | null}
 */
export function gapFigures(gaps) {
  if (!gaps.length) return null;
  const s = [...gaps].sort((a, b) => a - b);
  const at = (/** @type {number} */ q) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
  return { p50: at(0.5), p95: at(0.95), max: s[s.length - 1], n: s.length };
}
