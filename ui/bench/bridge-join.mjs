// @ts-check
/**
 * Join → everyone, through the bridge vs natively, in one run (issue 10's join target,
 * without the desktop build): a node started with `--bridge`; N-1 ordinary Chromium
 * people settle in a room; then, in turn and `--runs` times, an ordinary Chromium page
 * ("Ref") and a page with WebRTC removed before load ("Bridged": the shim, the bridge
 * and the media engine, as in the desktop window) type the code, click Join, wait until
 * they show everyone, and leave. Prints each join's time and where it went
 * (join-steps.mjs: each step in ms after the click), and the ratio of the medians;
 * and the other way round, how long after the click the others play the newcomer's
 * picture (the bridged page's first keyframe has to cross the bridge once its
 * connection is secured).
 *
 *   scripts/with-netns ui-bench -- node ui/bench/bridge-join.mjs [--sizes 2] [--runs 3]
 */
import { startHost, hostApi, launchBrowser, openPerson, typeAndJoin, waitInCall, waitPlaying, remotesPlayingAt, removeWebRTC } from '../tests/e2e/helpers.mjs';
import { formatJoinSteps, joinClickAt, joinToEveryone } from './join-steps.mjs';

const argv = process.argv.slice(2);
/** @param {string} name @param {string} dflt */
const opt = (name, dflt) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] ? argv[i + 1] : dflt;
};
const N = Math.min(8, Math.max(2, Number(opt('sizes', '2'))));
const RUNS = Math.min(10, Math.max(1, Number(opt('runs', '3'))));
const LIMIT_MS = 60_000;

/** @param {number[]} xs */
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const host = await startHost(['--bridge', '--no-relay', '--name', 'Bridge join']);
const browser = await launchBrowser();
try {
  const { code } = await hostApi(host.info, 'rooms', {});
  const others = [];
  for (let i = 0; i < N - 1; i++) {
    const p = await openPerson(browser, host.info.local, `C${i + 1}`);
    await typeAndJoin(p, code);
    await waitInCall(p);
    others.push(p);
  }
  for (const p of others) if (N > 2) await waitPlaying(p, N - 2);
  /** @type {Record<string, number[]>} */
  const times = { Ref: [], Bridged: [] };
  /** @type {Record<string, number[]>} Join → every other page plays the newcomer */
  const seen = { Ref: [], Bridged: [] };
  for (let run = 0; run < RUNS; run++) {
    for (const kind of ['Ref', 'Bridged']) {
      const p = await openPerson(browser, host.info.local, kind, kind === 'Bridged' ? { initScript: removeWebRTC } : {});
      // A page settles (the bridge session of a bridged page is made at load) before the click.
      await p.page.waitForTimeout(1000);
      const clicked = Date.now();
      // The others' view of the newcomer: when each plays its picture (page clocks are
      // this machine's clock).
      const othersSee = Promise.all(
        others.map((o) =>
          o.page
            .waitForFunction(
              (name) => {
                const t = [...document.querySelectorAll('[data-testid=tile]')].find((e) => /** @type {HTMLElement} */ (e).dataset.name === name);
                const v = /** @type {HTMLVideoElement | null | undefined} */ (t?.querySelector('video'));
                return v && !v.paused && v.readyState >= 2 && v.videoWidth > 0 && v.currentTime > 0 ? Date.now() : false;
              },
              kind,
              { timeout: LIMIT_MS, polling: 20 },
            )
            .then((h) => /** @type {Promise<number>} */ (h.jsonValue()), () => NaN),
        ),
      );
      await typeAndJoin(p, code);
      const done = await p.page.waitForFunction(remotesPlayingAt, N - 1, { timeout: LIMIT_MS, polling: 50 }).then(() => true, () => false);
      const seenAt = Math.max(...(await othersSee));
      if (Number.isFinite(seenAt)) seen[kind].push(seenAt - clicked);
      const tl = await p.page.evaluate(() => /** @type {any} */ (window).__lanmeetTimeline ?? []);
      const steps = formatJoinSteps(tl);
      const everyone = joinToEveryone(tl, N - 1);
      if (done && everyone) times[kind].push(Math.round(everyone.ms));
      console.log(`run ${run + 1} ${kind.padEnd(7)} ${done ? '' : '(did not show everyone) '}${steps}; the others play it ${Number.isFinite(seenAt) ? `${seenAt - clicked} ms` : 'never'} after the click`);
      if (process.env.BENCH_FULL_TIMELINE) {
        const j = Math.max(0, joinClickAt(tl));
        for (const [t, w] of tl) if (t >= j) console.log(`    ${String(t - j).padStart(6)} ${w}`);
      }
      await p.context.close();
      for (const o of others) {
        await o.page
          .waitForFunction((name) => ![...document.querySelectorAll('[data-testid=tile]')].some((t) => /** @type {HTMLElement} */ (t).dataset.name === name), kind, { timeout: LIMIT_MS })
          .catch(() => console.log(`${o.name} still showed ${kind}`));
      }
    }
  }
  const r = median(times.Ref);
  const b = median(times.Bridged);
  console.log(`\n${N} people, Join → everyone, median of ${RUNS}: bridged ${b ?? '—'} ms, Chromium ${r ?? '—'} ms (${r && b ? (b / r).toFixed(2) : '—'}×)`);
  const rs = median(seen.Ref);
  const bs = median(seen.Bridged);
  console.log(`${N} people, Join → the others play the newcomer, median of ${RUNS}: bridged ${bs ?? '—'} ms, Chromium ${rs ?? '—'} ms (${rs && bs ? (bs / rs).toFixed(2) : '—'}×)`);
} finally {
  await browser.close();
  await host.stop();
}
