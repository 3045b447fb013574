// @ts-check
/**
 * The control API of the node this page was loaded from (same origin, so the node's
 * Host/Origin checks pass). Every call either returns data or throws an
 * {@link ApiError} whose `code` the views turn into a sentence.
 */

/** A failed control-API call. `code` is the node's error code, or `unreachable`. */
export class ApiError extends Error {
  /**
   * @param {string} code
   * @param {string} message
   * @param {number} status HTTP status, 0 when the node did not answer
   */
  constructor(code, message, status) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.status = status;
  }
}

/**
 * @typedef {object} CreatedRoom
 * @property {string} code
 * @property {string} name
 * @property {boolean} listed
 * @property {number} capacity
 * @property {string} ws
 * @property {string} invite
 */

/**
 * @typedef {object} LanRoom
 * @property {string} code
 * @property {string} name
 * @property {string} host
 * @property {string} ws
 * @property {number} peers
 * @property {number} capacity
 * @property {boolean} local
 */

/**
 * @param {string} path
 * @param {RequestInit} [init]
 * @param {number} [timeoutMs]
 */
async function call(path, init = {}, timeoutMs = 8000) {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), timeoutMs);
  let res;
  try {
    res = await fetch(path, { ...init, signal: ctl.signal, headers: { Accept: 'application/json', ...(init.headers ?? {}) } });
  } catch {
    throw new ApiError('unreachable', 'This page cannot reach its lanmeet node. Is lanmeet still running?', 0);
  } finally {
    clearTimeout(timer);
  }
  if (res.status === 204) return null;
  let body = null;
  try {
    body = await res.json();
  } catch {
    body = null;
  }
  if (!res.ok) {
    const e = body?.error;
    throw new ApiError(e?.code ?? `http-${res.status}`, e?.message ?? `The node answered ${res.status}.`, res.status);
  }
  return body;
}

/** @returns {Promise<{ok: boolean, version: string}>} */
export function health() {
  return call('/api/health', {}, 3000);
}

/**
 * How browser guests reach this node (docs/PROTOCOL.md "Guests over HTTPS"): the
 * HTTPS origin of its LAN port and its certificate's fingerprint, `null` when it
 * serves no HTTPS.
 * @typedef {{origin: string, fingerprint: string}} GuestAccess
 */

/**
 * This node: its name, ports, addresses, and how guests reach it.
 * @returns {Promise<{name: string, lanHost: string, lanPort: number, guest: GuestAccess | null}>}
 */
export function nodeInfo() {
  return call('/api/node', {}, 4000);
}

/**
 * The address of `text` drawn as a QR code (SVG) by this node, for an `<img>`.
 * @param {string} text
 */
export function qrImageUrl(text) {
  return `/api/qr?text=${encodeURIComponent(text)}`;
}

/**
 * Asks this node to host a room.
 * @param {{name?: string, passcode?: string | null, listed?: boolean, capacity?: number}} opts
 * @returns {Promise<CreatedRoom>}
 */
export function createRoom(opts) {
  /** @type {Record<string, unknown>} */
  const body = {};
  if (opts.name) body.name = opts.name;
  if (opts.passcode) body.passcode = opts.passcode;
  if (opts.listed !== undefined) body.listed = opts.listed;
  if (opts.capacity) body.capacity = opts.capacity;
  return call('/api/rooms', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
}

/** @returns {Promise<LanRoom[]>} */
export async function lanRooms() {
  const list = await call('/api/lan/rooms', {}, 4000);
  return Array.isArray(list) ? list : [];
}

/**
 * Finds the node hosting `code` (rooms of this node, then the LAN).
 * @param {string} code
 * @returns {Promise<{code: string, ws: string}>}
 */
export function resolveRoom(code) {
  return call(`/api/lan/resolve/${encodeURIComponent(code)}`);
}
