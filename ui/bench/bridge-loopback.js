// @ts-check
/**
 * In a browser page: runs `BridgeMedia` looped back, without a bridge. Every page frame
 * it sends is rewritten as the remote frame the bridge would deliver (pc 1; video on
 * transceiver 1, audio on 2) and handed straight back to `onRemoteFrame`, optionally as
 * `copies` remote streams (pc 1…copies) to load the decoders like a call of several
 * people. Used by the Chromium component test (ui/tests/e2e/bridge-media.test.mjs) and
 * the WebKitGTK figures (ui/bench/bridge-media-webkit.mjs).
 *
 * The microphone is a steady 440 Hz tone (so "has signal" and "is silent" are both
 * clear); the camera is the browser's (fake or mock) camera, or, with
 * `camera: 'canvas'`, a canvas animation through `captureStream` (engines whose
 * getUserMedia needs a permission prompt).
 */
import { BridgeMedia } from '../bridge/media-engine.js';
import { loopbackFrame, parsePageFrame, parseRemoteFrame, buildRemoteFrame } from '../bridge/frames.js';

/**
 * @param {{camera?: 'user' | 'canvas', width?: number, height?: number, copies?: number}} [opts]
 */
export async function startLoopback(opts = {}) {
  const width = opts.width ?? 640;
  const height = opts.height ?? 360;
  const copies = Math.max(1, Math.min(16, opts.copies ?? 1));
  const cam = opts.camera === 'canvas' ? canvasCamera(width, height) : (await navigator.mediaDevices.getUserMedia({ video: { width, height } })).getVideoTracks()[0];
  const toneCtx = new AudioContext({ sampleRate: 48000 });
  const osc = toneCtx.createOscillator();
  osc.frequency.value = 440;
  const toneOut = toneCtx.createMediaStreamDestination();
  osc.connect(toneOut);
  osc.start();
  const mic = toneOut.stream.getAudioTracks()[0];
  const lb = {
    /** @type {BridgeMedia} */
    media: /** @type {any} */ (null),
    cam,
    mic,
    toneCtx,
    /** @type {Record<string, number>} next frame sequence per pc:transceiver */
    seq: /** @type {Record<string, number>} */ ({}),
    keyRequests: 0,
    /** drop the next video delta and flag the one after it as after a gap */
    dropDelta: false,
    gapNext: false,
    sentVideo: 0,
    sentAudio: 0,
    ended: 0,
    copies,
    /** @type {{read: () => number, close: () => void} | null} */
    meter: null,
    /** RMS of the remote audio (pc 1) now, as the speaking meter reads it. */
    level() {
      return this.meter ? this.meter.read() : 0;
    },
    parseRemoteFrame,
    buildRemoteFrame,
    /** @type {any} */
    tracks: null,
  };
  /** @param {number} pc @param {number} tid */
  const nextSeq = (pc, tid) => {
    const k = `${pc}:${tid}`;
    const s = lb.seq[k] ?? 0;
    lb.seq[k] = s + 1;
    return s;
  };
  lb.media = new BridgeMedia({
    sendFrame: (buf) => {
      const p = parsePageFrame(buf);
      if (!p) throw new Error('not a page frame');
      const tid = p.kind === 'video' ? 1 : 2;
      if (p.kind === 'video') lb.sentVideo++;
      else lb.sentAudio++;
      if (p.kind === 'video' && !p.keyframe && lb.dropDelta) {
        lb.dropDelta = false;
        lb.gapNext = true;
        nextSeq(1, tid);
        return;
      }
      const afterGap = p.kind === 'video' && lb.gapNext;
      if (afterGap) lb.gapNext = false;
      for (let pc = 1; pc <= copies; pc++) {
        const r = loopbackFrame(buf, { pc, transceiver: tid, seq: nextSeq(pc, tid), afterGap });
        if (r) lb.media.onRemoteFrame(r);
      }
    },
    requestKeyframe: (pc) => {
      if (pc < 1 || pc > copies) throw new Error(`keyframe asked of pc ${pc}`);
      lb.keyRequests++;
      // What the bridge does: a PLI to the remote, which is us.
      lb.media.keyframeRequested();
    },
    log: (...m) => console.log('bridge:', ...m),
  });
  const media = lb.media;
  media.setLocalTrack('video', cam);
  media.setLocalTrack('audio', mic);
  media.setSending('video', true);
  media.setSending('audio', true);
  const stage = document.getElementById('stage') ?? document.body;
  /** @type {any[]} */
  const videos = [];
  for (let pc = 1; pc <= copies; pc++) {
    const vt = media.remoteVideoTrack(pc, 1);
    if (!vt.__bridge || vt.kind !== 'video' || vt.readyState !== 'live') throw new Error('not a bridge video track');
    vt.addEventListener('ended', () => lb.ended++);
    const canvas = document.createElement('canvas');
    canvas.id = pc === 1 ? 'tile' : `tile${pc}`;
    canvas.style.cssText = 'width:320px;height:180px;display:inline-block';
    stage.append(canvas);
    vt.attachCanvas(canvas);
    videos.push(vt);
    if (pc > 1) media.remoteAudioTrack(pc, 2);
  }
  const at = media.remoteAudioTrack(1, 2);
  if (!(at instanceof MediaStreamTrack) || at.kind !== 'audio') throw new Error('remote audio is not a real track');
  // The speaking meter's way on a bridged page (ui/media.js LevelMonitor with the
  // engine's tap): the level of what the engine's mixer played.
  lb.meter = media.levelOf(at);
  lb.tracks = { vt: videos[0], at, videos };
  /** @type {any} */ (window).lb = lb;
  /** @type {any} */ (window).lbTracks = lb.tracks;
  return lb;
}

/**
 * A moving picture without a camera: a canvas animation (a sweeping bar and a counter)
 * through `captureStream(30)`.
 * @param {number} width
 * @param {number} height
 * @returns {MediaStreamTrack}
 */
function canvasCamera(width, height) {
  const c = document.createElement('canvas');
  c.width = width;
  c.height = height;
  c.style.cssText = 'position:fixed;left:0;top:0;width:2px;height:2px;opacity:0';
  document.body.append(c);
  const ctx = /** @type {CanvasRenderingContext2D} */ (c.getContext('2d'));
  let n = 0;
  const draw = () => {
    n++;
    ctx.fillStyle = `hsl(${(n * 3) % 360} 60% 40%)`;
    ctx.fillRect(0, 0, width, height);
    ctx.fillStyle = '#fff';
    ctx.fillRect((n * 7) % width, 0, width / 10, height);
    ctx.font = `${Math.round(height / 5)}px sans-serif`;
    ctx.fillText(String(n), width / 3, height / 2);
  };
  draw();
  setInterval(draw, 33);
  return c.captureStream(30).getVideoTracks()[0];
}
