// @ts-check
/**
 * One remote person: one RTCPeerConnection, its `lanmeet` data channel, and the
 * perfect-negotiation pattern (docs/PROTOCOL.md, "Between clients").
 *
 * Roles. The newcomer is the *initiator*: it creates the `lanmeet` data channel and
 * the audio and video transceivers, which fires `negotiationneeded`, which sends the
 * first offer. The other side creates its connection when that offer arrives and
 * puts its own tracks on the offered transceivers before answering, so both sides
 * send media after one round trip. Later renegotiation (ICE restart, a transceiver
 * added) is perfect negotiation: of the two ids, the one that sorts first is polite.
 *
 * Sessions. A remote that reloads its page comes back with the same id (resume) but
 * a new RTCPeerConnection; its offer then carries a new SDP session id (`o=` line).
 * An offer whose session id differs from the one we know means "start over": we
 * replace our connection. While our own first offer is unanswered we know no remote
 * session, so an offer then is either a glare of two first offers or a stale
 * renegotiation for a page that no longer exists: the polite side accepts it, the
 * impolite side ignores it, and candidates are ignored until a description is in.
 * If a connection still fails after ICE restarts, or a description cannot be
 * applied, the side that offered first starts a fresh session (bounded).
 *
 * `signal.data` shapes, exactly: `{description: {type, sdp}}`,
 * `{candidate: {candidate, sdpMid, sdpMLineIndex}}`, `{candidate: null}`.
 *
 * Events: `state` (connecting | connected | reconnecting | failed | closed),
 * `track` (a remote MediaStreamTrack), `session` (the remote started over: drop its
 * old tracks), `channel` (open | closed), `message` (a parsed data-channel object),
 * `rtt` (ms, from our pings), `route` ('direct' | 'relay': whether the connected
 * pair goes through a TURN relay, read from getStats' selected candidate pair).
 */
import { Emitter } from './emitter.js';

/** Label of the one data channel of each pair. */
export const CHANNEL_LABEL = 'lanmeet';

/** @typedef {'connecting' | 'connected' | 'reconnecting' | 'failed' | 'closed'} PeerState */
/** @typedef {'direct' | 'relay'} Route */

/**
 * How a connection's selected candidate pair goes, from an RTCStatsReport (or any
 * iterable of stats): 'relay' when either end is a relayed candidate (TURN),
 * 'direct' otherwise, null while no pair is selected. Pure, for tests.
 * @param {any} stats
 * @returns {Route | null}
 */
export function routeOf(stats) {
  /** @type {Map<string, any>} */
  const byId = new Map();
  const list = typeof stats?.values === 'function' ? [...stats.values()] : Array.isArray(stats) ? stats : [];
  for (const r of list) if (r && typeof r.id === 'string') byId.set(r.id, r);
  let pair = null;
  for (const r of byId.values()) {
    if (r.type === 'transport' && r.selectedCandidatePairId) pair = byId.get(r.selectedCandidatePairId) ?? pair;
  }
  // Firefox has no transport stats: its selected pair says so itself.
  if (!pair) for (const r of byId.values()) if (r.type === 'candidate-pair' && (r.selected || (r.nominated && r.state === 'succeeded'))) pair = r;
  if (!pair) return null;
  const ends = [byId.get(pair.localCandidateId), byId.get(pair.remoteCandidateId)];
  return ends.some((c) => c?.candidateType === 'relay') ? 'relay' : 'direct';
}

/**
 * @typedef {object} LocalMedia
 * @property {MediaStreamTrack | null} audio
 * @property {MediaStreamTrack | null} video
 * @property {MediaStream | null} stream stream the tracks are announced in (msid)
 */

