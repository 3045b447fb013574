//! The bare relay: the floor the other targets are measured against.
//!
//! A client connects to `/ws?id=X` and gets `{"type":"open"}`; a text frame
//! `{"to":"Y",...}` is forwarded, byte for byte, to the socket whose id is `Y`. No
//! rooms, no join, no rate limit, no sender stamp: only what any WebSocket forwarder
//! must do (accept, parse the address, look it up, queue, write). It is built like a
//! careful tokio server would be (a reader and a writer per socket, a bounded queue,
//! small buffers) so that the distance between it and lanmeet is the cost of
//! lanmeet's rules. It runs on a current-thread runtime: it is pinned to one core.

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex};

use anyhow::Result;
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

/// Pending connections the kernel keeps before dropping SYNs.
const LISTEN_BACKLOG: u32 = 1024;
/// Frames queued for one socket before further frames to it are dropped.
const QUEUE: usize = 512;

type Peers = Arc<Mutex<HashMap<Box<str>, mpsc::Sender<Utf8Bytes>>>>;

/// Serves until killed. Prints `{"port":N}` on stdout once listening. `multi_thread`
/// runs it on tokio's multi-thread scheduler (as many workers as allowed cores), like
/// lanmeet, to tell the scheduler's share of a difference from the rest.
pub(crate) fn serve(port: u16, multi_thread: bool) -> Result<()> {
    let rt = if multi_thread {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    };
    rt.block_on(async move {
        // tokio's `TcpListener::bind` listens with a backlog of 128 (mio follows std),
        // which drops SYNs in a join storm and adds a 1 s retransmit to some joins.
        let socket = TcpSocket::new_v4()?;
        socket.set_reuseaddr(true)?;
        socket.bind(std::net::SocketAddr::from(([127, 0, 0, 1], port)))?;
        let listener: TcpListener = socket.listen(LISTEN_BACKLOG)?;
        let port = listener.local_addr()?.port();
        let mut out = std::io::stdout().lock();
        writeln!(out, "{{\"port\":{port}}}")?;
        out.flush()?;
        drop(out);
        let peers: Peers = Arc::default();
        loop {
            let (stream, _) = match listener.accept().await {
                Ok(conn) => conn,
                Err(e) => {
                    // Out of file descriptors and the like: keep serving the others.
                    tracing::warn!("accept: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    continue;
                }
            };
            tokio::spawn(connection(stream, Arc::clone(&peers)));
        }
    })
}

/// Only the address of a frame; everything else is skipped by the parser.
#[derive(Deserialize)]
struct Addressed<'a> {
    #[serde(borrow)]
    to: &'a str,
}

fn config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(16 << 10)
        .max_message_size(Some(64 << 10))
}

// The handshake callback's error type (an HTTP response) is tungstenite's, not ours.
#[allow(clippy::result_large_err)]
async fn connection(stream: TcpStream, peers: Peers) {
    if stream.set_nodelay(true).is_err() {
        return;
    }
    let mut id: Option<Box<str>> = None;
    let callback = |req: &Request, resp: Response| {
        id = req.uri().query().and_then(|q| {
            q.split('&')
                .find_map(|kv| kv.strip_prefix("id="))
                .map(Box::from)
        });
        Ok(resp)
    };
    let Ok(ws) =
        tokio_tungstenite::accept_hdr_async_with_config(stream, callback, Some(config())).await
    else {
        return;
    };
    let Some(id) = id else {
        return;
    };
    let (mut sink, mut source) = ws.split();
    let (tx, mut rx) = mpsc::channel::<Utf8Bytes>(QUEUE);
    if let Ok(mut map) = peers.lock() {
        map.insert(id.clone(), tx.clone());
    }
    let writer = tokio::spawn(async move {
        if sink
            .send(Message::text(r#"{"type":"open"}"#))
            .await
            .is_err()
        {
            return;
        }
        while let Some(first) = rx.recv().await {
            if sink.feed(Message::Text(first)).await.is_err() {
                return;
            }
            while let Ok(more) = rx.try_recv() {
                if sink.feed(Message::Text(more)).await.is_err() {
                    return;
                }
            }
            if sink.flush().await.is_err() {
                return;
            }
        }
    });
    while let Some(Ok(msg)) = source.next().await {
        let Message::Text(text) = msg else {
            if msg.is_close() {
                break;
            }
            continue;
        };
        let Ok(addr) = serde_json::from_str::<Addressed<'_>>(text.as_str()) else {
            continue;
        };
        let target = peers.lock().ok().and_then(|map| map.get(addr.to).cloned());
        if let Some(target) = target {
            // A full queue drops the frame: the bench counts it as lost.
            let _ = target.try_send(text.clone());
        }
    }
    if let Ok(mut map) = peers.lock() {
        if map.get(&id).is_some_and(|t| t.same_channel(&tx)) {
            map.remove(&id);
        }
    }
    writer.abort();
}
