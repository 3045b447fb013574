//! One page's connection to the bridge: reads its requests and frames, runs its peer
//! connections, and ends them all when the page goes.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use futures_util::{SinkExt, StreamExt};
use lanmeet_native_peer::IceServer;
use serde_json::json;
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_util::sync::CancellationToken;
use tracing::debug;

use crate::error::PageError;
use crate::outbox::{Outgoing, outbox};
use crate::peer::{self, PeerDefaults, PeerHandle};
use crate::server::BridgeStats;
use crate::sources::Sources;
use crate::wire::{self, Op};

/// Largest JSON message the page may send (an SDP is a few KB).
pub const MAX_TEXT: usize = 256 * 1024;
/// Largest media frame the page may send (a 640x360 VP8 keyframe is ~10–40 KB).
pub const MAX_FRAME: usize = 1024 * 1024;
/// Peer connections a page may hold at once (a room holds 8 people at most; a few
/// more for connections being replaced).
pub const MAX_PEERS: usize = 16;

/// Runs one page session until the page leaves, the socket fails, or `shutdown`.
pub(crate) async fn run(
    ws: WebSocketStream<TcpStream>,
    defaults: PeerDefaults,
    stats: Arc<BridgeStats>,
    shutdown: CancellationToken,
) {
    let (mut sink, mut stream) = ws.split();
    let overflow = CancellationToken::new();
    let (out, mut rx) = outbox(overflow.clone());
    let page_stats = rx.stats.clone();
    stats.attach_page(page_stats);
    let writer = tokio::spawn(async move {
        while let Some(msg) = rx.next().await {
            let msg = match msg {
                Outgoing::Text(t) => Message::Text(t.into()),
                Outgoing::Media(b) => Message::Binary(b),
            };
            if sink.send(msg).await.is_err() {
                break;
            }
        }
        sink
    });
    out.text(wire::event(
        "ready",
        json!({
            "version": wire::PROTOCOL_VERSION,
            "limits": {"maxText": MAX_TEXT, "maxFrame": MAX_FRAME, "maxPeers": MAX_PEERS},
        }),
    ));
    let sources = Sources::new(out.clone());
    let mut peers: HashMap<u32, PeerHandle> = HashMap::new();
    let mut close_reason: Option<(CloseCode, &'static str)> = None;
    loop {
        let msg = tokio::select! {
            _ = shutdown.cancelled() => {
                close_reason = Some((CloseCode::Away, "the bridge is shutting down"));
                break;
            }
            _ = overflow.cancelled() => {
                close_reason = Some((CloseCode::Policy, "the page does not read its messages"));
                break;
            }
            m = stream.next() => m,
        };
        let msg = match msg {
            Some(Ok(m)) => m,
            Some(Err(e)) => {
                debug!("page socket: {e}");
                break;
            }
            None => break,
        };
        match msg {
            Message::Text(text) => {
                if text.len() > MAX_TEXT {
                    let e = PageError::TooLarge {
                        size: text.len(),
                        limit: MAX_TEXT,
                    };
                    out.text(wire::error(None, &e));
                    continue;
                }
                let request = match wire::parse_request(text.as_str()) {
                    Ok(r) => r,
                    Err((id, e)) => {
                        out.text(wire::error(id, &e));
                        continue;
                    }
                };
                let id = request.id;
                match request.op {
                    Op::CreatePeer { pc, ice_servers } => {
                        let started = std::time::Instant::now();
                        let result = if peers.contains_key(&pc) {
                            Err(PageError::PeerExists(pc))
                        } else if peers.len() >= MAX_PEERS {
                            Err(PageError::TooManyPeers(MAX_PEERS))
                        } else {
                            let servers = ice_servers
                                .into_iter()
                                .map(|s| IceServer {
                                    urls: s.urls.into_vec(),
                                    username: s.username,
                                    credential: s.credential,
                                })
                                .collect();
                            peer::spawn(
                                pc,
                                servers,
                                &defaults,
                                out.clone(),
                                sources.clone(),
                                stats.clone(),
                            )
                            .await
                        };
                        debug!(
                            pc,
                            us = started.elapsed().as_micros() as u64,
                            "createPeer answered"
                        );
                        match result {
                            Ok(handle) => {
                                peers.insert(pc, handle);
                                out.text(wire::ok(id, json!({})));
                            }
                            Err(e) => out.text(wire::error(Some(id), &e)),
                        }
                    }
                    Op::ClosePeer { pc } => match peers.remove(&pc) {
                        Some(handle) => {
                            handle.close().await;
                            out.text(wire::ok(id, json!({})));
                        }
                        None => out.text(wire::error(Some(id), &PageError::NoSuchPeer(pc))),
                    },
                    op => {
                        let pc = op.pc();
                        match peers.get(&pc) {
                            Some(handle) => {
                                if !handle.request(id, op).await {
                                    out.text(wire::error(Some(id), &PageError::PeerGone(pc)));
                                }
                            }
                            None => out.text(wire::error(Some(id), &PageError::NoSuchPeer(pc))),
                        }
                    }
                }
            }
            Message::Binary(data) => {
                if data.len() > MAX_FRAME + wire::PAGE_HEADER_LEN {
                    let e = PageError::TooLarge {
                        size: data.len(),
                        limit: MAX_FRAME + wire::PAGE_HEADER_LEN,
                    };
                    out.text(wire::error(None, &e));
                    continue;
                }
                if let Some((frames, bytes)) = wire::parse_page_ack(&data) {
                    out.flow().ack(frames, bytes);
                    continue;
                }
                match wire::parse_page_frame(data) {
                    Ok(frame) => {
                        stats.page_frames.fetch_add(1, Ordering::Relaxed);
                        sources.publish(frame);
                    }
                    Err(e) => out.text(wire::error(None, &e)),
                }
            }
            Message::Close(_) => break,
            _ => {}
        }
    }
    // The page is gone (or going): end every connection and every task of it.
    let closing: Vec<_> = peers.into_values().map(PeerHandle::close).collect();
    futures_util::future::join_all(closing).await;
    drop(sources);
    drop(out);
    // The writer ends once every outbox is dropped; a page that stopped reading
    // could hold it in `send` forever, so it gets a bound.
    let abort = writer.abort_handle();
    match tokio::time::timeout(std::time::Duration::from_secs(2), writer).await {
        Ok(Ok(mut sink)) => {
            if let Some((code, reason)) = close_reason {
                let _ = sink
                    .send(Message::Close(Some(CloseFrame {
                        code,
                        reason: reason.into(),
                    })))
                    .await;
            }
            let _ = sink.close().await;
        }
        _ => abort.abort(),
    }
    stats.detach_page();
}
