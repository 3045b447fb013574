// @ts-check
/**
 * Where a join's time goes, in one line: the steps of a page's timeline
 * (`window.__lanmeetTimeline`, ui/timeline.js) in ms after its `join-click`, the first
 * of each kind (the slowest remote for `playing`), e.g.
 *
 *   media 12, connect 15, welcome 40, out offer 95, in answer 180, track 182, connected 420, playing 610
 *
 * Used by the window's call benchmark (desktop-call.mjs) and the bridge join benchmark
 * (bridge-join.mjs), so a window and a Chromium page are read the same way.
 */

/**
 * The steps, in the order a join goes through them: a label and the timeline marks
 * that count as it (first match after the click).
 * @type {[string, RegExp][]}
 */
const STEPS = [
  ['bridge', /^bridge session$/],
  ['media', /^media ready$/],
  ['connect', /^connect$/],
  ['socket open', /^signaling open$/],
  ['welcome', /^welcome /],
  ['out offer', /^out \S+ offer$/],
  ['in offer', /^in \S+ offer$/],
  ['out answer', /^out \S+ answer$/],
  ['in answer', /^in \S+ answer$/],
  ['1st cand out', /^out \S+ candidate$/],
  ['1st cand in', /^in \S+ candidate$/],
  ['track', /^track \S+ video$/],
  ['checking', /^state \S+ checking$/],
  ['connected', /^state \S+ connected$/],
  ['keyframe asked', /^keyframe asked /],
  ['decoded', /^decoded /],
  ['playing', /^playing \S+$/],
];

/**
 * @param {[number, string][]} tl a page's timeline
 * @returns {{label: string, ms: number}[]} the steps found, ms after the last join-click
 *   (`playing`: the last remote's first; the others: the first of their kind)
 */
export function joinSteps(tl) {
  const joinAt = joinClickAt(tl);
  if (joinAt < 0) return [];
  const after = tl.filter(([t]) => t >= joinAt);
  /** @type {{label: string, ms: number}[]} */
  const out = [];
  for (const [label, re] of STEPS) {
    const hits = after.filter(([, what]) => re.test(what));
    if (!hits.length) continue;
    const at = label === 'playing' ? Math.max(...firstPerPeer(hits).values()) : hits[0][0];
    out.push({ label, ms: at - joinAt });
  }
  return out.sort((a, b) => a.ms - b.ms);
}

/**
 * When the page's last Join was (its timeline's last `join-click`), -1 if never.
 * @param {[number, string][]} tl
 */
export function joinClickAt(tl) {
  let joinAt = -1;
  for (const [t, what] of tl) if (what === 'join-click') joinAt = t;
  return joinAt;
}

/**
 * Join → every one of `n` remote tiles playing: the `playing` step, once `n` remotes
 * played after the last Join.
 * @param {[number, string][]} tl
 * @param {number} n
 * @returns {{joinAt: number, ms: number} | null} joinAt: ms since the page's start
 */
export function joinToEveryone(tl, n) {
  const joinAt = joinClickAt(tl);
  if (joinAt < 0) return null;
  const playing = firstPerPeer(tl.filter(([t, what]) => t >= joinAt && /^playing \S+$/.test(what)));
  if (playing.size < n) return null;
  return { joinAt, ms: Math.max(...playing.values()) - joinAt };
}

/** @param {[number, string][]} hits `playing <id>` marks → first time per id */
function firstPerPeer(hits) {
  /** @type {Map<string, number>} */
  const m = new Map();
  for (const [t, what] of hits) {
    const id = what.split(' ')[1];
    if (!m.has(id)) m.set(id, t);
  }
  return m;
}

/**
 * The one-line breakdown.
 * @param {[number, string][]} tl
 */
export function formatJoinSteps(tl) {
  const steps = joinSteps(tl);
  return steps.length ? steps.map((s) => `${s.label} ${Math.round(s.ms)}`).join(', ') : '(no join-click in the timeline)';
}
