//! Opening the UI in the user's default browser.

use std::process::{Command, Stdio};

/// Opens `url` in the default browser; `$BROWSER` wins when set. Returns whether
/// a browser was started (the caller prints the URL either way).
pub(crate) fn open(url: &str) -> bool {
    if let Ok(browser) = std::env::var("BROWSER")
        && !browser.trim().is_empty()
    {
        return spawn(browser.trim(), &[url]);
    }
    if cfg!(target_os = "macos") {
        spawn("open", &[url])
    } else if cfg!(windows) {
        spawn("cmd", &["/C", "start", "", url])
    } else {
        spawn("xdg-open", &[url])
    }
}

fn spawn(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .is_ok()
}
