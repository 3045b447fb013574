//! Accepting and serving the connections of one listener.
//!
//! Every connection is bounded before it can cost anything: it must fit the
//! listener's budget (and on the LAN listener its source address's share, see
//! [`crate::budget`]), send a complete request head within
//! `header_read_timeout` (again after each answer, which bounds idle kept-alive
//! connections), move a byte within `idle_timeout`, and have each request
//! answered within `request_timeout`. A connection that upgrades to a peer socket
//! leaves these timers behind (the socket has its own join deadline and pings)
//! but keeps its connection slot until the socket closes.
//!
//! Failing to accept (no file descriptors left, say) pauses this listener
//! briefly and logs a coalesced warning; it never ends the loop nor spins.
//!
//! With a guest certificate, the LAN listener also speaks TLS on the same port
//! (docs/PROTOCOL.md, "Guests over HTTPS" [ext]): the first byte of a
//! connection tells which. 0x16 opens a TLS handshake record, and no HTTP
//! request starts with it (a method is ASCII letters), so other nodes, `lanmeet
//! join`, the probe and anything written against the plain protocol keep
//! working unchanged. Waiting for that byte and the whole handshake fit in the
//! same `header_read_timeout` a request head gets; only then does the clock of
//! the first request head start.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::budget::{ConnectionSlot, Connections, Side};
use crate::config::Limits;
use crate::guest_tls::GuestTls;
use crate::json_errors::error_response;
use crate::ratelimit::Coalesce;

/// How long a listener pauses after an accept error that is not about one
/// connection (no file descriptors, no memory): long enough not to spin, short
/// enough that a freed descriptor is used soon.
const ACCEPT_PAUSE: Duration = Duration::from_millis(100);

/// The first byte of a TLS handshake record.
const TLS_HANDSHAKE: u8 = 0x16;

/// What a listener serves and with which budgets.
pub(crate) struct Listener {
    pub(crate) side: Side,
    pub(crate) router: Router,
    /// TLS on the same port, and what it serves (browser guests).
    pub(crate) guests: Option<Guests>,
    pub(crate) connections: Arc<Connections>,
    pub(crate) limits: Arc<Limits>,
    /// Connection tasks are tracked, so shutdown waits for them.
    pub(crate) tasks: TaskTracker,
    /// Cancelled on shutdown: stop accepting, finish what is in flight.
    pub(crate) stop: CancellationToken,
}

/// The HTTPS side of a listener.
#[derive(Clone)]
pub(crate) struct Guests {
    pub(crate) tls: GuestTls,
    pub(crate) router: Router,
}

/// Accepts until `stop`; then drops the listener (its port is free again) and
/// returns, while the connection tasks finish on their own.
pub(crate) async fn run(tcp: TcpListener, listener: Listener) {
    let Listener {
        side,
        router,
        guests,
        connections,
        limits,
        tasks,
        stop,
    } = listener;
    // Turns every route into its final form once, not per connection.
    let router = router.with_state(());
    let guests = guests.map(|g| Guests {
        tls: g.tls,
        router: g.router.with_state(()),
    });
    let mut accept_errors = Coalesce::new(Duration::from_secs(10));
    let mut refusals = Coalesce::new(Duration::from_secs(10));
    loop {
        let accepted = tokio::select! {
            () = stop.cancelled() => break,
            accepted = tcp.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(err) if is_about_one_connection(&err) => continue,
            Err(err) => {
                if accept_errors.ready(Instant::now().into_std()) {
                    tracing::warn!(?side, %err, "cannot accept connections; pausing this listener");
                }
                tokio::select! {
                    () = stop.cancelled() => break,
                    () = tokio::time::sleep(ACCEPT_PAUSE) => continue,
                }
            }
        };
        let slot = match connections.admit(side, peer.ip()) {
            Ok(slot) => slot,
            Err(why) => {
                if refusals.ready(Instant::now().into_std()) {
                    tracing::info!(?side, ?why, %peer, "turning connections away");
                }
                refuse(&stream);
                continue;
            }
        };
        // Signals are small and latency-bound.
        let _ = stream.set_nodelay(true);
        let connection = Connection {
            side,
            peer,
            router: router.clone(),
            guests: guests.clone(),
            limits: limits.clone(),
            stop: stop.clone(),
        };
        tasks.spawn(connection.serve(stream, slot));
    }
}

/// Errors that end one connection, not the listener's ability to accept.
fn is_about_one_connection(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
    )
}

/// Best effort, without waiting: a 503 the client may read before the close.
fn refuse(stream: &TcpStream) {
    const BODY: &str =
        r#"{"error":{"code":"unavailable","message":"too many connections; try again later"}}"#;
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nretry-after: 5\r\nconnection: close\r\n\r\n{BODY}",
        BODY.len()
    );
    let _ = stream.try_write(answer.as_bytes());
}

/// One accepted connection.
struct Connection {
    side: Side,
    peer: SocketAddr,
    router: Router,
    guests: Option<Guests>,
    limits: Arc<Limits>,
    stop: CancellationToken,
}

