import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyserLevel, LEVEL_WINDOW } from '../../audio-level.js';
import { SpeakingGate } from '../../media.js';

/**
 * An AnalyserNode over a made-up signal: a 20 ms beep at 0.5 every 500 ms (Chromium's
 * fake microphone), read as the latest `fftSize` samples before `clock.now` ms.
 * @param {{now: number}} clock
 * @param {number} rate samples a second
 */
function beepingAnalyser(clock, rate) {
  return {
    fftSize: 2048,
    /** @param {Float32Array} buf */
    getFloatTimeDomainData(buf) {
      const end = Math.floor((clock.now * rate) / 1000);
      for (let i = 0; i < buf.length; i++) {
        const ms = ((end - buf.length + i) * 1000) / rate;
        buf[i] = ((ms % 500) + 500) % 500 < 20 ? 0.5 : 0;
      }
    },
  };
}

test('a reading spans nearly the 100 ms between readings: a short repeating sound lights the meter at any phase', () => {
  for (const rate of [44_100, 48_000]) {
    // Every offset of the readings against the beeps, in 5 ms steps.
    for (let phase = 0; phase < 100; phase += 5) {
      const clock = { now: 0 };
      const analyser = beepingAnalyser(clock, rate);
      const level = analyserLevel(/** @type {any} */ (analyser), () => {});
      assert.equal(analyser.fftSize, LEVEL_WINDOW, 'the window is set on the analyser');
      const gate = new SpeakingGate();
      let spoke = 0;
      for (let n = 1; n <= 20; n++) {
        clock.now = 1000 + phase + n * 100;
        if (gate.update(level.read(), clock.now)) spoke++;
      }
      assert.ok(spoke > 0, `${rate} Hz, readings ${phase} ms after the beeps' phase: never speaking`);
    }
  }
});

test('a closed level reads 0 and closes once', () => {
  let closes = 0;
  const level = analyserLevel(/** @type {any} */ ({ fftSize: 0, getFloatTimeDomainData: (/** @type {Float32Array} */ b) => b.fill(0.5) }), () => closes++);
  assert.equal(level.read(), 0.5);
  level.close();
  level.close();
  assert.equal(level.read(), 0);
  assert.equal(closes, 1);
});
