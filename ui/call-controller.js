// @ts-check
/**
 * One call, from the first join to the end: the signaling client, the mesh, the
 * call view, the speaking meters, and what each button and each event does. The
 * view ({@link import('./views/call.js').CallView}) shows and reports; this
 * decides; the lobby and the next call are the router's (`onEntered`, `toLobby`,
 * `startCall`).
 *
 * The call in progress is remembered (storage: room, socket URL, name, resume token)
 * so a reload rejoins with `resume`; it is forgotten when the call ends for good.
 * How a call ended becomes a sentence and ways forward through {@link explainEnd}.
 *
 * Everything comes in through {@link CallDeps}; constructing one starts nothing
 * until {@link CallController#start}.
 */
import { formatCode, inviteFor } from './codes.js';
import { explainEnd } from './call-end.js';
import { signalKind } from './timeline.js';
import { t } from './i18n.js';
import { verificationCode } from './verification.js';

/** @typedef {import('./storage.js').CallTarget} CallTarget */
/** @typedef {import('./lobby-controller.js').LobbyOptions} LobbyOptions */

/**
 * What of {@link import('./views/call.js').CallView} the controller uses.
 * @typedef {object} CallViewLike
 * @property {(id: string, name: string, self: boolean) => unknown} addTile
 * @property {(id: string) => void} removeTile
 * @property {(id: string, s: import('./views/tile.js').TileState) => void} updateTile
 * @property {(key: string, peerId: string) => void} setPeerId
 * @property {(id: string, fn: () => void) => void} onTilePlaying
 * @property {(id: string, stream: MediaStream | null) => Promise<boolean>} showStream
 * @property {() => Promise<void>} enableSound
 * @property {(blocked: boolean) => void} setSoundBlocked
 * @property {(s: import('./views/call.js').ControlsState) => void} setControls
 * @property {(devices: {audio: MediaDeviceInfo[], video: MediaDeviceInfo[]}, current: {audio?: string, video?: string}) => void} setDevices
 * @property {(m: {from: string, text: string, ts: number, self: boolean}) => void} addMessage
 * @property {(text: string) => void} addSystemMessage
 * @property {(text: string | null, kind?: string) => void} setBanner
 * @property {(text: string) => void} flashCopyStatus
 * @property {(title: string, text: string, actions: {label: string, run: () => void, primary?: boolean}[], detail?: string) => void} showOverlay
 * @property {() => void} hideOverlay
 * @property {(s: {open: boolean, unread: number}) => void} setChat
 * @property {(n: number) => void} setPeople
 * @property {(text: string) => void} announce
 * @property {(open?: boolean) => void} toggleHelp
 * @property {() => void} destroy
 */

/**
 * Speaking detection ({@link import('./media.js').LevelMonitor}).
 * @typedef {object} MonitorLike
 * @property {(key: string, track: MediaStreamTrack | null) => void} watch
 * @property {(key: string) => void} unwatch
 * @property {() => void} resume
 * @property {() => void} close
 */

/**
 * @typedef {object} CallDeps
 * @property {import('./local-media.js').LocalMedia} media
 * @property {import('./storage.js').AppStorage} storage
 * @property {(opts: {url: string, room: string, name: string, passcode?: string, token?: string}) => import('./signaling.js').SignalingClient} createSignaling
 * @property {(opts: {signaling: import('./signaling.js').SignalingClient, iceServers: RTCIceServer[], certificates: any[] | undefined, localMedia: () => import('./peer.js').LocalMedia}) => import('./mesh.js').Mesh} createMesh
 * @property {(handlers: import('./views/call.js').CallHandlers, room: {code: string, roomName: string}) => CallViewLike} createCallView
 * @property {(onChange: (key: string, speaking: boolean) => void) => MonitorLike} createMonitor
 * @property {{new (): MediaStream}} MediaStream for the remote streams
 * @property {Promise<any[] | undefined>} certificates the page's shared DTLS certificate
 * @property {{writeText(text: string): Promise<void>} | undefined} clipboard
 * @property {{search: string}} location
 * @property {{replaceState(data: any, unused: string, url: string): void}} history
 * @property {(title: string) => void} setTitle
 * @property {(what: string) => void} mark the join timeline
 * @property {((target: CallTarget) => void) | null} [invitePhone] opens "Invite a phone" for the call (app.js; none on a guest's page)
 * @property {() => void} onEntered we are in the room: the lobby goes
 * @property {(opts: LobbyOptions) => void} toLobby
 * @property {(target: CallTarget) => unknown} startCall a fresh call (Try again, Rejoin)
 */

