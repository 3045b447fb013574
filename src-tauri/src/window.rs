//! The one window: a webview on the node's UI, with the handlers that keep it
//! there, answer its media permission requests, hand "Open in browser" to the
//! system browser, and leave the call before the window goes away.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tauri::webview::{NewWindowResponse, PageLoadEvent, PermissionKind, PermissionResponse};
use tauri::{
    AppHandle, Url, Webview, WebviewUrl, WebviewWindow, WebviewWindowBuilder, WindowEvent,
};

use crate::MAIN_WINDOW;
use crate::launch::{Launch, start_query};
use crate::policy::{Origin, is_blank};

/// How long a closing window waits for the page to unload (and send `leave`)
/// before it goes anyway.
const LEAVE_LIMIT: Duration = Duration::from_millis(1500);

/// Runs in every page of the window before the page's own scripts.
///
/// `window.__lanmeetOpenInBrowser(url)` is what the UI calls when the webview has
/// no `RTCPeerConnection`: it goes through `window.open`, which the app answers
/// with the system browser for our own origin and nothing else. No Tauri IPC is
/// involved, so the page needs no permission at all.
/// `window.__lanmeetDesktop` tells the UI it runs inside the desktop app.
const BRIDGE_JS: &str = r#"(() => {
  if (window.top !== window) return;
  const openInBrowser = (url) => {
    const target = new URL(String(url), window.location.href);
    window.open(target.href, '_blank');
    return true;
  };
  Object.defineProperty(window, '__lanmeetOpenInBrowser', { value: openInBrowser });
  Object.defineProperty(window, '__lanmeetDesktop', { value: Object.freeze({ app: 'lanmeet-desktop' }) });
})();"#;

/// Opens the main window on `about:blank`, applies the webview's media settings,
/// then loads `start_url` (a page of `origin`).
pub(crate) fn open(
    app: &AppHandle,
    origin: &Origin,
    start_url: &str,
    launch: &Launch,
) -> tauri::Result<()> {
    let start: Url = start_url
        .parse()
        .map_err(|_| tauri::Error::InvalidWebviewUrl("the node's UI URL"))?;
    let blank: Url = "about:blank"
        .parse()
        .map_err(|_| tauri::Error::InvalidWebviewUrl("about:blank"))?;
    let closing = Arc::new(AtomicBool::new(false));

    let window = WebviewWindowBuilder::new(app, MAIN_WINDOW, WebviewUrl::External(blank))
        .title("lanmeet")
        .inner_size(1120.0, 780.0)
        .min_inner_size(420.0, 520.0)
        .initialization_script(BRIDGE_JS)
        .on_navigation({
            let origin = origin.clone();
            move |url| {
                let allowed = origin.may_navigate(url);
                if !allowed {
                    tracing::warn!(%url, "navigation away from the lanmeet UI refused");
                }
                allowed
            }
        })
        .on_new_window({
            let origin = origin.clone();
            move |url, _features| {
                if origin.open_in_browser(&url) {
                    open_in_system_browser(url);
                } else {
                    tracing::warn!(%url, "refused to open a window that is not lanmeet's");
                }
                NewWindowResponse::Deny
            }
        })
        .on_permission_request({
            let origin = origin.clone();
            move |webview, kind| media_permission(&origin, &webview, kind)
        })
        .on_page_load({
            let closing = closing.clone();
            let origin = origin.clone();
            move |window, payload| {
                if payload.event() == PageLoadEvent::Finished && origin.is_ours(payload.url()) {
                    tracing::info!(url = %payload.url(), ms = crate::since_start_ms(), "page loaded");
                }
                if closing.load(Ordering::Acquire) && payload.event() == PageLoadEvent::Finished && is_blank(payload.url())
                {
                    // The page has unloaded (and left its call): the window can go.
                    let _ = window.destroy();
                }
            }
        })
        .build()?;

    window.on_window_event({
        let window = window.clone();
        move |event| {
            if let WindowEvent::CloseRequested { api, .. } = event {
                // The first close leaves the page; a second one closes at once.
                if !closing.swap(true, Ordering::AcqRel) {
                    api.prevent_close();
                    leave_then_close(&window);
                }
            }
        }
    });

    load(&window, start, launch)
}

