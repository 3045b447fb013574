import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isGuestPage, guestSocketUrl, guestLinkFor, createGuestApi, invitePhoneModel } from '../../guest.js';
import { LobbyController } from '../../lobby-controller.js';
import { ApiError } from '../../api.js';
import { setLanguage } from '../../i18n.js';
import { fakePage } from './page.js';
import { until } from './fakes.js';

test('a guest page is one served over HTTPS from a host that is not this machine', () => {
  assert.equal(isGuestPage({ protocol: 'https:', hostname: '192.168.1.20' }), true);
  assert.equal(isGuestPage({ protocol: 'https:', hostname: 'desk.local' }), true);
  assert.equal(isGuestPage({ protocol: 'http:', hostname: '127.0.0.1' }), false, 'the local UI');
  assert.equal(isGuestPage({ protocol: 'http:', hostname: '192.168.1.20' }), false, 'no secure context: nothing to offer');
  for (const hostname of ['127.0.0.1', 'localhost', '[::1]']) {
    assert.equal(isGuestPage({ protocol: 'https:', hostname }), false, hostname);
  }
});

test('guests join over wss on their own origin; the guest link follows the room socket', () => {
  assert.equal(guestSocketUrl({ host: '192.168.1.20:7878' }), 'wss://192.168.1.20:7878/ws');
  assert.equal(guestLinkFor('ws://192.168.1.20:7878/ws', 'k8p-adg'), 'https://192.168.1.20:7878/?room=K8PADG');
  assert.equal(guestLinkFor('wss://[fd00::2]:7878/ws', 'K8PADG'), 'https://[fd00::2]:7878/?room=K8PADG');
  assert.equal(guestLinkFor('not a url', 'K8PADG'), null);
  assert.equal(guestLinkFor('http://192.168.1.20:7878/', 'K8PADG'), null);
  assert.equal(guestLinkFor('ws://192.168.1.20:7878/ws', 'nope!'), null);
});

/**
 * A fetch that answers HEAD room checks with `status` (or fails), and records them.
 * @param {number | 'fail'} status
 */
function fakeFetch(status) {
  /** @type {{url: string, method: string | undefined}[]} */
  const calls = [];
  const fetch = /** @type {any} */ (
    async (/** @type {string} */ url, /** @type {RequestInit} */ init) => {
      calls.push({ url, method: init?.method });
      if (status === 'fail') throw new TypeError('Failed to fetch');
      return { status, ok: status < 300 };
    }
  );
  return { fetch, calls };
}

const LOCATION = { host: '192.168.1.20:7878', origin: 'https://192.168.1.20:7878' };

test('the guest API checks the room on its own node and never lists or hosts', async () => {
  setLanguage('en');
  const ok = fakeFetch(204);
  const api = createGuestApi({ location: LOCATION, fetch: ok.fetch });
  assert.deepEqual(await api.resolveRoom('K8PADG'), { code: 'K8PADG', ws: 'wss://192.168.1.20:7878/ws' });
  assert.deepEqual(ok.calls, [{ url: 'https://192.168.1.20:7878/api/rooms/K8PADG', method: 'HEAD' }]);
  assert.deepEqual(await api.lanRooms(), []);
  assert.equal(ok.calls.length, 1, 'nothing asked for the list');
  await assert.rejects(api.createRoom({}), (e) => e instanceof ApiError && e.code === 'guest');

  for (const [status, code] of /** @type {const} */ ([[404, 'room-not-found'], [429, 'rate-limited'], [500, 'http-500'], ['fail', 'guest-unreachable']])) {
    const api = createGuestApi({ location: LOCATION, fetch: fakeFetch(status).fetch });
    await assert.rejects(api.resolveRoom('K8PADG'), (e) => e instanceof ApiError && e.code === code, String(status));
  }
});

