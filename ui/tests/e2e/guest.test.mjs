// @ts-check
/**
 * A browser guest: a Chromium page that has no lanmeet of its own opens the host's
 * HTTPS guest link (accepting the self-signed certificate, as a person does once),
 * joins over wss, and sees and hears a person in the local UI, who sees and hears
 * the guest. The guest page gets nothing of the control API.
 *
 * Run inside a namespace: `scripts/with-netns ui-e2e -- node --test ui/tests/e2e/`.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startHost, launchBrowser, openPerson, typeAndJoin, waitInCall, waitPlaying, remoteVideoStats,
  waitFramesAdvance, debugDump, withDiagnosis, artifactPath, WAIT_MS, recordPeerConnections,
} from './helpers.mjs';

/** @type {Awaited<ReturnType<typeof startHost>>} */
let host;
/** @type {import('playwright-core').Browser} */
let browser;
/** @type {import('./helpers.mjs').Person[]} */
const people = [];

/**
 * Runs in the page: total audio energy received and video frames decoded over every
 * peer connection (inbound-rtp stats).
 * @returns {Promise<{energy: number, frames: number}>}
 */
async function inboundTotals() {
  let energy = 0;
  let frames = 0;
  for (const pc of /** @type {any} */ (window).__pcs ?? []) {
    const stats = await pc.getStats();
    stats.forEach((/** @type {any} */ s) => {
      if (s.type !== 'inbound-rtp') return;
      if (s.kind === 'audio') energy += s.totalAudioEnergy ?? 0;
      if (s.kind === 'video') frames += s.framesDecoded ?? 0;
    });
  }
  return { energy, frames };
}

/**
 * Waits until the page has received sound (audio energy that grows: the fake
 * microphone's tone arrives and is decoded).
 * @param {import('./helpers.mjs').Person} p
 */
async function waitHearing(p) {
  const first = await p.page.evaluate(inboundTotals);
  await withDiagnosis(p, `${p.name} hears the other`, () =>
    p.page.waitForFunction(
      async (before) => {
        let energy = 0;
        for (const pc of /** @type {any} */ (window).__pcs ?? []) {
          const stats = await pc.getStats();
          stats.forEach((/** @type {any} */ s) => {
            if (s.type === 'inbound-rtp' && s.kind === 'audio') energy += s.totalAudioEnergy ?? 0;
          });
        }
        return energy > before;
      },
      first.energy,
      { timeout: WAIT_MS, polling: 200 },
    ),
  );
}

