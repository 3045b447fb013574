// @ts-check
/**
 * The bridge's microphone tap (an AudioWorklet processor, `lanmeet-capture`): mixes the
 * input to mono and hands 20 ms frames (960 samples at 48 kHz, what Opus encodes) to the
 * media worker over a MessagePort the page gives it (`{port}` on the node's port), so the
 * page's main thread never touches audio. A disabled (muted) microphone track reaches
 * the worklet as silence, and silence is encoded and sent, as a browser does.
 */
const FRAME = 960;

class CaptureProcessor extends AudioWorkletProcessor {
  constructor() {
    super();
    /** @type {MessagePort | null} */
    this.out = null;
    this.buf = new Float32Array(FRAME);
    this.fill = 0;
    this.stopped = false;
    this.port.onmessage = (ev) => {
      if (ev.data?.port) this.out = ev.data.port;
      if (ev.data?.stop) {
        this.stopped = true;
        this.out?.close();
        this.out = null;
      }
    };
  }

  /**
   * @param {Float32Array[][]} inputs
   * @returns {boolean}
   */
  process(inputs) {
    if (this.stopped) return false;
    const chans = inputs[0] ?? [];
    const n = chans[0]?.length ?? 128;
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (const c of chans) s += c[i];
      this.buf[this.fill++] = chans.length ? s / chans.length : 0;
      if (this.fill === FRAME) {
        if (this.out) {
          const frame = this.buf;
          this.out.postMessage(frame, [frame.buffer]);
          this.buf = new Float32Array(FRAME);
        }
        this.fill = 0;
      }
    }
    return true;
  }
}

registerProcessor('lanmeet-capture', CaptureProcessor);
