// @ts-check
/**
 * Every remote person's sound, mixed (an AudioWorklet processor, `lanmeet-playback`,
 * one node per page): decoded 48 kHz mono PCM arrives from the media worker over one
 * MessagePort per person into that person's small jitter buffer; the buffers are mixed,
 * each through its own gain (the tile's "mute on this device"), into the page's
 * AudioContext output.
 *
 * One node for everyone, not one each: WebKitGTK runs every node's `process` on its
 * audio thread, the busiest thread of a window in a call of 8 when each person had a
 * node, a gain and a MediaStream destination of their own. The speaking meter's level
 * of each person is measured here too (RMS of what was played since the last report,
 * before the gain), so the page needs no second AudioContext tapping MediaStreams for
 * it; over the whole ~100 ms, not a snapshot, so a short sound is not missed between
 * two reports.
 *
 * Messages on the node's port, in: `{add: key, port}` (a person's PCM arrives on
 * `port` as `{pcm: Float32Array}`), `{remove: key}`, `{gain: key, value}`, `{stop:
 * true}`. Out: `{levels: {[key]: rms}}` about 10 times a second, and `{stats: {[key]:
 * {underruns, droppedMs, bufferedMs, targetMs, peak, heardPeak}}}` about once a second.
 *
 * Each buffer adapts, within bounds: playback starts (and restarts after running dry)
 * once `target` samples are queued; each time it runs dry the target grows by 20 ms (up
 * to {@link MAX_TARGET}), and after 10 s without running dry it shrinks by 10 ms (down to
 * {@link MIN_TARGET}). Beyond twice the target (and at least 100 ms more) the oldest
 * samples are dropped down to the target, so delay never builds up.
 */
const MS = 48;
/** 60 ms: three Opus frames, enough on a quiet machine. */
const MIN_TARGET = 60 * MS;
/** 200 ms: what a busy machine's bursts needed at most, measured in WebKitGTK. */
const MAX_TARGET = 200 * MS;
const STEP_UP = 20 * MS;
const STEP_DOWN = 10 * MS;
/** Render quanta (128 samples) without an underrun before the target shrinks: 10 s. */
const CALM_QUANTA = 3750;
/** How often the node hears how playback went: ~1 s. */
const STATS_EVERY = 375;
/** How often the node hears the levels: ~100 ms, the speaking meter's rhythm. */
const LEVELS_EVERY = 37;

/** One person's jitter buffer, gain and figures. */
class Source {
  constructor() {
    /** @type {Float32Array[]} */
    this.queue = [];
    this.queued = 0;
    /** read position in queue[0] */
    this.pos = 0;
    this.playing = false;
    this.target = MIN_TARGET;
    this.underruns = 0;
    this.droppedSamples = 0;
    this.peak = 0;
    /** the loudest sample after the gain: what the person's speakers got */
    this.heard = 0;
    this.calm = 0;
    this.gain = 1;
    /** sum of squares played since the last level report, over `sumN` samples */
    this.sumSq = 0;
    this.sumN = 0;
    /** @type {MessagePort | null} */
    this.port = null;
  }

  get buffered() {
    return this.queued - this.pos;
  }

  /** @param {unknown} pcm */
  push(pcm) {
    if (!(pcm instanceof Float32Array) || !pcm.length) return;
    this.queue.push(pcm);
    this.queued += pcm.length;
    if (this.buffered <= Math.max(2 * this.target, this.target + 100 * MS)) return;
    while (this.buffered > this.target && this.queue.length > 1) {
      const old = /** @type {Float32Array} */ (this.queue.shift());
      this.queued -= old.length;
      this.droppedSamples += old.length - this.pos;
      this.pos = 0;
    }
  }

