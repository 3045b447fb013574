import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LobbyController } from '../../lobby-controller.js';
import { ApiError } from '../../api.js';
import { tick, until } from './fakes.js';
import { fakePage } from './page.js';
import { setLanguage } from '../../i18n.js';
import { explainEnd } from '../../call-end.js';

/**
 * A lobby over a fake page; `started` records the calls it hands on.
 * @param {import('./page.js').PageOptions} [opts]
 */
async function lobbyOn(opts) {
  const page = fakePage(opts);
  /** @type {any[]} */
  const started = [];
  const lobby = new LobbyController({ ...page.deps, startCall: (t) => started.push(t) });
  const shown = lobby.show();
  const view = page.lobbyView();
  return { page, lobby, view, started, shown };
}

test('the lobby fills in the saved name and ?room=, polls Nearby rooms, then shows the preview', async () => {
  const { page, view, shown } = await lobbyOn({ search: '?room=K7M-Q2P', local: { 'lanmeet.name': 'Ada' } });
  page.api.lan = [{ code: 'ABCDEF', name: 'Standup', host: 'desk', ws: 'ws://10.77.0.2:7878/ws', peers: 1, capacity: 8, local: false }];
  assert.deepEqual(view.initial, { name: 'Ada', room: 'K7M-Q2P', iceServers: '' });
  assert.deepEqual(page.titles, ['lanmeet']);
  await shown;
  assert.equal(view.preview?.stream.getTracks().length, 2, 'camera and microphone');
  assert.equal(view.preview?.note, '');
  await until(() => view.devices !== null);
  assert.equal(view.devices.current.video, 'cam-1');
  assert.equal(page.api.calls.filter(([c]) => c === 'lanRooms').length, 1, 'asked at once');
  page.timers.advance(2000);
  await until(() => Array.isArray(view.rooms) && view.rooms.length === 1);
  assert.equal(page.api.calls.filter(([c]) => c === 'lanRooms').length, 2, 'and again every 2 s');
  page.api.fail = new ApiError('unreachable', 'gone', 0);
  page.timers.advance(2000);
  await until(() => view.rooms === null);
});

test('without a camera the preview says so, and the lobby still works', async () => {
  const { view, shown } = await lobbyOn({ devices: { video: false } });
  await shown;
  assert.match(view.preview?.note ?? '', /^No camera was found\. You can join with what works\./);
});

test('closing the lobby stops the Nearby poll', async () => {
  const { page, lobby, shown } = await lobbyOn();
  await shown;
  lobby.destroy();
  const before = page.api.calls.length;
  page.timers.advance(10_000);
  await tick();
  assert.equal(page.api.calls.length, before);
  assert.equal(page.lobbyView().destroyed, true);
});

test('Join by code: asks for a name first, then resolves the code and starts the call', async () => {
  const { page, view, started } = await lobbyOn();
  page.api.rooms.set('K7MQ2P', { code: 'K7MQ2P', name: 'Standup', ws: 'ws://10.77.0.9:7878/ws' });
  await view.handlers.onJoin({ name: '', room: 'k7m-q2p', passcode: '' });
  assert.equal(view.notice?.message, 'Type your name first, so the others know who you are.');
  assert.equal(view.focused, 'name');
  assert.equal(started.length, 0);

  await view.handlers.onJoin({ name: 'Ada', room: 'k7m-q2p', passcode: '' });
  assert.deepEqual(started, [{ ws: 'ws://10.77.0.9:7878/ws', code: 'K7MQ2P', name: 'Ada', passcode: undefined }]);
  assert.equal(view.notice, null, 'the old notice is gone');
  assert.equal(view.busy, true, 'Join shows "Joining…" until the call says otherwise');
  assert.equal(page.local.getItem('lanmeet.name'), 'Ada', 'the name is remembered');
  assert.ok(page.marks.includes('join-click'));
});

test('Join with an invite goes straight to its host, without asking the node', async () => {
  const { page, view, started } = await lobbyOn();
  await view.handlers.onJoin({ name: 'Ben', room: ' lanmeet://10.77.0.3:7878/K7M-Q2P ', passcode: 'sesame' });
  assert.deepEqual(started, [{ ws: 'ws://10.77.0.3:7878/ws', code: 'K7MQ2P', name: 'Ben', passcode: 'sesame' }]);
  assert.equal(page.api.calls.filter(([c]) => c === 'resolveRoom').length, 0);
});

