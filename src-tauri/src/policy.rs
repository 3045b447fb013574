//! What the window may do, decided from URLs alone (so it is unit-tested without a
//! webview): it shows only our node's UI, media permissions go to that origin only,
//! and only that origin's pages are opened in the system browser.

use tauri::Url;

/// The node's UI origin, `http://127.0.0.1:PORT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    port: u16,
}

impl Origin {
    /// The origin of the node whose loopback listener is on `port`.
    pub fn local(port: u16) -> Origin {
        Origin { port }
    }

    /// `http://127.0.0.1:PORT/`, the lobby.
    pub fn home(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    /// Whether `url` is a page of our node's UI. `localhost` is accepted too: the
    /// node accepts it as a Host, and it resolves to loopback only.
    pub fn is_ours(&self, url: &Url) -> bool {
        url.scheme() == "http"
            && matches!(url.host_str(), Some("127.0.0.1" | "localhost"))
            && url.port() == Some(self.port)
            && url.username().is_empty()
            && url.password().is_none()
    }

    /// Navigation inside the window: our UI, or the blank page the window starts
    /// on and leaves through when it closes. Any other page (a link, a redirect,
    /// a script) is refused, so nothing else ever runs with the window's
    /// camera and microphone permissions.
    pub fn may_navigate(&self, url: &Url) -> bool {
        is_blank(url) || self.is_ours(url)
    }

    /// A page of the UI asked to open `url` in a new window (`window.open`, a
    /// `target=_blank` link): our own pages go to the system browser (the call
    /// runs there when the webview has no WebRTC); nothing else is opened.
    pub fn open_in_browser(&self, url: &Url) -> bool {
        self.is_ours(url)
    }
}

/// `about:blank`, where the window starts and where it goes to leave a call.
pub fn is_blank(url: &Url) -> bool {
    url.scheme() == "about" && url.path() == "blank"
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn the_window_shows_only_our_node_and_the_blank_page() {
        let origin = Origin::local(40123);
        assert!(origin.may_navigate(&url("http://127.0.0.1:40123/")));
        assert!(origin.may_navigate(&url("http://127.0.0.1:40123/?room=K7MQ2P")));
        assert!(origin.may_navigate(&url("http://localhost:40123/call")));
        assert!(origin.may_navigate(&url("about:blank")));
        assert!(
            !origin.may_navigate(&url("http://127.0.0.1:40124/")),
            "another local server"
        );
        assert!(!origin.may_navigate(&url("https://127.0.0.1:40123/")));
        assert!(!origin.may_navigate(&url("http://10.0.0.5:40123/")));
        assert!(!origin.may_navigate(&url("http://evil@127.0.0.1:40123/")));
        assert!(!origin.may_navigate(&url("https://example.com/")));
        assert!(!origin.may_navigate(&url("file:///etc/passwd")));
        assert!(!origin.may_navigate(&url("about:srcdoc")));
    }

    #[test]
    fn only_our_pages_open_in_the_browser() {
        let origin = Origin::local(40123);
        assert!(origin.open_in_browser(&url("http://127.0.0.1:40123/?room=K7MQ2P")));
        assert!(!origin.open_in_browser(&url("about:blank")));
        assert!(!origin.open_in_browser(&url("https://example.com/")));
        assert!(!origin.open_in_browser(&url("http://127.0.0.1:22/")));
    }

    #[test]
    fn home_is_the_lobby() {
        assert_eq!(Origin::local(5).home(), "http://127.0.0.1:5/");
        assert!(Origin::local(5).is_ours(&url(&Origin::local(5).home())));
    }
}
