// @ts-check
// The playback mixer (ui/bridge/audio-playback-worklet.js) run in Node: the worklet's
// two globals stand in for the AudioWorklet scope, and its ports are real
// MessageChannels, so what is tested is the processor's own code.
import { test } from 'node:test';
import assert from 'node:assert/strict';

/** @type {any} */
let Mixer = null;
const g = /** @type {any} */ (globalThis);
g.AudioWorkletProcessor = class {
  constructor() {
    this.port = { onmessage: null, sent: /** @type {any[]} */ ([]), postMessage(/** @type {any} */ m) { this.sent.push(m); } };
  }
};
g.registerProcessor = (/** @type {string} */ name, /** @type {any} */ cls) => {
  assert.equal(name, 'lanmeet-playback');
  Mixer = cls;
};
await import('../../bridge/audio-playback-worklet.js');

const QUANTUM = 128;
const MS = 48;

/**
 * A mixer with people `keys`, each fed through a real MessagePort (closed when the test
 * ends, whatever happened: an open port keeps Node running).
 * @param {import('node:test').TestContext} t
 * @param {string[]} keys
 */
function mixerWith(t, keys) {
  const m = new Mixer();
  /** @type {Record<string, MessagePort>} */
  const feeds = {};
  let posted = 0;
  let received = 0;
  for (const key of keys) {
    const ch = new MessageChannel();
    m.port.onmessage({ data: { add: key, port: ch.port1 } });
    feeds[key] = ch.port2;
    // Counts what reached the processor, so a test waits for exactly that.
    const src = m.sources.get(key);
    const push = src.push.bind(src);
    src.push = (/** @type {unknown} */ x) => {
      received++;
      push(x);
    };
  }
  /** Posts `msg` to `key`'s port. */
  const feed = (/** @type {string} */ key, /** @type {any} */ msg) => {
    posted++;
    feeds[key].postMessage(msg);
  };
  /** Waits until everything posted has reached the processor. */
  const settle = async () => {
    while (received < posted) await new Promise((r) => setTimeout(r, 1));
  };
  const out = () => {
    const buf = new Float32Array(QUANTUM);
    assert.equal(m.process([], [[buf]]), true);
    return buf;
  };
  t.after(() => {
    m.port.onmessage({ data: { stop: true } });
    for (const p of Object.values(feeds)) p.close();
  });
  return { m, feed, settle, out };
}

const pcm = (/** @type {number} */ ms, /** @type {number} */ value) => new Float32Array(ms * MS).fill(value);

test('mixes every person at their own gain, after each has its target queued', async (t) => {
  const { m, feed, settle, out } = mixerWith(t, ['a', 'b']);
  feed('a', { pcm: pcm(100, 0.25) });
  await settle();
  let q = out();
  assert.equal(q[0], 0.25, 'a plays once 60 ms are queued; b has nothing');
  feed('b', { pcm: pcm(100, 0.5) });
  await settle();
  q = out();
  assert.equal(q[0], 0.75, 'both, summed');
  m.port.onmessage({ data: { gain: 'b', value: 0 } });
  q = out();
  assert.equal(q[0], 0.25, 'b muted on this device');
  m.port.onmessage({ data: { gain: 'b', value: Number.NaN } });
  assert.equal(out()[0], 0.25, 'a gain that is not a number is ignored');
  m.port.onmessage({ data: { remove: 'a' } });
  assert.equal(out()[0], 0, 'a removed, b still muted');
});

