import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeWebSocket, FakePC, until, tick } from './fakes.js';
import { fakePage } from './page.js';

const WS = 'ws://10.77.0.1:7878/ws';

/**
 * A page in the lobby with room K7M-Q2P ("Standup") known to the node.
 * @param {import('./page.js').PageOptions} [opts]
 */
function lobbyPage(opts) {
  const page = fakePage(opts);
  page.api.rooms.set('K7MQ2P', { code: 'K7MQ2P', name: 'Standup', ws: WS });
  page.router.start();
  return page;
}

/**
 * Ada joins K7M-Q2P from the lobby and the node lets her in.
 * @param {{peers?: {id: string, name: string}[], passcode?: string}} [opts]
 */
async function inCall(opts = {}) {
  const page = lobbyPage();
  page.lobbyView().handlers.onJoin({ name: 'Ada', room: 'K7M-Q2P', passcode: opts.passcode ?? '' });
  const ws = await page.nextSocket();
  ws.serverSend({ type: 'welcome', id: 'me', token: 't1', resumed: false, room: { code: 'K7MQ2P', name: 'Standup' }, peers: opts.peers ?? [] });
  const view = page.callView();
  assert.ok(view, 'in the call');
  return { page, ws, view };
}

/** Signals the client sent to `to` whose description is of `type`. */
const offersTo = (/** @type {FakeWebSocket} */ ws, /** @type {string} */ to) =>
  ws.sent.filter((f) => f.type === 'signal' && f.to === to && f.data?.description?.type === 'offer');

test('join by code: the lobby waits busy, the welcome brings the call view, and the call is remembered', async () => {
  const page = lobbyPage();
  const lobby = page.lobbyView();
  lobby.handlers.onJoin({ name: 'Ada', room: 'k7m-q2p', passcode: '' });
  const ws = await page.nextSocket();
  assert.equal(ws.url, WS);
  assert.deepEqual(ws.sent, [{ type: 'join', room: 'K7MQ2P', name: 'Ada' }]);
  assert.equal(lobby.busy, true);
  assert.equal(page.callView(), undefined, 'no call view before the node lets us in');

  ws.serverSend({ type: 'welcome', id: 'me', token: 't1', resumed: false, room: { code: 'K7MQ2P', name: 'Standup' }, peers: [{ id: 'b', name: 'Ben' }] });
  const view = page.callView();
  assert.equal(lobby.destroyed, true, 'the lobby goes');
  assert.deepEqual(view.room, { code: 'K7MQ2P', roomName: 'Standup' }, 'the name from the welcome');
  assert.equal(view.tiles.get('self')?.peerId, 'me');
  assert.equal(view.tiles.get('b')?.name, 'Ben');
  assert.equal(page.titles.at(-1), 'Standup (2) · lanmeet');
  assert.deepEqual(page.savedCall(), { ws: WS, code: 'K7MQ2P', name: 'Ada', token: 't1', roomName: 'Standup' });
  assert.deepEqual(page.history.urls, ['?room=K7MQ2P']);
  assert.deepEqual(view.controls, { muted: false, camera: true, sharing: false, canShare: true, hasCamera: true, hand: false });
  assert.equal(view.people, 2, 'the head count');
  assert.equal(page.monitors[0].watched.get('self'), page.media.audio, "our tile's meter follows our microphone");
  assert.equal(view.tiles.get('self')?.stream, page.media.stream);
  // We arrived last, so we offer to Ben, through the socket.
  await until(() => offersTo(ws, 'b').length === 1);
  await until(() => view.devices !== null);
  assert.equal(view.devices.current.audio, 'mic-1');
});

test('host flow: Host a room makes the room and joins it with its passcode', async () => {
  const page = lobbyPage();
  page.api.nextCode = 'ABCDEF';
  page.lobbyView().handlers.onHost({ name: 'Ada', roomName: 'Retro', passcode: 'sesame', listed: true });
  const ws = await page.nextSocket();
  assert.deepEqual(ws.sent, [{ type: 'join', room: 'ABCDEF', name: 'Ada', passcode: 'sesame' }]);
  ws.serverSend({ type: 'welcome', id: 'h', token: 'th', resumed: false, room: { code: 'ABCDEF', name: 'Retro' }, peers: [] });
  assert.deepEqual(page.callView().room, { code: 'ABCDEF', roomName: 'Retro' });
  assert.equal(page.titles.at(-1), 'Retro (1) · lanmeet');
  assert.equal(page.savedCall()?.passcode, 'sesame', 'a reload rejoins a passcode room');
});