test('a malformed code and an unknown one are explained, and nothing starts', async () => {
  const { view, started } = await lobbyOn();
  await view.handlers.onJoin({ name: 'Eve', room: 'K7M-Q2U', passcode: '' });
  assert.match(view.notice?.message ?? '', /"U" cannot be part of a room code/);
  assert.equal(view.focused, 'room');
  await view.handlers.onJoin({ name: 'Eve', room: 'ZZZ-ZZZ', passcode: '' });
  assert.match(view.notice?.message ?? '', /^No room with code ZZZ-ZZZ was found on this network\./);
  assert.equal(view.busy, false);
  assert.deepEqual(started, []);
});

test('a node that does not answer: said in plain words, and Try again tries again', async () => {
  const { page, view, started } = await lobbyOn();
  page.api.fail = new ApiError('unreachable', 'x', 0);
  await view.handlers.onJoin({ name: 'Gus', room: 'K7MQ2P', passcode: '' });
  assert.match(view.notice?.message ?? '', /^This page cannot reach the lanmeet program on this computer\./);
  assert.deepEqual(view.noticeActions(), ['Try again']);
  page.api.fail = null;
  page.api.rooms.set('K7MQ2P', { code: 'K7MQ2P', name: '', ws: 'ws://10.77.0.1:7878/ws' });
  view.clickNotice('Try again');
  await until(() => started.length === 1);
  assert.equal(started[0].code, 'K7MQ2P');
});

test('too many attempts: wait and try again', async () => {
  const { page, view } = await lobbyOn();
  page.api.fail = new ApiError('rate-limited', 'x', 429);
  await view.handlers.onJoin({ name: 'Gus', room: 'K7MQ2P', passcode: '' });
  assert.equal(view.notice?.message, 'Too many attempts in a short time. Wait a few seconds and try again.');
  page.api.fail = new ApiError('room-limit', 'This node hosts too many rooms.', 503);
  await view.handlers.onHost({ name: 'Gus', roomName: '', passcode: '', listed: true });
  assert.equal(view.notice?.message, 'This node hosts too many rooms.', "the node's own sentence otherwise");
  assert.deepEqual(view.noticeActions(), ['Try again']);
});

test('Host a room: the node makes the room, and the call starts in it', async () => {
  const { page, view, started } = await lobbyOn();
  await view.handlers.onHost({ name: 'Ada', roomName: 'Standup', passcode: 'sesame', listed: false });
  assert.deepEqual(page.api.calls.find(([c]) => c === 'createRoom'), ['createRoom', { name: 'Standup', passcode: 'sesame', listed: false }]);
  assert.deepEqual(started, [{ ws: 'ws://10.77.0.1:7878/ws', code: 'K7MQ2P', name: 'Ada', passcode: 'sesame', roomName: 'Standup' }]);
  await view.handlers.onHost({ name: 'Ada', roomName: '', passcode: '', listed: true });
  assert.deepEqual(page.api.calls.filter(([c]) => c === 'createRoom')[1][1], { name: undefined, passcode: null, listed: true });
});

test('a Nearby room joins its own host, with the passcode typed', async () => {
  const { view, started } = await lobbyOn();
  view.passcodeInput.value = 'pw';
  await view.handlers.onJoinNearby({ code: 'ABCDEF', name: 'Standup', host: 'desk', ws: 'ws://10.77.0.2:7878/ws', peers: 1, capacity: 8, local: false }, 'Cy');
  assert.deepEqual(started, [{ ws: 'ws://10.77.0.2:7878/ws', code: 'ABCDEF', name: 'Cy', roomName: 'Standup', passcode: 'pw' }]);
});