/**
 * @typedef {object} PeerOptions
 * @property {string} selfId
 * @property {string} id                   the remote peer's id
 * @property {string} name
 * @property {(data: any) => void} send    sends `signal.data` to this peer
 * @property {any} RTCPeerConnection       constructor (injected for tests)
 * @property {RTCIceServer[]} [iceServers] none by default: host candidates on the LAN
 * @property {any[]} [certificates]        one DTLS certificate for all connections (saves a key generation each)
 * @property {VideoEncoding} [videoEncoding] how to encode the video we send, from the start
 * @property {() => LocalMedia} localMedia the tracks to send, read when needed
 * @property {{setTimeout: (f: () => void, ms: number) => any, clearTimeout: (h: any) => void}} [timers]
 * @property {number} [connectTimeoutMs]   a session not connected by then is restarted by its offerer
 * @property {number} [maxIceRestarts]
 * @property {number} [maxSessionRestarts]
 * @property {(msg: string, ...rest: any[]) => void} [log]
 */

/**
 * @typedef {object} VideoEncoding
 * @property {number} scaleResolutionDownBy
 * @property {number} maxFramerate
 * @property {number} maxBitrate bits per second
 */

/**
 * How to encode the video we send, given how many people receive it. In a mesh we
 * encode once per remote person, so a bigger room sends smaller, slower video to
 * keep every sender's CPU and uplink within what a laptop has. Up to four people the
 * picture stays 640x360 at the camera's 30 fps (what people expect of a call; a cap of
 * 24 came out at 23 and below, short of issue 10's "≥ 24 fps with up to 3 remotes");
 * from five people on, size and rate come down, to 320x180 at 12 fps for 7 or 8
 * (issue 10 asks for ≥ 10 there). A shared screen keeps its full size (text must stay
 * readable) and gives up frame rate instead.
 * @param {number} remotes people we send to
 * @param {boolean} sharing the video is a screen
 * @returns {VideoEncoding}
 */
export function videoEncodingFor(remotes, sharing) {
  if (sharing) return { scaleResolutionDownBy: 1, maxFramerate: remotes <= 3 ? 15 : 8, maxBitrate: remotes <= 3 ? 1_200_000 : 600_000 };
  if (remotes <= 2) return { scaleResolutionDownBy: 1, maxFramerate: 30, maxBitrate: 1_000_000 };
  if (remotes <= 3) return { scaleResolutionDownBy: 1, maxFramerate: 30, maxBitrate: 800_000 };
  if (remotes <= 4) return { scaleResolutionDownBy: 1.5, maxFramerate: 20, maxBitrate: 500_000 };
  if (remotes <= 5) return { scaleResolutionDownBy: 1.5, maxFramerate: 15, maxBitrate: 350_000 };
  // 7 or 8 people: tiles are small, and each of us encodes 6 or 7 times.
  return { scaleResolutionDownBy: 2, maxFramerate: 12, maxBitrate: 250_000 };
}

/**
 * The session id of an SDP (`o=<user> <sess-id> ...`), or null.
 * @param {string | undefined | null} sdp
 */
export function sdpSessionId(sdp) {
  const m = /^o=\S+\s+(\S+)\s/m.exec(sdp ?? '');
  return m ? m[1] : null;
}

/**
 * Whose offer wins a glare: the peer whose id sorts first is polite (gives way).
 * Plain code-unit order, the same as byte order for the node's URL-safe ids.
 * @param {string} selfId
 * @param {string} remoteId
 */
export function isPolite(selfId, remoteId) {
  return selfId < remoteId;
}

/**
 * What to do with an incoming offer, given the negotiation state. Pure, so the
 * rules above are tested without a browser.
 * @param {object} s
 * @param {boolean} s.hasPc           a connection exists
 * @param {boolean} s.polite
 * @param {boolean} s.initiator       our connection made the first offer
 * @param {string | null} s.remoteSession  session id of the last applied remote description
 * @param {string | null} s.offerSession   session id of this offer
 * @param {boolean} s.makingOffer
 * @param {string} s.signalingState
 * @param {boolean} s.answerPending   an answer is being applied (perfect negotiation)
 * @returns {'create' | 'replace' | 'ignore' | 'apply'}
 */
