//! One load-generator socket, and the state every socket shares.
//!
//! The whole load generator is one thread (a current-thread runtime and a `LocalSet`),
//! so sockets share plain `Rc`/`Cell`/`RefCell` state with no locking. Each socket is
//! one task that owns its WebSocket and waits on two things: its next incoming frame,
//! and orders from the driver (send the storm burst, send `n` steady signals, close).
//! Orders are a few `Cell`s and a `Notify`: no channel, no allocation per message
//! beyond the frame itself. Received signals are checked (right receiver, right
//! stamped sender, in order per pair) and their latency recorded in the phase the
//! marker names.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::{Notify, Semaphore};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::wire::{self, Kind, Route, Tails};

type Ws = WebSocketStream<TcpStream>;

/// Longest a socket may take from TCP connect to `welcome`/`OPEN`.
const JOIN_TIMEOUT: Duration = Duration::from_secs(15);
/// Handshakes in flight at once, so that a storm measures the server rather than the
/// listen backlog (PeerJS listens with Node's default backlog of 511).
const CONNECTS_IN_FLIGHT: usize = 256;
/// PeerJS drops a client that sent no `HEARTBEAT` for 60 s.
const HEARTBEAT_EVERY: Duration = Duration::from_secs(20);

/// Figures for one phase (the storm burst, or one steady step).
#[derive(Default)]
pub(crate) struct PhaseStats {
    pub(crate) sent: u64,
    pub(crate) received: u64,
    pub(crate) misrouted: u64,
    pub(crate) reordered: u64,
    pub(crate) rate_limited: u64,
    /// Delivery latency of each received signal, µs.
    pub(crate) lat_us: Vec<u32>,
    /// When the last signal of the phase arrived, µs since the bench's start.
    pub(crate) last_rx_us: u64,
}

/// State shared by every socket of one server session.
pub(crate) struct LoadRun {
    pub(crate) kind: Kind,
    pub(crate) port: u16,
    base: Instant,
    tails: Tails,
    /// The id the server knows each socket by (bench index → id), once joined.
    ids: RefCell<Vec<Option<Rc<str>>>>,
    pub(crate) phases: RefCell<Vec<PhaseStats>>,
    /// The phase `rate-limited` answers are charged to.
    pub(crate) current_phase: Cell<Option<u8>>,
    /// Connect-to-ready time of each socket that joined, µs.
    pub(crate) join_us: RefCell<Vec<u32>>,
    /// Non-signal frames from the server, by type (errors as `error:<code>`).
    pub(crate) events: RefCell<BTreeMap<String, u64>>,
    /// Why sockets failed to join or ended unasked, by reason.
    pub(crate) problems: RefCell<BTreeMap<String, u64>>,
    connect_gate: Semaphore,
}

impl LoadRun {
    pub(crate) fn new(kind: Kind, port: u16, base: Instant) -> Rc<LoadRun> {
        Rc::new(LoadRun {
            kind,
            port,
            base,
            tails: Tails::new(),
            ids: RefCell::default(),
            phases: RefCell::default(),
            current_phase: Cell::new(None),
            join_us: RefCell::default(),
            events: RefCell::default(),
            problems: RefCell::default(),
            connect_gate: Semaphore::new(CONNECTS_IN_FLIGHT),
        })
    }

