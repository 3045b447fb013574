// @ts-check
/**
 * Boot: the one module that touches the page's globals. It makes the real parts
 * (storage, local media, views, signaling client, mesh, timers, location and history)
 * and hands them to the {@link Router}, which moves between the lobby and the call
 * controllers. Everything with logic lives in those modules and is tested without a
 * browser; this file only wires, and runs once on load.
 *
 * Hooks for the desktop app: `window.__lanmeetOpenRoom(room, name?)` (defined here),
 * `window.__lanmeetOpenInBrowser(url)` (read when the page has no WebRTC) and
 * `window.__lanmeetDesktop` (leave at once on `pagehide`). `window.__lanmeetTimeline`
 * lists the call's events with times.
 */
import * as api from './api.js';
import { SignalingClient } from './signaling.js';
import { Mesh } from './mesh.js';
import { LevelMonitor } from './media.js';
import { LobbyView } from './views/lobby.js';
import { CallView } from './views/call.js';
import { AppStorage, safeStore } from './storage.js';
import { LocalMedia } from './local-media.js';
import { createTimeline } from './timeline.js';
import { LobbyController } from './lobby-controller.js';
import { CallController } from './call-controller.js';
import { Router } from './router.js';
import { isGuestPage, createGuestApi, invitePhoneModel } from './guest.js';
import { createGuestLobbyView } from './views/guest-lobby.js';
import { InvitePhoneDialog } from './views/invite-phone.js';
import { initLanguage } from './i18n.js';
import { installBridge } from './bridge/install.js';

async function boot() {
  const w = /** @type {any} */ (window);
  const root = /** @type {HTMLElement} */ (document.getElementById('app'));
  const hasNativeRTC = typeof globalThis.RTCPeerConnection === 'function';
  // An engine without WebRTC here is WebKitGTK's, which the desktop app has paint in
  // software: no blurred shadows there (styles.css, `.flat`).
  if (!hasNativeRTC) document.documentElement.classList.add('flat');
  // A browser guest's page (HTTPS from the host's LAN port): no control API, rooms of
  // this origin only (guest.js).
  const guest = isGuestPage(window.location);
  // Every way this page goes on (the lobby's preview, a launch or reload join) starts by
  // opening the camera and microphone: open them now, while the bridge is set up below,
  // not after it (WebKitGTK's camera takes most of a second to start, which a window
  // launched into a call otherwise spent between its Join and its first offer).
  const media = new LocalMedia({ MediaStream: globalThis.MediaStream, mediaDevices: globalThis.navigator?.mediaDevices });
  media.ensure().catch(() => {});
  // No WebRTC here (Debian's WebKitGTK): calls go through the bridge beside this
  // page's own node, when it runs one (docs/BRIDGE.md). Never on a guest's page.
  const bridge = await installBridge({
    hasNativeRTC,
    location: window.location,
    fetch: (url, init) => fetch(url, init),
    WebSocket: globalThis.WebSocket,
    loadMedia: loadBridgeMedia,
    log: (...m) => console.debug('lanmeet bridge:', ...m),
  });
  w.__lanmeetBridge = bridge;
  const RTC = bridge ? bridge.RTCPeerConnection : globalThis.RTCPeerConnection;
  const hasWebRTC = hasNativeRTC || !!bridge;
  const storage = new AppStorage({ local: safeStore(() => globalThis.localStorage), session: safeStore(() => globalThis.sessionStorage) });
  // Before any view: the remembered choice, else the browser's languages; sets <html lang>.
  initLanguage(globalThis.navigator?.languages, storage);
  const timeline = createTimeline(() => performance.now());
  w.__lanmeetTimeline = timeline.entries;
  if (bridge?.media) bridge.media.mark = timeline.mark;

  // One DTLS certificate for every connection of this page, made while the person is
  // still in the lobby: each connection then skips its own key generation.
  /** @type {Promise<RTCCertificate[] | undefined>} */
  const certificates =
    hasNativeRTC && typeof RTCPeerConnection.generateCertificate === 'function'
      ? RTCPeerConnection.generateCertificate(/** @type {any} */ ({ name: 'ECDSA', namedCurve: 'P-256' })).then(
          (c) => [c],
          () => undefined,
        )
      : Promise.resolve(undefined);

  // A bridged page's own camera, in the lobby's preview and the self tile, is painted by
  // its media worker instead of played by a <video> (media-engine.js previewStream).
  /** @type {((stream: MediaStream | null) => MediaStream | null) | undefined} */
  const selfStream = bridge?.media ? (stream) => /** @type {MediaStream | null} */ (bridge.media.previewStream(stream)) : undefined;

  const router = new Router({
    makeLobby: (deps) => new LobbyController(deps),
    makeCall: (target, deps) => new CallController(target, deps),
    api: guest ? createGuestApi({ location: window.location, fetch: (url, init) => fetch(url, init) }) : api,
    storage,
    media,
    hasWebRTC,
    desktop: !!w.__lanmeetDesktop,
    bridged: !!bridge,
    location: window.location,
    history: window.history,
    browserOpener: () => w.__lanmeetOpenInBrowser,
    timers: {
      setInterval: (fn, ms) => setInterval(fn, ms),
      clearInterval: (h) => clearInterval(h),
      setTimeout: (fn, ms) => setTimeout(fn, ms),
      clearTimeout: (h) => clearTimeout(h),
    },
    setTitle: (title) => {
      document.title = title;
    },
    mark: timeline.mark,
    createLobbyView: (handlers, initial) =>
      guest ? createGuestLobbyView(root, handlers, initial, window.location) : new LobbyView(root, handlers, initial, { selfStream }),
    createCallView: (handlers, room) => new CallView(root, handlers, room, { selfStream }),
    // A bridged page measures its speaking meters in the media engine's AudioContext
    // (which plays the remote sound): no second AudioContext in WebKitGTK.
    createMonitor: (onChange) =>
      new LevelMonitor(onChange, bridge?.media ? { tap: (track) => bridge.media.levelOf(track), resume: () => bridge.media.resume() } : {}),
    createSignaling: (opts) => new SignalingClient(opts),
    createMesh: (opts) =>
      new Mesh({ ...opts, RTCPeerConnection: RTC, peerOptions: { log: (...m) => console.debug('lanmeet:', ...m) } }),
    MediaStream: bridge?.MediaStream ?? globalThis.MediaStream,
    certificates,
    clipboard: globalThis.navigator?.clipboard,
    // "Invite a phone" (the call view's button): not on a guest's page, which has no
    // node of its own to draw the QR code or know the fingerprint.
    invitePhone: guest ? null : (target) => openInvitePhone(root, target),
  });

  w.__lanmeetOpenRoom = (/** @type {unknown} */ room, /** @type {unknown} */ name) => router.openRoom(room, name);

  // The desktop window navigates to about:blank when it closes: leave at once so the
  // others see us go now rather than after the grace period. In a browser, pagehide
  // also means "reload", which must keep our place (resume), so only the app does this.
  window.addEventListener('pagehide', () => {
    if (w.__lanmeetDesktop) router.leaveNow();
  });

  router.start();
}

