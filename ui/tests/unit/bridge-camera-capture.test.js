// @ts-check
// The bridge's camera capture (ui/bridge/camera-capture.js) with the engine's parts
// stood in for: a `<video>` that always has a picture, a VideoFrame whose copy the test
// finishes, and a worker that acks what it is posted. What is checked: frames in
// flight stay bounded, and a frame whose track was given up while it was being copied
// still reaches the worker, so its place is freed and capture goes on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CameraCapture } from '../../bridge/camera-capture.js';

/** Polls `cond` every 5 ms for up to 5 s (a bound, not a timing assertion). */
async function until(/** @type {() => boolean} */ cond, /** @type {string} */ what) {
  for (let i = 0; i < 1000; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  assert.fail(`never: ${what}`);
}

function setup(/** @type {import('node:test').TestContext} */ t) {
  const g = /** @type {any} */ (globalThis);
  const saved = { VideoFrame: g.VideoFrame, MediaStream: g.MediaStream };
  /** @type {((layout: any) => void)[]} copies waiting to finish */
  const copies = [];
  let made = 0;
  g.VideoFrame = class {
    constructor() {
      made++;
      this.codedWidth = 64;
      this.codedHeight = 36;
      this.visibleRect = { width: 64, height: 36 };
      this.format = 'I420';
    }
    allocationSize() {
      return 64 * 36 * 1.5;
    }
    copyTo() {
      return new Promise((resolve) => copies.push(resolve));
    }
    close() {}
  };
  g.MediaStream = class {
    /** @param {any[]} tracks */
    constructor(tracks) {
      this.tracks = tracks;
    }
  };
  const video = {
    style: {},
    readyState: 2,
    videoWidth: 64,
    videoHeight: 36,
    setAttribute() {},
    play: () => Promise.resolve(),
    pause() {},
    remove() {},
  };
  const document = /** @type {any} */ ({ createElement: () => video, body: { append() {} } });
  /** @type {any[]} */
  const posted = [];
  const capture = new CameraCapture({
    post: (msg) => posted.push(msg),
    fps: () => 100,
    scale: () => undefined,
    encode: () => true,
    preview: () => false,
    log: () => {},
    document,
  });
  t.after(() => {
    capture.close();
    Object.assign(g, saved);
  });
  const finishCopies = () => {
    for (const resolve of copies.splice(0)) resolve([{ offset: 0, stride: 64 }]);
  };
  return { capture, posted, copies, finishCopies, made: () => made };
}

const track = () => /** @type {any} */ ({ kind: 'video', readyState: 'live', enabled: true });

test('at most two camera frames are in flight; acks let the next ones be taken', async (t) => {
  const { capture, posted, copies, finishCopies, made } = setup(t);
  capture.setTrack(track());
  await until(() => copies.length === 2, 'two frames being copied');
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(made(), 2, 'no third frame while two are in flight');
  finishCopies();
  await until(() => posted.filter((m) => m.t === 'video').length === 2, 'both posted');
  assert.equal(posted[0].t, 'keyframe', 'a start asks for a keyframe first');
  capture.taken();
  capture.taken();
  await until(() => made() > 2, 'capture goes on after the acks');
});

test('a frame of a track given up while it was copied is still posted, so capture goes on with the next track', async (t) => {
  const { capture, posted, copies, finishCopies, made } = setup(t);
  capture.setTrack(track());
  await until(() => copies.length === 2, 'two frames being copied');
  // The lobby's preview goes away on the way into the call: no track for a moment.
  capture.setTrack(null);
  finishCopies();
  await until(() => posted.filter((m) => m.t === 'video').length === 2, 'both frames posted anyway');
  // The worker acks what it took.
  capture.taken();
  capture.taken();
  const before = made();
  capture.setTrack(track());
  await until(() => made() > before, 'the new track is captured');
});

test('after close nothing more is posted, not even a frame being copied', async (t) => {
  const { capture, posted, copies, finishCopies } = setup(t);
  capture.setTrack(track());
  await until(() => copies.length >= 1, 'a frame being copied');
  capture.close();
  const n = posted.length;
  finishCopies();
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(posted.length, n);
  assert.deepEqual(capture.liveness(), { capture: false, captureVideo: false });
});
