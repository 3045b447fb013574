import { test } from 'node:test';
import assert from 'node:assert/strict';
import { explainEnd as explainWithRetell } from '../../call-end.js';
import { setLanguage } from '../../i18n.js';

/**
 * The outcome without its `retell` (checked on its own below).
 * @param {Parameters<typeof explainWithRetell>} args
 */
function explainEnd(...args) {
  const { retell, ...rest } = explainWithRetell(...args);
  assert.equal(typeof retell, 'function');
  return rest;
}

const room = { code: 'K7MQ2P', ws: 'ws://10.77.0.1:7878/ws' };
const why = (code, message = '') => ({ code, message });

test('never got in: every failure is a sentence in the lobby, with the code as people write it', () => {
  assert.deepEqual(explainEnd(why('room-not-found'), room, false), {
    where: 'lobby',
    notice: 'Room K7M-Q2P is not open any more. Check the code, or ask the host to start it again and send a new invite.',
  });
  const full = explainEnd(why('room-full'), room, false);
  assert.equal(full.where, 'lobby');
  assert.match(/** @type {any} */ (full).notice, /^Room K7M-Q2P is full\. A call holds at most 8 people/);
  assert.deepEqual(/** @type {any} */ (full).actions, [{ label: 'Try again', action: 'retry' }]);
});

test('a wrong passcode asks again; a missing one asks for it, as information', () => {
  assert.deepEqual(explainEnd(why('bad-passcode'), { ...room, passcode: 'nope' }, false), {
    where: 'lobby',
    notice: 'That passcode is not right. Check it with the host and try again.',
    askPasscode: 'Wrong passcode. Try again.',
  });
  assert.deepEqual(explainEnd(why('bad-passcode'), room, false), {
    where: 'lobby',
    notice: 'Room K7M-Q2P needs a passcode. Type it below, then Join.',
    noticeKind: 'info',
    askPasscode: 'This room needs a passcode. Ask the host for it.',
  });
});

test('an unreachable host names the port to open and shows the address', () => {
  const out = /** @type {any} */ (explainEnd(why('unreachable'), { code: 'K7MQ2P', ws: 'ws://10.77.0.1:9000/ws' }, false));
  assert.match(out.notice, /must allow TCP port 9000\.$/);
  assert.equal(out.detail, 'ws://10.77.0.1:9000/ws');
  assert.deepEqual(out.actions, [{ label: 'Try again', action: 'retry' }]);
  const noPort = /** @type {any} */ (explainEnd(why('unreachable'), { code: 'K7MQ2P', ws: 'ws://lanmeet.local/ws' }, false));
  assert.match(noPort.notice, /TCP port 7878\.$/, 'the default port when the URL has none');
});

test("anything else before getting in: the node's message, or the code, and Try again", () => {
  assert.deepEqual(explainEnd(why('connection-lost', 'The host closed the connection.'), room, false), {
    where: 'lobby',
    notice: "The room's host closed the connection before letting us in.",
    actions: [{ label: 'Try again', action: 'retry' }],
  });
  assert.equal(/** @type {any} */ (explainEnd(why('join-timeout', 'No join in time.'), room, false)).notice, 'No join in time.');
  assert.equal(/** @type {any} */ (explainEnd(why('weird'), room, false)).notice, 'Could not join room K7M-Q2P (weird).');
});

test('leaving on purpose goes back to the lobby and says so, as information', () => {
  assert.deepEqual(explainEnd(why('left', 'You left the room.'), room, true), { where: 'lobby', notice: 'You left the call.', noticeKind: 'info' });
});

test('ended in the call: an overlay; the host closing the room offers only the way back', () => {
  assert.deepEqual(explainEnd(why('room-closed'), room, true), {
    where: 'overlay',
    title: 'The call has ended',
    text: 'The host closed this room.',
    actions: [{ label: 'Back to the lobby', action: 'lobby', primary: true }],
  });
  const gone = explainEnd(why('room-not-found'), room, true);
  assert.equal(/** @type {any} */ (gone).text, 'This room is gone: its host closed it or stopped lanmeet.');
  const elsewhere = /** @type {any} */ (explainEnd(why('replaced'), room, true));
  assert.equal(elsewhere.title, 'Opened elsewhere');
  assert.deepEqual(elsewhere.actions, [{ label: 'Back to the lobby', action: 'lobby', primary: true }], 'no Rejoin: it would take the call back from the other tab');
});

test('a lost connection, or an ending we cannot name, offers Rejoin first', () => {
  const lost = /** @type {any} */ (explainEnd(why('gave-up'), room, true));
  assert.equal(lost.title, 'Connection lost');
  assert.deepEqual(lost.actions, [
    { label: 'Rejoin', action: 'rejoin', primary: true },
    { label: 'Back to the lobby', action: 'lobby', primary: false },
  ]);
  const odd = /** @type {any} */ (explainEnd(why('not-joined', ''), room, true));
  assert.equal(odd.title, 'Disconnected');
  assert.equal(odd.text, 'The connection to the room ended (not-joined).');
  assert.deepEqual(odd.actions, [
    { label: 'Rejoin', action: 'rejoin', primary: true },
    { label: 'Back to the lobby', action: 'lobby', primary: true },
  ]);
  assert.equal(/** @type {any} */ (explainEnd(why('x', 'Said the node.'), room, true)).text, 'Said the node.');
});

test('retell says the same outcome again in the language of the moment', () => {
  const out = explainWithRetell(why('room-full'), room, false);
  try {
    setLanguage('ko');
    const again = /** @type {any} */ (out.retell());
    assert.match(again.notice, /^K7M-Q2P 방이 가득 찼습니다/);
    assert.deepEqual(again.actions, [{ label: '다시 시도', action: 'retry' }]);
  } finally {
    setLanguage('en');
  }
  assert.match(/** @type {any} */ (out.retell()).notice, /^Room K7M-Q2P is full/);
});