test('a window without WebRTC says so and opens the same room in the browser', async () => {
  /** @type {string[]} */
  const opened = [];
  const { page, view, started } = await lobbyOn({ hasWebRTC: false, search: '?room=K7M-Q2P', opener: (url) => opened.push(url) });
  assert.match(view.notice?.message ?? '', /^This window cannot make video calls/);
  view.clickNotice('Open in browser');
  assert.deepEqual(opened, ['http://127.0.0.1:7879/?room=K7M-Q2P']);
  await view.handlers.onJoin({ name: 'Ada', room: 'ABC-DEF', passcode: '' });
  view.clickNotice('Open in browser');
  assert.deepEqual(opened.at(-1), 'http://127.0.0.1:7879/?room=ABC-DEF');

  // Hosting still works (no name needed: the browser asks for it); the call does not start here.
  await view.handlers.onHost({ name: '', roomName: 'From the window', passcode: '', listed: true });
  assert.match(view.notice?.message ?? '', /^Room K7M-Q2P is open: friends join with that code or the invite lanmeet:\/\/10\.77\.0\.1:7878\/K7MQ2P\. This window cannot/);
  assert.equal(view.busy, false);
  view.clickNotice('Open in browser');
  assert.equal(opened.at(-1), 'http://127.0.0.1:7879/?room=K7MQ2P');
  assert.deepEqual(started, []);
  assert.equal(page.api.rooms.get('K7MQ2P')?.name, 'From the window');
});

test('without the desktop bridge, "Open in browser" shows the address to copy; a failing bridge too', async () => {
  const { view } = await lobbyOn({ hasWebRTC: false });
  view.clickNotice('Open in browser');
  assert.deepEqual(view.notice, { message: 'Copy this address into your web browser:', kind: 'info', actions: [], detail: 'http://127.0.0.1:7879/' });

  const failing = await lobbyOn({ hasWebRTC: false, opener: () => Promise.reject(new Error('no browser')) });
  failing.view.clickNotice('Open in browser');
  await until(() => failing.view.notice?.message.startsWith('Open this address') === true);
  assert.equal(failing.view.notice?.detail, 'http://127.0.0.1:7879/');
});

test('a window that calls through the bridge says so quietly, joins, and still offers the browser', async () => {
  /** @type {string[]} */
  const opened = [];
  const { page, view, started } = await lobbyOn({ bridged: true, search: '?room=K7M-Q2P', opener: (url) => opened.push(url) });
  assert.match(view.notice?.message ?? '', /lanmeet makes its calls for it/);
  assert.equal(view.notice?.kind, 'info', 'no red banner: this window can call');
  view.clickNotice('Open in browser');
  assert.deepEqual(opened, ['http://127.0.0.1:7879/?room=K7M-Q2P']);
  page.api.rooms.set('K7MQ2P', { code: 'K7MQ2P', name: '', ws: 'ws://10.77.0.1:7878/ws' });
  await view.handlers.onJoin({ name: 'Ada', room: 'K7M-Q2P', passcode: '' });
  assert.equal(started.length, 1, 'the call starts in this window');
});

test('the desktop app hands over a room: joined when the name is known, else the field is filled', async () => {
  const { page, lobby, view, started } = await lobbyOn({ local: { 'lanmeet.name': 'Ada' } });
  page.api.rooms.set('K7MQ2P', { code: 'K7MQ2P', name: '', ws: 'ws://10.77.0.1:7878/ws' });
  assert.equal(lobby.openRoom('K7M-Q2P'), true);
  await until(() => started.length === 1);
  assert.equal(started[0].name, 'Ada');

  const other = await lobbyOn();
  assert.equal(other.lobby.openRoom('lanmeet://10.77.0.3:7878/K7MQ2P'), true);
  assert.equal(other.view.roomInput.value, 'lanmeet://10.77.0.3:7878/K7MQ2P');
  assert.equal(other.view.focused, 'room');
  assert.deepEqual(other.started, []);
  assert.equal(view.destroyed, false);
});

test('a join that failed is reported in the same lobby: not busy, the reason, the passcode field', async () => {
  const { lobby, view } = await lobbyOn();
  view.setBusy(true);
  view.roomInput.value = '';
  lobby.report({ notice: 'Wrong.', askPasscode: 'Wrong passcode. Try again.' }, 'K7MQ2P');
  assert.equal(view.busy, false);
  assert.equal(view.notice?.message, 'Wrong.');
  assert.equal(view.passcodeReason, 'Wrong passcode. Try again.');
  assert.equal(view.roomInput.value, 'K7MQ2P', 'an empty field gets the code back');
});

