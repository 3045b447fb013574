// @ts-check
/**
 * A call with a page that has no WebRTC (as Debian's WebKitGTK): Chromium with
 * `RTCPeerConnection` and friends deleted before the page's scripts run, on a node
 * started with `--bridge`. Its calls go through the bridge (docs/BRIDGE.md) and the
 * shim (ui/bridge/rtc-shim.js); the two other people are ordinary Chromium pages and
 * see an ordinary peer.
 *
 * Run inside a namespace: `scripts/with-netns ui-e2e -- node --test ui/tests/e2e/bridge.test.mjs`.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  startHost, launchBrowser, openPerson, typeAndJoin, waitInCall, selfId, tileOf, debugDump, WAIT_MS, openChat, withDiagnosis,
  waitPlaying, recordPeerConnections, inboundOf, removeWebRTC, waitBridgedSounds,
} from './helpers.mjs';

/** @type {Awaited<ReturnType<typeof startHost>>} */
let host;
/** @type {import('playwright-core').Browser} */
let browser;
/** @type {import('./helpers.mjs').Person[]} */
let people = [];
/** @type {string[]} */
let ids = [];

/**
 * Waits until every remote tile on the page says `connected`, `n` of them.
 * @param {import('./helpers.mjs').Person} p
 * @param {number} n
 */
async function waitConnected(p, n) {
  await withDiagnosis(p, `${p.name} is connected to ${n} others`, () =>
    p.page.waitForFunction(
      (n) => {
        const tiles = [...document.querySelectorAll('[data-testid=tile][data-self=false]')];
        return tiles.length === n && tiles.every((t) => /** @type {HTMLElement} */ (t).dataset.state === 'connected');
      },
      n,
      { timeout: WAIT_MS, polling: 100 },
    ),
  );
}

/**
 * The bridge's view of the page's connections (`getStats` of each).
 * @param {import('./helpers.mjs').Person} p
 */
function bridgeConnections(p) {
  return p.page.evaluate(async () => {
    const b = /** @type {any} */ (window).__lanmeetBridge;
    if (!b) return null;
    const out = [];
    for (const pc of b.connections()) {
      let stats;
      try {
        // Bounded: a request the bridge never answers is a finding, not a hang.
        stats = await Promise.race([
          b.client.request('getStats', { pc: pc._pcId }),
          new Promise((resolve) => setTimeout(() => resolve({ error: 'no answer in 10 s' }), 10_000)),
        ]);
      } catch (err) {
        stats = { error: /** @type {any} */ (err).code };
      }
      out.push({ pc: pc._pcId, connectionState: pc.connectionState, bridge: stats });
    }
    return out;
  });
}

/**
 * On a Chromium page: until the inbound stats of `name`'s connection show more video
 * frames decoded and more audio energy than `before` (the picture moves, sound comes).
 * @param {import('./helpers.mjs').Person} p
 * @param {string} name
 * @param {{frames: number, energy: number} | null} before
 */
async function waitInboundAdvances(p, name, before) {
  const b = before ?? { frames: 0, energy: 0 };
  await withDiagnosis(p, `${p.name} decodes ${name}'s video and hears ${name}`, async () => {
    const end = Date.now() + WAIT_MS;
    /** @type {any} */
    let now = null;
    while (Date.now() < end) {
      now = await p.page.evaluate(inboundOf, name);
      if (now && now.playing && now.frames > b.frames + 10 && now.energy > b.energy && now.width > 0) return;
      await p.page.waitForTimeout(250);
    }
    throw new Error(`inbound of ${name}: ${JSON.stringify(now)} (before ${JSON.stringify(b)})`);
  });
}

/**
 * On the bridged page: the media engine's per-remote figures (decoded frames by pc and kind).
 * @param {import('./helpers.mjs').Person} p
 * @returns {Promise<{pc: number, kind: string, framesDecoded: number, framesPainted: number}[]>}
 */
function engineRemotes(p) {
  return p.page.evaluate(() => {
    const m = /** @type {any} */ (window).__lanmeetBridgeMedia;
    return m ? m.stats().remote.map((/** @type {any} */ r) => ({ pc: r.pc, kind: r.kind, framesDecoded: r.framesDecoded, framesPainted: r.framesPainted })) : [];
  });
}

