//! A native page for the bridge's tests: it speaks docs/BRIDGE.md exactly as the page's
//! shim will (requests with ids, events, binary frames), and it negotiates the way
//! ui/peer.js does (newcomer offers, answerer sends on the offered transceivers,
//! trickle ICE), through a real node's peer socket. Nothing is mocked: a real node, a
//! real bridge, real WebRTC peers on 127.0.0.1 (mDNS disabled by lanmeet-native-peer).
#![allow(dead_code, unreachable_pub, clippy::expect_used, clippy::unwrap_used)]

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use lanmeet_bridge::wire::{self, Kind, PageFrame, RemoteFrame};
use lanmeet_bridge::{Bridge, BridgeConfig, BridgeHandle};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::sync::{Mutex, Notify, mpsc, oneshot, watch};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub use lanmeet_test_support::node::TestNode;

/// Bound on every wait. Not a performance threshold: it only keeps a broken run from
/// hanging.
pub const PATIENCE: Duration = Duration::from_secs(30);
/// The Origin the test pages claim (the bridge is told it is its node's).
pub const ORIGIN: &str = "http://127.0.0.1:9";
/// The remote's peer connection id on every test page.
pub const PC: u32 = 1;

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A bridge on loopback serving pages of [`ORIGIN`].
pub async fn start_bridge() -> (BridgeHandle, String, String) {
    let bridge = Bridge::bind(BridgeConfig::new(IpAddr::V4(Ipv4Addr::LOCALHOST)))
        .await
        .expect("bridge binds");
    bridge.allow_origins(vec![ORIGIN.to_owned()]);
    let url = bridge.url();
    let secret = bridge.secret().to_owned();
    (bridge.spawn(), url, secret)
}

/// What every event and response of a page looks like once seen.
#[derive(Default)]
pub struct EventLog {
    events: std::sync::Mutex<Vec<Value>>,
    notify: Notify,
}

impl EventLog {
    fn push(&self, v: Value) {
        self.events.lock().unwrap().push(v);
        self.notify.notify_waiters();
    }

    /// The first event (from the start) matching `pred`, waiting for it.
    pub async fn wait_for(&self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let notified = self.notify.notified();
            let seen = self.events.lock().unwrap().clone();
            if let Some(v) = seen.into_iter().find(|v| pred(v)) {
                return v;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!(
                    "never saw {what}; events: {:#?}",
                    self.events.lock().unwrap()
                );
            }
        }
    }

    /// Waits until `n` events match.
    pub async fn wait_count(&self, what: &str, n: usize, pred: impl Fn(&Value) -> bool) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let notified = self.notify.notified();
            if self.count(&pred) >= n {
                return;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!(
                    "never saw {n} of {what}; events: {:#?}",
                    self.events.lock().unwrap()
                );
            }
        }
    }

    /// How many events match.
    pub fn count(&self, pred: impl Fn(&Value) -> bool) -> usize {
        self.events
            .lock()
            .unwrap()
            .iter()
            .filter(|v| pred(v))
            .count()
    }
}

/// A page's connection to the bridge.
pub struct Page {
    sink: Mutex<SplitSink<Ws, Message>>,
    pending: Arc<std::sync::Mutex<HashMap<u64, oneshot::Sender<Value>>>>,
    next_id: AtomicU64,
    /// Errors answered with no id (bad frames, unreadable requests).
    pub orphans: Arc<EventLog>,
    /// Whether the reader task reads (false: the page "stops reading").
    reading: watch::Sender<bool>,
    reader: tokio::task::JoinHandle<()>,
}

/// A refused connection: the HTTP status and body.
#[derive(Debug)]
pub struct Refused {
    pub status: u16,
    pub body: String,
}

