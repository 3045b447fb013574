import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  buildPageFrame,
  parsePageFrame,
  parseRemoteFrame,
  buildRemoteFrame,
  loopbackFrame,
  i420ToRgba,
  nv12ToRgba,
  writeStamp,
  readStamp,
  readStampAt,
  frameToRgba,
  frameToRgbaHalf,
  scaleRgba,
  writeStampFrame,
  stampBlock,
  stampAgeUs,
  STAMP_MODULO,
} from '../../bridge/frames.js';

test('page frame header: the 16 bytes of docs/BRIDGE.md, big endian', () => {
  const buf = buildPageFrame({ keyframe: true, kind: 'video', durationUs: 33_333, captureUs: 0x0102030405 }, new Uint8Array([9, 8, 7]));
  assert.deepEqual(
    [...new Uint8Array(buf)],
    [0x01, 1, 1, 0, 0, 0, 0x82, 0x35, 0, 0, 0, 0x01, 0x02, 0x03, 0x04, 0x05, 9, 8, 7],
  );
  const delta = new Uint8Array(buildPageFrame({ keyframe: false, kind: 'video', durationUs: 1, captureUs: 0 }, new Uint8Array(0)));
  assert.equal(delta[1], 0);
  assert.equal(delta.length, 16);
});

test('page frame: audio is always flagged as a keyframe; parse reads back what was built', () => {
  const buf = buildPageFrame({ keyframe: false, kind: 'audio', durationUs: 20_000, captureUs: 1_764_300_000_123_456 }, new Uint8Array([1, 2]));
  const p = parsePageFrame(buf);
  assert.ok(p);
  assert.equal(p.keyframe, true);
  assert.equal(p.kind, 'audio');
  assert.equal(p.durationUs, 20_000);
  assert.equal(p.captureUs, 1_764_300_000_123_456);
  assert.deepEqual([...p.data], [1, 2]);
  assert.equal(parsePageFrame(new ArrayBuffer(15)), null);
});

test('remote frame header: fields at their offsets, flags keyframe and after-gap', () => {
  const b = new Uint8Array(24);
  b.set([0x02, 0b11, 1, 0, 0, 0, 0, 7, 0, 0, 0, 3, 0xff, 0xff, 0xff, 0xfe, 0, 0, 1, 0, 0xaa, 0xbb, 0xcc, 0xdd]);
  const f = parseRemoteFrame(b.buffer);
  assert.ok(f);
  assert.deepEqual(
    { ...f, data: [...f.data] },
    { keyframe: true, afterGap: true, kind: 'video', pc: 7, transceiver: 3, rtpTimestamp: 0xfffffffe, seq: 256, data: [0xaa, 0xbb, 0xcc, 0xdd] },
  );
  b[1] = 0b10;
  b[2] = 0;
  const g = parseRemoteFrame(b.buffer);
  assert.equal(g?.keyframe, false);
  assert.equal(g?.afterGap, true);
  assert.equal(g?.kind, 'audio');
});

test('remote frame: anything else is refused, not misread', () => {
  assert.equal(parseRemoteFrame(new ArrayBuffer(19)), null, 'too short');
  const wrongType = new Uint8Array(20);
  wrongType[0] = 0x01;
  assert.equal(parseRemoteFrame(wrongType.buffer), null, 'a page frame');
  const badKind = new Uint8Array(20);
  badKind[0] = 0x02;
  badKind[2] = 5;
  assert.equal(parseRemoteFrame(badKind.buffer), null, 'unknown kind');
  assert.equal(parseRemoteFrame(/** @type {any} */ ('text')), null, 'not binary');
  const empty = new Uint8Array(20);
  empty[0] = 0x02;
  assert.equal(parseRemoteFrame(empty.buffer)?.data.length, 0, 'an empty payload is a frame');
});

test('loopback: a page frame becomes the remote frame the bridge would deliver', () => {
  const page = buildPageFrame({ keyframe: true, kind: 'video', durationUs: 33_333, captureUs: 2_000_000 }, new Uint8Array([5, 6]));
  const r = parseRemoteFrame(/** @type {ArrayBuffer} */ (loopbackFrame(page, { pc: 4, transceiver: 9, seq: 12 })));
  assert.ok(r);
  assert.equal(r.pc, 4);
  assert.equal(r.transceiver, 9);
  assert.equal(r.seq, 12);
  assert.equal(r.keyframe, true);
  assert.equal(r.afterGap, false);
  assert.equal(r.rtpTimestamp, 180_000, '2 s at 90 kHz');
  assert.deepEqual([...r.data], [5, 6]);
  const again = parseRemoteFrame(buildRemoteFrame({ ...r }, r.data));
  assert.deepEqual({ ...again, data: [...(again?.data ?? [])] }, { ...r, data: [...r.data] });
});

