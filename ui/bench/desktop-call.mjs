// @ts-check
// desktop-call.mjs: the desktop window in a call with headless Chromium pages,
// measured (issue 10's benchmark). Run by scripts/desktop-bench-call inside its
// network namespace: a veth with $LANMEET_TEST_ADDR (browsers ignore loopback ICE
// candidates), Xvfb on $DISPLAY, tauri-driver on $WEBDRIVER_URL. Prints figures;
// asserts nothing.
//
// For each size N: a room on a `lanmeet host` (the Chromium pages' node), N-1
// Chromium people in it, settled (every page plays every other). Then
//  1. the reference: an N-th Chromium page types the code and clicks Join; its own
//     timeline (window.__lanmeetTimeline) gives Join → every remote tile playing;
//     after the warm-up, C1's latency and jitter buffer for the reference's video over
//     5 s (the Chromium → Chromium figures the window's are compared with); it leaves;
//  2. the window: `lanmeet-desktop --name Desk INVITE` (through WebDriver; WebKit's
//     mock camera and microphone; the bridge in-process) joins with no click; its
//     timeline gives Join (the same `join-click` mark, made by the launch) → every
//     remote tile painted, and the launch → Join time;
//  3. after a warm-up, over a window of --seconds:
//     - fps of the window's video decoded by each Chromium page (getStats
//       framesDecoded of the inbound video of Desk's connection);
//     - fps painted in the window per remote tile (the bridge media engine's
//       framesPainted, counted by its worker);
//     - latency window → Chromium: the engine's capture-time pixel stamp
//       (globalThis.__lanmeetBenchStamp on in the window), read from the Chromium
//       <video> at every frame it presents (requestVideoFrameCallback);
//     - latency Chromium → window: each Chromium camera is a 640x360 canvas
//       (captureStream, a moving picture redrawn at 30 fps) stamped with the same
//       pixel stamp when drawn; the window's media worker reads it on the frames it
//       paints (engine stats latencyMs);
//     - CPU from /proc: the app's process tree (lanmeet-desktop with its node and
//       bridge, WebKit's web and network processes) and Chromium's, % of one core,
//       with the busiest threads.
// Both ends read one machine's clock (performance.timeOrigin + now).
//
//   node ui/bench/desktop-call.mjs [--sizes 2,4,8] [--seconds 10] [--warmup 3] [--no-sound] [--lobby-join] [--probes]
//
// --probes: from 3 people on, everyone but C1 (and the reference, and the window) is a
// native probe (`lanmeet probe --send-video --send-audio`, one process) sending a
// recorded test picture and tone at the size, rate and bitrate the UI sends for the
// call's size (ui/peer.js videoEncodingFor; clips made by scripts/probe-clips with
// ffmpeg). Two cores cannot run seven Chromium pages next to WebKit; a probe costs a
// few % of a core. C1 still gives the latency both ways; the window paints and
// decodes every person's video as in a call of Chromium pages.
//
// --lobby-join: the window is launched into its lobby and joins by Join once the lobby
// has been drawn and settled, as the Chromium reference joins (by default it is launched
// into the call with `--name`, and draws the call as its first view).
// --no-sound: the window sends no sound (its video alone), so Chromium has no sound to
// keep the window's video in step with: what the video path costs by itself.
// LANMEET_BENCH_MEDIA_ENV (read by scripts/desktop-bench-call) replaces the window's
// LANMEET_MOCK_MEDIA=1, e.g. `LANMEET_MOCK_MEDIA=0 PULSE_SERVER=unix:/path` for a
// PulseAudio microphone (the window then has no camera: its sound alone is measured).

import { execFile } from 'node:child_process';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';
import {
  startHost,
  hostApi,
  openPerson,
  typeAndJoin,
  waitInCall,
  waitPlaying,
  remotesPlayingAt,
  recordPeerConnections,
  inboundOf,
  CHROMIUM,
  CHROMIUM_ARGS,
  REPO,
} from '../tests/e2e/helpers.mjs';
import { startCpu } from './proc-cpu.mjs';
import { formatJoinSteps, joinToEveryone } from './join-steps.mjs';
import { webDriver } from '../../scripts/lib/webdriver.mjs';
import { videoEncodingFor } from '../peer.js';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';

const run = promisify(execFile);
const argv = process.argv.slice(2);
/** @param {string} name @param {string} dflt */
const opt = (name, dflt) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] ? argv[i + 1] : dflt;
};
const SIZES = opt('sizes', '2,4,8').split(',').map(Number).filter((n) => n >= 2 && n <= 8);
const SECONDS = Number(opt('seconds', '10'));
const WARMUP_S = Number(opt('warmup', '3'));
/** Seconds the reference's own figures are taken over (before the window joins). */
const REF_SECONDS = 5;
/** How long a join may take before it is reported as not done (a hang guard). */
const LIMIT_MS = Number(opt('limit', '90')) * 1000;
const NO_SOUND = argv.includes('--no-sound');
/**
 * The window joins the way the Chromium reference does: from its lobby, drawn and
 * settled, by Join (instead of launched into the call with `--name`, which draws the
 * call as the page's first view).
 */
