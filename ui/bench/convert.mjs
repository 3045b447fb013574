// @ts-check
// convert.mjs: how long the bridged page's media worker takes to turn a decoded I420
// picture into the RGBA it paints (ui/bridge/frames.js), at the sizes calls send. Runs
// in WebKitGTK's own JavaScript engine (`jsc`, package libjavascriptcoregtk-4.0-bin, the
// same JavaScriptCore as the window's) and in Node:
//
//   jsc -m ui/bench/convert.mjs        # the engine the window runs
//   node ui/bench/convert.mjs
//
// Three ways, interleaved in rounds in one run so the machine's noise hits them alike,
// compared as ratios: what ships (lookup tables, two rows at a time, a 32-bit store a
// pixel), its byte-at-a-time fallback (an unaligned output), and the plain per-pixel
// formula the worker used before. Prints figures; judges nothing.
import { i420ToRgba } from '../bridge/frames.js';

const now = globalThis.performance?.now ? () => performance.now() : () => /** @type {any} */ (globalThis).preciseTime() * 1000;
const say = (/** @type {string} */ s) => (globalThis.console?.log ?? /** @type {any} */ (globalThis).print)(s);

/**
 * The per-pixel formula as the worker ran it before (BT.601 limited range).
 * @param {Uint8Array} src
 * @param {{offset: number, stride: number}[]} layout
 * @param {number} width
 * @param {number} height
 * @param {Uint8ClampedArray | Uint8Array} out
 */
function plain(src, layout, width, height, out) {
  const [ly, lu, lv] = layout;
  const clamp8 = (/** @type {number} */ x) => (x < 0 ? 0 : x > 255 ? 255 : x);
  for (let row = 0; row < height; row++) {
    let yi = ly.offset + row * ly.stride;
    let ui = lu.offset + (row >> 1) * lu.stride;
    let vi = lv.offset + (row >> 1) * lv.stride;
    let o = row * width * 4;
    for (let col = 0; col < width; col += 2) {
      const d = src[ui] - 128;
      const e = src[vi] - 128;
      const rc = 409 * e + 128;
      const gc = -100 * d - 208 * e + 128;
      const bc = 516 * d + 128;
      let c = 298 * (src[yi] - 16);
      out[o] = clamp8((c + rc) >> 8);
      out[o + 1] = clamp8((c + gc) >> 8);
      out[o + 2] = clamp8((c + bc) >> 8);
      out[o + 3] = 255;
      if (col + 1 < width) {
        c = 298 * (src[yi + 1] - 16);
        out[o + 4] = clamp8((c + rc) >> 8);
        out[o + 5] = clamp8((c + gc) >> 8);
        out[o + 6] = clamp8((c + bc) >> 8);
        out[o + 7] = 255;
      }
      yi += 2;
      ui++;
      vi++;
      o += 8;
    }
  }
}

const ROUNDS = 7;
for (const [w, h, fps] of [[640, 360, 30], [320, 180, 12]]) {
  const src = new Uint8Array((w * h * 3) / 2);
  for (let i = 0; i < src.length; i++) src[i] = (i * 7 + (i >> 9)) & 255;
  const layout = [
    { offset: 0, stride: w },
    { offset: w * h, stride: w / 2 },
    { offset: (w * h * 5) / 4, stride: w / 2 },
  ];
  const aligned = new Uint8ClampedArray(w * h * 4);
  const unaligned = new Uint8Array(new ArrayBuffer(w * h * 4 + 1), 1);
  /** @type {Record<string, () => void>} */
  const ways = {
    shipped: () => i420ToRgba(src, layout, w, h, aligned),
    'byte fallback': () => i420ToRgba(src, layout, w, h, unaligned),
    'plain (before)': () => plain(src, layout, w, h, aligned),
  };
  /** Frames a round: about the same work at every size. */
  const per = Math.round(4_000_000 / (w * h));
  for (const f of Object.values(ways)) for (let i = 0; i < per; i++) f();
  /** @type {Record<string, number[]>} */
  const ms = {};
  for (let r = 0; r < ROUNDS; r++) {
    for (const [name, f] of Object.entries(ways)) {
      const t0 = now();
      for (let i = 0; i < per; i++) f();
      (ms[name] ??= []).push((now() - t0) / per);
    }
  }
  const median = (/** @type {number[]} */ v) => [...v].sort((a, b) => a - b)[v.length >> 1];
  const base = median(ms['plain (before)']);
  say(`${w}x${h} I420 -> RGBA, median of ${ROUNDS} rounds of ${per} frames:`);
  for (const [name, v] of Object.entries(ms)) {
    const m = median(v);
    say(`  ${name.padEnd(15)} ${m.toFixed(3)} ms/frame  (${(base / m).toFixed(2)}x the plain formula's speed; ${((m * fps) / 10).toFixed(1)}% of a core per remote at ${fps} fps)`);
  }
}
