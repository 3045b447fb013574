// @ts-check
/**
 * The bridge's media engine (ui/bridge/media-engine.js and its worker and worklets) in
 * Chromium, with no bridge: a page runs `BridgeMedia` with its own fake camera and a
 * 440 Hz tone as microphone, looped back (every page frame it sends is rewritten as the
 * remote frame the bridge would deliver and handed to `onRemoteFrame`). It checks what a
 * person would see and hear — the tile canvas's pixels change, the engine plays the
 * remote tone (the mixer's level, as the speaking meter reads it), muting sends
 * silence — and the keyframe rules (a
 * frame after a gap is skipped and a keyframe asked for), then that `closeRemote` and
 * `close` leave nothing running. Figures (capture, encode, decode+paint, fps,
 * capture-to-paint latency through the pixel stamp) are printed at 640x360 and 320x180.
 *
 * The loopback is ui/bench/bridge-loopback.js (the WebKitGTK figures use it too). The
 * page is served from ui/ by a tiny static server on loopback (nothing of the node is
 * involved); run inside the suite's namespace like every browser test.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launchBrowser, artifactPath, remotesPlayingAt, tileCanvasMoves, WAIT_MS } from './helpers.mjs';
import { serveUi } from '../../bench/static-ui.mjs';

/** @type {{base: string, close: () => Promise<void>}} */
let server;
/** @type {import('playwright-core').Browser} */
let browser;
/** @type {import('playwright-core').Page} */
let page;
/** @type {string[]} */
const consoleLines = [];

before(async () => {
  server = await serveUi();
  browser = await launchBrowser();
  const context = await browser.newContext({ permissions: ['camera', 'microphone'], viewport: { width: 800, height: 600 } });
  page = await context.newPage();
  page.setDefaultTimeout(WAIT_MS);
  page.on('console', (m) => {
    consoleLines.push(`[${m.type()}] ${m.text()}`);
    if (consoleLines.length > 200) consoleLines.shift();
  });
  page.on('pageerror', (e) => consoleLines.push(`[pageerror] ${e.message}`));
  await page.goto(server.base);
  // A click: the page may start audio (autoplay rules), as after a person's Join.
  await page.mouse.click(5, 5);
});

after(async () => {
  await browser?.close().catch(() => {});
  await server?.close();
});

/**
 * @template T
 * @param {string} what
 * @param {() => Promise<T>} fn
 */
async function diagnose(what, fn) {
  try {
    return await fn();
  } catch (err) {
    let stats = '';
    try {
      stats = JSON.stringify(await page.evaluate(() => /** @type {any} */ (window).lb?.media.stats()));
    } catch {
      stats = '(page not readable)';
    }
    throw new Error(`${what}: ${err instanceof Error ? err.message : err}\nstats: ${stats}\n${consoleLines.slice(-25).join('\n')}`);
  }
}

/** Starts BridgeMedia on the page, looped back (window.lb holds the pieces: ui/bench/bridge-loopback.js). */
async function startLoopback() {
  await page.evaluate(async () => {
    const { startLoopback } = await import('/bench/bridge-loopback.js');
    await startLoopback();
  });
}

/** @returns {Promise<any>} */
function stats() {
  return page.evaluate(() => /** @type {any} */ (window).lb.media.stats());
}

/** @param {any} s @param {'audio' | 'video'} kind */
function remoteOf(s, kind) {
  return s.remote.find((/** @type {any} */ r) => r.pc === 1 && r.kind === kind);
}

/**
 * Waits until the remote video has painted more than `n` frames. The engine's remote
 * figures are the media worker's report, made once a second: a count read before
 * something happened can be passed by a report made before it too (see
 * {@link paintedSince}).
 * @param {number} n
 */
async function waitPainted(n) {
  await page.waitForFunction(
    (n) => {
      const r = /** @type {any} */ (window).lb.media.stats().remote.find((/** @type {any} */ x) => x.kind === 'video');
      return !!r && r.framesPainted > n;
    },
    n,
    { timeout: WAIT_MS, polling: 100 },
  );
}