const LOBBY_JOIN = argv.includes('--lobby-join');
/** From 3 people on, the people past C1 are native probes sending clips (see the header). */
const PROBES = argv.includes('--probes');
/** How long the window's lobby is left to settle (camera, preview) before Join. */
const LOBBY_SETTLE_MS = 3000;
const driver = process.env.WEBDRIVER_URL ?? 'http://127.0.0.1:4444';
const appBin = process.env.LANMEET_DESKTOP_BIN ?? '';
const x11 = join(REPO, 'scripts/desktop-x11');
const sleep = (/** @type {number} */ ms) => new Promise((r) => setTimeout(r, ms));
const log = (/** @type {string} */ m) => console.error(`bench: ${m}`);

/**
 * Polls `probe` until it returns a truthy value, at most `ms`.
 * @template T
 * @param {() => Promise<T>} probe
 * @param {number} ms
 * @param {number} [every]
 * @returns {Promise<T | null>}
 */
async function until(probe, ms, every = 250) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    try {
      const v = await probe();
      if (v) return v;
    } catch {
      // not yet
    }
    await sleep(every);
  }
  return null;
}

// --- WebDriver (scripts/lib/webdriver.mjs) -------------------------------------------
const driverClient = webDriver(driver);
const { exec } = driverClient;

// --- the pages ----------------------------------------------------------------------
/**
 * Init script of every Chromium page: its RTCPeerConnections are kept (inboundOf)
 * and its camera is a stamped canvas: a 640x360 moving picture redrawn at 30 fps,
 * the bench's capture-time stamp (ui/bridge/frames.js) drawn into its corner at
 * each redraw. The microphone stays Chromium's fake device.
 */
function benchPage() {
  const w = /** @type {any} */ (window);
  const Native = w.RTCPeerConnection;
  w.__pcs = [];
  if (Native) {
    w.RTCPeerConnection = class extends Native {
      /** @param {any[]} a */
      constructor(...a) {
        super(...a);
        w.__pcs.push(this);
      }
    };
  }
  const md = navigator.mediaDevices;
  const original = md.getUserMedia.bind(md);
  /** @type {Promise<MediaStreamTrack> | null} */
  let camera = null;
  const startCamera = async () => {
    const frames = await import('/bridge/frames.js');
    const W = 640;
    const H = 360;
    const canvas = document.createElement('canvas');
    canvas.width = W;
    canvas.height = H;
    const ctx = /** @type {CanvasRenderingContext2D} */ (canvas.getContext('2d'));
    const stamp = ctx.createImageData(W, H);
    const b = frames.stampBlock(W, H);
    let n = 0;
    const draw = () => {
      n += 1;
      ctx.fillStyle = `hsl(${(n * 3) % 360} 35% 40%)`;
      ctx.fillRect(0, 0, W, H);
      for (let i = 0; i < 6; i++) {
        ctx.fillStyle = `hsl(${(i * 60 + n) % 360} 70% 60%)`;
        const x = ((n * (3 + i)) % (W + 120)) - 120;
        ctx.fillRect(x, 40 + i * 50, 120, 40);
      }
      ctx.fillStyle = '#fff';
      ctx.font = '28px sans-serif';
      ctx.fillText(`frame ${n}`, W - 220, H - 30);
      frames.writeStamp(stamp.data, W, H, frames.nowUs());
      ctx.putImageData(stamp, 0, 0, 0, 0, b * 8, b * 6);
    };
    draw();
    setInterval(draw, 1000 / 30);
    return canvas.captureStream(30).getVideoTracks()[0];
  };
  md.getUserMedia = async (/** @type {MediaStreamConstraints} */ c) => {
    const out = new MediaStream();
    if (c?.audio) for (const t of (await original({ audio: c.audio })).getAudioTracks()) out.addTrack(t);
    if (c?.video) {
      camera ??= startCamera();
      out.addTrack((await camera).clone());
    }
    return out;
  };
}

/**
 * Runs in a Chromium page: starts reading the stamp of `name`'s video at every frame
 * the page presents (requestVideoFrameCallback), into window.__benchLatency.
 * @param {string} name
 */
async function startLatency(name) {
  const frames = await import('/bridge/frames.js');
  const tile = [...document.querySelectorAll('[data-testid=tile][data-self=false]')].find((t) => /** @type {HTMLElement} */ (t).dataset.name === name);
  const video = /** @type {HTMLVideoElement | null | undefined} */ (tile?.querySelector('video'));
  if (!video) return false;
  const st = { samples: /** @type {number[]} */ ([]), unstamped: 0, stopped: false };
  /** @type {any} */ (window).__benchLatency = st;
  const onFrame = () => {
    if (st.stopped) return;
    const ms = frames.readStampFromVideo(video);
    if (ms === null) st.unstamped += 1;
    else if (st.samples.length < 10_000) st.samples.push(ms);
    video.requestVideoFrameCallback(onFrame);
  };
  video.requestVideoFrameCallback(onFrame);
  return true;
}