export function offerAction(s) {
  if (!s.hasPc) return 'create';
  if (s.remoteSession !== null) {
    if (s.offerSession !== null && s.offerSession !== s.remoteSession) return 'replace';
  } else if (s.initiator) {
    // Our first offer is unanswered: glare of first offers, or a stale offer.
    return s.polite ? 'replace' : 'ignore';
  }
  const readyForOffer = !s.makingOffer && (s.signalingState === 'stable' || s.answerPending);
  if (!readyForOffer && !s.polite) return 'ignore';
  return 'apply';
}

export class Peer extends Emitter {
  /**
   * @param {PeerOptions} opts
   */
  constructor(opts) {
    super();
    this.selfId = opts.selfId;
    this.id = opts.id;
    this.name = opts.name;
    this.polite = isPolite(opts.selfId, opts.id);
    this._send = opts.send;
    this._RTC = opts.RTCPeerConnection;
    this._iceServers = opts.iceServers ?? [];
    this._certificates = opts.certificates;
    this._localMedia = opts.localMedia;
    this._timers = opts.timers ?? { setTimeout: (f, ms) => setTimeout(f, ms), clearTimeout: (h) => clearTimeout(h) };
    this._connectTimeoutMs = opts.connectTimeoutMs ?? 15000;
    this._maxIceRestarts = opts.maxIceRestarts ?? 2;
    this._maxSessionRestarts = opts.maxSessionRestarts ?? 3;
    this._log = opts.log ?? (() => {});

    /** @type {any} current RTCPeerConnection */
    this.pc = null;
    /** @type {any} current data channel */
    this.channel = null;
    /** @type {PeerState} */
    this.state = 'connecting';
    /** @type {Route | null} how the connected pair goes, once known */
    this.route = null;
    /** Per-connection negotiation state, reset with each new connection. */
    this.neg = freshNegotiation(false);
    /** @type {{audio: any, video: any}} our transceivers per kind */
    this.transceivers = { audio: null, video: null };
    this.sessionRestarts = 0;
    this.closed = false;
    /** @type {Promise<void>} incoming signals, handled one at a time */
    this._chain = Promise.resolve();
    this._watchdog = null;
    this._pingId = 0;
    /** @type {VideoEncoding | null} */
    this._videoEncoding = opts.videoEncoding ?? null;
    /** @type {Map<number, number>} */
    this._pings = new Map();
  }

  /** Starts as the newcomer: channel and transceivers now, the offer follows. */
  start() {
    if (!this.pc && !this.closed) this._createPc(true);
  }

  /**
   * Handles one `signal.data` from this peer. Signals are applied in order.
   * @param {any} data
   * @returns {Promise<void>}
   */
  handleSignal(data) {
    this._chain = this._chain.then(() => this._handle(data)).catch((err) => this._log(`signal from ${this.id} failed`, err));
    return this._chain;
  }

  /**
   * Sends a JSON message on the data channel. Returns false if it is not open.
   * @param {any} msg
   */
  sendMessage(msg) {
    const ch = this.channel;
    if (!ch || ch.readyState !== 'open') return false;
    try {
      ch.send(JSON.stringify(msg));
      return true;
    } catch {
      return false;
    }
  }

  /** Sends a ping; the pong gives an `rtt` event. */
  ping() {
    const id = ++this._pingId;
    if (this.sendMessage({ type: 'ping', id })) this._pings.set(id, Date.now());
    if (this._pings.size > 16) this._pings.delete(this._pings.keys().next().value ?? 0);
  }

