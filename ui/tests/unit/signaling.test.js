import { test, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { SignalingClient, iceServersOf } from '../../signaling.js';
import { FakeWebSocket, ManualTimers } from './fakes.js';

/** @returns {{client: SignalingClient, timers: ManualTimers, events: any[]}} */
function setup(extra = {}) {
  const timers = new ManualTimers();
  const client = new SignalingClient({
    url: 'ws://10.77.0.1:7878/ws',
    room: 'K7MQ2P',
    name: 'Alice',
    WebSocket: FakeWebSocket,
    timers,
    backoffMs: [100, 200, 400],
    maxAttempts: 5,
    ...extra,
  });
  const events = [];
  for (const type of ['status', 'welcome', 'token', 'peer-joined', 'peer-left', 'signal', 'warning', 'ended']) {
    client.on(type, (v) => events.push([type, v]));
  }
  return { client, timers, events };
}

const last = () => FakeWebSocket.instances[FakeWebSocket.instances.length - 1];
const welcome = (id, token, resumed, peers = []) => ({
  type: 'welcome',
  id,
  token,
  resumed,
  room: { code: 'K7MQ2P', name: 'Friday', capacity: 8 },
  peers,
});

beforeEach(() => {
  FakeWebSocket.instances = [];
});

test('joins with room and name as the first frame, and reports the welcome', () => {
  const { client, events } = setup({ passcode: 'sesame' });
  client.connect();
  last().serverOpen();
  assert.deepEqual(last().sent, [{ type: 'join', room: 'K7MQ2P', name: 'Alice', passcode: 'sesame' }]);
  last().serverSend(welcome('a1', 't1', false, [{ id: 'b1', name: 'Bob' }]));
  const w = events.find(([t]) => t === 'welcome')[1];
  assert.equal(w.id, 'a1');
  assert.equal(w.reconnect, false);
  assert.deepEqual(w.peers, [{ id: 'b1', name: 'Bob' }]);
  assert.deepEqual(events.find(([t]) => t === 'token'), ['token', 't1']);
  assert.equal(client.status, 'joined');
});

test('a token from an earlier page is sent as resume', () => {
  const { client } = setup({ token: 'old' });
  client.connect();
  last().serverOpen();
  assert.equal(last().sent[0].resume, 'old');
});

test('passes peer-joined, peer-left and signal through, and sends signals', () => {
  const { client, events } = setup();
  client.connect();
  last().serverOpen();
  last().serverSend(welcome('a1', 't1', false));
  last().serverSend({ type: 'peer-joined', peer: { id: 'c1', name: 'Carol' } });
  last().serverSend({ type: 'signal', from: 'c1', data: { candidate: null } });
  last().serverSend({ type: 'peer-left', id: 'c1' });
  last().serverSend({ type: 'something-new', x: 1 });
  last().serverSend('not json at all');
  assert.deepEqual(
    events.filter(([t]) => ['peer-joined', 'signal', 'peer-left'].includes(t)),
    [
      ['peer-joined', { id: 'c1', name: 'Carol' }],
      ['signal', { from: 'c1', data: { candidate: null } }],
      ['peer-left', 'c1'],
    ],
  );
  client.send('c1', { description: { type: 'offer', sdp: 'v=0' } });
  assert.deepEqual(last().sent[1], { type: 'signal', to: 'c1', data: { description: { type: 'offer', sdp: 'v=0' } } });
});

test('after a drop it reconnects with backoff and resumes with the latest token', () => {
  const { client, timers, events } = setup();
  client.connect();
  const first = last();
  first.serverOpen();
  first.serverSend(welcome('a1', 't1', false));
  first.serverClose(1006, '');
  assert.equal(client.status, 'reconnecting');
  assert.equal(FakeWebSocket.instances.length, 1, 'waits before retrying');
  timers.advance(99);
  assert.equal(FakeWebSocket.instances.length, 1);
  timers.advance(1);
  assert.equal(FakeWebSocket.instances.length, 2);
  // The second attempt fails too: the next delay is longer.
  last().fail();
  timers.advance(199);
  assert.equal(FakeWebSocket.instances.length, 2);
  timers.advance(1);
  assert.equal(FakeWebSocket.instances.length, 3);
  last().serverOpen();
  assert.deepEqual(last().sent[0], { type: 'join', room: 'K7MQ2P', name: 'Alice', resume: 't1' });
  last().serverSend(welcome('a1', 't2', true));
  const welcomes = events.filter(([t]) => t === 'welcome').map(([, w]) => w);
  assert.equal(welcomes.length, 2);
  assert.equal(welcomes[1].resumed, true);
  assert.equal(welcomes[1].reconnect, true);
  assert.equal(client.token, 't2');
  const statuses = events.filter(([t]) => t === 'status').map(([, s]) => s.status);
  assert.deepEqual(statuses, ['connecting', 'joined', 'reconnecting', 'reconnecting', 'joined']);
});

test('signals sent while down are delivered after a resumed welcome, in order', () => {
  const { client, timers } = setup();
  client.connect();
  last().serverOpen();
  last().serverSend(welcome('a1', 't1', false));
  last().serverClose(1006, '');
  client.send('b1', { n: 1 });
  client.send('b1', { n: 2 });
  timers.advance(100);
  last().serverOpen();
  assert.equal(last().sent.length, 1, 'only the join before the welcome');
  last().serverSend(welcome('a1', 't2', true));
  assert.deepEqual(last().sent.slice(1).map((f) => f.data.n), [1, 2]);
});

test('signals sent while down are dropped when the node hands out a new id', () => {
  const { client, timers } = setup();
  client.connect();
  last().serverOpen();
  last().serverSend(welcome('a1', 't1', false));
  last().serverClose(1006, '');
  client.send('b1', { n: 1 });
  timers.advance(100);
  last().serverOpen();
  last().serverSend(welcome('a2', 't2', false));
  assert.equal(last().sent.length, 1);
  assert.equal(client.id, 'a2');
});

for (const code of ['room-full', 'bad-passcode', 'room-not-found']) {
  test(`${code} ends the client with that code and no retry`, () => {
    const { client, timers, events } = setup();
    client.connect();
    last().serverOpen();
    last().serverSend({ type: 'error', code, message: 'no' });
    last().serverClose(1008, code);
    timers.advance(10_000);
    assert.equal(FakeWebSocket.instances.length, 1);
    assert.deepEqual(events.filter(([t]) => t === 'ended').map(([, e]) => e.code), [code]);
    assert.equal(client.status, 'closed');
  });
}

test('a close reason alone (no error frame seen) is still understood', () => {
  const { client, events } = setup();
  client.connect();
  last().serverOpen();
  last().serverClose(1008, 'room-full');
  assert.equal(events.find(([t]) => t === 'ended')[1].code, 'room-full');
});

test('a host that cannot be reached is reported at once on the first join', () => {
  const { client, events } = setup();
  client.connect();
  last().fail();
  assert.equal(events.find(([t]) => t === 'ended')[1].code, 'unreachable');
});

test('a socket that never opens times out', () => {
  const { client, timers, events } = setup({ openTimeoutMs: 500 });
  client.connect();
  timers.advance(500);
  assert.equal(events.find(([t]) => t === 'ended')[1].code, 'unreachable');
});

test('a join never answered is retried once we were in the room', () => {
  const { client, timers } = setup({ welcomeTimeoutMs: 1000 });
  client.connect();
  last().serverOpen();
  last().serverSend(welcome('a1', 't1', false));
  last().serverClose(1006, '');
  timers.advance(100);
  last().serverOpen(); // ...and the node never answers the join
  timers.advance(1000);
  assert.equal(client.status, 'reconnecting');
  timers.advance(200);
  assert.equal(FakeWebSocket.instances.length, 3);
});

test('room-closed ends the call, replaced ends it without a retry', () => {
  {
    const { client, events } = setup();
    client.connect();
    last().serverOpen();
    last().serverSend(welcome('a1', 't1', false));
    last().serverSend({ type: 'room-closed' });
    last().serverClose(1000, 'room-closed');
    assert.equal(events.find(([t]) => t === 'ended')[1].code, 'room-closed');
  }
  {
    const { client, events } = setup();
    client.connect();
    last().serverOpen();
    last().serverSend(welcome('a1', 't1', false));
    last().serverClose(1000, 'replaced');
    assert.equal(events.find(([t]) => t === 'ended')[1].code, 'replaced');
  }
});

test('slow-consumer and join-timeout are retried with resume', () => {
  for (const code of ['slow-consumer', 'join-timeout']) {
    FakeWebSocket.instances = [];
    const { client, timers } = setup();
    client.connect();
    last().serverOpen();
    last().serverSend(welcome('a1', 't1', false));
    last().serverSend({ type: 'error', code, message: '' });
    last().serverClose(1008, code);
    assert.equal(client.status, 'reconnecting', code);
    timers.advance(100);
    last().serverOpen();
    assert.equal(last().sent[0].resume, 't1');
  }
});

test('gives up after maxAttempts', () => {
  const { client, timers, events } = setup();
  client.connect();
  last().serverOpen();
  last().serverSend(welcome('a1', 't1', false));
  last().serverClose(1006, '');
  for (let i = 0; i < 5; i++) {
    timers.advance(400);
    last().fail();
  }
  assert.equal(events.find(([t]) => t === 'ended')[1].code, 'gave-up');
  assert.equal(client.status, 'closed');
});

test('errors that keep the socket open are warnings', () => {
  const { client, events } = setup();
  client.connect();
  last().serverOpen();
  last().serverSend(welcome('a1', 't1', false));
  last().serverSend({ type: 'error', code: 'unknown-peer', message: 'gone' });
  assert.deepEqual(events.find(([t]) => t === 'warning')[1], { code: 'unknown-peer', message: 'gone' });
  assert.equal(client.status, 'joined');
});

test('leave sends leave, closes, and never reconnects', () => {
  const { client, timers, events } = setup();
  client.connect();
  const ws = last();
  ws.serverOpen();
  ws.serverSend(welcome('a1', 't1', false));
  client.leave();
  assert.deepEqual(ws.sent.at(-1), { type: 'leave' });
  assert.deepEqual(ws.closedByClient, { code: 1000, reason: 'leave' });
  timers.advance(10_000);
  assert.equal(FakeWebSocket.instances.length, 1);
  assert.equal(events.find(([t]) => t === 'ended')[1].code, 'left');
});

test("iceServersOf keeps the welcome's well-formed ICE servers only", () => {
  assert.deepEqual(iceServersOf(undefined), []);
  assert.deepEqual(iceServersOf('turn:x'), []);
  assert.deepEqual(
    iceServersOf([
      { urls: ['turn:10.0.0.1:7879?transport=udp', 7], username: 'u', credential: 'c' },
      { urls: 'stun:10.0.0.1', username: 3 },
      { urls: [] },
      null,
      'turn:x',
    ]),
    [
      { urls: ['turn:10.0.0.1:7879?transport=udp'], username: 'u', credential: 'c' },
      { urls: ['stun:10.0.0.1'] },
    ],
  );
});