test('levels ~10 times a second and figures once a second, per person; peak before the gain, heardPeak after it', async (t) => {
  const { m, feed, settle, out } = mixerWith(t, ['loud', 'muted']);
  // 1.2 s of each: more than the 375 quanta a report of figures needs, but the
  // buffer would drop beyond twice its target, so it is fed as it plays.
  for (let i = 0; i < 12; i++) {
    feed('loud', { pcm: pcm(100, 0.5) });
    feed('muted', { pcm: pcm(100, 0.1) });
    await settle();
    for (let k = 0; k < 37; k++) out();
  }
  m.port.onmessage({ data: { gain: 'muted', value: 0 } });
  // The third report of figures (at 1125 quanta) covers only quanta after the mute.
  for (let i = 0; i < 22; i++) {
    feed('loud', { pcm: pcm(100, 0.5) });
    feed('muted', { pcm: pcm(100, 0.1) });
    await settle();
    for (let k = 0; k < 37; k++) out();
  }
  const levels = m.port.sent.filter((x) => x.levels).map((x) => x.levels);
  const stats = m.port.sent.filter((x) => x.stats).map((x) => x.stats);
  assert.equal(levels.length, 34, 'levels every 37 quanta (~100 ms)');
  assert.equal(stats.length, 3, 'figures every 375 quanta (~1 s)');
  const last = levels.at(-1);
  assert.ok(Math.abs(last.loud - 0.5) < 1e-6 && Math.abs(last.muted - 0.1) < 1e-6, `RMS of what played, before the gain (${JSON.stringify(last)})`);
  assert.equal(stats[0].loud.peak, 0.5);
  assert.equal(stats[0].loud.heardPeak, 0.5);
  const end = stats.at(-1);
  assert.ok(Math.abs(end.muted.peak - 0.1) < 1e-6, 'the muted person still arrives');
  assert.equal(end.muted.heardPeak, 0, 'but is not heard');
});

test('a person whose sound runs dry glitches once and waits for a larger target; a flood is cut back to the target', async (t) => {
  const { m, feed, settle, out } = mixerWith(t, ['p']);
  feed('p', { pcm: pcm(61, 0.3) });
  await settle();
  for (let k = 0; k < 25; k++) out(); // 25 quanta = 66.7 ms > 61 ms queued
  for (let k = 0; k < 375 - 25; k++) out();
  let s = m.port.sent.filter((x) => x.stats).at(-1).stats.p;
  assert.equal(s.underruns, 1, 'ran dry once');
  assert.equal(s.targetMs, 80, 'the target grew by 20 ms');
  feed('p', { pcm: pcm(70, 0.3) });
  await settle();
  assert.equal(out()[0], 0, 'below the new target: silence, not another glitch');
  // A burst of 1 s arrives at once: beyond twice the target, it is cut to the target.
  for (let i = 0; i < 50; i++) feed('p', { pcm: pcm(20, 0.3) });
  await settle();
  for (let k = 0; k < 374; k++) out();
  s = m.port.sent.filter((x) => x.stats).at(-1).stats.p;
  assert.ok(s.droppedMs > 500, `the burst was cut (${s.droppedMs} ms dropped)`);
  assert.ok(s.bufferedMs < 200, `the delay stays bounded (${s.bufferedMs} ms queued)`);
});

test('garbage on the ports is ignored; stop ends the processor and closes the ports', async (t) => {
  const { m, feed, settle, out } = mixerWith(t, ['p']);
  m.port.onmessage({ data: null });
  m.port.onmessage({ data: 'x' });
  m.port.onmessage({ data: { add: 7, port: null } });
  feed('p', { pcm: [1, 2, 3] });
  feed('p', { nope: true });
  feed('p', { pcm: new Float32Array(0) });
  await settle();
  assert.equal(out()[0], 0);
  assert.equal(m.sources.size, 1);
  assert.equal(m.sources.get('p').queued, 0, 'nothing that is not a Float32Array was queued');
  m.port.onmessage({ data: { stop: true } });
  assert.equal(m.sources.size, 0, 'every person removed');
  assert.equal(m.process([], [[new Float32Array(QUANTUM)]]), false, 'the processor ends');
});

test('a person added again under the same key starts afresh: the old port is closed, the gain back to 1', async (t) => {
  const { m, out } = mixerWith(t, ['p']);
  m.port.onmessage({ data: { gain: 'p', value: 0 } });
  const old = m.sources.get('p');
  const ch = new MessageChannel();
  t.after(() => ch.port2.close());
  m.port.onmessage({ data: { add: 'p', port: ch.port1 } });
  assert.notEqual(m.sources.get('p'), old, 'a new buffer');
  assert.equal(old.port.onmessage, null, 'the old port no longer feeds it');
  ch.port2.postMessage({ pcm: pcm(100, 0.25) });
  while (m.sources.get('p').queued === 0) await new Promise((r) => setTimeout(r, 1));
  assert.equal(out()[0], 0.25, 'the new port plays, at gain 1');
});
