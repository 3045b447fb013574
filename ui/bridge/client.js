// @ts-check
/**
 * The page's end of the WebRTC bridge (docs/BRIDGE.md): a loopback WebSocket to the
 * bridge beside this page's own node, over which the page drives native peer
 * connections with JSON requests and exchanges encoded media in binary frames.
 *
 * One {@link BridgeSession} is one socket: request ids, the peer connections it holds
 * and its events belong to it, and all of them end with it. The {@link BridgeClient}
 * opens a session when one is first needed and a fresh one after the last one closed
 * (the node may have been restarted: the URL and secret are asked again each time),
 * so a peer connection made after a drop works again, while the connections of the
 * dropped session fail (they were closed on the bridge's side).
 *
 * Nothing here knows RTCPeerConnection; rtc-shim.js builds that on top.
 */
import { Emitter } from '../emitter.js';

/** A request the bridge refused (its `error.code`), or the session ended (`closed`). */
export class BridgeError extends Error {
  /**
   * @param {string} code
   * @param {string} message
   */
  constructor(code, message) {
    super(message);
    this.name = 'BridgeError';
    this.code = code;
  }
}

/** @typedef {{maxText: number, maxFrame: number, maxPeers: number}} BridgeLimits */

/**
 * How long a session may take from opening the socket to the bridge's `ready`.
 * A hang guard: on loopback it takes milliseconds.
 */
const READY_TIMEOUT_MS = 10_000;

/** How many requests {@link BridgeClient#trace} keeps (a join takes a few dozen). */
const TRACE_REQUESTS = 64;

/** @returns {number} ms on the page's clock (0 where there is none) */
function now() {
  return globalThis.performance?.now() ?? 0;
}

/** A flow ack goes to the bridge after this many media frames read... */
export const ACK_EVERY_FRAMES = 32;
/** ...or this many bytes (well inside the bridge's window of 256 frames / 1 MiB). */
export const ACK_EVERY_BYTES = 128 * 1024;

/**
 * A flow ack: `[0x03][0][0][0][frames: u32 BE][bytes: u64 BE]`, counted from the
 * session's start (frames wrap at 2^32).
 * @param {number} frames
 * @param {number} bytes
 * @returns {ArrayBuffer}
 */
export function encodeAck(frames, bytes) {
  const buf = new ArrayBuffer(16);
  const v = new DataView(buf);
  v.setUint8(0, 0x03);
  v.setUint32(4, frames >>> 0);
  v.setBigUint64(8, BigInt(Math.max(0, Math.floor(bytes))));
  return buf;
}

/**
 * One WebSocket to the bridge. Events: `event` (every event object, after routing),
 * `frame` (ArrayBuffer, a remote media frame), `closed` ({code, reason}).
 * Peer events go to the handler registered for their `pc` ({@link BridgeSession#route}).
 */
export class BridgeSession extends Emitter {
  /**
   * @param {any} ws an open-or-opening WebSocket (browser API: onopen/onmessage/onclose)
   * @param {{log?: (...m: any[]) => void}} [opts]
   */
  constructor(ws, opts = {}) {
    super();
    this.ws = ws;
    ws.binaryType = 'arraybuffer';
    this._log = opts.log ?? (() => {});
    this._nextId = 1;
    /** @type {Map<number, {resolve: (v: any) => void, reject: (e: Error) => void, op: string, at: number}>} */
    this._pending = new Map();
    /**
     * The first {@link TRACE_REQUESTS} requests: when each went out and how long its reply
     * took (ms, the page's clock), for the join benchmark's breakdown.
     * @type {{op: string, at: number, ms: number}[]}
     */
    this.trace = [];
    /** @type {Map<number, (ev: any) => void>} */
    this._routes = new Map();
    /** @type {BridgeLimits | null} */
    this.limits = null;
    this.closed = false;
    /** Frames the page sent (for stats and tests). */
    this.framesSent = 0;
    this.framesReceived = 0;
    /** Media bytes received; with framesReceived, what the flow acks tell the bridge. */
    this.bytesReceived = 0;
    this._ackedFrames = 0;
    this._ackedBytes = 0;
    /** @type {Promise<BridgeSession>} resolves on `ready`, rejects if the socket ends first */
    this.ready = new Promise((resolve, reject) => {
      this._readyResolve = resolve;
      this._readyReject = reject;
    });
    ws.onmessage = (/** @type {{data: any}} */ ev) => this._onMessage(ev.data);
    ws.onclose = (/** @type {{code?: number, reason?: string}} */ ev) => this._onClose(ev?.code ?? 1006, ev?.reason ?? '');
    ws.onerror = () => {
      // A close follows; nothing else to do (a browser says nothing more about why).
    };
  }