/**
 * A 4×2 I420 image with padded rows (stride 8 for Y, 4 for chroma): left half one
 * colour, right half another.
 */
function i420Fixture() {
  const ys = 8;
  const cs = 4;
  const src = new Uint8Array(ys * 2 + cs * 1 * 2).fill(0x77);
  const layout = [
    { offset: 0, stride: ys },
    { offset: ys * 2, stride: cs },
    { offset: ys * 2 + cs, stride: cs },
  ];
  // Y: black (16) and white (235) on the left, red's luma on the right.
  src.set([16, 235, 81, 81], 0);
  src.set([16, 235, 81, 81], ys);
  // Chroma: neutral on the left, red on the right.
  src[layout[1].offset] = 128;
  src[layout[1].offset + 1] = 90;
  src[layout[2].offset] = 128;
  src[layout[2].offset + 1] = 240;
  return { src, layout };
}

test('I420 → RGBA: black, white and red land on their known values (BT.601, padded strides)', () => {
  const { src, layout } = i420Fixture();
  const out = new Uint8ClampedArray(4 * 2 * 4);
  i420ToRgba(src, layout, 4, 2, out);
  const px = (x, y) => [...out.slice((y * 4 + x) * 4, (y * 4 + x) * 4 + 4)];
  assert.deepEqual(px(0, 0), [0, 0, 0, 255]);
  assert.deepEqual(px(1, 1), [255, 255, 255, 255]);
  const red = px(2, 0);
  assert.ok(red[0] >= 250 && red[1] <= 5 && red[2] <= 5 && red[3] === 255, `red: ${red}`);
  assert.deepEqual(px(3, 1), red);
});

test('NV12 → RGBA matches I420 for the same picture', () => {
  const { src, layout } = i420Fixture();
  const nv = new Uint8Array(16 + 4);
  nv.set(src.subarray(0, 16));
  nv.set([128, 128, 90, 240], 16);
  const a = new Uint8ClampedArray(32);
  const b = new Uint8ClampedArray(32);
  i420ToRgba(src, layout, 4, 2, a);
  nv12ToRgba(nv, [{ offset: 0, stride: 8 }, { offset: 16, stride: 4 }], 4, 2, b);
  assert.deepEqual([...b], [...a]);
});

test('I420 → RGBA: odd sizes convert every pixel and write nothing past the end', () => {
  const w = 3;
  const h = 3;
  const src = new Uint8Array(9 + 4 + 4).fill(128);
  src.fill(235, 0, 9);
  const out = new Uint8ClampedArray(w * h * 4 + 4).fill(7);
  i420ToRgba(src, [{ offset: 0, stride: 3 }, { offset: 9, stride: 2 }, { offset: 13, stride: 2 }], w, h, out);
  for (let i = 0; i < w * h; i++) assert.deepEqual([...out.slice(i * 4, i * 4 + 4)], [255, 255, 255, 255], `pixel ${i}`);
  assert.deepEqual([...out.slice(w * h * 4)], [7, 7, 7, 7]);
});

/**
 * The conversion written out plainly, pixel by pixel (BT.601 limited range, the
 * coefficients × 256): what the table-driven, two-rows-at-a-time code must equal.
 */
function referenceRgba(src, ly, uOff, uStride, vOff, vStride, step, width, height) {
  const clamp = (x) => (x < 0 ? 0 : x > 255 ? 255 : x);
  const out = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const c = 298 * (src[ly.offset + y * ly.stride + x] - 16);
      const d = src[uOff + (y >> 1) * uStride + (x >> 1) * step] - 128;
      const e = src[vOff + (y >> 1) * vStride + (x >> 1) * step] - 128;
      const o = (y * width + x) * 4;
      out[o] = clamp((c + 409 * e + 128) >> 8);
      out[o + 1] = clamp((c - 100 * d - 208 * e + 128) >> 8);
      out[o + 2] = clamp((c + 516 * d + 128) >> 8);
      out[o + 3] = 255;
    }
  }
  return out;
}

