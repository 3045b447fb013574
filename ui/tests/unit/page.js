// @ts-check
/**
 * A page for the controller tests: the real router, controllers, signaling client,
 * mesh, local media and storage, over the fakes of `fakes.js` (WebSocket whose
 * server the test plays, RTCPeerConnection model, devices, storage, control API,
 * views as records). What app.js wires for the browser, wired for Node.
 */
import { AppStorage } from '../../storage.js';
import { LocalMedia } from '../../local-media.js';
import { SignalingClient } from '../../signaling.js';
import { Mesh } from '../../mesh.js';
import { Router } from '../../router.js';
import { LobbyController } from '../../lobby-controller.js';
import { CallController } from '../../call-controller.js';
import {
  FakeApi,
  FakeCallView,
  FakeLobbyView,
  FakeMediaDevices,
  FakeMediaStream,
  FakeMonitor,
  FakePC,
  FakeStorage,
  FakeWebSocket,
  ManualTimers,
  unrefTimers,
  until,
} from './fakes.js';

/**
 * @typedef {object} PageOptions
 * @property {string} [search] `location.search` at load (`?room=…`)
 * @property {Record<string, string>} [local] localStorage at load
 * @property {Record<string, string>} [session] sessionStorage at load
 * @property {{audio?: boolean, video?: boolean, denied?: boolean, screen?: boolean}} [devices]
 * @property {boolean} [hasWebRTC] default true
 * @property {boolean} [bridged] calls go through the bridge (default false)
 * @property {(url: string) => unknown} [opener] the desktop app's `__lanmeetOpenInBrowser`
 * @property {boolean} [desktop] the page runs in the desktop app (`__lanmeetDesktop`)
 */

/** @param {PageOptions} [opts] */
export function fakePage(opts = {}) {
  FakeWebSocket.instances = [];
  FakeLobbyView.instances = [];
  FakeCallView.instances = [];
  FakePC.instances = [];
  const timers = new ManualTimers();
  const devices = new FakeMediaDevices(opts.devices);
  const local = new FakeStorage(opts.local);
  const session = new FakeStorage(opts.session);
  const api = new FakeApi();
  const location = { search: opts.search ?? '', origin: 'http://127.0.0.1:7879' };
  /** @type {string[]} */
  const titles = [];
  /** @type {string[]} */
  const marks = [];
  /** @type {FakeMonitor[]} */
  const monitors = [];
  const history = {
    /** @type {string[]} */
    urls: [],
    /** @param {any} _data @param {string} _unused @param {string} url */
    replaceState(_data, _unused, url) {
      this.urls.push(url);
      location.search = url;
    },
  };
  const clipboard = {
    /** @type {string[]} */
    texts: [],
    fail: false,
    /** @param {string} text */
    async writeText(text) {
      if (this.fail) throw Object.assign(new Error('denied'), { name: 'NotAllowedError' });
      this.texts.push(text);
    },
  };
  const media = new LocalMedia({ MediaStream: /** @type {any} */ (FakeMediaStream), mediaDevices: devices });
  const deps = {
    makeLobby: (/** @type {any} */ d) => new LobbyController(d),
    makeCall: (/** @type {any} */ target, /** @type {any} */ d) => new CallController(target, d),
    api,
    storage: new AppStorage({ local, session }),
    media,
    hasWebRTC: opts.hasWebRTC ?? true,
    desktop: opts.desktop ?? false,
    bridged: opts.bridged ?? false,
    location,
    history,
    browserOpener: () => opts.opener,
    timers,
    setTitle: (/** @type {string} */ t) => titles.push(t),
    mark: (/** @type {string} */ what) => marks.push(what),
    createLobbyView: (/** @type {any} */ handlers, /** @type {any} */ initial) => new FakeLobbyView(handlers, initial),
    createCallView: (/** @type {any} */ handlers, /** @type {any} */ room) => new FakeCallView(handlers, room),
    createMonitor: (/** @type {any} */ onChange) => {
      const m = new FakeMonitor(onChange);
      monitors.push(m);
      return m;
    },
    createSignaling: (/** @type {any} */ o) => new SignalingClient({ ...o, WebSocket: FakeWebSocket, timers }),
    createMesh: (/** @type {any} */ o) => new Mesh({ ...o, RTCPeerConnection: FakePC, peerOptions: { timers: unrefTimers } }),
    MediaStream: /** @type {any} */ (FakeMediaStream),
    certificates: Promise.resolve(undefined),
    clipboard,
  };
  const router = new Router(/** @type {any} */ (deps));
  return {
    router,
    deps,
    api,
    devices,
    media,
    local,
    session,
    timers,
    location,
    history,
    clipboard,
    titles,
    marks,
    monitors,
    /** The lobby view on screen (the last one made). */
    lobbyView: () => /** @type {FakeLobbyView} */ (FakeLobbyView.instances.at(-1)),
    /** The call view on screen (the last one made). */
    callView: () => /** @type {FakeCallView} */ (FakeCallView.instances.at(-1)),
    /** Waits for a peer socket that is still connecting and opens it; returns it. */
    async nextSocket() {
      await until(() => FakeWebSocket.instances.at(-1)?.readyState === 0);
      const ws = /** @type {FakeWebSocket} */ (FakeWebSocket.instances.at(-1));
      ws.serverOpen();
      return ws;
    },
    /** The saved call (sessionStorage), parsed. */
    savedCall: () => {
      const raw = session.getItem('lanmeet.call');
      return raw ? JSON.parse(raw) : null;
    },
  };
}