/**
 * On the bridged page: until the engine has decoded more video (and painted it) and
 * more audio from each of `pcs` than `before`.
 * @param {import('./helpers.mjs').Person} p
 * @param {number[]} pcs
 * @param {{pc: number, kind: string, framesDecoded: number, framesPainted: number}[]} before
 */
async function waitEngineAdvances(p, pcs, before) {
  await withDiagnosis(p, `${p.name}'s media engine decodes everyone`, () =>
    p.page.waitForFunction(
      ({ pcs, before }) => {
        const m = /** @type {any} */ (window).__lanmeetBridgeMedia;
        if (!m) return false;
        const now = m.stats().remote;
        const of = (/** @type {any[]} */ list, /** @type {number} */ pc, /** @type {string} */ kind) => list.find((r) => r.pc === pc && r.kind === kind);
        return pcs.every((pc) => {
          const v = of(now, pc, 'video');
          const a = of(now, pc, 'audio');
          const bv = of(before, pc, 'video') ?? { framesDecoded: 0, framesPainted: 0 };
          const ba = of(before, pc, 'audio') ?? { framesDecoded: 0 };
          return !!v && !!a && v.framesDecoded > bv.framesDecoded + 10 && v.framesPainted > bv.framesPainted + 10 && a.framesDecoded > ba.framesDecoded + 25;
        });
      },
      { pcs, before },
      { timeout: WAIT_MS, polling: 250 },
    ),
  );
}

/**
 * Frames the page drew in one second (requestAnimationFrame callbacks; 0 if none came
 * within three): a figure for the report, not an assertion.
 * @param {import('./helpers.mjs').Person} p
 */
function drawRate(p) {
  return p.page.evaluate(
    () =>
      new Promise((resolve) => {
        let n = 0;
        const start = performance.now();
        const step = () => {
          n++;
          if (performance.now() - start < 1000) requestAnimationFrame(step);
          else resolve(n);
        };
        requestAnimationFrame(step);
        setTimeout(() => resolve(n), 3000);
      }),
  );
}

/**
 * Whether the canvas of a tile shows a moving picture: clipped page screenshots (no wait
 * for "stable" elements: a tile is never still), taken until one differs from the first,
 * bounded by WAIT_MS.
 * @param {import('./helpers.mjs').Person} p
 * @param {import('playwright-core').Locator} tile
 */
async function canvasMoves(p, tile) {
  const canvas = tile.locator('canvas[data-testid=tile-canvas]');
  const box = await canvas.boundingBox();
  if (!box) return false;
  const shot = () => p.page.screenshot({ clip: box, animations: 'allow', caret: 'initial' });
  const first = await shot();
  const end = Date.now() + WAIT_MS;
  while (Date.now() < end) {
    await p.page.waitForTimeout(200);
    if (!(await shot()).equals(first)) return true;
  }
  return false;
}

/** @param {import('./helpers.mjs').Person} p @returns {import('playwright-core').Locator} the person's own tile */
function selfTile(p) {
  return p.page.locator('[data-testid=tile][data-self=true]');
}

/**
 * Sends a chat message from `from` and waits for it on every page of `to`.
 * @param {import('./helpers.mjs').Person} from
 * @param {import('./helpers.mjs').Person[]} to
 * @param {string} text
 */
async function chat(from, to, text) {
  await openChat(from);
  await from.page.getByLabel('Message').fill(text);
  await from.page.getByRole('button', { name: 'Send' }).click();
  for (const p of to) {
    await withDiagnosis(p, `${p.name} gets "${text}"`, () =>
      p.page.getByTestId('chat-message').filter({ hasText: text }).filter({ hasText: from.name }).waitFor({ state: 'attached' }),
    );
  }
}

