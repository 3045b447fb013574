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
use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use crate::budget::SocketSlot;
use crate::codes::RoomCode;
use crate::config::Limits;
use crate::protocol::{
    BROKEN_FRAME, BadMessage, ErrorCode, FAILED_JOINS, NOT_UTF8, Request, TOO_MANY_PINGS, close,
    error_frame, parse_request, signal_frame,
};
use crate::ratelimit::{AddressLimiter, Coalesce, TokenBucket};
use crate::registry::{Outbound, Registry, SocketQueue};
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
    /// The client broke the WebSocket protocol itself (`status` 1002), or sent
    /// text that is not UTF-8 (1007): answered `bad-message`, then closed.
    Violation { status: u16, message: &'static str },
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
    /// The socket's slot; told when the socket joins.
    slot: SocketSlot,
}

/// The close reason of a socket dropped for two unanswered pings (status 1001).
const PING_TIMEOUT: &str = "ping-timeout";
/// How long a socket dropped for unanswered pings is given to take its close frame.
const DEAD_FLUSH: Duration = Duration::from_millis(300);

/// Frames the reader still takes once the join deadline has passed, if they had
/// already arrived: a stalled process must not refuse a `join` it was sent in
/// time, and a client cannot put the deadline off by sending more.
const MAX_LATE_FRAMES: usize = 8;

