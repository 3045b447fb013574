// @ts-check
/**
 * Korean and English in Chromium, against a real `lanmeet host` in a namespace: a
 * browser whose language is Korean gets the Korean UI and can host a room and join
 * it; the language switch changes the page at once and is remembered across a
 * reload; at 1280×720 the lobby's Join button is on screen without scrolling, in
 * both languages (screenshots kept under artifacts/ui/, see helpers' artifactPath).
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHost, launchBrowser, openPerson, waitInCall, waitPlaying, debugDump, artifactPath, WAIT_MS } from './helpers.mjs';

/** @type {Awaited<ReturnType<typeof startHost>>} */
let host;
/** @type {import('playwright-core').Browser} */
let browser;
/** @type {import('./helpers.mjs').Person[]} */
const people = [];
const HD = { width: 1280, height: 720 };

/**
 * @param {string} name
 * @param {{locale?: string, viewport?: {width: number, height: number}}} [opts]
 */
async function person(name, opts) {
  const p = await openPerson(browser, host.info.local, name, opts);
  people.push(p);
  return p;
}

async function closeAll() {
  for (const p of people.splice(0)) await p.context.close().catch(() => {});
}

/** @param {import('./helpers.mjs').Person} p */
function htmlLang(p) {
  return p.page.evaluate(() => document.documentElement.lang);
}

/**
 * The Join button is entirely inside the viewport, with the page scrolled to the top.
 * @param {import('./helpers.mjs').Person} p
 * @param {string} label
 */
async function assertJoinAboveFold(p, label) {
  await p.page.evaluate(() => window.scrollTo(0, 0));
  const box = await p.page.getByTestId('join').boundingBox();
  assert.ok(box, 'the Join button is laid out');
  const vp = p.page.viewportSize();
  assert.ok(vp && box.y >= 0 && box.y + box.height <= vp.height, `${label}: Join spans y ${box.y}–${box.y + box.height}, the window is ${vp?.height} tall`);
}

