// @ts-check
/**
 * One remote person's sound (an AudioWorklet processor, `lanmeet-playback`): decoded
 * 48 kHz mono PCM arrives from the media worker over a MessagePort (`{port}` on the
 * node's port) into a small jitter buffer, and plays out to the page's AudioContext
 * output (through a gain the tile's "mute on this device" sets) and to a
 * MediaStreamAudioDestinationNode whose real track the UI's level monitor uses.
 *
 * The buffer adapts, within bounds: playback starts (and restarts after running dry)
 * once `target` samples are queued; each time it runs dry the target grows by 20 ms (up
 * to {@link MAX_TARGET}), and after 10 s without running dry it shrinks by 10 ms (down to
 * {@link MIN_TARGET}). Beyond twice the target (and at least 100 ms more) the oldest
 * samples are dropped down to the target, so delay never builds up. About once a
 * second it tells its node how it went (underruns, dropped and buffered ms, target, the
 * loudest sample played).
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
const REPORT_EVERY = 375;

class PlaybackProcessor extends AudioWorkletProcessor {
  constructor() {
    super();
    /** @type {Float32Array[]} */
    this.queue = [];
    this.queued = 0;
    /** read position in queue[0] */
    this.pos = 0;
    this.playing = false;
    this.stopped = false;
    this.target = MIN_TARGET;
    this.underruns = 0;
    this.droppedSamples = 0;
    this.quanta = 0;
    this.peak = 0;
    this.calm = 0;
    this.port.onmessage = (ev) => {
      const d = ev.data;
      if (d?.port) {
        /** @type {MessagePort} */ (d.port).onmessage = (e) => this.push(e.data?.pcm);
      }
      if (d?.stop) this.stopped = true;
    };
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
   * @param {Float32Array[][]} _inputs
   * @param {Float32Array[][]} outputs
   * @returns {boolean}
   */
  process(_inputs, outputs) {
    if (this.stopped) return false;
    const out = outputs[0][0];
    if (!out) return true;
    if (!this.playing && this.buffered >= this.target) this.playing = true;
    let i = 0;
    if (this.playing) {
      while (i < out.length && this.queue.length) {
        const head = this.queue[0];
        const n = Math.min(out.length - i, head.length - this.pos);
        out.set(head.subarray(this.pos, this.pos + n), i);
        i += n;
        this.pos += n;
        if (this.pos === head.length) {
          this.queue.shift();
          this.queued -= head.length;
          this.pos = 0;
        }
      }
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
    out.fill(0, i);
    for (let k = 0; k < i; k++) {
      const a = out[k] < 0 ? -out[k] : out[k];
      if (a > this.peak) this.peak = a;
    }
    for (let c = 1; c < outputs[0].length; c++) outputs[0][c].set(out);
    if (++this.quanta % REPORT_EVERY === 0) {
      // `peak`: the loudest sample played since the last report (0-1), what a test hears.
      this.port.postMessage({ underruns: this.underruns, droppedMs: this.droppedSamples / MS, bufferedMs: this.buffered / MS, targetMs: this.target / MS, peak: this.peak });
      this.peak = 0;
    }
    return true;
  }
}

registerProcessor('lanmeet-playback', PlaybackProcessor);
