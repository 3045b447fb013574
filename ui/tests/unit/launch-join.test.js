import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readLaunch } from '../../launch-join.js';
import { fakePage } from './page.js';
import { FakeLobbyView } from './fakes.js';
import { until } from './fakes.js';
import { LAUNCH_LOBBY_AFTER_MS } from '../../lobby-controller.js';

const WS = 'ws://10.77.0.1:7878/ws';

test('readLaunch: name and join count only in the desktop app, and leave the URL', () => {
  assert.deepEqual(readLaunch('?room=K7MQ2P&name=Ana%20Lee&join=1', true), {
    room: 'K7MQ2P',
    name: 'Ana Lee',
    join: true,
    search: '?room=K7MQ2P',
  });
  assert.deepEqual(
    readLaunch('?room=K7MQ2P&name=Ana&join=1', false),
    { room: 'K7MQ2P', name: null, join: false, search: null },
    'a browser tab never joins from its URL',
  );
  assert.deepEqual(readLaunch('?room=K7MQ2P', true), { room: 'K7MQ2P', name: null, join: false, search: null });
  assert.deepEqual(readLaunch('?name=Ana', true), { room: null, name: 'Ana', join: false, search: '' }, 'a name alone fills the field');
  assert.equal(readLaunch('?room=K7MQ2P&name=%20%20&join=1', true).join, false, 'no name, no join');
  assert.equal(readLaunch('?name=Ana&join=1', true).join, false, 'no room, no join');
  assert.equal(readLaunch('?room=K7MQ2P&name=Ana&join=yes', true).join, false);
  assert.equal(readLaunch('', true).search, null);
});

test('the desktop app launched with --name and a code: the page joins at once, and the URL forgets it', async () => {
  const page = fakePage({ desktop: true, search: '?room=K7M-Q2P&name=Ana&join=1', local: { 'lanmeet.name': 'Old' } });
  page.api.rooms.set('K7MQ2P', { code: 'K7MQ2P', name: 'Standup', ws: WS });
  page.router.start();
  assert.deepEqual(page.history.urls, ['?room=K7M-Q2P'], 'name and join are off the URL before anything else');
  const ws = await page.nextSocket();
  assert.deepEqual(ws.sent[0], { type: 'join', room: 'K7MQ2P', name: 'Ana' });
  ws.serverSend({ type: 'welcome', id: 'me', token: 't1', resumed: false, room: { code: 'K7MQ2P', name: 'Standup' }, peers: [] });
  await until(() => !!page.callView());
  assert.equal(page.lobbyView(), undefined, 'straight into the call: no lobby drawn on the way');
  page.timers.advance(LAUNCH_LOBBY_AFTER_MS * 2);
  assert.equal(page.lobbyView(), undefined, 'nor later');
  // Leaving lands in the lobby, not in the call again.
  page.callView().handlers.onLeave();
  await until(() => page.lobbyView() && !page.lobbyView().destroyed);
  assert.equal(new URLSearchParams(page.location.search).get('join'), null);
});

test('a launch join with no such room: the lobby says so, with the room and the name filled in', async () => {
  const page = fakePage({ desktop: true, search: '?room=K7M-Q2P&name=Ana&join=1' });
  page.router.start();
  assert.equal(page.lobbyView(), undefined);
  await until(() => !!page.lobbyView()?.notice);
  const view = page.lobbyView();
  assert.match(view.notice?.message ?? '', /K7M-Q2P/);
  assert.equal(view.name, 'Ana');
  assert.equal(view.roomInput.value, 'K7M-Q2P');
  assert.equal(view.busy, false);
  assert.equal(FakeLobbyView.instances.length, 1, 'one lobby');
});

test('a launch join with a malformed code: the lobby says why', async () => {
  const page = fakePage({ desktop: true, search: '?room=K7M&name=Ana&join=1' });
  page.router.start();
  await until(() => !!page.lobbyView()?.notice);
  assert.equal(page.lobbyView().roomInput.value, 'K7M');
  assert.equal(page.lobbyView().name, 'Ana');
});