/**
 * Jitter-buffer figures over a window, per frame, in ms, from two readings of
 * {@link inboundOf}'s `jitter`.
 * @param {any} a
 * @param {any} b
 */
function jitterOver(a, b) {
  const ms = perEmitted(a, b);
  if (!ms) return null;
  const received = b.received - a.received;
  return {
    delay: ms('delay'),
    target: ms('target'),
    minimum: ms('minimum'),
    dropped: b.dropped - a.dropped,
    freezes: b.freezes - a.freezes,
    jitterMs: b.jitter * 1000,
    nacks: b.nacks - a.nacks,
    plis: b.plis - a.plis + b.firs - a.firs,
    keyframes: b.keyframes - a.keyframes,
    lost: b.lost - a.lost,
    frameBytes: received > 0 ? (b.bytes - a.bytes) / received : 0,
    rttMs: b.rtt * 1000,
    audio: audioJitterOver(a.audio, b.audio),
  };
}

/**
 * The audio's jitter-buffer figures over a window (ms a sample): Chromium delays the
 * video of a stream to play in step with its sound, so the sound's delay bounds the video's.
 * @param {any} a
 * @param {any} b
 */
function audioJitterOver(a, b) {
  const ms = perEmitted(a, b);
  if (!ms) return null;
  const samples = b.samples - a.samples;
  const share = (/** @type {string} */ k) => (samples > 0 ? (b[k] - a[k]) / samples : 0);
  const seconds = (b.at - a.at) / 1000;
  return {
    delay: ms('delay'),
    target: ms('target'),
    minimum: ms('minimum'),
    concealed: share('concealed'),
    inserted: share('inserted'),
    removed: share('removed'),
    packetsPerS: seconds > 0 ? (b.packets - a.packets) / seconds : 0,
    jitterMs: b.jitter * 1000,
  };
}

/**
 * Reads a cumulative jitter-buffer figure (seconds summed over what was emitted) as ms per
 * emitted frame or sample between two readings; null when nothing was emitted between.
 * @param {any} a
 * @param {any} b
 * @returns {((key: string) => number) | null}
 */
function perEmitted(a, b) {
  if (!a || !b || b.emitted <= a.emitted) return null;
  const n = b.emitted - a.emitted;
  return (key) => ((b[key] - a[key]) / n) * 1000;
}

/** Runs in a Chromium page: stops the sampler, returns its samples. */
function stopLatency() {
  const st = /** @type {any} */ (window).__benchLatency;
  if (!st) return null;
  st.stopped = true;
  return { samples: st.samples, unstamped: st.unstamped };
}

