// @ts-check
/**
 * Firefox in a call: the other browser engine, with its own WebRTC stack (Firefox's
 * SDP, its ICE, its SCTP), against a bridged page and a Chromium page. Three people
 * on a node started with `--bridge`: Fox in Firefox ESR (Debian's), Wren in Chromium
 * with WebRTC deleted before the page loads (her calls go through the bridge, as the
 * Linux desktop window's do) and Ada in ordinary Chromium. Checked: everyone sees and
 * hears everyone; chat both ways; Fox's mute and camera-off show on the others'
 * tiles and her picture comes back on Wren's canvas when the camera is on again (a
 * keyframe from Firefox through the bridge); when Fox leaves, the others' tiles and
 * the bridge's connection to her go. Then Lena, a guest in Firefox on a laptop with no
 * lanmeet, opens the host's HTTPS guest link and joins Wren and Ada over wss.
 *
 * Run inside a namespace with a default route (here Firefox gathered candidates only
 * on that interface, and none without one): `scripts/with-netns --gateway ui-e2e-firefox -- node --test
 * ui/tests/e2e-firefox/`.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startHost, launchBrowser, openPerson, typeAndJoin, waitInCall, waitPlaying, waitFramesAdvance, remoteVideoStats, tileOf,
  tileCanvasMoves, debugDump, withDiagnosis, WAIT_MS, removeWebRTC, waitBridgedSounds, tileLoudness, openChat,
} from '../e2e/helpers.mjs';
import { launchFirefox, openFirefoxPerson, firefoxJoin, firefoxHears } from './firefox.mjs';

/**
 * Runs in the page: whether `id`'s tile shows `attr` with `value` (a tile's
 * `data-*` state: muted, camera, …), or is gone when `attr` is null.
 * @param {{id: string, attr: string | null, value?: string}} arg
 */
function tileShows({ id, attr, value }) {
  const tile = /** @type {HTMLElement | null} */ (document.querySelector(`[data-testid=tile][data-peer-id="${id}"]`));
  if (attr === null) return tile === null;
  return tile?.dataset[attr] === value;
}

/**
 * Runs in the page: whether the chat shows a message from `from` saying `text`.
 * @param {{from: string, text: string}} arg
 */
function chatShows({ from, text }) {
  return [...document.querySelectorAll('[data-testid=chat-message]')].some(
    (m) => m.textContent?.includes(text) && m.textContent.includes(from),
  );
}

/** @type {Awaited<ReturnType<typeof startHost>>} */
let host;
/** @type {import('playwright-core').Browser} */
let chromium;
/** @type {Awaited<ReturnType<typeof launchFirefox>>} */
let firefox;
/** @type {import('./firefox.mjs').FirefoxPerson} */
let fox;
/** @type {import('./firefox.mjs').FirefoxPerson} */
let lena;
/** @type {import('../e2e/helpers.mjs').Person} */
let wren;
/** @type {import('../e2e/helpers.mjs').Person} */
let ada;
/** Fox's peer id. */
const id = { fox: '' };

/**
 * Waits until `p` shows `id`'s tile with `attr` = `value` (or no such tile: `attr` null).
 * @param {{name: string, page: any}} p
 * @param {string} who
 * @param {string | null} attr
 * @param {string} [value]
 */
async function waitTile(p, who, attr, value) {
  await withDiagnosis(/** @type {any} */ (p), `${p.name} shows ${who}'s tile ${attr ?? 'gone'}${value ? ` = ${value}` : ''}`, () =>
    p.page.waitForFunction(tileShows, { id: who, attr, value }, { timeout: WAIT_MS, polling: 100 }),
  );
}

