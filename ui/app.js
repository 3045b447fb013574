// @ts-check
/**
 * Wiring: lobby → call → lobby. Owns the local media, the signaling client, the mesh
 * and the views, and turns every failure into a sentence with a way forward.
 *
 * A call in progress is remembered in sessionStorage (room, socket URL, name, resume
 * token), so reloading the page rejoins with `resume` and the others keep the same
 * tile for us.
 */
import * as api from './api.js';
import { parseJoinInput, formatCode, inviteFor, CodeError, normalizeCode } from './codes.js';
import { SignalingClient } from './signaling.js';
import { Mesh } from './mesh.js';
import { acquireMedia, describeMediaProblems, listDevices, getScreen, LevelMonitor, stopTrack, classifyMediaError } from './media.js';
import { LobbyView } from './views/lobby.js';
import { CallView } from './views/call.js';

const NAME_KEY = 'lanmeet.name';
const CALL_KEY = 'lanmeet.call';
const NEARBY_POLL_MS = 2000;

/**
 * @typedef {object} CallTarget
 * @property {string} ws
 * @property {string} code
 * @property {string} name
 * @property {string} [passcode]
 * @property {string} [token]
 * @property {string} [roomName]
 */

/** Local media: what we send and show for ourselves. */
const local = {
  /** @type {MediaStreamTrack | null} */ audio: null,
  /** @type {MediaStreamTrack | null} */ camera: null,
  /** @type {MediaStreamTrack | null} */ screen: null,
  /** The stream our tracks are announced in, and shown on our own tile. */
  stream: /** @type {MediaStream | null} */ (null),
  muted: false,
  cameraOn: true,
  /** @type {{audioDeviceId?: string, videoDeviceId?: string}} */
  choice: {},
  note: '',
  acquired: false,
};

/**
 * A short timeline of call events (ms since page start), for diagnosing slow joins:
 * `window.__lanmeetTimeline` in the console, or read by the benchmark.
 * @type {[number, string][]}
 */
const timeline = [];
/** @param {string} what */
function mark(what) {
  if (timeline.length < 500) timeline.push([Math.round(performance.now()), what]);
}
/** @type {any} */ (window).__lanmeetTimeline = timeline;

/** @param {any} data signal.data, for the timeline */
function signalKind(data) {
  return data?.description?.type ?? (data?.candidate ? 'candidate' : 'end-of-candidates');
}

/** The call in progress, if any. */
/** @type {null | {target: CallTarget, signaling: SignalingClient, mesh: Mesh | null, view: CallView | null, monitor: LevelMonitor | null, streams: Map<string, MediaStream>, names: Map<string, string>, welcomed: boolean, soundBlocked: boolean}} */
let call = null;
/** @type {LobbyView | null} */
let lobby = null;
let nearbyTimer = 0;

const root = /** @type {HTMLElement} */ (document.getElementById('app'));
const hasWebRTC = typeof globalThis.RTCPeerConnection === 'function';

/**
 * One DTLS certificate for every connection of this page, made while the person is
 * still in the lobby: each connection then skips its own key generation.
 * @type {Promise<RTCCertificate[] | undefined>}
 */
const certificates = hasWebRTC && typeof RTCPeerConnection.generateCertificate === 'function'
  ? RTCPeerConnection.generateCertificate(/** @type {any} */ ({ name: 'ECDSA', namedCurve: 'P-256' })).then((c) => [c], () => undefined)
  : Promise.resolve(undefined);

// ---------------------------------------------------------------------------
// Storage (may throw in locked-down webviews: never let that break the page)

/** @param {Storage | undefined} s @param {string} k */
function load(s, k) {
  try {
    return s?.getItem(k) ?? null;
  } catch {
    return null;
  }
}
/** @param {Storage | undefined} s @param {string} k @param {string | null} v */
function save(s, k, v) {
  try {
    if (v === null) s?.removeItem(k);
    else s?.setItem(k, v);
  } catch {
    // storage unavailable: the call works, reload just will not resume
  }
}

