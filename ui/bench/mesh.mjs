// @ts-check
/**
 * Mesh benchmark: for 2, 4, 6 and 8 people in headless Chromium against a real
 * `lanmeet host`, how long from the last Join click until every page plays every
 * remote video, and what the browser costs in CPU and memory per page.
 *
 * Two ways of arriving are timed, both measured from the last click on "Join":
 * - "last joiner": N-1 people are already in a settled call, then the N-th joins;
 * - "all at once": N people click Join one right after the other.
 * CPU is sampled from /proc for every process of the browser (renderers, GPU,
 * network, audio and capture services) over a window while the full mesh plays.
 *
 * Run inside a namespace (browsers need a non-loopback address for ICE):
 *   scripts/with-netns ui-bench -- node ui/bench/mesh.mjs [--sizes 2,4,6,8] [--window 5]
 * Prints a table; it measures, it asserts nothing.
 */
import { readFileSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { startCpu } from './proc-cpu.mjs';
import { startHost, hostApi, openPerson, typeAndJoin, waitInCall, waitPlaying, remotesPlayingAt, CHROMIUM, CHROMIUM_ARGS } from '../tests/e2e/helpers.mjs';

const argv = process.argv.slice(2);
/** @param {string} name @param {string} dflt */
const opt = (name, dflt) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] ? argv[i + 1] : dflt;
};
const SIZES = opt('sizes', '2,4,6,8').split(',').map(Number).filter((n) => n >= 2 && n <= 8);
const WINDOW_S = Number(opt('window', '5'));
/** How long one mesh may take to play fully before it is reported as not done. */
const LIMIT_MS = Number(opt('limit', '90')) * 1000;

/** Same flags as the e2e tests, but we need the browser's pid, so launchServer. */
async function launch() {
  const server = await chromium.launchServer({
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
  });
  const browser = await chromium.connect(server.wsEndpoint());
  const pid = server.process().pid ?? 0;
  return { server, browser, pid };
}

/**
 * CPU over a window, in % of one core: total, renderers (the pages), the rest.
 * @param {number} root
 */
async function measureCpu(root) {
  const cpu = startCpu([root]);
  await new Promise((r) => setTimeout(r, WINDOW_S * 1000));
  const { total, rssMb, byType, maxByType } = cpu.stop();
  return { total, renderers: byType.renderer ?? 0, maxRenderer: maxByType.renderer ?? 0, rssMb, byType };
}

/**
 * Resolves, in the page, with the wall-clock time at which all `n` remote videos
 * play (checked every 10 ms).
 * @param {import('../tests/e2e/helpers.mjs').Person} p
 * @param {number} n
 */
async function whenAllPlaying(p, n) {
  try {
    const at = await p.page.waitForFunction(remotesPlayingAt, n, { timeout: LIMIT_MS, polling: 10 });
    return /** @type {number} */ (await at.jsonValue());
  } catch {
    return Number.NaN; // did not get there: reported, not waited for forever
  }
}

/**
 * @param {import('../tests/e2e/helpers.mjs').Person} p
 * @param {string} code
 */
async function fill(p, code) {
  await p.page.getByLabel('Your name').fill(p.name);
  await p.page.getByLabel('Room code').fill(code);
}

/**
 * @param {any} host
 * @param {number} n
 * @param {'last' | 'all'} mode
 */
async function run(host, n, mode) {
  const { server, browser, pid } = await launch();
  try {
    const { code } = await hostApi(host.info, 'rooms', { name: `bench ${n} ${mode}` });
    /** @type {import('../tests/e2e/helpers.mjs').Person[]} */
    const people = [];
    for (let i = 0; i < n; i++) people.push(await openPerson(browser, host.info.local, `P${i + 1}`));
    let t0 = 0;
    let ms = 0;
    if (mode === 'last') {
      for (const p of people.slice(0, -1)) {
        await typeAndJoin(p, code);
        await waitInCall(p);
      }
      try {
        for (const p of people.slice(0, -1)) await waitPlaying(p, n - 2); // bounded by WAIT_MS
      } catch {
        console.error(`n=${n}: the first ${n - 1} did not all play each other; timing the last join anyway`);
      }
      const last = people[n - 1];
      await fill(last, code);
      const playing = people.map((p) => whenAllPlaying(p, n - 1));
      // whenAllPlaying resolves at once for pages that already qualify; the others
      // wait for the newcomer. Start the clock right at the click.
      t0 = Date.now();
      await last.page.getByRole('button', { name: 'Join', exact: true }).click();
      const done = Math.max(...(await Promise.all(playing)));
      ms = done - t0;
    } else {
      for (const p of people) await fill(p, code);
      const playing = people.map((p) => whenAllPlaying(p, n - 1));
      for (const p of people.slice(0, -1)) await p.page.getByRole('button', { name: 'Join', exact: true }).click();
      t0 = Date.now();
      await people[n - 1].page.getByRole('button', { name: 'Join', exact: true }).click();
      const done = Math.max(...(await Promise.all(playing)));
      ms = done - t0;
    }
    await new Promise((r) => setTimeout(r, 2000)); // let encoders settle
    const cpu = await measureCpu(pid);
    return { ms, cpu };
  } finally {
    await browser.close().catch(() => {});
    await server.close().catch(() => {});
  }
}

async function main() {
  const host = await startHost(['--grace-secs', '2']);
  /** @type {string[]} */
  const rows = [];
  try {
    for (const n of SIZES) {
      const last = await run(host, n, 'last');
      const all = await run(host, n, 'all');
      const c = last.cpu;
      const fmt = (/** @type {number} */ ms) => (Number.isFinite(ms) ? String(ms) : `not all playing after ${LIMIT_MS / 1000} s`);
      rows.push(
        `| ${n} | ${fmt(last.ms)} | ${fmt(all.ms)} | ${c.total.toFixed(0)}% | ${(c.total / n).toFixed(0)}% | ${(c.renderers / n).toFixed(0)}% | ${c.maxRenderer.toFixed(0)}% | ${c.rssMb.toFixed(0)} |`,
      );
      console.error(`n=${n}: last joiner ${fmt(last.ms)} ms, all at once ${fmt(all.ms)} ms, CPU ${c.total.toFixed(0)}% (${Object.entries(c.byType).map(([k, v]) => `${k} ${v.toFixed(0)}%`).join(', ')})`);
    }
  } finally {
    await host.stop();
  }
  const cores = readFileSync('/proc/cpuinfo', 'utf8').split('\n').filter((l) => l.startsWith('processor')).length;
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  console.log(`\nlanmeet mesh in headless Chromium (${cores} cores, load average at the end ${load}; fake 640x360 camera; CPU over ${WINDOW_S} s of full mesh, 100% = one core)\n`);
  console.log('| people | last joiner → all playing (ms) | all join at once → all playing (ms) | browser CPU total | CPU per page (all processes / N) | renderer CPU per page | busiest renderer | browser RSS (MB) |');
  console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of rows) console.log(r);
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});

