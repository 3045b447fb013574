// @ts-check
/**
 * An `RTCPeerConnection` look-alike whose WebRTC runs in the bridge (docs/BRIDGE.md),
 * for a page that has none (Debian's WebKitGTK). It covers what ui/peer.js, ui/mesh.js
 * and ui/call-controller.js use, nothing more: descriptions with perfect negotiation
 * (the implicit rollback of a polite side included), trickle candidates, transceivers
 * with their senders and receivers, `replaceTrack`, encoding parameters, the data
 * channel, `restartIce`, state events and the `getStats` the relay route reads.
 *
 * How it keeps the browser's semantics:
 * - Operations of one connection run one at a time, in call order (a browser's
 *   "operations chain"), each one a request whose result updates the state
 *   (`signalingState`, descriptions, the transceiver mirror) before its promise
 *   resolves. So the rollback decision of `setRemoteDescription(offer)` is made when
 *   it runs, as in a browser, and a transceiver's bridge id is known before anything
 *   is asked about it. The exception: an operation that is one request needing
 *   nothing from earlier replies (`createDataChannel`, `addTransceiver`,
 *   `addIceCandidate`) is sent as soon as everything before it has been *sent*, not
 *   answered (the bridge answers a connection's requests in order, so the order
 *   holds). A new connection's requests then reach the bridge together instead of a
 *   turn of the page's main thread apart, which in a busy WebKitGTK page was 5 turns
 *   and 100–170 ms of a join.
 * - `negotiationneeded` from the bridge is held while operations are pending or the
 *   state is not `stable`, and fired once then (as a browser's negotiation-needed
 *   flag), so an offer is never made on top of another.
 * - `getTransceivers()` is synchronous: a mirror kept from `addTransceiver` and the
 *   `transceivers` every `setRemoteDescription` returns.
 * - Media: one encoding per page (the media engine, `BridgeMedia`), told which track of
 *   each kind to capture and whether any sender of that kind sends; the largest
 *   encoding any peer asked for. Remote tracks come from the media engine, fed by the
 *   bridge's frames. Without a media engine the connection still negotiates audio and
 *   video (so the other side's transceivers line up) but neither sends nor shows any.
 * - The bridge socket ending fails every connection of it (`connectionState`
 *   `failed`); ui/peer.js then recovers as from any failed connection, on a new session.
 */
import { BridgeError } from './client.js';
import { ShimError, eventTargetClass } from './rtc-base.js';
import { transceiverClasses } from './rtc-transceiver.js';
import { dataChannelClass } from './rtc-data-channel.js';

/**
 * What the shim needs of the media engine (ui/bridge/media-engine.js; docs/BRIDGE.md).
 * @typedef {object} MediaLike
 * @property {(kind: 'audio' | 'video', track: any) => void} setLocalTrack
 * @property {(kind: 'audio' | 'video', sending: boolean) => void} setSending
 * @property {(enc: {maxBitrate?: number, maxFramerate?: number, scaleResolutionDownBy?: number}) => void} setVideoEncoding
 * @property {() => void} keyframeRequested
 * @property {(buf: ArrayBuffer) => void} onRemoteFrame
 * @property {(pc: number, transceiver: number) => any} remoteVideoTrack
 * @property {(pc: number, transceiver: number) => any} remoteAudioTrack
 * @property {(pc: number) => void} closeRemote
 */

/**
 * @typedef {object} ShimOptions
 * @property {import('./client.js').BridgeClient} client
 * @property {MediaLike | null} [media]
 * @property {{new (): any} | null} [MediaStream] for `ontrack`'s `streams` (the media engine's)
 * @property {(...m: any[]) => void} [log]
 */

/**
 * A candidate as `RTCIceCandidate` shows it (with `toJSON`), or null.
 * @param {any} c
 */
