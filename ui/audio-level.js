// @ts-check
/**
 * The speaking meter's reading of an AnalyserNode, shared by the page's `LevelMonitor`
 * (ui/media.js) and the bridge's audio graph (ui/bridge/audio-graph.js, which meters a
 * bridged page's microphone in its own AudioContext).
 */

/**
 * A running level measurement of one audio track.
 * @typedef {object} LevelTap
 * @property {() => number} read the level now (RMS, 0..1)
 * @property {() => void} close stops it; a second call does nothing
 */

/**
 * Samples a reading spans: 85 ms at 48 kHz (93 at 44.1), nearly the 100 ms between
 * the speaking meter's readings. A shorter window is a snapshot that misses a short
 * sound between two readings, and misses it every time when the sound repeats in step
 * with them (Chromium's fake microphone beeps 20 ms every 500 ms: with the 512 of
 * before, 10.7 ms, a page could read silence for a whole test).
 */
export const LEVEL_WINDOW = 4096;

/**
 * The level an AnalyserNode reads now: RMS of its latest {@link LEVEL_WINDOW} samples
 * (it sets the analyser's `fftSize`).
 * @param {AnalyserNode} analyser
 * @param {() => void} close disconnects what feeds it (called once)
 * @returns {LevelTap}
 */
export function analyserLevel(analyser, close) {
  analyser.fftSize = LEVEL_WINDOW;
  const buf = new Float32Array(analyser.fftSize);
  let closed = false;
  return {
    read: () => {
      if (closed) return 0;
      analyser.getFloatTimeDomainData(/** @type {any} */ (buf));
      let sum = 0;
      for (const v of buf) sum += v * v;
      return Math.sqrt(sum / buf.length);
    },
    close: () => {
      if (closed) return;
      closed = true;
      close();
    },
  };
}
