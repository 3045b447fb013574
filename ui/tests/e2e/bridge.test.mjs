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
import {
  startHost, launchBrowser, openPerson, typeAndJoin, waitInCall, selfId, tileOf, debugDump, WAIT_MS, openChat, withDiagnosis,
} from './helpers.mjs';

/** Runs in the page before its scripts: the page has no WebRTC at all. */
function removeWebRTC() {
  const w = /** @type {any} */ (window);
  for (const name of ['RTCPeerConnection', 'webkitRTCPeerConnection', 'RTCDataChannel', 'RTCRtpSender', 'RTCRtpReceiver', 'RTCRtpTransceiver', 'RTCSessionDescription', 'RTCIceCandidate', 'RTCCertificate']) {
    delete w[name];
  }
}

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
        stats = await b.client.request('getStats', { pc: pc._pcId });
      } catch (err) {
        stats = { error: /** @type {any} */ (err).code };
      }
      out.push({ pc: pc._pcId, connectionState: pc.connectionState, bridge: stats });
    }
    return out;
  });
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
  });

  test('three people join; everyone is connected to everyone, the bridged page through the bridge', async () => {
    people.push(await openPerson(browser, host.info.local, 'Ada'));
    people.push(await openPerson(browser, host.info.local, 'Ben'));
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

  test('leaving from the bridged page tears its connections down everywhere', async () => {
    const [wren, ada, ben] = people;
    const before = await bridgeConnections(wren);
    const pcs = (before ?? []).map((c) => c.pc);
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
            await b.client.request('getStats', { pc });
            return false;
          } catch (err) {
            if (/** @type {any} */ (err).code !== 'no-such-peer') return false;
          }
        }
        return true;
      },
      pcs,
      { timeout: WAIT_MS, polling: 200 },
    );
    const errors = wren.console.filter((l) => l.startsWith('[pageerror]'));
    assert.deepEqual(errors, [], 'no uncaught error on the bridged page');
  });
});
