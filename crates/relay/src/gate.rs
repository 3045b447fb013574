//! The gate in front of the TURN server: a listener `Conn` that lets through only
//! what the server should spend anything on.
//!
//! - TURN requests are rate limited per source address.
//! - A request without credentials is challenged here (401), and one with
//!   credentials that are not a current member's valid ones is refused here (401),
//!   so strangers never reach the server: its nonce table grows with every
//!   challenge it issues and never shrinks. The nonce in the gate's challenges is
//!   the server's own: every half hour (well within the server's nonce lifetime of
//!   an hour) the gate hands the server one unauthenticated request from a
//!   documentation address (192.0.2.1, never sent to) and keeps the nonce of the
//!   challenge the server answers it with. So the server's table grows by two
//!   entries an hour, and clients meet no stale-nonce round trip (not every TURN
//!   client retries one).
//! - An Allocate over the member's or the relay's quota is refused here (486,
//!   508); one let through names its user name to the listener's [`Generator`].
//! - Data (ChannelData, Send indications) passes: the server drops what belongs
//!   to no allocation, and allocations are held to their bandwidth.
//!
//! [`Generator`]: crate::accounting::Generator

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use rand::Rng;
use stun::agent::TransactionId;
use stun::attributes::{ATTR_MESSAGE_INTEGRITY, ATTR_NONCE, ATTR_REALM, ATTR_USERNAME};
use stun::error_code::{
    CODE_ALLOC_QUOTA_REACHED, CODE_INSUFFICIENT_CAPACITY, CODE_UNAUTHORIZED, ErrorCode,
    ErrorCodeAttribute,
};
use stun::integrity::MessageIntegrity;
use stun::message::{
    CLASS_ERROR_RESPONSE, CLASS_INDICATION, CLASS_REQUEST, METHOD_ALLOCATE, METHOD_BINDING,
    METHOD_SEND, Message, MessageType, Setter, is_message,
};
use stun::textattrs::TextAttribute;
use turn::proto::chandata::ChannelData;
use webrtc_util::Conn;

use crate::accounting::{Accounting, Quota};
use crate::bucket::Bucket;
use crate::credentials::member_of;
use crate::relay::Shared;

/// Source addresses whose request budgets are remembered; past this the oldest
/// knowledge is dropped wholesale (a flood from many addresses then meets fresh
/// buckets, each still bounded).
const MAX_SOURCES: usize = 4096;

pub(crate) struct Gate {
    pub(crate) inner: Arc<dyn Conn + Send + Sync>,
    pub(crate) shared: Arc<Shared>,
    pub(crate) books: Arc<Accounting>,
    pub(crate) pending: Arc<Mutex<Option<String>>>,
    sources: Mutex<HashMap<IpAddr, Bucket>>,
    /// The server's nonce the gate hands out, and when it was learned.
    nonce: Mutex<Option<(String, Instant)>>,
    /// When the gate last asked the server for a nonce.
    asked: Mutex<Option<Instant>>,
}

/// Where the gate's own requests to the server seem to come from (TEST-NET-1,
/// RFC 5737): answers to it are kept by the gate, never sent.
const NONCE_SOURCE: SocketAddr =
    SocketAddr::new(IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1)), 9);
/// How long a learned server nonce is handed out (the server's live an hour).
const NONCE_REFRESH: Duration = Duration::from_secs(30 * 60);

/// What the gate makes of one datagram.
enum Verdict {
    Pass,
    Drop,
    Answer(Message),
}

impl Gate {
    pub(crate) fn new(
        inner: Arc<dyn Conn + Send + Sync>,
        shared: Arc<Shared>,
        books: Arc<Accounting>,
        pending: Arc<Mutex<Option<String>>>,
    ) -> Gate {
        Gate {
            inner,
            shared,
            books,
            pending,
            sources: Mutex::new(HashMap::new()),
            nonce: Mutex::new(None),
            asked: Mutex::new(None),
        }
    }

    /// An unauthenticated Allocate to hand the server, when a fresh nonce is due
    /// (and the gate has not just asked).
    fn nonce_request(&self) -> Option<Vec<u8>> {
        let fresh = self
            .nonce
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .is_some_and(|(_, at)| at.elapsed() < NONCE_REFRESH);
        let mut asked = self.asked.lock().unwrap_or_else(|p| p.into_inner());
        if fresh || asked.is_some_and(|at| at.elapsed() < Duration::from_secs(1)) {
            return None;
        }
        *asked = Some(Instant::now());
        let mut m = Message::new();
        m.build(&[
            Box::new(TransactionId::new()),
            Box::new(MessageType::new(METHOD_ALLOCATE, CLASS_REQUEST)),
        ])
        .ok()?;
        Some(m.raw)
    }

    /// Keeps the nonce of the server's answer to [`Gate::nonce_request`].
    fn learn_nonce(&self, answer: &[u8]) {
        let mut m = Message::new();
        m.raw = answer.to_vec();
        if m.decode().is_ok()
            && let Ok(nonce) = TextAttribute::get_from_as(&m, ATTR_NONCE)
        {
            *self.nonce.lock().unwrap_or_else(|p| p.into_inner()) =
                Some((nonce.text, Instant::now()));
        }
    }

    fn request_allowed(&self, from: IpAddr) -> bool {
        let config = &self.shared.config;
        let mut sources = self.sources.lock().unwrap_or_else(|p| p.into_inner());
        if sources.len() >= MAX_SOURCES && !sources.contains_key(&from) {
            sources.clear();
        }
        sources
            .entry(from)
            .or_insert_with(|| Bucket::new(config.requests_per_sec, config.requests_burst))
            .take(1)
    }

