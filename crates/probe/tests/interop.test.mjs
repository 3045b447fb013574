// @ts-check
/**
 * Interop: the native probe and two headless Chromium pages running the real UI, in
 * one room of a real `lanmeet host`. Every pair connects (browser–browser, and each
 * browser with the probe), the probe counts RTP from both browsers, and chat typed in a
 * page arrives at the probe. Run twice: the probe joining last (it offers to the
 * browsers) and first (the browsers offer to it). Then a probe that sends recorded
 * clips (`--send-video`, `--send-audio`): both pages decode its video and hear it.
 *
 * Reuses the UI's e2e helpers (ui/tests/e2e/helpers.mjs: host, Chromium flags, people).
 * Needs root, and runs inside a namespace made for it (browsers ignore loopback ICE
 * candidates, so the calls use the namespace's veth address):
 *
 *   cargo build -p lanmeet
 *   (cd ui && npm ci)
 *   scripts/with-netns probe-interop -- node --test --test-concurrency=1 crates/probe/tests/interop.test.mjs
 *
 * LANMEET_BIN overrides the binary's path (the probe runs as `lanmeet probe`).
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  LANMEET_BIN, WAIT_MS, startHost, launchBrowser, openPerson, typeAndJoin, waitInCall, waitPlaying,
  selfId, tileOf, debugDump, testAddr, openChat, recordPeerConnections, inboundOf,
} from '../../../ui/tests/e2e/helpers.mjs';

/** The probe's test clips (crates/probe/tests/clips): 320x180 VP8 at 12 fps, an Opus tone. */
const CLIPS = new URL('./clips/', import.meta.url).pathname;

/**
 * Starts one probe run; resolves with its JSON report once it exits.
 * @param {{code: string, ws: string}} info
 * @param {string[]} extra
 */
function startProbe(info, extra) {
  const args = [
    'probe', info.code, '--ws', info.ws, '--peers', '1', '--name', 'probe', '--bind', testAddr(),
    // The chat is typed once the probe's tile shows: the probe waits for it rather
    // than leaving after a fixed window that a slow page can miss.
    '--expect', '3', '--expect-chats', '1', '--timeout', '30', '--json', ...extra,
  ];
  const proc = spawn(LANMEET_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout?.on('data', (d) => { out += String(d); });
  proc.stderr?.on('data', (d) => { err += String(d); });
  const done = new Promise((resolve, reject) => {
    const guard = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`the probe did not finish within ${WAIT_MS * 2} ms\n${err}`));
    }, WAIT_MS * 2);
    proc.once('error', (e) => {
      clearTimeout(guard);
      reject(new Error(`cannot start ${LANMEET_BIN}: ${e.message} (cargo build -p lanmeet, or set LANMEET_BIN)`));
    });
    proc.once('exit', (status) => {
      clearTimeout(guard);
      try {
        resolve({ status, report: JSON.parse(out), stderr: err });
      } catch (e) {
        reject(new Error(`probe exited ${status} without a JSON report: ${out}\n${err}`));
      }
    });
  });
  return { proc, done };
}

/**
 * Waits until the page shows the member `id` as a connected tile.
 * @param {import('../../../ui/tests/e2e/helpers.mjs').Person} p
 * @param {string} id
 */
async function waitConnectedTile(p, id) {
  await tileOf(p, id).and(p.page.locator('[data-state=connected]')).waitFor();
}

/**
 * Waits until the room (as the probe's node sees it) has a member named `name` and
 * returns its id, read from the page's tiles.
 * @param {import('../../../ui/tests/e2e/helpers.mjs').Person} p
 * @param {string} name
 */
async function tileIdByName(p, name) {
  const tile = p.page.locator(`[data-testid=tile][data-self=false][data-name="${name}"]`);
  await tile.waitFor();
  const id = await tile.getAttribute('data-peer-id');
  assert.ok(id, `a tile for ${name}`);
  return id;
}

