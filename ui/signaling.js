// @ts-check
/**
 * The peer-socket client: one WebSocket to the hosting node's `/ws`, speaking
 * docs/PROTOCOL.md's join/welcome/signal/leave, and keeping the person in the room when
 * the socket drops.
 *
 * Why resume matters: media flows peer to peer, so a dropped signaling socket must
 * not end the call. After a drop we reconnect with backoff and join with
 * `resume` = the last token; the node gives our id back (`resumed: true`), delivers
 * the signals it held for us, and nobody sees us leave. Signals we send while the
 * socket is down are queued and sent after a resumed `welcome` (dropped when the
 * node hands out a new id, because every peer starts over then).
 *
 * Events (see {@link Emitter}):
 * - `status`  `{status, attempt?, delayMs?}` — `connecting | joined | reconnecting | closed`
 * - `welcome` `{id, token, resumed, room, peers, reconnect, iceServers}` — `reconnect`
 *   is true after the first welcome of this client; `iceServers` [ext] the node's
 *   (its relay with this member's credentials), [] when it sent none
 * - `token`   the fresh resume token (store it to survive a reload)
 * - `open`    a socket opened and `join` went out (diagnostics: the join's timeline)
 * - `peer-joined` `{id, name}`, `peer-left` `id`, `signal` `{from, data}`
 * - `sent` `{to, data}` — a signal we sent or queued (diagnostics)
 * - `warning` `{code, message}` — node errors that leave the socket open
 * - `ended`   `{code, message}` — the client stopped for good: `left`, `closed`,
 *   `room-closed`, `replaced`, `unreachable`, `gave-up`, or a node error code such
 *   as `room-not-found`, `room-full`, `bad-passcode`
 *
 * WebSocket and timers are injected so the logic runs under Node's test runner.
 */
import { Emitter } from './emitter.js';

/** Node error codes after which reconnecting cannot help. */
const FATAL = new Set(['room-not-found', 'room-full', 'bad-passcode', 'already-joined', 'not-joined']);

/** At most this many signals wait for a lost socket (the node's own buffer is 256). */
const MAX_QUEUE = 256;

/**
 * @typedef {object} Timers
 * @property {(fn: () => void, ms: number) => any} setTimeout
 * @property {(handle: any) => void} clearTimeout
 */

/**
 * @typedef {object} SignalingOptions
 * @property {string} url           `ws://HOST:PORT/ws`
 * @property {string} room          room code
 * @property {string} name          shown to the others
 * @property {string} [passcode]
 * @property {string} [token]       resume token from an earlier page (reload)
 * @property {any} [WebSocket]      constructor, defaults to the global one
 * @property {Timers} [timers]
 * @property {number[]} [backoffMs] delays between reconnect attempts (last one repeats)
 * @property {number} [maxAttempts] reconnect attempts before giving up
 * @property {number} [openTimeoutMs]    a socket that does not open by then is retried
 * @property {number} [welcomeTimeoutMs] a join not answered by then is retried
 */

/** @typedef {{id: string, name: string}} PeerInfo */

export class SignalingClient extends Emitter {
  /** @param {SignalingOptions} opts */
  constructor(opts) {
    super();
    this.url = opts.url;
    this.room = opts.room;
    this.name = opts.name;
    this.passcode = opts.passcode || undefined;
    /** @type {string | undefined} */
    this.token = opts.token || undefined;
    this.WebSocket = opts.WebSocket ?? globalThis.WebSocket;
    this.timers = opts.timers ?? { setTimeout: (f, ms) => setTimeout(f, ms), clearTimeout: (h) => clearTimeout(h) };
    this.backoffMs = opts.backoffMs ?? [250, 500, 1000, 2000, 3000, 5000];
    this.maxAttempts = opts.maxAttempts ?? 60;
    this.openTimeoutMs = opts.openTimeoutMs ?? 8000;
    this.welcomeTimeoutMs = opts.welcomeTimeoutMs ?? 10000;

    /** @type {'idle' | 'connecting' | 'joined' | 'reconnecting' | 'closed'} */
    this.status = 'idle';
    /** @type {string | null} our peer id, once welcomed */
    this.id = null;
    /** @type {any} */
    this.ws = null;
    this.welcomed = false;
    this.attempt = 0;
    /** @type {any[]} frames waiting for a socket */
    this.queue = [];
    /** @type {{code: string, message: string} | null} */
    this._lastError = null;
    this._roomClosed = false;
    this._stopping = /** @type {null | 'left' | 'closed'} */ (null);
    this._timer = null;
    this._socketTimer = null;
  }