    fn judge(&self, packet: &[u8], from: SocketAddr) -> Verdict {
        if ChannelData::is_channel_data(packet) {
            return Verdict::Pass;
        }
        if !is_message(packet) {
            return Verdict::Drop;
        }
        let mut m = Message::new();
        m.raw = packet.to_vec();
        if m.decode().is_err() {
            return Verdict::Drop;
        }
        if m.typ.class == CLASS_INDICATION {
            return if m.typ.method == METHOD_SEND {
                Verdict::Pass
            } else {
                Verdict::Drop
            };
        }
        if m.typ.class != CLASS_REQUEST || !self.request_allowed(from.ip()) {
            return Verdict::Drop;
        }
        if m.typ.method == METHOD_BINDING {
            return Verdict::Pass;
        }
        let Some((username, key)) = self.authenticate(&mut m) else {
            return self.challenge(&m);
        };
        if m.typ.method == METHOD_ALLOCATE {
            let member = member_of(&username).unwrap_or_default();
            if let Err(quota) = self.books.check(member) {
                tracing::debug!(member, ?quota, "allocation refused");
                let code = match quota {
                    Quota::Member => CODE_ALLOC_QUOTA_REACHED,
                    Quota::Relay => CODE_INSUFFICIENT_CAPACITY,
                };
                return error_response(&m, code, vec![Box::new(MessageIntegrity(key))]);
            }
            *self.pending.lock().unwrap_or_else(|p| p.into_inner()) = Some(username);
        }
        Verdict::Pass
    }

    /// The user name and key of a request signed with a current member's valid
    /// credentials; `None` for anything else.
    fn authenticate(&self, m: &mut Message) -> Option<(String, Vec<u8>)> {
        if !m.contains(ATTR_MESSAGE_INTEGRITY) {
            return None;
        }
        let username = TextAttribute::get_from_as(m, ATTR_USERNAME).ok()?.text;
        let realm = TextAttribute::get_from_as(m, ATTR_REALM).ok()?.text;
        if realm != self.shared.config.realm {
            return None;
        }
        let key = self.shared.key_for(&username)?;
        MessageIntegrity(key.clone()).check(m).ok()?;
        Some((username, key))
    }

    fn challenge(&self, m: &Message) -> Verdict {
        let learned = self
            .nonce
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map(|(n, _)| n.clone());
        // Without the server's nonce (it did not answer yet), one of our own: the
        // client then meets the server's stale-nonce answer once.
        let nonce = learned.unwrap_or_else(|| {
            let mut rng = rand::rng();
            (0..16)
                .map(|_| format!("{:02x}", rng.random::<u8>()))
                .collect()
        });
        error_response(
            m,
            CODE_UNAUTHORIZED,
            vec![
                Box::new(TextAttribute::new(ATTR_NONCE, nonce)),
                Box::new(TextAttribute::new(
                    ATTR_REALM,
                    self.shared.config.realm.clone(),
                )),
            ],
        )
    }
}

fn error_response(m: &Message, code: ErrorCode, extra: Vec<Box<dyn Setter>>) -> Verdict {
    let mut setters: Vec<Box<dyn Setter>> = vec![
        Box::new(Message {
            transaction_id: m.transaction_id,
            ..Default::default()
        }),
        Box::new(MessageType::new(m.typ.method, CLASS_ERROR_RESPONSE)),
        Box::new(ErrorCodeAttribute {
            code,
            reason: Vec::new(),
        }),
    ];
    setters.extend(extra);
    let mut out = Message::new();
    match out.build(&setters) {
        Ok(()) => Verdict::Answer(out),
        Err(_) => Verdict::Drop,
    }
}

#[async_trait]
impl Conn for Gate {
    async fn connect(&self, addr: SocketAddr) -> webrtc_util::Result<()> {
        self.inner.connect(addr).await
    }

    async fn recv(&self, buf: &mut [u8]) -> webrtc_util::Result<usize> {
        self.inner.recv(buf).await
    }

    async fn recv_from(&self, buf: &mut [u8]) -> webrtc_util::Result<(usize, SocketAddr)> {
        if let Some(ask) = self.nonce_request()
            && let Some(dst) = buf.get_mut(..ask.len())
        {
            dst.copy_from_slice(&ask);
            return Ok((ask.len(), NONCE_SOURCE));
        }
        loop {
            let (n, from) = self.inner.recv_from(buf).await?;
            match self.judge(&buf[..n], from) {
                Verdict::Pass => return Ok((n, from)),
                Verdict::Drop => {}
                Verdict::Answer(reply) => {
                    if let Err(e) = self.inner.send_to(&reply.raw, from).await {
                        tracing::debug!(%from, "could not answer: {e}");
                    }
                }
            }
        }
    }

    async fn send(&self, buf: &[u8]) -> webrtc_util::Result<usize> {
        self.inner.send(buf).await
    }

    async fn send_to(&self, buf: &[u8], target: SocketAddr) -> webrtc_util::Result<usize> {
        if target == NONCE_SOURCE {
            self.learn_nonce(buf);
            return Ok(buf.len());
        }
        self.inner.send_to(buf, target).await
    }

    fn local_addr(&self) -> webrtc_util::Result<SocketAddr> {
        self.inner.local_addr()
    }

    fn remote_addr(&self) -> Option<SocketAddr> {
        self.inner.remote_addr()
    }

    /// Nothing: the TURN server closes its listener's `Conn` whenever one
    /// allocation ends. The relay closes the real sockets when it stops.
    async fn close(&self) -> webrtc_util::Result<()> {
        Ok(())
    }

    fn as_any(&self) -> &(dyn std::any::Any + Send + Sync) {
        self
    }
}
