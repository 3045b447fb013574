// @ts-check
/**
 * Firefox for the end-to-end tests: Debian's `firefox-esr`, headless, driven over
 * WebDriver BiDi by puppeteer-core (Playwright drives only its own patched Firefox,
 * which is downloaded; this one comes from the registry). A person in Firefox gets
 * the same `page` surface the shared helpers (../e2e/helpers.mjs) use on a
 * Playwright page — `evaluate(fn, arg)` and `waitForFunction(fn, arg, {timeout,
 * polling})` — so `waitPlaying`, `remoteVideoStats`, `withDiagnosis` and the rest
 * work on both engines.
 *
 * Headless Firefox here has no sound output (no sound server): its `<audio>`
 * elements play, but an AudioContext never leaves "suspended". What Firefox hears is
 * read from its own stats instead ({@link firefoxHears}): the energy of the sound it
 * decoded from each connection.
 *
 * Run inside `scripts/with-netns --gateway`: here (fake devices, no permission
 * prompt) Firefox offered host candidates only on the interface of its default
 * route, and with none it gathered nothing.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import puppeteer from 'puppeteer-core';
import { WAIT_MS, recordPeerConnections, inboundOf } from '../e2e/helpers.mjs';

export const FIREFOX = process.env.FIREFOX || '/usr/bin/firefox-esr';

/**
 * Preferences of a Firefox that calls like a person who allowed camera and
 * microphone: fake devices (a moving picture and a tone), no permission prompt,
 * sound that may play, and host candidates as addresses rather than mDNS names (a
 * page with camera permission gets those anyway; the test's node resolves no mDNS).
 */
const PREFS = {
  'media.navigator.streams.fake': true,
  'media.navigator.permission.disabled': true,
  'media.peerconnection.ice.obfuscate_host_addresses': false,
  'media.autoplay.default': 0,
  'media.autoplay.blocking_policy': 0,
  // Nothing reaches out of the namespace anyway; these keep Firefox from trying.
  'app.update.enabled': false,
  'browser.shell.checkDefaultBrowser': false,
  'datareporting.policy.dataSubmissionEnabled': false,
  'toolkit.telemetry.enabled': false,
  'network.captive-portal-service.enabled': false,
  'network.connectivity-service.enabled': false,
};

/**
 * Headless Firefox with a fresh profile (removed on `close`).
 * @returns {Promise<{browser: import('puppeteer-core').Browser, close: () => Promise<void>}>}
 */
export async function launchFirefox() {
  if (!existsSync(FIREFOX)) {
    throw new Error(`no Firefox at ${FIREFOX}: install firefox-esr (scripts/install-deps does on Debian) or set FIREFOX to another Firefox (tested: ESR 153)`);
  }
  const profile = mkdtempSync(path.join(os.tmpdir(), 'lanmeet-firefox-'));
  const browser = await puppeteer.launch({
    browser: 'firefox',
    executablePath: FIREFOX,
    headless: true,
    userDataDir: profile,
    // A guest has accepted the host's self-signed certificate once (its warning page).
    acceptInsecureCerts: true,
    extraPrefsFirefox: PREFS,
  });
  return {
    browser,
    close: async () => {
      await browser.close().catch(() => {});
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * A person in Firefox, on the lobby, in a browser context of their own.
 * @typedef {object} FirefoxPerson
 * @property {string} name
 * @property {import('puppeteer-core').Page} tab the puppeteer page (clicks, typing)
 * @property {{evaluate: (fn: any, arg?: any) => Promise<any>, waitForFunction: (fn: any, arg?: any, opts?: {timeout?: number, polling?: number}) => Promise<any>}} page
 *   the surface the shared helpers use, in Playwright's argument order
 * @property {string[]} console the last 300 console lines (page errors among them)
 * @property {string[]} errors every uncaught error of the page
 */

/**
 * @param {import('puppeteer-core').Browser} browser
 * @param {string} url
 * @param {string} name
 * @returns {Promise<FirefoxPerson>}
 */
export async function openFirefoxPerson(browser, url, name) {
  const context = await browser.createBrowserContext();
  const tab = await context.newPage();
  /** @type {string[]} */
  const lines = [];
  /** @type {string[]} */
  const errors = [];
  tab.on('console', (m) => {
    lines.push(`[${m.type()}] ${m.text()}`);
    if (lines.length > 300) lines.shift();
  });
  tab.on('pageerror', (e) => {
    const line = `[pageerror] ${e instanceof Error ? e.message : e}`;
    errors.push(line);
    lines.push(line);
  });
  tab.setDefaultTimeout(WAIT_MS);
  // Its connections, for what it decodes (firefoxHears).
  await tab.evaluateOnNewDocument(recordPeerConnections);
  await tab.goto(url);
  return {
    name,
    tab,
    console: lines,
    errors,
    page: {
      evaluate: (fn, arg) => tab.evaluate(fn, arg),
      waitForFunction: (fn, arg, opts = {}) =>
        tab.waitForFunction(fn, { timeout: opts.timeout ?? WAIT_MS, polling: opts.polling ?? 100 }, arg),
    },
  };
}

/**
 * Types the name and the room code and clicks Join, like a person.
 * @param {FirefoxPerson} p
 * @param {string} room
 */
export async function firefoxJoin(p, room) {
  await p.tab.locator('#name').fill(p.name);
  await p.tab.locator('#room').fill(room);
  await p.tab.locator('[data-testid=join]').click();
  await p.tab.waitForSelector('[data-testid=call]', { visible: true });
}

/**
 * Waits until Firefox has decoded sound from each of `names` (audio energy above
 * `min` in the `inbound-rtp` stats of the connection that carries that person's
 * tile, read by the shared {@link inboundOf}).
 * @param {FirefoxPerson} p
 * @param {string[]} names
 * @param {number} [min] total audio energy (Chromium's fake microphone beeps: about
 *   0.3 a second)
 */
export async function firefoxHears(p, names, min = 0.05) {
  /** @type {Record<string, number | null>} */
  const energy = {};
  const end = Date.now() + WAIT_MS;
  while (Date.now() < end) {
    for (const name of names) energy[name] = (await p.tab.evaluate(inboundOf, name))?.energy ?? null;
    if (names.every((name) => (energy[name] ?? 0) > min)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${p.name} does not hear everyone: sound energy decoded per person ${JSON.stringify(energy)} (want above ${min})`);
}
