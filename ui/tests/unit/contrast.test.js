// The call's colours meet WCAG 2 contrast: the ratios are computed from the custom
// properties in styles.css (the `.call` block), so a colour change that hurts
// legibility fails here, and the comment in styles.css states the figures.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

const css = readFileSync(new URL('../../styles.css', import.meta.url), 'utf8');
const block = /\n\.call \{([^}]*)\}/.exec(css)?.[1] ?? '';
/** @type {Record<string, string>} */
const vars = Object.fromEntries([...block.matchAll(/(--call-[\w-]+):\s*(#[0-9a-fA-F]{6,8})/g)].map((m) => [m[1], m[2]]));

/** @param {string} hex @returns {[number, number, number, number]} */
function rgba(hex) {
  const n = hex.slice(1);
  const a = n.length === 8 ? parseInt(n.slice(6, 8), 16) / 255 : 1;
  return [parseInt(n.slice(0, 2), 16), parseInt(n.slice(2, 4), 16), parseInt(n.slice(4, 6), 16), a];
}

/** A colour with alpha over an opaque one. */
function over(/** @type {string} */ top, /** @type {string} */ under) {
  const [r, g, b, a] = rgba(top);
  const [R, G, B] = rgba(under);
  return [r * a + R * (1 - a), g * a + G * (1 - a), b * a + B * (1 - a)];
}

/** WCAG relative luminance of sRGB 0–255 channels. */
function luminance(/** @type {number[]} */ [r, g, b]) {
  const lin = (/** @type {number} */ c) => {
    const s = c / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}

/** Contrast ratio of text colour `fg` on background `bg` (custom property names or hex). */
function ratio(/** @type {string} */ fg, /** @type {string} */ bg, under = '#000000') {
  const hex = (/** @type {string} */ v) => (v.startsWith('#') ? v : vars[v]);
  const base = over(hex(bg), under);
  const text = over(hex(fg), base.map((c) => Math.round(c).toString(16).padStart(2, '0')).reduce((a, c) => a + c, '#'));
  const [l1, l2] = [luminance(text), luminance(base)].sort((x, y) => y - x);
  return (l1 + 0.05) / (l2 + 0.05);
}

const TEXT = [
  ['--call-text', '--call-bg'],
  ['--call-text', '--call-surface'],
  ['--call-text', '--call-control'],
  ['--call-text', '--call-control-hover'],
  ['--call-muted', '--call-surface'],
  ['--call-muted', '--call-bg'],
  ['--call-on-text', '--call-on'],
  ['--call-off-text', '--call-off'],
  ['--call-leave-text', '--call-leave'],
  ['--call-hand-text', '--call-hand'],
  ['--call-unread-text', '--call-unread'],
];

test('the call palette is read from styles.css', () => {
  for (const [fg, bg] of TEXT) for (const v of [fg, bg]) assert.ok(v.startsWith('#') || vars[v], `${v} is defined in .call`);
});

test('text in the call has at least 4.5:1 contrast (WCAG AA)', () => {
  const figures = TEXT.map(([fg, bg]) => `${fg} on ${bg}: ${ratio(fg, bg).toFixed(1)}`);
  console.log(figures.join('\n'));
  for (const [fg, bg] of TEXT) assert.ok(ratio(fg, bg) >= 4.5, `${fg} on ${bg} is ${ratio(fg, bg).toFixed(2)}:1`);
});

test('names and badges on a tile stay legible over a white picture (the chip behind them)', () => {
  const r = ratio('#ffffff', '--call-chip', '#ffffff');
  console.log(`#ffffff on --call-chip over white video: ${r.toFixed(1)}`);
  assert.ok(r >= 4.5, `${r.toFixed(2)}:1`);
});

test('the focus ring stands out 3:1 from the stage and the bars (WCAG non-text contrast)', () => {
  for (const bg of ['--call-bg', '--call-surface', '--call-control']) assert.ok(ratio('--call-focus', bg) >= 3, `focus on ${bg}: ${ratio('--call-focus', bg).toFixed(2)}`);
});
