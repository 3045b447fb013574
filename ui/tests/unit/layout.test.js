import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gridLayout } from '../../layout.js';

const W = 1280;
const H = 720;

test('one person fills the area', () => {
  const g = gridLayout(1, W, H, { gap: 0 });
  assert.deepEqual([g.cols, g.rows, g.tileWidth, g.tileHeight], [1, 1, 1280, 720]);
});

test('a wide screen puts 2 side by side and 4 in a 2x2', () => {
  assert.deepEqual(pick(gridLayout(2, W, H)), [2, 1]);
  assert.deepEqual(pick(gridLayout(4, W, H)), [2, 2]);
});

test('a tall phone stacks', () => {
  assert.deepEqual(pick(gridLayout(2, 390, 800)), [1, 2]);
  assert.deepEqual(pick(gridLayout(4, 390, 800)), [1, 4]);
});

test('every count from 1 to 8 fits, no row left empty, tiles keep 16:9', () => {
  for (let n = 1; n <= 8; n++) {
    const g = gridLayout(n, W, H);
    assert.ok(g.cols * g.rows >= n, `n=${n}`);
    assert.ok((g.rows - 1) * g.cols < n, `no empty row for n=${n}`);
    assert.ok(g.cols * g.tileWidth + (g.cols - 1) * 8 <= W, `fits width for n=${n}`);
    assert.ok(g.rows * g.tileHeight + (g.rows - 1) * 8 <= H, `fits height for n=${n}`);
    assert.ok(Math.abs(g.tileWidth / g.tileHeight - 16 / 9) < 0.05, `aspect for n=${n}`);
  }
});

test('more people never get bigger tiles', () => {
  let last = Infinity;
  for (let n = 1; n <= 8; n++) {
    const g = gridLayout(n, W, H);
    assert.ok(g.tileWidth <= last, `n=${n}`);
    last = g.tileWidth;
  }
});

test('the chosen grid is the best of all column counts', () => {
  for (let n = 1; n <= 8; n++) {
    const g = gridLayout(n, 1000, 900, { gap: 0 });
    for (let cols = 1; cols <= n; cols++) {
      const rows = Math.ceil(n / cols);
      const w = Math.min(1000 / cols, (900 / rows) * (16 / 9));
      assert.ok(g.tileWidth >= Math.floor(w) - 1, `n=${n} cols=${cols}`);
    }
  }
});

test('a hidden (zero-size) area still gets a shape', () => {
  const g = gridLayout(5, 0, 0);
  assert.deepEqual(pick(g), [3, 2]);
  assert.equal(g.tileWidth, 0);
});

/** @param {{cols: number, rows: number}} g */
function pick(g) {
  return [g.cols, g.rows];
}
