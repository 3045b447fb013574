// @ts-check
/**
 * Test doubles for the unit tests only: a WebSocket whose server side the test
 * drives, a manual clock, and an RTCPeerConnection that models the signaling state
 * machine (offer/answer, implicit rollback, negotiationneeded, transceivers, data
 * channel, "connected" once both descriptions are in). The end-to-end tests use the
 * real node and the real browser instead.
 */

/** A clock the test advances by hand. */
export class ManualTimers {
  constructor() {
    this.now = 0;
    /** @type {Map<number, {at: number, fn: () => void}>} */
    this.pending = new Map();
    this.next = 1;
    this.setTimeout = (/** @type {() => void} */ fn, /** @type {number} */ ms) => {
      const id = this.next++;
      this.pending.set(id, { at: this.now + ms, fn });
      return id;
    };
    this.clearTimeout = (/** @type {number} */ id) => {
      this.pending.delete(id);
    };
  }

  /** Runs every timer due within `ms` from now, in time order. @param {number} ms */
  advance(ms) {
    const end = this.now + ms;
    for (;;) {
      let best = null;
      for (const [id, t] of this.pending) if (t.at <= end && (!best || t.at < best[1].at)) best = [id, t];
      if (!best) break;
      this.pending.delete(/** @type {number} */ (best[0]));
      this.now = /** @type {any} */ (best[1]).at;
      /** @type {any} */ (best[1]).fn();
    }
    this.now = end;
  }
}

/** A WebSocket whose server the test plays. */
export class FakeWebSocket {
  /** @type {FakeWebSocket[]} */
  static instances = [];

  /** @param {string} url */
  constructor(url) {
    this.url = url;
    this.readyState = 0;
    /** @type {any[]} parsed frames the client sent */
    this.sent = [];
    /** @type {any} */ this.onopen = null;
    /** @type {any} */ this.onmessage = null;
    /** @type {any} */ this.onclose = null;
    /** @type {any} */ this.onerror = null;
    /** @type {{code?: number, reason?: string} | null} */
    this.closedByClient = null;
    FakeWebSocket.instances.push(this);
  }

  /** @param {string} text */
  send(text) {
    if (this.readyState !== 1) throw new Error('not open');
    this.sent.push(JSON.parse(text));
  }

  /** @param {number} [code] @param {string} [reason] */
  close(code, reason) {
    if (this.readyState === 3) return;
    this.closedByClient = { code, reason };
    const wasOpen = this.readyState === 1;
    this.readyState = 3;
    this.onclose?.({ code: wasOpen ? (code ?? 1005) : 1006, reason: wasOpen ? (reason ?? '') : '' });
  }

  // ---- the server's side ----
  serverOpen() {
    this.readyState = 1;
    this.onopen?.({});
  }
  /** @param {any} msg */
  serverSend(msg) {
    this.onmessage?.({ data: JSON.stringify(msg) });
  }
  /** @param {number} code @param {string} reason */
  serverClose(code, reason) {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }
  /** A connection that never opened (refused). */
  fail() {
    this.readyState = 3;
    this.onerror?.({});
    this.onclose?.({ code: 1006, reason: '' });
  }
}

let sessionCounter = 1000;

/** Resolves after pending timeouts and microtasks have run. */
export const tick = () => new Promise((r) => setTimeout(r, 0));

/** Waits until `cond()` or fails after `rounds` event-loop turns. @param {() => boolean} cond */
export async function until(cond, rounds = 200) {
  for (let i = 0; i < rounds; i++) {
    if (cond()) return;
    await tick();
  }
  throw new Error('condition not reached');
}

/**
 * An RTCPeerConnection model: enough of the signaling state machine to exercise
 * perfect negotiation. SDP is a small text with an `o=` line (session id, version)
 * and one `m=` line per transceiver / data channel.
 */
export class FakePC {
  /** @type {FakePC[]} */
  static instances = [];