    pub(crate) fn now_us(&self) -> u64 {
        u64::try_from(self.base.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    /// Opens a new phase; its number goes into every signal sent in it.
    pub(crate) fn new_phase(&self, label: String) -> Result<u8> {
        let mut phases = self.phases.borrow_mut();
        let n = u8::try_from(phases.len())
            .ok()
            .filter(|&n| n < 100)
            .context("too many phases")?;
        eprintln!("  {} {label}", self.kind);
        phases.push(PhaseStats::default());
        Ok(n)
    }

    /// `(sent, received + misrouted)` of a phase.
    pub(crate) fn progress(&self, phase: u8) -> (u64, u64) {
        self.phases
            .borrow()
            .get(usize::from(phase))
            .map_or((0, 0), |p| (p.sent, p.received + p.misrouted))
    }

    fn count(map: &RefCell<BTreeMap<String, u64>>, key: &str) {
        let mut map = map.borrow_mut();
        if let Some(n) = map.get_mut(key) {
            *n += 1;
        } else {
            map.insert(key.to_owned(), 1);
        }
    }

    fn problem(&self, what: &str) {
        let mut what = what.replace(char::is_whitespace, " ");
        what.truncate(100);
        LoadRun::count(&self.problems, &what);
    }

    fn is_joined(&self, idx: usize) -> bool {
        self.ids.borrow().get(idx).is_some_and(Option::is_some)
    }
}

/// Where a socket is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum State {
    Joining,
    Ready,
    Failed,
    /// Ended without being asked to (server closed it, error).
    Lost,
    /// Ended because the driver asked.
    Done,
}

/// The driver's handle on one socket.
pub(crate) struct Sock {
    pub(crate) idx: usize,
    /// lanmeet: the room code to join.
    room: Option<Rc<str>>,
    /// Bench indices of the room-mates.
    pub(crate) mates: Vec<usize>,
    pub(crate) state: Cell<State>,
    storm: Cell<Option<u8>>,
    steady: Cell<(u8, u32)>,
    close: Cell<bool>,
    notify: Notify,
}

impl Sock {
    pub(crate) fn new(idx: usize, room: Option<Rc<str>>, mates: Vec<usize>) -> Rc<Sock> {
        Rc::new(Sock {
            idx,
            room,
            mates,
            state: Cell::new(State::Joining),
            storm: Cell::new(None),
            steady: Cell::new((0, 0)),
            close: Cell::new(false),
            notify: Notify::new(),
        })
    }

    /// Send every room-mate one offer and eight candidates, as one burst.
    pub(crate) fn order_storm(&self, phase: u8) {
        self.storm.set(Some(phase));
        self.notify.notify_one();
    }

    /// Send `n` more steady signals in `phase`.
    pub(crate) fn order_steady(&self, phase: u8, n: u32) {
        let (_, pending) = self.steady.get();
        self.steady.set((phase, pending + n));
        if pending == 0 {
            self.notify.notify_one();
        }
    }

    /// Forget steady signals not sent yet (end of a step).
    pub(crate) fn cancel_steady(&self) {
        let (phase, _) = self.steady.get();
        self.steady.set((phase, 0));
    }

