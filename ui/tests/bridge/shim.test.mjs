// @ts-check
/**
 * The RTCPeerConnection shim (ui/bridge/rtc-shim.js) against the REAL bridge: a
 * `lanmeet host --bridge` started here, its bridge reached the way a page reaches it
 * (`GET /api/bridge`, then a WebSocket with the page's Origin and the secret; node's
 * `ws` package, since node's own WebSocket cannot send an Origin). Two "pages" (two
 * bridge sessions) call each other through the bridge's native peers on loopback.
 *
 * Negotiation is driven by ui/peer.js itself where the product drives it (first
 * call, ICE restart, a renegotiation glare), and by hand where a browser's own rules
 * are the point (the implicit rollback of a polite side).
 *
 * Needs the `lanmeet` binary (LANMEET_BIN, else $CARGO_TARGET_DIR/debug/lanmeet).
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import path from 'node:path';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { BridgeClient, locateBridge } from '../../bridge/client.js';
import { createBridgeRTC } from '../../bridge/rtc-shim.js';
import { Peer, sdpSessionId } from '../../peer.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(here, '../../..');
const BIN = process.env.LANMEET_BIN || path.join(process.env.CARGO_TARGET_DIR || path.join(REPO, 'target'), 'debug/lanmeet');
/** A hang guard, never a performance threshold. */
const WAIT_MS = Number(process.env.LANMEET_E2E_WAIT_MS || 45_000);

/** @type {import('node:child_process').ChildProcess} */
let host;
/** @type {string} the node's local page origin */
let origin = '';
/** @type {string[]} */
const hostLogs = [];

/**
 * Polls `check` until it returns a truthy value (bounded by WAIT_MS).
 * @template T
 * @param {string} what
 * @param {() => T | Promise<T>} check
 * @returns {Promise<T>}
 */