describe('a call with a page that has no WebRTC, through the bridge', { timeout: 10 * WAIT_MS }, () => {
  before(async () => {
    host = await startHost(['--bridge', '--no-relay', '--name', 'Bridged call']);
    browser = await launchBrowser();
  });

  after(async () => {
    if (process.exitCode) console.error(debugDump(people, host?.logs));
    await browser?.close().catch(() => {});
    await host?.stop();
  });

  test('the page without WebRTC says its calls go through lanmeet, not that it cannot call', async () => {
    const wren = await openPerson(browser, host.info.local, 'Wren', { initScript: removeWebRTC });
    people.push(wren);
    assert.equal(await wren.page.evaluate(() => typeof (/** @type {any} */ (window).RTCPeerConnection)), 'undefined');
    const notice = wren.page.getByTestId('lobby-notice');
    await notice.filter({ hasText: 'lanmeet makes its calls for it' }).waitFor();
    assert.match((await notice.getAttribute('class')) ?? '', /\binfo\b/, 'an information, not an error');
    assert.equal(await notice.getByRole('button', { name: 'Open in browser' }).count(), 1, 'the system browser stays on offer');
    assert.equal(await wren.page.evaluate(() => !!(/** @type {any} */ (window).__lanmeetBridge)), true);
    // The lobby's preview is painted by the media worker too, not played by a <video>.
    await wren.page.locator('canvas[data-testid=preview-canvas][data-painted=true]').waitFor();
    const video = await wren.page.locator('.preview-frame video').evaluate((v) => ({ hidden: /** @type {HTMLVideoElement} */ (v).hidden, src: !!(/** @type {HTMLVideoElement} */ (v).srcObject) }));
    assert.deepEqual(video, { hidden: true, src: false }, 'the lobby plays no <video>');
    // An engine without WebRTC paints flat (no blurred shadows to redraw at each paint);
    // one with it keeps them.
    const shadow = (/** @type {import('playwright-core').Page} */ page) =>
      page.locator('.card').first().evaluate((el) => [document.documentElement.classList.contains('flat'), getComputedStyle(el).boxShadow]);
    assert.deepEqual(await shadow(wren.page), [true, 'none']);
    const plain = await openPerson(browser, host.info.local, 'Plain');
    const [flat, boxShadow] = await shadow(plain.page);
    await plain.context.close();
    assert.equal(flat, false);
    assert.notEqual(boxShadow, 'none');
  });

  test('three people join; everyone is connected to everyone, the bridged page through the bridge', async () => {
    people.push(await openPerson(browser, host.info.local, 'Ada', { initScript: recordPeerConnections }));
    people.push(await openPerson(browser, host.info.local, 'Ben', { initScript: recordPeerConnections }));
    for (const p of people) {
      await typeAndJoin(p, host.info.code);
      await waitInCall(p);
    }
    for (const p of people) await waitConnected(p, 2);
    ids = [];
    for (const p of people) ids.push(await selfId(p));
    const conns = await bridgeConnections(people[0]);
    assert.ok(conns, 'the bridged page uses the bridge');
    assert.equal(conns.length, 2, 'one bridged connection per other person');
    for (const c of conns) {
      assert.equal(c.connectionState, 'connected');
      assert.equal(c.bridge.connectionState, 'connected', 'the bridge says so too');
    }
    // The verification code is computed from the bridge's DTLS fingerprint and matches.
    const [wren, ada] = people;
    const codeOnAda = await tileOf(ada, ids[0]).getAttribute('data-verify');
    const codeOnWren = await tileOf(wren, ids[1]).getAttribute('data-verify');
    if (codeOnAda !== null || codeOnWren !== null) assert.equal(codeOnAda, codeOnWren, 'both ends show the same verification code');
  });

  test('every page decodes every other person\'s video and hears them; the bridged page paints moving pictures of both', async () => {
    const [wren, ada, ben] = people;
    // The ordinary pages: the bridged person's video and sound arrive like anyone's.
    for (const p of [ada, ben]) await waitPlaying(p, 2);
    await waitInboundAdvances(ada, 'Wren', null);
    await waitInboundAdvances(ben, 'Wren', null);
    await waitInboundAdvances(ada, 'Ben', null);
    await waitInboundAdvances(ben, 'Ada', null);
    // The bridged page: canvas tiles painted by the media worker, both moving.
    await waitPlaying(wren, 2);
    const pcs = ((await bridgeConnections(wren)) ?? []).map((c) => c.pc);
    assert.equal(pcs.length, 2);
    await waitEngineAdvances(wren, pcs, []);
    for (const id of [ids[1], ids[2]]) {
      assert.equal(await tileOf(wren, id).locator('canvas[data-testid=tile-canvas]').count(), 1, 'a canvas tile');
      assert.ok(await canvasMoves(wren, tileOf(wren, id)), `the picture of ${id} moves on the bridged page`);
    }
    // Their sound plays in the bridge's AudioContext (both remote sounds loud), not
    // through the tiles' <audio> elements (which would play it a second time).
    await waitBridgedSounds(wren, 2);
    for (const id of [ids[1], ids[2]]) {
      const src = await tileOf(wren, id).locator('audio').evaluate((a) => !!(/** @type {HTMLAudioElement} */ (a).srcObject));
      assert.equal(src, false, `the tile of ${id} plays no <audio> on the bridged page`);
    }
    // "Mute on this device" silences that person's sound in the bridge's playback.
    const localMuted = async () => (await wren.page.evaluate(() => /** @type {any} */ (window).__lanmeetBridgeMedia.stats().remote))
      .filter((/** @type {any} */ r) => r.kind === 'audio' && r.localMuted).length;
    await tileOf(wren, ids[1]).locator('[data-testid=tile-local-mute]').click({ force: true });
    await wren.page.waitForFunction(() => /** @type {any} */ (window).__lanmeetBridgeMedia.stats().remote.some((/** @type {any} */ r) => r.kind === 'audio' && r.localMuted));
    assert.equal(await localMuted(), 1, 'one remote sound muted on this device');
    // ...in the output: a second's figures with the muted sound arriving (peak, before
    // the gain) but not heard (after it), while the other is heard.
    await withDiagnosis(wren, 'the muted sound arrives but is not heard; the other is heard', () =>
      wren.page.waitForFunction(
        () => {
          const audio = /** @type {any} */ (window).__lanmeetBridgeMedia.stats().remote.filter((/** @type {any} */ r) => r.kind === 'audio');
          const muted = audio.find((/** @type {any} */ r) => r.localMuted);
          const other = audio.find((/** @type {any} */ r) => !r.localMuted);
          return muted?.peak > 0.01 && muted.heardPeak === 0 && other?.heardPeak > 0.01;
        },
        null,
        { timeout: WAIT_MS, polling: 250 },
      ),
    );
    await tileOf(wren, ids[1]).locator('[data-testid=tile-local-mute]').click({ force: true });
    await wren.page.waitForFunction(() => !(/** @type {any} */ (window).__lanmeetBridgeMedia.stats().remote.some((/** @type {any} */ r) => r.kind === 'audio' && r.localMuted)));
    // Its own picture too, painted by the worker from the camera frames it encodes: no
    // playing <video> (in WebKitGTK a visible one held the main thread for 100-340 ms).
    const own = selfTile(wren);
    await own.locator('canvas[data-testid=tile-canvas][data-painted=true]').waitFor();
    assert.ok(await canvasMoves(wren, own), 'the bridged page\'s own picture moves');
    const ownVideo = await own.locator('video').evaluate((v) => ({ hidden: /** @type {HTMLVideoElement} */ (v).hidden, src: !!(/** @type {HTMLVideoElement} */ (v).srcObject) }));
    assert.deepEqual(ownVideo, { hidden: true, src: false }, 'the self tile plays no <video>');
    assert.equal(await own.locator('canvas').evaluate((c) => getComputedStyle(c).transform), 'matrix(-1, 0, 0, 1, 0, 0)', 'mirrored, as the <video> was');
    console.log(`frames drawn per second: bridged page ${await drawRate(wren)}, a normal page ${await drawRate(ada)}`);
    const sent = await wren.page.evaluate(() => /** @type {any} */ (window).__lanmeetBridgeMedia.stats().sent);
    assert.ok(sent.video.frames > 0 && sent.video.keyframes > 0 && sent.audio.frames > 0, `the bridged page sends (${JSON.stringify(sent)})`);
  });

  test('the bridged page shows who speaks, itself too, measured in its media engine', async () => {
    const [wren] = people;
    // Chromium's fake microphones beep: every tile of the bridged page shows speaking
    // at some point. The others' levels come from the engine's mixer, its own from an
    // analyser on the source node its capture uses (one AudioContext in all).
    await withDiagnosis(wren, 'every tile on the bridged page showed speaking', async () => {
      try {
        await wren.page.waitForFunction(
          () => {
            const w = /** @type {any} */ (window);
            w.__spoke ??= new Set();
            for (const el of document.querySelectorAll('[data-testid=tile][data-speaking=true]')) {
              w.__spoke.add(el.getAttribute('data-self') === 'true' ? 'self' : el.getAttribute('data-peer-id'));
            }
            return w.__spoke.size >= 3;
          },
          null,
          { timeout: WAIT_MS, polling: 100 },
        );
      } catch (err) {
        const spoke = await wren.page.evaluate(() => [.../** @type {any} */ (window).__spoke ?? []]).catch(() => ['(page not readable)']);
        throw new Error(`${err instanceof Error ? err.message : err}; tiles seen speaking: ${spoke.join(', ') || 'none'}`);
      }
    });
    const live = await wren.page.evaluate(() => /** @type {any} */ (window).__lanmeetBridgeMedia.liveness());
    assert.equal(live.mixer, true, 'one mixer plays the others');
    assert.equal(live.sources, 1, 'the microphone has one source node, shared by capture and meter');
  });

  test('chat both ways between the bridged page and the others', async () => {
    const [wren, ada, ben] = people;
    await chat(wren, [ada, ben], 'Hello from the bridge');
    await chat(ada, [wren, ben], 'Hello bridge, from Ada');
    await chat(ben, [wren], 'And from Ben');
  });

  test('mute on the bridged page shows on the others\' tiles', async () => {
    const [wren, ada, ben] = people;
    await wren.page.getByRole('button', { name: 'Mute', exact: true }).click();
    for (const p of [ada, ben]) await tileOf(p, ids[0]).and(p.page.locator('[data-muted=true]')).waitFor();
    await wren.page.getByRole('button', { name: 'Unmute', exact: true }).click();
    for (const p of [ada, ben]) await tileOf(p, ids[0]).and(p.page.locator('[data-muted=false]')).waitFor();
  });

  test('camera off on the bridged page shows on the others\' tiles; a normal page\'s mute shows on the bridged page', async () => {
    const [wren, ada, ben] = people;
    await wren.page.getByRole('button', { name: 'Camera off', exact: true }).click();
    await wren.page.getByRole('button', { name: 'Camera on', exact: true }).waitFor();
    for (const p of [ada, ben]) await tileOf(p, ids[0]).and(p.page.locator('[data-camera=false]')).waitFor();
    await wren.page.getByRole('button', { name: 'Camera on', exact: true }).click();
    for (const p of [ada, ben]) await tileOf(p, ids[0]).and(p.page.locator('[data-camera=true]')).waitFor();
    // The picture comes back after the camera does, on the others' pages and its own.
    const before = await ada.page.evaluate(inboundOf, 'Wren');
    await waitInboundAdvances(ada, 'Wren', before);
    assert.ok(await canvasMoves(wren, selfTile(wren)), 'the bridged page\'s own picture moves again');
    await ada.page.getByRole('button', { name: 'Mute', exact: true }).click();
    await tileOf(wren, ids[1]).and(wren.page.locator('[data-muted=true]')).waitFor();
    await ada.page.getByRole('button', { name: 'Unmute', exact: true }).click();
    await tileOf(wren, ids[1]).and(wren.page.locator('[data-muted=false]')).waitFor();
  });

  test('the bridged page shares its screen: the others get the screen in place of the camera, then the camera again', async () => {
    const [wren, ada, ben] = people;
    /**
     * Until `p` decodes Wren's video at a width `ok` accepts, frames advancing.
     * @param {import('./helpers.mjs').Person} p
     * @param {(width: number) => boolean} ok
     * @param {string} what
     */
    const waitWidth = (p, ok, what) =>
      withDiagnosis(p, `${p.name} gets Wren's ${what}`, async () => {
        const end = Date.now() + WAIT_MS;
        let now = await p.page.evaluate(inboundOf, 'Wren');
        const start = now?.frames ?? 0;
        while (Date.now() < end) {
          now = await p.page.evaluate(inboundOf, 'Wren');
          if (now && ok(now.width) && now.frames > start + 5) return;
          await p.page.waitForTimeout(250);
        }
        throw new Error(`inbound of Wren: ${JSON.stringify(now)}`);
      });
    const camera = (await ada.page.evaluate(inboundOf, 'Wren'))?.width ?? 0;
    assert.ok(camera > 0, 'Ada decodes Wren\'s camera first');
    await wren.page.getByRole('button', { name: 'Share screen', exact: true }).click();
    await wren.page.getByRole('button', { name: 'Stop sharing', exact: true }).waitFor();
    for (const p of [ada, ben]) await tileOf(p, ids[0]).and(p.page.locator('[data-sharing=true]')).waitFor();
    // The screen (the page's viewport here) is not the camera's size: the picture changed.
    for (const p of [ada, ben]) await waitWidth(p, (w) => w > 0 && w !== camera, 'screen');
    await wren.page.getByRole('button', { name: 'Stop sharing', exact: true }).click();
    await wren.page.getByRole('button', { name: 'Share screen', exact: true }).waitFor();
    for (const p of [ada, ben]) await tileOf(p, ids[0]).and(p.page.locator('[data-sharing=false]')).waitFor();
    for (const p of [ada, ben]) await waitWidth(p, (w) => w === camera, 'camera again');
  });

  // Was marked todo (issue 10): twice, at load 30-70 and before the bridge's flow window,
  // the bridged page came back as a new person. Cause: media flooded its main thread
  // (replies measured 12-50 s late then), and a page that cannot run for longer than the
  // node's grace (15 s) loses its place by the protocol's rules: with `--grace-secs 3`
  // and the page's main thread blocked 5 s across the drop, it comes back with a new id
  // every time. The flow window (docs/BRIDGE.md, "Flow") keeps the page's reading
  // bounded; since, the drop resumed in every run (and in 8 drops in a row, at load 10).
  test('the signaling sockets dropping resume, with media still flowing both ways through the bridge', async () => {
    const [wren, ada, ben] = people;
    const pcs = await wren.page.evaluate(() => /** @type {any} */ (window).__lanmeetBridge.connections().map((/** @type {any} */ c) => c._pcId));
    const engineBefore = await engineRemotes(wren);
    const adaBefore = await ada.page.evaluate(inboundOf, 'Wren');
    const lan = new URL(host.info.lan);
    // Every TCP connection to the LAN listener (the peer sockets; the bridge's socket is
    // on loopback and stays): a network drop.
    const killed = execFileSync('ss', ['-K', '-tn', 'dst', lan.hostname, 'dport', '=', `:${lan.port}`], { stdio: 'pipe' }).toString();
    // Once seen (1 run in about 10): no "Reconnecting" on the bridged page within 45 s.
    // Which sockets the drop ended says whether its signaling socket was among them.
    await withDiagnosis(wren, `Wren sees the drop (sockets ended: ${killed.trim().split('\n').length - 1}\n${killed})`, () =>
      wren.page.getByTestId('call-banner').getByText('Reconnecting').waitFor(),
    );
    await wren.page.getByTestId('call-banner').waitFor({ state: 'hidden' });
    assert.equal(await selfId(wren), ids[0], 'same id after the resume');
    await waitInboundAdvances(ada, 'Wren', adaBefore);
    await waitEngineAdvances(wren, pcs, engineBefore);
    const after = await wren.page.evaluate(() => /** @type {any} */ (window).__lanmeetBridge.connections().map((/** @type {any} */ c) => c._pcId));
    assert.deepEqual([...after].sort(), [...pcs].sort(), 'the same bridged connections carry on');
    // Signaling works again: a chat and a state change go through.
    await chat(ben, [wren], 'Still here after the drop');
  });

  test('leaving from the bridged page tears its connections down everywhere', async () => {
    const [wren, ada, ben] = people;
    const pcs = await wren.page.evaluate(() => /** @type {any} */ (window).__lanmeetBridge.connections().map((/** @type {any} */ c) => c._pcId));
    await wren.page.getByRole('button', { name: 'Leave', exact: true }).click();
    await wren.page.getByTestId('lobby').waitFor();
    for (const p of [ada, ben]) await tileOf(p, ids[0]).waitFor({ state: 'detached' });
    // Nothing of the call is left on the bridge: each connection is gone there.
    await wren.page.waitForFunction(
      async (pcs) => {
        const b = /** @type {any} */ (window).__lanmeetBridge;
        if (b.connections().length) return false;
        for (const pc of pcs) {
          try {
            const r = await Promise.race([b.client.request('getStats', { pc }), new Promise((resolve) => setTimeout(() => resolve('no answer'), 5000))]);
            if (r) return false;
          } catch (err) {
            if (/** @type {any} */ (err).code !== 'no-such-peer') return false;
          }
        }
        return true;
      },
      pcs,
      { timeout: WAIT_MS, polling: 200 },
    );
    // The media engine let go of both remotes.
    assert.deepEqual(await engineRemotes(wren), [], 'no remote stream left in the media engine');
    const errors = wren.console.filter((l) => l.startsWith('[pageerror]'));
    assert.deepEqual(errors, [], 'no uncaught error on the bridged page');
  });
});