/**
 * The remote video's painted frames in the first worker report made after the page's
 * time `t` (ms): a count from after `t`, for "painting goes on after …".
 * @param {number} t
 * @returns {Promise<number>}
 */
async function paintedSince(t) {
  const h = await page.waitForFunction(
    (t) => {
      const s = /** @type {any} */ (window).lb.media.stats();
      const r = s.remote.find((/** @type {any} */ x) => x.pc === 1 && x.kind === 'video');
      return s.remoteAt > t && r ? r.framesPainted : false;
    },
    t,
    { timeout: WAIT_MS, polling: 100 },
  );
  return /** @type {number} */ (await h.jsonValue());
}

/**
 * Lets the stream run ~3 s at the current size, then prints and returns its figures.
 * @param {string} label
 */
async function figures(label) {
  await page.evaluate(() => /** @type {any} */ (window).lb.media.resetFigures());
  const before = await stats();
  const beforeV = remoteOf(before, 'video');
  await page.waitForTimeout(3000);
  const s = await stats();
  const v = remoteOf(s, 'video');
  const out = {
    size: `${s.sent.video.width}x${s.sent.video.height}`,
    captureMs: round(s.sent.video.captureMs),
    encodeMs: round(s.sent.video.encodeMs),
    sentFps: s.sent.video.fps,
    decodePaintMs: round(v.decodePaintMs),
    paintedFps: round((v.framesPainted - beforeV.framesPainted) / ((s.remoteAt - before.remoteAt) / 1000)),
    audio: (({ underruns, droppedMs, bufferedMs }) => ({ underruns, droppedMs, bufferedMs }))(remoteOf(s, 'audio')),
    latencyP50Ms: round(v.latencyMs?.p50),
    latencyP95Ms: round(v.latencyMs?.p95),
    latencyN: v.latencyMs?.n ?? 0,
  };
  console.log(`bridge media figures ${label}: ${JSON.stringify(out)}`);
  return out;
}

/** @param {number | null | undefined} x */
function round(x) {
  return typeof x === 'number' ? Math.round(x * 10) / 10 : null;
}