test('wrong passcode: the same lobby says so and asks again; the right one gets in', async () => {
  const page = lobbyPage();
  const lobby = page.lobbyView();
  lobby.handlers.onJoin({ name: 'Ada', room: 'K7M-Q2P', passcode: 'nope' });
  const ws = await page.nextSocket();
  assert.equal(ws.sent[0].passcode, 'nope');
  ws.serverSend({ type: 'error', code: 'bad-passcode', message: 'Wrong passcode.' });
  ws.serverClose(1008, 'bad-passcode');
  assert.equal(page.lobbyView(), lobby, 'no new lobby: the one on screen explains');
  assert.equal(lobby.busy, false);
  assert.deepEqual(lobby.notice, { message: 'That passcode is not right. Check it with the host and try again.', kind: 'error', actions: [], detail: undefined });
  assert.equal(lobby.passcodeReason, 'Wrong passcode. Try again.');
  assert.equal(page.savedCall(), null);
  page.timers.advance(60_000);
  assert.equal(FakeWebSocket.instances.length, 1, 'no retry behind the person’s back');

  lobby.handlers.onJoin({ name: 'Ada', room: 'K7M-Q2P', passcode: 'sesame' });
  const again = await page.nextSocket();
  assert.equal(again.sent[0].passcode, 'sesame');
  again.serverSend({ type: 'welcome', id: 'me', token: 't', resumed: false, room: null, peers: [] });
  assert.ok(page.callView());
});

test('a room that needs a passcode asks for it, as information', async () => {
  const page = lobbyPage();
  page.lobbyView().handlers.onJoin({ name: 'Ada', room: 'K7M-Q2P', passcode: '' });
  const ws = await page.nextSocket();
  ws.serverSend({ type: 'error', code: 'bad-passcode', message: '' });
  ws.serverClose(1008, 'bad-passcode');
  const lobby = page.lobbyView();
  assert.equal(lobby.notice?.message, 'Room K7M-Q2P needs a passcode. Type it below, then Join.');
  assert.equal(lobby.notice?.kind, 'info');
  assert.equal(lobby.passcodeReason, 'This room needs a passcode. Ask the host for it.');
});

test('a full room says so; Try again joins afresh', async () => {
  const page = lobbyPage();
  page.lobbyView().handlers.onJoin({ name: 'Ada', room: 'K7M-Q2P', passcode: '' });
  const ws = await page.nextSocket();
  ws.serverSend({ type: 'error', code: 'room-full', message: 'Full.' });
  ws.serverClose(1008, 'room-full');
  const lobby = page.lobbyView();
  assert.match(lobby.notice?.message ?? '', /^Room K7M-Q2P is full\./);
  lobby.clickNotice('Try again');
  const again = await page.nextSocket();
  assert.deepEqual(again.sent, [{ type: 'join', room: 'K7MQ2P', name: 'Ada' }]);
});

test('an unreachable host: the address, the port to open, and Try again', async () => {
  const page = lobbyPage();
  page.lobbyView().handlers.onJoin({ name: 'Ada', room: 'lanmeet://10.77.0.5:9000/K7MQ2P', passcode: '' });
  await until(() => FakeWebSocket.instances.length === 1);
  /** @type {FakeWebSocket} */ (FakeWebSocket.instances[0]).fail();
  const lobby = page.lobbyView();
  assert.match(lobby.notice?.message ?? '', /allow TCP port 9000\.$/);
  assert.equal(lobby.notice?.detail, 'ws://10.77.0.5:9000/ws');
  assert.deepEqual(lobby.noticeActions(), ['Try again']);
});

test('the host closing the room: an overlay over the last picture, then back to the lobby', async () => {
  const { page, ws, view } = await inCall({ peers: [{ id: 'b', name: 'Ben' }] });
  await until(() => FakePC.instances.length === 1);
  ws.serverSend({ type: 'room-closed' });
  ws.serverClose(1000, 'room-closed');
  assert.equal(view.overlay?.title, 'The call has ended');
  assert.equal(view.overlay?.text, 'The host closed this room.');
  assert.deepEqual(view.overlayActions(), ['Back to the lobby*']);
  assert.equal(view.destroyed, false, 'the view stays until the person moves on');
  assert.equal(page.savedCall(), null, 'a reload now shows the lobby');
  assert.equal(FakePC.instances[0].closedFlag, true, 'the connections are closed');
  assert.equal(page.monitors[0].closed, true, 'and the speaking meters');
  assert.equal(page.router.openRoom('ABCDEF'), false, 'the desktop app loads the page instead');

  view.clickOverlay('Back to the lobby');
  assert.equal(view.destroyed, true);
  const lobby = page.lobbyView();
  assert.equal(lobby.destroyed, false);
  assert.equal(lobby.initial.room, 'K7MQ2P');
  assert.equal(lobby.notice, null);
  assert.equal(page.titles.at(-1), 'lanmeet');
  assert.equal(page.media.camera?.readyState, 'live', 'the camera stays for the lobby preview');
  assert.equal(page.router.openRoom('ABCDEF'), true);
});