  /**
   * Swaps the track we send of `kind` (device switch, camera off, screen share),
   * with replaceTrack: no renegotiation.
   * @param {'audio' | 'video'} kind
   * @param {MediaStreamTrack | null} track
   */
  async setLocalTrack(kind, track) {
    const t = this.transceivers[kind];
    if (!t || !this.pc || this.pc.signalingState === 'closed') return;
    try {
      await t.sender.replaceTrack(track);
      if (track && t.direction !== 'sendrecv' && t.direction !== 'stopped') t.direction = 'sendrecv';
    } catch (err) {
      this._log(`replaceTrack(${kind}) for ${this.id} failed`, err);
    }
  }

  /**
   * Sets how we encode the video we send to this peer (size, frame rate, bitrate),
   * without renegotiating. Kept and applied again when a new connection is made.
   * @param {VideoEncoding} enc
   */
  async setVideoEncoding(enc) {
    this._videoEncoding = enc;
    const sender = this.transceivers.video?.sender;
    if (!sender || typeof sender.getParameters !== 'function' || !this.pc || this.pc.signalingState === 'closed') return;
    try {
      const params = sender.getParameters();
      if (!params.encodings || params.encodings.length === 0) return; // not negotiated yet: applied once connected
      const e = params.encodings[0];
      if (e.scaleResolutionDownBy === enc.scaleResolutionDownBy && e.maxFramerate === enc.maxFramerate && e.maxBitrate === enc.maxBitrate) return;
      e.scaleResolutionDownBy = enc.scaleResolutionDownBy;
      e.maxFramerate = enc.maxFramerate;
      e.maxBitrate = enc.maxBitrate;
      await sender.setParameters(params);
    } catch (err) {
      this._log(`setParameters for ${this.id} failed`, err);
    }
  }

  /** Closes the connection for good (the person left, or we did). */
  close() {
    if (this.closed) return;
    this.closed = true;
    this._dropPc();
    this._setState('closed');
    this.clear();
  }

  // ---- internals ----

  /** @param {any} data */
  async _handle(data) {
    if (this.closed || !data || typeof data !== 'object') return;
    if (data.description && typeof data.description === 'object') {
      const d = data.description;
      if ((d.type !== 'offer' && d.type !== 'answer') || typeof d.sdp !== 'string') return;
      if (d.type === 'offer') await this._onOffer({ type: 'offer', sdp: d.sdp });
      else await this._onAnswer({ type: 'answer', sdp: d.sdp });
    } else if ('candidate' in data) {
      await this._onCandidate(data.candidate);
    }
  }

  /** @param {{type: 'offer', sdp: string}} desc */
  async _onOffer(desc) {
    const offerSession = sdpSessionId(desc.sdp);
    const action = offerAction({
      hasPc: !!this.pc,
      polite: this.polite,
      initiator: this.neg.initiator,
      remoteSession: this.neg.remoteSession,
      offerSession,
      makingOffer: this.neg.makingOffer,
      signalingState: this.pc?.signalingState ?? 'closed',
      answerPending: this.neg.answerPending,
    });
    this.neg.ignoreOffer = action === 'ignore';
    if (action === 'ignore') {
      this._log(`ignoring an offer from ${this.id} (glare, we are impolite)`);
      return;
    }
    if (action === 'replace') {
      this._log(`${this.id} started a new session`);
      this._dropPc();
      this.emit('session', null);
    }
    if (action === 'replace' || action === 'create') this._createPc(false);
    const pc = this.pc;
    const neg = this.neg;
    const firstRemote = neg.remoteSession === null;
    try {
      await pc.setRemoteDescription(desc);
      if (pc !== this.pc) return;
      neg.remoteSession = offerSession ?? neg.remoteSession ?? 'unknown';
      if (firstRemote && !neg.initiator) await this._attachLocalTracks(pc);
      if (pc !== this.pc) return;
      await pc.setLocalDescription();
      if (pc !== this.pc) return;
      this._sendDescription(pc.localDescription);
      if (firstRemote && this._videoEncoding) this.setVideoEncoding(this._videoEncoding);
    } catch (err) {
      if (pc !== this.pc) return;
      this._log(`could not apply an offer from ${this.id}`, err);
      this._restartSession();
    }
  }

