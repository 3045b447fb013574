import { test } from 'node:test';
import assert from 'node:assert/strict';
import { acquireMedia, classifyMediaError, describeMediaProblems, SpeakingGate, videoConstraints } from '../../media.js';

const track = (kind) => ({ kind, id: `${kind}-1` });
const stream = (kinds) => ({
  getAudioTracks: () => (kinds.includes('audio') ? [track('audio')] : []),
  getVideoTracks: () => (kinds.includes('video') ? [track('video')] : []),
});
const err = (name) => Object.assign(new Error(name), { name });

/**
 * A getUserMedia that grants only what `devices` holds and fails the rest with `why`.
 * @param {string[]} devices
 * @param {string} why
 */
function gumWith(devices, why) {
  const calls = [];
  const gum = async (c) => {
    calls.push(c);
    const wanted = ['audio', 'video'].filter((k) => c[k]);
    if (wanted.every((k) => devices.includes(k))) return stream(wanted);
    throw err(why);
  };
  return { gum, calls };
}

test('both devices: one request, both tracks', async () => {
  const { gum, calls } = gumWith(['audio', 'video'], 'NotFoundError');
  const got = await acquireMedia({}, undefined, gum);
  assert.equal(got.audio?.kind, 'audio');
  assert.equal(got.video?.kind, 'video');
  assert.equal(calls.length, 1);
  assert.equal(describeMediaProblems(got), '');
});

test('no camera: falls back to audio only and says the camera was not found', async () => {
  const { gum } = gumWith(['audio'], 'NotFoundError');
  const got = await acquireMedia({}, undefined, gum);
  assert.equal(got.audio?.kind, 'audio');
  assert.equal(got.video, null);
  assert.equal(got.videoProblem, 'missing');
  assert.match(describeMediaProblems(got), /^No camera was found\. You can join with what works\.$/);
});

test('no microphone: video only', async () => {
  const { gum } = gumWith(['video'], 'NotFoundError');
  const got = await acquireMedia({}, undefined, gum);
  assert.equal(got.audio, null);
  assert.equal(got.video?.kind, 'video');
  assert.equal(got.audioProblem, 'missing');
});

test('everything blocked: receive-only, with how to allow it', async () => {
  const { gum } = gumWith([], 'NotAllowedError');
  const got = await acquireMedia({}, undefined, gum);
  assert.equal(got.audio, null);
  assert.equal(got.video, null);
  const text = describeMediaProblems(got);
  assert.match(text, /^The camera and microphone are blocked\. /, 'one sentence for both');
  assert.match(text, /You can still join and see and hear the others/);
  assert.match(text, /address bar/);
});

test('a chosen device that vanished falls back to the default one', async () => {
  const calls = [];
  const gum = async (c) => {
    calls.push(c);
    if (c.video?.deviceId) throw err('OverconstrainedError');
    if (c.audio && c.video) throw err('OverconstrainedError');
    return stream(['audio', 'video'].filter((k) => c[k]));
  };
  const got = await acquireMedia({ videoDeviceId: 'gone' }, { audio: false, video: true }, gum);
  assert.equal(got.video?.kind, 'video');
  assert.equal(got.videoProblem, undefined);
  assert.deepEqual(calls.map((c) => !!c.video?.deviceId), [true, false]);
});

test('no getUserMedia at all is "not available"', async () => {
  const got = await acquireMedia({}, undefined, undefined);
  assert.equal(got.audioProblem, 'unsupported');
  assert.match(describeMediaProblems(got), /not available in this window/);
});

test('errors are classified the way people can act on them', () => {
  assert.equal(classifyMediaError(err('NotAllowedError')), 'denied');
  assert.equal(classifyMediaError(err('NotFoundError')), 'missing');
  assert.equal(classifyMediaError(err('NotReadableError')), 'busy');
  assert.equal(classifyMediaError(err('Weird')), 'error');
  assert.equal(classifyMediaError('string'), 'error');
});

test('video constraints pin a device only when one was chosen', () => {
  assert.equal('deviceId' in videoConstraints(), false);
  assert.deepEqual(videoConstraints('cam2').deviceId, { exact: 'cam2' });
});

test('speaking starts above the on-level and stops after a quiet hold', () => {
  const g = new SpeakingGate({ on: 0.1, off: 0.05, holdMs: 300 });
  assert.equal(g.update(0.01, 0), false);
  assert.equal(g.update(0.2, 100), true);
  assert.equal(g.update(0.07, 200), true, 'between the levels: keeps speaking');
  assert.equal(g.update(0.01, 300), true, 'quiet, but not for long yet');
  assert.equal(g.update(0.01, 550), true);
  assert.equal(g.update(0.01, 600), false, 'quiet for the hold time');
  assert.equal(g.update(0.08, 700), false, 'below on-level does not start');
});

test('a short dip does not end speaking', () => {
  const g = new SpeakingGate({ on: 0.1, off: 0.05, holdMs: 300 });
  g.update(0.2, 0);
  g.update(0.01, 100);
  g.update(0.2, 200);
  assert.equal(g.update(0.01, 450), true, 'the quiet clock restarted at 450');
  assert.equal(g.update(0.01, 760), false);
});