describe('a browser guest from the HTTPS guest link', { timeout: 6 * WAIT_MS }, () => {
  before(async () => {
    host = await startHost(['--name', 'Guest call']);
    browser = await launchBrowser();
  });

  after(async () => {
    if (process.exitCode) console.error(debugDump(people, host?.logs));
    await browser?.close().catch(() => {});
    await host?.stop();
  });

  test('the host prints a guest link on its LAN address and the fingerprint', () => {
    const lan = new URL(host.info.lan);
    assert.equal(host.info.guest, `https://${lan.host}/?room=${host.info.code}`);
    assert.match(String(host.info.fingerprint), /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  });

  test('the guest joins from its own page over wss, and each sees and hears the other', async () => {
    const ada = await openPerson(browser, host.info.local, 'Ada', { initScript: recordPeerConnections });
    people.push(ada);
    await typeAndJoin(ada, host.info.code);
    await waitInCall(ada);

    const guest = await openPerson(browser, String(host.info.guest), 'Phone', {
      ignoreHTTPSErrors: true,
      initScript: recordPeerConnections,
      viewport: { width: 390, height: 844 },
    });
    people.push(guest);
    assert.equal(await guest.page.evaluate(() => window.isSecureContext), true, 'a secure context: camera and microphone are allowed');
    // A lobby for a guest: whose call it is, the room of the link, no hosting, no Nearby rooms.
    await guest.page.getByTestId('guest-note').waitFor({ state: 'visible' });
    assert.match(await guest.page.getByTestId('guest-note').innerText(), new RegExp(new URL(String(host.info.guest)).host.replace(/\./g, '\\.')));
    assert.equal(await guest.page.getByLabel('Room code').inputValue(), host.info.code);
    assert.equal(await guest.page.getByRole('button', { name: 'Host a room' }).isVisible(), false);
    assert.equal(await guest.page.getByTestId('nearby-rooms').isVisible(), false);
    await guest.page.getByLabel('Your name').fill('Phone');
    const lobbyShot = artifactPath('guest-lobby-390x844.png');
    await guest.page.screenshot({ path: lobbyShot });
    console.log(`# screenshot: ${lobbyShot}`);
    await guest.page.getByRole('button', { name: 'Join', exact: true }).click();
    await waitInCall(guest);

    // The call's socket is wss to the page's own origin.
    const saved = await guest.page.evaluate(() => sessionStorage.getItem('lanmeet.call'));
    assert.equal(JSON.parse(String(saved)).ws, `wss://${new URL(String(host.info.guest)).host}/ws`);

    await waitPlaying(guest, 1);
    await waitPlaying(ada, 1);
    for (const [p, other] of [[guest, 'Ada'], [ada, 'Phone']]) {
      const stats = await remoteVideoStats(/** @type {any} */ (p));
      const tiles = Object.values(stats);
      assert.equal(tiles.length, 1);
      assert.equal(tiles[0].state, 'connected');
      assert.ok(tiles[0].audio >= 1, `${/** @type {any} */ (p).name} gets ${other}'s live audio track`);
      await waitFramesAdvance(/** @type {any} */ (p), stats);
      await waitHearing(/** @type {any} */ (p));
      const names = await /** @type {any} */ (p).page.locator('[data-testid=tile][data-self=false]').evaluateAll((els) => els.map((e) => /** @type {HTMLElement} */ (e).dataset.name));
      assert.deepEqual(names, [other]);
    }
    const decoded = await guest.page.evaluate(inboundTotals);
    assert.ok(decoded.frames > 0 && decoded.energy > 0, `the guest decodes video and sound: ${JSON.stringify(decoded)}`);
  });

  test('Invite a phone shows the guest link as text and QR code, the fingerprint and the certificate note', async () => {
    const [ada, guest] = people;
    assert.equal(await guest.page.getByTestId('invite-phone').count(), 0, 'a guest page has no node to invite with');
    await ada.page.getByRole('button', { name: 'Invite a phone' }).click();
    const dialog = ada.page.getByRole('dialog', { name: 'Invite a phone or a laptop' });
    await dialog.waitFor({ state: 'visible' });
    assert.equal(await dialog.getByTestId('invite-phone-link').innerText(), host.info.guest);
    assert.equal(await dialog.getByTestId('invite-phone-fingerprint').innerText(), host.info.fingerprint);
    assert.match(await dialog.innerText(), /warn about the certificate once/);
    // The QR code is the node's drawing of the link, loaded (no network beyond the node).
    const qr = dialog.getByTestId('invite-phone-qr');
    await ada.page.waitForFunction((img) => /** @type {HTMLImageElement} */ (img).complete && /** @type {HTMLImageElement} */ (img).naturalWidth > 0, await qr.elementHandle());
    const src = await qr.getAttribute('src');
    assert.equal(src, `/api/qr?text=${encodeURIComponent(String(host.info.guest))}`);
    assert.equal(await qr.getAttribute('alt'), 'QR code of the guest link');
    await dialog.getByRole('button', { name: 'Copy link' }).click();
    assert.equal(await ada.page.evaluate(() => navigator.clipboard.readText()), host.info.guest);
    const shot = artifactPath('invite-phone-en.png');
    await ada.page.screenshot({ path: shot });
    console.log(`# screenshot: ${shot}`);
    await ada.page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    assert.equal(await ada.page.evaluate(() => document.activeElement?.getAttribute('data-testid')), 'invite-phone', 'focus back on the button');
  });

  test('the guest page gets nothing of the control API', async () => {
    const guest = people[1];
    const answers = await guest.page.evaluate(async () => {
      const out = [];
      for (const [method, path] of [['GET', '/api/rooms'], ['POST', '/api/rooms'], ['GET', '/api/node'], ['GET', '/api/lan/rooms'], ['GET', '/api/qr?text=x']]) {
        const res = await fetch(path, { method, body: method === 'POST' ? '{}' : undefined });
        out.push(`${method} ${path} ${res.status}`);
      }
      return out;
    });
    assert.deepEqual(answers, [
      'GET /api/rooms 404',
      'POST /api/rooms 404',
      'GET /api/node 404',
      'GET /api/lan/rooms 404',
      'GET /api/qr?text=x 404',
    ]);
    // Still one room on the host, with both people in it.
    const res = await fetch(new URL('api/rooms', host.info.local));
    const rooms = await res.json();
    assert.equal(rooms.length, 1);
    assert.equal(rooms[0].peers, 2);
  });
});