  /** Opens the first socket. */
  connect() {
    if (this.status !== 'idle') return;
    this._setStatus('connecting');
    this._open();
  }

  /**
   * Sends `data` to peer `to` (queued while the socket is down).
   * @param {string} to
   * @param {any} data
   */
  send(to, data) {
    const frame = { type: 'signal', to, data };
    this.emit('sent', { to, data });
    if (this.status === 'joined' && this.ws && this.ws.readyState === 1) {
      this._sendFrame(frame);
    } else if (this.status !== 'closed' && this.queue.length < MAX_QUEUE) {
      this.queue.push(frame);
    }
  }

  /** Leaves the room for good: the others see us go at once. */
  leave() {
    if (this.status === 'closed') return;
    this._stopping = 'left';
    if (this.ws && this.ws.readyState === 1 && this.status === 'joined') {
      this._sendFrame({ type: 'leave' });
    }
    this._finish({ code: 'left', message: 'You left the room.' });
  }

  /** Closes without `leave` (the node holds our id for its grace period). */
  close() {
    if (this.status === 'closed') return;
    this._stopping = 'closed';
    this._finish({ code: 'closed', message: 'Disconnected.' });
  }

  // ---- internals ----

  _open() {
    this._lastError = null;
    let ws;
    try {
      ws = new this.WebSocket(this.url);
    } catch (err) {
      // A malformed URL throws synchronously: no retry can fix it.
      this._finish({ code: 'unreachable', message: `Cannot open ${this.url}: ${errorText(err)}` });
      return;
    }
    this.ws = ws;
    let opened = false;
    this._armSocketTimer(this.openTimeoutMs, () => ws.close());
    ws.onopen = () => {
      if (ws !== this.ws) return;
      opened = true;
      /** @type {Record<string, string>} */
      const join = { type: 'join', room: this.room, name: this.name };
      if (this.passcode) join.passcode = this.passcode;
      if (this.token) join.resume = this.token;
      this._sendFrame(join);
      this._armSocketTimer(this.welcomeTimeoutMs, () => ws.close());
      this.emit('open');
    };
    ws.onmessage = (/** @type {{data: any}} */ ev) => {
      if (ws !== this.ws) return;
      this._onFrame(ev.data);
    };
    ws.onerror = () => {};
    ws.onclose = (/** @type {{code: number, reason: string}} */ ev) => {
      if (ws !== this.ws) return;
      this._onClose(ev.code, ev.reason || '', opened);
    };
  }

  /** @param {any} raw */
  _onFrame(raw) {
    let msg;
    try {
      msg = JSON.parse(typeof raw === 'string' ? raw : String(raw));
    } catch {
      return;
    }
    if (!msg || typeof msg !== 'object') return;
    switch (msg.type) {
      case 'welcome':
        return this._onWelcome(msg);
      case 'peer-joined':
        if (msg.peer && typeof msg.peer.id === 'string') {
          this.emit('peer-joined', { id: msg.peer.id, name: String(msg.peer.name ?? '') });
        }
        return;
      case 'peer-left':
        if (typeof msg.id === 'string') this.emit('peer-left', msg.id);
        return;
      case 'signal':
        if (typeof msg.from === 'string') this.emit('signal', { from: msg.from, data: msg.data ?? null });
        return;
      case 'error': {
        const err = { code: String(msg.code ?? 'error'), message: String(msg.message ?? '') };
        if (err.code === 'bad-message' || err.code === 'unknown-peer' || err.code === 'rate-limited') {
          this.emit('warning', err);
        } else {
          // The node closes after these; the close decides what happens next.
          this._lastError = err;
        }
        return;
      }
      case 'room-closed':
        this._roomClosed = true;
        return;
      default:
        return; // newer node, unknown message: ignore (the protocol only grows)
    }
  }

  /** @param {any} msg */
  _onWelcome(msg) {
    if (typeof msg.id !== 'string') return;
    this._clearSocketTimer();
    const reconnect = this.welcomed;
    const resumed = msg.resumed === true && this.id === msg.id;
    this.welcomed = true;
    this.attempt = 0;
    this.id = msg.id;
    if (typeof msg.token === 'string') {
      this.token = msg.token;
      this.emit('token', msg.token);
    }
    /** @type {PeerInfo[]} */
    const peers = Array.isArray(msg.peers)
      ? msg.peers.filter((/** @type {any} */ p) => p && typeof p.id === 'string').map((/** @type {any} */ p) => ({ id: p.id, name: String(p.name ?? '') }))
      : [];
    const queued = this.queue;
    this.queue = [];
    this._setStatus('joined');
    this.emit('welcome', {
      id: msg.id,
      token: msg.token,
      resumed: msg.resumed === true,
      room: msg.room ?? null,
      peers,
      reconnect,
      iceServers: iceServersOf(msg.iceServers),
    });
    // Queued signals belong to the old id's connections: only a resumed id can use them.
    if (resumed) {
      for (const frame of queued) this._sendFrame(frame);
    }
  }

