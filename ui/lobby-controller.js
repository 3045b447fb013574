// @ts-check
/**
 * The lobby's decisions: what Join, Host a room and a Nearby room's Join do, what
 * each failure says, the Nearby poll, the preview and device pickers. The view
 * ({@link import('./views/lobby.js').LobbyView}) shows and reports; this decides;
 * starting the call is handed to whoever made us (`startCall`).
 *
 * A window without RTCPeerConnection (a Linux webview built without WebRTC) still
 * hosts: the room lives on this node, and "Open in browser" takes the person to the
 * same room in the system browser.
 *
 * Everything comes in through {@link LobbyDeps}; constructing one starts nothing
 * until {@link LobbyController#show}.
 *
 * Every sentence is made with `t()` when it is shown, and the notice and the preview
 * note are made again when the language changes (the view's own labels follow by
 * themselves), so switching language never leaves a sentence in the old one.
 */
import { ApiError } from './api.js';
import { parseJoinInput, formatCode, CodeError } from './codes.js';
import { t, onLanguageChange, englishOr } from './i18n.js';
import { parseIceServers, formatIceServers } from './storage.js';

const NEARBY_POLL_MS = 2000;

/**
 * A join at launch ({@link LobbyController#launch}) that has not got in after this
 * long shows the lobby, busy, so the window is not left blank while the host is slow
 * or being retried. A join on a LAN gets in well before.
 */
export const LAUNCH_LOBBY_AFTER_MS = 1500;

/** Control-API error codes (docs/PROTOCOL.md) → the sentence to show. */
const API_ERRORS = /** @type {Record<string, string>} */ ({
  unreachable: 'lobby.apiUnreachable',
  'rate-limited': 'lobby.apiRateLimited',
  unavailable: 'lobby.apiUnavailable',
  timeout: 'lobby.apiTimeout',
  forbidden: 'lobby.apiForbidden',
});

/** @typedef {import('./storage.js').CallTarget} CallTarget */
/** @typedef {import('./api.js').LanRoom} LanRoom */

/**
 * The control API as the lobby uses it (`api.js`, or a fake throwing {@link ApiError}s).
 * @typedef {object} LobbyApi
 * @property {() => Promise<LanRoom[]>} lanRooms
 * @property {(code: string) => Promise<{code: string, ws: string}>} resolveRoom
 * @property {(opts: {name?: string, passcode?: string | null, listed?: boolean}) => Promise<import('./api.js').CreatedRoom>} createRoom
 */

/**
 * What of {@link import('./views/lobby.js').LobbyView} the controller uses.
 * @typedef {object} LobbyViewLike
 * @property {string} name
 * @property {{value: string, focus(): void}} nameInput
 * @property {{value: string, focus(): void}} roomInput
 * @property {{value: string}} passcodeInput
 * @property {(message: string | null, opts?: {kind?: 'error' | 'info', actions?: NoticeAction[], detail?: string}) => void} setNotice
 * @property {(reason: string, opts?: {focus?: boolean}) => void} askPasscode
 * @property {(busy: boolean) => void} setBusy
 * @property {(stream: MediaStream | null, note: string) => void} setPreview
 * @property {(devices: {audio: MediaDeviceInfo[], video: MediaDeviceInfo[]}, current: {audio?: string, video?: string}) => void} setDevices
 * @property {(rooms: LanRoom[] | null) => void} setRooms
 * @property {() => void} destroy
 */

/** @typedef {{label: string, run: () => void}} NoticeAction */

/**
 * What the lobby opens with (all optional): a sentence with ways forward, the room
 * to fill in, the passcode field with a reason.
 * @typedef {object} LobbyOptions
 * @property {string} [notice]
 * @property {'error' | 'info'} [noticeKind]
 * @property {NoticeAction[]} [actions]
 * @property {string} [room]
 * @property {string} [name] the name to fill in instead of the remembered one (the
 *   desktop app's `--name`)
 * @property {string} [askPasscode]
 * @property {string} [detail]
 * @property {() => {notice?: string, askPasscode?: string, actions?: {label: string}[]}} [retell] the same
 *   sentences in the language of the moment (call-end.js's outcomes carry one): said
 *   again when the person switches language
 */

/**
 * @typedef {object} IntervalTimers
 * @property {(fn: () => void, ms: number) => any} setInterval
 * @property {(handle: any) => void} clearInterval
 * @property {(fn: () => void, ms: number) => any} setTimeout
 * @property {(handle: any) => void} clearTimeout
 */

