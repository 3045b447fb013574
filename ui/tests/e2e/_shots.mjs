import { startHost, launchBrowser, openPerson, typeAndJoin, waitInCall, waitPlaying } from './helpers.mjs';
const host = await startHost(['--grace-secs', '2', '--name', 'Friday call']);
const browser = await launchBrowser();
const ppl = [];
try {
  for (const n of ['Ada', 'Ben', 'Cleo']) ppl.push(await openPerson(browser, host.info.local, n));
  await ppl[0].page.getByLabel('Your name').fill('Ada');
  await new Promise(r => setTimeout(r, 1500));
  await ppl[0].page.screenshot({ path: '/tmp/lobby.png' });
  for (const p of ppl) { await typeAndJoin(p, host.info.code); await waitInCall(p); }
  for (const p of ppl) await waitPlaying(p, 2);
  await ppl[1].page.getByRole('button', { name: 'Mute', exact: true }).click();
  await ppl[0].page.getByLabel('Message').fill('Hello there');
  await ppl[0].page.getByRole('button', { name: 'Send' }).click();
  await new Promise(r => setTimeout(r, 1500));
  await ppl[0].page.screenshot({ path: '/tmp/call.png' });
  await ppl[2].page.emulateMedia({ colorScheme: 'dark' });
  await ppl[2].page.setViewportSize({ width: 420, height: 800 });
  await new Promise(r => setTimeout(r, 800));
  await ppl[2].page.screenshot({ path: '/tmp/call-dark-narrow.png' });
  const p4 = await openPerson(browser, host.info.local, 'Zed');
  await p4.page.emulateMedia({ colorScheme: 'dark' });
  await typeAndJoin(p4, 'ZZZ-ZZZ');
  await p4.page.getByTestId('lobby-notice').waitFor();
  await p4.page.screenshot({ path: '/tmp/notfound.png' });
} catch (e) { console.log(e.message); for (const p of ppl) console.log(p.name, p.console.join('\n')); await ppl[0].page.screenshot({path:'/tmp/fail.png'}); } finally { await browser.close(); await host.stop(); }