/// Runs one upgraded socket to its end; `slot` is given back when it ends.
pub(crate) async fn serve(socket: WebSocket, ctx: SocketContext, from: IpAddr, slot: SocketSlot) {
    let limits = ctx.limits.clone();
    let (link, rx, queued) = SocketQueue::new(limits.send_queue, limits.send_queue_bytes);
    let (mut sink, mut stream) = socket.split();
    let mut session = Session { joined: None, slot };

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

    tracing::debug!(
        ?outcome,
        joined = session.joined.is_some(),
        "peer socket ending"
    );
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
                    link.push(Outbound::Text(code.frame()));
                    link.push(Outbound::Close(
                        code.close_status().unwrap_or(close::POLICY),
                        code.as_str(),
                    ));
                }
                Exit::Violation { status, message } => {
                    let code = ErrorCode::BadMessage;
                    link.push(Outbound::Text(error_frame(code, message)));
                    link.push(Outbound::Close(status, code.as_str()));
                }
                Exit::Shutdown { joined: false } => {
                    link.push(Outbound::Close(close::GOING_AWAY, "shutdown"));
                }
                // The client may be gone for good, or only its pongs lost (a
                // half-broken link): if it still reads, it learns why. The flush
                // below is bounded like any other.
                Exit::Dead => link.push(Outbound::Close(close::GOING_AWAY, PING_TIMEOUT)),
                Exit::Gone | Exit::Left | Exit::Shutdown { .. } | Exit::Slow => {}
            }
            if matches!(exit, Exit::Gone) {
                false
            } else if matches!(exit, Exit::Dead) {
                // Likely gone for good: a short try at the close frame, and no wait for
                // a reply (the socket's slot is freed about as soon as before).
                let _ = tokio::time::timeout(DEAD_FLUSH, &mut writer).await;
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
        sink.feed(Message::Text(code.frame())).await?;
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
    link: &SocketQueue,
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
    // Bytes beside frames: 400 frames of 64 KiB would be 25 MiB in a burst.
    let mut bytes = TokenBucket::new(
        limits
            .rate_bytes_burst
            .max(u32::try_from(limits.max_message).unwrap_or(u32::MAX)),
        limits.rate_bytes_per_sec,
        Instant::now().into_std(),
    );
    let mut rate_notice = Coalesce::new(Duration::from_secs(1));
    let mut bad_notice = Coalesce::new(Duration::from_secs(10));
    let mut late_frames = 0;
    // Registered once, not per frame.
    let slow = link.slow.cancelled();
    let stop = ctx.stop.cancelled();
    tokio::pin!(slow, stop);

    loop {
        let msg = tokio::select! {
            biased;
            () = &mut slow => return Exit::Slow,
            () = &mut stop => return Exit::Shutdown { joined: session.joined.is_some() },
            () = &mut join_deadline, if session.joined.is_none() => {
                // What already arrived was sent in time, even if this task gets
                // to read it only now.
                match stream.next().now_or_never() {
                    Some(msg) if late_frames < MAX_LATE_FRAMES => {
                        late_frames += 1;
                        msg
                    }
                    _ => return Exit::Error(ErrorCode::JoinTimeout),
                }
            }
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
        let (text, len) = match msg {
            None => return Exit::Gone,
            Some(Err(err)) => return exit_for(err),
            Some(Ok(Message::Pong(_))) => {
                unanswered = 0;
                continue;
            }
            Some(Ok(Message::Ping(_))) => {
                // The WebSocket layer has queued the pong already. A ping is a
                // frame like any other: it takes a token, and a socket out of
                // tokens is not read again until one is back, so answering
                // pings cannot keep a core busy.
                let now = Instant::now().into_std();
                if !bucket.take(now) {
                    if rate_notice.ready(now) {
                        link.push(Outbound::Text(error_frame(
                            ErrorCode::RateLimited,
                            TOO_MANY_PINGS,
                        )));
                    }
                    let wait = bucket
                        .until_token(now)
                        .unwrap_or(Duration::from_secs(1))
                        .min(Duration::from_secs(1));
                    tokio::time::sleep(wait).await;
                    // This ping is paid for with the token that came back.
                    bucket.take(Instant::now().into_std());
                }
                continue;
            }
            Some(Ok(Message::Close(_))) => return Exit::Gone,
            Some(Ok(Message::Text(text))) => {
                let len = text.len();
                (Some(text), len)
            }
            Some(Ok(Message::Binary(binary))) => (None, binary.len()),
        };
        let now = Instant::now().into_std();
        let len = u32::try_from(len).unwrap_or(u32::MAX);
        if !bucket.take(now) || !bytes.take_n(len, now) {
            if rate_notice.ready(now) {
                link.push(Outbound::Text(ErrorCode::RateLimited.frame()));
            }
            continue;
        }
        let Some(text) = text else {
            link.push(Outbound::Text(error_frame(
                ErrorCode::BadMessage,
                &BadMessage::Binary.to_string(),
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
                let room = RoomCode::parse(&join.room).ok();
                let request = room.map(|room| Join {
                    room,
                    name: &join.name,
                    passcode: join.passcode.as_deref(),
                    resume: join.resume.as_deref(),
                });
                if !ctx.join_failures.has_token(from, now) {
                    // A live resume token is no guess (it has 144 random bits):
                    // a member behind an address whose budget someone else spent
                    // still gets their place back.
                    if let Some(request) = request
                        && let Some(joined) = ctx.registry.resume(link, request)
                    {
                        tracing::debug!(room = %joined.room, id = %joined.id, "resumed past a spent join budget");
                        session.slot.joined();
                        session.joined = Some(joined.id);
                        continue;
                    }
                    // Too many wrong codes or passcodes from this address: no
                    // answer either way for a while (the socket stays open).
                    link.push(Outbound::Text(error_frame(
                        ErrorCode::RateLimited,
                        FAILED_JOINS,
                    )));
                    continue;
                }
                let Some(request) = request else {
                    ctx.join_failures.allow(from, now);
                    return Exit::Error(ErrorCode::RoomNotFound);
                };
                match ctx.registry.join(link, request) {
                    Ok(joined) => {
                        tracing::debug!(room = %joined.room, id = %joined.id, resumed = joined.resumed, "joined");
                        session.slot.joined();
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
                    Err(SignalError::UnknownPeer) => {
                        link.push(Outbound::Text(ErrorCode::UnknownPeer.frame()));
                    }
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

/// How a read error of the WebSocket layer ends the socket: a message over the
/// size limit is `too-large`; text that is not UTF-8 and other breaches of the
/// WebSocket protocol get their own close status (RFC 6455, 7.4.1); a
/// connection that merely ended is gone.
fn exit_for(err: axum::Error) -> Exit {
    use tungstenite::error::ProtocolError;
    let inner = err.into_inner();
    tracing::debug!(err = %inner, "peer socket read failed");
    match inner.downcast_ref::<tungstenite::Error>() {
        Some(tungstenite::Error::Capacity(_)) => Exit::Error(ErrorCode::TooLarge),
        Some(tungstenite::Error::Utf8(_)) => Exit::Violation {
            status: close::INVALID_DATA,
            message: NOT_UTF8,
        },
        Some(tungstenite::Error::Protocol(
            ProtocolError::ResetWithoutClosingHandshake | ProtocolError::ReceivedAfterClosing,
        )) => Exit::Gone,
        Some(tungstenite::Error::Protocol(_)) => Exit::Violation {
            status: close::PROTOCOL_ERROR,
            message: BROKEN_FRAME,
        },
        _ => Exit::Gone,
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
        assert!(matches!(
            exit_for(axum::Error::new(err)),
            Exit::Error(ErrorCode::TooLarge)
        ));
        assert!(matches!(
            exit_for(axum::Error::new(tungstenite::Error::ConnectionClosed)),
            Exit::Gone
        ));
        assert!(matches!(
            exit_for(axum::Error::new(tungstenite::Error::Utf8("x".into()))),
            Exit::Violation { status: 1007, .. }
        ));
        let reset = tungstenite::error::ProtocolError::ResetWithoutClosingHandshake;
        assert!(matches!(
            exit_for(axum::Error::new(tungstenite::Error::Protocol(reset))),
            Exit::Gone
        ));
        let rsv = tungstenite::error::ProtocolError::NonZeroReservedBits;
        assert!(matches!(
            exit_for(axum::Error::new(tungstenite::Error::Protocol(rsv))),
            Exit::Violation { status: 1002, .. }
        ));
    }
}