/**
 * @typedef {object} LobbyDeps
 * @property {(handlers: import('./views/lobby.js').LobbyHandlers, initial: {name: string, room: string}) => LobbyViewLike} createLobbyView
 * @property {LobbyApi} api
 * @property {import('./storage.js').AppStorage} storage
 * @property {import('./local-media.js').LocalMedia} media
 * @property {boolean} [desktop] the page runs in the desktop app (`window.__lanmeetDesktop`):
 *   `?name=…&join=1` joins at once (launch-join.js)
 * @property {boolean} hasWebRTC the page can call: its own RTCPeerConnection or the bridge's
 * @property {boolean} [bridged] calls go through the bridge beside this node (the page
 *   has no WebRTC of its own): opening the room in the system browser stays on offer
 * @property {{search: string, origin: string}} location
 * @property {() => unknown} browserOpener the desktop app's `__lanmeetOpenInBrowser`, if any
 * @property {IntervalTimers} timers
 * @property {(title: string) => void} setTitle
 * @property {(what: string) => void} mark the join timeline
 * @property {(target: CallTarget) => unknown} startCall
 */

export class LobbyController {
  /** @param {LobbyDeps} deps */
  constructor(deps) {
    this.deps = deps;
    /** @type {LobbyViewLike | null} */
    this.view = null;
    this.destroyed = false;
    this._nearbyTimer = null;
    /** @type {(() => void) | null} */
    this._offDevices = null;
    /** Shows the current notice in the current language (again on a language change). @type {(() => void) | null} */
    this._notice = null;
    /** The preview note in the current language, once the preview is shown. @type {(() => string) | null} */
    this._previewNote = null;
    /** @type {(() => void) | null} */
    this._offLanguage = null;
    /** The room and name of a join at launch, while the lobby is not drawn. @type {{room: string, name: string} | null} */
    this._launch = null;
    this._launchTimer = null;
  }

  /**
   * Joins a room at once without drawing the lobby first (the desktop app launched
   * with `--name NAME ROOM`): a join that gets in goes from a blank window straight
   * to the call. In WebKitGTK the lobby's first layout and paint, done for nothing on
   * the way into a call, held the page's main thread some 150 ms of the join, and
   * building it as long again before it. The lobby (room and name filled in) is shown
   * as soon as there is something to say in it (a bad code, no such room, a join that
   * did not get in), or busy after
   * {@link LAUNCH_LOBBY_AFTER_MS} if the join is slow.
   * @param {string} room a code or an invite
   * @param {string} name
   */
  launch(room, name) {
    this._launch = { room, name };
    this._launchTimer = this.deps.timers.setTimeout(() => {
      this._launchTimer = null;
      if (this._showLaunchLobby()) this.view?.setBusy(true);
    }, LAUNCH_LOBBY_AFTER_MS);
    return this.join({ name, room, passcode: '' });
  }

  /**
   * Draws the lobby of a join at launch that has not drawn it yet.
   * @param {LobbyOptions} [opts]
   * @returns {boolean} whether it drew it now
   */
  _showLaunchLobby(opts = {}) {
    const launch = this._launch;
    if (!launch || this.view || this.destroyed) return false;
    this._stopLaunchTimer();
    this.show({ ...opts, room: launch.room, name: launch.name }).catch(() => {});
    return true;
  }

  _stopLaunchTimer() {
    if (this._launchTimer !== null) this.deps.timers.clearTimeout(this._launchTimer);
    this._launchTimer = null;
  }

  /**
   * Shows the lobby, then the preview once camera and microphone are there.
   * @param {LobbyOptions} [opts]
   */
  async show(opts = {}) {
    const d = this.deps;
    const params = new URLSearchParams(d.location.search);
    const view = d.createLobbyView(
      {
        onJoin: (v) => this.join(v),
        onHost: (v) => this.host(v),
        onJoinNearby: (room, name) => this.joinNearby(room, name),
        onDevice: (kind, id) => this.switchDevice(kind, id),
        onNameChange: (name) => d.storage.saveName(name),
        onIceServersChange: (text) => d.storage.saveIceServers(parseIceServers(text).servers),
      },
      { name: opts.name ?? d.storage.name(), room: opts.room ?? params.get('room') ?? '', iceServers: formatIceServers(d.storage.iceServers()) },
    );
    this.view = view;
    this._offLanguage = onLanguageChange(() => this._retranslate());
    d.setTitle('lanmeet');
    if (!d.hasWebRTC) this._showNoWebRTC(view.roomInput.value);
    else if (opts.notice) this._report(opts);
    else if (d.bridged) this._showBridged();
    if (opts.askPasscode) view.askPasscode(opts.askPasscode);
    this._startNearby();
    this._offDevices = d.media.on('devicechange', () => this._refreshDevices());
    await d.media.ensure();
    if (this.destroyed) return;
    this._showPreview(() => d.media.note);
    this._refreshDevices();
  }

  /**
   * Shows a notice made by `say` (which calls the view's setNotice with sentences from
   * `t()`), and again whenever the language changes; `null` hides the notice.
   * @param {(() => void) | null} say
   */
  _say(say) {
    if (say) this._showLaunchLobby();
    this._notice = say;
    if (say) say();
    else this.view?.setNotice(null);
  }