export class CallController {
  /**
   * @param {CallTarget} target
   * @param {CallDeps} deps
   */
  constructor(target, deps) {
    this.target = target;
    this.deps = deps;
    /** @type {import('./signaling.js').SignalingClient | null} */
    this.signaling = null;
    /** @type {import('./mesh.js').Mesh | null} */
    this.mesh = null;
    /** @type {CallViewLike | null} */
    this.view = null;
    /** @type {MonitorLike | null} */
    this.monitor = null;
    /** Remote streams by peer id. @type {Map<string, MediaStream>} */
    this.streams = new Map();
    /** Names from peer-joined, for chat messages of people the mesh no longer knows. @type {Map<string, string>} */
    this.names = new Map();
    /** Whether we ever got into the room (decides lobby vs overlay at the end). */
    this.welcomed = false;
    this.soundBlocked = false;
    /** Torn down: nothing of this call may touch the page any more. */
    this.closed = false;
    /** @type {MediaStreamTrack | null} the microphone the meter watches for our tile */
    this._selfAudio = null;
    /** Our hand is raised (sent in our `state` message). */
    this.hand = false;
    /** Raised hands of the others, by peer id (announced when one goes up). @type {Set<string>} */
    this.hands = new Set();
    /** The chat panel: open, and messages from others that came while it was closed. */
    this.chat = { open: false, unread: 0 };
    /** The pair's verification code per peer, once computed. @type {Map<string, string>} */
    this.verified = new Map();
    /** @type {(() => void)[]} */
    this._off = [];
  }