  /**
   * @param {number} code
   * @param {string} reason
   * @param {boolean} opened
   */
  _onClose(code, reason, opened) {
    this.ws = null;
    this._clearSocketTimer();
    if (this.status === 'closed') return;
    if (this._roomClosed || reason === 'room-closed') {
      this._finish({ code: 'room-closed', message: 'The host closed this room.' });
      return;
    }
    if (reason === 'replaced') {
      this._finish({ code: 'replaced', message: 'This call was opened again in another tab or window.' });
      return;
    }
    const err = this._lastError ?? ((code === 1008 || code === 1009) && reason ? { code: reason, message: '' } : null);
    if (err && FATAL.has(err.code)) {
      this._finish(err);
      return;
    }
    if (!this.welcomed) {
      // The very first join failed: say so now rather than retry behind the person's back.
      if (err) this._finish(err);
      else if (!opened) this._finish({ code: 'unreachable', message: `Could not reach the room's host at ${this.url}.` });
      else this._finish({ code: 'connection-lost', message: 'The room\'s host closed the connection before letting us in.' });
      return;
    }
    this._scheduleReconnect();
  }

  _scheduleReconnect() {
    this.attempt += 1;
    if (this.attempt > this.maxAttempts) {
      this._finish({ code: 'gave-up', message: 'Lost the connection to the room and could not get it back.' });
      return;
    }
    const delayMs = this.backoffMs[Math.min(this.attempt - 1, this.backoffMs.length - 1)] ?? 1000;
    this._setStatus('reconnecting', { attempt: this.attempt, delayMs });
    this._timer = this.timers.setTimeout(() => {
      this._timer = null;
      if (this.status === 'reconnecting') this._open();
    }, delayMs);
  }

  /** @param {{code: string, message: string}} why */
  _finish(why) {
    if (this.status === 'closed') return;
    if (this._timer) this.timers.clearTimeout(this._timer);
    this._timer = null;
    this._clearSocketTimer();
    const ws = this.ws;
    this.ws = null;
    this.queue = [];
    if (ws) {
      try {
        ws.close(1000, this._stopping === 'left' ? 'leave' : 'bye');
      } catch {
        // already closing
      }
    }
    this._setStatus('closed');
    this.emit('ended', why);
  }

  /** @param {any} frame */
  _sendFrame(frame) {
    try {
      this.ws?.send(JSON.stringify(frame));
    } catch {
      // The close event that follows handles it.
    }
  }

  /**
   * @param {number} ms
   * @param {() => void} fn
   */
  _armSocketTimer(ms, fn) {
    this._clearSocketTimer();
    this._socketTimer = this.timers.setTimeout(() => {
      this._socketTimer = null;
      fn();
    }, ms);
  }

  _clearSocketTimer() {
    if (this._socketTimer) this.timers.clearTimeout(this._socketTimer);
    this._socketTimer = null;
  }

  /**
   * @param {'connecting' | 'joined' | 'reconnecting' | 'closed'} status
   * @param {object} [extra]
   */
  _setStatus(status, extra = {}) {
    this.status = status;
    this.emit('status', { status, ...extra });
  }
}

/** @param {unknown} err */
function errorText(err) {
  return err instanceof Error ? err.message : String(err);
}

/**
 * The well-formed entries of a welcome's `iceServers` [ext]: objects whose `urls` is
 * a string or strings; anything else is dropped (a newer or broken node costs the
 * call nothing).
 * @param {unknown} v
 * @returns {RTCIceServer[]}
 */
export function iceServersOf(v) {
  if (!Array.isArray(v)) return [];
  /** @type {RTCIceServer[]} */
  const out = [];
  for (const s of v.slice(0, 8)) {
    if (!s || typeof s !== 'object') continue;
    const urls = [/** @type {any} */ (s).urls].flat().filter((u) => typeof u === 'string');
    if (!urls.length) continue;
    /** @type {RTCIceServer} */
    const server = { urls };
    const { username, credential } = /** @type {any} */ (s);
    if (typeof username === 'string') server.username = username;
    if (typeof credential === 'string') server.credential = credential;
    out.push(server);
  }
  return out;
}