/** @param {number[]} xs @param {number} q */
function quantile(xs, q) {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

/**
 * The median and 95th percentile of latency samples, and how many there were.
 * @param {number[]} samples
 */
function spread(samples) {
  return { p50: quantile(samples, 0.5), p95: quantile(samples, 0.95), n: samples.length };
}

/** The app's process: lanmeet-desktop in this network namespace. */
function appPid() {
  const ns = readlinkSync('/proc/self/ns/net');
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/comm`, 'utf8').trim() !== 'lanmeet-desktop') continue;
      if (readlinkSync(`/proc/${d}/ns/net`) === ns) return Number(d);
    } catch {
      // gone
    }
  }
  return 0;
}

/** @param {number} pid @param {number} ms */
async function waitExit(pid, ms) {
  return until(async () => {
    try {
      process.kill(pid, 0);
      return false;
    } catch {
      return true;
    }
  }, ms, 100);
}

/** Chromium through launchServer: its browser process id is needed for CPU. */
async function launch() {
  const server = await chromium.launchServer({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  const browser = await chromium.connect(server.wsEndpoint());
  return { server, browser, pid: server.process().pid ?? 0 };
}

/** @param {number | null | undefined} v @param {number} [d] */
const f = (v, d = 0) => (v === null || v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(d));

/** The clip directories made by this run, removed at its end. */
const clipDirs = /** @type {string[]} */ ([]);

/**
 * The clips a probe sends in a call of `n`: what the UI sends to n-1 people (size,
 * rate, bitrate), 10 s looped, and a tone; made once per size with ffmpeg.
 * @param {number} n
 * @returns {Promise<{video: string, audio: string, label: string}>}
 */
async function clipsFor(n) {
  const enc = videoEncodingFor(n - 1, false);
  const even = (/** @type {number} */ x) => Math.round(x / 2) * 2;
  const size = `${even(640 / enc.scaleResolutionDownBy)}x${even(360 / enc.scaleResolutionDownBy)}`;
  const dir = mkdtempSync(join(tmpdir(), 'lanmeet-clips-'));
  clipDirs.push(dir);
  const { stdout } = await run(join(REPO, 'scripts/probe-clips'), [dir, size, String(enc.maxFramerate), String(enc.maxBitrate / 1000), '10']);
  const [video, audio] = stdout.trim().split('\n');
  return { video, audio, label: `${size} at ${enc.maxFramerate} fps, ${enc.maxBitrate / 1000} kbit/s` };
}

/**
 * Starts `count` native probes (one `lanmeet probe` process) in the room, sending the
 * clips; they stay until `stop` (SIGTERM: they leave cleanly).
 * @param {{code: string, ws: string}} room
 * @param {number} count
 * @param {{video: string, audio: string}} clips
 */
function startProbes(room, count, clips) {
  const bin = process.env.LANMEET_BIN ?? join(REPO, 'target/debug/lanmeet');
  const args = ['probe', room.code, '--ws', room.ws, '--peers', String(count), '--name', 'P',
    '--bind', process.env.LANMEET_TEST_ADDR ?? '127.0.0.1', '--duration', '3600', '--timeout', '60',
    '--send-video', clips.video, '--send-audio', clips.audio, '--json'];
  const proc = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout?.on('data', (d) => { out += String(d); });
  // The last 64 KiB of its log is plenty to say what went wrong.
  proc.stderr?.on('data', (d) => { err = (err + String(d)).slice(-65536); });
  const done = new Promise((resolve) => proc.once('exit', (status) => resolve({ status, out, err })));
  return {
    pid: proc.pid ?? 0,
    /** Ends the probes (SIGTERM), at most 20 s; returns their report, if any. */
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      const end = await Promise.race([done, sleep(20_000).then(() => null)]);
      if (!end) proc.kill('SIGKILL');
      try {
        return JSON.parse(/** @type {any} */ (end)?.out ?? '');
      } catch {
        return null;
      }
    },
  };
}

/**
 * One size: the reference join, the window's join, the figures.
 * @param {Awaited<ReturnType<typeof startHost>>} host
 * @param {number} n
 */
async function measure(host, n) {
  /** @type {Record<string, any>} */
  const r = { n, notes: [] };
  const { code, invite } = await hostApi(host.info, 'rooms', { name: `bench ${n}` });
  const { server, browser, pid: chromiumPid } = await launch();
  /** @type {number} */
  let app = 0;
  const probeCount = PROBES ? Math.max(0, n - 2) : 0;
  /** @type {ReturnType<typeof startProbes> | null} */
  let probes = null;
  try {
    if (probeCount) {
      const clips = await clipsFor(n);
      r.probeClips = clips.label;
      probes = startProbes({ code, ws: host.info.ws }, probeCount, clips);
    }
    /** @type {import('../tests/e2e/helpers.mjs').Person[]} */
    const people = [];
    for (let i = 0; i < n - 1 - probeCount; i++) {
      const p = await openPerson(browser, host.info.local, `C${i + 1}`, { initScript: benchPage });
      await typeAndJoin(p, code);
      await waitInCall(p);
      people.push(p);
    }
    for (const p of people) {
      if (n > 2) await waitPlaying(p, n - 2).catch(() => r.notes.push(`${p.name} did not play all ${n - 2} others before the joins were timed`));
    }
    log(`n=${n}: ${n - 1 - probeCount} Chromium page(s)${probeCount ? ` and ${probeCount} native probes` : ''} in the call`);

    // 1. The reference: a Chromium page in the window's place.
    const ref = await openPerson(browser, host.info.local, 'Ref', { initScript: benchPage });
    await typeAndJoin(ref, code);
    const refDone = await ref.page
      .waitForFunction(remotesPlayingAt, n - 1, { timeout: LIMIT_MS, polling: 100 })
      .then(() => true, () => false);
    const refTl = await ref.page.evaluate(() => /** @type {any} */ (window).__lanmeetTimeline ?? []);
    r.refJoin = refDone ? joinToEveryone(refTl, n - 1)?.ms ?? null : null;
    r.refSteps = formatJoinSteps(refTl);
    if (!refDone) r.notes.push(`the Chromium reference did not show everyone within ${LIMIT_MS / 1000} s`);
    else {
      // The same figures for the reference's video as C1 receives it, over a shorter
      // window: what Chromium → Chromium gives on this machine now, to compare the
      // window's with (the latency target is met or missed against this, too).
      await sleep(WARMUP_S * 1000);
      const c1 = people[0].page;
      const timing = await c1.evaluate(startLatency, 'Ref');
      const j0 = await c1.evaluate(inboundOf, 'Ref');
      await sleep(REF_SECONDS * 1000);
      r.refJitter = jitterOver(j0?.jitter, (await c1.evaluate(inboundOf, 'Ref'))?.jitter);
      const samples = timing ? (await c1.evaluate(stopLatency))?.samples ?? [] : [];
      r.refLatency = spread(samples);
    }
    await ref.context.close();
    for (const p of people) {
      await p.page
        .waitForFunction((name) => ![...document.querySelectorAll('[data-testid=tile]')].some((t) => /** @type {HTMLElement} */ (t).dataset.name === name), 'Ref', { timeout: LIMIT_MS })
        .catch(() => r.notes.push(`${p.name} still showed Ref`));
    }
    log(`n=${n}: reference join ${f(r.refJoin)} ms`);

    // 2. The window.
    const launched = Date.now();
    await driverClient.start(appBin, LOBBY_JOIN ? [] : ['--name', 'Desk', invite]);
    await until(() => exec(`globalThis.__lanmeetBenchStamp = true; globalThis.__lanmeetBenchNoSound = ${NO_SOUND}; return true;`), 10_000);
    if (LOBBY_JOIN) {
      const drawn = await until(() => exec("return !!document.querySelector('[data-testid=join]');"), 30_000);
      if (!drawn) throw new Error('the window did not draw its lobby');
      await sleep(LOBBY_SETTLE_MS);
      await exec(
        `const set = (id, v) => { const i = document.getElementById(id); i.value = v; i.dispatchEvent(new Event('input', { bubbles: true })); };
         set('name', 'Desk'); set('room', ${JSON.stringify(invite)});
         document.querySelector('[data-testid=join]').click();
         return true;`,
      );
    }
    app = appPid();
    const joined = await until(async () => {
      const { tl, origin } = await exec('return { tl: window.__lanmeetTimeline ?? [], origin: performance.timeOrigin };');
      const j = joinToEveryone(tl, n - 1);
      return j && { ...j, origin, tl };
    }, LIMIT_MS);
    if (joined) {
      r.winJoin = joined.ms;
      r.winSteps = formatJoinSteps(joined.tl);
      r.launchToJoin = joined.origin + joined.joinAt - launched;
      // The bridge requests of the join: when each went out after Join, and its round trip.
      const trace = await exec('return window.__lanmeetBridge?.client?.current?.trace ?? [];');
      r.winRequests = trace
        .filter((/** @type {any} */ q) => q.at >= joined.joinAt)
        .map((/** @type {any} */ q) => `${q.op} ${Math.round(q.at - joined.joinAt)}+${Math.round(q.ms)}`)
        .join(', ');
    } else {
      const tiles = await exec("return [...document.querySelectorAll('[data-testid=tile]')].map((t) => t.dataset.name + ':' + t.dataset.state + ':' + (t.querySelector('canvas')?.dataset.painted ?? '-')).join(' ');").catch((e) => String(e));
      r.notes.push(`the window did not show everyone within ${LIMIT_MS / 1000} s (tiles: ${tiles})`);
    }
    log(`n=${n}: window join ${f(r.winJoin)} ms (${LOBBY_JOIN ? 'Join clicked in its lobby' : 'launched into the call'}; launch → Join ${f(r.launchToJoin)} ms)`);
    for (const p of people) {
      const sees = await until(() => p.page.evaluate(inboundOf, 'Desk').then((v) => v && v.frames > 0), LIMIT_MS);
      if (!sees) r.notes.push(`${p.name} decoded no video from the window`);
    }

    // 3. Figures over a window.
    await sleep(WARMUP_S * 1000);
    await exec('globalThis.__lanmeetBridgeMedia?.resetFigures(); return true;');
    const started = await Promise.all(people.map((p) => p.page.evaluate(startLatency, 'Desk')));
    const in0 = await Promise.all(people.map((p) => p.page.evaluate(inboundOf, 'Desk')));
    // Chromium's jitter buffer for the window's video, and for a Chromium page's video on
    // the same page (the reference, from 3 people on).
    const other = people[1]?.name;
    const ref0 = other ? await people[0].page.evaluate(inboundOf, other) : null;
    const w0 = await exec('return globalThis.__lanmeetBridgeMedia?.stats() ?? null;');
    const w0At = Date.now();
    const cpuApp = startCpu(app ? [app] : []);
    const cpuChromium = startCpu([chromiumPid]);
    const cpuProbes = probes ? startCpu([probes.pid]) : null;
    await sleep(SECONDS * 1000);
    const appCpu = cpuApp.stop();
    const chromiumCpu = cpuChromium.stop();
    r.probesCpu = cpuProbes?.stop();
    const w1 = await exec('return globalThis.__lanmeetBridgeMedia?.stats() ?? null;');
    // 20 ms sound frames the window's worklet and encoder gave the bridge, per second.
    r.soundGaps = w1?.sent?.audio;
    if (w0?.sent?.audio && w1?.sent?.audio) r.soundFps = ((w1.sent.audio.frames - w0.sent.audio.frames) * 1000) / (Date.now() - w0At);
    const in1 = await Promise.all(people.map((p) => p.page.evaluate(inboundOf, 'Desk')));
    r.jitter = jitterOver(in0[0]?.jitter, in1[0]?.jitter);
    // A window without a camera (a real microphone, LANMEET_BENCH_MEDIA_ENV): its sound alone.
    if (!r.jitter) r.soundOnly = audioJitterOver(in0[0]?.jitter?.audio, in1[0]?.jitter?.audio);
    r.jitterRef = other ? jitterOver(ref0?.jitter, (await people[0].page.evaluate(inboundOf, other))?.jitter) : null;
    const lat = await Promise.all(people.map((p, i) => (started[i] ? p.page.evaluate(stopLatency) : null)));

    // Window's video in Chromium.
    const decodedFps = [];
    for (let i = 0; i < people.length; i++) {
      const a = in0[i];
      const b = in1[i];
      if (a && b && b.at > a.at) decodedFps.push(((b.frames - a.frames) * 1000) / (b.at - a.at));
    }
    r.decodedFps = decodedFps;
    r.decodedSize = in1.find((v) => v?.width) ? `${in1.find((v) => v?.width)?.width}x${in1.find((v) => v?.width)?.height}` : '—';
    const samples = lat.flatMap((l) => l?.samples ?? []);
    r.toChromium = { ...spread(samples), unstamped: lat.reduce((s, l) => s + (l?.unstamped ?? 0), 0) };

    // Painted in the window.
    if (w0 && w1) {
      const secs = (w1.remoteAt - w0.remoteAt) / 1000;
      const before = new Map(w0.remote.filter((/** @type {any} */ x) => x.kind === 'video').map((/** @type {any} */ x) => [`${x.pc}:${x.transceiver}`, x]));
      const tiles = w1.remote.filter((/** @type {any} */ x) => x.kind === 'video');
      r.paintedFps = tiles.map((/** @type {any} */ x) => {
        const b = before.get(`${x.pc}:${x.transceiver}`);
        return b && secs > 0 ? (x.framesPainted - b.framesPainted) / secs : Number.NaN;
      });
      r.paintedSize = tiles[0] ? `${tiles[0].width}x${tiles[0].height}` : '—';
      const withLat = tiles.filter((/** @type {any} */ x) => x.latencyMs);
      r.toWindow = {
        p50: quantile(withLat.map((/** @type {any} */ x) => x.latencyMs.p50), 0.5),
        p95: withLat.length ? Math.max(...withLat.map((/** @type {any} */ x) => x.latencyMs.p95)) : null,
        n: withLat.reduce((s, /** @type {any} */ x) => s + x.latencyMs.n, 0),
        tiles: withLat.length,
      };
      r.sent = w1.sent.video;
      r.dropped = tiles.reduce((s, /** @type {any} */ x) => s + (x.dropped ?? 0), 0);
      r.gaps = tiles.reduce((s, /** @type {any} */ x) => s + (x.gaps ?? 0), 0);
    } else {
      r.notes.push('the window has no bridge media engine (globalThis.__lanmeetBridgeMedia)');
    }
    r.appCpu = appCpu;
    r.chromiumCpu = chromiumCpu;
    // The round trip C1's Chromium knows to each member (from their RTCP receiver
    // reports on its video): the window's bridge, the probes, other Chromium pages.
    r.c1Rtt = await people[0].page.evaluate(async () => {
      const pcs = /** @type {RTCPeerConnection[]} */ (/** @type {any} */ (window).__pcs ?? []);
      const out = [];
      for (const pc of pcs) {
        if (pc.connectionState !== 'connected') continue;
        let rtt = null;
        (await pc.getStats()).forEach((/** @type {any} */ st) => {
          if (st.type === 'remote-inbound-rtp' && st.kind === 'video' && typeof st.roundTripTime === 'number') rtt = st.roundTripTime * 1000;
        });
        const tile = [...document.querySelectorAll('[data-testid=tile][data-self=false]')].find((t) => {
          const v = /** @type {HTMLVideoElement | null} */ (t.querySelector('video'));
          const track = /** @type {MediaStream | null} */ (v?.srcObject ?? null)?.getVideoTracks?.()[0];
          return track && pc.getReceivers().some((rc) => rc.track === track);
        });
        out.push({ name: /** @type {HTMLElement | undefined} */ (tile)?.dataset.name ?? '?', rtt });
      }
      return out;
    }).catch(() => null);
    if (probes) {
      // The probes leave while the window is still in the call, so their report has it:
      // the whole video frames each got from it, and their data-channel round trips to
      // it (answered by the window's page).
      const report = await probes.stop();
      const desk = report?.peers?.find((/** @type {any} */ p) => p.name === 'Desk');
      if (!report) r.notes.push('the probes gave no report');
      else if (desk) {
        r.probesFromWindow = {
          frames: desk.tracks.filter((/** @type {any} */ t) => t.kind === 'video').map((/** @type {any} */ t) => t.frames),
          rttMs: report.pairs.filter((/** @type {any} */ p) => p.b === desk.id && typeof p.rtt_ms === 'number').map((/** @type {any} */ p) => p.rtt_ms),
        };
      }
    }
    // The bridge's side of each connection: frames it dropped for the page (it did not
    // read them in time) and the most media it ever held for it.
    r.bridgeCounters = await driverClient.execAwait(
      `const c = window.__lanmeetBridge?.client;
       const out = [];
       for (let pc = 1; pc <= 32 && c; pc++) {
         try { out.push({ pc, ...(await c.request('getStats', { pc })) }); } catch { /* no such connection */ }
       }
       return out.filter((s) => s.connectionState === 'connected');`,
    ).then((v) => (Array.isArray(v) ? v : null), () => null);
  } finally {
    if (driverClient.active) {
      // One close request, as a person's click: the window leaves the call.
      await run(x11, ['close', 'lanmeet'], { env: process.env }).catch((e) => r.notes.push(`close: ${e.message}`));
      if (app && !(await waitExit(app, 60_000))) r.notes.push('the app was still running 60 s after the close request');
      await driverClient.end();
    }
    await probes?.stop();
    await browser.close().catch(() => {});
    await server.close().catch(() => {});
  }
  return r;
}

/** @param {number[]} xs */
const minMean = (xs) => {
  const ok = xs.filter(Number.isFinite);
  return ok.length ? `${f(Math.min(...ok), 1)} / ${f(ok.reduce((a, b) => a + b, 0) / ok.length, 1)}` : '—';
};

/** @param {import('./proc-cpu.mjs').CpuFigures} c */
const profile = (c) =>
  `${Object.entries(c.byType).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v.toFixed(0)}%`).join(', ')}; busiest threads: ${c.topThreads.map((t) => `${t.type}/${t.thread} ${t.pct.toFixed(0)}%`).join(', ')}`;

/** The issue's targets, as they apply to N people. @param {number} n */
function targets(n) {
  if (n <= 4) return { size: '640x360', fps: 24 };
  return { size: '320x180', fps: 10 };
}

async function main() {
  if (!appBin) throw new Error('LANMEET_DESKTOP_BIN is not set');
  const host = await startHost(['--name', 'Bench', '--grace-secs', '2']);
  /** @type {Record<string, any>[]} */
  const rows = [];
  try {
    for (const n of SIZES) {
      try {
        rows.push(await measure(host, n));
      } catch (err) {
        rows.push({ n, notes: [`failed: ${err instanceof Error ? err.message.split('\n')[0] : err}`] });
      }
    }
  } finally {
    await host.stop();
    for (const dir of clipDirs) rmSync(dir, { recursive: true, force: true });
  }
  const cores = readFileSync('/proc/cpuinfo', 'utf8').split('\n').filter((l) => l.startsWith('processor')).length;
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  const others = PROBES ? 'one headless Chromium page and N-2 native probes sending recorded clips (--probes)' : 'N-1 headless Chromium pages';
  console.log(`\nThe desktop window (release build, WebKitGTK + the bridge) in a call with ${others}, one namespace, Xvfb; ${cores} cores, load average at the end ${load}; figures over ${SECONDS} s after ${WARMUP_S} s of warm-up; CPU in % of one core.\n`);
  console.log('| people | window video decoded in Chromium, fps min / mean (size) | painted in the window per tile, fps min / mean (size) | target | latency window → Chromium p50 / p95 ms | latency Chromium → window p50 / worst p95 ms | app CPU (tree) | Chromium CPU (all pages) | Join → everyone: window / Chromium (ratio) |');
  console.log('| ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |');
  for (const r of rows) {
    const t = targets(r.n);
    const ratio = r.winJoin && r.refJoin ? (r.winJoin / r.refJoin).toFixed(2) : '—';
    console.log(
      `| ${r.n} | ${minMean(r.decodedFps ?? [])} (${r.decodedSize ?? '—'}) | ${minMean(r.paintedFps ?? [])} (${r.paintedSize ?? '—'}) | ${t.size} ≥ ${t.fps} fps both ways, p95 < 150 ms, join ≤ 1.5× |` +
        ` ${f(r.toChromium?.p50)} / ${f(r.toChromium?.p95)} | ${f(r.toWindow?.p50)} / ${f(r.toWindow?.p95)} | ${f(r.appCpu?.total)}% | ${f(r.chromiumCpu?.total)}%${r.probesCpu ? ` (+ probes ${f(r.probesCpu.total)}%)` : ''} |` +
        ` ${f(r.winJoin)} / ${f(r.refJoin)} ms (${ratio}×) |`,
    );
  }
  console.log('');
  for (const r of rows) {
    console.log(`n=${r.n}:`);
    const gaps = (/** @type {any} */ g) => (g ? `${f(g.p50)} / ${f(g.p95)} / ${f(g.max)} ms` : '—');
    if (r.soundGaps) console.log(`  the window's sound, ms between 20 ms frames p50 / p95 / max: from the capture worklet ${gaps(r.soundGaps.captureGapMs)}, sent by the page ${gaps(r.soundGaps.sendGapMs)}`);
    if (r.sent) console.log(`  the window sends ${r.sent.width}x${r.sent.height} at ${r.sent.fps} fps (capture ${f(r.sent.captureMs, 1)} ms, encode ${f(r.sent.encodeMs, 1)} ms a frame, self view ${f(r.sent.previewMs, 1)} ms a picture, ${r.sent.dropped} dropped; sound ${f(r.soundFps, 1)} frames/s of 20 ms); tiles: ${r.gaps} frames after gaps, ${r.dropped} decoded frames replaced before painting`);
    if (r.toChromium) console.log(`  latency samples: window → Chromium ${r.toChromium.n} (${r.toChromium.unstamped} frames without a readable stamp), Chromium → window ${r.toWindow?.n ?? 0} over ${r.toWindow?.tiles ?? 0} tiles`);
    const pct = (/** @type {number} */ x) => Math.round(x * 1000) / 10;
    const sound = (/** @type {any} */ a) => `held ${f(a.delay)} ms (target ${f(a.target)}, minimum ${f(a.minimum)}), RTP jitter ${f(a.jitterMs)} ms, ${pct(a.concealed)}% concealed, ${f(a.packetsPerS, 1)} packets/s, ${pct(a.inserted)}% stretched, ${pct(a.removed)}% shrunk`;
    /** @param {any} j */
    const jb = (j) => `held ${f(j.delay)} ms a frame (target ${f(j.target)}, minimum ${f(j.minimum)}), RTP jitter ${f(j.jitterMs)} ms, ${j.dropped} dropped, ${j.freezes} freezes, ${j.lost} packets lost, ${j.nacks} NACKs, ${j.plis} PLI/FIR, ${j.keyframes} keyframes, ${f(j.frameBytes)} bytes a frame, RTT ${f(j.rttMs)} ms${j.audio ? `; audio ${sound(j.audio)}` : ''}`;
    if (r.jitter) console.log(`  Chromium's jitter buffer (on C1): the window's video ${jb(r.jitter)}${r.jitterRef ? `; a Chromium page's video ${jb(r.jitterRef)}` : ''}`);
    if (r.soundOnly) console.log(`  Chromium's jitter buffer (on C1): the window's sound (no video from it) ${sound(r.soundOnly)}`);
    if (r.refLatency) console.log(`  the reference, Chromium → Chromium (C1 receiving Ref, ${REF_SECONDS} s before the window joined): latency p50 ${f(r.refLatency.p50)} / p95 ${f(r.refLatency.p95)} ms (${r.refLatency.n} samples)${r.refJitter ? `; its video ${jb(r.refJitter)}` : ''}`);
    if (r.launchToJoin !== undefined) console.log(`  launch → Join in the window: ${f(r.launchToJoin)} ms (${LOBBY_JOIN ? `Join clicked in its lobby, ${LOBBY_SETTLE_MS} ms after it was drawn` : "launched into the call with --name"})`);
    if (r.winSteps) console.log(`  window's join, ms after Join: ${r.winSteps}`);
    if (r.winRequests) console.log(`  window's bridge requests, ms after Join + round trip: ${r.winRequests}`);
    if (r.refSteps) console.log(`  Chromium's join, ms after Join: ${r.refSteps}`);
    if (r.appCpu) console.log(`  app: ${profile(r.appCpu)}; RSS ${f(r.appCpu.rssMb)} MB`);
    if (r.c1Rtt?.length) console.log(`  round trip C1's Chromium knows from each member's RTCP reports: ${r.c1Rtt.map((/** @type {any} */ x) => `${x.name} ${f(x.rtt)} ms`).join(', ')}`);
    if (r.bridgeCounters?.length) {
      const b = r.bridgeCounters;
      const sum = (/** @type {string} */ k) => b.reduce((s, /** @type {any} */ x) => s + (x[k] ?? 0), 0);
      console.log(`  bridge, over the whole call (${b.length} connections): ${sum('framesReceived')} frames to the page, ${b[0].pageFramesDropped} dropped for it (it did not read them in time), most held for it ${f(b[0].pageMaxBacklogBytes / 1024)} KiB; ${sum('framesSent')} frames sent, ${sum('framesDropped')} not; keyframe requests ${sum('keyframeRequestsSent')} sent, ${sum('keyframeRequestsReceived')} received`);
    }
    if (r.chromiumCpu) console.log(`  Chromium: ${profile(r.chromiumCpu)}`);
    if (r.probeClips) console.log(`  ${r.n - 2} native probes (one process) sending ${r.probeClips}${r.probesCpu ? `: ${f(r.probesCpu.total)}% CPU` : ''}${r.probesFromWindow ? `; video frames each got from the window over the whole call: ${r.probesFromWindow.frames.join(', ')}; their data-channel round trip to the window: ${r.probesFromWindow.rttMs.map((/** @type {number} */ x) => f(x)).join(', ')} ms` : ''}`);
    for (const note of r.notes) console.log(`  note: ${note}`);
  }
}

// A hang guard for the whole run: everything above is bounded, this is the backstop.
const guard = setTimeout(() => {
  log('the run took too long: giving up');
  process.exit(2);
}, (SIZES.length * (4 * LIMIT_MS + (SECONDS + WARMUP_S + 120) * 1000)));
guard.unref();
main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