impl Page {
    /// Connects with `secret` and `origin`; returns the page, its events and frames.
    pub async fn connect(
        url: &str,
        secret: &str,
        origin: Option<&str>,
    ) -> Result<
        (
            Page,
            mpsc::UnboundedReceiver<Value>,
            mpsc::UnboundedReceiver<RemoteFrame>,
        ),
        Refused,
    > {
        let mut req = format!("{url}?secret={secret}")
            .into_client_request()
            .unwrap();
        if let Some(o) = origin {
            req.headers_mut()
                .insert("origin", HeaderValue::from_str(o).unwrap());
        }
        let ws = match tokio_tungstenite::connect_async(req).await {
            Ok((ws, _)) => ws,
            Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
                let status = resp.status().as_u16();
                let body = resp
                    .body()
                    .as_ref()
                    .map(|b| String::from_utf8_lossy(b).into_owned())
                    .unwrap_or_default();
                return Err(Refused { status, body });
            }
            Err(e) => panic!("bridge connect: {e}"),
        };
        let (sink, mut stream) = ws.split();
        let pending: Arc<std::sync::Mutex<HashMap<u64, oneshot::Sender<Value>>>> = Arc::default();
        let orphans = Arc::new(EventLog::default());
        let (etx, erx) = mpsc::unbounded_channel();
        let (ftx, frx) = mpsc::unbounded_channel();
        let (reading, mut reading_rx) = watch::channel(true);
        let p = pending.clone();
        let o = orphans.clone();
        let reader = tokio::spawn(async move {
            loop {
                // A page that stops reading leaves the socket unread.
                while !*reading_rx.borrow() {
                    if reading_rx.changed().await.is_err() {
                        return;
                    }
                }
                let msg = tokio::select! {
                    m = stream.next() => m,
                    _ = reading_rx.changed() => continue,
                };
                let Some(Ok(msg)) = msg else { break };
                match msg {
                    Message::Text(t) => {
                        let v: Value = serde_json::from_str(t.as_str()).unwrap();
                        if v.get("event").is_some() {
                            let _ = etx.send(v);
                        } else if let Some(id) = v["id"].as_u64() {
                            if let Some(tx) = p.lock().unwrap().remove(&id) {
                                let _ = tx.send(v);
                            }
                        } else {
                            o.push(v);
                        }
                    }
                    Message::Binary(b) => {
                        let f = wire::parse_remote_frame(&b).expect("a remote frame parses");
                        let _ = ftx.send(f);
                    }
                    _ => {}
                }
            }
        });
        Ok((
            Page {
                sink: Mutex::new(sink),
                pending,
                next_id: AtomicU64::new(1),
                orphans,
                reading,
                reader,
            },
            erx,
            frx,
        ))
    }

    /// Sends a request and returns the whole response (`ok`, `result`/`error`).
    pub async fn call(&self, mut op: Value) -> Value {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        op["id"] = json!(id);
        let (tx, rx) = oneshot::channel();
        self.pending.lock().unwrap().insert(id, tx);
        self.send_text(op.to_string()).await;
        tokio::time::timeout(PATIENCE, rx)
            .await
            .unwrap_or_else(|_| panic!("no response to {op}"))
            .expect("response")
    }

    /// A request that must succeed; returns its result.
    pub async fn ok(&self, op: Value) -> Value {
        let r = self.call(op.clone()).await;
        assert_eq!(r["ok"], true, "{op} failed: {r}");
        r["result"].clone()
    }

    pub async fn send_text(&self, text: String) {
        self.sink
            .lock()
            .await
            .send(Message::Text(text.into()))
            .await
            .expect("send to bridge");
    }

    pub async fn send_binary(&self, b: Bytes) {
        self.sink
            .lock()
            .await
            .send(Message::Binary(b))
            .await
            .expect("send to bridge");
    }

    pub async fn send_frame(&self, f: &PageFrame) {
        self.send_binary(wire::encode_page_frame(f)).await;
    }

    pub fn set_reading(&self, on: bool) {
        let _ = self.reading.send(on);
    }

    /// Closes the socket (the page goes away).
    pub async fn close(self) {
        let _ = self.sink.lock().await.close().await;
        self.reader.abort();
    }
}

/// The node's peer socket, as a page's signaling.
pub struct Signaling {
    sink: Mutex<SplitSink<Ws, Message>>,
}

/// One person in the call: a bridged page, its signaling, and a task that negotiates
/// like ui/peer.js.
pub struct Person {
    pub page: Arc<Page>,
    pub events: Arc<EventLog>,
    pub frames: Mutex<mpsc::UnboundedReceiver<RemoteFrame>>,
    pub id: String,
    /// The remote's id once known.
    pub remote: Arc<std::sync::Mutex<Option<String>>>,
    /// The `lanmeet` channel's id on this page once it exists.
    pub channel: Arc<std::sync::Mutex<Option<u32>>>,
    driver: tokio::task::JoinHandle<()>,
    signaling: Arc<Signaling>,
}

