import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeCode, formatCode, parseJoinInput, parseInvite, inviteFor, CodeError } from '../../codes.js';

test('codes are read in any case, with dashes and spaces', () => {
  assert.equal(normalizeCode('k7m-q2p'), 'K7MQ2P');
  assert.equal(normalizeCode(' K7M Q2P '), 'K7MQ2P');
  assert.equal(normalizeCode('k7m - q2p'), 'K7MQ2P');
});

test('I and L read as 1, O as 0, like the node', () => {
  assert.equal(normalizeCode('ilo-abc'), '110ABC');
});

test('a code with U or a symbol, or the wrong length, is refused with a sentence', () => {
  assert.throws(() => normalizeCode('K7M-Q2U'), (e) => e instanceof CodeError && /cannot be part/.test(e.message));
  assert.throws(() => normalizeCode('K7M#Q2'), CodeError);
  assert.throws(() => normalizeCode('K7M-Q2'), /6 characters; this one has 5/);
  assert.throws(() => normalizeCode('K7M-Q2PP'), /has 7/);
  assert.throws(() => normalizeCode(''), /Type a room code/);
});

test('codes are shown in two groups', () => {
  assert.equal(formatCode('K7MQ2P'), 'K7M-Q2P');
});

test('an invite gives the code and the peer-socket URL', () => {
  assert.deepEqual(parseJoinInput('lanmeet://192.168.1.20:7878/K7MQ2P'), {
    kind: 'invite',
    code: 'K7MQ2P',
    host: '192.168.1.20',
    port: 7878,
    ws: 'ws://192.168.1.20:7878/ws',
  });
  assert.equal(parseInvite('  lanmeet://10.0.0.5:40000/k7m-q2p/ ').code, 'K7MQ2P');
  assert.equal(parseInvite('LANMEET://[fe80::1]:7878/K7MQ2P').ws, 'ws://[fe80::1]:7878/ws');
  assert.equal(parseInvite('lanmeet://10.0.0.5:7878//K7M%20Q2P').code, 'K7MQ2P');
});

test('a broken invite is refused with an example', () => {
  assert.throws(() => parseJoinInput('lanmeet://10.0.0.5/K7MQ2P'), /should look like lanmeet:\/\//);
  assert.throws(() => parseJoinInput('lanmeet://10.0.0.5:99999/K7MQ2P'), /not a valid port/);
  assert.throws(() => parseJoinInput('lanmeet://10.0.0.5:7878/K7MQ'), /6 characters/);
  assert.throws(() => parseJoinInput('lanmeet://10.0.0.5:7878/K7M%2'), CodeError);
});

test('a plain code stays a code', () => {
  assert.deepEqual(parseJoinInput('k7mq2p'), { kind: 'code', code: 'K7MQ2P' });
});

test('the invite for a room is built from its ws URL', () => {
  assert.equal(inviteFor('ws://10.77.0.1:7878/ws', 'K7MQ2P'), 'lanmeet://10.77.0.1:7878/K7MQ2P');
  assert.equal(inviteFor('nonsense', 'K7MQ2P'), '');
});
