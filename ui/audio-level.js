// @ts-check
/**
 * The speaking meter's reading of an AnalyserNode, shared by the page's `LevelMonitor`
 * (ui/media.js) and the bridge's media engine (ui/bridge/media-engine.js, which meters
 * a bridged page's microphone in its own AudioContext).
 */

/**
 * A running level measurement of one audio track.
 * @typedef {object} LevelTap
 * @property {() => number} read the level now (RMS, 0..1)
 * @property {() => void} close stops it; a second call does nothing
 */

/**
 * The level an AnalyserNode reads now: RMS of its latest `fftSize` samples (~10 ms at
 * fftSize 512).
 * @param {AnalyserNode} analyser
 * @param {() => void} close disconnects what feeds it (called once)
 * @returns {LevelTap}
 */
export function analyserLevel(analyser, close) {
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
