// @ts-check
/**
 * The full mesh: one {@link Peer} per remote person, kept in step with the room as
 * the signaling client reports it.
 *
 * Who offers: everyone we find in a `welcome` when we arrive (or come back from a
 * reload, or get a new id after the grace period ran out) gets our offer; people who
 * arrive after us (`peer-joined`) offer to us. After a socket-level resume
 * (`resumed: true`, our connections intact) we only reconcile: people gone meanwhile
 * are removed, people who came meanwhile are added and will offer (their offers were
 * held for us by the node).
 *
 * Events: `self` (our id), `peer-added` `{id, name}`, `peer-removed` `id`,
 * `peer-state` `{id, state}`, `peer-track` `{id, track}`, `peer-session` `id`
 * (drop its tracks), `channel-open` `id`, `message` `{id, msg}`, `rtt` `{id, ms}`.
 */
import { Emitter } from './emitter.js';
import { Peer, videoEncodingFor } from './peer.js';

/**
 * @typedef {object} MeshOptions
 * @property {import('./signaling.js').SignalingClient} signaling
 * @property {any} RTCPeerConnection
 * @property {RTCIceServer[]} [iceServers]
 * @property {any[]} [certificates] shared DTLS certificate(s)
 * @property {() => import('./peer.js').LocalMedia} localMedia
 * @property {Partial<import('./peer.js').PeerOptions>} [peerOptions] timers, timeouts, log
 */

export class Mesh extends Emitter {
  /** @param {MeshOptions} opts */
  constructor(opts) {
    super();
    this.signaling = opts.signaling;
    this._opts = opts;
    /** @type {string | null} */
    this.selfId = null;
    /** @type {Map<string, Peer>} */
    this.peers = new Map();
    this.sharing = false;
    /** @type {RTCIceServer[]} from the last welcome */
    this.welcomeIceServers = [];
    const s = this.signaling;
    this._off = [
      s.on('welcome', (w) => this._onWelcome(w)),
      s.on('peer-joined', (p) => this._add(p.id, p.name, false)),
      s.on('peer-left', (id) => this._remove(id)),
      s.on('signal', ({ from, data }) => {
        let peer = this.peers.get(from);
        // A signal from someone we were not told about (a missed peer-joined): they
        // are in the room, since the node only routes within it.
        if (!peer) peer = this._add(from, '', false);
        peer?.handleSignal(data);
      }),
      s.on('ended', () => this.close()),
    ];
  }

  /**
   * @param {{id: string, resumed: boolean, peers: {id: string, name: string}[], iceServers?: RTCIceServer[]}} w
   */
  _onWelcome(w) {
    // [ext] The host's relay (fresh credentials in every welcome) and the servers
    // its person set, used with the person's own; connections made from now on
    // get them (those already up keep theirs, good for hours).
    if (Array.isArray(w.iceServers)) this.welcomeIceServers = w.iceServers;
    const fresh = this.selfId === null || this.selfId !== w.id || !w.resumed;
    if (fresh) {
      // New arrival, reload, or a new id: every connection starts over, we offer.
      for (const id of [...this.peers.keys()]) this._remove(id);
      this.selfId = w.id;
      this.emit('self', w.id);
      for (const p of w.peers) this._add(p.id, p.name, true);
      return;
    }
    const now = new Set(w.peers.map((p) => p.id));
    for (const id of [...this.peers.keys()]) if (!now.has(id)) this._remove(id);
    for (const p of w.peers) {
      const known = this.peers.get(p.id);
      if (!known) this._add(p.id, p.name, false);
      else if (p.name && known.name !== p.name) known.name = p.name;
    }
  }

  /**
   * The ICE servers of new connections: the welcome's (the host's relay first),
   * then the person's own.
   * @returns {RTCIceServer[]}
   */
  iceServers() {
    return [...this.welcomeIceServers, ...(this._opts.iceServers ?? [])];
  }

  /** Whether some TURN server (the host's relay or the person's) can relay a pair. */
  hasRelay() {
    return this.iceServers().some((s) => [s.urls].flat().some((u) => typeof u === 'string' && /^turns?:/i.test(u)));
  }

  /**
   * @param {string} id
   * @param {string} name
   * @param {boolean} initiator
   * @returns {Peer | undefined}
   */
  _add(id, name, initiator) {
    if (!this.selfId || id === this.selfId) return undefined;
    const existing = this.peers.get(id);
    if (existing) return existing;
    const o = this._opts;
    const peer = new Peer({
      ...o.peerOptions,
      selfId: this.selfId,
      id,
      name,
      send: (data) => this.signaling.send(id, data),
      RTCPeerConnection: o.RTCPeerConnection,
      iceServers: this.iceServers(),
      certificates: o.certificates,
      videoEncoding: videoEncodingFor(this.peers.size + 1, this.sharing),
      localMedia: o.localMedia,
    });
    this.peers.set(id, peer);
    peer.on('state', (state) => this.emit('peer-state', { id, state }));
    peer.on('track', (track) => this.emit('peer-track', { id, track }));
    peer.on('session', () => this.emit('peer-session', id));
    peer.on('channel', (s) => {
      if (s === 'open') this.emit('channel-open', id);
    });
    peer.on('message', (msg) => this.emit('message', { id, msg }));
    peer.on('rtt', (ms) => this.emit('rtt', { id, ms }));
    peer.on('route', (route) => this.emit('peer-route', { id, route }));
    this.emit('peer-added', { id, name });
    if (initiator) peer.start();
    this._applyEncoding();
    return peer;
  }

  /** @param {string} id */
  _remove(id) {
    const peer = this.peers.get(id);
    if (!peer) return;
    this.peers.delete(id);
    peer.close();
    this.emit('peer-removed', id);
    this._applyEncoding();
  }

  /**
   * Sends a data-channel message to everyone connected; returns how many got it.
   * @param {any} msg
   */
  broadcast(msg) {
    let n = 0;
    for (const p of this.peers.values()) if (p.sendMessage(msg)) n++;
    return n;
  }

  /**
   * @param {string} id
   * @param {any} msg
   */
  sendTo(id, msg) {
    return this.peers.get(id)?.sendMessage(msg) ?? false;
  }

  /**
   * Swaps what we send of `kind` on every connection.
   * @param {'audio' | 'video'} kind
   * @param {MediaStreamTrack | null} track
   */
  async setLocalTrack(kind, track) {
    await Promise.all([...this.peers.values()].map((p) => p.setLocalTrack(kind, track)));
  }

  /**
   * Tells the mesh whether the video we send is a shared screen (it is encoded
   * differently).
   * @param {boolean} sharing
   */
  setSharing(sharing) {
    this.sharing = sharing;
    this._applyEncoding();
  }

  /** Fits the video we send to the room's size (see {@link videoEncodingFor}). */
  _applyEncoding() {
    const enc = videoEncodingFor(this.peers.size, this.sharing);
    for (const p of this.peers.values()) p.setVideoEncoding(enc);
  }

  /** Closes every connection; nothing survives into the next call. */
  close() {
    for (const id of [...this.peers.keys()]) this._remove(id);
    for (const off of this._off) off();
    this._off = [];
  }
}