  /** Gets the media ready, then joins. */
  async start() {
    const d = this.deps;
    await d.media.ensure();
    d.mark('media ready');
    const certificates = await d.certificates;
    if (this.closed) return;
    const c = this.target;
    const signaling = d.createSignaling({ url: c.ws, room: c.code, name: c.name, passcode: c.passcode, token: c.token });
    this.signaling = signaling;

    // Registered before the mesh's own listeners: the view must exist when the mesh
    // announces the people in the welcome.
    signaling.on('welcome', (w) => this._onWelcome(w));
    signaling.on('token', (token) => {
      if (this.closed) return;
      c.token = token;
      d.storage.saveCall(c);
    });
    signaling.on('status', ({ status, attempt }) => {
      if (this.closed || !this.view || status !== 'reconnecting') return;
      this.view.setBanner(t(attempt > 3 ? 'call.banner.stillTrying' : 'call.banner.reconnecting'), 'warn');
    });
    signaling.on('peer-joined', (p) => {
      this.names.set(p.id, p.name);
      this.view?.announce(t('call.announce.joined', { name: p.name || t('call.guest') }));
    });
    signaling.on('open', () => d.mark('signaling open'));
    signaling.on('signal', ({ from, data }) => d.mark(`in ${from} ${signalKind(data)}`));
    signaling.on('sent', ({ to, data }) => d.mark(`out ${to} ${signalKind(data)}`));
    signaling.on('ended', (why) => this._onEnded(why));

    const media = d.media;
    const mesh = d.createMesh({
      signaling,
      iceServers: d.storage.iceServers(),
      certificates,
      localMedia: () => ({ audio: media.audio, video: media.outgoingVideo(), stream: media.rebuild() }),
    });
    this.mesh = mesh;
    mesh.on('peer-added', ({ id, name }) => {
      if (name) this.names.set(id, name);
      this.view?.addTile(id, this.names.get(id) ?? name, false);
      this.view?.onTilePlaying(id, () => d.mark(`playing ${id}`));
      this._updateTitle();
    });
    mesh.on('peer-removed', (id) => {
      if (this.view && !this.closed) this.view.announce(t('call.announce.left', { name: this._nameOf(id) }));
      this.hands.delete(id);
      this.verified.delete(id);
      this.view?.removeTile(id);
      this.monitor?.unwatch(id);
      this.streams.delete(id);
      this._updateTitle();
    });
    mesh.on('peer-state', ({ id, state }) => {
      d.mark(`state ${id} ${state}`);
      // A pair that failed with no relay to fall back on says so (and what to do).
      this.view?.updateTile(id, state === 'failed' ? { state, relay: mesh.hasRelay() } : { state });
      if (state === 'connected') {
        this._verify(id);
        // Back from a blip (ICE restart): say our state again, in case a change was lost.
        mesh.sendTo(id, this._stateMessage());
      }
    });
    mesh.on('peer-route', ({ id, route }) => {
      d.mark(`route ${id} ${route}`);
      this.view?.updateTile(id, { route });
    });
    mesh.on('peer-session', (id) => {
      const s = new d.MediaStream();
      this.streams.set(id, s);
      this.view?.showStream(id, s);
      this.monitor?.unwatch(id);
      // A new connection: the old code no longer says anything until this one is up.
      this.verified.delete(id);
      this.view?.updateTile(id, { verify: null });
    });
    mesh.on('peer-track', ({ id, track }) => this._onTrack(id, track));
    mesh.on('channel-open', (id) => mesh.sendTo(id, this._stateMessage()));
    mesh.on('message', ({ id, msg }) => this._onPeerMessage(id, msg));

    this._off.push(
      media.on('stopped', (kind) => this._onDeviceStopped(kind)),
      media.on('devicechange', () => this._refreshDevices()),
    );

    d.mark('connect');
    signaling.connect();
  }

  /** Leave: the others see us go at once, and a reload shows the lobby. */
  leave() {
    if (this.closed) return;
    this.deps.storage.clearCall();
    if (this.signaling) this.signaling.leave(); // → ended('left') → back to the lobby
    else this.end();
  }

  /** Tears the call down: connections, level meters, view. Local media stays for the lobby. */
  end() {
    if (this.closed) return;
    this.closed = true;
    for (const off of this._off) off();
    this._off = [];
    this.signaling?.close();
    this.mesh?.close();
    this.monitor?.close();
    if (this.deps.media.screen) this.deps.media.stopSharing(null);
    this.view?.destroy();
  }

  // ---- signaling ----

  /** @param {{id: string, resumed: boolean, room: any, peers: unknown[]}} w */
  _onWelcome(w) {
    this.deps.mark(`welcome ${w.peers.length} peers${w.resumed ? ' resumed' : ''}`);
    if (this.closed) return;
    if (!this.welcomed) {
      this.welcomed = true;
      this._enter(w);
    } else {
      this.view?.setBanner(null);
      if (!w.resumed) this.view?.addSystemMessage(t('call.chat.reconnected'));
    }
    this.view?.setPeerId('self', w.id);
  }