  /** @param {any} config */
  constructor(config) {
    this.config = config;
    this.sessionId = String(++sessionCounter);
    this.version = 1;
    this.signalingState = 'stable';
    this.connectionState = 'new';
    /** @type {any} */ this.localDescription = null;
    /** @type {any} */ this.remoteDescription = null;
    /** @type {any[]} */ this.transceivers = [];
    /** @type {any} */ this.channel = null;
    this.negotiationNeeded = false;
    this.closedFlag = false;
    this.remoteSession = null;
    /** @type {any[]} */ this.candidates = [];
    this.iceRestartRequested = false;
    /** @type {any} */ this.onnegotiationneeded = null;
    /** @type {any} */ this.onicecandidate = null;
    /** @type {any} */ this.ontrack = null;
    /** @type {any} */ this.ondatachannel = null;
    /** @type {any} */ this.onconnectionstatechange = null;
    FakePC.instances.push(this);
  }

  /** @param {string} label */
  createDataChannel(label) {
    this.channel = new FakeChannel(label);
    this._needNegotiation();
    return this.channel;
  }

  /** @param {any} trackOrKind @param {any} init */
  addTransceiver(trackOrKind, init) {
    const kind = typeof trackOrKind === 'string' ? trackOrKind : trackOrKind.kind;
    const t = makeTransceiver(kind, init?.direction ?? 'sendrecv', typeof trackOrKind === 'string' ? null : trackOrKind);
    t.init = init;
    this.transceivers.push(t);
    this._needNegotiation();
    return t;
  }

  getTransceivers() {
    return this.transceivers;
  }

  restartIce() {
    this.iceRestartRequested = true;
    this._needNegotiation();
  }

  /** @param {any} [desc] */
  async setLocalDescription(desc) {
    await tick();
    this._checkOpen();
    if (desc) throw new Error('the fake only supports implicit setLocalDescription()');
    if (this.signalingState === 'stable') {
      this.negotiationNeeded = false;
      this.version++;
      this.transceivers.forEach((t, i) => {
        if (t.mid === null) t.mid = String(i);
      });
      this.localDescription = { type: 'offer', sdp: this._sdp() };
      this.signalingState = 'have-local-offer';
      this._gather();
    } else if (this.signalingState === 'have-remote-offer') {
      this.version++;
      this.localDescription = { type: 'answer', sdp: this._sdp() };
      this.signalingState = 'stable';
      this._gather();
      this._afterStable();
    } else {
      throw new Error(`InvalidStateError: setLocalDescription in ${this.signalingState}`);
    }
  }

  /** @param {{type: string, sdp: string}} desc */
  async setRemoteDescription(desc) {
    await tick();
    this._checkOpen();
    const session = /^o=\S+ (\S+) /m.exec(desc.sdp)?.[1] ?? null;
    if (this.remoteSession !== null && session !== this.remoteSession) {
      throw new Error('InvalidAccessError: remote DTLS identity changed');
    }
    if (desc.type === 'offer') {
      if (this.signalingState === 'have-local-offer') {
        this.signalingState = 'stable'; // implicit rollback
        this.localDescription = null;
        this.rolledBack = (this.rolledBack ?? 0) + 1;
      }
      if (this.signalingState !== 'stable') throw new Error(`InvalidStateError: offer in ${this.signalingState}`);
      this.remoteSession = session;
      this.remoteDescription = desc;
      this.signalingState = 'have-remote-offer';
      this._applyMLines(desc.sdp);
    } else if (desc.type === 'answer') {
      if (this.signalingState !== 'have-local-offer') throw new Error(`InvalidStateError: answer in ${this.signalingState}`);
      this.remoteSession = session;
      this.remoteDescription = desc;
      this.signalingState = 'stable';
      this._applyMLines(desc.sdp);
      this._afterStable();
    }
  }

  /** @param {any} c */
  async addIceCandidate(c) {
    await tick();
    if (!this.remoteDescription) throw new Error('InvalidStateError: no remote description');
    this.candidates.push(c);
  }

  close() {
    this.closedFlag = true;
    this.signalingState = 'closed';
    this.connectionState = 'closed';
    this.channel?.close();
  }

  /** Test hook: the transport broke. */
  failTransport() {
    this._setConnection('failed');
  }

  // ---- internals ----
  _checkOpen() {
    if (this.closedFlag) throw new Error('InvalidStateError: closed');
  }

