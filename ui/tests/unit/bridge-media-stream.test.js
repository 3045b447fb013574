import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BridgeVideoTrack, BridgeMediaStream } from '../../bridge/media-stream.js';
import { encodeSize } from '../../bridge/media-engine.js';

function sink() {
  const calls = [];
  return { calls, attach: (c) => calls.push(['attach', c]), detach: () => calls.push(['detach']) };
}

test('a bridge video track looks like a video track, marked for the call view', () => {
  const t = new BridgeVideoTrack(sink());
  assert.equal(t.kind, 'video');
  assert.equal(t.__bridge, true);
  assert.equal(t.readyState, 'live');
  assert.equal(t.enabled, true);
  assert.equal(t.muted, true, 'muted until frames come');
  assert.ok(t.id);
  assert.notEqual(new BridgeVideoTrack(sink()).id, t.id);
  assert.deepEqual(t.getSettings(), {});
});

test('frames unmute it once and give it a size; mute and ended fire events and handlers', () => {
  const t = new BridgeVideoTrack(sink());
  const seen = [];
  for (const type of ['mute', 'unmute', 'ended']) t.addEventListener(type, () => seen.push(type));
  t.onended = () => seen.push('onended');
  t._frame(640, 360, false);
  t._frame(640, 360, true);
  assert.deepEqual(t.getSettings(), { width: 640, height: 360 });
  assert.equal(t.framesPainted, 1);
  t._mute();
  t._frame(320, 180, true);
  t._end();
  t._end();
  assert.deepEqual(seen, ['unmute', 'mute', 'unmute', 'ended', 'onended']);
  assert.equal(t.readyState, 'ended');
});

test('attachCanvas hands the canvas to the painter once; stop and detach release it', () => {
  const s = sink();
  const t = new BridgeVideoTrack(s);
  const c = /** @type {any} */ ({ id: 'c1' });
  t.attachCanvas(c);
  t.attachCanvas(c);
  assert.deepEqual(s.calls, [['attach', c]]);
  t.detachCanvas();
  t.detachCanvas();
  assert.deepEqual(s.calls, [['attach', c], ['detach']]);
  t.attachCanvas(c);
  t.stop();
  assert.deepEqual(s.calls.at(-1), ['detach']);
  const calls = s.calls.length;
  t.attachCanvas(/** @type {any} */ ({ id: 'c2' }));
  assert.equal(s.calls.length, calls, 'an ended track paints nothing');
});

test('a view that lets go of a canvas another view has replaced leaves the other painted', () => {
  // The lobby's preview and the self tile show one track; whichever order the views
  // come and go in, the canvas attached last keeps its picture.
  const s = sink();
  const t = new BridgeVideoTrack(s);
  const lobby = /** @type {any} */ ({ id: 'lobby' });
  const tile = /** @type {any} */ ({ id: 'tile' });
  t.attachCanvas(lobby);
  t.attachCanvas(tile);
  t.detachCanvas(lobby);
  assert.equal(t.canvas, tile);
  assert.deepEqual(s.calls, [['attach', lobby], ['attach', tile]]);
  t.detachCanvas(tile);
  assert.equal(t.canvas, null);
  assert.deepEqual(s.calls.at(-1), ['detach']);
});

test('a bridge stream holds real and bridge tracks like a MediaStream', () => {
  const audio = { kind: 'audio', id: 'a1', readyState: 'live' };
  const video = new BridgeVideoTrack(sink());
  const s = new BridgeMediaStream();
  assert.equal(s.getTracks().length, 0);
  assert.equal(s.active, false);
  s.addTrack(/** @type {any} */ (audio));
  s.addTrack(video);
  s.addTrack(video);
  assert.deepEqual(s.getAudioTracks(), [audio]);
  assert.deepEqual(s.getVideoTracks(), [video]);
  assert.equal(s.getTrackById(video.id), video);
  assert.equal(s.active, true);
  const copy = new BridgeMediaStream(s);
  assert.deepEqual(copy.getTracks(), [audio, video]);
  assert.notEqual(copy.id, s.id);
  s.removeTrack(video);
  assert.deepEqual(s.getTracks(), [audio]);
  // No MediaStream in node: no real stream to give an <audio> element.
  assert.equal(s.realStream(), null);
});

test('realStream: one real MediaStream of the real tracks, new only when they change', () => {
  const saved = globalThis.MediaStream;
  globalThis.MediaStream = class {
    constructor(tracks) {
      this.tracks = tracks;
    }
    getTracks() {
      return [...this.tracks];
    }
  };
  try {
    const a1 = { kind: 'audio', id: 'a1' };
    const a2 = { kind: 'audio', id: 'a2' };
    const s = new BridgeMediaStream([/** @type {any} */ (a1), new BridgeVideoTrack(sink())]);
    const r1 = s.realStream();
    assert.deepEqual(r1.getTracks(), [a1]);
    assert.equal(s.realStream(), r1);
    s.removeTrack(/** @type {any} */ (a1));
    s.addTrack(/** @type {any} */ (a2));
    assert.deepEqual(s.realStream().getTracks(), [a2]);
  } finally {
    globalThis.MediaStream = saved;
  }
});

test('encode size: scaled down by the largest factor asked for, even, at least 2', () => {
  assert.deepEqual(encodeSize(640, 360, undefined), { width: 640, height: 360 });
  assert.deepEqual(encodeSize(640, 360, 2), { width: 320, height: 180 });
  assert.deepEqual(encodeSize(641, 361, 1), { width: 640, height: 360 });
  assert.deepEqual(encodeSize(640, 360, 0.5), { width: 640, height: 360 }, 'never up');
  assert.deepEqual(encodeSize(640, 360, 3), { width: 212, height: 120 });
  assert.deepEqual(encodeSize(4, 4, 100), { width: 2, height: 2 });
});
