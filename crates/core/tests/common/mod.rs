//! Shared helpers for the core's integration tests: a WebSocket client that
//! speaks the protocol and a minimal HTTP client. The node itself is the
//! workspace's one test node (`lanmeet_test_support::node`).
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

pub mod tls;

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use lanmeet_core::NodeConfig;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long a test waits for something that should happen at once.
pub const PATIENCE: Duration = Duration::from_secs(5);

pub use lanmeet_test_support::node::TestNode;

/// A node on loopback with discovery off ([`TestNode::start`]).
pub async fn start_node() -> TestNode {
    TestNode::start().await
}

/// A node on loopback with discovery off, tuned by `tweak`.
pub async fn start_node_with(tweak: impl FnOnce(&mut NodeConfig)) -> TestNode {
    TestNode::start_with(tweak).await
}

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A protocol client over a real WebSocket.
pub struct Client {
    pub ws: Ws,
    pub id: String,
    pub token: String,
    pub welcome: Value,
}

/// What the node did to a socket that we expected to be closed.
#[derive(Debug, PartialEq, Eq)]
pub enum Closed {
    Frame(u16, String),
    /// The connection ended without a close frame.
    Dropped,
}

impl Client {
    pub async fn connect(url: &str) -> Client {
        Client::connect_with_origin(url, None).await
    }

    pub async fn connect_with_origin(url: &str, origin: Option<&str>) -> Client {
        let mut request = url.into_client_request().expect("valid url");
        if let Some(origin) = origin {
            request
                .headers_mut()
                .insert("origin", origin.parse().expect("header"));
        }
        let (ws, _) = tokio_tungstenite::connect_async(request)
            .await
            .expect("websocket connects");
        Client {
            ws,
            id: String::new(),
            token: String::new(),
            welcome: Value::Null,
        }
    }

    /// Connects and joins; panics unless welcomed.
    pub async fn join(url: &str, room: &str, name: &str) -> Client {
        let mut client = Client::connect(url).await;
        client
            .send(json!({"type":"join","room":room,"name":name}))
            .await;
        client.expect_welcome().await;
        client
    }

    /// "A" and "B" in `room`, with A's `peer-joined` for B already consumed.
    pub async fn pair(url: &str, room: &str) -> (Client, Client) {
        let mut a = Client::join(url, room, "A").await;
        let b = Client::join(url, room, "B").await;
        a.expect("peer-joined").await;
        (a, b)
    }

    pub async fn expect_welcome(&mut self) -> Value {
        let welcome = self.expect("welcome").await;
        self.id = welcome["id"].as_str().expect("id").to_owned();
        self.token = welcome["token"].as_str().expect("token").to_owned();
        self.welcome = welcome.clone();
        welcome
    }

    pub async fn send(&mut self, value: Value) {
        self.send_text(value.to_string()).await;
    }

    pub async fn send_text(&mut self, text: impl Into<String>) {
        self.ws
            .send(Message::text(text.into()))
            .await
            .expect("send");
    }

    pub async fn signal(&mut self, to: &str, data: Value) {
        self.send(json!({"type":"signal","to":to,"data":data}))
            .await;
    }

    /// The next text frame as JSON, skipping pings/pongs; panics on timeout or close.
    pub async fn recv(&mut self) -> Value {
        match self.next_event(PATIENCE).await {
            Some(Ok(value)) => value,
            Some(Err(closed)) => panic!("expected a message, socket closed: {closed:?}"),
            None => panic!("expected a message, got nothing within {PATIENCE:?}"),
        }
    }

    /// `None` on timeout; `Some(Err)` when the socket closed.
    pub async fn next_event(&mut self, wait: Duration) -> Option<Result<Value, Closed>> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let msg = match tokio::time::timeout_at(deadline, self.ws.next()).await {
                Err(_) => return None,
                Ok(msg) => msg,
            };
            match msg {
                Some(Ok(Message::Text(text))) => {
                    return Some(Ok(
                        serde_json::from_str(text.as_str()).expect("node sends JSON")
                    ));
                }
                Some(Ok(Message::Close(frame))) => return Some(Err(closed_from(frame))),
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return Some(Err(Closed::Dropped)),
            }
        }
    }

    /// Asserts that nothing is queued for this socket, without waiting for a
    /// window to pass: a signal to nobody is answered `unknown-peer`, and that
    /// answer must be the next frame. The node handles a socket's frames in order
    /// and queues every event of one action (a join, a resume, a signal) at
    /// once, so whatever an action already answered sent this socket arrives
    /// before the answer to the probe.
    pub async fn expect_nothing_pending(&mut self) {
        self.signal("nobody", Value::Null).await;
        let next = self.recv().await;
        assert!(
            next["type"] == "error" && next["code"] == "unknown-peer",
            "expected nothing pending, got {next}"
        );
    }

    /// Asserts nothing arrives for `wait`.
    pub async fn expect_silence(&mut self, wait: Duration) {
        if let Some(event) = self.next_event(wait).await {
            panic!("expected silence, got {event:?}");
        }
    }

    /// The next message, which must have `type` = `kind`.
    pub async fn expect(&mut self, kind: &str) -> Value {
        let value = self.recv().await;
        assert_eq!(value["type"], kind, "expected {kind}, got {value}");
        value
    }

    pub async fn expect_error(&mut self, code: &str) -> Value {
        let value = self.expect("error").await;
        assert_eq!(value["code"], code, "got {value}");
        assert!(value["message"].as_str().is_some_and(|m| !m.is_empty()));
        value
    }

    /// The socket must close next (after any frames, which are returned).
    pub async fn expect_closed(&mut self) -> (Vec<Value>, Closed) {
        let mut before = Vec::new();
        loop {
            match self.next_event(PATIENCE).await {
                Some(Ok(value)) => before.push(value),
                Some(Err(closed)) => return (before, closed),
                None => panic!("socket did not close; got {before:?}"),
            }
        }
    }

    /// Error `code`, then a close with `status` and the code as reason.
    pub async fn expect_error_and_close(&mut self, code: &str, status: u16) {
        self.expect_error(code).await;
        let (extra, closed) = self.expect_closed().await;
        assert!(
            extra.is_empty(),
            "unexpected frames before close: {extra:?}"
        );
        assert_eq!(closed, Closed::Frame(status, code.to_owned()));
    }

    /// Ends the TCP connection without a close frame (a crash or pulled cable).
    pub fn drop_abruptly(self) {
        drop(self.ws);
    }
}

