// The call's conveniences, through the real controller, signaling client and mesh
// over the fakes: the chat panel and its unread badge, raising a hand, the keyboard
// shortcuts, the announcements, and the verification code on each tile.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakePC, FakeChannel, until, tick } from './fakes.js';
import { fakePage } from './page.js';
import { verificationCode } from '../../verification.js';
import { SHORTCUTS, shortcutFor, isTypingTarget } from '../../shortcuts.js';

const WS = 'ws://10.77.0.1:7878/ws';

/**
 * Ada in room K7M-Q2P with Ben, whose side the test plays with a FakePC of its own:
 * Ada offers, "Ben" answers through the node, the connection comes up and the data
 * channels are linked both ways.
 */
async function withBen() {
  const page = fakePage();
  page.api.rooms.set('K7MQ2P', { code: 'K7MQ2P', name: 'Standup', ws: WS });
  page.router.start();
  page.lobbyView().handlers.onJoin({ name: 'Ada', room: 'K7M-Q2P', passcode: '' });
  const ws = await page.nextSocket();
  ws.serverSend({ type: 'welcome', id: 'a', token: 't1', resumed: false, room: { code: 'K7MQ2P', name: 'Standup' }, peers: [{ id: 'b', name: 'Ben' }] });
  const view = page.callView();
  const offer = () => ws.sent.find((f) => f.type === 'signal' && f.to === 'b' && f.data?.description?.type === 'offer');
  await until(() => !!offer());
  const ada = FakePC.instances[0];
  const ben = new FakePC({});
  await ben.setRemoteDescription(offer().data.description);
  await ben.setLocalDescription();
  ws.serverSend({ type: 'signal', from: 'b', data: { description: { type: 'answer', sdp: ben.localDescription.sdp } } });
  await until(() => view.tiles.get('b')?.state.state === 'connected');
  await until(() => ada.channel?.readyState === 'open' && !!ben.channel);
  const benChannel = /** @type {FakeChannel} */ (ben.channel);
  benChannel.remote = ada.channel;
  ada.channel.remote = benChannel;
  benChannel._open();
  /** Ben sends a data-channel message to Ada. @param {any} msg */
  const fromBen = async (msg) => {
    benChannel.send(JSON.stringify(msg));
    await tick(); // the fake channel delivers on the next turn
  };
  /** What Ada sent Ben on the data channel, parsed. */
  const toBen = () => ada.channel.sent.map((/** @type {string} */ s) => JSON.parse(s));
  return { page, ws, view, ada, ben, fromBen, toBen };
}

test('the chat panel starts closed; messages while it is closed count as unread, opening reads them', async () => {
  const { view, fromBen } = await withBen();
  assert.deepEqual(view.chat, { open: false, unread: 0 }, 'the stage gets the width until someone chats');
  await fromBen({ type: 'chat', text: 'hi Ada', ts: 1 });
  await fromBen({ type: 'chat', text: 'are you there?', ts: 2 });
  assert.deepEqual(view.chat, { open: false, unread: 2 });
  assert.deepEqual(view.messages.map((m) => [m.from, m.text]), [['Ben', 'hi Ada'], ['Ben', 'are you there?']]);
  assert.ok(view.announcements.includes('Message from Ben: hi Ada'), 'screen readers hear the message');

  view.handlers.onChatOpen(true);
  assert.deepEqual(view.chat, { open: true, unread: 0 }, 'opening the panel clears the badge');
  await fromBen({ type: 'chat', text: 'good', ts: 3 });
  assert.deepEqual(view.chat, { open: true, unread: 0 }, 'a message read as it comes is not unread');

  view.handlers.onChatOpen(false);
  view.handlers.onChat('my own');
  assert.deepEqual(view.chat, { open: false, unread: 0 }, 'our own messages are never unread');
  await fromBen({ type: 'chat', text: 'again', ts: 4 });
  assert.equal(view.chat.unread, 1);
});

test('raise hand: our tile and button show it, the others get it in our state message, theirs is announced', async () => {
  const { view, fromBen, toBen } = await withBen();
  await until(() => toBen().some((m) => m.type === 'state'));
  assert.equal(toBen().at(-1).hand, false, 'the state sent when the channel opens says the hand is down');

  view.handlers.onHand();
  assert.equal(view.tiles.get('self')?.state.hand, true);
  assert.equal(view.controls.hand, true);
  assert.deepEqual(toBen().at(-1), { type: 'state', muted: false, camera: true, sharing: false, hand: true });
  assert.equal(view.announcements.at(-1), 'Your hand is raised.');
  view.handlers.onHand();
  assert.equal(toBen().at(-1).hand, false);
  assert.equal(view.controls.hand, false);

  await fromBen({ type: 'state', muted: false, camera: true, sharing: false, hand: true });
  assert.equal(view.tiles.get('b')?.state.hand, true);
  assert.equal(view.announcements.at(-1), 'Ben raised their hand.');
  const said = view.announcements.length;
  await fromBen({ type: 'state', muted: true, camera: true, sharing: false, hand: true });
  assert.equal(view.announcements.length, said, 'a hand already up is not announced again');
  await fromBen({ type: 'state', muted: true, camera: true, sharing: false });
  assert.equal(view.tiles.get('b')?.state.hand, false, 'a state without `hand` (an older client) means down');
});

