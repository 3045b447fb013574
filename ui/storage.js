// @ts-check
/**
 * What the page remembers: the person's name, language and configured ICE servers
 * (localStorage), and the call in progress (sessionStorage: room, socket URL, name,
 * resume token), so that reloading the page rejoins with `resume` and the others
 * keep the same tile for us.
 *
 * Storage may throw in locked-down webviews (or be missing): that must never break
 * the page, so every access here swallows it; the call works, a reload just does
 * not resume.
 */

const NAME_KEY = 'lanmeet.name';
const CALL_KEY = 'lanmeet.call';
const ICE_KEY = 'lanmeet.iceServers';
const LANGUAGE_KEY = 'lanmeet.language';

/**
 * Where a call goes: the peer socket, the room, and who we are in it.
 * @typedef {object} CallTarget
 * @property {string} ws
 * @property {string} code
 * @property {string} name
 * @property {string} [passcode]
 * @property {string} [token]
 * @property {string} [roomName]
 */

/**
 * The subset of the Web Storage API used here (a `Map`-backed fake passes too).
 * @typedef {Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>} KeyValue
 */

export class AppStorage {
  /**
   * @param {{local?: KeyValue | null, session?: KeyValue | null}} stores usually
   *   `localStorage` and `sessionStorage` (reading them may itself throw: pass getters' results)
   */
  constructor(stores) {
    this.local = stores.local ?? undefined;
    this.session = stores.session ?? undefined;
  }

  /** The name typed last time, or ''. */
  name() {
    return load(this.local, NAME_KEY) ?? '';
  }

  /** @param {string} name */
  saveName(name) {
    save(this.local, NAME_KEY, name);
  }

  /** The language the person picked with the switch, or null (then the browser's). */
  language() {
    return load(this.local, LANGUAGE_KEY);
  }

  /** @param {string} lang */
  saveLanguage(lang) {
    save(this.local, LANGUAGE_KEY, lang);
  }

  /**
   * The call this tab was in before a reload, if any (and well formed).
   * @returns {CallTarget | null}
   */
  savedCall() {
    const raw = load(this.session, CALL_KEY);
    if (!raw) return null;
    try {
      const v = JSON.parse(raw);
      return v && typeof v.ws === 'string' && typeof v.code === 'string' && typeof v.name === 'string' ? v : null;
    } catch {
      return null;
    }
  }

  /** @param {CallTarget} target */
  saveCall(target) {
    save(this.session, CALL_KEY, JSON.stringify(target));
  }

  /** Forgets the call: a reload now shows the lobby. */
  clearCall() {
    save(this.session, CALL_KEY, null);
  }

  /** @param {RTCIceServer[]} servers the person's own (lobby, advanced settings) */
  saveIceServers(servers) {
    save(this.local, ICE_KEY, servers.length ? JSON.stringify(servers) : null);
  }

  /**
   * ICE servers the person configured (none by default: host candidates on the LAN).
   * @returns {RTCIceServer[]}
   */
  iceServers() {
    const raw = load(this.local, ICE_KEY);
    if (!raw) return [];
    try {
      const v = JSON.parse(raw);
      return Array.isArray(v) ? v : [];
    } catch {
      return [];
    }
  }
}

/** @param {KeyValue | undefined} s @param {string} k */
function load(s, k) {
  try {
    return s?.getItem(k) ?? null;
  } catch {
    return null;
  }
}

/** @param {KeyValue | undefined} s @param {string} k @param {string | null} v */
function save(s, k, v) {
  try {
    if (v === null) s?.removeItem(k);
    else s?.setItem(k, v);
  } catch {
    // storage unavailable: the call works, reload just will not resume
  }
}

/**
 * Reads `globalThis[key]` (localStorage / sessionStorage), which itself throws when
 * storage is disabled.
 * @param {() => KeyValue | undefined} get
 * @returns {KeyValue | null}
 */
export function safeStore(get) {
  try {
    return get() ?? null;
  } catch {
    return null;
  }
}

/**
 * ICE servers as a person types them, one a line, as `lanmeet host --ice-server`
 * takes them: `stun:HOST[:PORT]` or `turn:USER:PASSWORD@HOST[:PORT][?transport=…]`.
 * Lines that are none of these are returned in `bad`.
 * @param {string} text
 * @returns {{servers: RTCIceServer[], bad: string[]}}
 */
export function parseIceServers(text) {
  /** @type {RTCIceServer[]} */
  const servers = [];
  /** @type {string[]} */
  const bad = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line) continue;
    const m = /^(stuns?|turns?):(?:([^:@]*):(.*)@)?([^@?:][^@]*)$/i.exec(line);
    if (!m || (/^turn/i.test(m[1]) && m[2] === undefined)) {
      bad.push(line);
      continue;
    }
    /** @type {RTCIceServer} */
    const server = { urls: [`${m[1].toLowerCase()}:${m[4]}`] };
    if (m[2] !== undefined) {
      server.username = m[2];
      server.credential = m[3];
    }
    servers.push(server);
  }
  return { servers, bad };
}

/**
 * The text form of {@link parseIceServers}.
 * @param {RTCIceServer[]} servers
 */
export function formatIceServers(servers) {
  return servers
    .flatMap((s) =>
      [s.urls].flat().map((url) => {
        if (s.username === undefined) return url;
        const i = url.indexOf(':');
        return `${url.slice(0, i)}:${s.username}:${s.credential ?? ''}@${url.slice(i + 1)}`;
      }),
    )
    .join('\n');
}
