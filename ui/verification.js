// @ts-check
/**
 * The verification code of a pair: a short number both people see on each other's
 * tile, the same on both ends, so they can read it aloud and know that no one sits in
 * the middle of their connection.
 *
 * Why it works: each side's DTLS certificate fingerprint travels in its SDP
 * (`a=fingerprint`), and DTLS refuses a peer whose certificate does not match the
 * fingerprint it was given. Someone relaying the call (a hostile node rewriting the
 * signals) must put their own fingerprints in the SDP each side receives, so the two
 * sides end up hashing different fingerprint pairs and see different codes.
 *
 * The code: the local and the remote fingerprints (each side's set, normalised) are
 * sorted, so both ends hash the same text whichever side computes it; SHA-256 of that
 * text, the first 32 bits, modulo one million: six digits, shown as `123 456`.
 * Digits read aloud the same in Korean and English. Twenty bits are what short
 * authentication strings usually carry (ZRTP's is 16 or 32): a middleman gets one
 * try per call, made before the codes are shown, and must match two pairs at once.
 *
 * Pure: the hash comes in as a function (`crypto.subtle` in the page and in Node).
 */

/** Digits in the code. */
export const CODE_DIGITS = 6;

/**
 * The fingerprints announced in an SDP, normalised (`sha-256 AB:CD:…`), sorted and
 * without repeats. Session-level and media-level lines count alike (bundled media
 * share one certificate). Empty when the SDP has none.
 * @param {string | null | undefined} sdp
 * @returns {string[]}
 */
export function fingerprintsOf(sdp) {
  if (typeof sdp !== 'string') return [];
  const out = new Set();
  for (const m of sdp.matchAll(/^a=fingerprint:(\S+)\s+([0-9A-Fa-f:]+)\s*$/gm)) {
    out.add(`${m[1].toLowerCase()} ${m[2].toUpperCase()}`);
  }
  return [...out].sort();
}

/**
 * The text both ends hash: each side's fingerprints joined, then the two sides in
 * sorted order. Null when either side has no fingerprint (no DTLS yet: no code).
 * @param {string[]} local
 * @param {string[]} remote
 * @returns {string | null}
 */
export function pairText(local, remote) {
  if (!local.length || !remote.length) return null;
  const sides = [local.join(','), remote.join(',')].sort();
  return `lanmeet-verify-v1|${sides[0]}|${sides[1]}`;
}

/**
 * Six digits from the first four bytes of a digest, grouped as `123 456`.
 * @param {ArrayBuffer | Uint8Array} digest
 * @returns {string}
 */
export function digitsOf(digest) {
  const b = digest instanceof Uint8Array ? digest : new Uint8Array(digest);
  const n = ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0;
  const s = String(n % 10 ** CODE_DIGITS).padStart(CODE_DIGITS, '0');
  return `${s.slice(0, 3)} ${s.slice(3)}`;
}

/**
 * The pair's code from the two SDPs of one connection (ours and theirs), or null when
 * either carries no fingerprint or no hash is available.
 * @param {string | null | undefined} localSdp
 * @param {string | null | undefined} remoteSdp
 * @param {{digest(alg: string, data: Uint8Array): Promise<ArrayBuffer>} | undefined} [subtle] default `crypto.subtle`
 * @returns {Promise<string | null>}
 */
export async function verificationCode(localSdp, remoteSdp, subtle = globalThis.crypto?.subtle) {
  const text = pairText(fingerprintsOf(localSdp), fingerprintsOf(remoteSdp));
  if (text === null || !subtle) return null;
  const digest = await subtle.digest('SHA-256', new TextEncoder().encode(text));
  return digitsOf(digest);
}