test('I420 and NV12 → RGBA equal the plain formula on random pictures of every size parity, padded strides, aligned or not', () => {
  let seed = 12345;
  const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) >> 16) & 255;
  for (const [w, h] of [[6, 4], [7, 5], [1, 1], [2, 3], [33, 17]]) {
    const cw = (w + 1) >> 1;
    const ch = (h + 1) >> 1;
    const ly = { offset: 3, stride: w + 5 };
    const uOff = ly.offset + h * ly.stride + 2;
    const uStride = cw + 3;
    const vOff = uOff + ch * uStride + 1;
    const src = new Uint8Array(vOff + ch * uStride + 8);
    for (let i = 0; i < src.length; i++) src[i] = rand();
    const want = referenceRgba(src, ly, uOff, uStride, vOff, uStride, 1, w, h);
    const layout = [ly, { offset: uOff, stride: uStride }, { offset: vOff, stride: uStride }];
    const aligned = new Uint8ClampedArray(w * h * 4);
    i420ToRgba(src, layout, w, h, aligned);
    assert.deepEqual([...aligned], [...want], `I420 ${w}x${h}`);
    // An `out` at an odd byte offset takes the byte-at-a-time path: the same bytes.
    const unaligned = new Uint8Array(new ArrayBuffer(w * h * 4 + 1), 1);
    i420ToRgba(src, layout, w, h, unaligned);
    assert.deepEqual([...unaligned], [...want], `I420 ${w}x${h}, unaligned`);
    // NV12: U and V interleaved in one plane.
    const uvStride = 2 * cw + 2;
    const nv = new Uint8Array(uOff + ch * uvStride + 4);
    for (let i = 0; i < nv.length; i++) nv[i] = rand();
    const nvWant = referenceRgba(nv, ly, uOff, uvStride, uOff + 1, uvStride, 2, w, h);
    const nvOut = new Uint8ClampedArray(w * h * 4);
    nv12ToRgba(nv, [ly, { offset: uOff, stride: uvStride }], w, h, nvOut);
    assert.deepEqual([...nvOut], [...nvWant], `NV12 ${w}x${h}`);
  }
});

test('stamp: written into pixels, read back; a picture without one reads as none', () => {
  for (const [w, h] of [[640, 360], [320, 180], [160, 90]]) {
    const rgba = new Uint8ClampedArray(w * h * 4).fill(128);
    const us = 1_764_300_000_123_456;
    assert.ok(writeStamp(rgba, w, h, us));
    assert.equal(readStamp(rgba, w, h), us % STAMP_MODULO, `${w}x${h}`);
    const b = stampBlock(w, h);
    assert.equal(readStampAt(rgba, w, b), us % STAMP_MODULO);
    assert.equal(readStamp(new Uint8ClampedArray(w * h * 4).fill(128), w, h), null);
    assert.equal(readStamp(new Uint8ClampedArray(w * h * 4), w, h), null, 'all black');
  }
  assert.equal(writeStamp(new Uint8ClampedArray(16 * 8 * 4), 16, 8, 1), false, 'too small');
});

test('stamp: survives codec-like noise on every pixel, a flipped block is caught', () => {
  const w = 320;
  const h = 180;
  const rgba = new Uint8ClampedArray(w * h * 4);
  const us = 987_654_321_012;
  writeStamp(rgba, w, h, us);
  let seed = 1;
  const noisy = rgba.map((v, i) => {
    if (i % 4 === 3) return v;
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return v + ((seed % 121) - 60);
  });
  assert.equal(readStamp(noisy, w, h), us % STAMP_MODULO);
  const b = stampBlock(w, h);
  // Flip block 3 (a time bit): the check byte no longer matches.
  for (let y = 0; y < b; y++) for (let x = 3 * b; x < 4 * b; x++) for (let c = 0; c < 3; c++) noisy[(y * w + x) * 4 + c] = 255 - noisy[(y * w + x) * 4 + c];
  assert.equal(readStamp(noisy, w, h), null);
});

test('stamp age: differences across the wrap', () => {
  assert.equal(stampAgeUs(100, 150), 50);
  assert.equal(stampAgeUs(STAMP_MODULO - 10, STAMP_MODULO * 3 + 5), 15);
});

test('frameToRgba: packed BGRA/RGBX swizzled, planar converted, unknown refused', () => {
  const bgra = new Uint8Array([10, 20, 30, 0, 40, 50, 60, 0, 99, 99, 99, 99]);
  const out = new Uint8ClampedArray(8);
  assert.equal(frameToRgba(bgra, 'BGRA', [{ offset: 0, stride: 12 }], 2, 1, out), true);
  assert.deepEqual([...out], [30, 20, 10, 255, 60, 50, 40, 255]);
  assert.equal(frameToRgba(bgra, 'RGBX', [{ offset: 0, stride: 12 }], 2, 1, out), true);
  assert.deepEqual([...out], [10, 20, 30, 255, 40, 50, 60, 255]);
  assert.equal(frameToRgba(bgra, 'I444', [{ offset: 0, stride: 2 }], 2, 1, out), false);
});