  /**
   * Sends a request and resolves with its result, or rejects with a {@link BridgeError}.
   * @param {string} op
   * @param {Record<string, any>} [fields]
   * @returns {Promise<any>}
   */
  request(op, fields = {}) {
    if (this.closed) return Promise.reject(new BridgeError('closed', 'the bridge session has ended'));
    const id = this._nextId++;
    return new Promise((resolve, reject) => {
      this._pending.set(id, { resolve, reject, op, at: now() });
      try {
        this.ws.send(JSON.stringify({ ...fields, id, op }));
      } catch (err) {
        this._pending.delete(id);
        reject(new BridgeError('closed', `could not send to the bridge: ${err instanceof Error ? err.message : err}`));
      }
    });
  }

  /**
   * Sends a media frame (16-byte page header + chunk); dropped when the socket is not
   * open (the media engine sends a keyframe when asked again).
   * @param {ArrayBuffer | ArrayBufferView} buf
   * @returns {boolean} whether it went out
   */
  sendFrame(buf) {
    if (this.closed || this.ws.readyState !== 1) return false;
    try {
      this.ws.send(buf);
      this.framesSent += 1;
      return true;
    } catch {
      return false;
    }
  }

  /** Bytes the socket has not sent yet (the media engine may skip frames while high). */
  get bufferedAmount() {
    return this.ws.bufferedAmount ?? 0;
  }

  /**
   * Routes the events of peer connection `pc` to `handler` (until `unroute`).
   * @param {number} pc
   * @param {(ev: any) => void} handler
   */
  route(pc, handler) {
    this._routes.set(pc, handler);
  }

  /** @param {number} pc */
  unroute(pc) {
    this._routes.delete(pc);
  }

  /** Ends the session: the bridge closes every connection of it. */
  close() {
    if (this.closed) return;
    try {
      this.ws.close(1000, 'done');
    } catch {
      // already closing
    }
    this._onClose(1000, 'closed by the page');
  }

  /**
   * Tells the bridge what this page has read (docs/BRIDGE.md, "Flow"): it then keeps at
   * most a window of media unread, so its replies never wait behind seconds of media
   * when this page's main thread is slow. Sent after the frames were handed on, every
   * {@link ACK_EVERY_FRAMES} frames or {@link ACK_EVERY_BYTES} bytes.
   */
  _ackIfDue() {
    if (this.framesReceived - this._ackedFrames < ACK_EVERY_FRAMES && this.bytesReceived - this._ackedBytes < ACK_EVERY_BYTES) return;
    if (this.closed || this.ws.readyState !== 1) return;
    this._ackedFrames = this.framesReceived;
    this._ackedBytes = this.bytesReceived;
    try {
      this.ws.send(encodeAck(this.framesReceived, this.bytesReceived));
    } catch {
      // the socket is closing; its close handler says so
    }
  }

  /** @param {any} data */
  _onMessage(data) {
    if (typeof data !== 'string') {
      const buf = data instanceof ArrayBuffer ? data : data?.buffer instanceof ArrayBuffer ? data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) : null;
      if (buf) {
        this.framesReceived += 1;
        this.bytesReceived += buf.byteLength;
        this.emit('frame', buf);
        this._ackIfDue();
      }
      return;
    }
    let msg;
    try {
      msg = JSON.parse(data);
    } catch {
      this._log('unreadable message from the bridge');
      return;
    }
    if (!msg || typeof msg !== 'object') return;
    if (typeof msg.event === 'string') {
      if (msg.event === 'ready') {
        this.limits = msg.limits ?? null;
        this._readyResolve?.(this);
      }
      const route = typeof msg.pc === 'number' ? this._routes.get(msg.pc) : undefined;
      if (route) {
        try {
          route(msg);
        } catch (err) {
          this._log(`handler of ${msg.event} failed`, err);
        }
      }
      this.emit('event', msg);
      return;
    }
    if (typeof msg.id !== 'number') {
      // `id: null`: the bridge could not read something we sent.
      this._log('the bridge refused a message', msg.error);
      return;
    }
    const p = this._pending.get(msg.id);
    if (!p) return;
    this._pending.delete(msg.id);
    if (this.trace.length < TRACE_REQUESTS) this.trace.push({ op: p.op, at: p.at, ms: now() - p.at });
    if (msg.ok) p.resolve(msg.result ?? {});
    else p.reject(new BridgeError(String(msg.error?.code ?? 'error'), `${p.op}: ${msg.error?.message ?? 'failed'}`));
  }

  /**
   * @param {number} code
   * @param {string} reason
   */
  _onClose(code, reason) {
    if (this.closed) return;
    this.closed = true;
    this.ws.onmessage = this.ws.onclose = this.ws.onerror = null;
    const err = new BridgeError('closed', `the bridge session ended (${code}${reason ? ` ${reason}` : ''})`);
    this._readyReject?.(err);
    for (const p of this._pending.values()) p.reject(err);
    this._pending.clear();
    this.emit('closed', { code, reason });
    this._routes.clear();
  }
}

