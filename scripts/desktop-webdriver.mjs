// desktop-webdriver.mjs: drives the real desktop window through tauri-driver
// (WebDriver over WebKitWebDriver) for scripts/desktop-test. Run inside the test's
// network namespace. No dependencies: plain fetch against the W3C WebDriver API.
//
// Env: LANMEET_DESKTOP_BIN (the app), WEBDRIVER_URL (tauri-driver), LOCAL_PORT and
// LAN_PORT (the app's node, fixed by the test), BROWSER_RECORD (file the fake
// browser appends URLs to), APP_LOG (the app's log, via tauri-driver), ARTIFACTS.
//
// Prints one `ok - …` / `not ok - …` / `skip - …` line per check; exits 1 if any failed.

import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { webDriver } from './lib/webdriver.mjs';

const env = (name, fallback) => process.env[name] ?? fallback;
const driver = env('WEBDRIVER_URL', 'http://127.0.0.1:4444');
const app = env('LANMEET_DESKTOP_BIN');
const localPort = Number(env('LOCAL_PORT', '17878'));
const lanPort = Number(env('LAN_PORT', '7878'));
const origin = `http://127.0.0.1:${localPort}`;
const record = env('BROWSER_RECORD');
const appLog = env('APP_LOG');
const artifacts = env('ARTIFACTS', '.');
const ELEMENT = 'element-6066-11e4-a52e-4f735466cecf';
// The page side of the bridge (ui/bridge/, issue 10): where it is in the tree, the
// window calls through the bridge; before it, the window falls back to the browser.
const pageBridge = existsSync(join(dirname(fileURLToPath(import.meta.url)), '..', 'ui', 'bridge', 'install.js'));

