// @ts-check
/**
 * The lobby of a browser guest (see guest.js): the ordinary lobby view, marked
 * `guest` so its hosting card and Nearby rooms are not shown (a guest page can do
 * neither), with a line at the top saying whose call this is and that nothing needs
 * installing. What is left is the preview, the name, the room of the link and Join.
 */
import { h } from '../dom.js';
import { LobbyView } from './lobby.js';
import { tr, followLanguage } from './localize.js';

/**
 * @param {HTMLElement} root
 * @param {import('./lobby.js').LobbyHandlers} handlers
 * @param {{name: string, room: string}} initial
 * @param {{host: string}} location the page's `location`: the host is the call's
 * @returns {LobbyView}
 */
export function createGuestLobbyView(root, handlers, initial, location) {
  const view = new LobbyView(root, handlers, initial);
  view.el.classList.add('guest');
  const note = h('p', { class: 'guest-note', 'data-testid': 'guest-note', ...tr('guest.welcome', { host: location.host }) });
  const stop = followLanguage(note);
  view.notice.before(note);
  const destroy = view.destroy.bind(view);
  view.destroy = () => {
    stop();
    destroy();
  };
  return view;
}
