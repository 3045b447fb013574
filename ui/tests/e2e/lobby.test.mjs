// @ts-check
/**
 * The lobby and the ways a join can go wrong, through the UI, against a real
 * `lanmeet host` in a namespace: hosting from the page and joining by invite,
 * Nearby rooms, a wrong passcode, a full room, an unknown code, the host closing
 * the room, and the signaling socket dropping mid-call.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  startHost, hostApi, launchBrowser, openPerson, typeAndJoin, waitInCall, waitPlaying, remoteVideoStats,
  waitFramesAdvance, selfId, debugDump, WAIT_MS,
} from './helpers.mjs';

/** @type {Awaited<ReturnType<typeof startHost>>} */
let host;
/** @type {import('playwright-core').Browser} */
let browser;
/** @type {import('./helpers.mjs').Person[]} */
const people = [];

/** @param {string} name */
async function person(name) {
  const p = await openPerson(browser, host.info.local, name);
  people.push(p);
  return p;
}

/** Closes the contexts a test opened, so the next test starts from nobody. */
async function closeAll() {
  for (const p of people.splice(0)) await p.context.close().catch(() => {});
}

describe('lobby and errors in Chromium', { timeout: 12 * WAIT_MS }, () => {
  before(async () => {
    host = await startHost(['--grace-secs', '3']);
    browser = await launchBrowser();
  });

  after(async () => {
    if (process.exitCode) console.error(debugDump(people, host?.logs));
    await browser?.close().catch(() => {});
    await host?.stop();
  });

  test('Host a room from the page; a guest joins by pasting the invite', async () => {
    const ada = await person('Ada');
    await ada.page.getByLabel('Your name').fill('Ada');
    await ada.page.getByLabel('Room name (optional)').fill('Book club');
    await ada.page.getByRole('button', { name: 'Host a room' }).click();
    await waitInCall(ada);
    await ada.page.getByText('Book club', { exact: true }).waitFor();
    const code = (await ada.page.getByTestId('room-code').textContent())?.replace('-', '') ?? '';
    assert.match(code, /^[0-9A-Z]{6}$/);
    const rooms = await hostApi(host.info, 'rooms');
    const created = rooms.find((/** @type {any} */ r) => r.code === code);
    assert.equal(created?.name, 'Book club');

    // Copy invite puts lanmeet://HOST:PORT/CODE on the clipboard; Ben pastes it.
    await ada.page.getByRole('button', { name: 'Copy invite' }).click();
    await ada.page.getByText('Invite copied').waitFor();
    const invite = await ada.page.evaluate(() => navigator.clipboard.readText());
    assert.equal(invite, `lanmeet://${new URL(host.info.lan).host}/${code}`);
    const ben = await person('Ben');
    await typeAndJoin(ben, invite);
    await waitInCall(ben);
    await waitPlaying(ada, 1);
    await waitPlaying(ben, 1);
    await closeAll();
  });

  test('Nearby rooms lists a listed room with its own Join', async () => {
    const { code } = await hostApi(host.info, 'rooms', { name: 'Lunch table' });
    const cleo = await person('Cleo');
    await cleo.page.getByLabel('Your name').fill('Cleo');
    const entry = cleo.page.getByTestId('nearby-rooms').locator(`[data-code="${code}"]`);
    await entry.getByText('Lunch table').waitFor();
    await entry.getByRole('button', { name: 'Join Lunch table' }).click();
    await waitInCall(cleo);
    assert.equal((await cleo.page.getByTestId('room-code').textContent())?.replace('-', ''), code);
    await closeAll();
  });

  test('a wrong passcode asks again; the right one gets in', async () => {
    const { code } = await hostApi(host.info, 'rooms', { name: 'Secret', passcode: 'sesame' });
    const dev = await person('Dev');
    await typeAndJoin(dev, code);
    await dev.page.getByText('needs a passcode').first().waitFor();
    const passcode = dev.page.getByLabel('Passcode', { exact: true });
    await passcode.fill('wrong');
    await dev.page.getByRole('button', { name: 'Join', exact: true }).click();
    await dev.page.getByText('That passcode is not right').waitFor();
    assert.equal(await dev.page.getByTestId('call').count(), 0);
    await passcode.fill('sesame');
    await dev.page.getByRole('button', { name: 'Join', exact: true }).click();
    await waitInCall(dev);
    await closeAll();
  });

  test('a full room says so', async () => {
    const { code } = await hostApi(host.info, 'rooms', { name: 'Pair', capacity: 2 });
    const a = await person('Ann');
    const b = await person('Bob');
    const c = await person('Cat');
    await typeAndJoin(a, code);
    await waitInCall(a);
    await typeAndJoin(b, code);
    await waitInCall(b);
    await typeAndJoin(c, code);
    await c.page.getByTestId('lobby-notice').getByText('is full').waitFor();
    assert.equal(await c.page.getByTestId('call').count(), 0);
    await c.page.getByRole('button', { name: 'Try again' }).waitFor();
    await closeAll();
  });

  test('an unknown code and a malformed one are explained', async () => {
    const eve = await person('Eve');
    await typeAndJoin(eve, 'ZZZ-ZZZ');
    await eve.page.getByTestId('lobby-notice').getByText('No room with code ZZZ-ZZZ was found').waitFor();
    await typeAndJoin(eve, 'K7M-Q2U');
    await eve.page.getByTestId('lobby-notice').getByText('cannot be part of a room code').waitFor();
    await eve.page.getByLabel('Your name').fill('');
    await eve.page.getByLabel('Room code').fill('K7MQ2P');
    await eve.page.getByRole('button', { name: 'Join', exact: true }).click();
    await eve.page.getByTestId('lobby-notice').getByText('Type your name first').waitFor();
    await closeAll();
  });

  test('the signaling socket dropping reconnects with resume while media keeps playing', async () => {
    const { code } = await hostApi(host.info, 'rooms', { name: 'Flaky' });
    const a = await person('Ann');
    const b = await person('Bob');
    for (const p of [a, b]) {
      await typeAndJoin(p, code);
      await waitInCall(p);
    }
    await waitPlaying(a, 1);
    await waitPlaying(b, 1);
    const idA = await selfId(a);
    const lanPort = new URL(host.info.lan).port;
    // Watch B's page for A's tile being removed, and A's page for the banner.
    await b.page.evaluate(() => {
      const w = /** @type {any} */ (window);
      w.__removedTiles = [];
      new MutationObserver((rs) => {
        for (const r of rs) for (const n of r.removedNodes) if (n instanceof HTMLElement && n.dataset.peerId) w.__removedTiles.push(n.dataset.peerId);
      }).observe(/** @type {Node} */ (document.querySelector('[data-testid=grid]')), { childList: true });
    });
    const statsBefore = await remoteVideoStats(b);
    // Kill every TCP connection to the LAN listener (both peer sockets): a network drop.
    execFileSync('ss', ['-K', 'dst', new URL(host.info.lan).hostname, 'dport', '=', `:${lanPort}`], { stdio: 'pipe' });
    await a.page.getByTestId('call-banner').getByText('Reconnecting').waitFor();
    await a.page.getByTestId('call-banner').waitFor({ state: 'hidden' });
    assert.equal(await selfId(a), idA, 'same id after the resume');
    await waitFramesAdvance(b, statsBefore);
    assert.deepEqual(await b.page.evaluate(() => /** @type {any} */ (window).__removedTiles), []);
    // Signaling works again on the resumed sockets: a newcomer's offers reach both.
    const c = await person('Cat');
    await typeAndJoin(c, code);
    await waitInCall(c);
    await waitPlaying(c, 2);
    await waitPlaying(a, 2);
    await waitPlaying(b, 2);
    await closeAll();
  });

  test('the host closing the room ends the call with a way back', async () => {
    const { code } = await hostApi(host.info, 'rooms', { name: 'Short' });
    const fay = await person('Fay');
    await typeAndJoin(fay, code);
    await waitInCall(fay);
    const res = await fetch(new URL(`api/rooms/${code}`, host.info.local), { method: 'DELETE' });
    assert.equal(res.status, 204);
    await fay.page.getByTestId('call-overlay').getByText('The host closed this room.').waitFor();
    await fay.page.getByRole('button', { name: 'Back to the lobby' }).click();
    await fay.page.getByTestId('lobby').waitFor();
    await closeAll();
  });

  test('camera and microphone blocked: said so, and the person joins receive-only', async () => {
    const { code } = await hostApi(host.info, 'rooms', { name: 'Shy' });
    const context = await browser.newContext({ locale: 'en-US' });
    // What a browser does when the person clicked "Block".
    await context.addInitScript(() => {
      const denied = () => Promise.reject(new DOMException('Permission denied', 'NotAllowedError'));
      Object.defineProperty(navigator.mediaDevices, 'getUserMedia', { value: denied });
    });
    const page = await context.newPage();
    page.setDefaultTimeout(WAIT_MS);
    await page.goto(host.info.local);
    const shy = { name: 'Shy', context, page, console: [] };
    people.push(shy);
    await page.getByTestId('media-note').getByText('are blocked').waitFor();
    await page.getByTestId('media-note').getByText('You can still join').waitFor();
    const ann = await person('Ann');
    await typeAndJoin(ann, code);
    await waitInCall(ann);
    await typeAndJoin(shy, code);
    await waitInCall(shy);
    await waitPlaying(shy, 1); // receives Ann's video
    const idShy = await selfId(shy);
    await ann.page.locator(`[data-testid=tile][data-peer-id="${idShy}"][data-state=connected][data-camera=false][data-muted=true]`).waitFor();
    await page.getByRole('button', { name: 'Camera on', exact: true }).waitFor();
    await closeAll();
  });

  test('a window without RTCPeerConnection offers to open the room in the browser', async () => {
    const context = await browser.newContext({ locale: 'en-US' });
    await context.addInitScript(() => {
      // Like Debian's WebKitGTK: no WebRTC at all. The desktop app provides the opener.
      delete (/** @type {any} */ (window)).RTCPeerConnection;
      /** @type {any} */ (window).__opened = [];
      /** @type {any} */ (window).__lanmeetOpenInBrowser = (/** @type {string} */ url) => {
        /** @type {any} */ (window).__opened.push(url);
      };
    });
    const page = await context.newPage();
    page.setDefaultTimeout(WAIT_MS);
    await page.goto(`${host.info.local}?room=K7M-Q2P`);
    people.push({ name: 'Webview', context, page, console: [] });
    await page.getByTestId('lobby-notice').getByText('cannot make video calls').waitFor();
    assert.equal(await page.getByLabel('Room code').inputValue(), 'K7M-Q2P', '/?room= fills the code in');
    await page.getByRole('button', { name: 'Open in browser' }).click();
    const opened = await page.evaluate(() => /** @type {any} */ (window).__opened);
    assert.deepEqual(opened, [`${host.info.local}?room=K7M-Q2P`]);

    // "Host a room" still hosts: the room lives on this node, the call runs in the browser.
    const before = new Set((await hostApi(host.info, 'rooms')).map((/** @type {any} */ r) => r.code));
    await page.getByLabel('Room name (optional)').fill('From the window');
    await page.getByRole('button', { name: 'Host a room' }).click();
    await page.getByTestId('lobby-notice').getByText('is open: friends join').waitFor();
    const hosted = (await hostApi(host.info, 'rooms')).filter((/** @type {any} */ r) => !before.has(r.code));
    assert.equal(hosted.length, 1, 'one new room on the node');
    assert.equal(hosted[0].name, 'From the window');
    await page.getByTestId('lobby-notice').getByRole('button', { name: 'Open in browser' }).click();
    const openedAfter = await page.evaluate(() => /** @type {any} */ (window).__opened);
    assert.deepEqual(openedAfter.slice(1), [`${host.info.local}?room=${hosted[0].code}`]);
    await closeAll();
  });

  test('a node that stopped answering is reported in plain words', async () => {
    const gus = await person('Gus');
    await gus.page.getByLabel('Your name').fill('Gus');
    await gus.page.getByLabel('Room code').fill(host.info.code);
    await host.stop();
    await gus.page.getByRole('button', { name: 'Join', exact: true }).click();
    await gus.page.getByTestId('lobby-notice').getByText('cannot reach the lanmeet program').waitFor();
    await gus.page.getByRole('button', { name: 'Try again' }).waitFor();
    await closeAll();
  });
});

