// @ts-check
/**
 * Which screen shows: lobby → call → lobby. Holds the lobby controller and the call
 * controller of the moment (at most one of each) and moves between them; decides at
 * page load whether this is a reload during a call (rejoin with the resume token:
 * same id, same tile for the others) or a fresh lobby.
 *
 * Everything comes in through {@link RouterDeps}, handed on to the controllers;
 * nothing starts until {@link Router#start}.
 */
import { parseJoinInput, formatCode, normalizeCode } from './codes.js';
import { t } from './i18n.js';
import { readLaunch } from './launch-join.js';

/** @typedef {import('./storage.js').CallTarget} CallTarget */
/** @typedef {import('./lobby-controller.js').LobbyOptions} LobbyOptions */
/** @typedef {import('./lobby-controller.js').LobbyController} LobbyController */
/** @typedef {import('./call-controller.js').CallController} CallController */
/** @typedef {import('./lobby-controller.js').LobbyDeps} LobbyDeps */
/** @typedef {import('./call-controller.js').CallDeps} CallDeps */

/**
 * What the lobby and the call need from the page, minus what the router itself
 * provides (starting a call, going to the lobby), plus how to make the two
 * controllers (passed in, so the boot module imports every module the page needs
 * at once and the router can be driven with any controllers).
 * @typedef {Omit<LobbyDeps, 'startCall'> & Omit<CallDeps, 'onEntered' | 'toLobby' | 'startCall'> & {
 *   makeLobby: (deps: LobbyDeps) => LobbyController,
 *   makeCall: (target: CallTarget, deps: CallDeps) => CallController,
 * }} RouterDeps
 */

export class Router {
  /** @param {RouterDeps} deps */
  constructor(deps) {
    this.deps = deps;
    /** @type {LobbyController | null} */
    this.lobby = null;
    /** @type {CallController | null} */
    this.call = null;
  }

  /**
   * Page load: join the call the desktop app was launched into (`--name NAME ROOM`,
   * launch-join.js), rejoin the call of a reload, or show the lobby.
   */
  start() {
    const d = this.deps;
    const launch = readLaunch(d.location.search, !!d.desktop);
    if (launch.search !== null) d.history.replaceState(null, '', launch.search || '/');
    if (launch.join && launch.room && launch.name) {
      // An explicit command line wins over a call this window was in.
      d.storage.clearCall();
      if (d.hasWebRTC) {
        this._newLobby().launch(launch.room, launch.name);
      } else {
        this.showLobby({ room: launch.room, name: launch.name }).catch(() => {});
        this.openRoom(launch.room, launch.name);
      }
      return;
    }
    const saved = d.hasWebRTC ? d.storage.savedCall() : null;
    const roomParam = new URLSearchParams(d.location.search).get('room');
    let sameRoom = false;
    if (saved && roomParam) {
      try {
        sameRoom = parseJoinInput(roomParam).code === normalizeCode(saved.code);
      } catch {
        sameRoom = false;
      }
    }
    if (saved && (!roomParam || sameRoom)) {
      // A reload during a call: rejoin with the resume token (same id, same tile).
      const rejoining = () => ({ notice: t('app.rejoining', { code: formatCode(saved.code) }) });
      this.showLobby({ ...rejoining(), noticeKind: 'info', room: saved.code, retell: rejoining }).catch(() => {});
      this.lobby?.setBusy(true);
      this.startCall(saved);
    } else {
      d.storage.clearCall();
      this.showLobby(launch.name ? { name: launch.name } : undefined);
    }
  }

  /** @param {LobbyOptions} [opts] */
  showLobby(opts) {
    return this._newLobby().show(opts);
  }

  /** A lobby controller in place of the one there was (its view not drawn yet). */
  _newLobby() {
    this.lobby?.destroy();
    const lobby = this.deps.makeLobby({ ...this.deps, startCall: (t) => this.startCall(t) });
    this.lobby = lobby;
    return lobby;
  }

  /** @param {CallTarget} target */
  startCall(target) {
    this.call?.end();
    const call = this.deps.makeCall(target, {
      ...this.deps,
      onEntered: () => {
        this.lobby?.destroy();
        this.lobby = null;
      },
      toLobby: (opts) => this._toLobby(opts),
      startCall: (t) => this.startCall(t),
    });
    this.call = call;
    return call.start();
  }

  /**
   * A call that never got in says why in the lobby it was started from; otherwise
   * (left, back from an ended call) a fresh lobby.
   * @param {LobbyOptions} opts
   */
  _toLobby(opts) {
    if (this.lobby) this.lobby.report(opts, opts.room ?? '');
    else this.showLobby(opts);
  }

  /** Whether a call is on (joining, in it, or showing how it ended). */
  inCall() {
    return !!this.call && !this.call.closed;
  }

  /**
   * The desktop app was launched (again) with a room, and maybe `--name`. In the
   * lobby: fill them in and join (if a name is known); returns true. During a call:
   * returns false, and the app loads `/?room=…` instead.
   * @param {unknown} room a code or an invite
   * @param {unknown} [name] the name to join under
   */
  openRoom(room, name) {
    if (this.inCall() || !this.lobby || typeof room !== 'string') return false;
    return this.lobby.openRoom(room, typeof name === 'string' ? name : undefined);
  }

  /** Leave at once (the desktop window is closing): the others see us go now. */
  leaveNow() {
    if (this.inCall()) this.call?.leave();
  }
}