test('a launch join that is slow to get in shows the lobby, busy, and goes on to the call', async () => {
  const page = fakePage({ desktop: true, search: '?room=K7M-Q2P&name=Ana&join=1' });
  page.api.rooms.set('K7MQ2P', { code: 'K7MQ2P', name: 'Standup', ws: WS });
  page.router.start();
  const ws = await page.nextSocket();
  page.timers.advance(LAUNCH_LOBBY_AFTER_MS - 1);
  assert.equal(page.lobbyView(), undefined);
  page.timers.advance(1);
  const view = page.lobbyView();
  assert.ok(view, 'the lobby is drawn');
  assert.equal(view.busy, true, 'joining');
  assert.equal(view.name, 'Ana');
  ws.serverSend({ type: 'welcome', id: 'me', token: 't1', resumed: false, room: { code: 'K7MQ2P', name: 'Standup' }, peers: [] });
  await until(() => !!page.callView());
  assert.equal(view.destroyed, true, 'the lobby is gone once in the call');
});

test('a launch join the room refuses: the lobby it never drew says why', async () => {
  const page = fakePage({ desktop: true, search: '?room=K7M-Q2P&name=Ana&join=1' });
  page.api.rooms.set('K7MQ2P', { code: 'K7MQ2P', name: 'Standup', ws: WS });
  page.router.start();
  const ws = await page.nextSocket();
  ws.serverSend({ type: 'error', code: 'room-full', message: 'The room is full.' });
  ws.serverClose(1008, 'room-full');
  await until(() => !!page.lobbyView()?.notice);
  const view = page.lobbyView();
  assert.match(view.notice?.message ?? '', /full/);
  assert.equal(view.roomInput.value, 'K7M-Q2P');
  assert.equal(view.name, 'Ana');
  assert.equal(view.busy, false);
  assert.equal(page.callView(), undefined);
});

test('an invite and a name: joined without resolving; a saved call of this window does not win', async () => {
  const page = fakePage({
    desktop: true,
    search: `?room=${encodeURIComponent('lanmeet://10.77.0.1:7878/K7MQ2P')}&name=Ana&join=1`,
    session: { 'lanmeet.call': JSON.stringify({ ws: 'ws://10.77.0.9:7878/ws', code: 'ABCDEF', name: 'Old', token: 'x' }) },
  });
  page.router.start();
  const ws = await page.nextSocket();
  assert.equal(ws.url, WS);
  assert.deepEqual(ws.sent[0], { type: 'join', room: 'K7MQ2P', name: 'Ana' });
  assert.equal(page.api.calls.filter(([c]) => c === 'resolveRoom').length, 0);
});

test('in a browser the same URL only fills in the room', async () => {
  const page = fakePage({ search: '?room=K7M-Q2P&name=Ana&join=1' });
  page.router.start();
  assert.deepEqual(page.history.urls, []);
  assert.equal(page.lobbyView().initial.name, '');
  assert.equal(page.lobbyView().initial.room, 'K7M-Q2P');
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(page.callView(), undefined);
});

test('a window without WebRTC launched with --name: the room and name are filled in, nothing joins', async () => {
  const page = fakePage({ desktop: true, hasWebRTC: false, search: '?room=K7M-Q2P&name=Ana&join=1' });
  page.router.start();
  const view = page.lobbyView();
  assert.equal(view.name, 'Ana');
  assert.equal(view.roomInput.value, 'K7M-Q2P');
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(page.callView(), undefined);
});

test('a second launch with --name hands the room and the name to the lobby', async () => {
  const page = fakePage({ desktop: true });
  page.api.rooms.set('K7MQ2P', { code: 'K7MQ2P', name: 'Standup', ws: WS });
  page.router.start();
  assert.equal(page.router.openRoom('K7M-Q2P', 'Bo'), true);
  const ws = await page.nextSocket();
  assert.deepEqual(ws.sent[0], { type: 'join', room: 'K7MQ2P', name: 'Bo' });
});
