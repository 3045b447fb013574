// @ts-check
/**
 * Video grid layout: how many columns and rows give each tile the largest picture.
 *
 * Pure arithmetic so it is tested in Node; the call view applies the result as CSS
 * grid columns and a tile size, and recomputes on resize.
 */

/**
 * @typedef {object} GridLayout
 * @property {number} cols
 * @property {number} rows
 * @property {number} tileWidth  px, keeps `aspect`
 * @property {number} tileHeight px
 */

/**
 * Best grid for `count` tiles of aspect ratio `aspect` in a `width`×`height` area.
 * Ties (same tile size) go to the grid with fewer empty cells, then fewer columns.
 * @param {number} count tiles (0 is treated as 1)
 * @param {number} width px
 * @param {number} height px
 * @param {{gap?: number, aspect?: number}} [opts]
 * @returns {GridLayout}
 */
export function gridLayout(count, width, height, opts = {}) {
  const gap = opts.gap ?? 8;
  const aspect = opts.aspect ?? 16 / 9;
  const n = Math.max(1, Math.floor(count));
  const w = Math.max(0, width);
  const h = Math.max(0, height);
  /** @type {GridLayout & {empty: number}} */
  let best = { cols: 1, rows: n, tileWidth: 0, tileHeight: 0, empty: Infinity };
  for (let cols = 1; cols <= n; cols++) {
    const rows = Math.ceil(n / cols);
    // A column count that leaves a whole row empty is never better than cols - 1.
    if ((rows - 1) * cols >= n) continue;
    const cellW = (w - gap * (cols - 1)) / cols;
    const cellH = (h - gap * (rows - 1)) / rows;
    if (cellW <= 0 || cellH <= 0) continue;
    const tileWidth = Math.min(cellW, cellH * aspect);
    const tileHeight = tileWidth / aspect;
    const empty = rows * cols - n;
    const bigger = tileWidth > best.tileWidth + 0.5;
    const same = Math.abs(tileWidth - best.tileWidth) <= 0.5;
    if (bigger || (same && empty < best.empty)) {
      best = { cols, rows, tileWidth, tileHeight, empty };
    }
  }
  if (best.tileWidth === 0) {
    // No room at all (hidden element): a sensible shape for when it appears.
    const cols = Math.ceil(Math.sqrt(n));
    return { cols, rows: Math.ceil(n / cols), tileWidth: 0, tileHeight: 0 };
  }
  return {
    cols: best.cols,
    rows: best.rows,
    tileWidth: Math.floor(best.tileWidth),
    tileHeight: Math.floor(best.tileHeight),
  };
}
