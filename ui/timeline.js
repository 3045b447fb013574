// @ts-check
/**
 * A short timeline of call events (ms since page start), for diagnosing slow joins:
 * `window.__lanmeetTimeline` in the console, read by the e2e waits and the benchmark.
 */

/** At most this many entries: a long call must not grow the page without end. */
const MAX_ENTRIES = 500;

/**
 * @param {() => number} now ms since page start (`performance.now`)
 * @returns {{entries: [number, string][], mark: (what: string) => void}}
 */
export function createTimeline(now) {
  /** @type {[number, string][]} */
  const entries = [];
  return {
    entries,
    mark(what) {
      if (entries.length < MAX_ENTRIES) entries.push([Math.round(now()), what]);
    },
  };
}

/**
 * What a signal carries, for the timeline: `offer`, `answer`, `candidate` or
 * `end-of-candidates`.
 * @param {any} data `signal.data`
 */
export function signalKind(data) {
  return data?.description?.type ?? (data?.candidate ? 'candidate' : 'end-of-candidates');
}
