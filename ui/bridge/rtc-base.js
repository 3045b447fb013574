// @ts-check
/**
 * What the bridge's `RTCPeerConnection` look-alike (rtc-shim.js) and its parts
 * (rtc-transceiver.js, rtc-data-channel.js) share: errors and events as a browser's,
 * and a stand-in track.
 */

/** A DOMException-like error (name and message), as a browser would throw. */
export class ShimError extends Error {
  /**
   * @param {string} name
   * @param {string} message
   */
  constructor(name, message) {
    super(message);
    this.name = name;
  }
}

/**
 * An event of `type` carrying `fields`, as a browser's RTC events do.
 * @param {string} type
 * @param {Record<string, any>} [fields]
 */
export function makeEvent(type, fields = {}) {
  const ev = new Event(type);
  for (const [k, v] of Object.entries(fields)) Object.defineProperty(ev, k, { value: v, enumerable: true });
  return ev;
}

/** A track's stand-in while no media engine makes real ones: only its kind is read. */
export function placeholderTrack(/** @type {'audio' | 'video'} */ kind, /** @type {string} */ id) {
  return {
    kind, id, label: '', enabled: true, muted: true, readyState: 'live',
    stop() {}, addEventListener() {}, removeEventListener() {}, getSettings: () => ({}),
  };
}

/**
 * The event target class of the shim's objects: it also calls its `on<type>` handler,
 * as the browser's do; a handler that throws is logged, not passed on.
 * @param {(...m: any[]) => void} log
 */
export function eventTargetClass(log) {
  return class ShimEventTarget extends EventTarget {
    /**
     * @param {string} type
     * @param {Record<string, any>} [fields]
     */
    _fire(type, fields) {
      const ev = makeEvent(type, fields);
      this.dispatchEvent(ev);
      const h = /** @type {any} */ (this)[`on${type}`];
      if (typeof h === 'function') {
        try {
          h.call(this, ev);
        } catch (err) {
          log(`on${type} failed`, err);
        }
      }
    }
  };
}