function candidateOf(c) {
  if (!c || typeof c.candidate !== 'string') return null;
  const init = { candidate: c.candidate, sdpMid: c.sdpMid ?? null, sdpMLineIndex: c.sdpMLineIndex ?? null, usernameFragment: c.usernameFragment ?? null };
  return { ...init, toJSON: () => ({ ...init }) };
}

/**
 * The stats report the UI reads (ui/peer.js `routeOf`), from the bridge's `getStats`
 * result: a `peer-connection` entry with the bridge's counters, and — when the bridge
 * names the selected candidate pair — `transport`, `candidate-pair`, `local-candidate`
 * and `remote-candidate` entries as a browser's. Pure, for tests.
 * @param {any} r the bridge's result
 * @returns {Map<string, any>}
 */
export function statsReport(r) {
  /** @type {Map<string, any>} */
  const out = new Map();
  const timestamp = Date.now();
  out.set('PC', { id: 'PC', type: 'peer-connection', timestamp, ...(r && typeof r === 'object' ? r : {}) });
  const pair = r?.selectedPair ?? null;
  if (pair && typeof pair === 'object') {
    const local = pair.local ?? null;
    const remote = pair.remote ?? null;
    const localType = local?.type ?? local?.candidateType ?? null;
    const remoteType = remote?.type ?? remote?.candidateType ?? null;
    out.set('T', { id: 'T', type: 'transport', timestamp, selectedCandidatePairId: 'CP' });
    out.set('CP', {
      id: 'CP', type: 'candidate-pair', timestamp, state: pair.state ?? 'succeeded', nominated: true, selected: true,
      localCandidateId: 'LC', remoteCandidateId: 'RC',
      ...(typeof pair.currentRoundTripTime === 'number' ? { currentRoundTripTime: pair.currentRoundTripTime } : {}),
    });
    out.set('LC', { id: 'LC', type: 'local-candidate', timestamp, candidateType: localType, ...(local && typeof local === 'object' ? pickCandidate(local) : {}) });
    out.set('RC', { id: 'RC', type: 'remote-candidate', timestamp, candidateType: remoteType, ...(remote && typeof remote === 'object' ? pickCandidate(remote) : {}) });
  }
  return out;
}

/** @param {any} c */
function pickCandidate(c) {
  /** @type {Record<string, any>} */
  const o = {};
  for (const k of ['address', 'port', 'protocol', 'relayProtocol']) if (c[k] !== undefined) o[k] = c[k];
  if (c.ip !== undefined && o.address === undefined) o.address = c.ip;
  return o;
}

/**
 * Makes the shim's classes bound to one bridge client and media engine.
 * @param {ShimOptions} opts
 * @returns {{RTCPeerConnection: any, connections: () => any[]}}
 */
