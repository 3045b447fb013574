//! lanmeet's desktop app: one window around an in-process lanmeet node.
//!
//! The node (the `lanmeet_core` crate) serves the call UI on a loopback port; the
//! window is a webview on that URL. Everything a call needs goes over HTTP and
//! WebSockets to the node, so the window calls no Tauri command at all.
//!
//! # Layout
//!
//! - [`run`]: the whole life of the app: single-instance check, node start, the
//!   window, the event loop, and a clean node shutdown after the last window.
//! - [`launch`]: what the app was started with (`--name`, a room argument, a few
//!   env vars).
//! - `bridge`: the WebRTC bridge beside the node, for a webview without WebRTC
//!   (Linux's WebKitGTK): the window's page makes its calls through it.
//! - [`policy`]: where the window may go, who gets camera and microphone, what is
//!   opened in the system browser; pure URL checks.
//! - `window`: building the window and its webview (WebKitGTK settings on Linux),
//!   leaving the call when it closes.
//!
//! # Start and stop
//!
//! The node starts inside Tauri's `setup`, after the single-instance plugin has had
//! its say, so a second launch never binds a port: it hands its arguments to the
//! running app and exits. Closing the window first loads `about:blank`, so the
//! page gets `pagehide` and leaves its call; then the window goes, the event loop
//! returns, and the bridge and the node are stopped and awaited: the bridge's
//! peer connections close, hosted rooms get `room-closed`, sockets a close frame,
//! discovery its goodbye, ports are freed.

mod bridge;
pub mod launch;
pub mod policy;
mod window;

use std::process::ExitCode;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use lanmeet_core::{IceGrants, Node, NodeConfig, NodeError};
use lanmeet_relay::{Relay, RelayConfig};
use tauri::Manager as _;
use tokio_util::sync::CancellationToken;

use crate::launch::Launch;
use crate::policy::Origin;

/// The label of the one window.
pub const MAIN_WINDOW: &str = "main";

/// When the process started, for the start-up timings in the log.
static STARTED: OnceLock<Instant> = OnceLock::new();

/// Milliseconds since the process started.
pub(crate) fn since_start_ms() -> u128 {
    STARTED.get().map_or(0, |t| t.elapsed().as_millis())
}

/// How long a clean node shutdown may take before the app exits anyway.
const SHUTDOWN_LIMIT: Duration = Duration::from_secs(10);

/// What the running app knows about its node, for the single-instance callback
/// and the window's handlers.
#[derive(Debug, Clone)]
pub(crate) struct NodeInfo {
    pub(crate) origin: Origin,
}

