import { test, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { Mesh } from '../../mesh.js';
import { Emitter } from '../../emitter.js';
import { FakePC, until, unrefTimers } from './fakes.js';

/** The signaling client's interface, driven by the test (its own logic is tested in signaling.test.js). */
class ScriptedSignaling extends Emitter {
  constructor() {
    super();
    /** @type {{to: string, data: any}[]} */
    this.sent = [];
  }
  /** @param {string} to @param {any} data */
  send(to, data) {
    this.sent.push({ to, data });
  }
}

function setup() {
  const signaling = new ScriptedSignaling();
  const mesh = new Mesh({
    signaling: /** @type {any} */ (signaling),
    RTCPeerConnection: FakePC,
    localMedia: () => ({ audio: null, video: null, stream: null }),
    peerOptions: { timers: unrefTimers },
  });
  const events = [];
  for (const t of ['self', 'peer-added', 'peer-removed']) mesh.on(t, (v) => events.push([t, v]));
  return { signaling, mesh, events };
}

const offersTo = (signaling) => signaling.sent.filter((s) => s.data.description?.type === 'offer').map((s) => s.to).sort();

beforeEach(() => {
  FakePC.instances = [];
});

test('a newcomer offers to everyone in the welcome; later arrivals offer to us', async () => {
  const { signaling, mesh, events } = setup();
  signaling.emit('welcome', { id: 'n', resumed: false, peers: [{ id: 'a', name: 'Ann' }, { id: 'b', name: 'Ben' }] });
  signaling.emit('peer-joined', { id: 'c', name: 'Cy' });
  await until(() => offersTo(signaling).length === 2);
  assert.deepEqual(offersTo(signaling), ['a', 'b']);
  assert.equal(mesh.peers.get('c').pc, null, 'c will offer; we wait');
  assert.deepEqual(events.map(([t, v]) => [t, v?.id ?? v]), [['self', 'n'], ['peer-added', 'a'], ['peer-added', 'b'], ['peer-added', 'c']]);
});

test('peer-left closes that connection and removes the person', async () => {
  const { signaling, mesh, events } = setup();
  signaling.emit('welcome', { id: 'n', resumed: false, peers: [{ id: 'a', name: 'Ann' }] });
  const pc = mesh.peers.get('a').pc;
  signaling.emit('peer-left', 'a');
  assert.equal(pc.closedFlag, true);
  assert.equal(mesh.peers.size, 0);
  assert.deepEqual(events.at(-1), ['peer-removed', 'a']);
});

test('a socket-level resume keeps connections and reconciles who is there', async () => {
  const { signaling, mesh } = setup();
  signaling.emit('welcome', { id: 'n', resumed: false, peers: [{ id: 'a', name: 'Ann' }, { id: 'b', name: 'Ben' }] });
  const pcA = mesh.peers.get('a').pc;
  const pcB = mesh.peers.get('b').pc;
  signaling.emit('welcome', { id: 'n', resumed: true, peers: [{ id: 'a', name: 'Ann' }, { id: 'd', name: 'Dee' }] });
  assert.equal(mesh.peers.get('a').pc, pcA, 'kept');
  assert.equal(pcB.closedFlag, true, 'b left while we were away');
  assert.ok(mesh.peers.has('d'));
  assert.equal(mesh.peers.get('d').pc, null, 'd arrived after us: d offers');
});

test('a reloaded page (resumed, but nothing in memory) offers to everyone', async () => {
  const { signaling } = setup();
  signaling.emit('welcome', { id: 'n', resumed: true, peers: [{ id: 'a', name: 'Ann' }] });
  await until(() => offersTo(signaling).length === 1);
});

test('a new id after the grace period starts every connection over', async () => {
  const { signaling, mesh } = setup();
  signaling.emit('welcome', { id: 'n', resumed: false, peers: [{ id: 'a', name: 'Ann' }] });
  const pcA = mesh.peers.get('a').pc;
  signaling.emit('welcome', { id: 'n2', resumed: false, peers: [{ id: 'a', name: 'Ann' }] });
  assert.equal(pcA.closedFlag, true);
  assert.notEqual(mesh.peers.get('a').pc, pcA);
  assert.equal(mesh.selfId, 'n2');
});

test('a signal from someone unannounced creates them; ended closes everything', async () => {
  const { signaling, mesh } = setup();
  signaling.emit('welcome', { id: 'n', resumed: false, peers: [] });
  signaling.emit('signal', { from: 'z', data: { candidate: null } });
  assert.ok(mesh.peers.has('z'));
  signaling.emit('peer-joined', { id: 'y', name: 'Yo' });
  signaling.emit('ended', { code: 'left' });
  assert.equal(mesh.peers.size, 0);
  signaling.emit('peer-joined', { id: 'x', name: 'Late' });
  assert.equal(mesh.peers.size, 0, 'no listeners survive the end');
});

test('a newcomer to a big room sends the room-sized video encoding from its first offer', async () => {
  const { videoEncodingFor } = await import('../../peer.js');
  const { signaling, mesh } = setup();
  const peers = ['a', 'b', 'c', 'd', 'e', 'f'].map((id) => ({ id, name: id }));
  signaling.emit('welcome', { id: 'n', resumed: false, peers });
  const last = mesh.peers.get('f');
  assert.deepEqual(last.transceivers.video.init.sendEncodings, [videoEncodingFor(6, false)]);
});

test("the welcome's ICE servers (the host's relay) come first, then the person's own", async () => {
  const signaling = new ScriptedSignaling();
  const own = { urls: ['stun:10.0.0.9'] };
  const mesh = new Mesh({
    signaling: /** @type {any} */ (signaling),
    RTCPeerConnection: FakePC,
    iceServers: [own],
    localMedia: () => ({ audio: null, video: null, stream: null }),
    peerOptions: { timers: unrefTimers },
  });
  assert.equal(mesh.hasRelay(), false, 'a STUN server relays nothing');
  const relay = { urls: ['turn:10.0.0.1:7879?transport=udp'], username: '9:n', credential: 'pw' };
  signaling.emit('welcome', { id: 'n', resumed: false, peers: [{ id: 'a', name: 'Ann' }], iceServers: [relay] });
  await until(() => FakePC.instances.length === 1);
  assert.deepEqual(FakePC.instances[0].config.iceServers, [relay, own]);
  assert.equal(mesh.hasRelay(), true);
  const routes = [];
  mesh.on('peer-route', (r) => routes.push(r));
  mesh.peers.get('a').emit('route', 'relay');
  assert.deepEqual(routes, [{ id: 'a', route: 'relay' }]);
});