impl Person {
    /// Joins `room` through its peer socket and the bridge. The second to join is the
    /// newcomer and offers.
    pub async fn join(
        ws_url: &str,
        code: &str,
        name: &str,
        bridge_url: &str,
        secret: &str,
    ) -> Person {
        let (page, page_events, frames) = Page::connect(bridge_url, secret, Some(ORIGIN))
            .await
            .expect("bridge accepts the page");
        let page = Arc::new(page);
        let (ws, _) = tokio_tungstenite::connect_async(ws_url)
            .await
            .expect("peer socket");
        let (sink, mut stream) = ws.split();
        let signaling = Arc::new(Signaling {
            sink: Mutex::new(sink),
        });
        signaling
            .send(json!({"type": "join", "room": code, "name": name}))
            .await;
        let welcome = loop {
            let msg = tokio::time::timeout(PATIENCE, stream.next())
                .await
                .expect("welcome")
                .expect("socket open")
                .expect("frame");
            if let Message::Text(t) = msg {
                let v: Value = serde_json::from_str(t.as_str()).unwrap();
                if v["type"] == "welcome" {
                    break v;
                }
                assert_ne!(v["type"], "error", "join refused: {v}");
            }
        };
        let id = welcome["id"].as_str().unwrap().to_owned();
        let existing = welcome["peers"][0]["id"].as_str().map(str::to_owned);
        let (stx, srx) = mpsc::unbounded_channel();
        let signals = tokio::spawn(async move {
            while let Some(Ok(msg)) = stream.next().await {
                if let Message::Text(t) = msg {
                    let v: Value = serde_json::from_str(t.as_str()).unwrap();
                    let _ = stx.send(v);
                }
            }
        });
        let events = Arc::new(EventLog::default());
        let remote = Arc::new(std::sync::Mutex::new(existing.clone()));
        let channel = Arc::new(std::sync::Mutex::new(None));
        let driver = Driver {
            page: page.clone(),
            signaling: signaling.clone(),
            events: events.clone(),
            remote: remote.clone(),
            channel: channel.clone(),
            have_pc: false,
            initiator: false,
        };
        let driver = tokio::spawn(driver.run(existing, page_events, srx, signals));
        Person {
            page,
            events,
            frames: Mutex::new(frames),
            id,
            remote,
            channel,
            driver,
            signaling,
        }
    }

    /// Waits until the connection is connected and the channel open.
    pub async fn wait_connected(&self) {
        self.events
            .wait_for("connected", |v| {
                v["event"] == "connectionstatechange" && v["state"] == "connected"
            })
            .await;
        self.events
            .wait_for("channel open", |v| v["event"] == "channelopen")
            .await;
    }

    /// Receives frames of `kind` until `n` arrived; returns them.
    pub async fn receive(&self, kind: Kind, n: usize) -> Vec<RemoteFrame> {
        let mut got = Vec::new();
        let mut frames = self.frames.lock().await;
        while got.len() < n {
            let f = tokio::time::timeout(PATIENCE, frames.recv())
                .await
                .unwrap_or_else(|_| panic!("only {} {kind:?} frames arrived", got.len()))
                .expect("frames open");
            if f.kind == kind {
                got.push(f);
            }
        }
        got
    }

    pub fn channel_id(&self) -> u32 {
        self.channel.lock().unwrap().expect("channel known")
    }

    /// Leaves: the page closes its bridge socket and its peer socket.
    pub async fn leave(self) {
        let _ = self.signaling.send(json!({"type": "leave"})).await;
        self.driver.abort();
        let _ = self.driver.await;
        if let Ok(page) = Arc::try_unwrap(self.page) {
            page.close().await;
        }
        let _ = self.signaling.sink.lock().await.close().await;
    }
}

impl Signaling {
    async fn send(&self, v: Value) {
        let _ = self
            .sink
            .lock()
            .await
            .send(Message::Text(v.to_string().into()))
            .await;
    }
}

struct Driver {
    page: Arc<Page>,
    signaling: Arc<Signaling>,
    events: Arc<EventLog>,
    remote: Arc<std::sync::Mutex<Option<String>>>,
    channel: Arc<std::sync::Mutex<Option<u32>>>,
    have_pc: bool,
    initiator: bool,
}

impl Driver {
    async fn run(
        mut self,
        existing: Option<String>,
        mut page_events: mpsc::UnboundedReceiver<Value>,
        mut signals: mpsc::UnboundedReceiver<Value>,
        signal_task: tokio::task::JoinHandle<()>,
    ) {
        if existing.is_some() {
            // The newcomer: channel and sending transceivers, then the offer follows.
            self.initiator = true;
            self.create_pc().await;
            for kind in ["audio", "video"] {
                self.page
                    .ok(json!({"op": "addTransceiver", "pc": PC, "kind": kind, "direction": "sendrecv", "send": true}))
                    .await;
            }
            self.page
                .ok(json!({"op": "createDataChannel", "pc": PC, "channel": 1, "label": "lanmeet"}))
                .await;
            *self.channel.lock().unwrap() = Some(1);
        }
        loop {
            tokio::select! {
                e = page_events.recv() => {
                    let Some(e) = e else { break };
                    self.on_page_event(&e).await;
                    self.events.push(e);
                }
                s = signals.recv() => {
                    let Some(s) = s else { break };
                    self.on_signal(s).await;
                }
            }
        }
        signal_task.abort();
    }