  /** @param {{type: 'answer', sdp: string}} desc */
  async _onAnswer(desc) {
    const pc = this.pc;
    const neg = this.neg;
    if (!pc || pc.signalingState !== 'have-local-offer') return; // stale answer
    const session = sdpSessionId(desc.sdp);
    if (neg.remoteSession !== null && session !== null && session !== neg.remoteSession) return; // from an older page
    neg.answerPending = true;
    try {
      await pc.setRemoteDescription(desc);
      if (pc !== this.pc) return;
      neg.remoteSession = session ?? neg.remoteSession ?? 'unknown';
    } catch (err) {
      if (pc !== this.pc) return;
      this._log(`could not apply an answer from ${this.id}`, err);
      this._restartSession();
    } finally {
      neg.answerPending = false;
    }
  }

  /** @param {any} c */
  async _onCandidate(c) {
    const pc = this.pc;
    // No remote description yet: the candidate belongs to a session we do not have.
    if (!pc || this.neg.remoteSession === null) return;
    if (c === null) return; // end of candidates: nothing to do with trickle
    if (typeof c !== 'object' || typeof c.candidate !== 'string') return;
    try {
      await pc.addIceCandidate({ candidate: c.candidate, sdpMid: c.sdpMid ?? null, sdpMLineIndex: c.sdpMLineIndex ?? null });
    } catch (err) {
      if (!this.neg.ignoreOffer) this._log(`candidate from ${this.id} rejected`, err);
    }
  }

  /**
   * @param {boolean} initiator
   */
  _createPc(initiator) {
    // max-bundle: one transport (one set of candidates and checks) for audio, video
    // and data instead of one per m-line: less work per connection, faster joins.
    /** @type {Record<string, any>} */
    const config = { iceServers: this._iceServers, bundlePolicy: 'max-bundle' };
    if (this._certificates?.length) config.certificates = this._certificates;
    const pc = new this._RTC(config);
    this.pc = pc;
    this.neg = freshNegotiation(initiator);
    this.transceivers = { audio: null, video: null };
    const neg = this.neg;

    pc.onnegotiationneeded = async () => {
      if (pc !== this.pc) return;
      try {
        neg.makingOffer = true;
        await pc.setLocalDescription();
        if (pc !== this.pc) return;
        this._sendDescription(pc.localDescription);
      } catch (err) {
        this._log(`offer to ${this.id} failed`, err);
      } finally {
        neg.makingOffer = false;
      }
    };
    pc.onicecandidate = (/** @type {any} */ ev) => {
      if (pc !== this.pc) return;
      const c = ev.candidate;
      this._send({
        candidate: c && c.candidate ? { candidate: c.candidate, sdpMid: c.sdpMid ?? null, sdpMLineIndex: c.sdpMLineIndex ?? null } : null,
      });
    };
    pc.ontrack = (/** @type {any} */ ev) => {
      if (pc !== this.pc) return;
      this.emit('track', ev.track);
    };
    pc.ondatachannel = (/** @type {any} */ ev) => {
      if (pc !== this.pc || ev.channel.label !== CHANNEL_LABEL) return;
      this._attachChannel(ev.channel);
    };
    pc.onconnectionstatechange = () => this._onConnectionState(pc);

    if (initiator) {
      // The data channel exists before the first offer, so that offer carries it.
      this._attachChannel(pc.createDataChannel(CHANNEL_LABEL));
      const media = this._localMedia();
      for (const kind of /** @type {const} */ (['audio', 'video'])) {
        const track = media[kind];
        /** @type {Record<string, any>} */
        const init = { direction: 'sendrecv', streams: media.stream ? [media.stream] : [] };
        // The room's encoding from the first frame on, not after a full-size start.
        if (kind === 'video' && this._videoEncoding) init.sendEncodings = [{ ...this._videoEncoding }];
        this.transceivers[kind] = pc.addTransceiver(track ?? kind, init);
      }
    }
    this._setState(this.state === 'connected' ? 'reconnecting' : this.state === 'failed' ? 'connecting' : this.state);
    this._armWatchdog();
  }