describe('Korean and English in Chromium', { timeout: 6 * WAIT_MS }, () => {
  before(async () => {
    host = await startHost();
    browser = await launchBrowser();
  });

  after(async () => {
    if (process.exitCode) console.error(debugDump(people, host?.logs));
    await browser?.close().catch(() => {});
    await host?.stop();
  });

  test('a Korean browser gets the Korean UI, hosts a room and another Korean page joins it', async () => {
    const minji = await person('민지', { locale: 'ko-KR', viewport: HD });
    assert.equal(await htmlLang(minji), 'ko');
    await minji.page.getByRole('heading', { name: '통화 시작하기' }).waitFor();
    assert.equal(await minji.page.getByTestId('join').textContent(), '참가');
    await minji.page.getByLabel('이름', { exact: true }).fill('민지');
    await minji.page.getByLabel('방 이름 (선택)').fill('주간 회의');
    await minji.page.getByRole('button', { name: '방 만들기' }).click();
    await waitInCall(minji);
    const code = (await minji.page.getByTestId('room-code').textContent())?.trim() ?? '';
    assert.match(code, /^[0-9A-Z]{3}-[0-9A-Z]{3}$/);

    const junho = await person('준호', { locale: 'ko-KR', viewport: HD });
    assert.equal(await htmlLang(junho), 'ko');
    await junho.page.getByLabel('이름', { exact: true }).fill('준호');
    await junho.page.getByLabel('방 코드').fill(code);
    await junho.page.getByRole('button', { name: '참가', exact: true }).click();
    await waitInCall(junho);
    await waitPlaying(minji, 1);
    await waitPlaying(junho, 1);
    await closeAll();
  });

  test('a wrong code is explained in Korean', async () => {
    const p = await person('서연', { locale: 'ko-KR', viewport: HD });
    await p.page.getByLabel('이름', { exact: true }).fill('서연');
    await p.page.getByLabel('방 코드').fill('K7M-Q2U');
    await p.page.getByRole('button', { name: '참가', exact: true }).click();
    await p.page.getByTestId('lobby-notice').getByText('"U" 문자는 방 코드에 쓸 수 없습니다.', { exact: false }).waitFor();
    await closeAll();
  });

  test('a Korean window without WebRTC (the Linux desktop app) says so in Korean and opens the room in the browser', async () => {
    const context = await browser.newContext({ locale: 'ko-KR', viewport: HD });
    await context.addInitScript(() => {
      delete (/** @type {any} */ (window)).RTCPeerConnection;
      /** @type {any} */ (window).__opened = [];
      /** @type {any} */ (window).__lanmeetOpenInBrowser = (/** @type {string} */ url) => {
        /** @type {any} */ (window).__opened.push(url);
      };
    });
    const page = await context.newPage();
    page.setDefaultTimeout(WAIT_MS);
    people.push({ name: 'webview', context, page, console: [] });
    await page.goto(`${host.info.local}?room=K7M-Q2P`);
    await page.getByTestId('lobby-notice').getByText('이 창에서는 화상 통화를 할 수 없습니다.', { exact: false }).waitFor();
    await page.getByRole('button', { name: '브라우저에서 열기' }).click();
    assert.deepEqual(await page.evaluate(() => /** @type {any} */ (window).__opened), [`${host.info.local}?room=K7M-Q2P`]);
    // Switching language says the notice again, and its button still works.
    await page.getByLabel('언어').selectOption('en');
    await page.getByTestId('lobby-notice').getByText('This window cannot make video calls').waitFor();
    await page.getByRole('button', { name: 'Open in browser' }).click();
    assert.equal((await page.evaluate(() => /** @type {any} */ (window).__opened)).length, 2);
    await closeAll();
  });

  test('the switch changes the language at once, and the choice survives a reload', async () => {
    const p = await person('Ada', { locale: 'en-US', viewport: HD });
    assert.equal(await htmlLang(p), 'en');
    await p.page.getByLabel('Your name').fill('Ada');
    // A sentence the controller made (the name check) follows the switch too.
    await p.page.getByLabel('Your name').fill('');
    await p.page.getByRole('button', { name: 'Join', exact: true }).click();
    await p.page.getByTestId('lobby-notice').getByText('Type your name first').waitFor();

    await p.page.getByLabel('Language').selectOption('ko');
    assert.equal(await htmlLang(p), 'ko');
    await p.page.getByLabel('방 코드').waitFor();
    assert.equal(await p.page.getByTestId('join').textContent(), '참가');
    await p.page.getByTestId('lobby-notice').getByText('먼저 이름을 입력하세요').waitFor();
    assert.equal(await p.page.evaluate(() => localStorage.getItem('lanmeet.language')), 'ko');

    await p.page.reload();
    await p.page.getByLabel('방 코드').waitFor();
    assert.equal(await htmlLang(p), 'ko', 'remembered over the browser language');
    assert.equal(await p.page.getByLabel('언어').inputValue(), 'ko');

    await p.page.getByLabel('언어').selectOption('en');
    await p.page.getByLabel('Room code').waitFor();
    assert.equal(await htmlLang(p), 'en');
    await closeAll();
  });

  test('at 1280×720 Join needs no scrolling, in English and Korean (screenshots kept)', async () => {
    for (const [locale, lang] of [['en-US', 'en'], ['ko-KR', 'ko']]) {
      const p = await person(`shot-${lang}`, { locale, viewport: HD });
      assert.equal(await htmlLang(p), lang);
      // Wait for the camera preview, so the screenshot shows the lobby as people see it.
      await p.page.waitForFunction(() => {
        const v = /** @type {HTMLVideoElement | null} */ (document.querySelector('.preview-frame video'));
        return !!v && v.readyState >= 2 && v.videoWidth > 0;
      });
      await assertJoinAboveFold(p, lang);
      const file = artifactPath(`lobby-${lang}-1280x720.png`);
      await p.page.screenshot({ path: file });
      console.log(`# screenshot: ${file}`);
    }
    await closeAll();
  });
});