test('the socket drops: a banner, a resume with the token, the same tiles and connections', async () => {
  const { page, ws, view } = await inCall({ peers: [{ id: 'b', name: 'Ben' }] });
  await until(() => FakePC.instances.length === 1);
  const pc = FakePC.instances[0];
  ws.serverClose(1006, '');
  assert.equal(view.banner?.text, 'Connection to the room was lost. Reconnecting… Your calls keep going meanwhile.');
  assert.equal(view.banner?.kind, 'warn');

  page.timers.advance(250);
  const back = await page.nextSocket();
  assert.deepEqual(back.sent, [{ type: 'join', room: 'K7MQ2P', name: 'Ada', resume: 't1' }]);
  back.serverSend({ type: 'welcome', id: 'me', token: 't2', resumed: true, room: null, peers: [{ id: 'b', name: 'Ben' }] });
  assert.equal(view.banner, null, 'the banner goes');
  assert.deepEqual(view.systemMessages, [], 'nothing to announce: nobody saw us go');
  assert.equal(page.callView(), view, 'the same call view');
  assert.ok(view.tiles.has('b'));
  assert.equal(pc.closedFlag, false, "Ben's connection was never touched");
  assert.equal(page.savedCall()?.token, 't2', 'the fresh token is remembered for a reload');
});

