// @ts-check
/**
 * "Join straight from the command line": `lanmeet-desktop --name NAME ROOM` opens
 * the window on `/?room=ROOM&name=NAME&join=1`, and the page joins at once, with no
 * lobby click (for desktop shortcuts, scripts and tests).
 *
 * Only inside the desktop app (`window.__lanmeetDesktop`, set by the app before
 * the page's scripts; the window shows nothing but this node's pages). In a browser
 * `name` and `join` are ignored: a link from some web page to this node's lobby
 * must not put the person in a call with their camera on.
 *
 * `name` and `join` are taken off the URL as the page reads them, so leaving the
 * call (or a reload) lands in the lobby instead of joining again.
 */

/**
 * @typedef {object} LaunchJoin
 * @property {string | null} room the room to open (`?room=`), as given
 * @property {string | null} name the name to join under (desktop only), trimmed
 * @property {boolean} join join `room` as `name` now (desktop only, both given)
 * @property {string | null} search the query to put in the URL instead of the
 *   current one (`name` and `join` removed; `''` when nothing is left), or `null`
 *   when it stays as it is
 */

/**
 * Reads the page's query.
 * @param {string} search `location.search`
 * @param {boolean} desktop whether the page runs in the desktop app
 * @returns {LaunchJoin}
 */
export function readLaunch(search, desktop) {
  const params = new URLSearchParams(search);
  const room = params.get('room')?.trim() || null;
  if (!desktop || (!params.has('name') && !params.has('join'))) {
    return { room, name: null, join: false, search: null };
  }
  const name = params.get('name')?.trim() || null;
  const join = params.get('join') === '1' && !!name && !!room;
  params.delete('name');
  params.delete('join');
  const rest = params.toString();
  return { room, name, join, search: rest ? `?${rest}` : '' };
}
