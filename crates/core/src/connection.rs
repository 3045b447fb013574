//! One peer socket, from upgrade to close.
//!
//! Each socket is one task running two futures side by side: a *reader* that
//! enforces the protocol (join deadline, rate limit, pings, requests) and a
//! *writer* that drains the socket's bounded queue. Whichever ends first decides
//! how the socket closes; then the task reports to the registry (which holds the
//! id for the grace period) and ends. No task outlives its socket.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use crate::codes::RoomCode;
use crate::config::Limits;
use crate::protocol::{ErrorCode, Request, close, error_frame, parse_request, signal_frame};
use crate::ratelimit::{AddressLimiter, Coalesce, TokenBucket};
use crate::registry::{Link, Outbound, Registry};
use crate::rooms::{Join, JoinError, SignalError};

/// What a socket task needs from its node.
#[derive(Clone)]
pub(crate) struct SocketContext {
    pub(crate) registry: Registry,
    pub(crate) limits: Arc<Limits>,
    /// Cancelled on node shutdown, after every room was told `room-closed`.
    pub(crate) stop: CancellationToken,
    /// Failed joins per source address (code and passcode guessing).
    pub(crate) join_failures: Arc<AddressLimiter>,
}

/// Why the reader stopped.
#[derive(Debug)]
enum Exit {
    /// The client closed or the connection broke.
    Gone,
    /// Two pings in a row went unanswered.
    Dead,
    /// A protocol error that closes the socket.
    Error(ErrorCode),
    /// `leave`: the registry already queued the close.
    Left,
    /// Node shutdown; a joined socket already has `room-closed` queued.
    Shutdown { joined: bool },
    /// The queue overflowed; the writer closes with `slow-consumer`.
    Slow,
}

/// Per-socket protocol state, owned by the task and lent to the reader.
struct Session {
    joined: Option<String>,
}

/// Runs one upgraded socket to its end.
pub(crate) async fn serve(socket: WebSocket, ctx: SocketContext, from: IpAddr) {
    let limits = ctx.limits.clone();
    let (link, rx, queued) = Link::new(limits.send_queue, limits.send_queue_bytes);
    let (mut sink, mut stream) = socket.split();
    let mut session = Session { joined: None };

    // Boxed so it can be dropped (releasing `sink`) before the close handshake.
    let mut writer = Box::pin(write_loop(&mut sink, rx, queued, link.slow.clone()));
    let outcome = {
        let reader = read_loop(&mut stream, &mut session, &link, &ctx, from);
        tokio::pin!(reader);
        tokio::select! {
            exit = &mut reader => Ok(exit),
            wrote = &mut writer => Err(wrote),
        }
    };

    // From here on this socket no longer speaks for its member: hold the id now,
    // so that signals sent to it while we finish closing are kept for a resume
    // rather than queued to a socket that will never write them.
    if let Some(id) = &session.joined {
        ctx.registry.disconnect(id, &link);
    }

    let wrote_close = match outcome {
        Err(wrote) => wrote,
        Ok(exit) => {
            match exit {
                Exit::Error(code) => {
                    link.push(Outbound::Text(error_frame(code, message_for(code))));
                    link.push(Outbound::Close(
                        code.close_status().unwrap_or(close::POLICY),
                        code.as_str(),
                    ));
                }
                Exit::Shutdown { joined: false } => {
                    link.push(Outbound::Close(close::GOING_AWAY, "shutdown"));
                }
                Exit::Gone | Exit::Dead | Exit::Left | Exit::Shutdown { .. } | Exit::Slow => {}
            }
            if matches!(exit, Exit::Gone | Exit::Dead) {
                false
            } else {
                // Let the writer flush what is queued, ending with the close.
                tokio::time::timeout(limits.shutdown_timeout, &mut writer)
                    .await
                    .unwrap_or(false)
            }
        }
    };
    drop(writer);

    if wrote_close {
        // Give the client a moment to answer our close frame (the handshake).
        let _ = tokio::time::timeout(Duration::from_secs(1), async {
            while let Some(Ok(msg)) = stream.next().await {
                if matches!(msg, Message::Close(_)) {
                    break;
                }
            }
        })
        .await;
    } else {
        let _ = tokio::time::timeout(Duration::from_millis(500), sink.close()).await;
    }
}

/// Frames written between two flushes at most.
const MAX_BATCH: usize = 64;