test('a long outage says "still trying"; a new id after it says "reconnected"', async () => {
  const { page, ws, view } = await inCall();
  ws.serverClose(1006, '');
  for (let i = 0; i < 3; i++) {
    page.timers.advance(5000);
    await until(() => FakeWebSocket.instances.length === i + 2);
    /** @type {FakeWebSocket} */ (FakeWebSocket.instances.at(-1)).fail();
  }
  assert.match(view.banner?.text ?? '', /^Still trying to reach the room's host…/);
  page.timers.advance(5000);
  const back = await page.nextSocket();
  back.serverSend({ type: 'welcome', id: 'me2', token: 't9', resumed: false, room: null, peers: [] });
  assert.equal(view.banner, null);
  assert.deepEqual(view.systemMessages, ['Reconnected to the room.']);
  assert.equal(view.tiles.get('self')?.peerId, 'me2');
});

test('Leave: the others are told at once, the call is forgotten, the lobby says so', async () => {
  const { page, ws, view } = await inCall();
  const camera = page.media.camera;
  view.handlers.onLeave();
  assert.deepEqual(ws.sent.at(-1), { type: 'leave' });
  assert.equal(ws.readyState, 3, 'the socket is closed');
  assert.equal(page.savedCall(), null);
  assert.equal(view.destroyed, true);
  const lobby = page.lobbyView();
  assert.equal(lobby.notice?.message, 'You left the call.');
  assert.equal(lobby.notice?.kind, 'info');
  assert.equal(lobby.initial.room, 'K7MQ2P');
  assert.equal(camera?.readyState, 'live', 'the preview keeps the camera');
  page.timers.advance(60_000);
  assert.equal(FakeWebSocket.instances.length, 1, 'no reconnect after leaving');
});

test('an ending we cannot name offers Rejoin, which joins afresh without the old token', async () => {
  const { page, ws, view } = await inCall();
  ws.serverSend({ type: 'error', code: 'not-joined', message: '' });
  ws.serverClose(1008, 'not-joined');
  assert.equal(view.overlay?.title, 'Disconnected');
  assert.deepEqual(view.overlayActions(), ['Rejoin*', 'Back to the lobby*']);
  view.clickOverlay('Rejoin');
  assert.equal(view.destroyed, true);
  const again = await page.nextSocket();
  assert.deepEqual(again.sent, [{ type: 'join', room: 'K7MQ2P', name: 'Ada' }]);
  again.serverSend({ type: 'welcome', id: 'n', token: 't', resumed: false, room: null, peers: [] });
  assert.notEqual(page.callView(), view);
  assert.equal(page.callView().room.roomName, 'Standup', 'the room keeps its name');
});

test('opened in another tab: only the way back, no Rejoin', async () => {
  const { ws, view } = await inCall();
  ws.serverClose(1000, 'replaced');
  assert.equal(view.overlay?.title, 'Opened elsewhere');
  assert.deepEqual(view.overlayActions(), ['Back to the lobby*']);
});

test('a reload during a call rejoins with the saved token; a link to another room does not', async () => {
  const saved = JSON.stringify({ ws: WS, code: 'K7MQ2P', name: 'Ada', token: 't0', roomName: 'Standup' });
  const page = fakePage({ session: { 'lanmeet.call': saved }, search: '?room=K7M-Q2P' });
  page.router.start();
  const lobby = page.lobbyView();
  assert.equal(lobby.notice?.message, 'Rejoining K7M-Q2P…');
  assert.equal(lobby.busy, true);
  const ws = await page.nextSocket();
  assert.deepEqual(ws.sent, [{ type: 'join', room: 'K7MQ2P', name: 'Ada', resume: 't0' }]);
  ws.serverSend({ type: 'welcome', id: 'me', token: 't1', resumed: true, room: null, peers: [] });
  assert.equal(page.callView().room.roomName, 'Standup');

  const other = fakePage({ session: { 'lanmeet.call': saved }, search: '?room=ABC-DEF' });
  other.router.start();
  await tick();
  assert.equal(other.lobbyView().notice, null);
  assert.equal(other.savedCall(), null, 'the old call is forgotten');
  assert.equal(FakeWebSocket.instances.length, 0);
});

test('Mute and Camera off: our tile, the buttons, and the camera light', async () => {
  const { page, view } = await inCall();
  view.handlers.onMute();
  await until(() => view.controls.muted === true);
  assert.equal(page.media.audio?.enabled, false);
  assert.equal(view.tiles.get('self')?.state.muted, true);
  view.handlers.onMute();
  await until(() => view.controls.muted === false);
  assert.equal(page.media.audio?.enabled, true);

  view.handlers.onCamera();
  await until(() => view.controls.camera === false);
  assert.equal(page.devices.live('video').length, 0, 'the camera light is off');
  assert.equal(view.tiles.get('self')?.state.camera, false);
  view.handlers.onCamera();
  await until(() => view.controls.camera === true);
  assert.equal(page.devices.live('video').length, 1);
  assert.ok(view.tiles.get('self')?.stream.getVideoTracks().includes(page.media.camera));
});

test('a camera that stops by itself is said, and we behave as if it were switched off', async () => {
  const { page, view } = await inCall();
  page.media.camera?.end();
  assert.equal(view.banner?.text, 'Your camera stopped. Choose another one under Devices, or turn it back on.');
  assert.equal(view.tiles.get('self')?.state.camera, false);
  assert.equal(view.controls.hasCamera, false);
  page.media.audio?.end();
  assert.match(view.banner?.text ?? '', /^Your microphone stopped\./);
  assert.equal(view.controls.muted, true);
});

test('Share screen replaces the camera; the browser’s "Stop sharing" brings it back', async () => {
  const { page, view } = await inCall();
  view.handlers.onShare();
  await until(() => view.controls.sharing === true);
  const screen = page.media.screen;
  assert.equal(view.tiles.get('self')?.state.sharing, true);
  assert.deepEqual(view.tiles.get('self')?.stream.getVideoTracks(), [screen]);
  screen?.end();
  assert.equal(view.controls.sharing, false);
  assert.deepEqual(view.tiles.get('self')?.stream.getVideoTracks(), [page.media.camera]);

  page.devices.screenError = Object.assign(new Error('No screen here.'), { name: 'NotSupportedError' });
  view.handlers.onShare();
  await until(() => view.banner !== null);
  assert.equal(view.banner?.text, 'Could not share the screen: No screen here.');
});

test('chat: our message shows at once; with nobody connected yet, a note says so', async () => {
  const { view } = await inCall({ peers: [{ id: 'b', name: 'Ben' }] });
  view.handlers.onChat('hello');
  assert.deepEqual(
    view.messages.map((m) => [m.from, m.text, m.self]),
    [['Ada', 'hello', true]],
  );
  assert.deepEqual(view.systemMessages, ['Not delivered yet: nobody is connected. Messages go straight to the others, never through a server.']);
});

test('Copy invite: on the clipboard, or shown to copy by hand', async () => {
  const { page, view } = await inCall();
  await view.handlers.onCopyInvite();
  assert.deepEqual(page.clipboard.texts, ['lanmeet://10.77.0.1:7878/K7MQ2P']);
  assert.equal(view.copyStatus, 'Invite copied');
  page.clipboard.fail = true;
  await view.handlers.onCopyInvite();
  assert.equal(view.overlay?.title, 'Invite');
  assert.equal(view.overlay?.detail, 'lanmeet://10.77.0.1:7878/K7MQ2P');
  view.clickOverlay('Done');
  assert.equal(view.overlay, null);
});

test('the desktop window closing leaves at once; opening a room meanwhile is refused', async () => {
  const { page, ws } = await inCall();
  assert.equal(page.router.openRoom('ABC-DEF'), false);
  page.router.leaveNow();
  assert.deepEqual(ws.sent.at(-1), { type: 'leave' });
  assert.equal(page.savedCall(), null);
});