  /**
   * A notice handed in ready-made (a join that failed, see call-end.js); on a language
   * change its `retell` gives the sentences anew (the actions keep what they do).
   * @param {LobbyOptions} opts
   */
  _report(opts) {
    let again = false;
    this._say(() => {
      const fresh = again ? opts.retell?.() : undefined;
      const actions = opts.actions?.map((a, i) => ({ label: fresh?.actions?.[i]?.label ?? a.label, run: a.run }));
      this.view?.setNotice(fresh?.notice ?? opts.notice ?? null, { kind: opts.noticeKind, actions, detail: opts.detail });
      if (again && opts.askPasscode && fresh?.askPasscode) this.view?.askPasscode(fresh.askPasscode, { focus: false });
      again = true;
    });
  }

  /** @param {() => string} note the preview's sentence, made in the current language */
  _showPreview(note) {
    this._previewNote = note;
    this.view?.setPreview(this.deps.media.stream, note());
  }

  /** The language changed: say the notice and the preview note again in it. */
  _retranslate() {
    if (this.destroyed) return;
    this._notice?.();
    if (this._previewNote) this.view?.setPreview(this.deps.media.stream, this._previewNote());
  }

  /**
   * A join from this lobby failed before getting in: say why, here.
   * @param {LobbyOptions} opts
   * @param {string} room the code to leave in the field if it is empty
   */
  report(opts, room) {
    // A join at launch that did not get in: the lobby it never drew, saying why.
    if (this._showLaunchLobby(opts)) return;
    const view = this.view;
    if (!view) return;
    view.setBusy(false);
    if (opts.notice) this._report(opts);
    if (opts.askPasscode) view.askPasscode(opts.askPasscode);
    view.roomInput.value = view.roomInput.value || room;
  }

  /** @param {boolean} busy */
  setBusy(busy) {
    this.view?.setBusy(busy);
  }

  /**
   * The desktop app was launched (again) with a room: fill it in (and the name, from
   * `--name`) and join if a name is known.
   * @param {string} room a code or an invite
   * @param {string} [name] the name to join under
   */
  openRoom(room, name) {
    this._showLaunchLobby();
    const view = this.view;
    if (!view) return false;
    if (name?.trim()) view.nameInput.value = name.trim();
    view.roomInput.value = room;
    if (view.name && this.deps.hasWebRTC) this.join({ name: view.name, room, passcode: '' });
    else view.roomInput.focus();
    return true;
  }

  /** Stops the poll and removes the view. */
  destroy() {
    this.destroyed = true;
    this._stopLaunchTimer();
    this._stopNearby();
    this._offDevices?.();
    this._offDevices = null;
    this._offLanguage?.();
    this._offLanguage = null;
    this.view?.destroy();
  }

  /** @param {{name: string, room: string, passcode: string}} v */
  async join(v) {
    const d = this.deps;
    d.mark('join-click');
    if (!d.hasWebRTC) return this._showNoWebRTC(v.room);
    if (!this._checkName(v.name)) return;
    let target;
    try {
      target = parseJoinInput(v.room);
    } catch (err) {
      // CodeError's message is made with t() when thrown: parse again to say it anew.
      this._say(() => {
        let message = String(err);
        try {
          parseJoinInput(v.room);
        } catch (again) {
          message = again instanceof CodeError ? again.message : String(again);
        }
        this.view?.setNotice(message);
      });
      this.view?.roomInput.focus();
      return;
    }
    this._say(null);
    this.view?.setBusy(true);
    let ws = target.kind === 'invite' ? target.ws : '';
    if (target.kind === 'code') {
      try {
        ws = (await d.api.resolveRoom(target.code)).ws;
      } catch (err) {
        this.view?.setBusy(false);
        if (err instanceof ApiError && err.status === 404) {
          const code = formatCode(target.code);
          this._say(() => this.view?.setNotice(t('lobby.noSuchRoom', { code })));
        } else this._showApiError(err, () => this.join(v));
        return;
      }
    }
    await d.startCall({ ws, code: target.code, name: v.name, passcode: v.passcode || undefined });
  }

  /**
   * @param {LanRoom} room
   * @param {string} name
   */
  async joinNearby(room, name) {
    if (!this.deps.hasWebRTC) return this._showNoWebRTC(room.code);
    if (!this._checkName(name)) return;
    this._say(null);
    this.view?.setBusy(true);
    await this.deps.startCall({ ws: room.ws, code: room.code, name, roomName: room.name, passcode: this.view?.passcodeInput.value || undefined });
  }