test('shortcuts: each action does what its button does', async () => {
  const { page, view, ws } = await withBen();
  view.handlers.onShortcut('mute');
  await until(() => view.controls.muted === true);
  view.handlers.onShortcut('camera');
  await until(() => view.controls.camera === false);
  view.handlers.onShortcut('chat');
  assert.equal(view.chat.open, true);
  view.handlers.onShortcut('chat');
  assert.equal(view.chat.open, false);
  view.handlers.onShortcut('hand');
  assert.equal(view.controls.hand, true);
  view.handlers.onShortcut('help');
  assert.equal(view.helpOpen, true);
  view.handlers.onShortcut('leave');
  assert.deepEqual(ws.sent.at(-1), { type: 'leave' });
  assert.equal(page.savedCall(), null);
});

test('shortcut keys: letters and Shift+L, not while typing, not with Ctrl/Alt/Meta, not on repeat', () => {
  const body = { tagName: 'BODY' };
  const key = (/** @type {string} */ k, /** @type {any} */ more = {}) => shortcutFor({ key: k, code: `Key${k.toUpperCase()}`, target: body, ...more });
  assert.equal(key('m'), 'mute');
  assert.equal(key('M', { shiftKey: false }), 'mute', 'Caps Lock');
  assert.equal(key('v'), 'camera');
  assert.equal(key('c'), 'chat');
  assert.equal(key('h'), 'hand');
  assert.equal(key('L', { shiftKey: true }), 'leave');
  assert.equal(key('l'), null, 'a bare L does not end the call');
  assert.equal(shortcutFor({ key: '?', code: 'Slash', shiftKey: true, target: body }), 'help');
  assert.equal(shortcutFor({ key: 'ㅡ', code: 'KeyM', target: body }), 'mute', 'a Korean layout: the key where M is');
  assert.equal(key('m', { ctrlKey: true }), null);
  assert.equal(key('c', { metaKey: true }), null, 'copy stays copy');
  assert.equal(key('m', { altKey: true }), null);
  assert.equal(key('m', { repeat: true }), null, 'holding M does not flicker the microphone');
  assert.equal(key('m', { isComposing: true }), null);
  assert.equal(key('x'), null);
  for (const target of [{ tagName: 'INPUT', type: 'text' }, { tagName: 'INPUT' }, { tagName: 'TEXTAREA' }, { tagName: 'SELECT' }, { tagName: 'DIV', isContentEditable: true }]) {
    assert.equal(key('m', { target }), null, `not while typing in ${JSON.stringify(target)}`);
  }
  assert.equal(isTypingTarget({ tagName: 'BUTTON' }), false, 'M on a focused button still mutes');
  assert.equal(isTypingTarget({ tagName: 'INPUT', type: 'checkbox' }), false);
  assert.deepEqual(SHORTCUTS.map((s) => s.action), ['mute', 'camera', 'chat', 'hand', 'leave', 'help'], 'the help lists every action');
});

test('the verification code on a tile is the pair’s, the same one Ben computes', async () => {
  const { view, ada, ben } = await withBen();
  await until(() => typeof view.tiles.get('b')?.state.verify === 'string');
  const shown = view.tiles.get('b')?.state.verify;
  assert.match(shown ?? '', /^\d{3} \d{3}$/);
  assert.equal(shown, await verificationCode(ada.localDescription.sdp, ada.remoteDescription.sdp));
  assert.equal(shown, await verificationCode(ben.localDescription.sdp, ben.remoteDescription.sdp), 'Ben sees the same digits');
  assert.equal(view.tiles.get('self')?.state.verify, undefined, 'none on our own tile');
});

test('people count and announcements: arriving, someone joining, someone leaving', async () => {
  const { ws, view } = await withBen();
  assert.equal(view.people, 2);
  assert.equal(view.announcements[0], 'You are in Standup, with 2 people.');
  ws.serverSend({ type: 'peer-joined', peer: { id: 'c', name: 'Cleo' } });
  assert.equal(view.people, 3);
  assert.equal(view.announcements.at(-1), 'Cleo joined.');
  ws.serverSend({ type: 'peer-left', id: 'c' });
  assert.equal(view.people, 2);
  assert.equal(view.announcements.at(-1), 'Cleo left.');
});

test('back from a blip, our state (hand, mute) is said again', async () => {
  const { view, ada, toBen } = await withBen();
  view.handlers.onHand();
  const sent = toBen().length;
  ada._setConnection('disconnected');
  await until(() => view.tiles.get('b')?.state.state === 'reconnecting');
  ada._setConnection('connected');
  await until(() => toBen().length > sent);
  assert.deepEqual(toBen().at(-1), { type: 'state', muted: false, camera: true, sharing: false, hand: true });
});