/// Drains the queue into the socket. Returns whether it wrote a close frame.
async fn write_loop(
    sink: &mut SplitSink<WebSocket, Message>,
    mut rx: mpsc::Receiver<Outbound>,
    queued: Arc<AtomicUsize>,
    slow: CancellationToken,
) -> bool {
    // Registered once, not per frame: this loop is the relay's hot path.
    let slow = slow.cancelled();
    tokio::pin!(slow);
    loop {
        let next = tokio::select! {
            biased;
            () = &mut slow => return close_slow(sink).await,
            next = rx.recv() => next,
        };
        let Some(first) = next else { return false };
        // Batch what is already queued into one flush, but not forever: a busy
        // queue must not hold back what was fed first.
        let mut out = Some(first);
        let mut batch = 0;
        while let Some(item) = out.take() {
            batch += 1;
            let msg = match item {
                Outbound::Text(frame) => {
                    queued.fetch_sub(frame.as_str().len(), Ordering::Relaxed);
                    Message::Text(frame)
                }
                Outbound::Ping => Message::Ping(Default::default()),
                Outbound::Close(code, reason) => {
                    let frame = CloseFrame {
                        code,
                        reason: reason.into(),
                    };
                    let sent = tokio::select! {
                        r = sink.send(Message::Close(Some(frame))) => r.is_ok(),
                        () = &mut slow => false,
                    };
                    return sent;
                }
            };
            let fed = tokio::select! {
                r = sink.feed(msg) => r.is_ok(),
                () = &mut slow => return close_slow(sink).await,
            };
            if !fed {
                return false;
            }
            if batch < MAX_BATCH {
                out = rx.try_recv().ok();
            }
        }
        let flushed = tokio::select! {
            r = sink.flush() => r.is_ok(),
            () = &mut slow => return close_slow(sink).await,
        };
        if !flushed {
            return false;
        }
    }
}

/// Best effort: a client that does not read may never see these.
async fn close_slow(sink: &mut SplitSink<WebSocket, Message>) -> bool {
    let code = ErrorCode::SlowConsumer;
    let attempt = async {
        sink.feed(Message::Text(error_frame(code, message_for(code))))
            .await?;
        let frame = CloseFrame {
            code: close::POLICY,
            reason: code.as_str().into(),
        };
        sink.send(Message::Close(Some(frame))).await
    };
    matches!(
        tokio::time::timeout(Duration::from_millis(500), attempt).await,
        Ok(Ok(()))
    )
}