describe('bridge media engine, looped back in Chromium', () => {
  test('camera → VP8 → decoder → tile canvas: frames decoded and the pixels change', async () => {
    await diagnose('loopback start', () => startLoopback());
    await diagnose('frames painted', () => waitPainted(10));
    const s = await stats();
    assert.ok(s.sent.video.frames > 0 && s.sent.video.keyframes > 0, 'video sent, starting with a keyframe');
    assert.equal(s.sent.video.width, 640);
    assert.equal(s.sent.video.height, 360);
    const v = remoteOf(s, 'video');
    assert.ok(v.framesDecoded > 0);
    assert.equal(v.width, 640);
    const settings = await page.evaluate(() => /** @type {any} */ (window).lbTracks.vt.getSettings());
    assert.deepEqual(settings, { width: 640, height: 360 });
    const muted = await page.evaluate(() => /** @type {any} */ (window).lbTracks.vt.muted);
    assert.equal(muted, false, 'a painted track is unmuted');
    // What is on screen: two pictures of the tile canvas, some time apart, differ.
    const tile = page.locator('#tile');
    const first = await tile.screenshot();
    await diagnose('canvas pixels change', () =>
      page.waitForFunction(
        async (n) => {
          const r = /** @type {any} */ (window).lb.media.stats().remote.find((/** @type {any} */ x) => x.kind === 'video');
          return r.framesPainted > n + 15;
        },
        v.framesPainted,
        { timeout: WAIT_MS, polling: 100 },
      ),
    );
    const second = await tile.screenshot();
    assert.notDeepEqual(second, first, 'the tile shows a moving picture');
    // And it is not blank: the screenshot has more than one colour.
    const intrinsic = await page.evaluate(() => {
      const c = /** @type {HTMLCanvasElement} */ (document.getElementById('tile'));
      return { w: c.width, h: c.height };
    });
    assert.deepEqual(intrinsic, { w: 640, h: 360 }, 'the worker sized the tile canvas to the frames');
  });

  test('microphone → Opus → playback mixer → the tone is played (and metered); mute sends silence', async () => {
    await diagnose('remote audio has signal', () =>
      page.waitForFunction(() => /** @type {any} */ (window).lb.level() > 0.05, null, { timeout: WAIT_MS, polling: 100 }),
    );
    const s = await stats();
    assert.ok(s.sent.audio.frames > 0);
    assert.ok(remoteOf(s, 'audio').framesDecoded > 0);
    await diagnose('playback reports', () =>
      page.waitForFunction(() => typeof /** @type {any} */ (window).lb.media.stats().remote.find((/** @type {any} */ r) => r.kind === 'audio')?.underruns === 'number', null, {
        timeout: WAIT_MS,
        polling: 200,
      }),
    );
    // Muted: frames still go out (silence), and what arrives is silent.
    await page.evaluate(() => {
      const lb = /** @type {any} */ (window).lb;
      lb.mic.enabled = false;
      lb.mutedAt = lb.sentAudio;
    });
    await diagnose('muted is silent', () =>
      page.waitForFunction(() => /** @type {any} */ (window).lb.level() < 0.001, null, { timeout: WAIT_MS, polling: 100 }),
    );
    await diagnose('muted still sends frames', () =>
      page.waitForFunction(() => /** @type {any} */ (window).lb.sentAudio > /** @type {any} */ (window).lb.mutedAt + 25, null, { timeout: WAIT_MS, polling: 100 }),
    );
    await page.evaluate(() => {
      /** @type {any} */ (window).lb.mic.enabled = true;
    });
    await diagnose('unmuted has signal again', () =>
      page.waitForFunction(() => /** @type {any} */ (window).lb.level() > 0.05, null, { timeout: WAIT_MS, polling: 100 }),
    );
  });

  test('no periodic keyframes: a keyframe only when one is asked for', async () => {
    // 120 frames is 4 s of the fake camera at 30 fps: longer than the 3 s period the
    // encoder used to force a keyframe at (frame-size jumps that made Chromium's jitter
    // buffer delay the window's stream).
    const read = () =>
      page.evaluate(() => {
        const lb = /** @type {any} */ (window).lb;
        const v = lb.media.stats().sent.video;
        return { frames: v.frames, keyframes: v.keyframes, requests: lb.keyRequests };
      });
    const before = await read();
    await diagnose('120 more frames sent', () =>
      page.waitForFunction((n) => /** @type {any} */ (window).lb.media.stats().sent.video.frames >= n, before.frames + 120, { timeout: WAIT_MS, polling: 100 }),
    );
    const after = await read();
    assert.ok(
      after.keyframes - before.keyframes <= after.requests - before.requests,
      `keyframes sent without a request: ${JSON.stringify({ before, after })}`,
    );
  });

  test('a frame after a gap is skipped, a keyframe is asked for, and the picture goes on', async () => {
    const before = remoteOf(await stats(), 'video');
    const keysBefore = (await stats()).sent.video.keyframes;
    await page.evaluate(() => {
      /** @type {any} */ (window).lb.dropDelta = true;
    });
    await diagnose('keyframe after the gap', () =>
      page.waitForFunction(
        (k) => {
          const lb = /** @type {any} */ (window).lb;
          return lb.keyRequests > 0 && lb.media.stats().sent.video.keyframes > k;
        },
        keysBefore,
        { timeout: WAIT_MS, polling: 100 },
      ),
    );
    // The worker reports once a second: wait for a report that has the gap (it was
    // counted before the keyframe was asked for), then for painting after it. Reading
    // one report right after the painting wait raced: `before` can be a report old
    // enough that the next one, made before the gap, already passes that wait.
    await diagnose('the gap was counted', () =>
      page.waitForFunction(
        (g) => {
          const r = /** @type {any} */ (window).lb.media.stats().remote.find((/** @type {any} */ x) => x.pc === 1 && x.kind === 'video');
          return !!r && r.gaps > g;
        },
        before.gaps,
        { timeout: WAIT_MS, polling: 100 },
      ),
    );
    const after = remoteOf(await stats(), 'video');
    assert.ok(after.gaps > before.gaps, 'the gap was counted');
    await diagnose('painting goes on', () => waitPainted(after.framesPainted + 10));
    // Bad input from the socket: ignored, the stream goes on.
    const injectedAt = await page.evaluate(() => {
      const lb = /** @type {any} */ (window).lb;
      lb.media.onRemoteFrame(new ArrayBuffer(3));
      lb.media.onRemoteFrame(new Uint8Array([2, 0, 9, 0]).buffer);
      lb.media.onRemoteFrame('not binary');
      // A delta for an unknown stream, and garbage VP8 as a keyframe of a new one.
      lb.media.onRemoteFrame(lb.buildRemoteFrame({ keyframe: false, afterGap: false, kind: 'video', pc: 9, transceiver: 9, rtpTimestamp: 0, seq: 0 }, new Uint8Array(10)));
      return Date.now();
    });
    const painted = await diagnose('a report after the bad input', () => paintedSince(injectedAt));
    await diagnose('still painting after bad input', () => waitPainted(painted + 10));
  });

  test('figures at 640x360 and 320x180 (with the capture stamp)', async () => {
    await page.evaluate(() => {
      /** @type {any} */ (window).__lanmeetBenchStamp = true;
    });
    await diagnose('stamped frames read back', () =>
      page.waitForFunction(
        () => {
          const r = /** @type {any} */ (window).lb.media.stats().remote.find((/** @type {any} */ x) => x.kind === 'video');
          return (r?.latencyMs?.n ?? 0) > 5;
        },
        null,
        { timeout: WAIT_MS, polling: 200 },
      ),
    );
    const big = await figures('640x360');
    assert.equal(big.size, '640x360');
    assert.ok(big.latencyN > 0, 'the stamp was read back after VP8');
    await page.evaluate(() => /** @type {any} */ (window).lb.media.setVideoEncoding({ scaleResolutionDownBy: 2 }));
    await diagnose('320x180 painted', () =>
      page.waitForFunction(
        () => {
          const r = /** @type {any} */ (window).lb.media.stats().remote.find((/** @type {any} */ x) => x.kind === 'video');
          return r?.width === 320;
        },
        null,
        { timeout: WAIT_MS, polling: 100 },
      ),
    );
    const small = await figures('320x180');
    assert.equal(small.size, '320x180');
    await page.evaluate(() => {
      /** @type {any} */ (window).__lanmeetBenchStamp = false;
    });
  });

  test('where camera frames cannot be copied, they are drawn into a canvas and read back', async () => {
    const before = await stats();
    await page.evaluate(() => {
      /** @type {any} */ (window).lb.media.capture.frameCopy = false;
    });
    await diagnose('frames sent and painted through the canvas path', () =>
      page.waitForFunction(
        (b) => {
          const s = /** @type {any} */ (window).lb.media.stats();
          const v = s.remote.find((/** @type {any} */ x) => x.kind === 'video');
          return s.sent.video.frames > b.sent + 15 && v.framesPainted > b.painted + 15;
        },
        { sent: before.sent.video.frames, painted: remoteOf(before, 'video').framesPainted },
        { timeout: WAIT_MS, polling: 100 },
      ),
    );
    const s = await stats();
    assert.equal(s.sent.video.width, 320, 'still scaled as asked');
    await page.evaluate(() => {
      /** @type {any} */ (window).lb.media.capture.frameCopy = true;
    });
  });

  test("the call view's tile paints a bridge video track in a canvas in the video's place", async () => {
    const r = await page.evaluate(async () => {
      const w = /** @type {any} */ (window);
      const { CallView } = await import('/views/call.js');
      const { BridgeMediaStream } = await import('/bridge/media-stream.js');
      const root = /** @type {HTMLElement} */ (document.getElementById('call'));
      root.style.cssText = 'position:fixed;inset:0;background:#000';
      document.getElementById('stage')?.remove();
      const noop = () => {};
      const view = new CallView(
        root,
        /** @type {any} */ ({ onMute: noop, onCamera: noop, onShare: noop, onHand: noop, onLeave: noop, onCopyInvite: noop, onChat: noop, onChatOpen: noop, onShortcut: noop, onDevice: noop, onEnableSound: noop, onAnyClick: noop }),
        { roomName: '', code: 'K7M2Q9XR' },
      );
      w.view = view;
      w.tilePlaying = 0;
      view.addTile('self', 'Me', true);
      view.addTile('p1', 'Ann', false);
      view.onTilePlaying('p1', () => w.tilePlaying++);
      await view.showStream('self', new MediaStream([w.lb.cam]));
      const stream = new BridgeMediaStream([w.lbTracks.vt, w.lbTracks.at]);
      await view.showStream('p1', stream);
      // Shown again (the controller does on every track): the same canvas stays.
      await view.showStream('p1', stream);
      const tile = /** @type {HTMLElement} */ (document.querySelector('[data-testid=tile][data-peer-id=p1]'));
      const canvases = tile.querySelectorAll('canvas[data-testid=tile-canvas]');
      const canvas = /** @type {HTMLCanvasElement} */ (canvases[0]);
      const video = /** @type {HTMLVideoElement} */ (tile.querySelector('video'));
      const audio = /** @type {HTMLAudioElement} */ (tile.querySelector('audio'));
      const selfTile = /** @type {HTMLElement} */ (document.querySelector('[data-testid=tile][data-self=true]'));
      const selfVideo = /** @type {HTMLVideoElement} */ (selfTile.querySelector('video'));
      const tb = tile.getBoundingClientRect();
      const cb = canvas.getBoundingClientRect();
      const src = /** @type {MediaStream | null} */ (audio.srcObject);
      return {
        canvases: canvases.length,
        videoShown: getComputedStyle(video).display !== 'none',
        videoSrc: !!video.srcObject,
        fit: getComputedStyle(canvas).objectFit,
        transform: getComputedStyle(canvas).transform,
        fills: Math.abs(tb.width - cb.width) < 1 && Math.abs(tb.height - cb.height) < 1 && cb.width > 0,
        // The engine plays the remote sound itself; the tile's <audio> stays empty.
        audioSrc: !!src,
        enginePlays: !!w.lbTracks.at.__bridgePlayback,
        selfCanvas: !!selfTile.querySelector('canvas'),
        selfTransform: getComputedStyle(selfVideo).transform,
        name: tile.dataset.name,
      };
    });
    assert.deepEqual(r, {
      canvases: 1,
      videoShown: false,
      videoSrc: false,
      fit: 'cover',
      transform: 'none',
      fills: true,
      audioSrc: false,
      enginePlays: true,
      selfCanvas: false,
      selfTransform: 'matrix(-1, 0, 0, 1, 0, 0)',
      name: 'Ann',
    });
    await diagnose('tile canvas painted', () =>
      page.waitForFunction(() => /** @type {any} */ (window).tilePlaying > 0, null, { timeout: WAIT_MS, polling: 100 }),
    );
    // What the call tests wait for (helpers.mjs) sees the canvas tile as playing, and moving.
    assert.ok(await page.evaluate(remotesPlayingAt, 1), 'a painted canvas tile counts as playing');
    const person = /** @type {any} */ ({ page });
    assert.equal(await tileCanvasMoves(person, 'p1'), true, 'the tile shows a moving picture');
    const canvas = page.locator('[data-testid=tile][data-peer-id=p1] [data-testid=tile-canvas]');
    await page.screenshot({ path: artifactPath('bridge-media-tile.png') });
    // Camera off: the canvas hides like a video, the avatar shows.
    await page.evaluate(() => /** @type {any} */ (window).view.updateTile('p1', { camera: false }));
    assert.equal(await canvas.evaluate((c) => getComputedStyle(c).visibility), 'hidden');
    await page.evaluate(() => /** @type {any} */ (window).view.updateTile('p1', { camera: true }));
    // The tile goes: its canvas goes, the track lives on (it belongs to the peer).
    await page.evaluate(() => /** @type {any} */ (window).view.removeTile('p1'));
    assert.equal(await page.locator('[data-testid=tile-canvas]').count(), 0);
    assert.equal(await page.evaluate(() => /** @type {any} */ (window).lbTracks.vt.readyState), 'live');
  });

  test('closeRemote ends the tracks and drops the decoders; close leaves nothing running', async () => {
    await page.evaluate(() => /** @type {any} */ (window).lb.media.closeRemote(1));
    const tracks = await page.evaluate(() => {
      const w = /** @type {any} */ (window);
      return { video: w.lbTracks.vt.readyState, audio: w.lbTracks.at.readyState, ended: w.lb.ended, live: w.lb.media.liveness() };
    });
    assert.equal(tracks.video, 'ended');
    assert.equal(tracks.audio, 'ended');
    assert.equal(tracks.ended, 1, "the video track's ended event fired once");
    assert.equal(tracks.live.remoteVideo, 0);
    assert.equal(tracks.live.remoteAudio, 0);
    // The worker's next report has no stream of that peer, though our frames keep coming.
    await diagnose('worker dropped the streams', () =>
      page.waitForFunction(
        () => {
          const lb = /** @type {any} */ (window).lb;
          return lb.media.stats().remote.length === 0 && lb.media.stats().sent.video.frames > 0;
        },
        null,
        { timeout: WAIT_MS, polling: 100 },
      ),
    );
    // A new stream of the same pc number starts clean.
    const again = await page.evaluate(() => {
      const lb = /** @type {any} */ (window).lb;
      const t = lb.media.remoteVideoTrack(1, 1);
      return { fresh: t !== /** @type {any} */ (window).lbTracks.vt, state: t.readyState };
    });
    assert.deepEqual(again, { fresh: true, state: 'live' });
    // What was sent up to close (read in the same task as close: nothing comes between).
    const sentBefore = await page.evaluate(() => {
      const lb = /** @type {any} */ (window).lb;
      lb.media.close();
      return lb.sentVideo;
    });
    await page.waitForFunction(() => /** @type {any} */ (window).lb.media.audio.ctx?.state === 'closed', null, { timeout: WAIT_MS });
    const live = await page.evaluate(() => /** @type {any} */ (window).lb.media.liveness());
    assert.deepEqual(live, {
      worker: false,
      audioContext: 'closed',
      housekeeping: false,
      gestureListener: false,
      capture: false,
      captureVideo: false,
      micNode: false,
      mixer: false,
      sources: 0,
      remoteVideo: 0,
      remoteAudio: 0,
    });
    assert.equal(await page.locator('body > video').count(), 0, 'the hidden capture video is gone');
    // Nothing is sent after close.
    await page.waitForTimeout(300);
    assert.equal(await page.evaluate(() => /** @type {any} */ (window).lb.sentVideo), sentBefore);
  });
  test('a Chromium page reads the capture stamp from a <video> (the bench on the other side)', async () => {
    const got = await page.evaluate(async () => {
      const { writeStamp, readStampFromVideo, nowUs } = await import('/bridge/frames.js');
      const c = document.createElement('canvas');
      c.width = 640;
      c.height = 360;
      const ctx = /** @type {CanvasRenderingContext2D} */ (c.getContext('2d'));
      const draw = () => {
        const img = ctx.createImageData(640, 360);
        img.data.fill(90);
        writeStamp(img.data, 640, 360, nowUs());
        ctx.putImageData(img, 0, 0);
      };
      draw();
      const timer = setInterval(draw, 30);
      const v = document.createElement('video');
      v.muted = true;
      v.srcObject = c.captureStream(30);
      document.body.append(v);
      await v.play();
      /** @type {(number | null)[]} */
      const reads = [];
      for (let i = 0; i < 50 && reads.filter((x) => x !== null).length < 5; i++) {
        await new Promise((r) => setTimeout(r, 50));
        reads.push(readStampFromVideo(v));
      }
      clearInterval(timer);
      v.remove();
      return reads.filter((x) => x !== null);
    });
    assert.ok(got.length >= 5, `stamps read: ${JSON.stringify(got)}`);
    for (const ms of got) assert.ok(ms >= 0 && ms < 60_000, `an age in ms: ${ms}`);
  });
});