  _sdp() {
    const lines = [`v=0`, `o=- ${this.sessionId} ${this.version} IN IP4 127.0.0.1`];
    for (const t of this.transceivers) if (t.mid !== null) lines.push(`m=${t.kind} ${t.mid} ${t.direction}`);
    if (this.channel || this.remoteHasData) lines.push('m=application data');
    if (this.iceRestartRequested) lines.push('a=ice-restart');
    return lines.join('\r\n') + '\r\n';
  }

  /** @param {string} sdp */
  _applyMLines(sdp) {
    for (const m of sdp.matchAll(/^m=(audio|video) (\S+) (\S+)/gm)) {
      const [, kind, mid] = m;
      if (this.transceivers.some((t) => t.mid === mid)) continue;
      const t = makeTransceiver(kind, 'recvonly', null);
      t.mid = mid;
      this.transceivers.push(t);
      setTimeout(() => this.ontrack?.({ track: t.receiver.track, transceiver: t, streams: [] }), 0);
    }
    if (/^m=application/m.test(sdp)) {
      this.remoteHasData = true;
      if (!this.channel) {
        this.channel = new FakeChannel('lanmeet');
        const ch = this.channel;
        setTimeout(() => this.ondatachannel?.({ channel: ch }), 0);
      }
    }
  }

  _gather() {
    setTimeout(() => {
      if (this.closedFlag) return;
      this.onicecandidate?.({ candidate: { candidate: `candidate:1 1 udp 1 10.77.0.1 ${this.sessionId} typ host`, sdpMid: '0', sdpMLineIndex: 0, usernameFragment: 'u' } });
      this.onicecandidate?.({ candidate: null });
    }, 0);
  }

  _afterStable() {
    this.iceRestartRequested = false;
    if (this.localDescription && this.remoteDescription && this.connectionState !== 'connected') {
      setTimeout(() => {
        if (this.closedFlag || !this.remoteDescription) return;
        this._setConnection('connected');
        this.channel?._open();
      }, 0);
    }
    if (this.negotiationNeeded) this._fireNegotiationNeeded();
  }

  _needNegotiation() {
    this.negotiationNeeded = true;
    if (this.signalingState === 'stable') this._fireNegotiationNeeded();
  }

  _fireNegotiationNeeded() {
    setTimeout(() => {
      if (this.closedFlag || !this.negotiationNeeded || this.signalingState !== 'stable') return;
      this.onnegotiationneeded?.();
    }, 0);
  }

  /** @param {string} s */
  _setConnection(s) {
    this.connectionState = s;
    this.onconnectionstatechange?.();
  }
}

/** @param {string} kind @param {string} direction @param {any} track */
function makeTransceiver(kind, direction, track) {
  return {
    kind,
    /** @type {any} */ init: null,
    mid: /** @type {string | null} */ (null),
    direction,
    sender: {
      track,
      streams: /** @type {any[]} */ ([]),
      /** @param {any} t */
      async replaceTrack(t) {
        this.track = t;
      },
      /** @param {...any} s */
      setStreams(...s) {
        this.streams = s;
      },
    },
    receiver: { track: { kind, id: `remote-${kind}-${Math.random().toString(36).slice(2, 8)}` } },
  };
}

export class FakeChannel {
  /** @param {string} label */
  constructor(label) {
    this.label = label;
    this.readyState = 'connecting';
    /** @type {string[]} */ this.sent = [];
    /** @type {FakeChannel | null} */ this.remote = null;
    /** @type {any} */ this.onopen = null;
    /** @type {any} */ this.onclose = null;
    /** @type {any} */ this.onmessage = null;
  }
  _open() {
    if (this.readyState !== 'connecting') return;
    this.readyState = 'open';
    this.onopen?.({});
  }
  /** @param {string} text */
  send(text) {
    if (this.readyState !== 'open') throw new Error('InvalidStateError');
    this.sent.push(text);
    const r = this.remote;
    if (r) setTimeout(() => r.onmessage?.({ data: text }), 0);
  }
  close() {
    if (this.readyState === 'closed') return;
    this.readyState = 'closed';
    this.onclose?.({});
  }
}

/** Real timers that do not keep the test process alive (watchdogs of peers left open). */
export const unrefTimers = {
  setTimeout: (/** @type {() => void} */ fn, /** @type {number} */ ms) => {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return t;
  },
  clearTimeout: (/** @type {any} */ t) => clearTimeout(t),
};