fn closed_from(frame: Option<CloseFrame>) -> Closed {
    match frame {
        Some(f) => Closed::Frame(f.code.into(), f.reason.to_string()),
        None => Closed::Frame(1005, String::new()),
    }
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: String,
    pub body: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }

    pub fn error_code(&self) -> String {
        self.json()["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
}

/// The text of one `Connection: close` request (a `Host` added unless given; a JSON
/// body when not empty), for [`http`] and [`tls::https`].
pub fn request_text(
    to: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> String {
    let mut request = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\n");
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        request.push_str(&format!("Host: {to}\r\n"));
    }
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() {
        request.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    request.push_str("\r\n");
    request.push_str(body);
    request
}

/// One HTTP/1.1 request with `Connection: close`. `headers` are extra lines; a
/// `Host` header is added unless one is given.
pub async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Answer {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let request = request_text(addr, method, path, headers, body);
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut raw = Vec::new();
    tokio::time::timeout(PATIENCE, stream.read_to_end(&mut raw))
        .await
        .expect("answer in time")
        .expect("read");
    parse_answer(&raw)
}

/// An HTTP answer read to its end (`Connection: close`).
pub fn parse_answer(raw: &[u8]) -> Answer {
    let raw = String::from_utf8_lossy(raw).into_owned();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_owned()
    };
    Answer {
        status,
        headers: head.to_owned(),
        body,
    }
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        body = rest[n..].trim_start_matches("\r\n");
    }
    out
}

pub async fn get(addr: SocketAddr, path: &str) -> Answer {
    http(addr, "GET", path, &[], "").await
}

pub async fn post(addr: SocketAddr, path: &str, body: &str) -> Answer {
    http(addr, "POST", path, &[], body).await
}

/// A TCP connection to `to` from the loopback address `127.0.0.{host}`, so one
/// test can play several LAN hosts (all of 127.0.0.0/8 is loopback on Linux).
pub async fn connect_from(host: u8, to: SocketAddr) -> TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket
        .bind(SocketAddr::from(([127, 0, 0, host], 0)))
        .expect("bind a loopback source address");
    socket.connect(to).await.expect("connect")
}

/// Whether the other end closed `stream` (end of stream or reset) within `wait`;
/// whatever it sent before is read and dropped.
pub async fn closed_within(stream: &mut TcpStream, wait: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + wait;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0) | Err(_)) => return true,
            Ok(Ok(_)) => continue,
        }
    }
}

/// Reads one HTTP answer with a `Content-Length` body from a kept-alive
/// connection; `None` if the connection ended or nothing came within `PATIENCE`.
pub async fn read_answer(stream: &mut TcpStream) -> Option<Answer> {
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&raw[..end]).into_owned();
            let length: usize = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse().ok())?
                })
                .unwrap_or(0);
            if raw.len() >= end + 4 + length {
                let status = head.split(' ').nth(1)?.parse().ok()?;
                let body = String::from_utf8_lossy(&raw[end + 4..end + 4 + length]).into_owned();
                return Some(Answer {
                    status,
                    headers: head,
                    body,
                });
            }
        }
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => raw.extend_from_slice(&buf[..n]),
            _ => return None,
        }
    }
}

/// `GET /api/health` from `127.0.0.{host}`: the status, or `None` when the
/// connection was refused, closed or left unanswered.
pub async fn health_from(host: u8, to: SocketAddr) -> Option<u16> {
    let mut stream = connect_from(host, to).await;
    let request = format!("GET /api/health HTTP/1.1\r\nHost: {to}\r\n\r\n");
    stream.write_all(request.as_bytes()).await.ok()?;
    read_answer(&mut stream).await.map(|a| a.status)
}

