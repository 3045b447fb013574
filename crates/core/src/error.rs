//! Errors of the node's public API.

use std::net::SocketAddr;

/// Why a node could not start or do what it was asked.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error(transparent)]
    Create(#[from] crate::rooms::CreateError),
    #[error("bad room settings: {0}")]
    Settings(String),
    #[error("discovery failed to start: {0}")]
    Discovery(String),
}
