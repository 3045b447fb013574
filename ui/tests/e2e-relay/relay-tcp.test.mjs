// @ts-check
/**
 * TURN over TCP, in Chromium: the topology of `scripts/relay-netns` (two guests who
 * reach the host but not each other) with UDP from the guests to the relay's port
 * dropped as well (`--no-udp-to-relay`), as on a network that lets only TCP through
 * to the host. The guests' pair can then only connect through the host's relay over
 * TCP: the `?transport=tcp` URL that `welcome.iceServers` offers.
 *
 * A call of three (the host's person in the local UI, two browser guests from the
 * guest link): the pages were given a `turn:…?transport=tcp` server from welcome;
 * the guests' pair connects relayed, its relay candidate reached the relay over TCP
 * (Chromium's `relayProtocol`), the tiles say "Through the host's relay", the pairs
 * with the host say their route (direct, unless ICE fell back to the relay under
 * load) as ICE chose it, and the pictures move.
 *
 * Run: `scripts/relay-netns --no-udp-to-relay -- node --test ui/tests/e2e-relay/relay-tcp.test.mjs`
 * (scripts/test does, with LANMEET_BIN pointing at `$LANMEET_RELAY_BIN_DIR/lanmeet-host`).
 */
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import {
  startHost, launchBrowser, openPerson, typeAndJoin, waitInCall, waitPlaying, remoteVideoStats,
  waitFramesAdvance, selfId, tileOf, debugDump, withDiagnosis, WAIT_MS,
} from '../e2e/helpers.mjs';

const BIN = process.env.LANMEET_RELAY_BIN_DIR;
const RELAY_PORT = process.env.LANMEET_RELAY_PORT;
if (!BIN || !RELAY_PORT || process.env.LANMEET_RELAY_UDP_BLOCKED !== '1') {
  throw new Error('run inside scripts/relay-netns --no-udp-to-relay (LANMEET_RELAY_BIN_DIR, LANMEET_RELAY_PORT, LANMEET_RELAY_UDP_BLOCKED)');
}

/**
 * Runs in each page before its scripts: keeps every RTCPeerConnection the UI makes,
 * with the configuration it was given, so the test can read the ICE servers the
 * page got and each connection's selected candidate pair (`getStats`).
 */
function keepPeerConnections() {
  const w = /** @type {any} */ (window);
  const Native = w.RTCPeerConnection;
  w.__pcs = [];
  w.RTCPeerConnection = class extends Native {
    /** @param {RTCConfiguration} [config] */
    constructor(config) {
      super(config);
      w.__pcs.push({ pc: this, config });
    }
  };
}

/**
 * For each connected peer connection of a page: the TURN URLs it was given and its
 * selected pair's candidates (type, protocol, relayProtocol, address).
 * @param {import('../e2e/helpers.mjs').Person} p
 */
function selectedPairs(p) {
  return p.page.evaluate(async () => {
    const out = [];
    for (const { pc, config } of /** @type {any} */ (window).__pcs) {
      if (pc.connectionState !== 'connected') continue;
      const urls = (config?.iceServers ?? []).flatMap((/** @type {any} */ s) => [s.urls].flat());
      /** @type {Map<string, any>} */
      const byId = new Map();
      (await pc.getStats()).forEach((/** @type {any} */ r) => byId.set(r.id, r));
      let pair = null;
      for (const r of byId.values()) if (r.type === 'transport' && r.selectedCandidatePairId) pair = byId.get(r.selectedCandidatePairId);
      const end = (/** @type {any} */ c) => c && { type: c.candidateType, protocol: c.protocol, relayProtocol: c.relayProtocol ?? null, address: c.address };
      out.push({
        urls,
        local: end(pair && byId.get(pair.localCandidateId)),
        remote: end(pair && byId.get(pair.remoteCandidateId)),
      });
    }
    return out;
  });
}

