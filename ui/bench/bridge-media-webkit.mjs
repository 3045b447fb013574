// @ts-check
/**
 * The bridge's media engine in Debian's WebKitGTK (the desktop app's webview), looped
 * back as in the Chromium component test (ui/bench/bridge-loopback.js): MiniBrowser
 * driven by WebKitWebDriver under a private Xvfb, mock camera, accelerated compositing
 * off (as the app runs). For each case it lets the loop run and prints figures: capture,
 * encode and decode+paint ms per frame, sent and painted fps per stream, capture-to-paint
 * latency p50/p95 (the pixel stamp) and CPU of WebKit's processes (% of one core).
 *
 *   node ui/bench/bridge-media-webkit.mjs [--seconds 6] [--cases 1x640,2x640,7x320@10]
 *
 * A case `NxW[@F]` is N remote streams (copies of our own, as N people would send) at width
 * W (640: 640x360, 320: 320x180) and F frames per second (30 unless given; the UI sends
 * 320x180 at ~10–12 fps to rooms of 7–8). Figures only; it asserts nothing. Needs Xvfb,
 * WebKitWebDriver (webkit2gtk-driver) and MiniBrowser (libwebkit2gtk-4.1-0).
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { serveUi } from './static-ui.mjs';

const argv = process.argv.slice(2);
/** @param {string} name @param {string} dflt */
const opt = (name, dflt) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] ? argv[i + 1] : dflt;
};
const SECONDS = Number(opt('seconds', '6'));
const CASES = opt('cases', '1x640,1x320,2x640,3x640,7x320@10,7x320').split(',').map((c) => {
  const [size, rate] = c.split('@');
  const [n, w] = size.split('x').map(Number);
  return { copies: n, width: w, height: Math.round((w * 9) / 16), fps: Number(rate) || 30 };
});
const MINIBROWSER = process.env.MINIBROWSER || '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser';
const DRIVER = process.env.WEBKIT_WEBDRIVER || '/usr/bin/WebKitWebDriver';
const sleep = (/** @type {number} */ ms) => new Promise((r) => setTimeout(r, ms));

/** @type {import('node:child_process').ChildProcess[]} */
const children = [];
function cleanup() {
  for (const c of children.reverse()) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
}
process.on('exit', cleanup);
process.on('SIGINT', () => process.exit(130));

/** A display number with no X server on it. */
function freeDisplay() {
  for (let n = 140; n < 200; n++) if (!existsSync(`/tmp/.X11-unix/X${n}`) && !existsSync(`/tmp/.X${n}-lock`)) return n;
  throw new Error('no free X display');
}

/**
 * @param {string} base WebDriver URL
 * @param {string} method
 * @param {string} p
 * @param {any} [body]
 */
