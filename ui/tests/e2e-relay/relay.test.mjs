// @ts-check
/**
 * Calls across a LAN where two guests reach the host but not each other (the
 * topology of `scripts/relay-netns`: each guest on its own link to the host, no
 * forwarding). A call of three: the host's person in the local UI (Chromium in the
 * host's namespace) and two browser guests from the HTTPS guest link (each Chromium
 * in its guest's namespace).
 *
 * - With the host's relay (the default), every pair connects, the guests' pair
 *   through the relay (their tiles say so; the pairs with the host stay direct),
 *   and the pictures move.
 * - With `--no-relay`, the guests' pair cannot connect and their tiles say so,
 *   with the way forward; the pairs with the host still work.
 *
 * Run: `scripts/relay-netns -- node --test ui/tests/e2e-relay/` (scripts/test does).
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import {
  startHost, launchBrowser, openPerson, typeAndJoin, waitInCall, waitPlaying, remoteVideoStats,
  waitFramesAdvance, selfId, tileOf, debugDump, withDiagnosis, WAIT_MS,
} from '../e2e/helpers.mjs';

const BIN = process.env.LANMEET_RELAY_BIN_DIR;
if (!BIN) throw new Error('run inside scripts/relay-netns (LANMEET_RELAY_BIN_DIR is not set)');

/**
 * A call of three in the relay topology; returns the people and what to stop.
 * @param {string[]} hostFlags
 */
async function callOfThree(hostFlags) {
  const host = await startHost(hostFlags);
  const browsers = await Promise.all(['chromium-host', 'chromium-a', 'chromium-b'].map((b) => launchBrowser(path.join(/** @type {string} */ (BIN), b))));
  /** @type {import('../e2e/helpers.mjs').Person[]} */
  const people = [];
  const ada = await openPerson(browsers[0], host.info.local, 'Ada');
  people.push(ada);
  await typeAndJoin(ada, host.info.code);
  await waitInCall(ada);
  for (const [i, name] of [[1, 'Bea'], [2, 'Cy']]) {
    const guest = await openPerson(browsers[/** @type {number} */ (i)], String(host.info.guest), /** @type {string} */ (name), { ignoreHTTPSErrors: true });
    people.push(guest);
    await guest.page.getByLabel('Your name').fill(guest.name);
    await guest.page.getByRole('button', { name: 'Join', exact: true }).click();
    await waitInCall(guest);
  }
  const stop = async () => {
    await Promise.all(browsers.map((b) => b.close().catch(() => {})));
    await host.stop();
  };
  return { host, people, stop };
}

describe('two guests who reach the host but not each other', { timeout: 10 * WAIT_MS }, () => {
  /** @type {Awaited<ReturnType<typeof callOfThree>> | undefined} */
  let call;
  after(async () => {
    if (process.exitCode && call) console.error(debugDump(call.people, call.host.logs));
    await call?.stop();
    call = undefined;
  });

  test("connect through the host's relay, and their tiles say so", async () => {
    call = await callOfThree([]);
    const [ada, bea, cy] = call.people;
    assert.equal(typeof call.host.info.relay, 'number', 'the host runs its relay by default');
    for (const p of call.people) await waitPlaying(p, 2);
    const ids = { ada: await selfId(ada), bea: await selfId(bea), cy: await selfId(cy) };
    for (const [p, other] of [[bea, ids.cy], [cy, ids.bea]]) {
      const tile = tileOf(/** @type {any} */ (p), /** @type {string} */ (other));
      await withDiagnosis(/** @type {any} */ (p), 'the guests\' pair is relayed', () =>
        tile.and(p.page.locator('[data-route=relay]')).waitFor({ timeout: WAIT_MS }),
      );
      assert.match(await tile.innerText(), /Through the host's relay/);
      const direct = tileOf(/** @type {any} */ (p), ids.ada);
      await direct.and(p.page.locator('[data-route=direct]')).waitFor({ timeout: WAIT_MS });
    }
    // Media flows over the relayed pair: the pictures move.
    for (const p of [bea, cy]) await waitFramesAdvance(p, await remoteVideoStats(p));
    await call.stop();
    call = undefined;
  });

  test('without the relay their pair fails, and the tiles say what to do', async () => {
    call = await callOfThree(['--no-relay']);
    const [ada, bea, cy] = call.people;
    assert.equal(call.host.info.relay, null);
    await waitPlaying(ada, 2);
    const cyId = await selfId(cy);
    // Hang guard only: ICE gives up on a pair after its checks time out. The other
    // side may then try a new session (the tile shows "Connecting…" again), so the
    // sentence is checked while the tile is failed, in one wait.
    const failed = tileOf(bea, cyId)
      .and(bea.page.locator('[data-state=failed]'))
      .filter({ hasText: /this call has no relay\. Ask the host to start lanmeet without --no-relay/ });
    await withDiagnosis(bea, "the guests' pair fails and says what to do", () => failed.waitFor({ timeout: 8 * WAIT_MS }));
    // The pairs with the host still work.
    const stats = await remoteVideoStats(bea);
    assert.equal(stats[await selfId(ada)]?.state, 'connected');
  });
});
