// @ts-check
/**
 * Shared pieces of the end-to-end tests and the benchmark: a real `lanmeet host`, a
 * real headless Chromium with fake camera and microphone, and people who use the UI
 * the way a person does (type a name, type a code, click Join).
 *
 * Everything runs inside the network namespace made by `scripts/with-netns`, whose
 * veth address ($LANMEET_TEST_ADDR) carries the calls: browsers ignore loopback ICE
 * candidates, and no packet leaves the namespace.
 */
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import os from 'node:os';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(here, '../../..');
export const LANMEET_BIN =
  process.env.LANMEET_BIN || path.join(process.env.CARGO_TARGET_DIR || path.join(REPO, 'target'), 'debug/lanmeet');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

/**
 * Where screenshots and other test artifacts go: $LANMEET_ARTIFACTS, else
 * `artifacts/ui/` in the repository (ignored by git, next to `artifacts/desktop/`).
 * @param {string} name file name
 * @returns {string} its path (the directory is made)
 */
export function artifactPath(name) {
  const dir = process.env.LANMEET_ARTIFACTS || path.join(REPO, 'artifacts', 'ui');
  mkdirSync(dir, { recursive: true });
  return path.join(dir, name);
}

/** Upper bound for any wait: a hang guard, not a performance threshold. */
export const WAIT_MS = Number(process.env.LANMEET_E2E_WAIT_MS || 45_000);

/** The namespace's LAN-like address; the tests refuse to run without one. */
export function testAddr() {
  const addr = process.env.LANMEET_TEST_ADDR;
  if (!addr) {
    throw new Error('LANMEET_TEST_ADDR is not set: run the browser tests inside a namespace, e.g. `scripts/with-netns ui-e2e -- node --test ui/tests/e2e/`');
  }
  return addr;
}

/**
 * @typedef {object} HostInfo
 * @property {string} code
 * @property {string} invite
 * @property {string} local  the UI's URL
 * @property {string} ws
 * @property {string} lan
 * @property {string | null} guest  the HTTPS link for browser guests
 * @property {string | null} fingerprint  SHA-256 of the certificate guests see
 */

/** Where the hosts the tests start keep their guest certificate (never the user's home). */
export const DATA_DIR = process.env.LANMEET_DATA_DIR || path.join(os.tmpdir(), 'lanmeet-e2e-data');

/**
 * Starts `lanmeet host` and waits for its JSON line.
 * @param {string[]} [extra] more CLI flags
 * @returns {Promise<{proc: import('node:child_process').ChildProcess, info: HostInfo, stop: () => Promise<void>, logs: string[]}>}
 */
export async function startHost(extra = []) {
  const args = [
    'host', '--no-open', '--json', '--no-discovery',
    '--local-port', '0', '--lan-port', '0', '--lan-bind', testAddr(),
    '--data-dir', DATA_DIR,
    ...extra,
  ];
  const proc = spawn(LANMEET_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  /** @type {string[]} */
  const logs = [];
  proc.stderr?.on('data', (d) => {
    logs.push(String(d));
    if (logs.length > 400) logs.shift();
  });
  const info = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`lanmeet host printed no JSON line in 20 s\n${logs.join('')}`)), 20_000);
    proc.once('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`cannot start ${LANMEET_BIN}: ${e.message} (build it with \`cargo build -p lanmeet\` or set LANMEET_BIN)`));
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`lanmeet host exited with ${code}\n${logs.join('')}`));
    });
    const rl = createInterface({ input: /** @type {any} */ (proc.stdout) });
    rl.on('line', (line) => {
      try {
        const v = JSON.parse(line);
        if (v && v.local && v.code) {
          clearTimeout(timer);
          resolve(v);
        }
      } catch {
        // not the JSON line
      }
    });
  });
  proc.removeAllListeners('exit');
  const stop = async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
  };
  return { proc, info, stop, logs };
}

