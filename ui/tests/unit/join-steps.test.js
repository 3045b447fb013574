// @ts-check
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { joinSteps, formatJoinSteps, joinToEveryone, joinClickAt } from '../../bench/join-steps.mjs';

test('join steps: ms after the last join-click, first of each kind, the slowest remote playing', () => {
  /** @type {[number, string][]} */
  const tl = [
    [100, 'join-click'],
    [120, 'playing a'], // before the second click: not counted
    [500, 'join-click'],
    [520, 'media ready'],
    [530, 'connect'],
    [600, 'welcome 2 peers'],
    [700, 'out a offer'],
    [720, 'out b offer'],
    [800, 'in a answer'],
    [810, 'out a candidate'],
    [900, 'state a connected'],
    [950, 'track a video'],
    [1000, 'decoded 1:1'],
    [1100, 'playing a'],
    [1300, 'playing b'],
    [1400, 'playing a'],
  ];
  assert.deepEqual(joinSteps(tl), [
    { label: 'media', ms: 20 },
    { label: 'connect', ms: 30 },
    { label: 'welcome', ms: 100 },
    { label: 'out offer', ms: 200 },
    { label: 'in answer', ms: 300 },
    { label: '1st cand out', ms: 310 },
    { label: 'connected', ms: 400 },
    { label: 'track', ms: 450 },
    { label: 'decoded', ms: 500 },
    { label: 'playing', ms: 800 },
  ]);
  assert.equal(formatJoinSteps([[5, 'connect']]), '(no join-click in the timeline)');
});

test('join to everyone: the last Join to the slowest of n remotes playing, none until n played', () => {
  /** @type {[number, string][]} */
  const tl = [
    [100, 'join-click'],
    [120, 'playing a'],
    [500, 'join-click'],
    [1100, 'playing a'],
    [1300, 'playing b'],
    [1400, 'playing a'],
  ];
  assert.equal(joinClickAt(tl), 500);
  assert.deepEqual(joinToEveryone(tl, 2), { joinAt: 500, ms: 800 });
  assert.equal(joinToEveryone(tl, 3), null, 'a third remote never played');
  assert.equal(joinToEveryone([[5, 'playing a']], 1), null, 'no Join in the timeline');
  assert.equal(joinClickAt([[5, 'connect']]), -1);
});
