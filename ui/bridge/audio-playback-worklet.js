// @ts-check
/**
 * One remote person's sound (an AudioWorklet processor, `lanmeet-playback`): decoded
 * 48 kHz mono PCM arrives from the media worker over a MessagePort (`{port}` on the
 * node's port) into a small jitter buffer, and plays out to a
 * MediaStreamAudioDestinationNode whose real track the UI's `<audio>` element and level
 * monitor use. Playback starts (and restarts after running dry) once {@link START} samples
 * are queued; beyond {@link MAX} the oldest are dropped, so delay never builds up.
 */
/** 40 ms: two Opus frames, enough to ride out the worker's and the network's jitter. */
const START = 1920;
/** 200 ms at most queued; more is dropped from the front. */
const MAX = 9600;

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
    this.underruns = 0;
    this.droppedSamples = 0;
    this.port.onmessage = (ev) => {
      const d = ev.data;
      if (d?.port) {
        /** @type {MessagePort} */ (d.port).onmessage = (e) => this.push(e.data?.pcm);
      }
      if (d?.stop) this.stopped = true;
    };
  }

  /** @param {unknown} pcm */
  push(pcm) {
    if (!(pcm instanceof Float32Array) || !pcm.length) return;
    this.queue.push(pcm);
    this.queued += pcm.length;
    while (this.queued - this.pos > MAX && this.queue.length > 1) {
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
    if (!this.playing && this.queued - this.pos >= START) this.playing = true;
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
      }
    }
    out.fill(0, i);
    for (let c = 1; c < outputs[0].length; c++) outputs[0][c].set(out);
    return true;
  }
}

registerProcessor('lanmeet-playback', PlaybackProcessor);
