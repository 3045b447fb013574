// @ts-check
// The media engine's sound plumbing (ui/bridge/media-engine.js over audio-graph.js),
// with Web Audio stood in for: the speaking meters it hands LevelMonitor (levelOf), the
// microphone's one source node shared by capture and meter, the one mixer for every
// remote sound, and what close leaves. The nodes record their connections;
// disconnecting one that is not connected throws, as in browsers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BridgeMedia } from '../../bridge/media-engine.js';

class FakeNode {
  /** @param {string} kind */
  constructor(kind) {
    this.kind = kind;
    /** @type {Set<any>} */
    this.out = new Set();
  }
  /** @param {any} n */
  connect(n) {
    this.out.add(n);
    return n;
  }
  /** @param {any} [n] */
  disconnect(n) {
    if (n === undefined) return this.out.clear();
    if (!this.out.has(n)) throw new Error('InvalidAccessError: not connected');
    this.out.delete(n);
  }
}

/** A track as the engine sees one: kind, state, stop, clone. */
function fakeTrack(kind = 'audio') {
  return {
    kind,
    readyState: 'live',
    enabled: true,
    stop() {
      this.readyState = 'ended';
    },
    clone() {
      return fakeTrack(kind);
    },
  };
}

/** @type {any[]} */
let contexts = [];
class FakeContext {
  constructor() {
    this.state = 'running';
    this.destination = new FakeNode('destination');
    /** @type {FakeNode[]} */
    this.sources = [];
    this.audioWorklet = { addModule: async () => {} };
    contexts.push(this);
  }
  addEventListener() {}
  createAnalyser() {
    const a = /** @type {any} */ (new FakeNode('analyser'));
    a.fftSize = 2048;
    a.getFloatTimeDomainData = (/** @type {Float32Array} */ b) => b.fill(0.25);
    return a;
  }
  /** @param {any} stream */
  createMediaStreamSource(stream) {
    const n = /** @type {any} */ (new FakeNode('source'));
    n.stream = stream;
    this.sources.push(n);
    return n;
  }
  createGain() {
    const g = /** @type {any} */ (new FakeNode('gain'));
    g.gain = { value: 1 };
    return g;
  }
  createMediaStreamDestination() {
    const d = /** @type {any} */ (new FakeNode('stream destination'));
    const track = fakeTrack();
    d.stream = { getAudioTracks: () => [track], getTracks: () => [track] };
    return d;
  }
  close() {
    this.state = 'closed';
    return Promise.resolve();
  }
  resume() {
    return Promise.resolve();
  }
}

/** @type {any[]} */
let worklets = [];
class FakeWorkletNode extends FakeNode {
  /** @param {any} _ctx @param {string} name */
  constructor(_ctx, name) {
    super(name);
    const node = this;
    worklets.push(this);
    this.port = {
      /** @type {any[]} */
      sent: [],
      closed: false,
      /** @type {((ev: {data: any}) => void) | null} */
      onmessage: null,
      /** @param {any} m */
      postMessage(m) {
        this.sent.push(m);
      },
      close() {
        this.closed = true;
      },
    };
    void node;
  }
}

/** An engine with stand-in workers, audio and MediaStream. */
function engine(/** @type {import('node:test').TestContext} */ t) {
  contexts = [];
  worklets = [];
  const g = /** @type {any} */ (globalThis);
  const saved = { AudioContext: g.AudioContext, AudioWorkletNode: g.AudioWorkletNode, MediaStream: g.MediaStream };
  g.AudioContext = FakeContext;
  g.AudioWorkletNode = FakeWorkletNode;
  g.MediaStream = class {
    /** @param {any[]} tracks */
    constructor(tracks) {
      this.tracks = tracks;
    }
  };
  /** @type {any[]} */
  const posted = [];
  const media = new BridgeMedia({
    sendFrame: () => {},
    requestKeyframe: () => {},
    createWorker: () => /** @type {any} */ ({ postMessage: (/** @type {any} */ m) => posted.push(m), terminate() {}, onmessage: null, onerror: null }),
  });
  t.after(() => {
    media.close();
    for (const [k, v] of Object.entries(saved)) g[k] = v;
  });
  return { media, posted };
}

/** Lets the engine's promise chains (worklets loaded, mixer made) run. */
const settle = () => new Promise((r) => setTimeout(r, 0));