  /**
   * The answering side sends its media on the transceivers the offer made, so the
   * answer carries both directions and no second negotiation is needed.
   * @param {any} pc
   */
  async _attachLocalTracks(pc) {
    const media = this._localMedia();
    const used = new Set();
    for (const kind of /** @type {const} */ (['audio', 'video'])) {
      const t = pc.getTransceivers().find(
        (/** @type {any} */ t) => !used.has(t) && t.receiver?.track?.kind === kind && t.direction !== 'stopped',
      );
      const track = media[kind];
      if (t) {
        used.add(t);
        t.direction = 'sendrecv';
        if (track) await t.sender.replaceTrack(track);
        if (media.stream && typeof t.sender.setStreams === 'function') t.sender.setStreams(media.stream);
        this.transceivers[kind] = t;
      } else {
        // The offer had no such m-line (e.g. a native probe): add one; negotiation follows.
        this.transceivers[kind] = pc.addTransceiver(track ?? kind, {
          direction: 'sendrecv',
          streams: media.stream ? [media.stream] : [],
        });
      }
    }
  }

  /** @param {any} channel */
  _attachChannel(channel) {
    this.channel = channel;
    channel.onopen = () => {
      if (channel === this.channel) this.emit('channel', 'open');
    };
    channel.onclose = () => {
      if (channel === this.channel) this.emit('channel', 'closed');
    };
    channel.onmessage = (/** @type {{data: any}} */ ev) => {
      if (channel !== this.channel || typeof ev.data !== 'string') return;
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch {
        return;
      }
      if (!msg || typeof msg !== 'object') return;
      if (msg.type === 'ping') {
        this.sendMessage({ type: 'pong', id: msg.id });
        return;
      }
      if (msg.type === 'pong') {
        const sent = this._pings.get(msg.id);
        if (sent !== undefined) {
          this._pings.delete(msg.id);
          this.emit('rtt', Date.now() - sent);
        }
        return;
      }
      this.emit('message', msg);
    };
  }

  /** @param {any} pc */
  _onConnectionState(pc) {
    if (pc !== this.pc) return;
    switch (pc.connectionState) {
      case 'connected':
        if (this._videoEncoding) this.setVideoEncoding(this._videoEncoding);
        this.neg.everConnected = true;
        this.neg.iceRestarts = 0;
        this.sessionRestarts = 0;
        this._clearWatchdog();
        this._setState('connected');
        // Read again a little later too: a pair first seen from a peer-reflexive
        // remote (checks that arrived before the candidate's signal) shows its
        // real type (relay) only once that candidate is signaled.
        for (const ms of [0, 2000, 6000]) this._timers.setTimeout(() => this._readRoute(pc), ms);
        this._watchRoute(pc);
        break;
      case 'disconnected':
        this._setState('reconnecting');
        break;
      case 'failed':
        if (this.neg.iceRestarts < this._maxIceRestarts) {
          this.neg.iceRestarts += 1;
          this._log(`restarting ICE with ${this.id} (${this.neg.iceRestarts})`);
          this._setState('reconnecting');
          pc.restartIce();
          this._armWatchdog();
        } else if (this.neg.initiator) {
          this._restartSession();
        } else {
          this._setState('failed');
        }
        break;
      case 'new':
      case 'connecting':
        this._setState(this.neg.everConnected ? 'reconnecting' : this.state === 'reconnecting' ? 'reconnecting' : 'connecting');
        break;
      default:
        break;
    }
  }

