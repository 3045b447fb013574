// @ts-check
/**
 * A tiny typed-enough event emitter, shared by the modules that hold logic.
 *
 * Why not EventTarget: listeners here get plain values (no Event wrapper), which keeps
 * the modules easy to drive from Node's test runner and keeps call sites short.
 */
export class Emitter {
  constructor() {
    /** @type {Map<string, Set<(value: any) => void>>} */
    this._listeners = new Map();
  }

  /**
   * Adds a listener; returns a function that removes it.
   * @param {string} type
   * @param {(value: any) => void} fn
   * @returns {() => void}
   */
  on(type, fn) {
    let set = this._listeners.get(type);
    if (!set) {
      set = new Set();
      this._listeners.set(type, set);
    }
    set.add(fn);
    return () => set?.delete(fn);
  }

  /**
   * Calls every listener of `type`. A throwing listener is reported and does not stop
   * the others: one broken view must not break signaling.
   * @param {string} type
   * @param {any} [value]
   */
  emit(type, value) {
    const set = this._listeners.get(type);
    if (!set) return;
    for (const fn of [...set]) {
      try {
        fn(value);
      } catch (err) {
        console.error(`lanmeet: listener for "${type}" failed`, err);
      }
    }
  }

  /** Drops every listener (teardown). */
  clear() {
    this._listeners.clear();
  }
}