  /** @param {{room: any, peers?: unknown[]}} w the first welcome */
  _enter(w) {
    const d = this.deps;
    const c = this.target;
    d.onEntered();
    if (w.room && typeof w.room.name === 'string' && !c.roomName) c.roomName = w.room.name;
    d.storage.saveCall(c);
    const params = new URLSearchParams(d.location.search);
    if (params.get('room') !== c.code) {
      params.set('room', c.code);
      d.history.replaceState(null, '', `?${params}`);
    }
    const view = d.createCallView(
      {
        onMute: () => this.toggleMute(),
        onCamera: () => this.toggleCamera(),
        onShare: () => this.toggleShare(),
        onLeave: () => this.leave(),
        onCopyInvite: () => this.copyInvite(),
        onInvitePhone: d.invitePhone ? () => d.invitePhone?.(c) : undefined,
        onChat: (text) => this.sendChat(text),
        onChatOpen: (open) => this.setChatOpen(open),
        onHand: () => this.toggleHand(),
        onShortcut: (action) => this.shortcut(action),
        onDevice: (kind, id) => this.switchDevice(kind, id),
        onEnableSound: () => {
          this.monitor?.resume();
          this.view?.enableSound();
        },
        // Any click in the call lets audio start (autoplay rules after a reload).
        onAnyClick: () => {
          this.monitor?.resume();
          if (this.soundBlocked) {
            this.soundBlocked = false;
            view.enableSound();
          }
        },
      },
      { code: c.code, roomName: c.roomName ?? '' },
    );
    this.view = view;
    this.monitor = d.createMonitor((key, speaking) => view.updateTile(key, { speaking }));
    view.addTile('self', c.name, true);
    view.showStream('self', d.media.rebuild());
    this._watchSelfAudio();
    this._updateSelf();
    if (d.media.note) view.setBanner(d.media.note, 'warn');
    this._refreshDevices();
    this._updateTitle();
    view.announce(t('call.announce.entered', { room: c.roomName || formatCode(c.code), count: (w.peers?.length ?? 0) + 1 }));
  }

  /**
   * The signaling client stopped for good: the lobby or the overlay says why.
   * @param {{code: string, message: string}} why
   */
  _onEnded(why) {
    if (this.closed) return;
    const d = this.deps;
    const room = this.target.code;
    const again = () => d.startCall({ ...this.target, token: undefined });
    const outcome = explainEnd(why, this.target, this.welcomed);
    if (outcome.where === 'lobby') {
      this.end();
      d.storage.clearCall();
      const { where: _, actions, ...rest } = outcome;
      d.toLobby({ ...rest, actions: actions?.map((a) => ({ label: a.label, run: again })), room });
      return;
    }
    // In the call: keep the view (and the last picture) with an explanation.
    d.storage.clearCall();
    this.mesh?.close();
    this.monitor?.close();
    const back = () => {
      this.end();
      d.toLobby({ room });
    };
    const rejoin = () => {
      this.end();
      again();
    };
    this.view?.setBanner(null);
    this.view?.showOverlay(
      outcome.title,
      outcome.text,
      outcome.actions.map((a) => ({ label: a.label, primary: a.primary, run: a.action === 'lobby' ? back : rejoin })),
    );
  }

  // ---- the mesh ----

  /**
   * @param {string} id
   * @param {MediaStreamTrack} track
   */
  _onTrack(id, track) {
    this.deps.mark(`track ${id} ${track.kind}`);
    let s = this.streams.get(id);
    if (!s) {
      s = new this.deps.MediaStream();
      this.streams.set(id, s);
    }
    for (const old of s.getTracks()) if (old.kind === track.kind && old !== track) s.removeTrack(old);
    if (!s.getTracks().includes(track)) s.addTrack(track);
    if (track.kind === 'audio') this.monitor?.watch(id, track);
    this.view?.showStream(id, s).then((ok) => {
      if (!ok && !this.closed) {
        this.soundBlocked = true;
        this.view?.setSoundBlocked(true);
      }
    });
  }

