// @ts-check
/**
 * When a page uses the bridge (ui/bridge/install.js), and how the bridge's stats
 * become the report ui/peer.js reads the relay route from (ui/bridge/rtc-shim.js).
 * The shim's negotiation against the real bridge: ui/tests/bridge/.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { installBridge, mayUseBridge } from '../../bridge/install.js';
import { locateBridge } from '../../bridge/client.js';
import { statsReport } from '../../bridge/rtc-shim.js';
import { routeOf } from '../../peer.js';

const OWN = { protocol: 'http:', hostname: '127.0.0.1' };

test('only a page of this machine over http may use a bridge; never a guest page', () => {
  assert.equal(mayUseBridge(OWN), true);
  assert.equal(mayUseBridge({ protocol: 'http:', hostname: 'localhost' }), true);
  assert.equal(mayUseBridge({ protocol: 'https:', hostname: '10.77.0.1' }), false, 'a guest page over HTTPS');
  assert.equal(mayUseBridge({ protocol: 'http:', hostname: '10.77.0.1' }), false, 'another machine');
});

test('no bridge with native WebRTC, on a guest page, or when the node has none; no socket opened then', async () => {
  /** @type {string[]} */
  const fetched = [];
  /** @type {string[]} */
  const sockets = [];
  class NoSocket {
    /** @param {string} url */
    constructor(url) {
      sockets.push(url);
    }
  }
  const fetch = async (/** @type {string} */ url) => {
    fetched.push(url);
    return { ok: false, status: 404, json: async () => ({ error: { code: 'no-bridge' } }) };
  };
  assert.equal(await installBridge({ hasNativeRTC: true, location: OWN, fetch, WebSocket: /** @type {any} */ (NoSocket) }), null);
  assert.equal(await installBridge({ hasNativeRTC: false, location: { protocol: 'https:', hostname: '10.77.0.1' }, fetch, WebSocket: /** @type {any} */ (NoSocket) }), null);
  assert.deepEqual(fetched, [], 'not even asked');
  assert.equal(await installBridge({ hasNativeRTC: false, location: OWN, fetch, WebSocket: /** @type {any} */ (NoSocket) }), null);
  assert.deepEqual(fetched, ['/api/bridge']);
  assert.deepEqual(sockets, []);
});

test('the bridge address must be loopback, and a broken answer is no bridge', async () => {
  const answer = (/** @type {any} */ body) => async () => ({ ok: true, status: 200, json: async () => body });
  assert.deepEqual(await locateBridge(answer({ url: 'ws://127.0.0.1:4000/bridge', secret: 'ab' })), { url: 'ws://127.0.0.1:4000/bridge', secret: 'ab' });
  assert.equal(await locateBridge(answer({ url: 'ws://10.0.0.9:4000/bridge', secret: 'ab' })), null);
  assert.equal(await locateBridge(answer({ url: 'ws://127.0.0.1:4000/bridge' })), null);
  assert.equal(await locateBridge(async () => { throw new Error('offline'); }), null);
});

test("the bridge's stats give ui/peer.js a route when they name the selected pair, none otherwise", () => {
  assert.equal(routeOf(statsReport({ connectionState: 'connected', framesReceived: 3 })), null);
  assert.equal(statsReport({ framesReceived: 3 }).get('PC')?.framesReceived, 3);
  assert.equal(routeOf(statsReport({ selectedPair: null })), null, 'no pair selected yet');
  // docs/BRIDGE.md's shape.
  const relayed = statsReport({
    selectedPair: { local: { type: 'relay', protocol: 'udp', address: '10.81.1.1', port: 50123, relayProtocol: 'tcp' }, remote: { type: 'host', protocol: 'udp', address: '10.81.2.2', port: 40321 } },
  });
  assert.equal(routeOf(relayed), 'relay');
  const local = [...relayed.values()].find((r) => r.type === 'local-candidate');
  assert.deepEqual({ ...local, timestamp: 0 }, { id: 'LC', type: 'local-candidate', timestamp: 0, candidateType: 'relay', address: '10.81.1.1', port: 50123, protocol: 'udp', relayProtocol: 'tcp' });
  const direct = statsReport({ selectedPair: { local: { type: 'host', protocol: 'udp', address: '10.81.1.1', port: 1 }, remote: { type: 'srflx', protocol: 'udp', address: '10.81.2.2', port: 2 } } });
  assert.equal(routeOf(direct), 'direct');
});

test('the bridge session acks the media it has read, every 32 frames or 128 KiB', async () => {
  const { BridgeSession, encodeAck, ACK_EVERY_FRAMES } = await import('../../bridge/client.js');
  /** @type {any[]} */
  const sent = [];
  const ws = { readyState: 1, send: (/** @type {any} */ m) => sent.push(m), close() {} };
  const session = new BridgeSession(ws);
  session.ready.catch(() => {}); // never greeted here: closing rejects it
  const frame = new ArrayBuffer(100);
  for (let i = 0; i < ACK_EVERY_FRAMES - 1; i++) /** @type {any} */ (ws).onmessage({ data: frame });
  assert.equal(sent.length, 0, 'no ack before 32 frames');
  /** @type {any} */ (ws).onmessage({ data: frame });
  assert.equal(sent.length, 1);
  const v = new DataView(sent[0]);
  assert.deepEqual([v.getUint8(0), v.getUint32(4), Number(v.getBigUint64(8))], [0x03, 32, 3200]);
  /** @type {any} */ (ws).onmessage({ data: new ArrayBuffer(200 * 1024) });
  assert.equal(sent.length, 2, 'a big frame is acked at once');
  assert.equal(Number(new DataView(sent[1]).getBigUint64(8)), 3200 + 200 * 1024);
  assert.equal(new DataView(encodeAck(2 ** 32 + 5, 7)).getUint32(4), 5, 'frames wrap');
  session.close();
});
