// @ts-check
/**
 * What the media worker's parts share (media-worker.js, worker-send.js,
 * worker-receive.js): the way to the page, the benchmark's stamp switch, and closing
 * WebCodecs objects that may be closed already.
 */

/** @type {any} */
export const self_ = globalThis;

/** Opus's clock: every sound frame in and out is 48 kHz. */
export const OPUS_RATE = 48000;

/** Switched by the page (`stamp`): the bench's capture-time stamp is drawn and read. */
export const flags = { stampOn: false };

/** @param {...any} m */
export function log(...m) {
  self_.postMessage({ t: 'log', m: m.map(String).join(' ') });
}

/** @param {{close(): void, state?: string} | null | undefined} c */
export function closeQuietly(c) {
  try {
    if (c && c.state !== 'closed') c.close();
  } catch {
    // closing what is closed
  }
}