async fn read_loop(
    stream: &mut SplitStream<WebSocket>,
    session: &mut Session,
    link: &Link,
    ctx: &SocketContext,
    from: IpAddr,
) -> Exit {
    let limits = &*ctx.limits;
    let join_deadline = tokio::time::sleep(limits.join_timeout);
    tokio::pin!(join_deadline);
    let mut pings =
        tokio::time::interval_at(Instant::now() + limits.ping_interval, limits.ping_interval);
    pings.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut unanswered = 0u8;
    let mut bucket = TokenBucket::new(
        limits.rate_burst,
        limits.rate_per_sec,
        Instant::now().into_std(),
    );
    let mut rate_notice = Coalesce::new(Duration::from_secs(1));
    let mut bad_notice = Coalesce::new(Duration::from_secs(10));
    // Registered once, not per frame.
    let slow = link.slow.cancelled();
    let stop = ctx.stop.cancelled();
    tokio::pin!(slow, stop);

    loop {
        let msg = tokio::select! {
            biased;
            () = &mut slow => return Exit::Slow,
            () = &mut stop => return Exit::Shutdown { joined: session.joined.is_some() },
            () = &mut join_deadline, if session.joined.is_none() => return Exit::Error(ErrorCode::JoinTimeout),
            _ = pings.tick() => {
                if unanswered >= 2 {
                    return Exit::Dead;
                }
                unanswered += 1;
                link.push(Outbound::Ping);
                continue;
            }
            msg = stream.next() => msg,
        };
        let text = match msg {
            None => return Exit::Gone,
            Some(Err(err)) => {
                return if is_too_large(err) {
                    Exit::Error(ErrorCode::TooLarge)
                } else {
                    Exit::Gone
                };
            }
            Some(Ok(Message::Pong(_))) => {
                unanswered = 0;
                continue;
            }
            // The WebSocket layer answers pings by itself.
            Some(Ok(Message::Ping(_))) => continue,
            Some(Ok(Message::Close(_))) => return Exit::Gone,
            Some(Ok(Message::Text(text))) => Some(text),
            Some(Ok(Message::Binary(_))) => None,
        };
        let now = Instant::now().into_std();
        if !bucket.take(now) {
            if rate_notice.ready(now) {
                link.push(Outbound::Text(error_frame(
                    ErrorCode::RateLimited,
                    "too many messages; some were dropped",
                )));
            }
            continue;
        }
        let Some(text) = text else {
            link.push(Outbound::Text(error_frame(
                ErrorCode::BadMessage,
                "binary frames are not part of the protocol; send JSON text",
            )));
            continue;
        };
        let request = match parse_request(text.as_str(), limits.max_name) {
            Ok(request) => request,
            Err(bad) => {
                if bad_notice.ready(now) {
                    tracing::debug!(error = %bad, "bad message from a client");
                }
                link.push(Outbound::Text(error_frame(
                    ErrorCode::BadMessage,
                    &bad.to_string(),
                )));
                continue;
            }
        };
        match (request, &session.joined) {
            (Request::Join(_), Some(_)) => return Exit::Error(ErrorCode::AlreadyJoined),
            (Request::Join(join), None) => {
                if !ctx.join_failures.has_token(from, now) {
                    // Too many wrong codes or passcodes from this address: no
                    // answer either way for a while (the socket stays open).
                    link.push(Outbound::Text(error_frame(
                        ErrorCode::RateLimited,
                        "too many failed joins from your address; wait a few seconds and try again",
                    )));
                    continue;
                }
                let Ok(room) = RoomCode::parse(&join.room) else {
                    ctx.join_failures.allow(from, now);
                    return Exit::Error(ErrorCode::RoomNotFound);
                };
                let request = Join {
                    room,
                    name: &join.name,
                    passcode: join.passcode.as_deref(),
                    resume: join.resume.as_deref(),
                };
                match ctx.registry.join(link, request) {
                    Ok(joined) => {
                        tracing::debug!(room = %joined.room, id = %joined.id, resumed = joined.resumed, "joined");
                        session.joined = Some(joined.id);
                    }
                    Err(err) => {
                        if matches!(err, JoinError::RoomNotFound | JoinError::BadPasscode) {
                            ctx.join_failures.allow(from, now);
                        }
                        return Exit::Error(err.code());
                    }
                }
            }
            (Request::Signal { .. } | Request::Leave, None) => {
                return Exit::Error(ErrorCode::NotJoined);
            }
            (Request::Signal { to, data }, Some(id)) => {
                let frame = signal_frame(id, data);
                match ctx.registry.signal(id, link, &to, frame) {
                    Ok(_) => {}
                    Err(SignalError::UnknownPeer) => link.push(Outbound::Text(error_frame(
                        ErrorCode::UnknownPeer,
                        "nobody with that id is in your room",
                    ))),
                    // Our room was closed or we were replaced: the close is queued.
                    Err(SignalError::NotJoined) => {}
                }
            }
            (Request::Leave, Some(id)) => {
                ctx.registry.leave(id, link);
                return Exit::Left;
            }
        }
    }
}

/// A message over the size limit surfaces as a capacity error of the
/// WebSocket layer.
fn is_too_large(err: axum::Error) -> bool {
    let inner = err.into_inner();
    matches!(
        inner.downcast_ref::<tungstenite::Error>(),
        Some(tungstenite::Error::Capacity(_))
    )
}

/// The human sentence sent with each error code.
fn message_for(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::BadMessage => "that message is not valid",
        ErrorCode::NotJoined => "join a room first",
        ErrorCode::AlreadyJoined => "this socket already joined a room",
        ErrorCode::RoomNotFound => "no room with that code is hosted here",
        ErrorCode::RoomFull => "the room is full",
        ErrorCode::BadPasscode => "wrong passcode",
        ErrorCode::UnknownPeer => "nobody with that id is in your room",
        ErrorCode::TooLarge => "message too large",
        ErrorCode::RateLimited => "too many messages; some were dropped",
        ErrorCode::JoinTimeout => "no join received in time",
        ErrorCode::SlowConsumer => "you were not reading fast enough",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tungstenite::error::CapacityError;

    /// `too-large` relies on seeing the WebSocket layer's own error type through
    /// axum's wrapper: this breaks if our `tungstenite` is not the version axum uses.
    #[test]
    fn recognizes_the_websocket_layers_size_error() {
        let err = tungstenite::Error::Capacity(CapacityError::MessageTooLong {
            size: 70_000,
            max_size: 65_536,
        });
        assert!(is_too_large(axum::Error::new(err)));
        assert!(!is_too_large(axum::Error::new(
            tungstenite::Error::ConnectionClosed
        )));
    }
}
