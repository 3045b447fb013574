// @ts-check
/**
 * Decides, at page load, whether this page makes its calls through the WebRTC bridge
 * (docs/BRIDGE.md), and if so builds what the call needs: the shim's
 * `RTCPeerConnection`, the media engine, and the `MediaStream` class remote streams
 * are made of.
 *
 * The bridge is used only when all of these hold:
 * - the page has no `RTCPeerConnection` of its own (a browser that has one uses it);
 * - the page is one of its own node's (`http://127.0.0.1:PORT` or `localhost`, as the
 *   desktop window and the local UI are): a guest's page (HTTPS from a host's LAN
 *   port) never does, its node is not on this machine;
 * - the node answers `GET /api/bridge` (run with `--bridge`, or the desktop app), and
 *   the bridge greets a session.
 */
import { BridgeClient, locateBridge } from './client.js';
import { createBridgeRTC } from './rtc-shim.js';

/** Host names of this machine: the only pages that may use its bridge. */
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

/**
 * Whether a page at `location` may use a bridge at all (its own node's page over http).
 * @param {{protocol: string, hostname: string}} location
 */
export function mayUseBridge(location) {
  return location.protocol === 'http:' && LOOPBACK.has(location.hostname);
}

/**
 * @typedef {object} InstallOptions
 * @property {boolean} hasNativeRTC the page has its own RTCPeerConnection
 * @property {{protocol: string, hostname: string}} location
 * @property {(url: string, init?: any) => Promise<any>} fetch
 * @property {new (url: string) => any} WebSocket
 * @property {(client: BridgeClient, log: (...m: any[]) => void) => Promise<{media: any, MediaStream: any} | null>} [loadMedia]
 *   the media engine for this client (none: calls carry the data channel only)
 * @property {(...m: any[]) => void} [log]
 */

/**
 * @typedef {object} InstalledBridge
 * @property {any} RTCPeerConnection the shim's
 * @property {any} MediaStream the class remote streams are made of
 * @property {any} media the media engine (null without one)
 * @property {BridgeClient} client
 * @property {() => any[]} connections the shim's open connections (tests, diagnostics)
 */

/**
 * @param {InstallOptions} opts
 * @returns {Promise<InstalledBridge | null>}
 */
export async function installBridge(opts) {
  if (opts.hasNativeRTC || !mayUseBridge(opts.location) || typeof opts.WebSocket !== 'function') return null;
  const log = opts.log ?? (() => {});
  const first = await locateBridge(opts.fetch);
  if (!first) return null;
  let located = first;
  const client = new BridgeClient({
    // The first answer serves the first session; later sessions ask again (a node
    // restarted meanwhile has a new bridge and secret).
    locate: async () => {
      const where = located ?? (await locateBridge(opts.fetch));
      located = null;
      if (!where) throw new Error('the node offers no bridge now');
      return where;
    },
    WebSocket: opts.WebSocket,
    log,
  });
  try {
    await client.session();
  } catch (err) {
    log('the bridge did not answer', err);
    return null;
  }
  let media = null;
  let MediaStream = null;
  if (opts.loadMedia) {
    try {
      const m = await opts.loadMedia(client, log);
      media = m?.media ?? null;
      MediaStream = m?.MediaStream ?? null;
    } catch (err) {
      log('no media engine for the bridge', err);
    }
  }
  const rtc = createBridgeRTC({ client, media, MediaStream, log });
  return { RTCPeerConnection: rtc.RTCPeerConnection, MediaStream, media, client, connections: rtc.connections };
}
