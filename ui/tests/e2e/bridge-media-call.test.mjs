// @ts-check
/**
 * Pictures and sound through the bridge, in a real call: three people in Chromium on a
 * node started with `--bridge`; Wren's page has no WebRTC (deleted before its scripts
 * run, as in Debian's WebKitGTK), so her calls go through the bridge, the shim
 * (ui/bridge/rtc-shim.js) and the media engine (ui/bridge/media-engine.js); Ada and Ben
 * are ordinary pages. Checked: Wren's tiles are canvases that show both others' moving
 * pictures and her engine plays both their microphones; Ada and Ben decode Wren's VP8
 * and hear her Opus; camera off on Wren shows on the others and her picture comes back
 * when it is on again (a keyframe first); after she leaves, her engine holds no remote
 * stream. The engine's figures per remote are printed.
 *
 * Run inside a namespace: `scripts/with-netns ui-e2e -- node --test ui/tests/e2e/bridge-media-call.test.mjs`.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startHost, launchBrowser, openPerson, typeAndJoin, waitInCall, waitPlaying, waitFramesAdvance, remoteVideoStats, selfId, tileOf,
  tileCanvasMoves, debugDump, withDiagnosis, WAIT_MS, removeWebRTC, waitBridgedSounds, tileLoudness,
} from './helpers.mjs';

/** @type {Awaited<ReturnType<typeof startHost>>} */
let host;
/** @type {import('playwright-core').Browser} */
let browser;
/** @type {import('./helpers.mjs').Person[]} */
const people = [];
/** @type {string[]} */
let ids = [];

describe('pictures and sound through the bridge', { timeout: 12 * WAIT_MS }, () => {
  before(async () => {
    host = await startHost(['--bridge', '--no-relay', '--name', 'Bridged media']);
    browser = await launchBrowser();
  });

  after(async () => {
    if (process.exitCode) console.error(debugDump(people, host?.logs));
    await browser?.close().catch(() => {});
    await host?.stop();
  });

  test('everyone sees everyone: the bridged page paints canvases, the others play its VP8', async () => {
    people.push(await openPerson(browser, host.info.local, 'Wren', { initScript: removeWebRTC }));
    people.push(await openPerson(browser, host.info.local, 'Ada'));
    people.push(await openPerson(browser, host.info.local, 'Ben'));
    for (const p of people) {
      await typeAndJoin(p, host.info.code);
      await waitInCall(p);
    }
    for (const p of people) await waitPlaying(p, 2);
    ids = [];
    for (const p of people) ids.push(await selfId(p));
    const [wren, ada, ben] = people;
    // Wren's remote tiles are canvases the worker paints, and they move.
    for (const id of [ids[1], ids[2]]) {
      assert.equal(await tileOf(wren, id).locator('canvas[data-testid=tile-canvas]').count(), 1, 'a canvas tile');
      assert.equal(await tileCanvasMoves(wren, id), true, `Wren sees ${id} move`);
    }
    // Ada and Ben decode Wren's video (and each other's), and it keeps coming.
    for (const p of [ada, ben]) {
      const before = await remoteVideoStats(p);
      await withDiagnosis(p, `${p.name}'s videos advance`, () => waitFramesAdvance(p, before));
    }
    const s = await wren.page.evaluate(() => /** @type {any} */ (window).__lanmeetBridgeMedia.stats());
    const videos = s.remote.filter((/** @type {any} */ r) => r.kind === 'video');
    assert.equal(videos.length, 2);
    for (const v of videos) assert.ok(v.framesDecoded > 0 && v.framesPainted > 0, JSON.stringify(v));
    assert.ok(s.sent.video.frames > 0 && s.sent.video.keyframes > 0);
    console.log(`bridged page's media: ${JSON.stringify({ sent: s.sent, remote: s.remote })}`);
  });

  test('everyone hears everyone: the bridged page plays both others, the others hear its Opus', async () => {
    const [wren, ada, ben] = people;
    // The bridged page plays remote sound in its engine's AudioContext.
    await waitBridgedSounds(wren, 2);
    for (const [p, id] of /** @type {const} */ ([[ada, ids[0]], [ben, ids[0]]])) {
      await withDiagnosis(p, `${p.name} hears ${id}`, () =>
        p.page.waitForFunction(tileLoudness, { id, min: 0.01 }, { timeout: WAIT_MS, polling: 50 }),
      );
    }
  });

  test("camera off on the bridged page shows on the others' tiles; on again, its picture comes back", async () => {
    const [wren, ada, ben] = people;
    await wren.page.getByRole('button', { name: 'Camera off', exact: true }).click();
    for (const p of [ada, ben]) await tileOf(p, ids[0]).and(p.page.locator('[data-camera=false]')).waitFor();
    await wren.page.getByRole('button', { name: 'Camera on', exact: true }).click();
    for (const p of [ada, ben]) await tileOf(p, ids[0]).and(p.page.locator('[data-camera=true]')).waitFor();
    for (const p of [ada, ben]) {
      const before = await remoteVideoStats(p);
      await withDiagnosis(p, `${p.name} sees Wren again`, () => waitFramesAdvance(p, before));
    }
  });

  test('after leaving, the bridged page holds no remote stream', async () => {
    const [wren, ada, ben] = people;
    await wren.page.getByRole('button', { name: 'Leave', exact: true }).click();
    await wren.page.getByTestId('lobby').waitFor();
    for (const p of [ada, ben]) await tileOf(p, ids[0]).waitFor({ state: 'detached' });
    await withDiagnosis(wren, 'no remote stream left', () =>
      wren.page.waitForFunction(
        () => {
          const m = /** @type {any} */ (window).__lanmeetBridgeMedia;
          const live = m.liveness();
          return live.remoteVideo === 0 && live.remoteAudio === 0 && m.stats().remote.length === 0;
        },
        null,
        { timeout: WAIT_MS, polling: 200 },
      ),
    );
    const errors = wren.console.filter((l) => l.startsWith('[pageerror]'));
    assert.deepEqual(errors, [], 'no uncaught error on the bridged page');
  });
});
