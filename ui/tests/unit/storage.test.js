import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppStorage, parseIceServers, formatIceServers } from '../../storage.js';

class MapStore {
  constructor() {
    /** @type {Map<string, string>} */
    this.m = new Map();
  }
  /** @param {string} k */
  getItem(k) {
    return this.m.get(k) ?? null;
  }
  /** @param {string} k @param {string} v */
  setItem(k, v) {
    this.m.set(k, v);
  }
  /** @param {string} k */
  removeItem(k) {
    this.m.delete(k);
  }
}

test('ICE servers parse as lanmeet host --ice-server takes them, and print back the same', () => {
  const text = 'turn:alice:s3:cret@10.0.0.5:3478?transport=tcp\n\n  stun:10.0.0.5  \nturn:10.0.0.6:3478\nhttp://nope';
  const { servers, bad } = parseIceServers(text);
  assert.deepEqual(servers, [
    { urls: ['turn:10.0.0.5:3478?transport=tcp'], username: 'alice', credential: 's3:cret' },
    { urls: ['stun:10.0.0.5'] },
  ]);
  assert.deepEqual(bad, ['turn:10.0.0.6:3478', 'http://nope'], 'TURN needs credentials');
  assert.equal(formatIceServers(servers), 'turn:alice:s3:cret@10.0.0.5:3478?transport=tcp\nstun:10.0.0.5');
});

test('the ICE servers a person saves are the ones calls use; none clears the key', () => {
  const local = new MapStore();
  const storage = new AppStorage({ local });
  assert.deepEqual(storage.iceServers(), []);
  storage.saveIceServers([{ urls: ['stun:10.0.0.5'] }]);
  assert.deepEqual(storage.iceServers(), [{ urls: ['stun:10.0.0.5'] }]);
  assert.equal(local.getItem('lanmeet.iceServers'), '[{"urls":["stun:10.0.0.5"]}]');
  storage.saveIceServers([]);
  assert.equal(local.getItem('lanmeet.iceServers'), null);
});