let failed = 0;
const ok = (what) => console.log(`ok - ${what}`);
const notOk = (what, why) => {
  failed += 1;
  console.log(`not ok - ${what}: ${why}`);
};
const skip = (what, why) => console.log(`skip - ${what}: ${why}`);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` every 100 ms until it returns a truthy value, at most `ms`. */
async function until(ms, probe) {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    try {
      last = await probe();
      if (last) return last;
    } catch (err) {
      last = err;
    }
    await sleep(100);
  }
  return null;
}

const driverClient = webDriver(driver);
const { wd, s, exec, execAsync } = driverClient;
const find = async (xpath) => {
  const found = await wd('POST', s('/elements'), { using: 'xpath', value: xpath });
  return found.length ? found[0][ELEMENT] : null;
};
const click = (id) => wd('POST', s(`/element/${id}/click`), {});
const text = (id) => wd('GET', s(`/element/${id}/text`));

async function screenshot(name) {
  const png = await wd('GET', s('/screenshot'));
  writeFileSync(join(artifacts, name), Buffer.from(png, 'base64'));
}

async function api(path, init) {
  return fetch(`${origin}${path}`, init);
}

async function main() {
  await driverClient.start(app);
  ok('tauri-driver started the app and opened a WebDriver session');

  // The window starts on about:blank, then loads the node's UI.
  const lobby = await until(30000, async () => {
    const url = await wd('GET', s('/url'));
    return url.startsWith(origin) && (await find("//button[normalize-space()='Host a room']"));
  });
  if (!lobby) throw new Error(`the lobby never showed "Host a room" (url ${await wd('GET', s('/url'))})`);
  ok(`the window shows the node's lobby (${origin}) with "Host a room"`);
  await screenshot('webdriver-lobby.png');

  const native = await exec('return typeof RTCPeerConnection === "function";');
  console.log(`# this webview ${native ? 'has' : 'has no'} RTCPeerConnection`);
  // The app runs the bridge where the webview has no WebRTC; the page gets it.
  const bridge = await execAsync(
    `const done = arguments[arguments.length - 1];
     fetch('/api/bridge').then(async (r) => done({ status: r.status, body: r.ok ? await r.json() : null }), (e) => done({ error: String(e) }));`,
  );
  if (!native) {
    bridge?.status === 200 && String(bridge.body?.url).startsWith('ws://127.0.0.1:') && String(bridge.body?.secret).length >= 32
      ? ok(`the window's page gets the WebRTC bridge from its node (GET /api/bridge → ${bridge.body.url})`)
      : notOk('GET /api/bridge from the window', JSON.stringify(bridge));
  }
  const hasWebRTC = native || (pageBridge && bridge?.status === 200);
  console.log(`# the window ${hasWebRTC ? 'makes calls itself' : 'hands calls to the browser'}${!native && hasWebRTC ? ' (through the bridge)' : ''}`);
  const desktop = await exec('return Boolean(window.__lanmeetDesktop) && typeof window.__lanmeetOpenInBrowser === "function";');
  desktop ? ok('the page sees the desktop bridge (__lanmeetOpenInBrowser)') : notOk('desktop bridge', 'missing');

  // Media: the permission handler allows our origin; the mock devices answer.
  const media = await execAsync(
    `const done = arguments[arguments.length - 1];
     navigator.mediaDevices.getUserMedia({ audio: true, video: true }).then(
       (s) => { const n = s.getTracks().length; s.getTracks().forEach((t) => t.stop()); done('tracks:' + n); },
       (e) => done('error:' + e.name + ' ' + e.message));`,
  );
  media === 'tracks:2' ? ok('getUserMedia gets camera and microphone in the window') : notOk('getUserMedia', media);

  // Echo cancellation: what the engine says when a call asks for it (README, "Echo").
  const echo = await execAsync(
    `const done = arguments[arguments.length - 1];
     const supported = navigator.mediaDevices.getSupportedConstraints();
     navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true } }).then(
       (s) => { const t = s.getAudioTracks()[0];
                const r = { supported: { echoCancellation: supported.echoCancellation ?? false },
                            settings: t.getSettings(), capabilities: t.getCapabilities ? t.getCapabilities() : null, label: t.label };
                s.getTracks().forEach((x) => x.stop()); done(r); },
       (e) => done({ error: e.name + ' ' + e.message }));`,
  );
  console.log(`# echo cancellation asked for: supported constraint ${JSON.stringify(echo?.supported)}, ` +
    `settings ${JSON.stringify(echo?.settings)}, capabilities ${JSON.stringify(echo?.capabilities)}`);

  // The window refuses to leave our origin, even for another local server.
  const elsewhere = `http://127.0.0.1:${lanPort}/api/health`;
  await exec('window.location.assign(arguments[0]); return true;', [elsewhere]);
  const refused = await until(10000, () => existsSync(appLog) && readFileSync(appLog, 'utf8').includes('navigation away from the lanmeet UI refused'));
  const stillOurs = (await wd('GET', s('/url'))).startsWith(origin);
  refused && stillOurs
    ? ok('navigation to another origin is refused; the window stays on the UI')
    : notOk('navigation lock', `refused logged: ${Boolean(refused)}, url ${await wd('GET', s('/url'))}`);

  // Host a room through the window.
  const nameField = await find("//input[@id='name']");
  if (nameField) await wd('POST', s(`/element/${nameField}/value`), { text: 'Desk test' });
  const hostButton = await find("//button[normalize-space()='Host a room']");
  await click(hostButton);
  ok('clicked "Host a room"');

  let code = null;
  if (hasWebRTC) {
    const codeEl = await until(15000, () => find("//*[@data-testid='room-code']"));
    code = codeEl ? (await text(codeEl)).replace(/[^0-9A-Z]/gi, '') : null;
    code ? ok(`the call view shows room ${code}`) : notOk('hosting', 'no room code shown');
    const banner = await find("//*[@data-testid='lobby-notice' and contains(., 'cannot make video calls')]");
    banner ? notOk('no "cannot make video calls" banner', 'it is shown') : ok('no "cannot make video calls" banner');
  } else {
    const notice = await until(15000, async () => {
      const el = await find("//*[@data-testid='lobby-notice']");
      return el && (await text(el)).includes('cannot make video calls') && el;
    });
    notice
      ? ok('without WebRTC the lobby says the window cannot make video calls')
      : notOk('fallback notice', 'not shown after "Host a room"');
  }
  await screenshot('webdriver-hosted.png');

  // The room, as the node and a second node see it.
  const rooms = await until(5000, async () => {
    const list = await (await api('/api/rooms')).json();
    return list.length ? list : null;
  });
  if (rooms) {
    code ??= rooms[0].code;
    rooms.some((r) => r.code === code)
      ? ok(`the app's node hosts room ${code} (GET /api/rooms)`)
      : notOk('GET /api/rooms', JSON.stringify(rooms));
    // What another node does to find a room by code on this node's LAN listener.
    const probe = await fetch(`http://127.0.0.1:${lanPort}/api/rooms/${code}`, { method: 'HEAD' });
    probe.status === 204
      ? ok(`a second node finds room ${code} on the LAN listener (HEAD /api/rooms/${code} → 204)`)
      : notOk('HEAD on the LAN listener', `status ${probe.status}`);
  } else {
    notOk('GET /api/rooms', 'no room after "Host a room"');
  }

  // The fallback button hands the room to "the browser".
  if (!hasWebRTC) {
    const button = await find("//*[@data-testid='lobby-notice']//button[normalize-space()='Open in browser']");
    if (!button) {
      notOk('Open in browser', 'no button in the notice');
    } else {
      await click(button);
      const opened = await until(10000, () => readFileSync(record, 'utf8').trim().split('\n').filter(Boolean)[0]);
      if (!opened) notOk('Open in browser', 'the browser was never started');
      else if (!opened.startsWith(`${origin}/`)) notOk('Open in browser', `opened ${opened}`);
      else if (code && !opened.includes(code)) notOk('Open in browser', `opened ${opened}, not room ${code}`);
      else ok(`"Open in browser" opened ${opened} in the system browser`);
    }
  }
}

try {
  await main();
} catch (err) {
  notOk('webdriver run', err instanceof Error ? err.message : String(err));
} finally {
  await driverClient.end();
}
process.exit(failed ? 1 : 0);