async function wd(base, method, p, body) {
  const res = await fetch(`${base}${p}`, {
    method,
    headers: { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const v = await res.json();
  if (!res.ok || v.value?.error) throw new Error(`${method} ${p}: ${JSON.stringify(v.value ?? v).slice(0, 600)}`);
  return v.value;
}

/** CPU jiffies of MiniBrowser's process tree (WebKit's web, network and GPU processes). */
function treeTicks(/** @type {number} */ root) {
  /** @type {Map<number, number>} */
  const parent = new Map();
  /** @type {Map<number, number>} */
  const ticks = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parent.set(Number(d), Number(rest[1]));
      ticks.set(Number(d), Number(rest[11]) + Number(rest[12]));
    } catch {
      // gone
    }
  }
  let sum = 0;
  for (const [pid, t] of ticks) {
    let p = pid;
    for (let i = 0; i < 20 && p > 1; i++) {
      if (p === root) {
        sum += t;
        break;
      }
      p = parent.get(p) ?? 0;
    }
  }
  return sum;
}

/**
 * What the remote audio streams' playback did between two stats: underruns (glitches)
 * and sound dropped to keep the delay down, summed over streams.
 * @param {any} before
 * @param {any} after
 */
function audioNote(before, after) {
  const auds = after.remote.filter((/** @type {any} */ r) => r.kind === 'audio');
  let under = 0;
  let dropped = 0;
  let buffered = 0;
  let target = 0;
  for (const r of auds) {
    const b = before.remote.find((/** @type {any} */ x) => x.kind === 'audio' && x.pc === r.pc);
    under += (r.underruns ?? 0) - (b?.underruns ?? 0);
    dropped += (r.droppedMs ?? 0) - (b?.droppedMs ?? 0);
    buffered = Math.max(buffered, r.bufferedMs ?? 0);
    target = Math.max(target, r.targetMs ?? 0);
  }
  return `${auds.length} remote: ${under} underruns, ${Math.round(dropped)} ms dropped, buffered ≤ ${Math.round(buffered)} ms, target ≤ ${Math.round(target)} ms`;
}

async function main() {
  const display = freeDisplay();
  const xvfb = spawn('Xvfb', [`:${display}`, '-screen', '0', '1280x800x24', '-nolisten', 'tcp'], { stdio: 'ignore' });
  children.push(xvfb);
  for (let i = 0; i < 50 && !existsSync(`/tmp/.X11-unix/X${display}`); i++) await sleep(100);
  const server = await serveUi();
  const port = 4600 + (process.pid % 300);
  const env = { ...process.env, DISPLAY: `:${display}`, WEBKIT_DISABLE_COMPOSITING_MODE: '1' };
  const driver = spawn(DRIVER, [`--port=${port}`], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(driver);
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 50; i++) {
    try {
      await fetch(`${base}/status`);
      break;
    } catch {
      await sleep(100);
    }
  }
  console.log(`WebKitGTK bridge media loopback (${SECONDS} s per case, accelerated compositing off)`);
  console.log('case            capture  encode  decode+paint  sent fps  painted fps/stream  latency p50/p95   CPU');
  for (const c of CASES) {
    const session = await wd(base, 'POST', '/session', {
      capabilities: {
        alwaysMatch: {
          'webkitgtk:browserOptions': {
            binary: MINIBROWSER,
            args: ['--automation', '--enable-media-stream=true', '--enable-mock-capture-devices=true', '--enable-webaudio=true', '--autoplay-policy=allow'],
          },
        },
      },
    });
    const sid = session.sessionId;
    try {
      await wd(base, 'POST', `/session/${sid}/url`, { url: server.base });
      await wd(base, 'POST', `/session/${sid}/timeouts`, { script: 30000 });
      const started = await wd(base, 'POST', `/session/${sid}/execute/async`, {
        script: `const done = arguments[arguments.length - 1];
          import('/bench/bridge-loopback.js').then(async ({ startLoopback }) => {
            let camera = 'user';
            try { await navigator.mediaDevices.getUserMedia({ video: true }); } catch { camera = 'canvas'; }
            let echo = null;
            try {
              const a = (await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: true } })).getAudioTracks()[0];
              echo = { settings: a.getSettings().echoCancellation ?? null, capabilities: a.getCapabilities?.().echoCancellation ?? null, label: a.label };
              a.stop();
            } catch (e) { echo = { error: String(e) }; }
            window.__lanmeetBenchStamp = true;
            const lb = await startLoopback({ camera, copies: ${c.copies}, width: ${c.width}, height: ${c.height} });
            lb.media.setVideoEncoding({ maxFramerate: ${c.fps} });
            done({ ok: true, camera, echo });
          }, (e) => done({ ok: false, error: String(e && e.stack || e) })).catch((e) => done({ ok: false, error: String(e && e.stack || e) }));`,
        args: [],
      });
      if (!started.ok) throw new Error(started.error);
      if (c === CASES[0]) console.log(`microphone echoCancellation (asked for true): ${JSON.stringify(started.echo)}`);
      // Warm up (first keyframes, worklets), then measure.
      await sleep(2000);
      await wd(base, 'POST', `/session/${sid}/execute/sync`, { script: 'window.lb.media.resetFigures()', args: [] });
      const statsScript = { script: 'return window.lb.media.stats()', args: [] };
      const root = Number(readFileSync(`/proc/${driver.pid}/task/${driver.pid}/children`, 'utf8').trim().split(/\s+/)[0]);
      const before = await wd(base, 'POST', `/session/${sid}/execute/sync`, statsScript);
      const t0 = treeTicks(root);
      const w0 = Date.now();
      await sleep(SECONDS * 1000);
      const after = await wd(base, 'POST', `/session/${sid}/execute/sync`, statsScript);
      const cpu = ((treeTicks(root) - t0) / 100 / ((Date.now() - w0) / 1000)) * 100;
      const secs = (Date.now() - w0) / 1000;
      const vids = after.remote.filter((/** @type {any} */ r) => r.kind === 'video');
      // The worker reports once a second: rates between two of its reports.
      const rsecs = (after.remoteAt - before.remoteAt) / 1000;
      const painted = vids.map((/** @type {any} */ r) => {
        const b = before.remote.find((/** @type {any} */ x) => x.kind === 'video' && x.pc === r.pc);
        return (r.framesPainted - (b?.framesPainted ?? 0)) / rsecs;
      });
      const lat = vids.map((/** @type {any} */ r) => r.latencyMs).filter(Boolean);
      const p50 = lat.length ? Math.max(...lat.map((/** @type {any} */ l) => l.p50)) : null;
      const p95 = lat.length ? Math.max(...lat.map((/** @type {any} */ l) => l.p95)) : null;
      const dp = vids.map((/** @type {any} */ r) => r.decodePaintMs).filter((/** @type {any} */ x) => typeof x === 'number');
      const f = (/** @type {number | null | undefined} */ x, d = 1) => (typeof x === 'number' ? x.toFixed(d) : '-');
      const sentFps = (after.sent.video.frames - before.sent.video.frames) / secs;
      console.log(
        `${`${c.copies} x ${c.width}x${c.height}@${c.fps}`.padEnd(16)}${f(after.sent.video.captureMs).padStart(7)}  ${f(after.sent.video.encodeMs).padStart(6)}  ${f(dp.length ? dp.reduce((a, b) => a + b, 0) / dp.length : null).padStart(12)}  ${f(sentFps).padStart(8)}  ${`${f(Math.min(...painted))}–${f(Math.max(...painted))}`.padStart(18)}  ${`${f(p50, 0)}/${f(p95, 0)} ms`.padStart(15)}  ${f(cpu, 0).padStart(4)}%   (camera: ${started.camera}, audio: ${after.sent.audio.frames} frames sent, ${audioNote(before, after)})`,
      );
    } catch (e) {
      console.log(`${c.copies} x ${c.width}: failed: ${e instanceof Error ? e.message : e}`);
    } finally {
      await wd(base, 'DELETE', `/session/${sid}`).catch(() => {});
    }
  }
  await server.close();
  cleanup();
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    cleanup();
    process.exit(1);
  },
);
