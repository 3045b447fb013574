// @ts-check
/**
 * A `<video>`'s place, taken by a canvas when what it should show is a bridge video track
 * (ui/bridge/media-stream.js): the bridge's media worker paints such a track, since a
 * WebKitGTK `<video>` cannot be fed fast enough, and a playing one stalls the page
 * (docs/BRIDGE.md). Used by the call's tiles and the lobby's preview, so both swap the
 * same way: the video hidden, a canvas after it, `data-painted="true"` on the canvas once
 * its first picture is in.
 */
import { h } from '../dom.js';

export class CanvasSlot {
  /**
   * @param {HTMLVideoElement} video the element the canvas stands in for
   * @param {{className: string, testId?: string, onFirstFrame?: () => void}} opts
   *   the canvas's class and test id; `onFirstFrame` when its picture starts
   */
  constructor(video, opts) {
    this.video = video;
    this._opts = opts;
    /** The canvas the track is painted into, if one is shown. @type {HTMLCanvasElement | null} */
    this.canvas = null;
    /** @type {any} the bridge video track painting {@link canvas} */
    this.track = null;
    this._onFirstFrame = () => {
      if (this.canvas) this.canvas.dataset.painted = 'true';
      this._opts.onFirstFrame?.();
    };
  }

  /**
   * Paints `track` (a bridge video track) in a canvas in the video's place, or goes back
   * to the video (`null`). A canvas is handed to the worker once
   * (`transferControlToOffscreen`), so a new track gets a new canvas.
   * @param {any} track
   */
  show(track) {
    if (track === this.track) return;
    if (this.track) {
      this.track.removeEventListener('firstframe', this._onFirstFrame);
      this.track.detachCanvas(this.canvas ?? undefined);
      this.track = null;
    }
    this.canvas?.remove();
    this.canvas = null;
    this.video.hidden = !!track;
    if (!track) return;
    const attrs = /** @type {Record<string, string>} */ ({ class: this._opts.className, 'aria-hidden': 'true' });
    if (this._opts.testId) attrs['data-testid'] = this._opts.testId;
    const canvas = /** @type {HTMLCanvasElement} */ (h('canvas', attrs));
    this.video.after(canvas);
    this.canvas = canvas;
    this.track = track;
    track.addEventListener('firstframe', this._onFirstFrame);
    track.attachCanvas(canvas);
    if (track.framesPainted > 0) this._onFirstFrame();
  }
}

/**
 * @param {MediaStream | null} stream
 * @returns {any} the stream's video track when it is a bridge one (painted in a canvas), else null
 */
export function bridgeVideoOf(stream) {
  const track = /** @type {any} */ (stream?.getVideoTracks()[0] ?? null);
  return track?.__bridge ? track : null;
}