impl Connection {
    async fn serve(self, stream: TcpStream, slot: ConnectionSlot) {
        let activity = Activity::new();
        let io = Metered {
            inner: stream,
            activity: activity.clone(),
            _slot: slot,
        };
        let Some(guests) = self.guests.clone() else {
            let router = self.router.clone();
            return self.serve_http(io, router, activity).await;
        };
        // The first byte and the whole handshake within one request head's time;
        // shutdown ends the wait too.
        let deadline = Instant::now() + self.limits.header_read_timeout;
        let mut first = [0u8; 1];
        let peeked = tokio::select! {
            () = self.stop.cancelled() => return,
            peeked = tokio::time::timeout_at(deadline, io.inner.peek(&mut first)) => peeked,
        };
        match peeked {
            Ok(Ok(1)) if first[0] == TLS_HANDSHAKE => {}
            Ok(Ok(1)) => {
                let router = self.router.clone();
                return self.serve_http(io, router, activity).await;
            }
            // Closed, failed, or silent for a request head's time.
            Ok(_) | Err(_) => {
                tracing::debug!(peer = %self.peer, "closing a connection that sent nothing");
                return;
            }
        }
        let handshake = tokio::select! {
            () = self.stop.cancelled() => return,
            handshake = tokio::time::timeout_at(deadline, guests.tls.acceptor.accept(io)) => handshake,
        };
        match handshake {
            Ok(Ok(tls)) => self.serve_http(tls, guests.router, activity).await,
            Ok(Err(err)) => {
                tracing::debug!(peer = %self.peer, %err, "TLS handshake failed");
            }
            Err(_) => {
                tracing::debug!(peer = %self.peer, "TLS handshake took too long");
            }
        }
    }

    /// HTTP/1.1 (and upgrades to the peer socket) over `io`, plain or TLS.
    async fn serve_http<I>(self, io: I, router: Router, activity: Activity)
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let limits = &self.limits;
        let service = Service {
            router,
            peer: self.peer,
            side: self.side,
            request_timeout: limits.request_timeout,
        };
        let max_head = match self.side {
            Side::Lan => limits.max_request_head,
            // Browsers send the local listener the cookies of every local port.
            Side::Local => limits.max_request_head.saturating_mul(4),
        };
        let mut http = hyper::server::conn::http1::Builder::new();
        http.timer(TokioTimer::new())
            .header_read_timeout(limits.header_read_timeout)
            // hyper's smallest allowed buffer.
            .max_buf_size(max_head.max(8192));
        let conn = http
            .serve_connection(TokioIo::new(io), service)
            .with_upgrades();
        tokio::pin!(conn);
        let idle = activity.idle_for(limits.idle_timeout);
        tokio::pin!(idle);
        let stopped = self.stop.cancelled();
        tokio::pin!(stopped);
        // Once shutdown began: what is in flight gets `shutdown_timeout` to end.
        let last_call = tokio::time::sleep(Duration::ZERO);
        tokio::pin!(last_call);
        let mut stopping = false;
        loop {
            tokio::select! {
                served = conn.as_mut() => {
                    // Ends at the connection's close, or once an upgraded socket
                    // took the connection over.
                    if let Err(err) = served {
                        tracing::debug!(peer = %self.peer, %err, "connection ended with an error");
                    }
                    break;
                }
                () = &mut idle => {
                    tracing::debug!(peer = %self.peer, "closing a connection on which nothing moved");
                    break;
                }
                () = &mut stopped, if !stopping => {
                    stopping = true;
                    conn.as_mut().graceful_shutdown();
                    last_call.as_mut().reset(Instant::now() + limits.shutdown_timeout);
                }
                () = &mut last_call, if stopping => break,
            }
        }
    }
}

/// The router as hyper's service for one connection: adds who is calling and on
/// which listener, and bounds each request in time.
#[derive(Clone)]
struct Service {
    router: Router,
    peer: SocketAddr,
    side: Side,
    request_timeout: Duration,
}

impl hyper::service::Service<hyper::Request<Incoming>> for Service {
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn call(&self, request: hyper::Request<Incoming>) -> Self::Future {
        let mut request = request.map(axum::body::Body::new);
        request.extensions_mut().insert(ConnectInfo(self.peer));
        request.extensions_mut().insert(self.side);
        let answer = tower_service::Service::call(&mut self.router.clone(), request);
        let timeout = self.request_timeout;
        Box::pin(async move {
            match tokio::time::timeout(timeout, answer).await {
                Ok(answer) => answer,
                Err(_) => {
                    let mut response = error_response(
                        StatusCode::REQUEST_TIMEOUT,
                        "request took too long; send it again, all at once",
                    )
                    .into_response();
                    response
                        .headers_mut()
                        .insert(header::CONNECTION, HeaderValue::from_static("close"));
                    Ok(response)
                }
            }
        })
    }
}

/// When bytes last moved on a connection, either way.
#[derive(Clone)]
struct Activity {
    start: Instant,
    /// Milliseconds from `start` to the last read or write that moved a byte.
    last: Arc<AtomicU64>,
}

impl Activity {
    fn new() -> Activity {
        Activity {
            start: Instant::now(),
            last: Arc::new(AtomicU64::new(0)),
        }
    }

    fn touch(&self) {
        let ms = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last.store(ms, Ordering::Relaxed);
    }

    /// Completes once nothing moved for `idle`.
    async fn idle_for(&self, idle: Duration) {
        loop {
            let last = self.start + Duration::from_millis(self.last.load(Ordering::Relaxed));
            let deadline = last + idle;
            if Instant::now() >= deadline {
                return;
            }
            tokio::time::sleep_until(deadline).await;
        }
    }
}

/// The connection's socket, noting when bytes move and holding its budget slot
/// for as long as the socket lives (an upgraded peer socket takes it along).
struct Metered {
    inner: TcpStream,
    activity: Activity,
    _slot: ConnectionSlot,
}

impl AsyncRead for Metered {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.touch();
        }
        polled
    }
}

impl AsyncWrite for Metered {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