  /**
   * Adds this person's next `out.length` samples (at their gain) into `out`.
   * @param {Float32Array} out
   */
  mixInto(out) {
    this.sumN += out.length;
    if (!this.playing && this.buffered >= this.target) this.playing = true;
    if (!this.playing) return;
    const g = this.gain;
    let i = 0;
    let peak = this.peak;
    let heard = this.heard;
    let sumSq = 0;
    while (i < out.length && this.queue.length) {
      const head = this.queue[0];
      const n = Math.min(out.length - i, head.length - this.pos);
      for (let k = 0; k < n; k++) {
        const v = head[this.pos + k];
        out[i + k] += g * v;
        sumSq += v * v;
        const a = v < 0 ? -v : v;
        if (a > peak) peak = a;
        if (a * g > heard) heard = a * g;
      }
      i += n;
      this.pos += n;
      if (this.pos === head.length) {
        this.queue.shift();
        this.queued -= head.length;
        this.pos = 0;
      }
    }
    this.peak = peak;
    this.heard = heard;
    this.sumSq += sumSq;
    if (i < out.length) {
      this.playing = false;
      this.underruns++;
      this.calm = 0;
      this.target = Math.min(MAX_TARGET, this.target + STEP_UP);
    } else if (++this.calm >= CALM_QUANTA) {
      this.calm = 0;
      this.target = Math.max(MIN_TARGET, this.target - STEP_DOWN);
    }
  }
}

class MixerProcessor extends AudioWorkletProcessor {
  constructor() {
    super();
    /** @type {Map<string, Source>} */
    this.sources = new Map();
    this.stopped = false;
    this.quanta = 0;
    this.port.onmessage = (ev) => this.onMessage(ev.data);
  }

  /** @param {any} d */
  onMessage(d) {
    if (!d || typeof d !== 'object') return;
    if (d.stop) {
      this.stopped = true;
      for (const key of [...this.sources.keys()]) this.remove(key);
      return;
    }
    if (typeof d.add === 'string' && d.port) {
      this.remove(d.add);
      const src = new Source();
      src.port = /** @type {MessagePort} */ (d.port);
      src.port.onmessage = (e) => src.push(e.data?.pcm);
      this.sources.set(d.add, src);
    }
    if (typeof d.remove === 'string') this.remove(d.remove);
    if (typeof d.gain === 'string' && typeof d.value === 'number' && Number.isFinite(d.value)) {
      const src = this.sources.get(d.gain);
      if (src) src.gain = Math.max(0, d.value);
    }
  }

  /** @param {string} key */
  remove(key) {
    const src = this.sources.get(key);
    if (!src) return;
    this.sources.delete(key);
    if (src.port) {
      src.port.onmessage = null;
      src.port.close();
    }
  }

  /**
   * @param {Float32Array[][]} _inputs
   * @param {Float32Array[][]} outputs
   * @returns {boolean}
   */
  process(_inputs, outputs) {
    if (this.stopped) return false;
    const out = outputs[0][0];
    if (!out) return true;
    out.fill(0);
    const q = ++this.quanta;
    for (const src of this.sources.values()) src.mixInto(out);
    for (let c = 1; c < outputs[0].length; c++) outputs[0][c].set(out);
    if (q % LEVELS_EVERY === 0 && this.sources.size) {
      /** @type {Record<string, number>} */
      const levels = {};
      for (const [key, src] of this.sources) {
        levels[key] = src.sumN ? Math.sqrt(src.sumSq / src.sumN) : 0;
        src.sumSq = 0;
        src.sumN = 0;
      }
      this.port.postMessage({ levels });
    }
    if (q % STATS_EVERY === 0 && this.sources.size) {
      /** @type {Record<string, any>} */
      const stats = {};
      for (const [key, src] of this.sources) {
        // `peak`: the loudest sample played since the last report (0-1), before the
        // gain; `heardPeak`: after it (0 while muted on this device). What a test hears.
        stats[key] = { underruns: src.underruns, droppedMs: src.droppedSamples / MS, bufferedMs: src.buffered / MS, targetMs: src.target / MS, peak: src.peak, heardPeak: src.heard };
        src.peak = 0;
        src.heard = 0;
      }
      this.port.postMessage({ stats });
    }
    return true;
  }
}

registerProcessor('lanmeet-playback', MixerProcessor);