/**
 * @typedef {object} BridgeClientOptions
 * @property {() => Promise<{url: string, secret: string}>} locate where the bridge is
 *   (`GET /api/bridge` of the page's own node), asked for each new session
 * @property {new (url: string) => any} WebSocket
 * @property {(...m: any[]) => void} [log]
 */

/**
 * Opens sessions to the bridge. Events: `session` (a new {@link BridgeSession}),
 * `frame` (ArrayBuffer, any session's remote frame), `event` (any session's event),
 * `closed` (the current session ended).
 */
export class BridgeClient extends Emitter {
  /** @param {BridgeClientOptions} opts */
  constructor(opts) {
    super();
    this._opts = opts;
    this._log = opts.log ?? (() => {});
    /** @type {Promise<BridgeSession> | null} */
    this._opening = null;
    /** @type {BridgeSession | null} */
    this.current = null;
  }

  /**
   * The open session, or a new one (fails with a {@link BridgeError} when the bridge
   * cannot be reached).
   * @returns {Promise<BridgeSession>}
   */
  session() {
    if (this.current && !this.current.closed) return Promise.resolve(this.current);
    if (!this._opening) {
      this._opening = this._open().finally(() => {
        this._opening = null;
      });
    }
    return this._opening;
  }

  /** @returns {Promise<BridgeSession>} */
  async _open() {
    let where;
    try {
      where = await this._opts.locate();
    } catch (err) {
      throw new BridgeError('unreachable', `no bridge: ${err instanceof Error ? err.message : err}`);
    }
    const url = `${where.url}${where.url.includes('?') ? '&' : '?'}secret=${encodeURIComponent(where.secret)}`;
    const ws = new this._opts.WebSocket(url);
    const session = new BridgeSession(ws, { log: this._log });
    /** @type {any} */
    let timer = null;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new BridgeError('timeout', 'the bridge did not greet in time')), READY_TIMEOUT_MS);
    });
    try {
      await Promise.race([session.ready, timeout]);
    } catch (err) {
      session.close();
      throw err;
    } finally {
      clearTimeout(timer);
    }
    session.on('frame', (buf) => this.emit('frame', buf));
    session.on('event', (ev) => this.emit('event', ev));
    session.on('closed', (why) => {
      if (this.current === session) this.current = null;
      this._log('bridge session closed', why);
      this.emit('closed', why);
    });
    this.current = session;
    this.emit('session', session);
    return session;
  }

  /**
   * Sends a media frame on the current session (dropped if there is none).
   * @param {ArrayBuffer | ArrayBufferView} buf
   */
  sendFrame(buf) {
    return this.current ? this.current.sendFrame(buf) : false;
  }

  /**
   * A request on the current session (a new one if needed). For requests that are not
   * about one peer connection's life (those go through the connection's own session).
   * @param {string} op
   * @param {Record<string, any>} [fields]
   */
  async request(op, fields) {
    const s = await this.session();
    return s.request(op, fields);
  }

  /** Ends the current session. */
  close() {
    this.current?.close();
    this.current = null;
  }
}

/**
 * Asks the page's own node where its bridge is: `{url, secret}`, or null when the
 * node runs without one (404 `no-bridge`) or cannot say.
 * @param {(url: string, init?: any) => Promise<any>} fetchFn
 * @param {string} [base] the node's origin ('' for the page's own)
 * @returns {Promise<{url: string, secret: string} | null>}
 */
export async function locateBridge(fetchFn, base = '') {
  let res;
  try {
    res = await fetchFn(`${base}/api/bridge`, { headers: { Accept: 'application/json' }, cache: 'no-store' });
  } catch {
    return null;
  }
  if (!res || !res.ok) return null;
  let body;
  try {
    body = await res.json();
  } catch {
    return null;
  }
  if (!body || typeof body.url !== 'string' || typeof body.secret !== 'string') return null;
  if (!/^ws:\/\/(127\.0\.0\.1|localhost|\[::1\]):\d+\//.test(body.url)) return null; // loopback only, as the bridge binds
  return { url: body.url, secret: body.secret };
}
