//! The bridge's errors: what a page did wrong (answered on the wire, the call goes
//! on) and what failed when starting the service.

/// An error answered to the page as `{"ok":false,"error":{"code","message"}}`.
/// The code is stable (docs/BRIDGE.md lists them); the message is for people.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// Not JSON, not an object, a missing or mistyped field.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// An `op` the bridge does not know.
    #[error("unknown op {0:?}")]
    UnknownOp(String),
    /// A text or binary message over the limit.
    #[error("message of {size} bytes is over the limit of {limit}")]
    TooLarge {
        /// The message's size.
        size: usize,
        /// The limit it broke.
        limit: usize,
    },
    /// A binary frame whose header does not parse.
    #[error("bad media frame: {0}")]
    BadFrame(&'static str),
    /// No peer connection with that id (never made, or closed).
    #[error("no peer connection {0}")]
    NoSuchPeer(u32),
    /// A peer connection with that id exists already.
    #[error("peer connection {0} exists already")]
    PeerExists(u32),
    /// More peer connections than a session may hold.
    #[error("at most {0} peer connections per page")]
    TooManyPeers(usize),
    /// No transceiver with that id on this connection.
    #[error("no transceiver {0}")]
    NoSuchTransceiver(usize),
    /// No data channel with that id on this connection.
    #[error("no data channel {0}")]
    NoSuchChannel(u32),
    /// More data channels than a connection may hold.
    #[error("at most {0} data channels per peer connection")]
    TooManyChannels(usize),
    /// The WebRTC stack refused the operation (wrong signaling state, bad SDP, a
    /// closed connection): the page's request came out of order or was invalid.
    #[error("{0}")]
    InvalidState(String),
    /// The peer connection's task has ended (closed or failed to start).
    #[error("peer connection {0} is gone")]
    PeerGone(u32),
}

impl PageError {
    /// The stable wire code.
    pub fn code(&self) -> &'static str {
        match self {
            PageError::BadRequest(_) => "bad-request",
            PageError::UnknownOp(_) => "unknown-op",
            PageError::TooLarge { .. } => "too-large",
            PageError::BadFrame(_) => "bad-frame",
            PageError::NoSuchPeer(_) => "no-such-peer",
            PageError::PeerExists(_) => "peer-exists",
            PageError::TooManyPeers(_) => "too-many-peers",
            PageError::NoSuchTransceiver(_) => "no-such-transceiver",
            PageError::NoSuchChannel(_) => "no-such-channel",
            PageError::TooManyChannels(_) => "too-many-channels",
            PageError::InvalidState(_) => "invalid-state",
            PageError::PeerGone(_) => "peer-gone",
        }
    }
}

impl From<webrtc::error::Error> for PageError {
    fn from(e: webrtc::error::Error) -> Self {
        PageError::InvalidState(e.to_string())
    }
}

/// Why the bridge could not start.
#[derive(Debug, thiserror::Error)]
pub enum BridgeError {
    /// The loopback listener could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address tried.
        addr: std::net::SocketAddr,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The bridge listens on loopback only; another address was asked for.
    #[error("the bridge listens on loopback only, not {0}")]
    NotLoopback(std::net::IpAddr),
}
