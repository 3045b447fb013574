// @ts-check
/**
 * A W3C WebDriver client over plain fetch, for the desktop window driven through
 * tauri-driver: one session at a time. Shared by the desktop test's parts B and C
 * (scripts/desktop-webdriver.mjs, scripts/desktop-call.mjs) and the window's call
 * benchmark (ui/bench/desktop-call.mjs), which each had a copy.
 */

/**
 * @param {string} driver the WebDriver server's URL (tauri-driver's, e.g. http://127.0.0.1:4444)
 */
export function webDriver(driver) {
  /** @type {string | null} */
  let session = null;

  /**
   * One WebDriver command; its `value`, or an error that names the command.
   * @param {string} method
   * @param {string} path
   * @param {any} [body]
   */
  async function wd(method, path, body) {
    const res = await fetch(`${driver}${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json.value ?? json)}`);
    return json.value;
  }

  /** A path inside the current session. @param {string} path */
  const s = (path) => `/session/${session}${path}`;

  return {
    wd,
    s,
    /** Whether a session is open. */
    get active() {
      return session !== null;
    },
    /**
     * Opens the session: tauri-driver starts `application` with `args`.
     * @param {string} application
     * @param {string[]} [args]
     */
    async start(application, args) {
      const options = args ? { application, args } : { application };
      session = (await wd('POST', '/session', { capabilities: { alwaysMatch: { 'tauri:options': options } } })).sessionId;
    },
    /** Ends the session (errors ignored: the app may be gone already). */
    async end() {
      if (session === null) return;
      const path = s('');
      session = null;
      await wd('DELETE', path).catch(() => {});
    },
    /** @param {string} script @param {any[]} [args] */
    exec: (script, args = []) => wd('POST', s('/execute/sync'), { script, args }),
    /** The script calls its last argument when done. @param {string} script @param {any[]} [args] */
    execAsync: (script, args = []) => wd('POST', s('/execute/async'), { script, args }),
    /**
     * The script is the body of an async function; its result (or `{error}` if it
     * threw) is the answer.
     * @param {string} script @param {any[]} [args]
     */
    execAwait: (script, args = []) =>
      wd('POST', s('/execute/async'), {
        script: `const done = arguments[arguments.length - 1]; (async () => { ${script} })().then(done, (e) => done({ error: String(e) }));`,
        args,
      }),
  };
}
