// @ts-check
/**
 * The data channel of the bridge's `RTCPeerConnection` look-alike (rtc-shim.js): text
 * messages sent as requests on its connection's bridge session (in order: the bridge
 * carries a connection's requests in order), opened and closed by the connection as
 * the bridge reports.
 */
import { ShimError } from './rtc-base.js';

/**
 * The class, on the shim's event target class.
 * @param {ReturnType<typeof import('./rtc-base.js').eventTargetClass>} ShimEventTarget
 * @param {(...m: any[]) => void} log
 */
export function dataChannelClass(ShimEventTarget, log) {
  class ShimDataChannel extends ShimEventTarget {
    /**
     * @param {any} pc the connection (rtc-shim.js)
     * @param {number} id
     * @param {string} label
     * @param {boolean} ordered
     */
    constructor(pc, id, label, ordered) {
      super();
      this._pc = pc;
      this.id = id;
      this.label = label;
      this.ordered = ordered;
      this.protocol = '';
      this.negotiated = false;
      /** @type {'connecting' | 'open' | 'closing' | 'closed'} */
      this.readyState = 'connecting';
      this.bufferedAmount = 0;
      this.bufferedAmountLowThreshold = 0;
      this.binaryType = 'arraybuffer';
      /** @type {((ev: any) => void) | null} */
      this.onopen = null;
      /** @type {((ev: any) => void) | null} */
      this.onclose = null;
      /** @type {((ev: any) => void) | null} */
      this.onmessage = null;
      /** @type {((ev: any) => void) | null} */
      this.onerror = null;
    }

    /** @param {any} data text (binary is not carried: the UI sends text only) */
    send(data) {
      if (this.readyState !== 'open') throw new ShimError('InvalidStateError', 'the data channel is not open');
      if (typeof data !== 'string') throw new TypeError('the bridge carries text messages only');
      const s = this._pc._session;
      if (!s) throw new ShimError('InvalidStateError', 'no bridge session');
      // Requests of one connection are carried out in order by the bridge: no need to
      // wait for the previous one (the channel is open, so it exists there).
      s.request('sendData', { pc: this._pc._pcId, channel: this.id, data }).catch((err) => {
        log('sendData failed', err);
        this._fire('error', { error: err });
      });
    }

    close() {
      if (this.readyState === 'closed' || this.readyState === 'closing') return;
      this.readyState = 'closing';
      const pc = this._pc;
      pc._op('closeDataChannel', async (s) => {
        await s.request('closeDataChannel', { pc: pc._pcId, channel: this.id });
      })
        .catch(() => {})
        .finally(() => this._closed());
    }

    _opened() {
      if (this.readyState !== 'connecting') return;
      this.readyState = 'open';
      this._fire('open');
    }

    _closed() {
      if (this.readyState === 'closed') return;
      this.readyState = 'closed';
      this._pc._channels.delete(this.id);
      this._fire('close');
    }
  }

  return ShimDataChannel;
}
