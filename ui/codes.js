// @ts-check
/**
 * Room codes and invites, as people type them.
 *
 * A code is 6 characters of Crockford base32 (`0-9A-Z` without `I L O U`), shown as
 * `K7M-Q2P`. Like the node, we forgive case, dashes and spaces and read `I`/`L` as
 * `1` and `O` as `0`. An invite `lanmeet://HOST:PORT/CODE` also carries the host
 * node's LAN address, so it works where discovery does not.
 *
 * The node, `lanmeet join`/`probe` and the desktop app read invites with the same
 * rules (`Invite` and `JoinTarget` in crates/core/src/invite.rs, whose tests list
 * the cases): JavaScript cannot share that type, so change both together.
 */
import { t } from './i18n.js';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** @typedef {{kind: 'code', code: string}} CodeTarget */
/** @typedef {{kind: 'invite', code: string, host: string, port: number, ws: string}} InviteTarget */
/** @typedef {CodeTarget | InviteTarget} JoinTarget */

/**
 * Why a typed room could not be read; `message` is a sentence for people.
 */
export class CodeError extends Error {
  /** @param {string} message */
  constructor(message) {
    super(message);
    this.name = 'CodeError';
  }
}

/**
 * Canonical form of a typed code (`k7m-q2p` → `K7MQ2P`).
 * @param {string} input
 * @returns {string}
 * @throws {CodeError} when it is not a code
 */
export function normalizeCode(input) {
  let out = '';
  for (const ch of input) {
    if (ch === '-' || /\s/.test(ch)) continue;
    let c = ch.toUpperCase();
    if (c === 'I' || c === 'L') c = '1';
    else if (c === 'O') c = '0';
    if (!ALPHABET.includes(c) || c.length !== 1) {
      throw new CodeError(t('codes.badCharacter', { char: ch }));
    }
    out += c;
  }
  if (out.length !== 6) {
    throw new CodeError(out.length === 0 ? t('codes.empty') : t('codes.wrongLength', { length: out.length }));
  }
  return out;
}

/**
 * The form shown to people: `K7MQ2P` → `K7M-Q2P`.
 * @param {string} code canonical code
 */
export function formatCode(code) {
  return code.length === 6 ? `${code.slice(0, 3)}-${code.slice(3)}` : code;
}

/**
 * Reads what was typed in the "Room code" field: a code or an invite.
 * @param {string} input
 * @returns {JoinTarget}
 * @throws {CodeError}
 */
export function parseJoinInput(input) {
  const text = input.trim();
  if (/^lanmeet:/i.test(text)) return parseInvite(text);
  return { kind: 'code', code: normalizeCode(text) };
}

/**
 * Parses `lanmeet://HOST:PORT/CODE` (HOST may be an IPv4 address, a name, or an IPv6
 * address in brackets). The peer socket is then `ws://HOST:PORT/ws`.
 * @param {string} text
 * @returns {InviteTarget}
 * @throws {CodeError}
 */
export function parseInvite(text) {
  const m = /^lanmeet:\/\/(\[[0-9A-Fa-f:.%a-zA-Z]+\]|[A-Za-z0-9.-]+):(\d{1,5})\/+([^/?#]+)\/?$/i.exec(text.trim());
  if (!m) {
    throw new CodeError(t('codes.incompleteInvite'));
  }
  const host = m[1];
  const port = Number(m[2]);
  if (!(port >= 1 && port <= 65535)) {
    throw new CodeError(t('codes.badPort', { port: m[2] }));
  }
  let segment;
  try {
    segment = decodeURIComponent(m[3]);
  } catch {
    throw new CodeError(t('codes.incompleteInvite'));
  }
  const code = normalizeCode(segment);
  return { kind: 'invite', code, host, port, ws: `ws://${host}:${port}/ws` };
}

/**
 * The invite for a room hosted at `ws` (`ws://HOST:PORT/ws`).
 * @param {string} ws
 * @param {string} code
 */
export function inviteFor(ws, code) {
  const m = /^wss?:\/\/([^/]+)\//.exec(ws);
  return m ? `lanmeet://${m[1]}/${code}` : '';
}
