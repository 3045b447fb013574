// @ts-check
/**
 * Where the time of a join goes: N-1 people settle in a call, the N-th clicks Join,
 * and this prints the page timelines (`window.__lanmeetTimeline`) of the newcomer and
 * of the first person, in ms from the click (signals out/in, tracks, connection
 * states, first frame playing). Candidates are left out unless --candidates.
 *
 *   scripts/with-netns ui-timeline -- node ui/bench/timeline.mjs [N]
 */
import { startHost, hostApi, launchBrowser, openPerson, typeAndJoin, waitInCall, waitPlaying } from '../tests/e2e/helpers.mjs';

const N = Math.min(8, Math.max(2, Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 4)));
const showCandidates = process.argv.includes('--candidates');
const host = await startHost([]);
const browser = await launchBrowser();
try {
  const { code } = await hostApi(host.info, 'rooms', {});
  const people = [];
  for (let i = 0; i < N; i++) people.push(await openPerson(browser, host.info.local, `P${i + 1}`));
  for (const p of people.slice(0, -1)) {
    await typeAndJoin(p, code);
    await waitInCall(p);
  }
  for (const p of people.slice(0, -1)) await waitPlaying(p, N - 2);
  const last = people[N - 1];
  await last.page.getByLabel('Your name').fill(last.name);
  await last.page.getByLabel('Room code').fill(code);
  const t0 = Date.now();
  await last.page.getByRole('button', { name: 'Join', exact: true }).click();
  for (const p of people) await waitPlaying(p, N - 1);
  console.log(`${N} people: every page plays every remote video ${Date.now() - t0} ms after the last Join click`);
  for (const p of [last, people[0]]) {
    const { tl, origin } = await p.page.evaluate(() => ({ tl: /** @type {any} */ (window).__lanmeetTimeline, origin: performance.timeOrigin }));
    console.log(`--- ${p.name}${p === last ? ' (newcomer)' : ''}`);
    for (const [t, what] of tl) {
      const ms = Math.round(origin + t - t0);
      if (ms < -50 || (!showCandidates && / candidate$/.test(what))) continue;
      console.log(String(ms).padStart(6), what);
    }
  }
} finally {
  await browser.close();
  await host.stop();
}