  /** A fresh connection with us offering; bounded so two broken sides cannot loop forever. */
  _restartSession() {
    if (this.closed) return;
    if (this.sessionRestarts >= this._maxSessionRestarts) {
      this._clearWatchdog();
      this._setState('failed');
      return;
    }
    this.sessionRestarts += 1;
    this._log(`new session with ${this.id} (${this.sessionRestarts})`);
    this._dropPc();
    this.emit('session', null);
    this._createPc(true);
  }

  _armWatchdog() {
    this._clearWatchdog();
    const pc = this.pc;
    let patience = 2;
    const check = () => {
      this._watchdog = null;
      if (pc !== this.pc || this.closed || pc.connectionState === 'connected') return;
      // Negotiated and still checking candidates: a busy machine, not a dead peer.
      // Starting over would only add work, so wait a little longer first.
      if (patience > 0 && pc.signalingState === 'stable' && pc.connectionState === 'connecting') {
        patience -= 1;
        this._watchdog = this._timers.setTimeout(check, this._connectTimeoutMs);
        return;
      }
      // The side that offered first owns recovery; the other waits for its new offer.
      if (this.neg.initiator) this._restartSession();
      else this._setState('failed');
    };
    this._watchdog = this._timers.setTimeout(check, this._connectTimeoutMs);
  }

  _clearWatchdog() {
    if (this._watchdog) this._timers.clearTimeout(this._watchdog);
    this._watchdog = null;
  }

  _dropPc() {
    this._clearWatchdog();
    const pc = this.pc;
    const ch = this.channel;
    this.pc = null;
    this.channel = null;
    if (ch) {
      ch.onopen = ch.onclose = ch.onmessage = null;
      try {
        ch.close();
      } catch {
        // already closed
      }
    }
    if (pc) {
      pc.onnegotiationneeded = pc.onicecandidate = pc.ontrack = pc.ondatachannel = pc.onconnectionstatechange = null;
      try {
        pc.close();
      } catch {
        // already closed
      }
    }
  }

  /** @param {any} desc */
  _sendDescription(desc) {
    if (!desc) return;
    this._send({ description: { type: desc.type, sdp: desc.sdp } });
  }

  /**
   * Reads which candidate pair ICE chose, and says whether it is relayed. ICE keeps
   * its own priorities (host candidates first): the relay is only ever a fallback.
   * @param {any} pc
   */
  _readRoute(pc) {
    if (typeof pc.getStats !== 'function') return;
    Promise.resolve(pc.getStats())
      .then((stats) => {
        if (pc !== this.pc || this.closed) return;
        if (pc.connectionState !== 'connected') return;
        const route = routeOf(stats);
        if (route && route !== this.route) {
          this.route = route;
          this.emit('route', route);
        }
      })
      .catch((err) => this._log(`getStats for ${this.id} failed`, err));
  }

  /**
   * Reads the route again whenever ICE moves to another pair (a pair that stopped
   * answering under load gives way to the relay, and back): the three readings after
   * `connected` alone would leave the tile saying what is no longer true. Where the
   * browser has `RTCIceTransport` (the bridge's shim has not), once per connection.
   * @param {any} pc
   */
  _watchRoute(pc) {
    const ice = pc.getSenders?.()[0]?.transport?.iceTransport ?? pc.sctp?.transport?.iceTransport;
    if (!ice || typeof ice.addEventListener !== 'function' || routeWatched.has(pc)) return;
    routeWatched.add(pc);
    ice.addEventListener('selectedcandidatepairchange', () => this._readRoute(pc));
  }

  /** @param {PeerState} state */
  _setState(state) {
    if (this.state === state) return;
    this.state = state;
    this.emit('state', state);
  }
}

/** Connections whose ICE transport {@link Peer#_watchRoute} listens to already. */
const routeWatched = new WeakSet();

/** @param {boolean} initiator */
function freshNegotiation(initiator) {
  return {
    initiator,
    makingOffer: false,
    ignoreOffer: false,
    answerPending: false,
    /** @type {string | null} */
    remoteSession: null,
    everConnected: false,
    iceRestarts: 0,
  };
}
