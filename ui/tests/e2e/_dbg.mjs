import { startHost, launchBrowser } from './helpers.mjs';
const host = await startHost([]);
const browser = await launchBrowser();
try {
  for (const variant of ['plain', 'define', 'assign']) {
    const context = await browser.newContext();
    if (variant === 'define') await context.addInitScript(() => {
      const denied = () => Promise.reject(new DOMException('Permission denied', 'NotAllowedError'));
      Object.defineProperty(navigator.mediaDevices, 'getUserMedia', { value: denied });
    });
    if (variant === 'assign') await context.addInitScript(() => {
      navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('Permission denied', 'NotAllowedError'));
    });
    const page = await context.newPage();
    const logs = [];
    page.on('console', m => logs.push(m.text()));
    page.on('pageerror', e => logs.push('pageerror ' + e.message));
    const pending = new Map();
    page.on('request', r => pending.set(r, 1));
    page.on('requestfinished', r => pending.delete(r));
    const t0 = Date.now();
    try { await page.goto(host.info.local, { timeout: 8000 }); console.log(variant, 'loaded in', Date.now() - t0); }
    catch (e) { console.log(variant, 'TIMEOUT; pending:', [...pending.keys()].map(r => r.url())); }
    console.log(logs.join('\n'));
    await context.close();
  }
} finally { await browser.close(); await host.stop(); }
