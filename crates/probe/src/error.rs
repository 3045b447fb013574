//! The probe's error type: one enum, so the CLI can tell "the node refused us" (a user
//! mistake: wrong code, wrong passcode) from "the network failed" (what the probe is
//! there to diagnose).

use std::time::Duration;

/// Why a probe or a probe run failed.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// The peer socket could not be opened (node down, wrong address, firewall).
    #[error("cannot open the peer socket {url}")]
    Connect {
        /// The WebSocket URL tried.
        url: String,
        /// What the WebSocket client reported.
        #[source]
        source: Box<tokio_tungstenite::tungstenite::Error>,
    },
    /// The node answered `join` with an error (room-not-found, room-full, bad-passcode…).
    #[error("the node refused to join: {code}: {message}")]
    Refused {
        /// The docs/PROTOCOL.md error code.
        code: String,
        /// The node's human-readable message.
        message: String,
    },
    /// The socket ended, or sent something unexpected, before `welcome`.
    #[error("no welcome from the node: {0}")]
    NoWelcome(String),
    /// Nothing came back from the node in time.
    #[error("timed out after {0:?} waiting for {1}")]
    Timeout(Duration, &'static str),
    /// The WebRTC stack refused an operation (bad SDP, closed connection, socket bind).
    #[error("webrtc: {0}")]
    WebRtc(#[from] webrtc::error::Error),
    /// A frame could not be serialized (should not happen; kept as an error, not a panic).
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
    /// The probe was asked to do something after it stopped.
    #[error("the probe has stopped")]
    Stopped,
    /// Options that cannot work together (e.g. zero probes, more probes than a room holds).
    #[error("invalid options: {0}")]
    InvalidOptions(String),
}
