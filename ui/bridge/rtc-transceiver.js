// @ts-check
/**
 * The transceivers of the bridge's `RTCPeerConnection` look-alike (rtc-shim.js), with
 * their senders and receivers: a mirror of the bridge's, kept by the connection. A
 * sender tells the page's one media engine which track it sends; its requests run on
 * the connection's operations chain; a receiver's track comes from the media engine.
 */
import { ShimError, placeholderTrack } from './rtc-base.js';

/**
 * @typedef {object} TransceiverContext
 * @property {import('./rtc-shim.js').MediaLike | null} media the page's media engine (none: nothing is sent or shown)
 * @property {(...m: any[]) => void} log
 * @property {(kind: 'audio' | 'video') => void} updateSending tells the engine whether any sender of `kind` sends
 * @property {() => void} updateEncoding tells the engine the largest encoding any peer asked for
 */

/**
 * The classes, bound to one bridge client's connections.
 * @param {TransceiverContext} ctx
 */
export function transceiverClasses({ media, log, updateSending, updateEncoding }) {
  class ShimSender {
    /** @param {ShimTransceiver} t */
    constructor(t) {
      this._t = t;
      /** @type {any} */
      this.track = null;
      /** @type {any[] | null} encodings as set (sendEncodings or setParameters) */
      this._encodings = null;
    }

    /** @param {any} track */
    replaceTrack(track) {
      const t = this._t;
      const pc = t._pc;
      if (pc._closedByPage) return Promise.reject(new ShimError('InvalidStateError', 'the connection is closed'));
      if (track && track.kind !== t._kind) return Promise.reject(new TypeError(`a ${track.kind} track on a ${t._kind} sender`));
      const had = !!this.track;
      this.track = track ?? null;
      if (track) media?.setLocalTrack(t._kind, track);
      updateSending(t._kind);
      updateEncoding();
      if (!had && !track) return Promise.resolve();
      return pc._op('replaceTrack', async (s) => {
        if (t._id === null) return;
        await t._ensureSender(s);
        // What the bridge already does needs no request (one round trip less per
        // transceiver when an answer is made: the sender was just made sending).
        const send = !!this.track;
        if (t._bridgeSending === send) return;
        t._bridgeSending = send;
        const r = await s.request('setSending', { pc: pc._pcId, transceiver: t._id, send });
        if (typeof r?.transceiver === 'number' && r.transceiver !== t._id) {
          // The bridge gave the sender to another transceiver of the kind: re-read.
          log(`sender of transceiver ${t._id} went to ${r.transceiver}`);
          await pc._refreshTransceivers(s);
        }
      });
    }

    /** One stream per page: nothing to do. */
    setStreams() {}

    getParameters() {
      const encodings = this._encodings ? this._encodings.map((e) => ({ ...e })) : this.track ? [{ active: true }] : [];
      return { transactionId: '', encodings, codecs: [], headerExtensions: [], rtcp: {} };
    }

    /** @param {{encodings?: any[]}} params */
    setParameters(params) {
      const t = this._t;
      const pc = t._pc;
      const encodings = Array.isArray(params?.encodings) ? params.encodings.map((e) => ({ ...e })) : [];
      this._encodings = encodings;
      updateEncoding();
      return pc._op('setParameters', async (s) => {
        if (t._id === null) return;
        await s.request('setParameters', { pc: pc._pcId, transceiver: t._id, encodings });
      });
    }

    async getStats() {
      return new Map();
    }
  }

  class ShimReceiver {
    /** @param {ShimTransceiver} t */
    constructor(t) {
      this._t = t;
      /** @type {any} */
      this._track = null;
    }

    /** The remote track of this transceiver (made once its bridge id is known). */
    get track() {
      const t = this._t;
      if (this._track) return this._track;
      if (t._id === null) return placeholderTrack(t._kind, `pending-${t._kind}`);
      const pcId = t._pc._pcId;
      this._track = media
        ? t._kind === 'video'
          ? media.remoteVideoTrack(pcId, t._id)
          : media.remoteAudioTrack(pcId, t._id)
        : placeholderTrack(t._kind, `bridge-${pcId}-${t._id}`);
      return this._track;
    }

    async getStats() {
      return new Map();
    }
  }

  class ShimTransceiver {
    /**
     * @param {any} pc the connection (rtc-shim.js)
     * @param {'audio' | 'video'} kind
     * @param {string} direction
     */
    constructor(pc, kind, direction) {
      this._pc = pc;
      this._kind = kind;
      /** @type {number | null} the bridge's id, once known */
      this._id = null;
      /** The bridge made a sender for it (sending or not). */
      this._hasSender = false;
      /** @type {boolean | null} whether the bridge's sender sends, as last asked */
      this._bridgeSending = null;
      /** @type {string | null} */
      this.mid = null;
      this._direction = direction;
      /** @type {string | null} */
      this.currentDirection = null;
      this.stopped = false;
      this.sender = new ShimSender(this);
      this.receiver = new ShimReceiver(this);
    }

    get direction() {
      return this._direction;
    }

    set direction(d) {
      if (d === this._direction || this._pc._closedByPage) return;
      if (!['sendrecv', 'sendonly', 'recvonly', 'inactive'].includes(d)) return;
      this._direction = d;
      updateSending(this._kind);
      this._pc._op('setDirection', async (s) => {
        if (this._id === null) return;
        // A sending direction on a transceiver the remote's offer made: it needs a
        // sender (silent until a track is given), or the answer would not send.
        if (d === 'sendrecv' || d === 'sendonly') await this._ensureSender(s);
        await s.request('setDirection', { pc: this._pc._pcId, transceiver: this._id, direction: d });
      }).catch((err) => log(`setDirection failed`, err));
    }

    /**
     * Gives this transceiver a sender on the bridge if it has none (one made by the
     * remote's offer), sending only if a track is set.
     * @param {import('./client.js').BridgeSession} s
     */
    async _ensureSender(s) {
      if (this._hasSender || this._id === null) return;
      this._hasSender = true;
      const pcId = this._pc._pcId;
      const r = await s.request('setSending', { pc: pcId, transceiver: this._id, send: true });
      this._bridgeSending = true;
      if (typeof r?.transceiver === 'number' && r.transceiver !== this._id) {
        log(`sender of transceiver ${this._id} went to ${r.transceiver}`);
        await this._pc._refreshTransceivers(s);
      }
      if (!this.sender.track) {
        await s.request('setSending', { pc: pcId, transceiver: this._id, send: false });
        this._bridgeSending = false;
      }
    }

    /** Whether this transceiver sends the page's encoding now. */
    _sends() {
      return !this._pc._closedByPage && !!this.sender.track && (this._direction === 'sendrecv' || this._direction === 'sendonly');
    }

    /** @param {any} info the bridge's transceiver description */
    _update(info) {
      if (typeof info.mid === 'string') this.mid = info.mid;
      if (typeof info.direction === 'string') this._direction = info.direction;
      this.currentDirection = typeof info.currentDirection === 'string' ? info.currentDirection : this.currentDirection;
    }

    stop() {
      this.direction = 'inactive';
    }
  }

  return { ShimSender, ShimReceiver, ShimTransceiver };
}