test('the lobby over the guest API joins the room of the link over wss, and says when there is none', async () => {
  setLanguage('en');
  const page = fakePage({ search: '?room=K8PADG', local: { 'lanmeet.name': 'Phone' } });
  const checks = fakeFetch(204);
  /** @type {any[]} */
  const started = [];
  const lobby = new LobbyController({ ...page.deps, api: createGuestApi({ location: LOCATION, fetch: checks.fetch }), startCall: (t) => started.push(t) });
  await lobby.show();
  const view = page.lobbyView();
  assert.equal(view.initial.room, 'K8PADG');
  await lobby.join({ name: 'Phone', room: view.initial.room, passcode: '' });
  assert.deepEqual(started, [{ ws: 'wss://192.168.1.20:7878/ws', code: 'K8PADG', name: 'Phone', passcode: undefined }]);

  const gone = new LobbyController({ ...page.deps, api: createGuestApi({ location: LOCATION, fetch: fakeFetch(404).fetch }), startCall: (t) => started.push(t) });
  await gone.show();
  await gone.join({ name: 'Phone', room: 'K8PADG', passcode: '' });
  await until(() => !!page.lobbyView().notice);
  assert.match(page.lobbyView().notice.message, /K8P-ADG/);
  assert.equal(started.length, 1, 'no call for a room that is not there');
  lobby.destroy();
  gone.destroy();
});

test('Invite a phone: the fingerprint for rooms hosted here, a pointer to the host otherwise, nothing without HTTPS', () => {
  const fp = 'AB:'.repeat(31) + 'CD';
  const node = { lanHost: '192.168.1.20', lanPort: 7878, guest: { origin: 'https://192.168.1.20:7878', fingerprint: fp } };
  assert.deepEqual(invitePhoneModel({ ws: 'ws://192.168.1.20:7878/ws', code: 'K8PADG' }, node), {
    link: 'https://192.168.1.20:7878/?room=K8PADG',
    fingerprint: fp,
    where: 'here',
  });
  // A room another node hosts: its link, and its fingerprint is on its own screen.
  assert.deepEqual(invitePhoneModel({ ws: 'ws://192.168.1.31:7878/ws', code: 'K8PADG' }, node), {
    link: 'https://192.168.1.31:7878/?room=K8PADG',
    fingerprint: null,
    where: 'elsewhere',
  });
  // This node serves no HTTPS: no link to give for its own rooms.
  const plain = { lanHost: '192.168.1.20', lanPort: 7878, guest: null };
  assert.deepEqual(invitePhoneModel({ ws: 'ws://192.168.1.20:7878/ws', code: 'K8PADG' }, plain), { link: null, fingerprint: null, where: 'unavailable' });
  assert.equal(invitePhoneModel({ ws: 'ws://192.168.1.31:7878/ws', code: 'K8PADG' }, plain).where, 'elsewhere');
  const v6 = { lanHost: 'fd00::2', lanPort: 7878, guest: null };
  assert.equal(invitePhoneModel({ ws: 'ws://[fd00::2]:7878/ws', code: 'K8PADG' }, v6).where, 'unavailable');
  assert.equal(invitePhoneModel({ ws: 'garbage', code: 'K8PADG' }, node).link, null);
});

test('the call offers Invite a phone with the call to invite to, and not on a guest page', async () => {
  for (const offered of [true, false]) {
    const page = fakePage();
    page.api.rooms.set('K7MQ2P', { code: 'K7MQ2P', name: 'Standup', ws: 'ws://10.77.0.1:7878/ws' });
    /** @type {any[]} */
    const invited = [];
    /** @type {any} */ (page.deps).invitePhone = offered ? (/** @type {any} */ target) => invited.push(target) : null;
    page.router.start();
    page.lobbyView().handlers.onJoin({ name: 'Ada', room: 'K7M-Q2P', passcode: '' });
    const ws = await page.nextSocket();
    ws.serverSend({ type: 'welcome', id: 'me', token: 't1', resumed: false, room: { code: 'K7MQ2P', name: 'Standup' }, peers: [] });
    const view = page.callView();
    if (!offered) {
      assert.equal(view.handlers.onInvitePhone, undefined, 'no button on a guest page');
      continue;
    }
    view.handlers.onInvitePhone();
    assert.equal(invited.length, 1);
    assert.equal(invited[0].ws, 'ws://10.77.0.1:7878/ws');
    assert.equal(invited[0].code, 'K7MQ2P');
    page.router.leaveNow();
  }
});