/** @returns {CallTarget | null} */
function savedCall() {
  const raw = load(globalThis.sessionStorage, CALL_KEY);
  if (!raw) return null;
  try {
    const v = JSON.parse(raw);
    return v && typeof v.ws === 'string' && typeof v.code === 'string' && typeof v.name === 'string' ? v : null;
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------
// Local media

function rebuildLocalStream() {
  const tracks = /** @type {MediaStreamTrack[]} */ ([local.audio, local.screen ?? local.camera].filter(Boolean));
  if (!local.stream) local.stream = new MediaStream(tracks);
  else {
    for (const t of local.stream.getTracks()) if (!tracks.includes(t)) local.stream.removeTrack(t);
    for (const t of tracks) if (!local.stream.getTracks().includes(t)) local.stream.addTrack(t);
  }
  return local.stream;
}

/** The track we send as video: the screen while sharing, else the camera (if on). */
function outgoingVideo() {
  return local.screen ?? (local.cameraOn ? local.camera : null);
}

/** @type {Promise<void> | null} */
let mediaReady = null;

/** Gets camera and microphone once (lobby preview and call share them). */
function ensureMedia() {
  mediaReady ??= acquireLocal();
  return mediaReady;
}

/**
 * A device can stop by itself (unplugged, taken away by the system, permission
 * revoked): then we behave as if the person had switched it off, and say so.
 * @param {MediaStreamTrack | null} track
 */
function watchEnded(track) {
  track?.addEventListener('ended', () => {
    if (track === local.camera) {
      local.camera = null;
      local.cameraOn = false;
      if (!local.screen) call?.mesh?.setLocalTrack('video', null);
      call?.view?.setBanner('Your camera stopped. Choose another one under Devices, or turn it back on.', 'warn');
    } else if (track === local.audio) {
      local.audio = null;
      local.muted = true;
      call?.mesh?.setLocalTrack('audio', null);
      call?.view?.setBanner('Your microphone stopped. Choose another one under Devices, or unmute to try again.', 'warn');
    } else return;
    rebuildLocalStream();
    call?.view?.showStream('self', local.stream);
    updateSelf();
  });
}

async function acquireLocal() {
  local.acquired = true;
  const got = await acquireMedia(local.choice);
  watchEnded(got.audio);
  watchEnded(got.video);
  local.audio = got.audio;
  local.camera = got.video;
  local.cameraOn = !!got.video;
  local.muted = !got.audio;
  if (local.audio) local.audio.enabled = !local.muted;
  local.note = describeMediaProblems(got);
  rebuildLocalStream();
  watchDeviceChanges();
}

function currentDeviceIds() {
  return {
    audio: local.audio?.getSettings?.().deviceId,
    video: local.camera?.getSettings?.().deviceId,
  };
}

async function refreshDevices() {
  const devices = await listDevices();
  lobby?.setDevices(devices, currentDeviceIds());
  call?.view?.setDevices(devices, currentDeviceIds());
}

let watchingDevices = false;
function watchDeviceChanges() {
  if (watchingDevices || !navigator.mediaDevices) return;
  watchingDevices = true;
  navigator.mediaDevices.addEventListener?.('devicechange', () => refreshDevices());
}

/**
 * Switches microphone or camera. In a call the new track replaces the old one on
 * every connection (replaceTrack, no renegotiation).
 * @param {'audio' | 'video'} kind
 * @param {string} deviceId
 */
async function switchDevice(kind, deviceId) {
  if (kind === 'audio') local.choice.audioDeviceId = deviceId || undefined;
  else local.choice.videoDeviceId = deviceId || undefined;
  if (kind === 'video' && !local.cameraOn && call) return; // used next time the camera goes on
  const got = await acquireMedia(local.choice, { audio: kind === 'audio', video: kind === 'video' });
  const track = kind === 'audio' ? got.audio : got.video;
  watchEnded(track);
  if (!track) {
    const msg = describeMediaProblems(got) || 'That device could not be started.';
    if (call?.view) call.view.setBanner(msg, 'warn');
    else lobby?.setPreview(local.stream, msg);
    return;
  }
  if (kind === 'audio') {
    const old = local.audio;
    track.enabled = !local.muted;
    local.audio = track;
    await call?.mesh?.setLocalTrack('audio', track);
    stopTrack(old);
    call?.monitor?.watch('self', track);
  } else {
    const old = local.camera;
    local.camera = track;
    local.cameraOn = true;
    if (!local.screen) await call?.mesh?.setLocalTrack('video', track);
    stopTrack(old);
  }
  rebuildLocalStream();
  if (call?.view) {
    call.view.showStream('self', local.stream);
    call.view.setBanner(null);
    updateSelf();
  } else {
    lobby?.setPreview(local.stream, '');
  }
  refreshDevices();
}

// ---------------------------------------------------------------------------
// Lobby

/**
 * @param {{notice?: string, noticeKind?: 'error' | 'info', actions?: {label: string, run: () => void}[], room?: string, askPasscode?: string, detail?: string}} [opts]
 */
async function showLobby(opts = {}) {
  stopNearby();
  lobby?.destroy();
  const params = new URLSearchParams(location.search);
  lobby = new LobbyView(
    root,
    {
      onJoin: (v) => joinFromLobby(v),
      onHost: (v) => hostFromLobby(v),
      onJoinNearby: (room, name) => joinNearby(room, name),
      onDevice: (kind, id) => switchDevice(kind, id),
      onNameChange: (name) => save(globalThis.localStorage, NAME_KEY, name),
    },
    { name: load(globalThis.localStorage, NAME_KEY) ?? '', room: opts.room ?? params.get('room') ?? '' },
  );
  document.title = 'lanmeet';
  if (!hasWebRTC) showNoWebRTC(lobby.roomInput.value);
  else if (opts.notice) lobby.setNotice(opts.notice, { kind: opts.noticeKind, actions: opts.actions, detail: opts.detail });
  if (opts.askPasscode) lobby.askPasscode(opts.askPasscode);
  startNearby();
  await ensureMedia();
  if (!lobby) return;
  lobby.setPreview(local.stream, local.note);
  refreshDevices();
}

/**
 * The page has no RTCPeerConnection (e.g. a Linux webview built without WebRTC):
 * say so and offer the same room in the system browser.
 * @param {string} roomText
 * @param {string} [before] a sentence to say first (e.g. the room just hosted)
 */
function showNoWebRTC(roomText, before = '') {
  const url = `${location.origin}/${roomText.trim() ? `?room=${encodeURIComponent(roomText.trim())}` : ''}`;
  const opener = /** @type {any} */ (window).__lanmeetOpenInBrowser;
  const why = 'This window cannot make video calls: its web engine has no WebRTC. Open the same room in your web browser instead; nothing is lost.';
  lobby?.setNotice(before ? `${before} ${why}` : why, {
    actions: [
      {
        label: 'Open in browser',
        run: () => {
          if (typeof opener === 'function') {
            Promise.resolve(opener(url)).catch(() => lobby?.setNotice(`Open this address in your web browser: ${url}`, { detail: url }));
          } else {
            lobby?.setNotice('Copy this address into your web browser:', { detail: url, kind: 'info' });
          }
        },
      },
    ],
  });
}

function startNearby() {
  stopNearby();
  const poll = async () => {
    try {
      const rooms = await api.lanRooms();
      lobby?.setRooms(rooms);
    } catch {
      lobby?.setRooms(null);
    }
  };
  poll();
  nearbyTimer = /** @type {any} */ (setInterval(poll, NEARBY_POLL_MS));
}

function stopNearby() {
  if (nearbyTimer) clearInterval(nearbyTimer);
  nearbyTimer = 0;
}

/** @param {string} name */
function checkName(name) {
  if (name) {
    save(globalThis.localStorage, NAME_KEY, name);
    return true;
  }
  lobby?.setNotice('Type your name first, so the others know who you are.');
  lobby?.nameInput.focus();
  return false;
}

/** @param {{name: string, room: string, passcode: string}} v */
async function joinFromLobby(v) {
  mark('join-click');
  if (!hasWebRTC) return showNoWebRTC(v.room);
  if (!checkName(v.name)) return;
  let target;
  try {
    target = parseJoinInput(v.room);
  } catch (err) {
    lobby?.setNotice(err instanceof CodeError ? err.message : String(err));
    lobby?.roomInput.focus();
    return;
  }
  lobby?.setNotice(null);
  lobby?.setBusy(true);
  let ws = target.kind === 'invite' ? target.ws : '';
  if (target.kind === 'code') {
    try {
      ws = (await api.resolveRoom(target.code)).ws;
    } catch (err) {
      lobby?.setBusy(false);
      if (err instanceof api.ApiError && err.status === 404) {
        lobby?.setNotice(
          `No room with code ${formatCode(target.code)} was found on this network. Check the code, or ask the host for an invite link (lanmeet://…), which works even when rooms cannot be discovered.`,
        );
      } else showApiError(err, () => joinFromLobby(v));
      return;
    }
  }
  await startCall({ ws, code: target.code, name: v.name, passcode: v.passcode || undefined });
}

/**
 * @param {import('./api.js').LanRoom} room
 * @param {string} name
 */
async function joinNearby(room, name) {
  if (!hasWebRTC) return showNoWebRTC(room.code);
  if (!checkName(name)) return;
  lobby?.setNotice(null);
  lobby?.setBusy(true);
  await startCall({ ws: room.ws, code: room.code, name, roomName: room.name, passcode: lobby?.passcodeInput.value || undefined });
}

/**
 * "Host a room". A window without WebRTC still hosts: the room lives on this node
 * (guests can join it now), and the host takes part from the browser.
 * @param {{name: string, roomName: string, passcode: string, listed: boolean}} v
 */
async function hostFromLobby(v) {
  // The call needs a name; a window without WebRTC only hosts here, and the
  // browser that runs the call asks for the name.
  if (hasWebRTC && !checkName(v.name)) return;
  lobby?.setNotice(null);
  lobby?.setBusy(true);
  let room;
  try {
    room = await api.createRoom({ name: v.roomName || undefined, passcode: v.passcode || null, listed: v.listed });
  } catch (err) {
    lobby?.setBusy(false);
    showApiError(err, () => hostFromLobby(v));
    return;
  }
  if (!hasWebRTC) {
    lobby?.setBusy(false);
    showNoWebRTC(room.code, `Room ${formatCode(room.code)} is open: friends join with that code or the invite ${room.invite}.`);
    return;
  }
  await startCall({ ws: room.ws, code: room.code, name: v.name, passcode: v.passcode || undefined, roomName: room.name });
}

/**
 * @param {unknown} err
 * @param {() => void} retry
 */
function showApiError(err, retry) {
  if (err instanceof api.ApiError && err.code === 'unreachable') {
    lobby?.setNotice('This page cannot reach the lanmeet program on this computer. Is lanmeet still running? Start it again, then try again.', {
      actions: [{ label: 'Try again', run: retry }],
    });
  } else if (err instanceof api.ApiError && err.code === 'rate-limited') {
    lobby?.setNotice('Too many attempts in a short time. Wait a few seconds and try again.', { actions: [{ label: 'Try again', run: retry }] });
  } else {
    lobby?.setNotice(err instanceof Error ? err.message : String(err), { actions: [{ label: 'Try again', run: retry }] });
  }
}

// ---------------------------------------------------------------------------
// Call

/** @param {CallTarget} target */
async function startCall(target) {
  if (call) endCall();
  await ensureMedia();
  const certs = await certificates;
  const signaling = new SignalingClient({ url: target.ws, room: target.code, name: target.name, passcode: target.passcode, token: target.token });
  const c = {
    target,
    signaling,
    /** @type {Mesh | null} */ mesh: null,
    /** @type {CallView | null} */ view: null,
    /** @type {LevelMonitor | null} */ monitor: null,
    /** @type {Map<string, MediaStream>} */ streams: new Map(),
    /** @type {Map<string, string>} */ names: new Map(),
    welcomed: false,
    soundBlocked: false,
  };
  call = c;

  // Registered before the mesh's own listeners: the view must exist when the mesh
  // announces the people in the welcome.
  signaling.on('welcome', (w) => {
    mark(`welcome ${w.peers.length} peers${w.resumed ? ' resumed' : ''}`);
    if (call !== c) return;
    if (!c.welcomed) {
      c.welcomed = true;
      enterCall(c, w);
    } else {
      c.view?.setBanner(null);
      if (!w.resumed) c.view?.addSystemMessage('Reconnected to the room.');
    }
    c.view?.tiles.get('self')?.el.setAttribute('data-peer-id', w.id);
  });
  signaling.on('token', (token) => {
    if (call !== c) return;
    c.target.token = token;
    save(globalThis.sessionStorage, CALL_KEY, JSON.stringify(c.target));
  });
  signaling.on('status', ({ status, attempt }) => {
    if (call !== c || !c.view) return;
    if (status === 'reconnecting') {
      c.view.setBanner(
        attempt > 3
          ? 'Still trying to reach the room\'s host… Calls that are already connected keep going.'
          : 'Connection to the room was lost. Reconnecting… Your calls keep going meanwhile.',
        'warn',
      );
    }
  });
  signaling.on('peer-joined', (p) => c.names.set(p.id, p.name));
  signaling.on('signal', ({ from, data }) => mark(`in ${from} ${signalKind(data)}`));
  signaling.on('sent', ({ to, data }) => mark(`out ${to} ${signalKind(data)}`));
  signaling.on('ended', (why) => onEnded(c, why));

  const mesh = new Mesh({
    signaling,
    RTCPeerConnection: globalThis.RTCPeerConnection,
    iceServers: configuredIceServers(),
    certificates: certs,
    localMedia: () => ({ audio: local.audio, video: outgoingVideo(), stream: rebuildLocalStream() }),
    peerOptions: { log: (...m) => console.debug('lanmeet:', ...m) },
  });
  c.mesh = mesh;
  mesh.on('peer-added', ({ id, name }) => {
    if (name) c.names.set(id, name);
    const tile = c.view?.addTile(id, c.names.get(id) ?? name, false);
    tile?.video.addEventListener('playing', () => mark(`playing ${id}`));
    updateTitle(c);
  });
  mesh.on('peer-removed', (id) => {
    c.view?.removeTile(id);
    c.monitor?.unwatch(id);
    c.streams.delete(id);
    updateTitle(c);
  });
  mesh.on('peer-state', ({ id, state }) => {
    mark(`state ${id} ${state}`);
    c.view?.updateTile(id, { state });
  });
  mesh.on('peer-session', (id) => {
    const s = new MediaStream();
    c.streams.set(id, s);
    c.view?.showStream(id, s);
    c.monitor?.unwatch(id);
  });
  mesh.on('peer-track', ({ id, track }) => {
    mark(`track ${id} ${track.kind}`);
    let s = c.streams.get(id);
    if (!s) {
      s = new MediaStream();
      c.streams.set(id, s);
    }
    for (const old of s.getTracks()) if (old.kind === track.kind && old !== track) s.removeTrack(old);
    if (!s.getTracks().includes(track)) s.addTrack(track);
    if (track.kind === 'audio') c.monitor?.watch(id, track);
    c.view?.showStream(id, s).then((ok) => {
      if (!ok && call === c) {
        c.soundBlocked = true;
        c.view?.setSoundBlocked(true);
      }
    });
  });
  mesh.on('channel-open', (id) => mesh.sendTo(id, stateMessage()));
  mesh.on('message', ({ id, msg }) => onPeerMessage(c, id, msg));

  mark('connect');
  signaling.connect();
}

/**
 * @param {NonNullable<typeof call>} c
 * @param {{id: string, room: any}} w
 */
function enterCall(c, w) {
  stopNearby();
  lobby?.destroy();
  lobby = null;
  if (w.room && typeof w.room.name === 'string' && !c.target.roomName) c.target.roomName = w.room.name;
  save(globalThis.sessionStorage, CALL_KEY, JSON.stringify(c.target));
  const params = new URLSearchParams(location.search);
  if (params.get('room') !== c.target.code) {
    params.set('room', c.target.code);
    history.replaceState(null, '', `?${params}`);
  }
  const view = new CallView(
    root,
    {
      onMute: () => toggleMute(),
      onCamera: () => toggleCamera(),
      onShare: () => toggleShare(),
      onLeave: () => leaveCall(),
      onCopyInvite: () => copyInvite(c),
      onChat: (text) => sendChat(c, text),
      onDevice: (kind, id) => switchDevice(kind, id),
      onEnableSound: () => {
        c.monitor?.resume();
        c.view?.enableSound();
      },
    },
    { code: c.target.code, roomName: c.target.roomName ?? '' },
  );
  c.view = view;
  c.monitor = new LevelMonitor((key, speaking) => view.updateTile(key, { speaking }));
  // Any click in the call lets audio start (autoplay rules after a reload).
  view.el.addEventListener('click', () => {
    c.monitor?.resume();
    if (c.soundBlocked) {
      c.soundBlocked = false;
      view.enableSound();
    }
  });
  const self = view.addTile('self', c.target.name, true);
  self.el.setAttribute('data-peer-id', w.id);
  view.showStream('self', rebuildLocalStream());
  if (local.audio) c.monitor.watch('self', local.audio);
  updateSelf();
  if (local.note) view.setBanner(local.note, 'warn');
  refreshDevices();
  updateTitle(c);
}

/** @param {NonNullable<typeof call>} c */
function updateTitle(c) {
  const n = (c.mesh?.peers.size ?? 0) + 1;
  document.title = `${c.target.roomName || formatCode(c.target.code)} (${n}) · lanmeet`;
}

function stateMessage() {
  return { type: 'state', muted: local.muted, camera: !!(local.cameraOn && local.camera), sharing: !!local.screen };
}

/** Our own tile, the buttons, and the others (state message). */
function updateSelf() {
  if (!call?.view) return;
  const s = stateMessage();
  call.view.updateTile('self', { muted: s.muted, camera: s.camera || s.sharing, sharing: s.sharing });
  call.view.setControls({
    muted: local.muted,
    camera: s.camera,
    sharing: s.sharing,
    canShare: !!navigator.mediaDevices?.getDisplayMedia,
    hasCamera: !!local.camera,
  });
  call.mesh?.broadcast(s);
}

/**
 * @param {NonNullable<typeof call>} c
 * @param {string} id
 * @param {any} msg
 */
function onPeerMessage(c, id, msg) {
  if (msg.type === 'state') {
    c.view?.updateTile(id, { muted: msg.muted === true, camera: msg.camera !== false || msg.sharing === true, sharing: msg.sharing === true });
  } else if (msg.type === 'chat' && typeof msg.text === 'string') {
    c.view?.addMessage({ from: c.mesh?.peers.get(id)?.name || c.names.get(id) || 'Guest', text: msg.text.slice(0, 2000), ts: Number(msg.ts), self: false });
  }
}

/**
 * @param {NonNullable<typeof call>} c
 * @param {string} text
 */
function sendChat(c, text) {
  const msg = { type: 'chat', text: text.slice(0, 2000), ts: Date.now() };
  const n = c.mesh?.broadcast(msg) ?? 0;
  c.view?.addMessage({ from: c.target.name, text: msg.text, ts: msg.ts, self: true });
  if (n === 0 && (c.mesh?.peers.size ?? 0) > 0) c.view?.addSystemMessage('Not delivered yet: nobody is connected. Messages go straight to the others, never through a server.');
}

async function toggleMute() {
  if (!call) return;
  if (!local.audio) {
    const got = await acquireMedia(local.choice, { audio: true, video: false });
    if (!got.audio) {
      call.view?.setBanner(describeMediaProblems(got), 'warn');
      return;
    }
    watchEnded(got.audio);
    local.audio = got.audio;
    await call.mesh?.setLocalTrack('audio', got.audio);
    call.monitor?.watch('self', got.audio);
    local.muted = false;
  } else {
    local.muted = !local.muted;
  }
  if (local.audio) local.audio.enabled = !local.muted;
  rebuildLocalStream();
  updateSelf();
}

async function toggleCamera() {
  if (!call) return;
  if (local.cameraOn && local.camera) {
    local.cameraOn = false;
    const old = local.camera;
    local.camera = null;
    if (!local.screen) await call.mesh?.setLocalTrack('video', null);
    stopTrack(old); // the camera light goes off
  } else {
    const got = await acquireMedia(local.choice, { audio: false, video: true });
    if (!got.video) {
      call.view?.setBanner(describeMediaProblems(got), 'warn');
      return;
    }
    watchEnded(got.video);
    local.camera = got.video;
    local.cameraOn = true;
    if (!local.screen) await call.mesh?.setLocalTrack('video', got.video);
  }
  rebuildLocalStream();
  call.view?.showStream('self', local.stream);
  updateSelf();
}

async function toggleShare() {
  if (!call) return;
  if (local.screen) {
    stopSharing();
    return;
  }
  let track;
  try {
    track = await getScreen();
  } catch (err) {
    const kind = classifyMediaError(err);
    if (kind !== 'denied') call.view?.setBanner(err instanceof Error ? `Could not share the screen: ${err.message}` : 'Could not share the screen.', 'warn');
    return;
  }
  if (!call) {
    stopTrack(track);
    return;
  }
  local.screen = track;
  call.mesh?.setSharing(true);
  track.addEventListener('ended', () => {
    if (local.screen === track) stopSharing();
  });
  await call.mesh?.setLocalTrack('video', track);
  rebuildLocalStream();
  call.view?.showStream('self', local.stream);
  updateSelf();
}

function stopSharing() {
  const t = local.screen;
  local.screen = null;
  stopTrack(t);
  call?.mesh?.setSharing(false);
  call?.mesh?.setLocalTrack('video', outgoingVideo());
  rebuildLocalStream();
  call?.view?.showStream('self', local.stream);
  updateSelf();
}

/** @param {NonNullable<typeof call>} c */
async function copyInvite(c) {
  const invite = inviteFor(c.target.ws, c.target.code);
  const text = invite || formatCode(c.target.code);
  try {
    await navigator.clipboard.writeText(text);
    c.view?.flashCopyStatus('Invite copied');
  } catch {
    c.view?.showOverlay('Invite', 'Copy this invite and send it to the people you want in the call:', [{ label: 'Done', run: () => c.view && (c.view.overlay.hidden = true), primary: true }], text);
  }
}

function leaveCall() {
  if (!call) return;
  const c = call;
  save(globalThis.sessionStorage, CALL_KEY, null);
  c.signaling.leave(); // → ended('left') → back to the lobby
}

/** Tears the call down: connections, level meters, view. Local media stays for the lobby. */
function endCall() {
  const c = call;
  if (!c) return;
  call = null;
  c.signaling.close();
  c.mesh?.close();
  c.monitor?.close();
  if (local.screen) {
    stopTrack(local.screen);
    local.screen = null;
    rebuildLocalStream();
  }
  c.view?.destroy();
}

/**
 * The signaling client stopped for good.
 * @param {NonNullable<typeof call>} c
 * @param {{code: string, message: string}} why
 */
function onEnded(c, why) {
  if (call !== c) return;
  const code = formatCode(c.target.code);
  if (!c.welcomed) {
    // Never got in: back to (or stay in) the lobby with the reason.
    endCall();
    save(globalThis.sessionStorage, CALL_KEY, null);
    const retry = () => startCall({ ...c.target, token: undefined });
    /** @type {Parameters<typeof showLobby>[0]} */
    let opts;
    switch (why.code) {
      case 'room-not-found':
        opts = { notice: `Room ${code} is not open any more. Check the code, or ask the host to start it again and send a new invite.` };
        break;
      case 'room-full':
        opts = { notice: `Room ${code} is full. A call holds at most 8 people (or fewer, if the host chose so). Try again when someone leaves.`, actions: [{ label: 'Try again', run: retry }] };
        break;
      case 'bad-passcode':
        opts = c.target.passcode
          ? { notice: 'That passcode is not right. Check it with the host and try again.', askPasscode: 'Wrong passcode. Try again.' }
          : { notice: `Room ${code} needs a passcode. Type it below, then Join.`, noticeKind: 'info', askPasscode: 'This room needs a passcode. Ask the host for it.' };
        break;
      case 'unreachable': {
        const port = /:(\d+)\//.exec(c.target.ws)?.[1] ?? '7878';
        opts = {
          notice: `Could not reach the room's host. Make sure you are on the same network (not a guest Wi-Fi) and that lanmeet still runs there; a firewall on the host must allow TCP port ${port}.`,
          detail: c.target.ws,
          actions: [{ label: 'Try again', run: retry }],
        };
        break;
      }
      default:
        opts = { notice: why.message || `Could not join room ${code} (${why.code}).`, actions: [{ label: 'Try again', run: retry }] };
    }
    if (lobby) {
      lobby.setBusy(false);
      if (opts.notice) lobby.setNotice(opts.notice, { kind: opts.noticeKind, actions: opts.actions, detail: opts.detail });
      if (opts.askPasscode) lobby.askPasscode(opts.askPasscode);
      lobby.roomInput.value = lobby.roomInput.value || c.target.code;
    } else {
      showLobby({ ...opts, room: c.target.code });
    }
    return;
  }
  if (why.code === 'left') {
    endCall();
    showLobby({ room: c.target.code, notice: 'You left the call.', noticeKind: 'info' });
    return;
  }
  // In the call: keep the view (and the last picture) with an explanation.
  save(globalThis.sessionStorage, CALL_KEY, null);
  const view = c.view;
  c.mesh?.close();
  c.monitor?.close();
  const back = () => {
    endCall();
    showLobby({ room: c.target.code });
  };
  const rejoin = () => {
    endCall();
    startCall({ ...c.target, token: undefined });
  };
  const texts = /** @type {Record<string, [string, string]>} */ ({
    'room-closed': ['The call has ended', 'The host closed this room.'],
    'room-not-found': ['The call has ended', 'This room is gone: its host closed it or stopped lanmeet.'],
    replaced: ['Opened elsewhere', 'This call continues in another tab or window of this browser.'],
    'gave-up': ['Connection lost', 'Lost the connection to the room\'s host and could not get it back. Check the network, then rejoin.'],
  });
  const [title, text] = texts[why.code] ?? ['Disconnected', why.message || `The connection to the room ended (${why.code}).`];
  const actions = [{ label: 'Back to the lobby', run: back, primary: why.code !== 'gave-up' }];
  if (why.code === 'gave-up' || !(why.code in texts)) actions.unshift({ label: 'Rejoin', run: rejoin, primary: true });
  view?.setBanner(null);
  view?.showOverlay(title, text, actions);
}

/** ICE servers the person configured (none by default: host candidates on the LAN). */
function configuredIceServers() {
  const raw = load(globalThis.localStorage, 'lanmeet.iceServers');
  if (!raw) return [];
  try {
    const v = JSON.parse(raw);
    return Array.isArray(v) ? v : [];
  } catch {
    return [];
  }
}

// ---------------------------------------------------------------------------
// Start

/**
 * The desktop app calls this when it is launched again with a room while running.
 * In the lobby: fill the room in and join (if the name is known); returns true.
 * During a call: returns false, and the app loads `/?room=…` instead.
 * @param {string} room a code or an invite
 */
function openRoom(room) {
  if (call || !lobby || typeof room !== 'string') return false;
  lobby.roomInput.value = room;
  if (lobby.name && hasWebRTC) joinFromLobby({ name: lobby.name, room, passcode: '' });
  else lobby.roomInput.focus();
  return true;
}
/** @type {any} */ (window).__lanmeetOpenRoom = openRoom;

// The desktop window navigates to about:blank when it closes: leave at once so the
// others see us go now rather than after the grace period. In a browser, pagehide
// also means "reload", which must keep our place (resume), so only the app does this.
window.addEventListener('pagehide', () => {
  if (call && /** @type {any} */ (window).__lanmeetDesktop) {
    save(globalThis.sessionStorage, CALL_KEY, null);
    call.signaling.leave();
  }
});

function main() {
  const saved = hasWebRTC ? savedCall() : null;
  const params = new URLSearchParams(location.search);
  const roomParam = params.get('room');
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
    showLobby({ notice: `Rejoining ${formatCode(saved.code)}…`, noticeKind: 'info', room: saved.code }).catch(() => {});
    lobby?.setBusy(true);
    startCall(saved);
  } else {
    save(globalThis.sessionStorage, CALL_KEY, null);
    showLobby();
  }
}

main();