export function createBridgeRTC(opts) {
  const client = opts.client;
  const media = opts.media ?? null;
  const log = opts.log ?? (() => {});
  let nextPc = 1;
  /** @type {Set<ShimPeerConnection>} */
  const open = new Set();
  /** @type {Record<string, boolean>} what media.setSending was last told */
  const sendingNow = { audio: false, video: false };
  let encodingNow = '';

  /** Tells the media engine whether any sender of `kind` sends now. */
  function updateSending(/** @type {'audio' | 'video'} */ kind) {
    if (!media) return;
    let any = false;
    for (const pc of open) for (const t of pc._transceivers) if (t._kind === kind && t._sends()) any = true;
    if (any !== sendingNow[kind]) {
      sendingNow[kind] = any;
      media.setSending(kind, any);
    }
  }

  /** The one video encoding: the largest size, rate and bitrate any peer asked for. */
  function updateEncoding() {
    if (!media) return;
    /** @type {{maxBitrate?: number, maxFramerate?: number, scaleResolutionDownBy?: number}} */
    const enc = {};
    for (const pc of open) {
      for (const t of pc._transceivers) {
        const e = t._kind === 'video' && t._sends() ? t.sender._encodings?.[0] : null;
        if (!e) continue;
        if (typeof e.maxBitrate === 'number') enc.maxBitrate = Math.max(enc.maxBitrate ?? 0, e.maxBitrate);
        if (typeof e.maxFramerate === 'number') enc.maxFramerate = Math.max(enc.maxFramerate ?? 0, e.maxFramerate);
        if (typeof e.scaleResolutionDownBy === 'number') enc.scaleResolutionDownBy = Math.min(enc.scaleResolutionDownBy ?? Infinity, e.scaleResolutionDownBy);
      }
    }
    const key = JSON.stringify(enc);
    if (key === encodingNow || key === '{}') return;
    encodingNow = key;
    media.setVideoEncoding(enc);
  }

  // Media frames and keyframe requests are the page's, not one connection's.
  if (media) {
    client.on('frame', (buf) => media.onRemoteFrame(buf));
    client.on('event', (ev) => {
      if (ev.event === 'keyframeRequest' && (ev.kind ?? 'video') === 'video') media.keyframeRequested();
    });
  }

  const { ShimTransceiver } = transceiverClasses({ media, log, updateSending, updateEncoding });
  const ShimEventTarget = eventTargetClass(log);
  const ShimDataChannel = dataChannelClass(ShimEventTarget, log);

  class ShimPeerConnection extends ShimEventTarget {
    /** @param {{iceServers?: any[], bundlePolicy?: string, certificates?: any[]}} [config] */
    constructor(config = {}) {
      super();
      this._pcId = nextPc++;
      if (nextPc > 0x7fff_ffff) nextPc = 1;
      /** @type {import('./client.js').BridgeSession | null} */
      this._session = null;
      this.signalingState = 'stable';
      this.connectionState = 'new';
      this.iceConnectionState = 'new';
      this.iceGatheringState = 'new';
      /** @type {{type: string, sdp: string} | null} */
      this.localDescription = null;
      /** @type {{type: string, sdp: string} | null} */
      this.remoteDescription = null;
      /** @type {ShimTransceiver[]} */
      this._transceivers = [];
      /** @type {Map<number, ShimDataChannel>} */
      this._channels = new Map();
      this._nextChannel = 1;
      /** @type {Map<string, any>} remote streams by id */
      this._streams = new Map();
      this._closedByPage = false;
      this._pendingOps = 0;
      this._negotiationNeeded = false;
      /** @type {Promise<any>} the operations chain */
      this._chain = Promise.resolve();
      for (const name of ['negotiationneeded', 'icecandidate', 'icecandidateerror', 'track', 'datachannel', 'connectionstatechange', 'iceconnectionstatechange', 'icegatheringstatechange', 'signalingstatechange']) {
        /** @type {any} */ (this)[`on${name}`] = null;
      }
      const iceServers = (Array.isArray(config.iceServers) ? config.iceServers : []).map((s) => {
        /** @type {Record<string, any>} */
        const o = { urls: s.urls };
        if (typeof s.username === 'string') o.username = s.username;
        if (typeof s.credential === 'string') o.credential = s.credential;
        return o;
      });
      open.add(this);
      /** @type {Promise<any>} `createPeer`'s reply, once sent */
      let created = Promise.resolve();
      /** @type {Promise<import('./client.js').BridgeSession>} the session, once `createPeer` is sent */
      this._sessionSent = client.session().then((s) => {
        this._session = s;
        s.route(this._pcId, (ev) => this._onEvent(ev));
        s.on('closed', () => this._onSessionClosed(s));
        if (s.closed) this._onSessionClosed(s);
        created = s.request('createPeer', { pc: this._pcId, iceServers });
        return s;
      });
      /** @type {Promise<import('./client.js').BridgeSession>} the session, once the connection exists on the bridge */
      this._sessionReady = this._sessionSent.then(async (s) => {
        await created;
        return s;
      });
      // The first operation waits for the connection to exist on the bridge...
      this._chain = this._sessionReady.catch((err) => {
        log('could not create a bridged connection', err);
        this._fail();
      });
      // ...the first one-request operation only for `createPeer` to be sent.
      /** @type {Promise<void>} settles once every operation so far has sent all it will send */
      this._sent = this._sessionSent.then(
        () => {},
        () => {},
      );
    }

    /**
     * Runs `fn` after every earlier operation of this connection (the operations
     * chain); its result resolves the returned promise.
     * @template T
     * @param {string} what
     * @param {(s: import('./client.js').BridgeSession) => Promise<T>} fn
     * @returns {Promise<T>}
     */
    _op(what, fn) {
      if (this._closedByPage) return Promise.reject(new ShimError('InvalidStateError', `${what}: the connection is closed`));
      this._pendingOps += 1;
      const run = async () => {
        if (this._closedByPage) throw new ShimError('InvalidStateError', `${what}: the connection is closed`);
        const s = await this._sessionReady;
        if (s.closed) throw new BridgeError('closed', `${what}: the bridge session has ended`);
        return fn(s);
      };
      const p = this._chain.then(run, run);
      this._chain = p.then(
        () => this._opDone(),
        () => this._opDone(),
      );
      // It may send any time until it ends: a one-request operation after it waits.
      this._sent = this._chain;
      return p;
    }

    /**
     * An operation that is one request and needs nothing from earlier replies: sent as
     * soon as every earlier operation has sent all it will send, without waiting for
     * their replies (the bridge answers a connection's requests in the order sent).
     * Its promise resolves with `then(reply)` once its own reply is in; later
     * operations of the chain still wait for it.
     * @template T
     * @param {string} op the request
     * @param {Record<string, any>} fields
     * @param {(reply: any) => T} [then] what the reply does to the state
     * @param {() => void} [check] throws if the operation cannot run now (called when it is sent)
     * @returns {Promise<T>}
     */
    _pipe(op, fields, then = (r) => r, check = () => {}) {
      if (this._closedByPage) return Promise.reject(new ShimError('InvalidStateError', `${op}: the connection is closed`));
      this._pendingOps += 1;
      /** @type {Promise<any>} */
      let reply = Promise.resolve();
      const sent = this._sent.then(async () => {
        if (this._closedByPage) throw new ShimError('InvalidStateError', `${op}: the connection is closed`);
        const s = await this._sessionSent;
        if (s.closed) throw new BridgeError('closed', `${op}: the bridge session has ended`);
        check();
        reply = s.request(op, { ...fields, pc: this._pcId });
      });
      this._sent = sent.then(
        () => {},
        () => {},
      );
      const p = sent.then(() => reply).then(then);
      const before = this._chain;
      const settled = p.then(
        () => this._opDone(),
        () => this._opDone(),
      );
      this._chain = Promise.all([before, settled]);
      return p;
    }

    _opDone() {
      this._pendingOps -= 1;
      this._maybeNegotiate();
    }

    /** Fires a held `negotiationneeded` once nothing is pending and the state is stable. */
    _maybeNegotiate() {
      if (!this._negotiationNeeded || this._pendingOps > 0 || this._closedByPage) return;
      setTimeout(() => {
        if (!this._negotiationNeeded || this._pendingOps > 0 || this._closedByPage) return;
        this._negotiationNeeded = false;
        // Not stable (an offer of ours or theirs is out): dropped, as in a browser; the
        // bridge's stack checks again when it is back to stable and says so then.
        if (this.signalingState === 'stable') this._fire('negotiationneeded');
      }, 0);
    }

    // ---- descriptions ----

    /** @param {any} [options] */
    createOffer(options) {
      return this._op('createOffer', async (s) => {
        const r = await s.request('createOffer', { pc: this._pcId, iceRestart: !!options?.iceRestart });
        return r.description;
      });
    }

    createAnswer() {
      return this._op('createAnswer', async (s) => {
        const r = await s.request('createAnswer', { pc: this._pcId });
        return r.description;
      });
    }

    /** @param {{type: string, sdp?: string}} [description] none: the implicit offer or answer */
    setLocalDescription(description) {
      return this._op('setLocalDescription', async (s) => {
        /** @type {Record<string, any>} */
        const fields = { pc: this._pcId };
        if (description && description.type) fields.description = { type: description.type, sdp: description.sdp ?? '' };
        const r = await s.request('setLocalDescription', fields);
        this.localDescription = r.description ? { type: r.description.type, sdp: r.description.sdp } : null;
        // Transceivers get their mid from the first description that has them: the
        // bridge's answer lists them (one round trip less before the offer goes out; the
        // page and its bridge come from one node, so the bridge always does).
        if (Array.isArray(r.transceivers)) this._mirror(r.transceivers);
        this._setSignaling(r.signalingState);
      });
    }

    /** @param {{type: string, sdp?: string}} description */
    setRemoteDescription(description) {
      if (!description || typeof description.type !== 'string') return Promise.reject(new TypeError('a description is needed'));
      const desc = { type: description.type, sdp: description.sdp ?? '' };
      return this._op('setRemoteDescription', async (s) => {
        if (desc.type === 'offer' && this.signalingState === 'have-local-offer') {
          // Perfect negotiation's polite side: a browser rolls its own offer back first.
          const rb = await s.request('setLocalDescription', { pc: this._pcId, description: { type: 'rollback', sdp: '' } });
          this.localDescription = rb.description ? { type: rb.description.type, sdp: rb.description.sdp } : null;
          this._setSignaling(rb.signalingState);
        }
        const r = await s.request('setRemoteDescription', { pc: this._pcId, description: desc });
        if (desc.type === 'rollback') this.remoteDescription = null;
        else this.remoteDescription = desc;
        this._mirror(r.transceivers);
        this._setSignaling(r.signalingState);
      });
    }

    get currentLocalDescription() {
      return this.signalingState === 'stable' ? this.localDescription : null;
    }

    get currentRemoteDescription() {
      return this.signalingState === 'stable' ? this.remoteDescription : null;
    }

    /** @param {any} candidate */
    addIceCandidate(candidate) {
      const c = candidate && typeof candidate.candidate === 'string' && candidate.candidate !== ''
        ? { candidate: candidate.candidate, sdpMid: candidate.sdpMid ?? null, sdpMLineIndex: candidate.sdpMLineIndex ?? null }
        : null;
      return this._pipe(
        'addIceCandidate',
        { candidate: c },
        () => undefined,
        () => {
          if (!this.remoteDescription && c) throw new ShimError('InvalidStateError', 'no remote description');
        },
      );
    }

    restartIce() {
      this._op('restartIce', async (s) => {
        await s.request('restartIce', { pc: this._pcId });
      }).catch((err) => log('restartIce failed', err));
    }

    // ---- media ----

    /**
     * @param {any} trackOrKind a MediaStreamTrack or 'audio' | 'video'
     * @param {{direction?: string, streams?: any[], sendEncodings?: any[]}} [init]
     */
    addTransceiver(trackOrKind, init = {}) {
      if (this._closedByPage) throw new ShimError('InvalidStateError', 'the connection is closed');
      const track = typeof trackOrKind === 'string' ? null : trackOrKind;
      const kind = /** @type {'audio' | 'video'} */ (track ? track.kind : trackOrKind);
      if (kind !== 'audio' && kind !== 'video') throw new TypeError(`unknown kind ${kind}`);
      const direction = init.direction ?? 'sendrecv';
      const t = new ShimTransceiver(this, kind, direction);
      this._transceivers.push(t);
      t.sender.track = track;
      if (Array.isArray(init.sendEncodings) && init.sendEncodings.length) t.sender._encodings = init.sendEncodings.map((e) => ({ ...e }));
      if (track) media?.setLocalTrack(kind, track);
      updateSending(kind);
      updateEncoding();
      // Always with a sender (the bridge's stack refuses a sending direction without
      // one): a transceiver given no track sends nothing until replaceTrack (`sending:
      // false`), as in a browser, and a track given later needs no renegotiation. The
      // encodings go in the same request: it needs no id from an earlier reply.
      /** @type {Record<string, any>} */
      const fields = { kind, direction, send: true, sending: !!track };
      if (t.sender._encodings) fields.encodings = t.sender._encodings;
      this._pipe('addTransceiver', fields, (r) => {
        const info = r?.transceiver;
        if (info && typeof info.id === 'number') {
          t._id = info.id;
          t._hasSender = true;
          t._bridgeSending = !!track;
          t._update(info);
        }
      }).catch((err) => log('addTransceiver failed', err));
      return t;
    }

    getTransceivers() {
      return [...this._transceivers];
    }

    getSenders() {
      return this._transceivers.map((t) => t.sender);
    }

    getReceivers() {
      return this._transceivers.map((t) => t.receiver);
    }

    /**
     * Brings the mirror in line with the bridge's list (new ones added, known ones updated).
     * @param {any} list
     */
    _mirror(list) {
      if (!Array.isArray(list)) return;
      for (const info of list) {
        if (!info || typeof info.id !== 'number') continue;
        let t = this._transceivers.find((x) => x._id === info.id);
        if (!t) {
          const kind = info.kind === 'audio' || info.kind === 'video' ? info.kind : null;
          if (!kind) continue;
          t = new ShimTransceiver(this, kind, info.direction ?? 'recvonly');
          t._id = info.id;
          this._transceivers.push(t);
        }
        t._update(info);
      }
    }

    /** @param {import('./client.js').BridgeSession} s */
    async _refreshTransceivers(s) {
      const r = await s.request('getTransceivers', { pc: this._pcId });
      this._mirror(r.transceivers);
    }

    // ---- data channels ----

    /**
     * @param {string} label
     * @param {{ordered?: boolean}} [init]
     */
    createDataChannel(label, init = {}) {
      if (this._closedByPage) throw new ShimError('InvalidStateError', 'the connection is closed');
      const id = this._nextChannel++;
      const ordered = init.ordered ?? true;
      const ch = new ShimDataChannel(this, id, String(label), ordered);
      this._channels.set(id, ch);
      this._pipe('createDataChannel', { channel: id, label: ch.label, ordered }).catch((err) => {
        log('createDataChannel failed', err);
        ch._closed();
      });
      return ch;
    }

    // ---- stats, close ----

    getStats() {
      // A closed connection has nothing to say (a browser's report would be near empty).
      if (this._closedByPage) return Promise.resolve(statsReport({ connectionState: 'closed' }));
      return this._op('getStats', async (s) => statsReport(await s.request('getStats', { pc: this._pcId })));
    }

    getConfiguration() {
      return { bundlePolicy: 'max-bundle' };
    }

    close() {
      if (this._closedByPage) return;
      this._closedByPage = true;
      this.signalingState = 'closed';
      this.connectionState = 'closed';
      this.iceConnectionState = 'closed';
      open.delete(this);
      for (const ch of [...this._channels.values()]) {
        ch.readyState = 'closed';
        this._channels.delete(ch.id);
      }
      for (const kind of /** @type {const} */ (['audio', 'video'])) updateSending(kind);
      media?.closeRemote(this._pcId);
      const s = this._session;
      // Not through the chain: a pending operation must not hold the close back (the
      // bridge carries out this connection's requests in order anyway).
      const send = (/** @type {import('./client.js').BridgeSession} */ sess) => {
        sess.unroute(this._pcId);
        if (!sess.closed) sess.request('closePeer', { pc: this._pcId }).catch((err) => log('closePeer failed', err));
      };
      if (s) send(s);
      else this._sessionReady.then(send, () => {});
    }

    // ---- from the bridge ----

    /** @param {any} ev */
    _onEvent(ev) {
      if (this._closedByPage) return;
      switch (ev.event) {
        case 'negotiationneeded':
          this._negotiationNeeded = true;
          this._maybeNegotiate();
          break;
        case 'icecandidate':
          this._fire('icecandidate', { candidate: candidateOf(ev.candidate) });
          break;
        case 'icegatheringstatechange':
          if (typeof ev.state === 'string' && ev.state !== this.iceGatheringState) {
            this.iceGatheringState = ev.state;
            this._fire('icegatheringstatechange');
          }
          break;
        case 'signalingstatechange':
          this._setSignaling(ev.state);
          break;
        case 'iceconnectionstatechange':
          if (typeof ev.state === 'string' && ev.state !== this.iceConnectionState) {
            this.iceConnectionState = ev.state;
            this._fire('iceconnectionstatechange');
          }
          break;
        case 'connectionstatechange':
          this._setConnection(ev.state);
          break;
        case 'track':
          this._onTrack(ev);
          break;
        case 'datachannel': {
          if (typeof ev.channel !== 'number') break;
          const ch = new ShimDataChannel(this, ev.channel, String(ev.label ?? ''), ev.ordered !== false);
          this._channels.set(ch.id, ch);
          this._fire('datachannel', { channel: ch });
          break;
        }
        case 'channelopen':
          this._channels.get(ev.channel)?._opened();
          break;
        case 'channelclose':
          this._channels.get(ev.channel)?._closed();
          break;
        case 'channelmessage': {
          const ch = this._channels.get(ev.channel);
          if (ch && ch.readyState === 'open' && typeof ev.data === 'string') ch._fire('message', { data: ev.data });
          break;
        }
        default:
          break;
      }
    }

    /** @param {any} ev */
    _onTrack(ev) {
      let t = this._transceivers.find((x) => x._id === ev.transceiver);
      if (!t) {
        const kind = ev.kind === 'audio' || ev.kind === 'video' ? ev.kind : null;
        if (!kind || typeof ev.transceiver !== 'number') return;
        t = new ShimTransceiver(this, kind, 'recvonly');
        t._id = ev.transceiver;
        this._transceivers.push(t);
      }
      if (!media) {
        // Nothing would feed the track: the tile keeps its name and no picture.
        log(`remote ${ev.kind} on connection ${this._pcId}: no media engine, not shown`);
        return;
      }
      const track = t.receiver.track;
      /** @type {any[]} */
      const streams = [];
      const Stream = opts.MediaStream;
      if (Stream) {
        for (const sid of Array.isArray(ev.streams) ? ev.streams : []) {
          let st = this._streams.get(String(sid));
          if (!st) {
            st = new Stream();
            this._streams.set(String(sid), st);
          }
          try {
            if (!st.getTracks().includes(track)) st.addTrack(track);
          } catch {
            // a stream that refuses a look-alike track: ontrack still carries the track
          }
          streams.push(st);
        }
      }
      this._fire('track', { track, streams, transceiver: t, receiver: t.receiver });
    }

    /** @param {unknown} state */
    _setSignaling(state) {
      if (typeof state !== 'string' || this._closedByPage || state === this.signalingState) return;
      this.signalingState = state;
      this._fire('signalingstatechange');
      if (state === 'stable') this._maybeNegotiate();
    }

    /** @param {unknown} state */
    _setConnection(state) {
      if (typeof state !== 'string' || this._closedByPage || state === this.connectionState) return;
      this.connectionState = state;
      this._fire('connectionstatechange');
    }

    /** @param {import('./client.js').BridgeSession} s */
    _onSessionClosed(s) {
      if (this._session !== s || this._closedByPage) return;
      this._fail();
    }

    /** The bridge (or its session) is gone: this connection is dead, as after an ICE failure. */
    _fail() {
      if (this._closedByPage) return;
      for (const ch of [...this._channels.values()]) ch._closed();
      if (this.iceConnectionState !== 'failed') {
        this.iceConnectionState = 'failed';
        this._fire('iceconnectionstatechange');
      }
      this._setConnection('failed');
    }
  }

  return { RTCPeerConnection: ShimPeerConnection, connections: () => [...open] };
}