/**
 * Checks a probe report: ok, both browsers connected to the probe, media from both,
 * the chat from the first page.
 * @param {any} report
 * @param {string[]} browserIds
 * @param {string} chatText
 * @param {string} chatFrom
 */
function checkReport(report, browserIds, chatText, chatFrom) {
  assert.equal(report.ok, true, JSON.stringify(report, null, 2));
  assert.equal(report.pairs.length, 2, 'probe–browser pairs');
  for (const id of browserIds) {
    const pair = report.pairs.find((/** @type {any} */ p) => p.b === id);
    assert.ok(pair, `a pair with ${id}`);
    assert.equal(pair.connected, true);
    assert.equal(typeof pair.rtt_ms, 'number', 'pings answered by the browser');
    const media = report.peers.find((/** @type {any} */ p) => p.id === id);
    assert.ok(media, `media entry of ${id}`);
    assert.ok(media.audio_packets > 0, `audio RTP from ${id}: ${JSON.stringify(media)}`);
    assert.ok(media.video_packets > 0, `video RTP from ${id}: ${JSON.stringify(media)}`);
  }
  assert.ok(
    report.chats.some((/** @type {any} */ c) => c.text === chatText && c.from === chatFrom),
    `chat ${JSON.stringify(chatText)} reached the probe: ${JSON.stringify(report.chats)}`,
  );
}

/** One line per pair and per member's media, for the test log. @param {any} report */
function summary(report) {
  const pairs = report.pairs.map((/** @type {any} */ p) => `${p.a_name}<->${p.b_name} ${p.connected ? 'ok' : 'FAIL'} connect ${p.connect_ms?.toFixed(0)} ms rtt ${p.rtt_ms?.toFixed(2)} ms`);
  const media = report.peers.filter((/** @type {any} */ p) => !p.probe).map((/** @type {any} */ p) => `${p.name}: audio ${p.audio_packets} video ${p.video_packets} RTP`);
  return [...pairs, ...media, `chats: ${report.chats.map((/** @type {any} */ c) => c.text).join(' | ')}`].join('; ');
}

/** @param {import('../../../ui/tests/e2e/helpers.mjs').Person} p @param {string} text */
async function typeChat(p, text) {
  await openChat(p);
  await p.page.getByLabel('Message').fill(text);
  await p.page.getByRole('button', { name: 'Send' }).click();
}