  /**
   * @param {string} id
   * @param {any} msg
   */
  _onPeerMessage(id, msg) {
    if (msg.type === 'state') {
      const hand = msg.hand === true;
      this.view?.updateTile(id, { muted: msg.muted === true, camera: msg.camera !== false || msg.sharing === true, sharing: msg.sharing === true, hand });
      if (hand && !this.hands.has(id)) {
        this.hands.add(id);
        this.view?.announce(t('call.announce.hand', { name: this._nameOf(id) }));
      } else if (!hand) this.hands.delete(id);
    } else if (msg.type === 'chat' && typeof msg.text === 'string') {
      const from = this._nameOf(id);
      const text = msg.text.slice(0, 2000);
      this.view?.addMessage({ from, text, ts: Number(msg.ts), self: false });
      this.view?.announce(t('call.announce.message', { name: from, text }));
      if (!this.chat.open) {
        this.chat.unread += 1;
        this.view?.setChat({ ...this.chat });
      }
    }
  }

  /**
   * The name to show for a peer: the mesh's, else the one from its join, else Guest.
   * @param {string} id
   */
  _nameOf(id) {
    return this.mesh?.peers.get(id)?.name || this.names.get(id) || t('call.guest');
  }

  /**
   * Shows the pair's verification code on the peer's tile once its connection is up:
   * from the DTLS fingerprints in our SDP and theirs (see verification.js). A new
   * connection (a reload) brings new descriptions and a new code.
   * @param {string} id
   */
  async _verify(id) {
    const pc = this.mesh?.peers.get(id)?.pc;
    if (!pc) return;
    let code = null;
    try {
      code = await verificationCode(pc.localDescription?.sdp, pc.remoteDescription?.sdp);
    } catch (err) {
      this.deps.mark(`verify ${id} failed: ${err instanceof Error ? err.message : err}`);
    }
    if (this.closed || this.mesh?.peers.get(id)?.pc !== pc) return;
    if (code) this.verified.set(id, code);
    else this.verified.delete(id);
    this.view?.updateTile(id, { verify: code });
  }

  // ---- the buttons ----

  /**
   * Opens or closes the chat panel; opening reads every message (the badge clears).
   * @param {boolean} open
   */
  setChatOpen(open) {
    if (this.closed) return;
    this.chat = { open, unread: open ? 0 : this.chat.unread };
    this.view?.setChat({ ...this.chat });
  }

  /** Raises or lowers our hand: on our tile, and on everyone's through `state`. */
  toggleHand() {
    if (this.closed || !this.view) return;
    this.hand = !this.hand;
    this.view.announce(t(this.hand ? 'call.announce.handSelf' : 'call.announce.handSelfDown'));
    this._updateSelf();
  }

  /**
   * A keyboard shortcut (shortcuts.js says which key is which).
   * @param {import('./shortcuts.js').ShortcutAction} action
   */
  shortcut(action) {
    if (this.closed) return;
    switch (action) {
      case 'mute':
        this.toggleMute();
        break;
      case 'camera':
        this.toggleCamera();
        break;
      case 'chat':
        this.setChatOpen(!this.chat.open);
        break;
      case 'hand':
        this.toggleHand();
        break;
      case 'leave':
        this.leave();
        break;
      case 'help':
        this.view?.toggleHelp();
        break;
    }
  }

  /** @param {string} text */
  sendChat(text) {
    const msg = { type: 'chat', text: text.slice(0, 2000), ts: Date.now() };
    const n = this.mesh?.broadcast(msg) ?? 0;
    this.view?.addMessage({ from: this.target.name, text: msg.text, ts: msg.ts, self: true });
    if (n === 0 && (this.mesh?.peers.size ?? 0) > 0) {
      this.view?.addSystemMessage(t('call.chat.notDelivered'));
    }
  }

  async toggleMute() {
    if (this.closed || !this.mesh) return;
    const problem = await this.deps.media.toggleMute(this.mesh);
    if (problem !== null) {
      this.view?.setBanner(problem, 'warn');
      return;
    }
    this._watchSelfAudio();
    this._updateSelf();
  }

  async toggleCamera() {
    if (this.closed || !this.mesh) return;
    const problem = await this.deps.media.toggleCamera(this.mesh);
    if (problem !== null) {
      this.view?.setBanner(problem, 'warn');
      return;
    }
    this.view?.showStream('self', this.deps.media.stream);
    this._updateSelf();
  }