/// Runs the app until its window is closed (or it gets SIGINT/SIGTERM), then stops
/// the node cleanly. Returns the process's exit status.
pub fn run() -> ExitCode {
    let _ = STARTED.set(Instant::now());
    init_tracing();
    match run_app() {
        Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        Err(err) => {
            tracing::error!("{err:#}");
            eprintln!("lanmeet: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run_app() -> anyhow::Result<i32> {
    let launch = Launch::from_process()?;
    let stop = CancellationToken::new();
    // The node lives outside the app so it can be awaited after the event loop.
    let node_slot: Arc<Mutex<Option<Running>>> = Arc::new(Mutex::new(None));

    // Tauri panics when `setup` returns an error, so a failed start is kept here,
    // the app asked to exit, and the error reported after the event loop.
    let start_error: Arc<Mutex<Option<anyhow::Error>>> = Arc::new(Mutex::new(None));

    let app = tauri::Builder::default()
        // First, so a second instance exits before anything else starts.
        .plugin(tauri_plugin_single_instance::init(on_second_instance))
        .setup({
            let node_slot = node_slot.clone();
            let start_error = start_error.clone();
            let stop = stop.clone();
            let launch = launch.clone();
            move |app| {
                if let Err(err) = start(app, &launch, stop.clone(), &node_slot) {
                    if let Ok(mut slot) = start_error.lock() {
                        *slot = Some(err);
                    }
                    app.handle().exit(1);
                }
                Ok(())
            }
        })
        .build(tauri::generate_context!("../tauri.conf.json"))
        .context("could not set up the app")?;

    let exit_code = app.run_return(|_, _| {});

    // Whatever happened above, a node that started is stopped cleanly.
    let running = node_slot.lock().ok().and_then(|mut slot| slot.take());
    if let Some(Running {
        node,
        relay,
        bridge,
    }) = running
    {
        stop.cancel();
        tauri::async_runtime::block_on(async {
            let bridge_stopped = async {
                if let Some(bridge) = bridge {
                    if tokio::time::timeout(SHUTDOWN_LIMIT, bridge.shutdown())
                        .await
                        .is_err()
                    {
                        tracing::warn!("the bridge did not stop within {SHUTDOWN_LIMIT:?}");
                    } else {
                        tracing::info!("bridge stopped");
                    }
                }
            };
            let node_stopped = async {
                if tokio::time::timeout(SHUTDOWN_LIMIT, node.stopped())
                    .await
                    .is_err()
                {
                    tracing::warn!("the node did not stop within {SHUTDOWN_LIMIT:?}");
                }
            };
            tokio::join!(bridge_stopped, node_stopped);
            if let Some(relay) = relay {
                let _ = tokio::time::timeout(SHUTDOWN_LIMIT, relay.close()).await;
            }
        });
        tracing::info!("node stopped");
    }
    match start_error.lock().ok().and_then(|mut slot| slot.take()) {
        Some(err) => Err(err),
        None => Ok(exit_code),
    }
}

/// Starts the node and opens the window on it (inside Tauri's `setup`).
fn start(
    app: &mut tauri::App,
    launch: &Launch,
    stop: CancellationToken,
    node_slot: &Mutex<Option<Running>>,
) -> anyhow::Result<()> {
    // The guest certificate lives in the app's data directory (LANMEET_DATA_DIR
    // overrides, for tests); without one the app still works, minus browser guests.
    let data_dir = std::env::var_os("LANMEET_DATA_DIR")
        .map(std::path::PathBuf::from)
        .or_else(|| app.path().app_data_dir().ok());
    let running = tauri::async_runtime::block_on(start_node(launch, data_dir, stop))?;
    let node = &running.node;
    let origin = Origin::local(node.local_addr().port());
    println!(
        "lanmeet: UI at {} · LAN listener {}",
        node.local_url(),
        node.lan_url()
    );
    if let Some(fingerprint) = node.guest_fingerprint() {
        println!("lanmeet: browser guests' certificate, SHA-256 {fingerprint}");
    }
    tracing::info!(local = %node.local_url(), lan = %node.lan_url(), ms = since_start_ms(), "node ready");
    app.manage(NodeInfo {
        origin: origin.clone(),
    });
    let start_url = format!(
        "{}{}",
        origin.home(),
        launch::start_query(launch.room.as_deref(), launch.name.as_deref())
    );
    // Stored before anything else can fail, so the node is always stopped.
    if let Ok(mut slot) = node_slot.lock() {
        *slot = Some(running);
    }
    window::open(app.handle(), &origin, &start_url, launch).context("could not open the window")?;
    watch_signals(app.handle().clone());
    Ok(())
}

/// Starts the node: loopback listener on `LANMEET_LOCAL_PORT` or any free port, LAN
/// listener on 7878, or any free port if 7878 is taken and no port was asked for.
async fn start_node(
    launch: &Launch,
    data_dir: Option<std::path::PathBuf>,
    stop: CancellationToken,
) -> anyhow::Result<Running> {
    // The TURN relay beside the node (lanmeet-relay), as `lanmeet host` runs it:
    // on the LAN port + 1 (any free port if taken); LANMEET_NO_RELAY=1 turns it off.
    let relay = if launch.no_relay {
        None
    } else {
        let relay_config = |port| RelayConfig {
            bind: launch.lan_bind.unwrap_or(RelayConfig::default().bind),
            port,
            ..RelayConfig::default()
        };
        let first = launch.first_lan_port();
        let port = if first == 0 {
            0
        } else {
            first.saturating_add(1)
        };
        match Relay::start(relay_config(port)).await {
            Ok(relay) => Some(relay),
            Err(e) => {
                tracing::warn!("{e}; the relay uses another port");
                Some(Relay::start(relay_config(0)).await?)
            }
        }
    };
    let grants = relay.as_ref().map(|r| r.grants() as Arc<dyn IceGrants>);
    // Bound before the node, whose pages learn its URL and secret from it. Without
    // it the app still works (the window offers the system browser for calls).
    let bridge = match bridge::bind(launch).await {
        Ok(bridge) => bridge,
        Err(err) => {
            tracing::warn!("no WebRTC bridge for the window: {err:#}");
            None
        }
    };
    let bridge_info = bridge.as_ref().and_then(bridge::PendingBridge::info);
    let config = |lan_port: u16| {
        let mut config = NodeConfig {
            local_port: launch.local_port,
            lan_port,
            discovery: !launch.no_discovery,
            data_dir: data_dir.clone(),
            ..NodeConfig::default()
        };
        if let Some(bind) = launch.lan_bind {
            config.lan_bind = bind;
        }
        if let Some(name) = &launch.node_name {
            config.name = name.clone();
        }
        config.ice_grants = grants.clone();
        config.bridge = bridge_info.clone();
        config
    };
    let first = launch.first_lan_port();
    let node = match Node::start(config(first), stop.clone()).await {
        Err(NodeError::Bind { addr, .. })
            if launch.lan_port.is_none() && addr.port() == first && first != 0 =>
        {
            tracing::warn!(
                "port {first} is taken; guests will use another port (it is in the invite)"
            );
            Node::start(config(0), stop)
                .await
                .map_err(anyhow::Error::from)
        }
        other => other.context("could not start the lanmeet node"),
    };
    match node {
        Ok(node) => {
            let bridge = bridge.map(|b| b.start(&node, launch));
            Ok(Running {
                node,
                relay,
                bridge,
            })
        }
        Err(e) => {
            if let Some(relay) = relay {
                relay.close().await;
            }
            Err(e)
        }
    }
}

/// The node and what runs beside it, stopped together at exit.
struct Running {
    node: Node,
    relay: Option<Relay>,
    bridge: Option<bridge::RunningBridge>,
}

/// Another launch of the app (a second click on the icon, a `lanmeet://` link)
/// lands here instead of starting a second node: show the window, and open the
/// room it was given.
fn on_second_instance(app: &tauri::AppHandle, argv: Vec<String>, _cwd: String) {
    // A bad `--name` here is not this app's error to report: the room alone is
    // handed over (the lobby, filled in), as a launch without a name would.
    let args = launch::parse_arguments(argv.get(1..).unwrap_or_default()).unwrap_or_else(|err| {
        tracing::warn!(%err, "the second launch's arguments");
        launch::Arguments {
            room: launch::room_argument(argv.get(1..).unwrap_or_default()),
            name: None,
        }
    });
    let room = args.room;
    tracing::info!(?room, name = ?args.name, "another launch of lanmeet handed over to this one");
    let Some(window) = app.get_webview_window(MAIN_WINDOW) else {
        return;
    };
    let _ = window.unminimize();
    let _ = window.show();
    let _ = window.set_focus();
    if let (Some(room), Some(info)) = (room, app.try_state::<NodeInfo>()) {
        window::open_room(&window, &info.origin, &room, args.name.as_deref());
    }
}

/// SIGINT and SIGTERM (Ctrl-C, logging out) close the window the same way the
/// user would, so the call is left and the node stopped cleanly.
fn watch_signals(app: tauri::AppHandle) {
    tauri::async_runtime::spawn(async move {
        wait_for_signal().await;
        tracing::info!("signal received: closing the window");
        match app.get_webview_window(MAIN_WINDOW) {
            Some(window) => {
                if window.close().is_err() {
                    app.exit(0);
                }
            }
            None => app.exit(0),
        }
    });
}

#[cfg(unix)]
async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

#[cfg(not(unix))]
async fn wait_for_signal() {
    let _ = tokio::signal::ctrl_c().await;
}

fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("LANMEET_LOG")
        .unwrap_or_else(|_| EnvFilter::new("warn,lanmeet_core=info,lanmeet_desktop=info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .try_init();
}