/// A WebSocket to `ws://{to}/ws` from `127.0.0.{host}`; `Err(status)` when the
/// upgrade is refused with an HTTP status (0: the connection failed).
pub async fn ws_from(host: u8, to: SocketAddr) -> Result<Client, u16> {
    let stream = connect_from(host, to).await;
    let url = format!("ws://{to}/ws");
    let handshake = tokio_tungstenite::client_async(url, MaybeTlsStream::Plain(stream));
    match tokio::time::timeout(PATIENCE, handshake).await {
        Ok(Ok((ws, _))) => Ok(Client {
            ws,
            id: String::new(),
            token: String::new(),
            welcome: Value::Null,
        }),
        Ok(Err(tokio_tungstenite::tungstenite::Error::Http(response))) => {
            Err(response.status().as_u16())
        }
        Ok(Err(_)) | Err(_) => Err(0),
    }
}

/// A room member joined over a WebSocket from `127.0.0.{host}` (welcome received):
/// a host on the LAN that gets in although the test's other traffic from it is
/// refused or counted.
pub async fn join_from(host: u8, to: SocketAddr, room: &str, name: &str) -> Client {
    let mut client = ws_from(host, to)
        .await
        .unwrap_or_else(|status| panic!("127.0.0.{host}'s /ws was refused ({status})"));
    client
        .send(serde_json::json!({"type": "join", "room": room, "name": name}))
        .await;
    client.expect_welcome().await;
    client
}

/// A peer socket that reads but never writes once joined: unlike a tungstenite
/// client, which answers every ping it reads, it lets pings go unanswered while
/// still seeing what the node sends (a client whose pongs are lost on the way).
pub struct MuteSocket {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl MuteSocket {
    /// Upgrades `ws://{to}/ws` by hand and sends `join` (a masked text frame).
    pub async fn join(to: SocketAddr, room: &str, name: &str) -> MuteSocket {
        let mut stream = TcpStream::connect(to).await.expect("connect");
        let upgrade = format!(
            "GET /ws HTTP/1.1\r\nHost: {to}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        );
        stream.write_all(upgrade.as_bytes()).await.expect("upgrade");
        let mut buf = Vec::new();
        let mut chunk = [0u8; 1024];
        let end = loop {
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break end + 4;
            }
            let n = stream.read(&mut chunk).await.expect("upgrade answer");
            assert!(n > 0, "the node closed during the upgrade");
            buf.extend_from_slice(&chunk[..n]);
        };
        assert!(
            buf.starts_with(b"HTTP/1.1 101"),
            "not upgraded: {}",
            String::from_utf8_lossy(&buf)
        );
        let join = serde_json::json!({"type": "join", "room": room, "name": name}).to_string();
        let payload = join.as_bytes();
        assert!(payload.len() < 126, "a short join");
        let mask = [1u8, 2, 3, 4];
        let mut frame = vec![0x81, 0x80 | payload.len() as u8];
        frame.extend_from_slice(&mask);
        frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        stream.write_all(&frame).await.expect("join frame");
        MuteSocket {
            stream,
            buf: buf.split_off(end),
        }
    }

    /// Reads frames (answering none) until a close frame: its status and reason, or
    /// `Closed::Dropped` if the connection ended first. Counts the pings seen.
    pub async fn read_to_close(&mut self) -> (Closed, usize) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        let mut pings = 0;
        loop {
            while let Some((opcode, payload, used)) = parse_frame(&self.buf) {
                self.buf.drain(..used);
                match opcode {
                    0x9 => pings += 1,
                    0x8 => {
                        let status = payload
                            .get(..2)
                            .map_or(1005, |s| u16::from_be_bytes([s[0], s[1]]));
                        let reason =
                            String::from_utf8_lossy(payload.get(2..).unwrap_or(&[])).into_owned();
                        return (Closed::Frame(status, reason), pings);
                    }
                    _ => {}
                }
            }
            let mut chunk = [0u8; 4096];
            match tokio::time::timeout_at(deadline, self.stream.read(&mut chunk)).await {
                Ok(Ok(n)) if n > 0 => self.buf.extend_from_slice(&chunk[..n]),
                Ok(_) => return (Closed::Dropped, pings),
                Err(_) => panic!("no close within {PATIENCE:?} ({pings} pings)"),
            }
        }
    }
}

/// One unmasked server frame at the start of `buf`: opcode, payload, bytes used.
fn parse_frame(buf: &[u8]) -> Option<(u8, Vec<u8>, usize)> {
    let opcode = buf.first()? & 0x0f;
    let len7 = usize::from(buf.get(1)? & 0x7f);
    let (len, start) = match len7 {
        126 => (
            usize::from(u16::from_be_bytes([*buf.get(2)?, *buf.get(3)?])),
            4,
        ),
        127 => {
            let b: [u8; 8] = buf.get(2..10)?.try_into().ok()?;
            (usize::try_from(u64::from_be_bytes(b)).ok()?, 10)
        }
        n => (n, 2),
    };
    let payload = buf.get(start..start + len)?.to_vec();
    Some((opcode, payload, start + len))
}
