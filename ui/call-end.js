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
import { t, englishOr } from './i18n.js';

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
 * @property {() => EndOutcome} retell the same outcome in the language of the moment
 *   (the lobby says it again when the person switches language)
 */

/**
 * Ended while in the call: the call view stays (with the last picture) under an
 * overlay that explains.
 * @typedef {object} OverlayOutcome
 * @property {'overlay'} where
 * @property {string} title
 * @property {string} text
 * @property {{label: string, action: EndAction, primary: boolean}[]} actions
 * @property {() => EndOutcome} retell the same outcome in the language of the moment
 */

/** @typedef {LobbyOutcome | OverlayOutcome} EndOutcome */

/** In-call endings we can explain (title key, text key); any other one gets "Disconnected" and Rejoin. */
const IN_CALL = /** @type {Record<string, [string, string]>} */ ({
  'room-closed': ['end.endedTitle', 'end.roomClosed'],
  'room-not-found': ['end.endedTitle', 'end.roomGone'],
  replaced: ['end.replacedTitle', 'end.replaced'],
  'gave-up': ['end.lostTitle', 'end.lost'],
});

/**
 * Every sentence is made with `t()` in the current language when this runs. The
 * node's and the socket's own `message`s are English: they are shown only when the UI
 * speaks English and no sentence of ours fits; otherwise our sentence names the code.
 * @param {{code: string, message: string}} why
 * @param {{code: string, ws: string, passcode?: string}} target the room we tried or were in
 * @param {boolean} welcomed whether we ever got into the room
 * @returns {EndOutcome}
 */
export function explainEnd(why, target, welcomed) {
  const retell = () => explainEnd(why, target, welcomed);
  return { ...(welcomed ? inCall(why) : failedJoin(why, target)), retell };
}

/**
 * @param {{code: string, message: string}} why
 * @returns {Omit<LobbyOutcome, 'retell'> | Omit<OverlayOutcome, 'retell'>}
 */
function inCall(why) {
  if (why.code === 'left') return { where: 'lobby', notice: t('end.left'), noticeKind: 'info' };
  const known = Object.hasOwn(IN_CALL, why.code);
  const [title, text] = known
    ? [t(IN_CALL[why.code][0]), t(IN_CALL[why.code][1])]
    : [t('end.disconnectedTitle'), why.code === 'closed' ? t('end.closed') : englishOr(why.message, t('end.disconnected', { reason: why.code }))];
  /** @type {OverlayOutcome['actions']} */
  const actions = [{ label: t('common.backToLobby'), action: 'lobby', primary: why.code !== 'gave-up' }];
  if (why.code === 'gave-up' || !known) actions.unshift({ label: t('common.rejoin'), action: 'rejoin', primary: true });
  return { where: 'overlay', title, text, actions };
}

/**
 * @param {{code: string, message: string}} why
 * @param {{code: string, ws: string, passcode?: string}} target
 * @returns {Omit<LobbyOutcome, 'retell'>}
 */
function failedJoin(why, target) {
  const code = formatCode(target.code);
  /** @type {LobbyOutcome['actions']} */
  const retry = [{ label: t('common.tryAgain'), action: 'retry' }];
  switch (why.code) {
    case 'room-not-found':
      return { where: 'lobby', notice: t('end.roomNotFound', { code }) };
    case 'room-full':
      return { where: 'lobby', notice: t('end.roomFull', { code }), actions: retry };
    case 'bad-passcode':
      return target.passcode
        ? { where: 'lobby', notice: t('end.wrongPasscode'), askPasscode: t('end.wrongPasscodeHint') }
        : { where: 'lobby', notice: t('end.needsPasscode', { code }), noticeKind: 'info', askPasscode: t('end.needsPasscodeHint') };
    case 'unreachable': {
      const port = /:(\d+)\//.exec(target.ws)?.[1] ?? '7878';
      return { where: 'lobby', notice: t('end.unreachable', { port }), detail: target.ws, actions: retry };
    }
    case 'connection-lost':
      return { where: 'lobby', notice: t('end.connectionLost'), actions: retry };
    default:
      return { where: 'lobby', notice: englishOr(why.message, t('end.couldNotJoin', { code, reason: why.code })), actions: retry };
  }
}
