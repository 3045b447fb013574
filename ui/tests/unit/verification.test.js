import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { fingerprintsOf, pairText, digitsOf, verificationCode } from '../../verification.js';

const FP_A = '4A:1F:9C:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:12:34:56:78:9A:BC:DE:F0:01:02:03:04';
const FP_B = '7E:20:1D:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:00:FE:DC:BA:98:76:54:32:10:0F:0E:0D:0C';
const FP_M = '00:00:00:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:12:34:56:78:9A:BC:DE:F0:01:02:03:05';

/** An SDP the way Chromium writes one: the fingerprint on every media section. */
const sdp = (/** @type {string} */ fp) =>
  [
    'v=0',
    'o=- 4611731400430051336 2 IN IP4 127.0.0.1',
    's=-',
    'm=audio 9 UDP/TLS/RTP/SAVPF 111',
    `a=fingerprint:sha-256 ${fp}`,
    'a=setup:actpass',
    'm=video 9 UDP/TLS/RTP/SAVPF 96',
    `a=fingerprint:sha-256 ${fp}`,
    'm=application 9 UDP/DTLS/SCTP webrtc-datachannel',
    `a=fingerprint:sha-256 ${fp}`,
    '',
  ].join('\r\n');

test('fingerprints are read from every section, normalised, without repeats', () => {
  assert.deepEqual(fingerprintsOf(sdp(FP_A)), [`sha-256 ${FP_A}`]);
  assert.deepEqual(fingerprintsOf(`a=fingerprint:SHA-256 ${FP_A.toLowerCase()}\r\n`), [`sha-256 ${FP_A}`]);
  assert.deepEqual(fingerprintsOf('v=0\r\nm=audio 9 RTP/AVP 0\r\n'), []);
  assert.deepEqual(fingerprintsOf(undefined), []);
});

test('both ends of a pair get the same code', async () => {
  const atAda = await verificationCode(sdp(FP_A), sdp(FP_B));
  const atBen = await verificationCode(sdp(FP_B), sdp(FP_A));
  assert.match(atAda ?? '', /^\d{3} \d{3}$/);
  assert.equal(atAda, atBen);
});

test('the code changes when either fingerprint changes (someone in the middle)', async () => {
  const honest = await verificationCode(sdp(FP_A), sdp(FP_B));
  // A middleman hands Ada his certificate instead of Ben's, and Ben his instead of Ada's.
  const atAda = await verificationCode(sdp(FP_A), sdp(FP_M));
  const atBen = await verificationCode(sdp(FP_B), sdp(FP_M));
  assert.notEqual(atAda, honest);
  assert.notEqual(atBen, honest);
  assert.notEqual(atAda, atBen, 'the two people read out different codes');
});

test('no fingerprint on either side: no code', async () => {
  assert.equal(await verificationCode(sdp(FP_A), 'v=0\r\n'), null);
  assert.equal(await verificationCode(null, sdp(FP_B)), null);
  assert.equal(pairText([], ['x']), null);
});

test('the code is SHA-256 of the sorted pair, its first 32 bits modulo a million', async () => {
  const text = pairText([`sha-256 ${FP_B}`], [`sha-256 ${FP_A}`]);
  assert.equal(text, `lanmeet-verify-v1|sha-256 ${FP_A}|sha-256 ${FP_B}`);
  const digest = createHash('sha256').update(/** @type {string} */ (text)).digest();
  const n = digest.readUInt32BE(0) % 1_000_000;
  const want = String(n).padStart(6, '0');
  assert.equal(await verificationCode(sdp(FP_B), sdp(FP_A)), `${want.slice(0, 3)} ${want.slice(3)}`);
  assert.equal(digitsOf(new Uint8Array([0, 0, 0, 7])), '000 007', 'leading zeros are kept');
});