  /**
   * "Host a room". A window without WebRTC still hosts: the room lives on this node
   * (guests can join it now), and the host takes part from the browser.
   * @param {{name: string, roomName: string, passcode: string, listed: boolean}} v
   */
  async host(v) {
    const d = this.deps;
    // The call needs a name; a window without WebRTC only hosts here, and the
    // browser that runs the call asks for the name.
    if (d.hasWebRTC && !this._checkName(v.name)) return;
    this._say(null);
    this.view?.setBusy(true);
    let room;
    try {
      room = await d.api.createRoom({ name: v.roomName || undefined, passcode: v.passcode || null, listed: v.listed });
    } catch (err) {
      this.view?.setBusy(false);
      this._showApiError(err, () => this.host(v));
      return;
    }
    if (!d.hasWebRTC) {
      this.view?.setBusy(false);
      const code = formatCode(room.code);
      const invite = room.invite;
      this._showNoWebRTC(room.code, () => t('lobby.hostedNoWebRTC', { code, invite }));
      return;
    }
    await d.startCall({ ws: room.ws, code: room.code, name: v.name, passcode: v.passcode || undefined, roomName: room.name });
  }

  /**
   * A device picked in the lobby: only the preview changes.
   * @param {'audio' | 'video'} kind
   * @param {string} deviceId
   */
  async switchDevice(kind, deviceId) {
    const media = this.deps.media;
    const { problem } = await media.useDevice(kind, deviceId, null);
    // The problem is a sentence of the moment; with none, the page's own note (if any).
    this._showPreview(problem ? () => problem : () => media.note);
    if (!problem) this._refreshDevices();
  }

  async _refreshDevices() {
    const media = this.deps.media;
    const devices = await media.devices();
    if (!this.destroyed) this.view?.setDevices(devices, media.deviceIds());
  }

  /**
   * The page has no RTCPeerConnection: say so and offer the same room in the system
   * browser.
   * @param {string} roomText
   * @param {() => string} [before] a sentence to say first (e.g. the room just hosted)
   */
  _showNoWebRTC(roomText, before) {
    const open = () => this._openInBrowser(roomText);
    this._say(() => {
      const why = t('lobby.noWebRTC');
      this.view?.setNotice(before ? `${before()} ${why}` : why, { actions: [{ label: t('common.openInBrowser'), run: open }] });
    });
  }

  /**
   * The room (or the lobby) of this node in the system browser: the desktop app's
   * opener, else the address to copy.
   * @param {string} roomText
   */
  _openInBrowser(roomText) {
    const room = roomText.trim();
    const url = `${this.deps.location.origin}/${room ? `?room=${encodeURIComponent(room)}` : ''}`;
    const opener = this.deps.browserOpener();
    if (typeof opener === 'function') {
      Promise.resolve(opener(url)).catch(() => this._say(() => this.view?.setNotice(t('lobby.openAddress', { url }), { detail: url })));
    } else {
      this._say(() => this.view?.setNotice(t('lobby.copyAddress'), { detail: url, kind: 'info' }));
    }
  }

  /**
   * Calls go through the bridge (this page has no WebRTC of its own): say so quietly,
   * with the system browser as the other way (an engine with its own WebRTC may do
   * better with many people).
   */
  _showBridged() {
    this._say(() =>
      this.view?.setNotice(t('lobby.bridged'), {
        kind: 'info',
        actions: [{ label: t('common.openInBrowser'), run: () => this._openInBrowser(this.view?.roomInput.value ?? '') }],
      }),
    );
  }

  _startNearby() {
    this._stopNearby();
    const poll = async () => {
      try {
        const rooms = await this.deps.api.lanRooms();
        if (!this.destroyed) this.view?.setRooms(rooms);
      } catch {
        if (!this.destroyed) this.view?.setRooms(null);
      }
    };
    poll();
    this._nearbyTimer = this.deps.timers.setInterval(poll, NEARBY_POLL_MS);
  }

  _stopNearby() {
    if (this._nearbyTimer !== null) this.deps.timers.clearInterval(this._nearbyTimer);
    this._nearbyTimer = null;
  }

  /** @param {string} name */
  _checkName(name) {
    if (name) {
      this.deps.storage.saveName(name);
      return true;
    }
    this._say(() => this.view?.setNotice(t('lobby.nameFirst')));
    this.view?.nameInput.focus();
    return false;
  }

  /**
   * @param {unknown} err
   * @param {() => void} retry
   */
  _showApiError(err, retry) {
    this._say(() => {
      const actions = [{ label: t('common.tryAgain'), run: retry }];
      // The node's codes we can say in the person's language; any other: the node's own sentence.
      const key = err instanceof ApiError ? API_ERRORS[err.code] : undefined;
      const code = err instanceof ApiError ? err.code : 'error';
      this.view?.setNotice(key ? t(key) : englishOr(err instanceof Error ? err.message : String(err), t('lobby.apiOther', { code })), { actions });
    });
  }
}