test('frameToRgbaHalf: each pixel is the full conversion\'s top-left pixel of its 2x2 block, in every format', () => {
  const w = 10;
  const h = 6;
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) & 0xff;
  // I420 with padded strides, NV12, and BGRA: the same random bytes laid out three ways.
  const i420 = Uint8Array.from({ length: 12 * h + 2 * 6 * (h / 2) }, rand);
  const il = [{ offset: 0, stride: 12 }, { offset: 12 * h, stride: 6 }, { offset: 12 * h + 6 * (h / 2), stride: 6 }];
  const nv12 = Uint8Array.from({ length: w * h + w * (h / 2) }, rand);
  const nl = [{ offset: 0, stride: w }, { offset: w * h, stride: w }];
  const bgra = Uint8Array.from({ length: w * 4 * h }, rand);
  const bl = [{ offset: 0, stride: w * 4 }];
  for (const [format, src, layout] of /** @type {[string, Uint8Array, any][]} */ ([['I420', i420, il], ['NV12', nv12, nl], ['BGRA', bgra, bl]])) {
    const full = new Uint8ClampedArray(w * h * 4);
    const half = new Uint8ClampedArray((w / 2) * (h / 2) * 4);
    assert.equal(frameToRgba(src, format, layout, w, h, full), true);
    assert.equal(frameToRgbaHalf(src, format, layout, w, h, half), true);
    for (let r = 0; r < h / 2; r++) {
      for (let c = 0; c < w / 2; c++) {
        const a = ((2 * r) * w + 2 * c) * 4;
        const b = (r * (w / 2) + c) * 4;
        assert.deepEqual([...half.subarray(b, b + 4)], [...full.subarray(a, a + 4)], `${format} at ${c},${r}`);
      }
    }
    // An output at an odd byte offset (the byte-at-a-time path) gets the same bytes.
    const unaligned = new Uint8Array(new ArrayBuffer(half.length + 1), 1);
    assert.equal(frameToRgbaHalf(src, format, layout, w, h, unaligned), true);
    assert.deepEqual([...unaligned], [...half], `${format}, unaligned`);
  }
  assert.equal(frameToRgbaHalf(bgra, 'I444', bl, w, h, new Uint8ClampedArray(60 * 4)), false);
});

test('scaleRgba: a whole factor averages its block, others take the nearest pixel', () => {
  // 4x2 → 2x1: each output pixel averages a 2x2 block.
  const src = new Uint8ClampedArray(4 * 2 * 4);
  for (let i = 0; i < 8; i++) src.set([i * 10, 100, 200, 255], i * 4);
  const out = new Uint8ClampedArray(2 * 4);
  scaleRgba(src, 4, 2, out, 2, 1);
  assert.deepEqual([...out], [25, 100, 200, 255, 45, 100, 200, 255]);
  const odd = new Uint8ClampedArray(3 * 4);
  scaleRgba(src, 4, 2, odd, 3, 1);
  assert.equal(odd[3], 255);
  assert.ok([0, 10, 20, 30, 40, 50, 60, 70].includes(odd[4]));
});

test('stamp on a camera frame (I420, NV12, BGRA) reads back after conversion to RGBA', () => {
  const w = 320;
  const h = 180;
  const us = 1_764_300_012_345_678;
  const i420 = new Uint8Array(w * h * 3 / 2).fill(128);
  const il = [{ offset: 0, stride: w }, { offset: w * h, stride: w / 2 }, { offset: w * h * 5 / 4, stride: w / 2 }];
  // Colourful chroma everywhere, so neutral chroma under the stamp matters.
  i420.fill(200, w * h);
  assert.ok(writeStampFrame(i420, 'I420', il, w, h, us));
  const rgba = new Uint8ClampedArray(w * h * 4);
  frameToRgba(i420, 'I420', il, w, h, rgba);
  assert.equal(readStamp(rgba, w, h), us % STAMP_MODULO);

  const nv12 = new Uint8Array(w * h * 3 / 2).fill(60);
  const nl = [{ offset: 0, stride: w }, { offset: w * h, stride: w }];
  assert.ok(writeStampFrame(nv12, 'NV12', nl, w, h, us));
  frameToRgba(nv12, 'NV12', nl, w, h, rgba);
  assert.equal(readStamp(rgba, w, h), us % STAMP_MODULO);

  const bgra = new Uint8Array(w * h * 4).fill(77);
  assert.ok(writeStampFrame(bgra, 'BGRA', [{ offset: 0, stride: w * 4 }], w, h, us));
  frameToRgba(bgra, 'BGRA', [{ offset: 0, stride: w * 4 }], w, h, rgba);
  assert.equal(readStamp(rgba, w, h), us % STAMP_MODULO);
  assert.equal(writeStampFrame(bgra, 'I444', [], w, h, us), false);

});