    async fn create_pc(&mut self) {
        self.page.ok(json!({"op": "createPeer", "pc": PC})).await;
        self.have_pc = true;
    }

    async fn send_signal(&self, data: Value) {
        let to = self.remote.lock().unwrap().clone();
        if let Some(to) = to {
            self.signaling
                .send(json!({"type": "signal", "to": to, "data": data}))
                .await;
        }
    }

    async fn on_page_event(&mut self, e: &Value) {
        match e["event"].as_str() {
            Some("negotiationneeded") => {
                let r = self
                    .page
                    .call(json!({"op": "setLocalDescription", "pc": PC}))
                    .await;
                if r["ok"] == true {
                    let d = r["result"]["description"].clone();
                    self.events
                        .push(json!({"event": "test:sent-description", "description": d}));
                    self.send_signal(json!({ "description": d })).await;
                }
            }
            Some("icecandidate") => {
                self.send_signal(json!({"candidate": e["candidate"]})).await;
            }
            Some("datachannel") if e["label"] == "lanmeet" => {
                *self.channel.lock().unwrap() = e["channel"].as_u64().map(|c| c as u32);
            }
            _ => {}
        }
    }

    async fn on_signal(&mut self, s: Value) {
        match s["type"].as_str() {
            Some("peer-joined") => {
                *self.remote.lock().unwrap() = s["peer"]["id"].as_str().map(str::to_owned);
            }
            Some("peer-left") => {
                self.events.push(json!({"event": "test:peer-left"}));
                if self.have_pc {
                    self.page.ok(json!({"op": "closePeer", "pc": PC})).await;
                    self.have_pc = false;
                }
            }
            Some("signal") => {
                let data = &s["data"];
                if let Some(d) = data.get("description") {
                    if !self.have_pc {
                        self.create_pc().await;
                    }
                    self.page
                        .ok(json!({"op": "setRemoteDescription", "pc": PC, "description": d}))
                        .await;
                    if d["type"] == "offer" {
                        if !self.initiator {
                            // Like peer.js: send on the transceivers the offer made.
                            let ts = self
                                .page
                                .ok(json!({"op": "getTransceivers", "pc": PC}))
                                .await;
                            for t in ts["transceivers"].as_array().unwrap() {
                                if t["kind"].is_string() && !t["sending"].as_bool().unwrap_or(false)
                                {
                                    self.page
                                        .ok(json!({"op": "setSending", "pc": PC, "transceiver": t["id"], "send": true}))
                                        .await;
                                }
                            }
                        }
                        let r = self
                            .page
                            .ok(json!({"op": "setLocalDescription", "pc": PC}))
                            .await;
                        self.send_signal(json!({"description": r["description"]}))
                            .await;
                    }
                } else if data.get("candidate").is_some() && self.have_pc {
                    let r = self
                        .page
                        .call(json!({"op": "addIceCandidate", "pc": PC, "candidate": data["candidate"]}))
                        .await;
                    self.events
                        .push(json!({"event": "test:candidate-added", "ok": r["ok"]}));
                }
            }
            _ => {}
        }
    }
}

/// A synthetic VP8 frame: the frame tag's key bit, then `n` as 4 bytes, then a
/// pattern of `len` bytes derived from `n`, so a receiver can check it arrived whole.
pub fn video_frame(n: u32, key: bool, len: usize) -> PageFrame {
    PageFrame {
        kind: Kind::Video,
        keyframe: key,
        duration_us: 33_333,
        timestamp_us: u64::from(n) * 33_333,
        data: Bytes::from(frame_bytes(n, key, len)),
    }
}

pub fn frame_bytes(n: u32, key: bool, len: usize) -> Vec<u8> {
    let mut v = vec![if key { 0x10 } else { 0x11 }];
    v.extend_from_slice(&n.to_be_bytes());
    v.extend((0..len).map(|i| (i as u32).wrapping_mul(31).wrapping_add(n) as u8));
    v
}

