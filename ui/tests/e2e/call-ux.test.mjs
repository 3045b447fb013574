// @ts-check
/**
 * The call view's conveniences in real Chromium pages against a real `lanmeet host`:
 * three people; the verification code on each tile matches the one the other end of
 * that pair shows (every pair); the keyboard shortcuts (and not while typing); raise
 * hand on the others' tiles; "same room" mute on this device only; the shortcuts
 * popover and Escape. Screenshots of the call view at 1280×720, in English and in
 * Korean, are kept as artifacts (helpers' artifactPath: `artifacts/ui/` or $LANMEET_ARTIFACTS).
 *
 * Run inside a namespace: `scripts/with-netns ui-e2e -- node --test ui/tests/e2e/`.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startHost, launchBrowser, openPerson, typeAndJoin, waitInCall, waitPlaying, selfId, tileOf, debugDump, artifactPath, WAIT_MS,
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
 * The verification code `p` shows on the tile of `id` (waits until it is there).
 * @param {import('./helpers.mjs').Person} p
 * @param {string} id
 */
async function codeOn(p, id) {
  const tile = tileOf(p, id);
  await tile.and(p.page.locator('[data-verify]')).waitFor({ state: 'attached' });
  return tile.getAttribute('data-verify');
}

describe('the call view: verification codes, shortcuts, hands, same-room mute', { timeout: 10 * WAIT_MS }, () => {
  before(async () => {
    host = await startHost(['--name', 'Design review']);
    browser = await launchBrowser();
  });

  after(async () => {
    if (process.exitCode) console.error(debugDump(people, host?.logs));
    await browser?.close().catch(() => {});
    await host?.stop();
  });

  test('three people join; every pair sees the same verification code at both ends', async () => {
    for (const name of ['Ada', 'Ben', 'Cleo']) people.push(await openPerson(browser, host.info.local, name));
    await people[0].page.setViewportSize({ width: 1280, height: 720 });
    for (const p of people) {
      await typeAndJoin(p, host.info.code);
      await waitInCall(p);
    }
    for (const p of people) await waitPlaying(p, 2);
    ids = [];
    for (const p of people) ids.push(await selfId(p));
    /** @type {Set<string>} */
    const codes = new Set();
    for (let i = 0; i < people.length; i++) {
      for (let j = i + 1; j < people.length; j++) {
        const there = await codeOn(people[i], ids[j]);
        const back = await codeOn(people[j], ids[i]);
        assert.match(there ?? '', /^\d{3} \d{3}$/, `${people[i].name} shows a code for ${people[j].name}`);
        assert.equal(there, back, `${people[i].name} and ${people[j].name} read out the same code`);
        codes.add(/** @type {string} */ (there));
      }
    }
    assert.equal(codes.size, 3, 'each pair has its own code (its own certificates)');
    // Our own tile has none: there is nothing to compare with ourselves.
    assert.equal(await people[0].page.locator('[data-testid=tile][data-self=true][data-verify]').count(), 0);
  });

  test('the title is the room name once, with the head count', async () => {
    const ada = people[0].page;
    assert.equal(await ada.locator('.room-name').textContent(), 'Design review');
    await ada.getByTestId('people-count').getByText('3 people').waitFor();
    assert.match(await ada.title(), /^Design review \(3\)/);
  });

  test('M, V, C and H work from the keyboard, and not while typing in the chat', async () => {
    const [ada, ben] = people;
    const adaOnBen = tileOf(ben, ids[0]);
    await ada.page.locator('body').click({ position: { x: 5, y: 300 } });
    await ada.page.keyboard.press('m');
    await ada.page.getByRole('button', { name: 'Unmute', exact: true }).waitFor();
    await adaOnBen.and(ben.page.locator('[data-muted=true]')).waitFor();
    await ada.page.keyboard.press('m');
    await adaOnBen.and(ben.page.locator('[data-muted=false]')).waitFor();

    await ada.page.keyboard.press('v');
    await adaOnBen.and(ben.page.locator('[data-camera=false]')).waitFor();
    await ada.page.keyboard.press('v');
    await adaOnBen.and(ben.page.locator('[data-camera=true]')).waitFor();

    await ada.page.keyboard.press('h');
    await adaOnBen.and(ben.page.locator('[data-hand=true]')).waitFor();
    await adaOnBen.getByText('Hand raised', { exact: true }).waitFor();
    await ben.page.getByTestId('announcer').getByText('Ada raised their hand.').waitFor({ state: 'attached' });

    // C opens the chat with the cursor in the message box; typing there is text.
    await ada.page.keyboard.press('c');
    const input = ada.page.getByLabel('Message');
    await input.waitFor();
    assert.equal(await input.evaluate((el) => el === document.activeElement), true, 'focus moves into the chat');
    await ada.page.keyboard.type('mvch');
    assert.equal(await input.inputValue(), 'mvch');
    await ada.page.getByRole('button', { name: 'Mute', exact: true }).waitFor();
    assert.equal(await adaOnBen.getAttribute('data-hand'), 'true', 'H typed in the chat did not lower the hand');
    // Escape closes the panel and gives focus back to the Chat button.
    await ada.page.keyboard.press('Escape');
    await ada.page.getByTestId('chat-panel').waitFor({ state: 'hidden' });
    assert.equal(await ada.page.getByTestId('chat-toggle').evaluate((el) => el === document.activeElement), true);
    await ada.page.keyboard.press('h');
    await adaOnBen.and(ben.page.locator('[data-hand=false]')).waitFor();
  });

  test('? lists the shortcuts; Escape closes the list', async () => {
    const ada = people[0].page;
    await ada.keyboard.press('Shift+Slash');
    const help = ada.getByRole('dialog', { name: 'Keyboard shortcuts' });
    await help.waitFor();
    for (const k of ['M', 'V', 'C', 'H', 'Shift+L']) await help.getByText(k, { exact: true }).waitFor();
    await ada.keyboard.press('Escape');
    await help.waitFor({ state: 'hidden' });
  });

  test('"same room" mute silences a person on this device only', async () => {
    const [ada, ben] = people;
    const benOnAda = tileOf(ada, ids[1]);
    await benOnAda.hover();
    await benOnAda.getByRole('button', { name: 'Silence Ben on this device' }).click();
    await benOnAda.and(ada.page.locator('[data-local-muted=true]')).waitFor();
    assert.equal(await benOnAda.locator('audio').evaluate((a) => /** @type {HTMLAudioElement} */ (a).muted), true);
    assert.equal(await tileOf(ben, ids[0]).getAttribute('data-muted'), 'false', 'nobody else is told');
    assert.equal(await tileOf(people[2], ids[1]).locator('audio').evaluate((a) => /** @type {HTMLAudioElement} */ (a).muted), false, 'Cleo still hears Ben');
    await benOnAda.getByRole('button', { name: 'Silence Ben on this device' }).click();
    await benOnAda.and(ada.page.locator('[data-local-muted=false]')).waitFor();
  });

  test('picture-in-picture is offered where the browser has it', async () => {
    const ada = people[0].page;
    const supported = await ada.evaluate(() => /** @type {any} */ (document).pictureInPictureEnabled === true);
    assert.equal(await tileOf(people[0], ids[1]).getByTestId('tile-pip').count(), supported ? 1 : 0);
  });

  test('screenshots of the call view, English and Korean, 1280×720', async () => {
    const ada = people[0].page;
    const en = artifactPath('call-en-1280x720.png');
    const ko = artifactPath('call-ko-1280x720.png');
    await ada.keyboard.press('h');
    await ada.getByRole('button', { name: 'Chat', exact: true }).click();
    await ada.getByLabel('Message').fill('Shall we start?');
    await ada.getByRole('button', { name: 'Send', exact: true }).click();
    await ada.screenshot({ path: en });
    // The language switch relabels the call in place: tiles and streams stay.
    await ada.evaluate(() => import('/i18n.js').then((m) => m.setLanguage('ko')));
    await ada.getByRole('button', { name: '음소거', exact: true }).waitFor();
    await ada.getByRole('button', { name: '나가기', exact: true }).waitFor();
    await ada.getByTestId('people-count').getByText('3명').waitFor();
    assert.equal(await ada.locator('[data-testid=tile][data-self=false] video').count(), 2);
    await ada.screenshot({ path: ko });
    await ada.evaluate(() => import('/i18n.js').then((m) => m.setLanguage('en')));
    await ada.getByRole('button', { name: 'Mute', exact: true }).waitFor();
    console.log(`screenshots: ${en}, ${ko}`);
  });

  test('on a phone-sized screen the controls are icons that keep their names', async () => {
    const ben = people[1].page;
    await ben.setViewportSize({ width: 390, height: 844 });
    for (const name of ['Mute', 'Camera off', 'Raise hand', 'Leave']) {
      await ben.getByRole('button', { name, exact: true }).waitFor();
    }
    // Ada's message is unread here: the name says so in words.
    await ben.getByRole('button', { name: 'Chat, 1 unread message', exact: true }).waitFor();
    const label = await ben.getByRole('button', { name: 'Mute', exact: true }).locator('.control-label').boundingBox();
    assert.ok(label && label.width <= 1, 'the word is for screen readers only');
    await ben.screenshot({ path: artifactPath('call-en-390x844.png') });
  });

  test('Shift+L leaves the call', async () => {
    const cleo = people[2];
    await cleo.page.locator('body').click({ position: { x: 5, y: 300 } });
    await cleo.page.keyboard.press('Shift+L');
    await cleo.page.getByTestId('lobby').waitFor();
    await tileOf(people[0], ids[2]).waitFor({ state: 'detached' });
    await people[0].page.getByTestId('announcer').getByText('Cleo left.').waitFor({ state: 'attached' });
  });
});