test('the microphone has one source node, shared by the meter and the capture; each use is given back once', async (t) => {
  const { media } = engine(t);
  const mic = /** @type {any} */ (fakeTrack());
  const tap = media.levelOf(mic);
  assert.ok(tap);
  assert.equal(tap.read(), 0.25, "the meter reads the analyser's RMS");
  media.setLocalTrack('audio', mic);
  await settle();
  const ctx = contexts[0];
  assert.equal(contexts.length, 1, 'one AudioContext');
  assert.equal(ctx.sources.length, 1, 'one source node for the microphone');
  const source = ctx.sources[0];
  const capture = worklets.find((w) => w.kind === 'lanmeet-capture');
  assert.ok(source.out.has(capture), 'the capture is fed from it');
  assert.equal(media.liveness().sources, 1);
  tap.close();
  tap.close();
  assert.equal(tap.read(), 0, 'a closed meter reads silence');
  assert.ok(source.out.has(capture), 'closing the meter (twice) leaves the capture fed');
  assert.equal(media.liveness().sources, 1);
  media.setLocalTrack('audio', null);
  assert.equal(media.liveness().sources, 0, 'the capture gone too: the source node goes');
  assert.equal(source.out.size, 0);
});

test('remote sounds: one mixer for all; a level from its reports, silence once they stop; mute reaches it; closeRemote and close clean up', async (t) => {
  const { media, posted } = engine(t);
  let now = 1000;
  t.mock.method(performance, 'now', () => now);
  const a = /** @type {any} */ (media.remoteAudioTrack(1, 2));
  const b = /** @type {any} */ (media.remoteAudioTrack(2, 2));
  await settle();
  const mixers = worklets.filter((w) => w.kind === 'lanmeet-playback');
  assert.equal(mixers.length, 1, 'one mixer node for both');
  const mixer = mixers[0];
  assert.ok(mixer.out.has(contexts[0].destination), 'it plays into the output');
  assert.deepEqual(mixer.port.sent.map((/** @type {any} */ m) => m.add), ['1:2', '2:2']);
  assert.equal(posted.filter((m) => m.t === 'remote' && m.kind === 'audio').length, 2, 'each decoder gets its own port to the mixer');
  assert.notEqual(a, b, 'a track each');
  assert.equal(a.readyState, 'live');
  // Levels, as the mixer reports them, through the meter's tap.
  const tapA = media.levelOf(a);
  assert.ok(tapA);
  mixer.port.onmessage({ data: { levels: { '1:2': 0.3, '2:2': 0.01, '9:9': 1 } } });
  assert.equal(tapA.read(), 0.3);
  now += 299;
  assert.equal(tapA.read(), 0.3);
  now += 2;
  assert.equal(tapA.read(), 0, 'a level the mixer has not renewed for 300 ms reads as silence');
  // Mute on this device: the mixer's gain for that person, and the figures say so.
  a.__bridgePlayback.setMuted(true);
  assert.deepEqual(mixer.port.sent.at(-1), { gain: '1:2', value: 0 });
  assert.equal(a.__bridgePlayback.muted(), true);
  // The peer connection closes: its sound leaves the mixer, its track ends.
  media.closeRemote(1);
  assert.deepEqual(mixer.port.sent.at(-1), { remove: '1:2' });
  assert.equal(a.readyState, 'ended');
  assert.equal(b.readyState, 'live');
  media.close();
  assert.equal(b.readyState, 'ended');
  assert.equal(mixer.port.closed, true, "the mixer's port is closed");
  assert.equal(mixer.out.size, 0, 'the mixer is disconnected');
  assert.equal(media.liveness().mixer, false);
  assert.equal(media.levelOf(/** @type {any} */ (fakeTrack())), null, 'no meter from a closed engine');
});

test('muted before the mixer exists: the mute is applied when the person is added', async (t) => {
  const { media } = engine(t);
  const a = /** @type {any} */ (media.remoteAudioTrack(1, 2));
  a.__bridgePlayback.setMuted(true);
  await settle();
  const mixer = worklets.find((w) => w.kind === 'lanmeet-playback');
  assert.deepEqual(
    mixer.port.sent.map((/** @type {any} */ m) => (m.add ? { add: m.add } : m)),
    [{ add: '1:2' }, { gain: '1:2', value: 0 }],
  );
});