/**
 * The bridge's media engine (ui/bridge/media-engine.js): WebCodecs VP8/Opus in a
 * worker, canvas tiles. Loaded only on a bridged page; without it a bridged call
 * still connects and chats, with no pictures or sound.
 * @param {import('./bridge/client.js').BridgeClient} client
 * @param {(...m: any[]) => void} log
 */
async function loadBridgeMedia(client, log) {
  const [{ BridgeMedia }, { BridgeMediaStream }] = await Promise.all([import('./bridge/media-engine.js'), import('./bridge/media-stream.js')]);
  const media = new BridgeMedia({
    sendFrame: (/** @type {ArrayBuffer} */ buf) => client.sendFrame(buf),
    requestKeyframe: (/** @type {number} */ pc) => client.request('requestKeyframe', { pc }).catch(() => {}),
    log,
  });
  return { media, MediaStream: BridgeMediaStream };
}

/**
 * Opens "Invite a phone" for the call to `target`, with what this node says about
 * its HTTPS for guests.
 * @param {HTMLElement} root
 * @param {{ws: string, code: string}} target
 */
async function openInvitePhone(root, target) {
  let node;
  try {
    node = await api.nodeInfo();
  } catch {
    node = { name: '', lanHost: '', lanPort: 0, guest: null };
  }
  new InvitePhoneDialog(root, invitePhoneModel(target, node), { qrImageUrl: api.qrImageUrl, clipboard: globalThis.navigator?.clipboard });
}

boot().catch((err) => console.error('lanmeet: the page could not start', err));