async function until(what, check) {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A WebSocket that sends the page's Origin, as a browser would. */
class PageSocket extends WebSocket {
  /** @param {string} url */
  constructor(url) {
    super(url, { origin });
  }
}

/**
 * One "page": a bridge client, the shim on it, and a log of the requests it made.
 * @param {string} name
 */
function page(name) {
  /** @type {string[]} */
  const ops = [];
  /** Each request as it went out (`>op`) and as its reply came in (`<op`), in order. @type {string[]} */
  const wire = [];
  const client = new BridgeClient({
    locate: async () => {
      const where = await locateBridge((url, init) => fetch(new URL(url, origin), init));
      if (!where) throw new Error('no bridge');
      return where;
    },
    WebSocket: /** @type {any} */ (PageSocket),
  });
  client.on('session', (s) => {
    const request = s.request.bind(s);
    s.request = (op, fields) => {
      ops.push(op === 'setLocalDescription' && fields?.description ? `${op}:${fields.description.type}` : op);
      wire.push(`>${op}`);
      const reply = request(op, fields);
      reply.then(
        () => wire.push(`<${op}`),
        () => wire.push(`<${op}`),
      );
      return reply;
    };
  });
  const rtc = createBridgeRTC({ client, log: () => {} });
  const p = { name, client, rtc, ops, wire };
  pages.push(p);
  return p;
}

/** Every page made, closed at the end whatever happened. @type {any[]} */
const pages = [];
/** Every Peer made (their watchdogs must not outlive the test). @type {Peer[]} */
const peers = [];

/**
 * Two ui/peer.js Peers on two pages, signaling each other directly (the node's
 * relaying of `signal` is not what is tested here).
 * @param {ReturnType<typeof page>} pa
 * @param {ReturnType<typeof page>} pb
 * @param {{aId?: string, bId?: string}} [ids]
 */
function pair(pa, pb, ids = {}) {
  const aId = ids.aId ?? 'aaaa';
  const bId = ids.bId ?? 'bbbb';
  /** @type {{a: any[], b: any[]}} */
  const signals = { a: [], b: [] };
  /** @type {{a: any[], b: any[]}} */
  const messages = { a: [], b: [] };
  /** Signals held back while `held.on` (to make two offers cross). */
  const held = { on: false, /** @type {(() => void)[]} */ queue: [] };
  /** @param {() => void} deliver */
  const route = (deliver) => (held.on ? held.queue.push(deliver) : deliver());
  const release = () => {
    held.on = false;
    for (const d of held.queue.splice(0)) d();
  };
  const common = { localMedia: () => ({ audio: null, video: null, stream: null }), connectTimeoutMs: WAIT_MS, log: () => {} };
  /** @type {Peer} */
  let a;
  /** @type {Peer} */
  let b;
  a = new Peer({ ...common, selfId: aId, id: bId, name: 'B', RTCPeerConnection: pa.rtc.RTCPeerConnection, send: (d) => { signals.a.push(d); route(() => b.handleSignal(d)); } });
  b = new Peer({ ...common, selfId: bId, id: aId, name: 'A', RTCPeerConnection: pb.rtc.RTCPeerConnection, send: (d) => { signals.b.push(d); route(() => a.handleSignal(d)); } });
  peers.push(a, b);
  a.on('message', (m) => messages.a.push(m));
  b.on('message', (m) => messages.b.push(m));
  return { a, b, signals, messages, hold: () => { held.on = true; }, release };
}

/** @param {Peer} p */
const connected = (p) => p.state === 'connected' && p.channel?.readyState === 'open';

/**
 * The bridge's own view of a connection: its stats, or the error code.
 * @param {ReturnType<typeof page>} p
 * @param {number} pc
 */
async function bridgeStats(p, pc) {
  try {
    return await p.client.request('getStats', { pc });
  } catch (err) {
    return { error: /** @type {any} */ (err).code };
  }
}

describe('the RTCPeerConnection shim against a real bridge', { timeout: 6 * WAIT_MS }, () => {
  before(async () => {
    const data = path.join(os.tmpdir(), `lanmeet-shim-test-${process.pid}`);
    host = spawn(BIN, ['host', '--bridge', '--no-discovery', '--no-relay', '--no-open', '--json', '--local-port', '0', '--lan-port', '0', '--lan-bind', '127.0.0.1', '--data-dir', data], { stdio: ['ignore', 'pipe', 'pipe'] });
    host.stderr?.on('data', (d) => {
      hostLogs.push(String(d));
      if (hostLogs.length > 200) hostLogs.shift();
    });
    const info = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no JSON line from lanmeet host\n${hostLogs.join('')}`)), 20_000);
      host.once('error', (e) => reject(new Error(`cannot start ${BIN}: ${e.message}`)));
      host.once('exit', (c) => reject(new Error(`lanmeet host exited with ${c}\n${hostLogs.join('')}`)));
      createInterface({ input: /** @type {any} */ (host.stdout) }).on('line', (line) => {
        try {
          const v = JSON.parse(line);
          if (v?.local) {
            clearTimeout(timer);
            resolve(v);
          }
        } catch {
          // not the JSON line
        }
      });
    });
    host.removeAllListeners('exit');
    origin = new URL(/** @type {any} */ (info).local).origin;
  });

  after(async () => {
    for (const p of peers) p.close();
    for (const p of pages) p.client.close();
    if (process.exitCode) console.error(hostLogs.join('').split('\n').slice(-40).join('\n'));
    if (host && host.exitCode === null) {
      const exited = new Promise((r) => host.once('exit', r));
      host.kill('SIGTERM');
      const t = setTimeout(() => host.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    }
  });

  test('the node says where its bridge is, and a page without the Origin is refused', async () => {
    const where = await locateBridge((url, init) => fetch(new URL(url, origin), init));
    assert.ok(where, 'GET /api/bridge answers');
    assert.match(where.url, /^ws:\/\/127\.0\.0\.1:\d+\/bridge$/);
    const foreign = new WebSocket(`${where.url}?secret=${where.secret}`, { origin: 'http://evil.example' });
    const code = await new Promise((resolve) => {
      foreign.on('unexpected-response', (_req, res) => resolve(res.statusCode));
      foreign.on('open', () => resolve('opened'));
      foreign.on('error', () => resolve('error'));
    });
    assert.equal(code, 403);
  });

  test('ui/peer.js calls through the shim: connected, the data channel both ways, transceivers mirrored, teardown leaves nothing', async () => {
    const pa = page('A');
    const pb = page('B');
    const { a, b, messages } = pair(pa, pb);
    a.start();
    await until('both connected with the channel open', () => connected(a) && connected(b));
    assert.ok(a.sendMessage({ type: 'chat', text: 'hello B' }));
    assert.ok(b.sendMessage({ type: 'chat', text: 'hello A' }));
    await until('chat both ways', () => messages.b.some((m) => m.text === 'hello B') && messages.a.some((m) => m.text === 'hello A'));
    // The answerer mirrors the offer's audio and video (made by ui/peer.js's initiator).
    const kinds = b.pc.getTransceivers().map((/** @type {any} */ t) => t.receiver.track.kind).sort();
    assert.deepEqual(kinds, ['audio', 'video']);
    for (const t of [...a.pc.getTransceivers(), ...b.pc.getTransceivers()]) {
      assert.equal(typeof t.mid, "string", `every transceiver has its mid once negotiated: ${JSON.stringify({ id: t._id, mid: t.mid, kind: t._kind, dir: t.direction })}`);
    }
    // The mids come with the bridge's answer to setLocalDescription: the offer goes out
    // without one more round trip to ask for them.
    assert.ok(!pa.ops.includes('getTransceivers') && !pb.ops.includes('getTransceivers'), `no getTransceivers round trip: A ${pa.ops.join(',')}; B ${pb.ops.join(',')}`);
    // The offerer's new connection: its data channel and both transceivers (no track:
    // silent senders, in the same request) went out before createPeer's reply came
    // back, not one reply apart; no setSending or setParameters follow-ups.
    const created = pa.wire.indexOf('<createPeer');
    assert.ok(created > 0, pa.wire.join(' '));
    assert.deepEqual(pa.wire.slice(0, 4), ['>createPeer', '>createDataChannel', '>addTransceiver', '>addTransceiver'], pa.wire.join(' '));
    assert.ok(!pa.ops.includes('setSending') && !pa.ops.includes('setParameters'), pa.ops.join(','));
    // ...and they are silent on the bridge until a track is given.
    for (const t of a.pc.getTransceivers()) assert.equal(t._bridgeSending, false);
    const onBridge = await pa.client.request('getTransceivers', { pc: a.pc._pcId });
    assert.deepEqual(onBridge.transceivers.map((/** @type {any} */ t) => t.sending), [false, false], JSON.stringify(onBridge));
    // Descriptions are kept as a browser keeps them; the verification code's inputs.
    assert.equal(a.pc.localDescription.type, 'offer');
    assert.equal(a.pc.remoteDescription.type, 'answer');
    assert.equal(b.pc.localDescription.type, 'answer');
    assert.match(a.pc.localDescription.sdp, /a=fingerprint:sha-256 /);
    // The bridge's view matches.
    const stats = await bridgeStats(pa, a.pc._pcId);
    assert.equal(stats.connectionState, 'connected');
    const pcA = a.pc._pcId;
    const pcB = b.pc._pcId;
    a.close();
    b.close();
    await until('the bridge has neither connection', async () => (await bridgeStats(pa, pcA)).error === 'no-such-peer' && (await bridgeStats(pb, pcB)).error === 'no-such-peer');
    assert.ok(pa.ops.includes('closePeer') && pb.ops.includes('closePeer'));
    pa.client.close();
    pb.client.close();
  });

  test('a polite side that gets an offer while its own is out rolls back (implicitly, as a browser) and answers', async () => {
    const pa = page('A');
    const pb = page('B');
    const A = new pa.rtc.RTCPeerConnection({});
    const B = new pb.rtc.RTCPeerConnection({});
    /** @type {any[]} */
    const candA = [];
    /** @type {any[]} */
    const candB = [];
    A.onicecandidate = (/** @type {any} */ e) => candA.push(e.candidate);
    B.onicecandidate = (/** @type {any} */ e) => candB.push(e.candidate);
    A.createDataChannel('lanmeet');
    const chB = B.createDataChannel('other');
    // Both offer (glare).
    await Promise.all([A.setLocalDescription(), B.setLocalDescription()]);
    assert.equal(A.signalingState, 'have-local-offer');
    assert.equal(B.signalingState, 'have-local-offer');
    // B is polite: A's offer rolls B's back first.
    await B.setRemoteDescription(A.localDescription);
    assert.equal(B.signalingState, 'have-remote-offer');
    assert.ok(pb.ops.includes('setLocalDescription:rollback'), `B rolled back (${pb.ops.join(' ')})`);
    await B.setLocalDescription();
    assert.equal(B.localDescription.type, 'answer');
    await A.setRemoteDescription(B.localDescription);
    assert.equal(A.signalingState, 'stable');
    assert.equal(B.signalingState, 'stable');
    // Candidates held until the answer was in, then trickled: apply them.
    await until('candidates from both', () => candA.length > 0 && candB.length > 0);
    for (const c of candA) if (c) await B.addIceCandidate(c.toJSON());
    for (const c of candB) if (c) await A.addIceCandidate(c.toJSON());
    await until('connected after the glare', () => A.connectionState === 'connected' && B.connectionState === 'connected');
    // B's own channel, made before its offer was rolled back, opens over the
    // association A's offer set up (in-band, as in a browser).
    await until("B's own channel opens", () => chB.readyState === 'open');
    A.close();
    B.close();
    pa.client.close();
    pb.client.close();
  });

  test('ICE restart: new credentials in a new offer, the connection and the channel go on', async () => {
    const pa = page('A');
    const pb = page('B');
    const { a, b, signals, messages } = pair(pa, pb);
    a.start();
    await until('connected', () => connected(a) && connected(b));
    const ufrag = (/** @type {string} */ sdp) => /a=ice-ufrag:(\S+)/.exec(sdp)?.[1];
    const before = ufrag(a.pc.localDescription.sdp);
    const session = sdpSessionId(a.pc.localDescription.sdp);
    const offersBefore = signals.a.filter((d) => d.description?.type === 'offer').length;
    a.pc.restartIce();
    await until('a restart offer went out', () => signals.a.filter((d) => d.description?.type === 'offer').length > offersBefore);
    await until('stable again on both sides', () => a.pc.signalingState === 'stable' && b.pc.signalingState === 'stable' && a.pc.remoteDescription && ufrag(a.pc.localDescription.sdp) !== before);
    assert.notEqual(ufrag(a.pc.localDescription.sdp), before, 'new ICE credentials');
    assert.equal(sdpSessionId(a.pc.localDescription.sdp), session, 'same session: the remote does not start over');
    assert.equal(a.sessionRestarts, 0);
    await until('connected after the restart', () => connected(a) && connected(b));
    assert.ok(a.sendMessage({ type: 'chat', text: 'after restart' }));
    await until('the channel still carries messages', () => messages.b.some((m) => m.text === 'after restart'));
    a.close();
    b.close();
    pa.client.close();
    pb.client.close();
  });

  test('renegotiation glare through ui/peer.js: both restart ICE at once, the polite side rolls back, both end connected', async () => {
    const pa = page('A');
    const pb = page('B');
    // 'aaaa' < 'bbbb': A is polite.
    const { a, b, messages, hold, release } = pair(pa, pb);
    a.start();
    await until('connected', () => connected(a) && connected(b));
    // Both offers are out before either arrives: a real glare.
    hold();
    a.pc.restartIce();
    b.pc.restartIce();
    await until('both have an offer out', () => a.pc.signalingState === 'have-local-offer' && b.pc.signalingState === 'have-local-offer');
    release();
    await until('both stable and connected after the glare', () => a.pc.signalingState === 'stable' && b.pc.signalingState === 'stable' && connected(a) && connected(b) && !a.neg.makingOffer && !b.neg.makingOffer);
    assert.ok(pa.ops.includes('setLocalDescription:rollback'), `the polite side rolled back (${pa.ops.join(' ')})`);
    assert.ok(!pb.ops.includes('setLocalDescription:rollback'), 'the impolite side kept its offer');
    assert.equal(a.sessionRestarts + b.sessionRestarts, 0, 'no side had to start over');
    assert.ok(b.sendMessage({ type: 'chat', text: 'after glare' }));
    await until('messages after the glare', () => messages.a.some((m) => m.text === 'after glare'));
    a.close();
    b.close();
    pa.client.close();
    pb.client.close();
  });

  test('the bridge session ending fails every connection of it; a new connection opens a new session', async () => {
    const pa = page('A');
    const pb = page('B');
    const { a, b } = pair(pa, pb);
    a.start();
    await until('connected', () => connected(a) && connected(b));
    const pc = a.pc;
    /** @type {string[]} */
    const seen = [];
    pc.addEventListener('connectionstatechange', () => seen.push(pc.connectionState));
    const old = pa.client.current;
    old?.ws.terminate();
    await until('the shim says failed', () => seen.includes('failed'));
    assert.equal(a.channel ?? null, a.channel);
    // A new connection works on a fresh session.
    const fresh = new pa.rtc.RTCPeerConnection({});
    await fresh.setLocalDescription(await fresh.createOffer());
    assert.ok(pa.client.current && pa.client.current !== old, 'a new session');
    fresh.close();
    a.close();
    b.close();
    pa.client.close();
    pb.client.close();
  });
});