    pub(crate) fn order_close(&self) {
        self.close.set(true);
        self.notify.notify_one();
    }
}

/// Registers a socket's slot in the shared id table (before its task starts).
pub(crate) fn reserve(shared: &LoadRun, idx: usize) {
    let mut ids = shared.ids.borrow_mut();
    if ids.len() <= idx {
        ids.resize(idx + 1, None);
    }
}

/// The socket's whole life: connect, join, then serve orders and incoming frames.
pub(crate) async fn run(shared: Rc<LoadRun>, sock: Rc<Sock>) {
    let ws = match join(&shared, &sock).await {
        Ok(ws) => ws,
        Err(e) => {
            sock.state.set(State::Failed);
            shared.problem(&format!("join: {e:#}"));
            return;
        }
    };
    sock.state.set(State::Ready);
    let end = serve(&shared, &sock, ws).await;
    if sock.close.get() {
        sock.state.set(State::Done);
    } else {
        sock.state.set(State::Lost);
        shared.problem(&end);
    }
}

/// tungstenite zero-fills its whole read buffer before every read attempt (0.28
/// `FrameCodec::read_in`), so a large buffer costs a large memset per frame: 16 KiB
/// made memset 13 % of the load generator's CPU. 4 KiB holds a steady frame many
/// times over and a storm offer in one read.
fn config() -> WebSocketConfig {
    WebSocketConfig::default().read_buffer_size(4 << 10)
}

async fn join(shared: &LoadRun, sock: &Sock) -> Result<Ws> {
    let _permit = shared.connect_gate.acquire().await?;
    let started = Instant::now();
    let (ws, id) = tokio::time::timeout(JOIN_TIMEOUT, handshake(shared, sock))
        .await
        .context("timed out")??;
    let us = u32::try_from(started.elapsed().as_micros()).unwrap_or(u32::MAX);
    shared.join_us.borrow_mut().push(us);
    if let Some(slot) = shared.ids.borrow_mut().get_mut(sock.idx) {
        *slot = Some(id);
    }
    Ok(ws)
}

async fn handshake(shared: &LoadRun, sock: &Sock) -> Result<(Ws, Rc<str>)> {
    let stream = TcpStream::connect(("127.0.0.1", shared.port)).await?;
    stream.set_nodelay(true)?;
    let url = shared.kind.socket_url(shared.port, sock.idx);
    let (mut ws, _) =
        tokio_tungstenite::client_async_with_config(url, stream, Some(config())).await?;
    if let Some(room) = &sock.room {
        let join =
            serde_json::json!({"type": "join", "room": &**room, "name": format!("b{}", sock.idx)});
        ws.send(Message::text(join.to_string())).await?;
    }
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(text))) => {
                let v: serde_json::Value = serde_json::from_str(text.as_str())?;
                match v["type"].as_str() {
                    Some("welcome") => {
                        let id = v["id"].as_str().context("welcome without id")?;
                        return Ok((ws, Rc::from(id)));
                    }
                    Some("OPEN" | "open") => return Ok((ws, Rc::from(wire::client_id(sock.idx)))),
                    Some("error" | "ERROR" | "ID-TAKEN") => bail!("{}", text.as_str()),
                    _ => {}
                }
            }
            Some(Ok(Message::Close(frame))) => bail!("closed: {frame:?}"),
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(e.into()),
            None => bail!("connection ended"),
        }
    }
}

/// Per-socket sending state: a route to each joined room-mate, built on the first
/// order (all joins are done by then), and a sequence number per route.
struct Outbox {
    routes: Vec<Route>,
    seq: Vec<u32>,
    next: usize,
    built: bool,
}

/// Per-socket receiving state: the last sequence number seen from each room-mate.
struct Inbox {
    last_seq: Vec<Option<u32>>,
}

