// @ts-check
/**
 * Test doubles for the unit tests only: a WebSocket whose server side the test
 * drives, a manual clock, and an RTCPeerConnection that models the signaling state
 * machine (offer/answer, implicit rollback, negotiationneeded, transceivers, data
 * channel, "connected" once both descriptions are in), media tracks and devices,
 * storage, the control API, and the two views as records of what they were told to
 * show. The end-to-end tests use the real node and the real browser instead.
 */
import { ApiError } from '../../api.js';

/** A clock the test advances by hand (timeouts and intervals). */
export class ManualTimers {
  constructor() {
    this.now = 0;
    /** @type {Map<number, {at: number, fn: () => void, every?: number}>} */
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
    this.setInterval = (/** @type {() => void} */ fn, /** @type {number} */ ms) => {
      const id = this.next++;
      this.pending.set(id, { at: this.now + ms, fn, every: Math.max(1, ms) });
      return id;
    };
    this.clearInterval = this.clearTimeout;
  }

  /** Runs every timer due within `ms` from now, in time order. @param {number} ms */
  advance(ms) {
    const end = this.now + ms;
    for (;;) {
      let best = null;
      for (const [id, t] of this.pending) if (t.at <= end && (!best || t.at < best[1].at)) best = [id, t];
      if (!best) break;
      const [id, t] = /** @type {[number, {at: number, fn: () => void, every?: number}]} */ (best);
      this.pending.delete(id);
      this.now = t.at;
      // Re-armed before it runs, so the callback can clear it.
      if (t.every) this.pending.set(id, { ...t, at: t.at + t.every });
      t.fn();
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
 * perfect negotiation. SDP is a small text with an `o=` line (session id, version),
 * an `a=fingerprint` line (each connection its own) and one `m=` line per
 * transceiver / data channel.
 */
export class FakePC {
  /** @type {FakePC[]} */
  static instances = [];

  /** @param {any} config */
  constructor(config) {
    this.config = config;
    this.sessionId = String(++sessionCounter);
    this.version = 1;
    /** This connection's DTLS certificate fingerprint, as SDP carries it (32 bytes, hex). */
    this.fingerprint = Array.from({ length: 32 }, (_, i) => ((Number(this.sessionId) * 31 + i * 7) % 256).toString(16).padStart(2, '0').toUpperCase()).join(':');
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
    const lines = [`v=0`, `o=- ${this.sessionId} ${this.version} IN IP4 127.0.0.1`, `a=fingerprint:sha-256 ${this.fingerprint}`];
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

// ---------------------------------------------------------------------------
// Media: tracks, streams, devices

let trackCounter = 0;

/** A camera, microphone or screen track. `stop()` is the page's; `end()` is the device going away. */
export class FakeTrack {
  /** @param {'audio' | 'video'} kind @param {string} deviceId */
  constructor(kind, deviceId) {
    this.kind = kind;
    this.id = `${kind}-${++trackCounter}`;
    this.deviceId = deviceId;
    this.enabled = true;
    this.readyState = 'live';
    this.contentHint = '';
    /** @type {Set<() => void>} */
    this._ended = new Set();
  }
  getSettings() {
    return { deviceId: this.deviceId };
  }
  /** @param {string} type @param {() => void} fn */
  addEventListener(type, fn) {
    if (type === 'ended') this._ended.add(fn);
  }
  /** Like a browser, stopping a track ourselves fires no `ended`. */
  stop() {
    this.readyState = 'ended';
  }
  /** Test hook: the device was unplugged (or the person pressed the browser's "Stop sharing"). */
  end() {
    this.readyState = 'ended';
    for (const fn of this._ended) fn();
  }
}

/** A MediaStream: an ordered set of tracks. */
export class FakeMediaStream {
  /** @param {any[]} [tracks] */
  constructor(tracks = []) {
    /** @type {any[]} */
    this.tracks = [...tracks];
  }
  getTracks() {
    return [...this.tracks];
  }
  getAudioTracks() {
    return this.tracks.filter((t) => t.kind === 'audio');
  }
  getVideoTracks() {
    return this.tracks.filter((t) => t.kind === 'video');
  }
  /** @param {any} t */
  addTrack(t) {
    if (!this.tracks.includes(t)) this.tracks.push(t);
  }
  /** @param {any} t */
  removeTrack(t) {
    this.tracks = this.tracks.filter((x) => x !== t);
  }
}

/**
 * `navigator.mediaDevices` with the devices the test says are there. getUserMedia
 * fails as a browser does (`NotFoundError`, or `NotAllowedError` when `denied`).
 */
export class FakeMediaDevices {
  /** @param {{audio?: boolean, video?: boolean, denied?: boolean, screen?: boolean}} [has] */
  constructor(has = {}) {
    this.has = { audio: has.audio ?? true, video: has.video ?? true };
    this.denied = has.denied ?? false;
    /** @type {Error | null} what getDisplayMedia throws (null: a screen is chosen) */
    this.screenError = null;
    /** @type {any[]} constraints of every getUserMedia call */
    this.requests = [];
    /** @type {FakeTrack[]} every track handed out */
    this.tracks = [];
    /** @type {Set<() => void>} */
    this._change = new Set();
    if (has.screen === false) /** @type {any} */ (this).getDisplayMedia = undefined;
  }
  /** @param {any} c */
  async getUserMedia(c) {
    this.requests.push(c);
    await tick();
    if (this.denied) throw Object.assign(new Error('Permission denied'), { name: 'NotAllowedError' });
    const kinds = /** @type {('audio' | 'video')[]} */ (['audio', 'video'].filter((k) => c[k]));
    if (!kinds.every((k) => this.has[k])) throw Object.assign(new Error('Requested device not found'), { name: 'NotFoundError' });
    const tracks = kinds.map((k) => new FakeTrack(k, c[k]?.deviceId?.exact ?? `${k === 'audio' ? 'mic' : 'cam'}-1`));
    this.tracks.push(...tracks);
    return new FakeMediaStream(tracks);
  }
  async getDisplayMedia() {
    await tick();
    if (this.screenError) throw this.screenError;
    const track = new FakeTrack('video', 'screen');
    this.tracks.push(track);
    return new FakeMediaStream([track]);
  }
  async enumerateDevices() {
    return [
      ...(this.has.audio ? [{ kind: 'audioinput', deviceId: 'mic-1', label: 'Microphone 1' }, { kind: 'audioinput', deviceId: 'mic-2', label: 'Microphone 2' }] : []),
      ...(this.has.video ? [{ kind: 'videoinput', deviceId: 'cam-1', label: 'Camera 1' }, { kind: 'videoinput', deviceId: 'cam-2', label: 'Camera 2' }] : []),
    ];
  }
  /** @param {string} type @param {() => void} fn */
  addEventListener(type, fn) {
    if (type === 'devicechange') this._change.add(fn);
  }
  /** Test hook: a device was plugged in or out. */
  fireDeviceChange() {
    for (const fn of this._change) fn();
  }
  /** The live tracks of `kind` (what the camera light would show). */
  live(/** @type {string} */ kind) {
    return this.tracks.filter((t) => t.kind === kind && t.deviceId !== 'screen' && t.readyState === 'live');
  }
}

/** The speaking meters: records what it was asked to watch. */
export class FakeMonitor {
  /** @param {(key: string, speaking: boolean) => void} onChange */
  constructor(onChange) {
    this.onChange = onChange;
    /** @type {Map<string, any>} */
    this.watched = new Map();
    this.resumed = 0;
    this.closed = false;
  }
  /** @param {string} key @param {any} track */
  watch(key, track) {
    this.watched.set(key, track);
  }
  /** @param {string} key */
  unwatch(key) {
    this.watched.delete(key);
  }
  resume() {
    this.resumed++;
  }
  close() {
    this.closed = true;
    this.watched.clear();
  }
}

// ---------------------------------------------------------------------------
// Storage and the control API

/** localStorage / sessionStorage over a Map. */
export class FakeStorage {
  constructor(/** @type {Record<string, string>} */ init = {}) {
    /** @type {Map<string, string>} */
    this.map = new Map(Object.entries(init));
  }
  /** @param {string} k */
  getItem(k) {
    return this.map.get(k) ?? null;
  }
  /** @param {string} k @param {string} v */
  setItem(k, v) {
    this.map.set(k, String(v));
  }
  /** @param {string} k */
  removeItem(k) {
    this.map.delete(k);
  }
}

/**
 * The node's control API as `api.js` presents it: rooms it hosts, rooms on the LAN,
 * and the same {@link ApiError}s. `fail` makes the next calls throw.
 */
export class FakeApi {
  /** @param {{ws?: string}} [opts] */
  constructor(opts = {}) {
    this.ws = opts.ws ?? 'ws://10.77.0.1:7878/ws';
    /** @type {Map<string, {code: string, name: string, ws: string}>} rooms resolvable by code */
    this.rooms = new Map();
    /** @type {any[]} what /api/lan/rooms lists */
    this.lan = [];
    /** @type {ApiError | null} */
    this.fail = null;
    /** @type {any[][]} */
    this.calls = [];
    this.nextCode = 'K7MQ2P';
  }
  /** @param {{name?: string, passcode?: string | null, listed?: boolean}} opts */
  async createRoom(opts) {
    this.calls.push(['createRoom', opts]);
    await tick();
    if (this.fail) throw this.fail;
    const code = this.nextCode;
    const room = { code, name: opts.name ?? '', ws: this.ws };
    this.rooms.set(code, room);
    return { ...room, listed: opts.listed ?? true, capacity: 8, invite: `lanmeet://${this.ws.slice(5, -3)}/${code}` };
  }
  /** @param {string} code */
  async resolveRoom(code) {
    this.calls.push(['resolveRoom', code]);
    await tick();
    if (this.fail) throw this.fail;
    const room = this.rooms.get(code);
    if (!room) throw new ApiError('room-not-found', 'No such room.', 404);
    return { code, ws: room.ws };
  }
  async lanRooms() {
    this.calls.push(['lanRooms']);
    await tick();
    if (this.fail) throw this.fail;
    return this.lan;
  }
}

// ---------------------------------------------------------------------------
// Views: records of what the controllers told them to show

/** @param {string} value @param {() => void} onFocus */
function fakeInput(value, onFocus) {
  return { value, focus: onFocus };
}

/** The lobby view ({@link import('../../views/lobby.js').LobbyView}) as a record. */
export class FakeLobbyView {
  /** @type {FakeLobbyView[]} */
  static instances = [];

  /** @param {any} handlers @param {{name: string, room: string}} initial */
  constructor(handlers, initial) {
    this.handlers = handlers;
    this.initial = initial;
    /** @type {string | null} which field has the focus */
    this.focused = null;
    this.nameInput = fakeInput(initial.name, () => (this.focused = 'name'));
    this.roomInput = fakeInput(initial.room, () => (this.focused = 'room'));
    this.passcodeInput = fakeInput('', () => (this.focused = 'passcode'));
    /** @type {{message: string, kind: string, actions: {label: string, run: () => void}[], detail?: string} | null} */
    this.notice = null;
    /** @type {string | null} */
    this.passcodeReason = null;
    this.busy = false;
    /** @type {{stream: any, note: string} | null} */
    this.preview = null;
    /** @type {any} */
    this.devices = null;
    /** @type {any[] | null | undefined} */
    this.rooms = undefined;
    this.destroyed = false;
    FakeLobbyView.instances.push(this);
  }
  get name() {
    return this.nameInput.value.trim();
  }
  /** @param {string | null} message @param {{kind?: string, actions?: any[], detail?: string}} [opts] */
  setNotice(message, opts = {}) {
    this.notice = message ? { message, kind: opts.kind ?? 'error', actions: opts.actions ?? [], detail: opts.detail } : null;
  }
  /** @param {string} reason */
  askPasscode(reason) {
    this.passcodeReason = reason;
    this.passcodeInput.value = '';
    this.focused = 'passcode';
  }
  /** @param {boolean} busy */
  setBusy(busy) {
    this.busy = busy;
  }
  /** @param {any} stream @param {string} note */
  setPreview(stream, note) {
    this.preview = { stream, note };
  }
  /** @param {any} devices @param {any} current */
  setDevices(devices, current) {
    this.devices = { devices, current };
  }
  /** @param {any[] | null} rooms */
  setRooms(rooms) {
    this.rooms = rooms;
  }
  destroy() {
    this.destroyed = true;
  }
  /** The labels of the notice's buttons. */
  noticeActions() {
    return this.notice?.actions.map((a) => a.label) ?? [];
  }
  /** Clicks the notice's button `label`. @param {string} label */
  clickNotice(label) {
    const a = this.notice?.actions.find((x) => x.label === label);
    if (!a) throw new Error(`no "${label}" in the notice (${this.noticeActions().join(', ')})`);
    a.run();
  }
}

/** The call view ({@link import('../../views/call.js').CallView}) as a record. */
export class FakeCallView {
  /** @type {FakeCallView[]} */
  static instances = [];

  /** @param {any} handlers @param {{code: string, roomName: string}} room */
  constructor(handlers, room) {
    this.handlers = handlers;
    this.room = room;
    /** @type {Map<string, {name: string, self: boolean, peerId?: string, state: Record<string, any>, stream: any, onPlaying: (() => void)[]}>} */
    this.tiles = new Map();
    /** @type {{text: string, kind: string} | null} */
    this.banner = null;
    /** @type {{title: string, text: string, actions: {label: string, run: () => void, primary?: boolean}[], detail?: string} | null} */
    this.overlay = null;
    /** @type {any[]} */
    this.messages = [];
    /** @type {string[]} */
    this.systemMessages = [];
    /** @type {any} */
    this.controls = null;
    /** @type {any} */
    this.devices = null;
    this.soundBlocked = false;
    this.soundEnabled = 0;
    /** @type {string | null} */
    this.copyStatus = null;
    /** Whether showStream resolves "playing with sound" (false: autoplay blocked it). */
    this.playOk = true;
    this.destroyed = false;
    /** @type {{open: boolean, unread: number}} */
    this.chat = { open: false, unread: 0 };
    /** @type {number | null} */
    this.people = null;
    /** @type {string[]} what the live region said */
    this.announcements = [];
    this.helpOpen = false;
    FakeCallView.instances.push(this);
  }
  /** @param {string} id @param {string} name @param {boolean} self */
  addTile(id, name, self) {
    const known = this.tiles.get(id);
    if (known) known.name = name;
    else this.tiles.set(id, { name, self, state: {}, stream: null, onPlaying: [] });
    return this.tiles.get(id);
  }
  /** @param {string} id */
  removeTile(id) {
    this.tiles.delete(id);
  }
  /** @param {string} id @param {Record<string, any>} s */
  updateTile(id, s) {
    const t = this.tiles.get(id);
    if (t) Object.assign(t.state, s);
  }
  /** @param {string} key @param {string} peerId */
  setPeerId(key, peerId) {
    const t = this.tiles.get(key);
    if (t) t.peerId = peerId;
  }
  /** @param {string} id @param {() => void} fn */
  onTilePlaying(id, fn) {
    this.tiles.get(id)?.onPlaying.push(fn);
  }
  /** @param {string} id @param {any} stream */
  showStream(id, stream) {
    const t = this.tiles.get(id);
    if (t) t.stream = stream;
    return Promise.resolve(this.playOk);
  }
  async enableSound() {
    this.soundEnabled++;
  }
  /** @param {boolean} blocked */
  setSoundBlocked(blocked) {
    this.soundBlocked = blocked;
  }
  /** @param {any} s */
  setControls(s) {
    this.controls = s;
  }
  /** @param {any} devices @param {any} current */
  setDevices(devices, current) {
    this.devices = { devices, current };
  }
  /** @param {any} m */
  addMessage(m) {
    this.messages.push(m);
  }
  /** @param {string} text */
  addSystemMessage(text) {
    this.systemMessages.push(text);
  }
  /** @param {string | null} text @param {string} [kind] */
  setBanner(text, kind = 'info') {
    this.banner = text ? { text, kind } : null;
  }
  /** @param {string} text */
  flashCopyStatus(text) {
    this.copyStatus = text;
  }
  /** @param {string} title @param {string} text @param {any[]} actions @param {string} [detail] */
  showOverlay(title, text, actions, detail) {
    this.overlay = { title, text, actions, detail };
  }
  hideOverlay() {
    this.overlay = null;
  }
  /** @param {{open: boolean, unread: number}} s */
  setChat(s) {
    this.chat = { ...s };
  }
  /** @param {number} n */
  setPeople(n) {
    this.people = n;
  }
  /** @param {string} text */
  announce(text) {
    this.announcements.push(text);
  }
  /** @param {boolean} [open] */
  toggleHelp(open = !this.helpOpen) {
    this.helpOpen = open;
  }
  destroy() {
    this.destroyed = true;
  }
  /** The labels of the overlay's buttons, the primary ones marked with `*`. */
  overlayActions() {
    return this.overlay?.actions.map((a) => (a.primary ? `${a.label}*` : a.label)) ?? [];
  }
  /** Clicks the overlay's button `label`. @param {string} label */
  clickOverlay(label) {
    const a = this.overlay?.actions.find((x) => x.label === label);
    if (!a) throw new Error(`no "${label}" on the overlay (${this.overlayActions().join(', ')})`);
    a.run();
  }
}