test('picking a device in the lobby changes the preview; a device that fails says so', async () => {
  const { page, view, shown } = await lobbyOn();
  await shown;
  const firstCam = page.media.camera;
  await view.handlers.onDevice('video', 'cam-2');
  assert.equal(page.media.camera?.getSettings().deviceId, 'cam-2');
  assert.equal(firstCam?.readyState, 'ended', 'the old camera is stopped');
  assert.equal(view.preview?.note, '');
  assert.ok(view.preview?.stream.getTracks().includes(page.media.camera));
  page.devices.has.audio = false;
  await view.handlers.onDevice('audio', 'mic-2');
  assert.match(view.preview?.note ?? '', /^No microphone was found\./);
});

test('switching language says the notice, the preview note and a failed join again in the new language', async () => {
  const { page, lobby, view, shown } = await lobbyOn({ devices: { video: false } });
  await shown;
  try {
    // The node's own (English) sentence only in English; in Korean ours, with the code.
    page.api.fail = new ApiError('room-limit', 'This node hosts too many rooms.', 503);
    setLanguage('ko');
    await view.handlers.onHost({ name: 'Gus', roomName: '', passcode: '', listed: true });
    assert.equal(view.notice?.message, '이 컴퓨터의 lanmeet이 요청을 처리하지 못했습니다 (room-limit). 다시 시도하세요.');
    assert.deepEqual(view.noticeActions(), ['다시 시도']);
    setLanguage('en');
    assert.equal(view.notice?.message, 'This node hosts too many rooms.');
    page.api.fail = null;
    await view.handlers.onJoin({ name: '', room: 'K7MQ2P', passcode: '' });
    assert.equal(view.notice?.message, 'Type your name first, so the others know who you are.');
    setLanguage('ko');
    assert.equal(view.notice?.message, '먼저 이름을 입력하세요. 다른 사람들에게 이 이름이 보입니다.');
    assert.match(view.preview?.note ?? '', /^카메라를 찾을 수 없습니다\./);
    setLanguage('en');
    assert.match(view.preview?.note ?? '', /^No camera was found\./);

    // A join that failed in the call controller comes back with its outcome's retell.
    const { where: _, actions, ...rest } = /** @type {any} */ (explainEnd({ code: 'room-full', message: '' }, { code: 'K7MQ2P', ws: 'ws://x:7878/ws' }, false));
    /** @type {string[]} */
    const ran = [];
    lobby.report({ ...rest, actions: actions.map((/** @type {any} */ a) => ({ label: a.label, run: () => ran.push(a.action) })) }, 'K7MQ2P');
    assert.match(view.notice?.message ?? '', /^Room K7M-Q2P is full\./);
    setLanguage('ko');
    assert.match(view.notice?.message ?? '', /^K7M-Q2P 방이 가득 찼습니다\./);
    view.clickNotice('다시 시도');
    assert.deepEqual(ran, ['retry'], 'the action still does what it did');

    setLanguage('en');
    const wrong = /** @type {any} */ (explainEnd({ code: 'bad-passcode', message: '' }, { code: 'K7MQ2P', ws: 'ws://x/ws', passcode: 'no' }, false));
    lobby.report({ notice: wrong.notice, askPasscode: wrong.askPasscode, retell: wrong.retell }, 'K7MQ2P');
    assert.equal(view.passcodeReason, 'Wrong passcode. Try again.');
    setLanguage('ko');
    assert.equal(view.notice?.message, '암호가 맞지 않습니다. 호스트에게 확인한 뒤 다시 시도하세요.');
    assert.equal(view.passcodeReason, '암호가 틀렸습니다. 다시 입력하세요.');

    lobby.destroy();
    setLanguage('en');
    assert.equal(view.passcodeReason, '암호가 틀렸습니다. 다시 입력하세요.', 'a destroyed lobby no longer listens');
  } finally {
    setLanguage('en');
  }
});
