// @ts-check
/**
 * Browser guests: a page opened from a host's guest link (`https://HOST:PORT/?room=CODE`,
 * docs/PROTOCOL.md "Guests over HTTPS") on a phone or a laptop without lanmeet.
 *
 * Such a page has no node of its own: the node that served it is the host's, over
 * its LAN port, which answers the peer socket, health and the room check and nothing
 * of the control API. So a guest page joins rooms on its own origin only, over
 * `wss://` (an `ws://` socket from an `https:` page would be blocked as mixed
 * content), and its lobby is name + Join: it can neither host nor list rooms.
 *
 * Everything here is plain logic over `location`-like objects and a `fetch`, tested
 * without a browser.
 */
import { ApiError } from './api.js';
import { normalizeCode } from './codes.js';
import { t } from './i18n.js';

/** Host names that are this machine: pages from them are the local UI, never a guest's. */
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

/**
 * Whether this page is a guest's: served over HTTPS from a host that is not loopback.
 * (The local UI is `http://127.0.0.1:PORT`, the desktop app's window the same.)
 * @param {{protocol: string, hostname: string}} location
 */
export function isGuestPage(location) {
  return location.protocol === 'https:' && !LOOPBACK.has(location.hostname);
}

/**
 * The peer socket of the node that served a guest's page.
 * @param {{host: string}} location
 */
export function guestSocketUrl(location) {
  return `wss://${location.host}/ws`;
}

/**
 * The guest link for a room whose peer socket is `ws` (`ws://HOST:PORT/ws` or
 * `wss://…`): the same node's HTTPS page with the room filled in; `null` when `ws`
 * is not a peer-socket URL.
 * @param {string} ws
 * @param {string} code
 * @returns {string | null}
 */
export function guestLinkFor(ws, code) {
  let url;
  try {
    url = new URL(ws);
  } catch {
    return null;
  }
  if ((url.protocol !== 'ws:' && url.protocol !== 'wss:') || !url.host) return null;
  try {
    return `https://${url.host}/?room=${normalizeCode(code)}`;
  } catch {
    return null;
  }
}

/**
 * The lobby's API on a guest page (see `LobbyApi` in lobby-controller.js): rooms
 * resolve to this origin's `wss` socket after the LAN listener's room check; there
 * are no nearby rooms, and no hosting.
 * @param {{location: {host: string, origin: string}, fetch: typeof fetch}} deps
 * @returns {import('./lobby-controller.js').LobbyApi}
 */
export function createGuestApi({ location, fetch }) {
  return {
    async lanRooms() {
      return [];
    },
    async createRoom() {
      throw new ApiError('guest', t('guest.cannotHost'), 403);
    },
    async resolveRoom(code) {
      const norm = normalizeCode(code);
      let res;
      try {
        res = await fetch(`${location.origin}/api/rooms/${encodeURIComponent(norm)}`, { method: 'HEAD', cache: 'no-store' });
      } catch {
        throw new ApiError('guest-unreachable', t('guest.unreachable', { host: location.host }), 0);
      }
      if (res.status === 204) return { code: norm, ws: guestSocketUrl(location) };
      if (res.status === 404) throw new ApiError('room-not-found', 'no room with that code', 404);
      if (res.status === 429) throw new ApiError('rate-limited', 'too many attempts', 429);
      throw new ApiError(`http-${res.status}`, t('guest.unreachable', { host: location.host }), res.status);
    },
  };
}

/**
 * What "Invite a phone" shows for a call (views/invite-phone.js).
 * @typedef {object} InvitePhoneModel
 * @property {string | null} link the guest link; `null` when there is none to give
 * @property {string | null} fingerprint the certificate's, when this node hosts the room
 * @property {'here' | 'elsewhere' | 'unavailable'} where `here`: this node hosts the
 *   room and serves HTTPS; `elsewhere`: another node hosts it (its fingerprint is on
 *   its own screen); `unavailable`: this node hosts it but serves no HTTPS
 */

/**
 * Decides what "Invite a phone" shows for the room whose socket is `target.ws`.
 * @param {{ws: string, code: string}} target
 * @param {{lanHost: string, lanPort: number, guest: import('./api.js').GuestAccess | null}} node this node (`GET /api/node`)
 * @returns {InvitePhoneModel}
 */
export function invitePhoneModel(target, node) {
  const link = guestLinkFor(target.ws, target.code);
  if (!link) return { link: null, fingerprint: null, where: 'unavailable' };
  const linkHost = new URL(link).host;
  if (node.guest) {
    let guestHost = '';
    try {
      guestHost = new URL(node.guest.origin).host;
    } catch {
      guestHost = '';
    }
    if (guestHost === linkHost) return { link, fingerprint: node.guest.fingerprint, where: 'here' };
  }
  const lanHost = node.lanHost.includes(':') ? `[${node.lanHost}]` : node.lanHost;
  if (!node.guest && linkHost === `${lanHost}:${node.lanPort}`) return { link: null, fingerprint: null, where: 'unavailable' };
  return { link, fingerprint: null, where: 'elsewhere' };
}