async fn serve(shared: &LoadRun, sock: &Sock, mut ws: Ws) -> String {
    let mut out = Outbox {
        routes: Vec::new(),
        seq: Vec::new(),
        next: 0,
        built: false,
    };
    let mut inbox = Inbox {
        last_seq: vec![None; sock.mates.len()],
    };
    let beat = shared.kind == Kind::Peerjs;
    let mut heartbeat = tokio::time::interval_at(
        tokio::time::Instant::now() + HEARTBEAT_EVERY,
        HEARTBEAT_EVERY,
    );
    loop {
        tokio::select! {
            biased;
            () = sock.notify.notified() => {
                if sock.close.get() {
                    let _ = tokio::time::timeout(Duration::from_secs(1), ws.close(None)).await;
                    return "closed by bench".into();
                }
                if let Err(e) = send_orders(shared, sock, &mut out, &mut ws).await {
                    return format!("send: {e}");
                }
            }
            msg = ws.next() => match msg {
                Some(Ok(Message::Text(text))) => on_text(shared, sock, &mut inbox, text.as_bytes()),
                Some(Ok(Message::Close(frame))) => {
                    return match frame {
                        Some(f) => format!("closed by server: {} {}", u16::from(f.code), f.reason),
                        None => "closed by server".into(),
                    };
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return format!("receive: {e}"),
                None => return "connection ended".into(),
            },
            _ = heartbeat.tick(), if beat => {
                if let Err(e) = ws.send(Message::text(r#"{"type":"HEARTBEAT"}"#)).await {
                    return format!("send: {e}");
                }
            }
        }
    }
}

async fn send_orders(shared: &LoadRun, sock: &Sock, out: &mut Outbox, ws: &mut Ws) -> Result<()> {
    if !out.built {
        out.built = true;
        let ids = shared.ids.borrow();
        for &mate in &sock.mates {
            if let Some(Some(id)) = ids.get(mate) {
                out.routes.push(Route::new(shared.kind, id, sock.idx, mate));
            }
        }
        out.seq = vec![0; out.routes.len()];
    }
    if out.routes.is_empty() {
        return Ok(());
    }
    let mut sent = Vec::new();
    if let Some(phase) = sock.storm.take() {
        let mut n = 0u64;
        for offer in std::iter::once(true).chain(std::iter::repeat_n(false, 8)) {
            for (route, seq) in out.routes.iter().zip(out.seq.iter_mut()) {
                *seq += 1;
                let frame = route.frame(&shared.tails, offer, phase, shared.now_us(), *seq);
                ws.feed(Message::text(frame)).await?;
                n += 1;
            }
        }
        sent.push((phase, n));
    }
    let (phase, pending) = sock.steady.get();
    if pending > 0 {
        sock.steady.set((phase, 0));
        for _ in 0..pending {
            let r = out.next % out.routes.len();
            out.next = out.next.wrapping_add(1);
            out.seq[r] += 1;
            let frame =
                out.routes[r].frame(&shared.tails, false, phase, shared.now_us(), out.seq[r]);
            ws.feed(Message::text(frame)).await?;
        }
        sent.push((phase, u64::from(pending)));
    }
    // Count before the flush: the frames are out of our hands once fed.
    {
        let mut phases = shared.phases.borrow_mut();
        for (phase, n) in sent {
            if let Some(p) = phases.get_mut(usize::from(phase)) {
                p.sent += n;
            }
        }
    }
    ws.flush().await?;
    Ok(())
}

fn on_text(shared: &LoadRun, sock: &Sock, inbox: &mut Inbox, frame: &[u8]) {
    match wire::find_mark(frame) {
        Some(Ok(mark)) => {
            let now = shared.now_us();
            let pos = sock.mates.iter().position(|&m| m == mark.from);
            let stamp_ok = match shared.kind.stamp_key() {
                None => true,
                Some(key) => {
                    let stamped = wire::stamped_sender(frame, key);
                    let ids = shared.ids.borrow();
                    let expected = ids.get(mark.from).and_then(|id| id.as_deref());
                    matches!((stamped, expected), (Some(s), Some(e)) if s == e.as_bytes())
                }
            };
            let mut phases = shared.phases.borrow_mut();
            let Some(phase) = phases.get_mut(usize::from(mark.phase)) else {
                drop(phases);
                shared.problem("signal of an unknown phase");
                return;
            };
            match pos {
                Some(pos) if mark.to == sock.idx && stamp_ok => {
                    phase.received += 1;
                    let lat = now.saturating_sub(mark.t_us);
                    phase.lat_us.push(u32::try_from(lat).unwrap_or(u32::MAX));
                    phase.last_rx_us = phase.last_rx_us.max(now);
                    if let Some(slot) = inbox.last_seq.get_mut(pos) {
                        if slot.is_some_and(|last| mark.seq <= last) {
                            phase.reordered += 1;
                        } else {
                            *slot = Some(mark.seq);
                        }
                    }
                }
                _ => phase.misrouted += 1,
            }
        }
        Some(Err(())) => shared.problem("signal with a mangled marker"),
        None => on_control(shared, frame),
    }
}

fn on_control(shared: &LoadRun, frame: &[u8]) {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(frame) else {
        shared.problem("frame that is not JSON");
        return;
    };
    let ty = v["type"].as_str().unwrap_or("?");
    if ty == "error" {
        let code = v["code"].as_str().unwrap_or("?");
        if code == "rate-limited" {
            if let Some(phase) = shared.current_phase.get() {
                if let Some(p) = shared.phases.borrow_mut().get_mut(usize::from(phase)) {
                    p.rate_limited += 1;
                }
            }
        }
        LoadRun::count(&shared.events, &format!("error:{code}"));
    } else {
        LoadRun::count(&shared.events, ty);
    }
}

/// Whether the socket with bench index `idx` joined (so it can be sent to).
pub(crate) fn joined(shared: &LoadRun, idx: usize) -> bool {
    shared.is_joined(idx)
}
