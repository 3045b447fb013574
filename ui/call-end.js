// @ts-check
/**
 * Why did the call end → what we tell the person, and the ways forward. Pure: the
 * call controller turns the action names into what they do, and the tests read the
 * whole table without a browser.
 *
 * `why` is the signaling client's `ended` reason (`left`, `closed`, `room-closed`,
 * `replaced`, `unreachable`, `gave-up`, or a node error code such as
 * `room-not-found`, `room-full`, `bad-passcode`).
 */
import { formatCode } from './codes.js';

/**
 * - `retry`: join the same room again (a fresh join, no resume token)
 * - `rejoin`: the same, from a call that ended
 * - `lobby`: back to the lobby, the room filled in
 * @typedef {'retry' | 'rejoin' | 'lobby'} EndAction
 */

/**
 * Never got in, or left on purpose: the lobby says why.
 * @typedef {object} LobbyOutcome
 * @property {'lobby'} where
 * @property {string} notice
 * @property {'error' | 'info'} [noticeKind]
 * @property {{label: string, action: EndAction}[]} [actions]
 * @property {string} [askPasscode] show the passcode field with this reason
 * @property {string} [detail] something to copy (the socket URL)
 */

/**
 * Ended while in the call: the call view stays (with the last picture) under an
 * overlay that explains.
 * @typedef {object} OverlayOutcome
 * @property {'overlay'} where
 * @property {string} title
 * @property {string} text
 * @property {{label: string, action: EndAction, primary: boolean}[]} actions
 */

/** @typedef {LobbyOutcome | OverlayOutcome} EndOutcome */

/** In-call endings we can explain; any other one gets "Disconnected" and Rejoin. */
const IN_CALL = /** @type {Record<string, [string, string]>} */ ({
  'room-closed': ['The call has ended', 'The host closed this room.'],
  'room-not-found': ['The call has ended', 'This room is gone: its host closed it or stopped lanmeet.'],
  replaced: ['Opened elsewhere', 'This call continues in another tab or window of this browser.'],
  'gave-up': ['Connection lost', "Lost the connection to the room's host and could not get it back. Check the network, then rejoin."],
});

/**
 * @param {{code: string, message: string}} why
 * @param {{code: string, ws: string, passcode?: string}} target the room we tried or were in
 * @param {boolean} welcomed whether we ever got into the room
 * @returns {EndOutcome}
 */
export function explainEnd(why, target, welcomed) {
  if (!welcomed) return failedJoin(why, target);
  if (why.code === 'left') return { where: 'lobby', notice: 'You left the call.', noticeKind: 'info' };
  const [title, text] = IN_CALL[why.code] ?? ['Disconnected', why.message || `The connection to the room ended (${why.code}).`];
  /** @type {OverlayOutcome['actions']} */
  const actions = [{ label: 'Back to the lobby', action: 'lobby', primary: why.code !== 'gave-up' }];
  if (why.code === 'gave-up' || !(why.code in IN_CALL)) actions.unshift({ label: 'Rejoin', action: 'rejoin', primary: true });
  return { where: 'overlay', title, text, actions };
}

/**
 * @param {{code: string, message: string}} why
 * @param {{code: string, ws: string, passcode?: string}} target
 * @returns {LobbyOutcome}
 */
function failedJoin(why, target) {
  const code = formatCode(target.code);
  /** @type {LobbyOutcome['actions']} */
  const retry = [{ label: 'Try again', action: 'retry' }];
  switch (why.code) {
    case 'room-not-found':
      return { where: 'lobby', notice: `Room ${code} is not open any more. Check the code, or ask the host to start it again and send a new invite.` };
    case 'room-full':
      return {
        where: 'lobby',
        notice: `Room ${code} is full. A call holds at most 8 people (or fewer, if the host chose so). Try again when someone leaves.`,
        actions: retry,
      };
    case 'bad-passcode':
      return target.passcode
        ? { where: 'lobby', notice: 'That passcode is not right. Check it with the host and try again.', askPasscode: 'Wrong passcode. Try again.' }
        : {
            where: 'lobby',
            notice: `Room ${code} needs a passcode. Type it below, then Join.`,
            noticeKind: 'info',
            askPasscode: 'This room needs a passcode. Ask the host for it.',
          };
    case 'unreachable': {
      const port = /:(\d+)\//.exec(target.ws)?.[1] ?? '7878';
      return {
        where: 'lobby',
        notice: `Could not reach the room's host. Make sure you are on the same network (not a guest Wi-Fi) and that lanmeet still runs there; a firewall on the host must allow TCP port ${port}.`,
        detail: target.ws,
        actions: retry,
      };
    }
    default:
      return { where: 'lobby', notice: why.message || `Could not join room ${code} (${why.code}).`, actions: retry };
  }
}
