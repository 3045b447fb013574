import { test } from 'node:test';
import assert from 'node:assert/strict';
import { acquireMedia, classifyMediaError, describeMediaProblems, LevelMonitor, SpeakingGate, videoConstraints } from '../../media.js';

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

test('LevelMonitor measures through a given tap (a bridged page): no AudioContext of its own, speaking follows the tap, unwatch closes it', async (t) => {
  t.mock.timers.enable({ apis: ['setInterval'] });
  // The gate's hold counts performance.now(): it advances with the mocked timers.
  let now = 0;
  t.mock.method(performance, 'now', () => now);
  const tick = () => {
    now += 100;
    t.mock.timers.tick(100);
  };
  const made = [];
  const saved = globalThis.AudioContext;
  globalThis.AudioContext = class {
    constructor() {
      made.push(this);
    }
  };
  t.after(() => {
    globalThis.AudioContext = saved;
  });
  let level = 0;
  let closed = 0;
  let resumed = 0;
  const changes = [];
  const monitor = new LevelMonitor((key, speaking) => changes.push([key, speaking]), {
    tap: () => ({ read: () => level, close: () => closed++ }),
    resume: () => resumed++,
  });
  const live = { kind: 'audio', readyState: 'live', enabled: true };
  monitor.watch('p1', /** @type {any} */ (live));
  tick();
  assert.deepEqual(changes, [], 'quiet');
  level = 0.2;
  tick();
  assert.deepEqual(changes, [['p1', true]], 'speaking from the tap\'s level');
  live.enabled = false;
  for (let i = 0; i < 5; i++) tick();
  assert.deepEqual(changes.at(-1), ['p1', false], 'a disabled track is quiet whatever the tap reads');
  live.enabled = true;
  tick();
  monitor.resume();
  assert.equal(resumed, 1, 'resume reaches the tap\'s audio');
  monitor.unwatch('p1');
  assert.equal(closed, 1, 'the tap is closed');
  assert.deepEqual(changes.at(-1), ['p1', false], 'speaking ends with the watch');
  monitor.close();
  assert.equal(made.length, 0, 'no AudioContext was made');
});

test('LevelMonitor without a tap measures in its own AudioContext; a tap that declines leaves the track unmetered, with no context', (t) => {
  const made = [];
  const saved = { AudioContext: globalThis.AudioContext, MediaStream: globalThis.MediaStream };
  globalThis.MediaStream = class {
    constructor(tracks) {
      this.tracks = tracks;
    }
  };
  globalThis.AudioContext = class {
    constructor() {
      made.push(this);
    }
    createMediaStreamSource() {
      return { connect() {}, disconnect() {} };
    }
    createAnalyser() {
      return { fftSize: 0, getFloatTimeDomainData: (b) => b.fill(0.5) };
    }
    close() {
      return Promise.resolve();
    }
  };
  t.after(() => Object.assign(globalThis, saved));
  const track = /** @type {any} */ ({ kind: 'audio', readyState: 'live', enabled: true });
  const declined = new LevelMonitor(() => {}, { tap: () => null });
  declined.watch('self', track);
  assert.equal(made.length, 0, 'no AudioContext when the tap declines');
  assert.equal(declined.entries.size, 0);
  declined.close();
  const monitor = new LevelMonitor(() => {});
  monitor.watch('self', track);
  assert.equal(made.length, 1);
  const tap = monitor.entries.get('self')?.tap;
  assert.equal(tap?.read(), 0.5, 'the analyser\'s RMS');
  monitor.close();
  assert.equal(tap?.read(), 0, 'a closed tap reads silence');
});