/// A synthetic Opus frame numbered `n`.
pub fn audio_frame(n: u32) -> PageFrame {
    let mut v = vec![0xfc];
    v.extend_from_slice(&n.to_be_bytes());
    v.extend_from_slice(&[7u8; 60]);
    PageFrame {
        kind: Kind::Audio,
        keyframe: true,
        duration_us: 20_000,
        timestamp_us: u64::from(n) * 20_000,
        data: Bytes::from(v),
    }
}

/// The frame number a synthetic frame carries.
pub fn frame_number(data: &[u8]) -> u32 {
    u32::from_be_bytes([data[1], data[2], data[3], data[4]])
}

/// Sockets this process holds now (fds that are sockets).
pub fn open_sockets() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| {
                    std::fs::read_link(e.path())
                        .is_ok_and(|l| l.to_string_lossy().starts_with("socket:"))
                })
                .count()
        })
        .unwrap_or(0)
}

/// Two bridged people in one room of a real node, connected.
pub struct Call {
    pub node: TestNode,
    pub a: Person,
    pub b: Person,
    pub bridge_a: lanmeet_bridge::BridgeHandle,
    pub bridge_b: lanmeet_bridge::BridgeHandle,
}

pub async fn call() -> Call {
    let node = TestNode::start().await;
    let room = node.room();
    let (bridge_a, url_a, secret_a) = start_bridge().await;
    let (bridge_b, url_b, secret_b) = start_bridge().await;
    let code = room.code.to_string();
    let a = Person::join(&room.ws, &code, "alice", &url_a, &secret_a).await;
    let b = Person::join(&room.ws, &code, "bob", &url_b, &secret_b).await;
    a.wait_connected().await;
    b.wait_connected().await;
    Call {
        node,
        a,
        b,
        bridge_a,
        bridge_b,
    }
}

/// Sends video from `from` until `to` has received `n` frames (every 5th a keyframe,
/// so a frame dropped anywhere is recovered from); checks every received frame is
/// whole and in order. Returns the frames.
pub async fn video_flows(
    from: &Person,
    to: &Person,
    start: u32,
    n: usize,
) -> Vec<lanmeet_bridge::wire::RemoteFrame> {
    let mut got = Vec::new();
    let mut frames = to.frames.lock().await;
    let mut i = start;
    while got.len() < n {
        assert!(i < start + 2000, "only {} of {n} frames arrived", got.len());
        let key = (i - start) % 5 == 0;
        from.page.send_frame(&video_frame(i, key, 3000)).await;
        audio_and_pace(from, i).await;
        i += 1;
        while let Ok(f) = frames.try_recv() {
            // Frames of an earlier round may still be queued: not this round's.
            if f.kind == Kind::Video && frame_number(&f.data) >= start {
                got.push(f);
            }
        }
    }
    let mut last = None;
    for f in &got {
        let k = frame_number(&f.data);
        assert_eq!(
            f.data.as_ref(),
            frame_bytes(k, f.keyframe, 3000).as_slice(),
            "frame {k} whole"
        );
        assert_eq!(
            f.keyframe,
            (k - start) % 5 == 0,
            "frame {k}'s keyframe flag"
        );
        if let Some(l) = last {
            assert!(k > l, "frames in order: {k} after {l}");
        }
        last = Some(k);
    }
    got
}

/// Sends Opus frames from `from` until `to` has 5; checks they are whole and in order.
pub async fn audio_flows(from: &Person, to: &Person) {
    let mut got = Vec::new();
    let mut frames = to.frames.lock().await;
    let mut i = 50_000u32;
    while got.len() < 5 {
        assert!(i < 52_000, "only {} audio frames arrived", got.len());
        from.page.send_frame(&audio_frame(i)).await;
        i += 1;
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        while let Ok(f) = frames.try_recv() {
            if f.kind == Kind::Audio && frame_number(&f.data) >= 50_000 {
                got.push(f);
            }
        }
    }
    let mut last = 0;
    for f in got {
        assert!(f.keyframe);
        let n = frame_number(&f.data);
        assert_eq!(
            f.data.as_ref(),
            audio_frame(n).data.as_ref(),
            "audio frame whole"
        );
        assert!(n > last, "audio in order");
        last = n;
    }
}

pub async fn audio_and_pace(from: &Person, i: u32) {
    from.page.send_frame(&audio_frame(i)).await;
    // One frame per 5 ms of the page: a paced source, as a camera is.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
}

pub async fn settle(what: &str, done: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !done() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "never settled: {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

pub async fn finish(c: Call) {
    let Call {
        node,
        a,
        b,
        bridge_a,
        bridge_b,
    } = c;
    a.leave().await;
    b.leave().await;
    bridge_a.shutdown().await;
    bridge_b.shutdown().await;
    node.shutdown().await;
}
