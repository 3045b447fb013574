// @ts-check
/**
 * The bridge's media worker: everything heavy off the page's main thread. Two instances
 * run (one for video, one for sound, so sound never waits behind pictures); each takes
 * the messages of its kind.
 *
 * - Out (worker-send.js): camera frames (copied by the page from a hidden `<video>`,
 *   WEBKITGTK.md bug 1) → VP8; 20 ms microphone frames (straight from the capture
 *   worklet over a MessagePort) → Opus; each chunk back to the page as a page frame.
 * - In (worker-receive.js): per remote stream a decoder; pictures painted into the
 *   tiles' `OffscreenCanvas`es, sound to the page's playback mixer.
 *
 * Every queue is bounded (see both parts).
 *
 * Messages from the page (`t` is the type): `encoding`, `video`, `keyframe`, `audio-port`,
 * `audio-send`, `remote`, `frame`, `attach`, `detach`, `preview`, `close-remote`, `stamp`,
 * `reset-figures`, `close`.
 * To the page: `out` (a page frame), `ack`, `taken` (remote frames taken so far),
 * `request-keyframe`, `size`, `stats`, `closed-remote`, `log`.
 */
import { nowUs } from './frames.js';
import { self_, flags, log } from './worker-shared.js';
import { enc, mic, preview, encodeVideo, encodeAudio, setEncoding, sendFigures, resetSendFigures, closeSend } from './worker-send.js';
import { remotes, addRemote, onFrame, closeRemote, receiveFigures, resetReceiveFigures } from './worker-receive.js';

const STATS_EVERY_MS = 1000;

function postStats() {
  const { remote, unknownFrames } = receiveFigures();
  self_.postMessage({ t: 'stats', at: nowUs() / 1000, remote, unknownFrames, ...sendFigures() });
}

const statsTimer = setInterval(postStats, STATS_EVERY_MS);

self_.onmessage = (/** @type {MessageEvent} */ ev) => {
  const m = ev.data;
  try {
    switch (m?.t) {
      case 'encoding':
        setEncoding(m.fps, m.bitrate);
        break;
      case 'video':
        encodeVideo(m);
        break;
      case 'keyframe':
        enc.forceKey = true;
        break;
      case 'audio-port':
        mic.port?.close();
        mic.port = m.port;
        if (mic.port) mic.port.onmessage = (/** @type {MessageEvent} */ e) => encodeAudio(e.data);
        break;
      case 'audio-send':
        mic.sending = !!m.on;
        break;
      case 'remote':
        addRemote(m);
        break;
      case 'frame':
        onFrame(m.buf, m.at);
        break;
      case 'attach': {
        const r = remotes.get(m.key);
        if (r) {
          r.canvas = m.canvas;
          r.ctx = null;
        }
        break;
      }
      case 'preview':
        preview.canvas = m.canvas ?? null;
        preview.ctx = null;
        preview.painted = 0;
        preview.width = 0;
        preview.height = 0;
        break;
      case 'detach': {
        const r = remotes.get(m.key);
        if (r) {
          r.canvas = null;
          r.ctx = null;
        }
        break;
      }
      case 'close-remote': {
        let closed = 0;
        for (const r of [...remotes.values()]) {
          if (r.pc === m.pc) {
            closeRemote(r);
            closed++;
          }
        }
        self_.postMessage({ t: 'closed-remote', pc: m.pc, closed });
        postStats();
        break;
      }
      case 'stamp':
        flags.stampOn = !!m.on;
        break;
      case 'reset-figures':
        resetSendFigures();
        resetReceiveFigures();
        break;
      case 'close':
        for (const r of [...remotes.values()]) closeRemote(r);
        closeSend();
        clearInterval(statsTimer);
        self_.close();
        break;
      default:
        break;
    }
  } catch (e) {
    log('worker:', m?.t, /** @type {any} */ (e)?.message ?? e);
  }
};