/// Opens `room` (a code or an invite) in the running window, and joins it at once
/// under `name` when one was given (`lanmeet-desktop --name NAME ROOM` handed
/// over by a second launch). A UI that can open a room without reloading exposes
/// `window.__lanmeetOpenRoom(room, name)` (the lobby: fills it in and joins);
/// otherwise (during a call) the page is loaded anew with `?room=…[&name=…&join=1]`,
/// which leaves the call it was in.
pub(crate) fn open_room(window: &WebviewWindow, origin: &Origin, room: &str, name: Option<&str>) {
    let url = format!("{}{}", origin.home(), start_query(Some(room), name));
    let (Ok(room_js), Ok(name_js), Ok(url_js)) = (
        serde_json::to_string(room),
        serde_json::to_string(&name),
        serde_json::to_string(&url),
    ) else {
        return;
    };
    let script = format!(
        "if (!(typeof window.__lanmeetOpenRoom === 'function' && window.__lanmeetOpenRoom({room_js}, {name_js} ?? undefined))) \
         {{ window.location.assign({url_js}); }}"
    );
    if let Err(err) = window.eval(&script) {
        tracing::warn!(%err, "could not hand the room to the window");
    }
}

/// Camera, microphone and screen capture for our own UI; nothing for anything
/// else (the window cannot show anything else, this is the second lock).
fn media_permission(
    origin: &Origin,
    webview: &Webview,
    kind: PermissionKind,
) -> PermissionResponse {
    let media = matches!(
        kind,
        PermissionKind::Camera | PermissionKind::Microphone | PermissionKind::DisplayCapture
    );
    let ours = webview.url().is_ok_and(|url| origin.is_ours(&url));
    let response = if media && ours {
        PermissionResponse::Allow
    } else {
        PermissionResponse::Deny
    };
    tracing::info!(
        ?kind,
        ours,
        allowed = matches!(response, PermissionResponse::Allow),
        "permission request"
    );
    response
}

/// Loads `about:blank` so the page gets `pagehide` and leaves its call, then
/// destroys the window (from the page-load handler, or after [`LEAVE_LIMIT`]).
fn leave_then_close(window: &WebviewWindow) {
    tracing::info!("window closing: leaving the page first");
    let blank = "about:blank".parse::<Url>();
    if blank
        .map(|url| window.navigate(url))
        .map_or(true, |r| r.is_err())
    {
        let _ = window.destroy();
        return;
    }
    let window = window.clone();
    tauri::async_runtime::spawn(async move {
        tokio::time::sleep(LEAVE_LIMIT).await;
        // Already gone if the page unloaded in time; then this is a no-op error.
        let _ = window.destroy();
    });
}

/// Hands `url` to the desktop's browser (`xdg-open` on Linux), off the UI thread.
fn open_in_system_browser(url: Url) {
    tracing::info!(%url, "opening in the system browser");
    let spawned = std::thread::Builder::new()
        .name("open-browser".into())
        .spawn(move || {
            if let Err(err) = tauri_plugin_opener::open_url(url.as_str(), None::<&str>) {
                tracing::warn!(%err, "could not open the system browser");
            }
        });
    if let Err(err) = spawned {
        tracing::warn!(%err, "could not open the system browser");
    }
}

/// WebKitGTK ships WebRTC and getUserMedia switched off (`enable-webrtc`,
/// `enable-media-stream`) and wry does not switch them on; set them before the
/// first page loads, then load it.
///
/// GPU compositing is off unless `LANMEET_WEBVIEW_GPU=1`: without a GPU (virtual
/// machines, Xvfb) WebKit composites through Mesa's software GL, which took the
/// lobby from ~0.9 s to ~4 s to appear and added ~120 MB (PSS) here, and the
/// pages are plain documents and `<video>` elements that paint fine without it.
/// The memory cache is sized for a single document, not a browser.
#[cfg(target_os = "linux")]
fn load(window: &WebviewWindow, start: Url, launch: &Launch) -> tauri::Result<()> {
    let mock_media = launch.mock_media;
    let gpu = launch.webview_gpu;
    window.with_webview(move |platform| {
        use webkit2gtk::{
            CacheModel, HardwareAccelerationPolicy, SettingsExt as _, WebContextExt as _,
            WebViewExt as _,
        };
        let view = platform.inner();
        if let Some(settings) = view.settings() {
            settings.set_enable_webrtc(true);
            settings.set_enable_media_stream(true);
            // Remote videos start without a click.
            settings.set_media_playback_requires_user_gesture(false);
            // "Open in browser" may come after an await, outside the click's
            // user gesture; the new-window handler decides what opens.
            settings.set_javascript_can_open_windows_automatically(true);
            settings.set_enable_mock_capture_devices(mock_media);
            if !gpu {
                settings.set_hardware_acceleration_policy(HardwareAccelerationPolicy::Never);
            }
            settings.set_enable_page_cache(false);
        }
        if let Some(context) = view.context() {
            context.set_cache_model(CacheModel::DocumentViewer);
        }
        view.load_uri(start.as_str());
    })
}

#[cfg(not(target_os = "linux"))]
fn load(window: &WebviewWindow, start: Url, _launch: &Launch) -> tauri::Result<()> {
    window.navigate(start)
}