  async toggleShare() {
    const media = this.deps.media;
    if (this.closed || !this.mesh) return;
    if (media.screen) {
      this._stopSharing();
      return;
    }
    const problem = await media.startSharing(this.mesh, () => !this.closed);
    if (problem) this.view?.setBanner(problem, 'warn');
    else if (problem === null) {
      this.view?.showStream('self', media.stream);
      this._updateSelf();
    }
  }

  _stopSharing() {
    this.deps.media.stopSharing(this.mesh);
    this.view?.showStream('self', this.deps.media.stream);
    this._updateSelf();
  }

  /**
   * @param {'audio' | 'video'} kind
   * @param {string} deviceId
   */
  async switchDevice(kind, deviceId) {
    const media = this.deps.media;
    const { changed, problem } = await media.useDevice(kind, deviceId, this.mesh);
    if (problem) this.view?.setBanner(problem, 'warn');
    if (!changed || this.closed) return;
    this._watchSelfAudio();
    this.view?.showStream('self', media.stream);
    this.view?.setBanner(null);
    this._updateSelf();
    this._refreshDevices();
  }

  async copyInvite() {
    const c = this.target;
    const text = inviteFor(c.ws, c.code) || formatCode(c.code);
    try {
      await /** @type {{writeText(text: string): Promise<void>}} */ (this.deps.clipboard).writeText(text);
      this.view?.flashCopyStatus(t('call.inviteCopied'));
    } catch {
      this.view?.showOverlay(t('call.invite.title'), t('call.invite.text'), [{ label: t('call.invite.done'), run: () => this.view?.hideOverlay(), primary: true }], text);
    }
  }

  // ---- our own media ----

  /**
   * A device stopped by itself: the others stop getting it, the person is told.
   * @param {'audio' | 'video' | 'screen'} kind
   */
  _onDeviceStopped(kind) {
    if (kind === 'screen') {
      this._stopSharing();
      return;
    }
    const media = this.deps.media;
    if (kind === 'video') {
      if (!media.screen) this.mesh?.setLocalTrack('video', null);
      this.view?.setBanner(t('call.banner.cameraStopped'), 'warn');
    } else {
      this.mesh?.setLocalTrack('audio', null);
      this.view?.setBanner(t('call.banner.micStopped'), 'warn');
    }
    this.view?.showStream('self', media.stream);
    this._updateSelf();
  }

  /** The speaking meter of our tile follows our microphone. */
  _watchSelfAudio() {
    const audio = this.deps.media.audio;
    if (!audio || audio === this._selfAudio || !this.monitor) return;
    this._selfAudio = audio;
    this.monitor.watch('self', audio);
  }

  /** Our `state` message (docs/PROTOCOL.md; `hand` is an [ext]). */
  _stateMessage() {
    return { type: 'state', ...this.deps.media.state(), hand: this.hand };
  }

  /** Our own tile, the buttons, and the others (state message). */
  _updateSelf() {
    const view = this.view;
    if (!view || this.closed) return;
    const media = this.deps.media;
    const s = this._stateMessage();
    view.updateTile('self', { muted: s.muted, camera: s.camera || s.sharing, sharing: s.sharing, hand: s.hand });
    view.setControls({ muted: s.muted, camera: s.camera, sharing: s.sharing, canShare: media.canShare(), hasCamera: !!media.camera, hand: s.hand });
    this.mesh?.broadcast(s);
  }

  async _refreshDevices() {
    const media = this.deps.media;
    const devices = await media.devices();
    if (!this.closed) this.view?.setDevices(devices, media.deviceIds());
  }

  _updateTitle() {
    const n = (this.mesh?.peers.size ?? 0) + 1;
    this.view?.setPeople(n);
    this.deps.setTitle(`${this.target.roomName || formatCode(this.target.code)} (${n}) · lanmeet`);
  }
}
