import { test, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { Peer, offerAction, sdpSessionId, isPolite, CHANNEL_LABEL, routeOf } from '../../peer.js';
import { FakePC, until, tick, unrefTimers } from './fakes.js';

const noMedia = () => ({ audio: null, video: null, stream: null });
const media = () => ({ audio: { kind: 'audio', id: 'mic' }, video: { kind: 'video', id: 'cam' }, stream: { id: 'local' } });

/**
 * A relay like the node's: in order, asynchronously, and it records every signal.
 * `deliver` may be swapped to drop or hold signals.
 */
class Relay {
  constructor() {
    /** @type {Map<string, Peer>} who receives signals sent *to* an id */
    this.endpoints = new Map();
    /** @type {{from: string, to: string, data: any}[]} */
    this.log = [];
    this.queue = Promise.resolve();
  }
  /** @param {string} from @param {string} to */
  sender(from, to) {
    return (data) => {
      this.log.push({ from, to, data: JSON.parse(JSON.stringify(data)) });
      this.queue = this.queue.then(async () => {
        await tick();
        const target = this.endpoints.get(to);
        target?.handleSignal(JSON.parse(JSON.stringify(data)));
      });
    };
  }
}

/**
 * @param {Relay} relay
 * @param {string} selfId
 * @param {string} id
 * @param {object} [extra]
 */
function makePeer(relay, selfId, id, extra = {}) {
  const peer = new Peer({
    selfId,
    id,
    name: id,
    send: relay.sender(selfId, id),
    RTCPeerConnection: FakePC,
    localMedia: media,
    timers: unrefTimers,
    ...extra,
  });
  // The relay hands signals addressed to `selfId` (from `id`) to this peer.
  relay.endpoints.set(selfId, peer);
  return peer;
}

/** Wires the data channels of two connected peers so messages flow. */
function linkChannels(a, b) {
  a.channel.remote = b.channel;
  b.channel.remote = a.channel;
}

beforeEach(() => {
  FakePC.instances = [];
});

test('session ids are read from the o= line', () => {
  assert.equal(sdpSessionId('v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\n'), '4611731400430051336');
  assert.equal(sdpSessionId('v=0\r\n'), null);
});

test('the peer whose id sorts first is polite', () => {
  assert.equal(isPolite('AAA', 'BBB'), true);
  assert.equal(isPolite('b', 'a'), false);
});

test('offerAction: the perfect-negotiation rules and the session rules', () => {
  const base = { hasPc: true, polite: false, initiator: false, remoteSession: 's1', offerSession: 's1', makingOffer: false, signalingState: 'stable', answerPending: false };
  assert.equal(offerAction({ ...base, hasPc: false }), 'create');
  assert.equal(offerAction(base), 'apply');
  assert.equal(offerAction({ ...base, offerSession: 's2' }), 'replace', 'the remote started over');
  assert.equal(offerAction({ ...base, makingOffer: true }), 'ignore', 'glare, impolite');
  assert.equal(offerAction({ ...base, makingOffer: true, polite: true }), 'apply', 'glare, polite rolls back');
  assert.equal(offerAction({ ...base, signalingState: 'have-local-offer' }), 'ignore');
  assert.equal(offerAction({ ...base, signalingState: 'have-local-offer', answerPending: true }), 'apply');
  assert.equal(offerAction({ ...base, remoteSession: null, initiator: true }), 'ignore', 'first offer unanswered, impolite');
  assert.equal(offerAction({ ...base, remoteSession: null, initiator: true, polite: true }), 'replace', 'first offer unanswered, polite');
  assert.equal(offerAction({ ...base, remoteSession: null, initiator: false }), 'apply');
});

test('the newcomer creates the lanmeet channel before its first offer, and both connect', async () => {
  const relay = new Relay();
  const newcomer = makePeer(relay, 'b', 'a'); // b arrived; a was in the room
  const member = makePeer(relay, 'a', 'b');
  newcomer.start();
  assert.equal(newcomer.channel?.label, CHANNEL_LABEL, 'channel exists right away');
  await until(() => newcomer.state === 'connected' && member.state === 'connected');
  const first = relay.log[0];
  assert.equal(first.from, 'b');
  assert.equal(first.data.description.type, 'offer');
  assert.match(first.data.description.sdp, /m=application/, 'the first offer carries the data channel');
  assert.match(first.data.description.sdp, /m=audio/);
  assert.match(first.data.description.sdp, /m=video/);
  assert.equal(relay.log.filter((s) => s.data.description?.type === 'offer').length, 1, 'one offer, one answer');
  // The member put its tracks on the offered transceivers: both directions in one round trip.
  const memberPc = member.pc;
  assert.equal(memberPc.getTransceivers().filter((t) => t.direction === 'sendrecv' && t.sender.track).length, 2);
  assert.equal(member.channel?.label, CHANNEL_LABEL);
});

test('signal.data shapes are exactly the documented ones', async () => {
  const relay = new Relay();
  const a = makePeer(relay, 'b', 'a');
  makePeer(relay, 'a', 'b');
  a.start();
  await until(() => relay.log.some((s) => s.data.candidate === null));
  for (const { data } of relay.log) {
    if ('description' in data) {
      assert.deepEqual(Object.keys(data), ['description']);
      assert.deepEqual(Object.keys(data.description).sort(), ['sdp', 'type']);
    } else {
      assert.deepEqual(Object.keys(data), ['candidate']);
      if (data.candidate !== null) assert.deepEqual(Object.keys(data.candidate).sort(), ['candidate', 'sdpMLineIndex', 'sdpMid']);
    }
  }
});

test('glare of two first offers settles on one connection', async () => {
  const relay = new Relay();
  const a = makePeer(relay, 'a', 'b'); // a is polite toward b
  const b = makePeer(relay, 'b', 'a');
  a.start();
  b.start();
  await until(() => a.state === 'connected' && b.state === 'connected');
  assert.equal(a.pc.remoteSession, b.pc.sessionId);
  assert.equal(b.pc.remoteSession, a.pc.sessionId);
  assert.equal(a.neg.initiator, false, 'the polite side gave way');
  assert.equal(b.neg.initiator, true);
});

test('renegotiation glare: the polite side rolls back, the impolite one ignores', async () => {
  const relay = new Relay();
  const a = makePeer(relay, 'a', 'b');
  const b = makePeer(relay, 'b', 'a');
  b.start();
  await until(() => a.state === 'connected' && b.state === 'connected');
  const before = relay.log.length;
  a.pc.restartIce();
  b.pc.restartIce();
  await until(() => a.pc.signalingState === 'stable' && b.pc.signalingState === 'stable' && relay.log.length > before + 2);
  await until(() => a.pc.signalingState === 'stable' && b.pc.signalingState === 'stable' && !a.neg.makingOffer && !b.neg.makingOffer);
  assert.ok((a.pc.rolledBack ?? 0) >= 1, 'polite a rolled back');
  assert.equal(b.pc.rolledBack ?? 0, 0, 'impolite b never rolled back');
  assert.equal(a.pc, FakePC.instances.find((p) => p === a.pc), 'same connection, no new session');
});

test('a reloaded remote (same id, new page) replaces our connection', async () => {
  const relay = new Relay();
  const a = makePeer(relay, 'a', 'b');
  const b = makePeer(relay, 'b', 'a');
  b.start();
  await until(() => a.state === 'connected' && b.state === 'connected');
  const oldPc = a.pc;
  const sessions = [];
  a.on('session', () => sessions.push(1));
  // b's page reloads: a brand-new Peer for the same ids, offering again.
  b.close();
  const b2 = makePeer(relay, 'b', 'a');
  b2.start();
  await until(() => b2.state === 'connected' && a.pc !== oldPc && a.pc.connectionState === 'connected');
  assert.equal(oldPc.closedFlag, true, 'the old connection is closed, not leaked');
  assert.equal(sessions.length, 1);
  assert.equal(a.pc.remoteSession, b2.pc.sessionId);
});

test('a stale offer reaching a fresh impolite page is ignored', async () => {
  const relay = new Relay();
  const b = makePeer(relay, 'b', 'a'); // b is impolite toward a
  b.start();
  await until(() => b.pc.signalingState === 'have-local-offer');
  const stale = { description: { type: 'offer', sdp: 'v=0\r\no=- 999 7 IN IP4 127.0.0.1\r\nm=audio 0 sendrecv\r\n' } };
  await b.handleSignal(stale);
  await b.handleSignal({ candidate: { candidate: 'candidate:1 1 udp 1 10.0.0.9 9 typ host', sdpMid: '0', sdpMLineIndex: 0 } });
  assert.equal(b.pc.signalingState, 'have-local-offer', 'still waiting for the answer to our offer');
  assert.equal(b.pc.candidates.length, 0, 'a candidate for no session is dropped');
});

test('a candidate before any description is dropped without error', async () => {
  const relay = new Relay();
  const a = makePeer(relay, 'a', 'b');
  const errors = [];
  a._log = (...m) => errors.push(m);
  await a.handleSignal({ candidate: { candidate: 'candidate:x', sdpMid: '0', sdpMLineIndex: 0 } });
  await a.handleSignal({ candidate: null });
  await a.handleSignal({ nonsense: true });
  await a.handleSignal(null);
  assert.equal(a.pc, null);
  assert.deepEqual(errors, []);
});

test('an answer in the wrong state is ignored, one that cannot apply starts a new session', async () => {
  const relay = new Relay();
  const b = makePeer(relay, 'b', 'a');
  const a = makePeer(relay, 'a', 'b');
  b.start();
  await until(() => a.state === 'connected' && b.state === 'connected');
  const pc = b.pc;
  await b.handleSignal({ description: { type: 'answer', sdp: 'v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\n' } });
  assert.equal(b.pc, pc, 'stale answer in stable: ignored');
  // b offers again (ICE restart); an answer arrives that the connection rejects.
  relay.endpoints.delete('a'); // a is gone quiet
  pc.restartIce();
  await until(() => pc.signalingState === 'have-local-offer');
  pc.setRemoteDescription = async () => {
    throw new Error('InvalidAccessError: cannot apply');
  };
  await b.handleSignal({ description: { type: 'answer', sdp: `v=0\r\no=- ${a.pc.sessionId} 9 IN IP4 0.0.0.0\r\n` } });
  assert.notEqual(b.pc, pc, 'a fresh session replaced the broken one');
  assert.equal(pc.closedFlag, true);
  assert.equal(b.neg.initiator, true, 'and b offers it');
});

test('failed ICE is restarted, then the offerer starts a new session, then failed', async () => {
  const relay = new Relay();
  const b = makePeer(relay, 'b', 'a', { maxIceRestarts: 1, maxSessionRestarts: 1 });
  const a = makePeer(relay, 'a', 'b', { maxIceRestarts: 1 });
  const states = [];
  a.on('state', (s) => states.push(s));
  b.start();
  await until(() => a.state === 'connected' && b.state === 'connected');
  const pc1 = b.pc;
  b.pc.failTransport();
  assert.equal(b.state, 'reconnecting');
  assert.equal(pc1.iceRestartRequested, true, 'restartIce was called');
  // It fails again before reconnecting: ICE restarts are used up, b starts a new session.
  pc1.failTransport();
  assert.notEqual(b.pc, pc1);
  assert.equal(pc1.closedFlag, true);
  await until(() => b.state === 'connected' && a.state === 'connected' && a.pc.remoteSession === b.pc.sessionId);
  // Out of both kinds of restart: failed, shown on the tile.
  b.neg.iceRestarts = 1;
  b.sessionRestarts = 1;
  b.pc.failTransport();
  assert.equal(b.state, 'failed');
  assert.ok(states.includes('reconnecting'));
});

test('a session that never connects is restarted by its offerer (watchdog)', async () => {
  const relay = new Relay();
  /** @type {any[]} */
  const timers = [];
  const fakeTimers = { setTimeout: (fn, ms) => (timers.push(fn), timers.length), clearTimeout: () => {} };
  const b = makePeer(relay, 'b', 'a', { timers: fakeTimers, maxSessionRestarts: 1 });
  b.start(); // nobody answers: a does not exist
  const first = b.pc;
  await tick();
  timers.at(-1)();
  assert.notEqual(b.pc, first, 'a fresh session');
  assert.equal(first.closedFlag, true);
  timers.at(-1)();
  assert.equal(b.state, 'failed');
});

test('ping is answered with pong, other messages are passed on', async () => {
  const relay = new Relay();
  const a = makePeer(relay, 'a', 'b');
  const b = makePeer(relay, 'b', 'a');
  b.start();
  await until(() => a.channel?.readyState === 'open' && b.channel?.readyState === 'open');
  linkChannels(a, b);
  const got = [];
  a.on('message', (m) => got.push(m));
  const rtts = [];
  b.on('rtt', (ms) => rtts.push(ms));
  b.ping();
  assert.ok(b.sendMessage({ type: 'chat', text: 'hi', ts: 1 }));
  await until(() => rtts.length === 1 && got.length === 1);
  assert.deepEqual(JSON.parse(a.channel.sent[0]), { type: 'pong', id: 1 });
  assert.deepEqual(got, [{ type: 'chat', text: 'hi', ts: 1 }], 'ping and pong are not passed on');
});

test('setLocalTrack swaps the sender track without renegotiating', async () => {
  const relay = new Relay();
  const a = makePeer(relay, 'a', 'b');
  const b = makePeer(relay, 'b', 'a', { localMedia: noMedia });
  b.start();
  await until(() => a.state === 'connected' && b.state === 'connected');
  const before = relay.log.length;
  const screen = { kind: 'video', id: 'screen' };
  await b.setLocalTrack('video', screen);
  await a.setLocalTrack('video', null);
  await tick();
  await tick();
  assert.equal(b.transceivers.video.sender.track, screen);
  assert.equal(a.transceivers.video.sender.track, null);
  assert.equal(relay.log.length, before, 'no signal: replaceTrack needs no negotiation');
});

test('close closes the connection and the channel', async () => {
  const relay = new Relay();
  const a = makePeer(relay, 'a', 'b');
  const b = makePeer(relay, 'b', 'a');
  b.start();
  await until(() => a.state === 'connected');
  const pc = a.pc;
  const ch = a.channel;
  a.close();
  assert.equal(pc.closedFlag, true);
  assert.equal(ch.readyState, 'closed');
  assert.equal(a.state, 'closed');
  assert.equal(a.pc, null);
});

test('bigger rooms send smaller, slower video; a screen keeps its size', async () => {
  const { videoEncodingFor } = await import('../../peer.js');
  const small = videoEncodingFor(1, false);
  const four = videoEncodingFor(3, false);
  const eight = videoEncodingFor(7, false);
  assert.equal(small.scaleResolutionDownBy, 1);
  assert.ok(four.maxBitrate <= small.maxBitrate && four.maxFramerate <= small.maxFramerate);
  assert.ok(eight.scaleResolutionDownBy > 1 && eight.maxBitrate < four.maxBitrate && eight.maxFramerate < four.maxFramerate);
  for (const n of [1, 3, 7]) assert.equal(videoEncodingFor(n, true).scaleResolutionDownBy, 1);
});

test('setVideoEncoding waits for negotiated encodings, then sets them', async () => {
  const relay = new Relay();
  const a = makePeer(relay, 'a', 'b');
  const b = makePeer(relay, 'b', 'a');
  /** @type {any[]} */
  const set = [];
  b.start();
  const sender = b.transceivers.video.sender;
  let encodings = [];
  sender.getParameters = () => ({ encodings });
  sender.setParameters = async (p) => set.push(JSON.parse(JSON.stringify(p.encodings[0])));
  const enc = { scaleResolutionDownBy: 1.5, maxFramerate: 15, maxBitrate: 350000 };
  await b.setVideoEncoding(enc);
  assert.deepEqual(set, [], 'nothing to set before negotiation');
  encodings = [{ active: true }];
  await until(() => a.state === 'connected' && b.state === 'connected' && set.length === 1);
  assert.deepEqual(set[0], { active: true, ...enc }, 'applied once connected');
});

test('the watchdog is patient with a negotiated connection that is still checking', async () => {
  const relay = new Relay();
  /** @type {any[]} */
  const timers = [];
  const fakeTimers = { setTimeout: (fn) => (timers.push(fn), timers.length), clearTimeout: () => {} };
  const b = makePeer(relay, 'b', 'a', { timers: fakeTimers });
  makePeer(relay, 'a', 'b');
  b.start();
  await until(() => b.pc.signalingState === 'stable' && b.pc.remoteDescription);
  const pc = b.pc;
  pc.connectionState = 'connecting'; // negotiated, ICE still at it
  timers.at(-1)();
  timers.at(-1)();
  assert.equal(b.pc, pc, 'two extra waits');
  timers.at(-1)();
  assert.notEqual(b.pc, pc, 'then a fresh session');
});

test("routeOf reads the selected candidate pair: relayed when either end is a relay candidate", () => {
  const stats = (localType, remoteType) =>
    new Map([
      ['T', { id: 'T', type: 'transport', selectedCandidatePairId: 'P2' }],
      ['P1', { id: 'P1', type: 'candidate-pair', localCandidateId: 'L1', remoteCandidateId: 'R1', state: 'failed' }],
      ['P2', { id: 'P2', type: 'candidate-pair', localCandidateId: 'L2', remoteCandidateId: 'R2', state: 'succeeded', nominated: true }],
      ['L1', { id: 'L1', type: 'local-candidate', candidateType: 'host' }],
      ['R1', { id: 'R1', type: 'remote-candidate', candidateType: 'host' }],
      ['L2', { id: 'L2', type: 'local-candidate', candidateType: localType }],
      ['R2', { id: 'R2', type: 'remote-candidate', candidateType: remoteType }],
    ]);
  assert.equal(routeOf(stats('host', 'host')), 'direct');
  assert.equal(routeOf(stats('relay', 'host')), 'relay');
  assert.equal(routeOf(stats('host', 'relay')), 'relay');
  assert.equal(routeOf(stats('srflx', 'prflx')), 'direct');
  assert.equal(routeOf(new Map()), null, 'no pair yet');
  // No transport stats (Firefox): the pair that says it is selected.
  const firefox = [
    { id: 'P', type: 'candidate-pair', localCandidateId: 'L', remoteCandidateId: 'R', selected: true },
    { id: 'L', type: 'local-candidate', candidateType: 'relay' },
    { id: 'R', type: 'remote-candidate', candidateType: 'host' },
  ];
  assert.equal(routeOf(firefox), 'relay');
  assert.equal(routeOf(undefined), null);
});

test('the route is read again when ICE moves to another pair', async () => {
  const relay = new Relay();
  // Timers that never fire: the three readings after `connected` do not happen here,
  // so any route seen comes from the ICE transport's event.
  const still = { setTimeout: () => 0, clearTimeout: () => {} };
  const b = makePeer(relay, 'b', 'a', { timers: still });
  makePeer(relay, 'a', 'b');
  b.start();
  const pc = b.pc;
  const ice = new EventTarget();
  /** @type {'host' | 'relay'} */
  let remote = 'relay';
  pc.sctp = { transport: { iceTransport: ice } };
  pc.getStats = async () =>
    new Map([
      ['T', { id: 'T', type: 'transport', selectedCandidatePairId: 'P' }],
      ['P', { id: 'P', type: 'candidate-pair', localCandidateId: 'L', remoteCandidateId: 'R' }],
      ['L', { id: 'L', type: 'local-candidate', candidateType: 'host' }],
      ['R', { id: 'R', type: 'remote-candidate', candidateType: remote }],
    ]);
  /** @type {string[]} */
  const routes = [];
  b.on('route', (r) => routes.push(r));
  await until(() => b.state === 'connected');
  assert.equal(b.route, null, 'no reading yet');
  ice.dispatchEvent(new Event('selectedcandidatepairchange'));
  await until(() => b.route === 'relay');
  remote = 'host';
  ice.dispatchEvent(new Event('selectedcandidatepairchange'));
  await until(() => b.route === 'direct');
  assert.deepEqual(routes, ['relay', 'direct']);
});