describe('the native probe in a call with two Chromium pages', { timeout: 10 * WAIT_MS }, () => {
  /** @type {Awaited<ReturnType<typeof startHost>>} */
  let host;
  /** @type {import('playwright-core').Browser} */
  let browser;
  /** @type {import('../../../ui/tests/e2e/helpers.mjs').Person[]} */
  let people = [];
  /** @type {import('node:child_process').ChildProcess[]} */
  const probes = [];

  before(async () => {
    host = await startHost(['--grace-secs', '2']);
    browser = await launchBrowser();
  });

  after(async () => {
    if (process.exitCode) console.error(debugDump(people, host?.logs));
    for (const p of probes) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    await browser?.close().catch(() => {});
    await host?.stop();
  });

  test('probe joining last: it offers to both browsers, gets their media and a chat', async (t) => {
    people = [await openPerson(browser, host.info.local, 'Ada'), await openPerson(browser, host.info.local, 'Ben')];
    for (const p of people) {
      await typeAndJoin(p, host.info.code);
      await waitInCall(p);
    }
    for (const p of people) await waitPlaying(p, 1);
    const ids = [await selfId(people[0]), await selfId(people[1])];

    const probe = startProbe(host.info, ['--duration', '6']);
    if (probe.proc) probes.push(probe.proc);
    const probeId = await tileIdByName(people[0], 'probe-1');
    for (const p of people) await waitConnectedTile(p, probeId);
    await typeChat(people[0], 'Hello probe (last)');
    const { status, report } = /** @type {any} */ (await probe.done);
    t.diagnostic(summary(report));
    checkReport(report, ids, 'Hello probe (last)', ids[0]);
    assert.equal(status, 0);
    // The browser–browser pair is still up after the probe left.
    for (const p of people) {
      await tileOf(p, probeId).waitFor({ state: 'detached' });
      await waitPlaying(p, 1);
    }
    for (const p of people) await p.context.close();
  });

  test('probe joining first: both browsers offer to it, with their media and a chat', async (t) => {
    // The pages load first (slow on a loaded machine), so the probe's connect window
    // covers only the joins.
    people = [await openPerson(browser, host.info.local, 'Cleo'), await openPerson(browser, host.info.local, 'Dev')];
    const probe = startProbe(host.info, ['--duration', '6']);
    if (probe.proc) probes.push(probe.proc);
    // Let the probe be in the room before the people arrive.
    await new Promise((r) => setTimeout(r, 1000));
    for (const p of people) {
      await typeAndJoin(p, host.info.code);
      await waitInCall(p);
    }
    const ids = [await selfId(people[0]), await selfId(people[1])];
    const probeId = await tileIdByName(people[0], 'probe-1');
    for (const p of people) await waitConnectedTile(p, probeId);
    await typeChat(people[0], 'Hello probe (first)');
    const { status, report } = /** @type {any} */ (await probe.done);
    t.diagnostic(summary(report));
    checkReport(report, ids, 'Hello probe (first)', ids[0]);
    assert.equal(status, 0);
    for (const p of people) await waitPlaying(p, 1);
    for (const p of people) await p.context.close();
  });

  test('a probe sending clips: both pages play its video and hear its sound', async (t) => {
    people = [
      await openPerson(browser, host.info.local, 'Eve', { initScript: recordPeerConnections }),
      await openPerson(browser, host.info.local, 'Fay', { initScript: recordPeerConnections }),
    ];
    // Stays until told to stop (SIGTERM, below), which it answers by leaving cleanly.
    const probe = startProbe(host.info, [
      '--duration', '120',
      '--send-video', `${CLIPS}video-320x180-12.ivf`, '--send-audio', `${CLIPS}audio-paged.ogg`,
    ]);
    if (probe.proc) probes.push(probe.proc);
    await new Promise((r) => setTimeout(r, 1000));
    for (const p of people) {
      await typeAndJoin(p, host.info.code);
      await waitInCall(p);
    }
    // Two remote tiles playing on each page: the other page and the probe.
    for (const p of people) await waitPlaying(p, 2);
    for (const p of people) {
      // Decoded at the clip's size, and frames go on (the clip loops), with sound.
      const first = await p.page.evaluate(inboundOf, 'probe-1');
      assert.ok(first, `${p.name} has the probe's connection`);
      assert.equal(`${first.width}x${first.height}`, '320x180', `${p.name}: ${JSON.stringify(first)}`);
      let now = first;
      const end = Date.now() + WAIT_MS;
      while (!(now && now.frames > first.frames + 6 && now.energy > 0) && Date.now() < end) {
        await new Promise((r) => setTimeout(r, 250));
        now = await p.page.evaluate(inboundOf, 'probe-1');
      }
      assert.ok(now && now.frames > first.frames + 6 && now.energy > 0,
        `${p.name}: the probe's video advances, with sound: ${JSON.stringify(first)} then ${JSON.stringify(now)}`);
    }
    const probeId = await tileIdByName(people[0], 'probe-1');
    probe.proc?.kill('SIGTERM');
    const { status, report } = /** @type {any} */ (await probe.done);
    t.diagnostic(summary(report));
    assert.equal(status, 0, JSON.stringify(report));
    assert.equal(report.pairs.filter((/** @type {any} */ p) => p.connected).length, 2);
    // It left: the pages take its tile down at once (no grace period).
    for (const p of people) await tileOf(p, probeId).waitFor({ state: 'detached' });
  });
});