describe('two guests who reach the host only over TCP for its relay', { timeout: 10 * WAIT_MS }, () => {
  /** @type {{host: Awaited<ReturnType<typeof startHost>>, people: import('../e2e/helpers.mjs').Person[], browsers: import('playwright-core').Browser[]} | undefined} */
  let call;
  after(async () => {
    if (process.exitCode && call) console.error(debugDump(call.people, call.host.logs));
    if (call) {
      await Promise.all(call.browsers.map((b) => b.close().catch(() => {})));
      await call.host.stop();
    }
  });

  test('connect through the relay over TCP, say so, and the pictures move', async () => {
    const host = await startHost(['--relay-port', String(RELAY_PORT)]);
    const browsers = await Promise.all(['chromium-host', 'chromium-a', 'chromium-b'].map((b) => launchBrowser(path.join(/** @type {string} */ (BIN), b))));
    /** @type {import('../e2e/helpers.mjs').Person[]} */
    const people = [];
    call = { host, people, browsers };
    assert.equal(host.info.relay, Number(RELAY_PORT), 'the host runs its relay on the port the firewall knows');
    const ada = await openPerson(browsers[0], host.info.local, 'Ada', { initScript: keepPeerConnections });
    people.push(ada);
    await typeAndJoin(ada, host.info.code);
    await waitInCall(ada);
    for (const [i, name] of /** @type {[number, string][]} */ ([[1, 'Bea'], [2, 'Cy']])) {
      const guest = await openPerson(browsers[i], String(host.info.guest), name, { ignoreHTTPSErrors: true, initScript: keepPeerConnections });
      people.push(guest);
      await guest.page.getByLabel('Your name').fill(guest.name);
      await guest.page.getByRole('button', { name: 'Join', exact: true }).click();
      await waitInCall(guest);
    }
    const [, bea, cy] = people;
    for (const p of people) await waitPlaying(p, 2);
    const ids = { ada: await selfId(ada), bea: await selfId(bea), cy: await selfId(cy) };
    for (const [p, other] of /** @type {[typeof bea, string][]} */ ([[bea, ids.cy], [cy, ids.bea]])) {
      const tile = tileOf(p, other);
      await withDiagnosis(p, "the guests' pair is relayed", () =>
        tile.and(p.page.locator('[data-route=relay]')).waitFor({ timeout: WAIT_MS }),
      );
      assert.match(await tile.innerText(), /Through the host's relay/);
      // The pair with the host: direct as a rule (ICE tries host candidates first), but
      // on a loaded machine its direct pair can stop answering and ICE falls back to the
      // host's relay candidate, before or after the tile is first read (seen on 2-core
      // CI runs, ci20 and ci41). What must hold is that the tile says which (checked
      // against ICE's own choice below).
      const hostTile = tileOf(p, ids.ada);
      await hostTile.and(p.page.locator('[data-route]')).waitFor({ timeout: WAIT_MS });
      const route = await hostTile.getAttribute('data-route');
      if (route !== 'direct') console.log(`${p.name}'s pair with the host went through the relay (a loaded machine)`);
    }
    // Each guest's tiles tell the truth: as many say "relay" as ICE has relayed pairs.
    for (const p of [bea, cy]) {
      await withDiagnosis(p, 'the tiles say the routes ICE chose', async () => {
        const end = Date.now() + WAIT_MS;
        for (;;) {
          const tiles = await p.page.locator('[data-testid=tile][data-route=relay]').count();
          const pairs = (await selectedPairs(p)).filter((x) => x.local?.type === 'relay' || x.remote?.type === 'relay').length;
          if (tiles === pairs) return;
          if (Date.now() > end) throw new Error(`${tiles} tiles say relay, ICE relays ${pairs} pairs`);
          await p.page.waitForTimeout(500);
        }
      });
    }

    // What the pages were given and what ICE chose.
    const guestsPairs = [];
    for (const p of [bea, cy]) {
      const pairs = await selectedPairs(p);
      const turnTcp = pairs.flatMap((x) => x.urls).filter((u) => /^turn:[^?]+:\d+\?transport=tcp$/.test(u));
      assert.ok(turnTcp.some((u) => u.endsWith(`:${RELAY_PORT}?transport=tcp`)), `welcome offers TURN over TCP to the relay: ${JSON.stringify(pairs)}`);
      // The guests' pair is relayed (its tile said so above, and nothing else joins
      // them). The pair with the host was direct when its tile was read; ICE may still
      // move it to a relay candidate later if its direct pair stops answering for a
      // while (seen once on a loaded 2-core CI machine: Cy's pair with the host on the
      // host's relay candidate), which is the relay doing its job, so it is not counted.
      const relayed = pairs.filter((x) => x.local?.type === 'relay' || x.remote?.type === 'relay');
      assert.ok(relayed.length >= 1, `a relayed pair on ${p.name}'s page: ${JSON.stringify(pairs)}`);
      guestsPairs.push(...relayed);
    }
    // Every relay candidate a guest uses was allocated over TCP (UDP to the relay is
    // dropped): at least one end of the pair is this page's own relay candidate.
    const localRelays = guestsPairs.filter((x) => x.local?.type === 'relay');
    assert.ok(localRelays.length >= 1, JSON.stringify(guestsPairs));
    for (const x of localRelays) assert.equal(x.local?.relayProtocol, 'tcp', `relayed over TCP: ${JSON.stringify(x)}`);

    // Media flows over the relayed pair: the pictures move.
    for (const p of [bea, cy]) await waitFramesAdvance(p, await remoteVideoStats(p));
  });
});