describe('Firefox in a call with a bridged page and Chromium', { timeout: 12 * WAIT_MS }, () => {
  before(async () => {
    host = await startHost(['--bridge', '--no-relay', '--name', 'Firefox call']);
    chromium = await launchBrowser();
    firefox = await launchFirefox();
  });

  after(async () => {
    if (process.exitCode) console.error(debugDump(/** @type {any[]} */ ([fox, wren, ada, lena].filter(Boolean)), host?.logs));
    await firefox?.close();
    await chromium?.close().catch(() => {});
    await host?.stop();
  });

  test('everyone sees everyone: Firefox plays the bridged VP8 and Chromium, the bridged page paints Firefox', async () => {
    wren = await openPerson(chromium, host.info.local, 'Wren', { initScript: removeWebRTC });
    ada = await openPerson(chromium, host.info.local, 'Ada');
    fox = await openFirefoxPerson(firefox.browser, host.info.local, 'Fox');
    for (const p of [wren, ada]) {
      await typeAndJoin(p, host.info.code);
      await waitInCall(p);
    }
    await firefoxJoin(fox, host.info.code);
    for (const p of [wren, ada, fox]) await waitPlaying(/** @type {any} */ (p), 2);
    id.fox = await fox.page.evaluate(() => document.querySelector('[data-testid=tile][data-self=true]')?.getAttribute('data-peer-id') ?? '');
    assert.ok(id.fox, "Fox's own tile");
    // Wren's tile of Fox is a canvas the media worker paints, and it moves.
    assert.equal(await tileOf(wren, id.fox).locator('canvas[data-testid=tile-canvas]').count(), 1, 'a canvas tile');
    assert.equal(await tileCanvasMoves(wren, id.fox), true, 'Wren sees Fox move');
    // Firefox and Ada decode everyone's video, and it keeps coming.
    for (const p of [fox, ada]) {
      const before = await remoteVideoStats(/** @type {any} */ (p));
      await withDiagnosis(/** @type {any} */ (p), `${p.name}'s videos advance`, () => waitFramesAdvance(/** @type {any} */ (p), before));
    }
    const s = await wren.page.evaluate(() => /** @type {any} */ (window).__lanmeetBridgeMedia.stats());
    const videos = s.remote.filter((/** @type {any} */ r) => r.kind === 'video');
    assert.equal(videos.length, 2, 'the bridged page receives two videos');
    for (const v of videos) assert.ok(v.framesDecoded > 0 && v.framesPainted > 0, JSON.stringify(v));
    console.log(`# the bridged page's videos: ${JSON.stringify(videos.map((v) => ({ w: v.width, h: v.height, fps: v.fps, decoded: v.framesDecoded })))}`);
  });

  test('everyone hears everyone: Firefox hears the bridged page and Chromium, both hear Firefox', async () => {
    await firefoxHears(fox, ['Wren', 'Ada']);
    await withDiagnosis(ada, 'Ada hears Fox', () =>
      ada.page.waitForFunction(tileLoudness, { id: id.fox, min: 0.01 }, { timeout: WAIT_MS, polling: 50 }),
    );
    // The bridged page plays both others in its engine (Fox's tone among them).
    await waitBridgedSounds(wren, 2);
  });

  test('chat both ways between Firefox and the others (the data channel over Firefox’s SCTP)', async () => {
    await fox.tab.locator('[data-testid=chat-toggle]').click();
    await fox.tab.locator('#chat-input').fill('Hello from Firefox');
    await fox.tab.keyboard.press('Enter');
    for (const p of [wren, ada]) {
      await openChat(p);
      await withDiagnosis(p, `${p.name} gets Fox's message`, () =>
        p.page.waitForFunction(chatShows, { from: 'Fox', text: 'Hello from Firefox' }, { timeout: WAIT_MS, polling: 100 }),
      );
    }
    await wren.page.getByLabel('Message').fill('Hello Firefox, from the bridge');
    await wren.page.getByLabel('Message').press('Enter');
    await withDiagnosis(/** @type {any} */ (fox), "Fox gets Wren's message", () =>
      fox.page.waitForFunction(chatShows, { from: 'Wren', text: 'Hello Firefox, from the bridge' }, { timeout: WAIT_MS, polling: 100 }),
    );
  });

  test("Firefox's mute and camera off show on the others' tiles; with the camera on again, the bridged page's picture of her moves", async () => {
    await fox.tab.locator('button[aria-keyshortcuts="M"]').click();
    for (const p of [wren, ada]) await waitTile(p, id.fox, 'muted', 'true');
    await fox.tab.locator('button[aria-keyshortcuts="M"]').click();
    for (const p of [wren, ada]) await waitTile(p, id.fox, 'muted', 'false');
    await fox.tab.locator('button[aria-keyshortcuts="V"]').click();
    for (const p of [wren, ada]) await waitTile(p, id.fox, 'camera', 'false');
    /** @returns {Promise<number[]>} frames the bridged page painted, per remote video */
    const painted = () =>
      wren.page.evaluate(() =>
        /** @type {any} */ (window).__lanmeetBridgeMedia.stats().remote.filter((/** @type {any} */ r) => r.kind === 'video').map((/** @type {any} */ r) => r.framesPainted),
      );
    const before = await painted();
    await fox.tab.locator('button[aria-keyshortcuts="V"]').click();
    for (const p of [wren, ada]) await waitTile(p, id.fox, 'camera', 'true');
    // Every video the bridged page paints advances again, Fox's among them (it stood
    // still while her camera was off), and her canvas shows it.
    await withDiagnosis(wren, "Wren paints Fox's picture again", () =>
      wren.page.waitForFunction(
        (before) => {
          const now = /** @type {any} */ (window).__lanmeetBridgeMedia.stats().remote.filter((/** @type {any} */ r) => r.kind === 'video').map((/** @type {any} */ r) => r.framesPainted);
          return now.length === before.length && now.every((n, i) => n > before[i] + 10);
        },
        before,
        { timeout: WAIT_MS, polling: 100 },
      ),
    );
    assert.equal(await tileCanvasMoves(wren, id.fox), true, 'Wren sees Fox move again');
  });

  test('Firefox leaves: her tiles go, the bridged page ends its connection to her, the others stay in the call', async () => {
    await fox.tab.locator('button[aria-keyshortcuts="Shift+L"]').click();
    await fox.tab.waitForSelector('[data-testid=lobby]', { visible: true });
    for (const p of [wren, ada]) await waitTile(p, id.fox, null);
    await withDiagnosis(wren, 'the bridged page holds only Ada’s streams', () =>
      wren.page.waitForFunction(
        () => {
          const remote = /** @type {any} */ (window).__lanmeetBridgeMedia.stats().remote;
          return remote.length === 2 && new Set(remote.map((/** @type {any} */ r) => r.pc)).size === 1;
        },
        null,
        { timeout: WAIT_MS, polling: 200 },
      ),
    );
    const before = await remoteVideoStats(ada);
    await withDiagnosis(ada, "Ada still sees Wren's video advance", () => waitFramesAdvance(ada, before));
    assert.deepEqual(fox.errors, [], "no uncaught error on Fox's page");
    for (const p of [wren, ada]) {
      const errors = p.console.filter((l) => l.startsWith('[pageerror]'));
      assert.deepEqual(errors, [], `no uncaught error on ${p.name}'s page`);
    }
  });

  test('a guest in Firefox opens the HTTPS guest link and joins the bridged page and Chromium over wss', async () => {
    assert.ok(host.info.guest, 'the host prints a guest link');
    lena = await openFirefoxPerson(firefox.browser, String(host.info.guest), 'Lena');
    assert.equal(await lena.page.evaluate(() => window.isSecureContext), true, 'a secure context: camera and microphone are allowed');
    await firefoxJoin(lena, host.info.code);
    const saved = await lena.page.evaluate(() => sessionStorage.getItem('lanmeet.call'));
    assert.equal(JSON.parse(String(saved)).ws, `wss://${new URL(String(host.info.guest)).host}/ws`, 'the call socket is wss to the page origin');
    for (const p of [lena, wren, ada]) await waitPlaying(/** @type {any} */ (p), 2);
    const before = await remoteVideoStats(/** @type {any} */ (lena));
    await withDiagnosis(/** @type {any} */ (lena), "Lena's videos advance", () => waitFramesAdvance(/** @type {any} */ (lena), before));
    await firefoxHears(lena, ['Wren', 'Ada']);
    const lenaId = await lena.page.evaluate(() => document.querySelector('[data-testid=tile][data-self=true]')?.getAttribute('data-peer-id') ?? '');
    assert.ok(lenaId, "Lena's own tile");
    assert.equal(await tileCanvasMoves(wren, lenaId), true, 'Wren sees Lena move');
    // Ada's and Lena's sounds (Fox's is gone with her connection).
    await waitBridgedSounds(wren, 2);
    assert.deepEqual(lena.errors, [], "no uncaught error on Lena's page");
  });
});
