// @ts-check
/**
 * A tiny static server of ui/ on loopback, for pages that run UI modules without a node
 * (the bridge media component test and its WebKitGTK figures). `/` is `page` (HTML),
 * under the node's Content-Security-Policy.
 */
import http from 'node:http';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const UI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const TYPES = /** @type {Record<string, string>} */ ({ '.js': 'text/javascript', '.mjs': 'text/javascript', '.html': 'text/html', '.css': 'text/css' });

/**
 * The node's Content-Security-Policy for its pages (crates/core/src/static_ui.rs, kept
 * equal by hand): the worker and worklets must load under it as they do from the node.
 */
export const NODE_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
  "img-src 'self' data: blob:; media-src 'self' blob: mediastream:; connect-src 'self' ws: wss:; " +
  "object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

/** The page the loopback runs in: the UI's styles and an empty stage. */
export const LOOPBACK_PAGE = `<!doctype html><meta charset="utf-8"><title>bridge media</title>
<link rel="stylesheet" href="/styles.css">
<body style="margin:0;background:#222"><div id="stage"></div><div id="call"></div></body>`;

/**
 * @param {string} [page] the HTML served at `/`
 * @returns {Promise<{base: string, close: () => Promise<void>}>}
 */
export async function serveUi(page = LOOPBACK_PAGE) {
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/') {
      res.writeHead(200, { 'Content-Type': 'text/html', 'Content-Security-Policy': NODE_CSP }).end(page);
      return;
    }
    const file = path.join(UI, path.normalize(decodeURIComponent(url.pathname)));
    if (!file.startsWith(UI + path.sep)) {
      res.writeHead(403).end();
      return;
    }
    try {
      const body = await readFile(file);
      res.writeHead(200, { 'Content-Type': TYPES[path.extname(file)] ?? 'application/octet-stream', 'Cache-Control': 'no-store' }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', () => r(undefined)));
  const addr = /** @type {import('node:net').AddressInfo} */ (server.address());
  return {
    base: `http://127.0.0.1:${addr.port}/`,
    close: () => new Promise((r) => server.close(() => r(undefined))),
  };
}