/**
 * Calls the host's control API from the test (same Host header rules as the UI).
 * @param {HostInfo} info
 * @param {string} p path under /api/
 * @param {any} [body] JSON body for POST
 */
export async function hostApi(info, p, body) {
  const res = await fetch(new URL(`api/${p}`, info.local), body === undefined ? {} : {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${p}: ${res.status} ${await res.text()}`);
  return res.status === 204 ? null : res.json();
}

/** Chromium's flags for the tests and the benchmarks (DEVELOPERS.md says why). */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-features=WebRtcHideLocalIpsWithMdns',
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  // Background tabs must keep decoding: every page here is "in the background".
  '--disable-background-timer-throttling',
  '--disable-renderer-backgrounding',
  '--disable-backgrounding-occluded-windows',
];

/**
 * Headless Debian Chromium with fake devices, the flags from DEVELOPERS.md.
 * @param {string} [executablePath] another Chromium (e.g. a wrapper that runs it in
 *   a namespace of its own: scripts/relay-netns)
 */
export async function launchBrowser(executablePath = CHROMIUM) {
  return chromium.launch({ executablePath, headless: true, args: CHROMIUM_ARGS });
}

/**
 * @typedef {object} Person
 * @property {string} name
 * @property {import('playwright-core').BrowserContext} context
 * @property {import('playwright-core').Page} page
 * @property {string[]} console
 */

/**
 * A person with a browser context of their own, on the lobby. The browser speaks
 * `locale` (default `en-US`: the tests read English unless they say otherwise).
 * @param {import('playwright-core').Browser} browser
 * @param {string} url
 * @param {string} name
 * `ignoreHTTPSErrors`: the person accepted the certificate warning of a host's guest
 * link (as a person does once); `initScript` runs in the page before its own scripts.
 * @param {{locale?: string, viewport?: {width: number, height: number}, ignoreHTTPSErrors?: boolean, initScript?: () => void}} [opts]
 * @returns {Promise<Person>}
 */
export async function openPerson(browser, url, name, opts = {}) {
  // Granting permissions replaces the whole set: camera and microphone stay in it.
  const context = await browser.newContext({
    viewport: opts.viewport ?? { width: 1100, height: 720 },
    locale: opts.locale ?? 'en-US',
    permissions: ['camera', 'microphone', 'clipboard-read', 'clipboard-write'],
    ignoreHTTPSErrors: opts.ignoreHTTPSErrors ?? false,
  });
  if (opts.initScript) await context.addInitScript(opts.initScript);
  const page = await context.newPage();
  /** @type {string[]} */
  const consoleLines = [];
  page.on('console', (m) => {
    consoleLines.push(`[${m.type()}] ${m.text()}`);
    if (consoleLines.length > 300) consoleLines.shift();
  });
  page.on('pageerror', (e) => consoleLines.push(`[pageerror] ${e.message}`));
  page.setDefaultTimeout(WAIT_MS);
  await page.goto(url);
  return { name, context, page, console: consoleLines };
}

/**
 * Types the name and the code (or invite) and clicks Join, like a person.
 * @param {Person} p
 * @param {string} room
 */
export async function typeAndJoin(p, room) {
  await p.page.getByLabel('Your name').fill(p.name);
  await p.page.getByLabel('Room code').fill(room);
  await p.page.getByRole('button', { name: 'Join', exact: true }).click();
}

/**
 * Opens the call's chat panel (closed until someone opens it), if it is closed.
 * @param {Person} p
 */
export async function openChat(p) {
  if (await p.page.getByTestId('chat-panel').isHidden()) await p.page.getByTestId('chat-toggle').click();
  await p.page.getByLabel('Message').waitFor();
}

/** @param {Person} p */
export async function waitInCall(p) {
  await p.page.getByTestId('call').waitFor({ state: 'visible' });
}

/** @param {Person} p @returns {Promise<string>} our peer id */
export async function selfId(p) {
  const id = await p.page.locator('[data-testid=tile][data-self=true]').getAttribute('data-peer-id');
  if (!id) throw new Error('no self tile');
  return id;
}

/**
 * Runs in the page: the page's clock when it shows exactly `n` remote tiles, each
 * playing video, else `false`. For `page.waitForFunction`. On a page whose calls go
 * through the bridge a tile shows a canvas the media worker paints: it counts once it
 * has shown a picture (`data-painted`); {@link tileCanvasMoves} checks that it moves.
 * @param {number} n
 * @returns {number | false}
 */
export function remotesPlayingAt(n) {
  const tiles = [...document.querySelectorAll('[data-testid=tile][data-self=false]')];
  const playing =
    tiles.length === n &&
    tiles.every((t) => {
      const c = /** @type {HTMLCanvasElement | null} */ (t.querySelector('canvas[data-testid=tile-canvas]'));
      if (c) return c.dataset.painted === 'true';
      const v = /** @type {HTMLVideoElement | null} */ (t.querySelector('video'));
      return !!v && !v.paused && v.readyState >= 2 && v.videoWidth > 0 && v.currentTime > 0;
    });
  return playing ? Date.now() : false;
}

/**
 * Whether the canvas of `id`'s tile (a bridge page's remote video) shows a moving
 * picture: screenshots of it, taken until one differs from the first (bounded by
 * {@link WAIT_MS}).
 * @param {Person} p
 * @param {string} id
 * @returns {Promise<boolean>}
 */
export async function tileCanvasMoves(p, id) {
  const canvas = p.page.locator(`[data-testid=tile][data-peer-id="${id}"] canvas[data-testid=tile-canvas]`);
  const first = await canvas.screenshot();
  const end = Date.now() + WAIT_MS;
  while (Date.now() < end) {
    await p.page.waitForTimeout(200);
    if (!(await canvas.screenshot()).equals(first)) return true;
  }
  return false;
}

/**
 * Waits until the page shows exactly `n` remote tiles, each playing video.
 * @param {Person} p
 * @param {number} n
 */
export async function waitPlaying(p, n) {
  await withDiagnosis(p, `${p.name} plays ${n} remote videos`, () =>
    p.page.waitForFunction(remotesPlayingAt, n, { timeout: WAIT_MS, polling: 50 }),
  );
}

/**
 * Runs `wait`; if it fails, the error says what the page showed: its tiles and the
 * end of its call timeline.
 * @param {Person} p
 * @param {string} what
 * @param {() => Promise<unknown>} wait
 */
export async function withDiagnosis(p, what, wait) {
  try {
    await wait();
  } catch (err) {
    let state = '';
    try {
      state = await p.page.evaluate(() => {
        const tiles = [...document.querySelectorAll('[data-testid=tile]')].map((t) => {
          const d = /** @type {HTMLElement} */ (t).dataset;
          const v = /** @type {HTMLVideoElement | null} */ (t.querySelector('video'));
          const c = /** @type {HTMLCanvasElement | null} */ (t.querySelector('canvas[data-testid=tile-canvas]'));
          const pic = c
            ? `canvas: painted=${c.dataset.painted ?? 'false'} ${c.width}x${c.height}`
            : `video: paused=${v?.paused} ready=${v?.readyState} w=${v?.videoWidth} t=${v?.currentTime.toFixed(2)}`;
          return `${d.name}(${d.peerId}) self=${d.self} state=${d.state} ${pic}`;
        });
        const tl = /** @type {any} */ (window).__lanmeetTimeline ?? [];
        const bridge = /** @type {any} */ (window).__lanmeetBridgeMedia;
        if (bridge) tiles.push(`bridge media: ${JSON.stringify(bridge.stats())}`);
        return [...tiles, ...tl.slice(-40).map((/** @type {any} */ e) => `${e[0]} ${e[1]}`)].join('\n');
      });
    } catch {
      state = '(page not readable)';
    }
    throw new Error(`${what}: ${err instanceof Error ? err.message : err}\n${state}\n${p.console.slice(-15).join('\n')}`);
  }
}

/**
 * Per remote tile: decoded frame count, current time, and live audio tracks.
 * @param {Person} p
 * @returns {Promise<Record<string, {frames: number, time: number, audio: number, state: string}>>}
 */
export function remoteVideoStats(p) {
  return p.page.evaluate(() => {
    /** @type {Record<string, {frames: number, time: number, audio: number, state: string}>} */
    const out = {};
    for (const t of document.querySelectorAll('[data-testid=tile][data-self=false]')) {
      const v = /** @type {HTMLVideoElement} */ (t.querySelector('video'));
      // Sound plays through the tile's <audio> element (the <video> is muted).
      const s = /** @type {MediaStream | null} */ (t.querySelector('audio')?.srcObject ?? null);
      out[/** @type {HTMLElement} */ (t).dataset.peerId ?? '?'] = {
        // Firefox counts a MediaStream's frames in mozPaintedFrames only.
        frames: Math.max(v?.getVideoPlaybackQuality?.().totalVideoFrames ?? 0, /** @type {any} */ (v)?.mozPaintedFrames ?? 0),
        time: v?.currentTime ?? 0,
        audio: s ? s.getAudioTracks().filter((a) => a.readyState === 'live').length : 0,
        state: /** @type {HTMLElement} */ (t).dataset.state ?? '',
      };
    }
    return out;
  });
}

/**
 * Waits until every remote video on the page has decoded more frames than in
 * `before` (frames advance: the pictures move).
 * @param {Person} p
 * @param {Record<string, {frames: number, time: number}>} before
 */
export async function waitFramesAdvance(p, before) {
  await p.page.waitForFunction(
    (before) => {
      const tiles = [...document.querySelectorAll('[data-testid=tile][data-self=false]')];
      return tiles.every((t) => {
        const id = /** @type {HTMLElement} */ (t).dataset.peerId ?? '';
        const v = /** @type {HTMLVideoElement} */ (t.querySelector('video'));
        const b = before[id];
        if (!b || !v) return false;
        const frames = Math.max(v.getVideoPlaybackQuality?.().totalVideoFrames ?? 0, /** @type {any} */ (v).mozPaintedFrames ?? 0);
        return frames > b.frames + 5 && v.currentTime > b.time;
      });
    },
    before,
    { timeout: WAIT_MS, polling: 100 },
  );
}

/**
 * A tile of `id` on page `p` (a locator).
 * @param {Person} p
 * @param {string} id
 */
export function tileOf(p, id) {
  return p.page.locator(`[data-testid=tile][data-peer-id="${id}"]`);
}

/**
 * Dumps what helps to debug a failure: each page's console and the host's log tail.
 * @param {Person[]} people
 * @param {string[]} [hostLogs]
 */
export function debugDump(people, hostLogs = []) {
  const parts = [];
  for (const p of people) parts.push(`--- console of ${p.name} ---\n${p.console.slice(-40).join('\n')}`);
  if (hostLogs.length) parts.push(`--- host log ---\n${hostLogs.join('').split('\n').slice(-40).join('\n')}`);
  return parts.join('\n');
}

/**
 * An init script (`openPerson`'s `initScript`): keeps the page's RTCPeerConnections
 * in `window.__pcs`, for {@link inboundOf}.
 */
export function recordPeerConnections() {
  const w = /** @type {any} */ (window);
  const Native = w.RTCPeerConnection;
  w.__pcs = [];
  if (!Native) return;
  w.RTCPeerConnection = class extends Native {
    /** @param {any[]} args */
    constructor(...args) {
      super(...args);
      w.__pcs.push(this);
    }
  };
}

/**
 * @typedef {{delay: number, target: number, minimum: number, emitted: number, dropped: number, freezes: number, jitter: number,
 *   nacks: number, plis: number, firs: number, keyframes: number, received: number, bytes: number, lost: number, rtt: number,
 *   audio: {delay: number, target: number, minimum: number, emitted: number, concealed: number, samples: number, jitter: number,
 *     packets: number, inserted: number, removed: number, at: number} | null}} JitterFigures
 */

/**
 * Runs in a page, Chromium's or Firefox's (`page.evaluate(inboundOf, name)`, with
 * {@link recordPeerConnections} installed): inbound stats of the connection that
 * carries `name`'s tile (found by its video track among the connections' receivers).
 * @param {string} name
 * `jitter`: the video's cumulative jitter-buffer figures (how long Chromium held its
 * frames before decoding, and why: losses, NACKs, keyframe requests, the round trip it
 * knows, and the sound's jitter buffer, which the video waits for to stay in step), for
 * the benchmarks.
 * @returns {Promise<{frames: number, energy: number, audioPackets: number, width: number, height: number, playing: boolean, at: number, jitter: JitterFigures | null} | null>}
 */
export async function inboundOf(name) {
  const tile = [...document.querySelectorAll('[data-testid=tile][data-self=false]')].find((t) => /** @type {HTMLElement} */ (t).dataset.name === name);
  if (!tile) return null;
  const video = /** @type {HTMLVideoElement | null | undefined} */ (tile.querySelector('video'));
  const track = /** @type {MediaStream | null | undefined} */ (video?.srcObject)?.getVideoTracks?.()[0];
  const pcs = /** @type {RTCPeerConnection[]} */ (/** @type {any} */ (window).__pcs ?? []);
  // A person who sends no video (no camera): the page's one connected connection, if
  // it has only one (a call of two).
  const onlyLive = () => {
    const live = pcs.filter((p) => p.connectionState === 'connected');
    return live.length === 1 ? live[0] : null;
  };
  const pc = track ? pcs.find((p) => p.getReceivers().some((r) => r.track === track)) : onlyLive();
  if (!pc) return null;
  let frames = 0;
  let energy = 0;
  let audioPackets = 0;
  let width = 0;
  let height = 0;
  /** @type {any} */
  let videoJitter = null;
  let rtt = 0;
  /** @type {any} */
  let audioJitter = null;
  // What a jitter buffer (video or sound) says of how long it held what it played. In
  // here: this function runs in the page.
  const held = (/** @type {any} */ st) => ({
    delay: st.jitterBufferDelay ?? 0,
    target: st.jitterBufferTargetDelay ?? 0,
    minimum: st.jitterBufferMinimumDelay ?? 0,
    emitted: st.jitterBufferEmittedCount ?? 0,
    jitter: st.jitter ?? 0,
  });
  (await pc.getStats()).forEach((/** @type {any} */ st) => {
    // The round trip Chromium knows for this connection (from the far end's RTCP reports
    // on what Chromium sends): its jitter buffer adds it once it has had to NACK.
    if (st.type === 'remote-inbound-rtp' && st.kind === 'video') rtt = st.roundTripTime ?? rtt;
    if (st.type !== 'inbound-rtp') return;
    if (st.kind === 'video') {
      frames += st.framesDecoded ?? 0;
      width = st.frameWidth ?? width;
      height = st.frameHeight ?? height;
      videoJitter = {
        ...held(st),
        dropped: st.framesDropped ?? 0,
        freezes: st.freezeCount ?? 0,
        nacks: st.nackCount ?? 0,
        plis: st.pliCount ?? 0,
        firs: st.firCount ?? 0,
        keyframes: st.keyFramesDecoded ?? 0,
        received: st.framesReceived ?? 0,
        bytes: st.bytesReceived ?? 0,
        lost: st.packetsLost ?? 0,
      };
    }
    if (st.kind === 'audio') {
      energy += st.totalAudioEnergy ?? 0;
      audioPackets += st.packetsReceived ?? 0;
      // Packets and the samples NetEq added (slowing down) or removed (speeding up): a
      // sender whose sound clock runs slow or fast against the wall shows as one of them.
      audioJitter = {
        ...held(st),
        concealed: st.concealedSamples ?? 0,
        samples: st.totalSamplesReceived ?? 0,
        packets: st.packetsReceived ?? 0,
        inserted: st.insertedSamplesForDeceleration ?? 0,
        removed: st.removedSamplesForAcceleration ?? 0,
        at: performance.now(),
      };
    }
  });
  const jitter = videoJitter ? { ...videoJitter, rtt, audio: audioJitter } : audioJitter ? { audio: audioJitter } : null;
  return { frames, energy, audioPackets, width, height, playing: !!video && video.videoWidth > 0 && !video.paused, at: performance.now(), jitter };
}

/**
 * An init script (`openPerson`'s `initScript`): runs in the page before its scripts and
 * leaves it with no WebRTC at all, as in Debian's WebKitGTK.
 */
export function removeWebRTC() {
  const w = /** @type {any} */ (window);
  for (const name of ['RTCPeerConnection', 'webkitRTCPeerConnection', 'RTCDataChannel', 'RTCRtpSender', 'RTCRtpReceiver', 'RTCRtpTransceiver', 'RTCSessionDescription', 'RTCIceCandidate', 'RTCCertificate']) {
    delete w[name];
  }
}

/**
 * Waits until a bridged page (no WebRTC) has played sound from `n` remote people: `n`
 * of the remote sounds its media engine holds now have played a sample louder than
 * 0.01 (the playback worklet's `peak`, reported about once a second; the loudest seen
 * is kept, but only for sounds still there, so a person who left does not count for
 * one who came). The engine plays remote sound in its own AudioContext, not through
 * the tiles' `<audio>` elements.
 * @param {Person} p
 * @param {number} n
 */
export async function waitBridgedSounds(p, n) {
  await withDiagnosis(p, `${p.name} plays the sound of ${n} people`, () =>
    p.page.waitForFunction(
      (n) => {
        const w = /** @type {any} */ (window);
        const remote = w.__lanmeetBridgeMedia?.stats().remote ?? [];
        w.__loudest ??= new Map();
        let heard = 0;
        for (const r of remote) {
          if (r.kind !== 'audio') continue;
          const key = `${r.pc}:${r.transceiver}`;
          const loudest = Math.max(w.__loudest.get(key) ?? 0, r.peak ?? 0);
          w.__loudest.set(key, loudest);
          if (loudest > 0.01) heard++;
        }
        return heard >= n;
      },
      n,
      { timeout: WAIT_MS, polling: 250 },
    ),
  );
}

/**
 * Runs in the page: whether the loudest level (RMS) of the sound of `id`'s tile seen so
 * far is above `min`, measured from the tile's `<audio>` element's stream with an
 * AnalyserNode (polled by the caller: Chromium's fake microphone beeps now and then).
 * @param {{id: string, min: number}} arg
 * @returns {boolean}
 */
export function tileLoudness({ id, min }) {
  const w = /** @type {any} */ (window);
  w.__lvl ??= { ctx: new AudioContext(), by: new Map() };
  const tile = document.querySelector(`[data-testid=tile][data-peer-id="${id}"]`);
  const stream = /** @type {MediaStream | null} */ (tile?.querySelector('audio')?.srcObject ?? null);
  if (!stream || !stream.getAudioTracks().length) return false;
  let e = w.__lvl.by.get(id);
  if (!e || e.stream !== stream) {
    const analyser = w.__lvl.ctx.createAnalyser();
    analyser.fftSize = 2048;
    w.__lvl.ctx.createMediaStreamSource(stream).connect(analyser);
    e = { stream, analyser, max: 0 };
    w.__lvl.by.set(id, e);
  }
  w.__lvl.ctx.resume();
  const buf = new Float32Array(e.analyser.fftSize);
  e.analyser.getFloatTimeDomainData(buf);
  let s = 0;
  for (const v of buf) s += v * v;
  e.max = Math.max(e.max, Math.sqrt(s / buf.length));
  return e.max > min;
}
