//! Asking another node's LAN listener a yes/no question over HTTP/1.1.
//!
//! Two questions only: "are you alive?" (`GET /api/health`) and "do you host this
//! room?" (`HEAD /api/rooms/{code}`). Both need nothing but the status line, so a
//! few lines over a `TcpStream` do, instead of a full HTTP client crate. Every
//! call is bounded by a timeout and reads at most a few hundred bytes.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::codes::RoomCode;

/// Bytes of the answer read at most (the status line is all we need).
const MAX_HEAD: usize = 512;

/// The status code of `METHOD path` on `addr`, or `None` on any failure
/// (refused, timed out, not HTTP).
async fn status(addr: SocketAddr, method: &str, path: &str, timeout: Duration) -> Option<u16> {
    let ask = async {
        let mut stream = TcpStream::connect(addr).await.ok()?;
        let _ = stream.set_nodelay(true);
        let host = crate::netif::host_port(addr.ip(), addr.port());
        let request =
            format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.ok()?;
        let mut buf = [0u8; MAX_HEAD];
        let mut len = 0;
        // Read until the status line is complete.
        while !buf[..len].contains(&b'\n') && len < buf.len() {
            let n = stream.read(&mut buf[len..]).await.ok()?;
            if n == 0 {
                break;
            }
            len += n;
        }
        parse_status(&buf[..len])
    };
    tokio::time::timeout(timeout, ask).await.ok().flatten()
}

/// `HTTP/1.1 204 No Content` → 204.
fn parse_status(head: &[u8]) -> Option<u16> {
    let line = head.split(|&b| b == b'\n').next()?;
    let line = std::str::from_utf8(line).ok()?;
    let mut parts = line.split_whitespace();
    if !parts.next()?.starts_with("HTTP/1.") {
        return None;
    }
    parts.next()?.parse().ok()
}

/// Whether the node at `addr` answers its health check.
pub(crate) async fn healthy(addr: SocketAddr, timeout: Duration) -> bool {
    status(addr, "GET", "/api/health", timeout).await == Some(200)
}

/// Whether the node at `addr` hosts `code`: `Some(true)` on 204, `Some(false)`
/// on 404, `None` when it could not tell (down, rate-limited, timed out).
pub(crate) async fn hosts_room(
    addr: SocketAddr,
    code: RoomCode,
    timeout: Duration,
) -> Option<bool> {
    match status(addr, "HEAD", &format!("/api/rooms/{code}"), timeout).await? {
        204 => Some(true),
        404 => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_status_lines() {
        assert_eq!(parse_status(b"HTTP/1.1 204 No Content\r\n"), Some(204));
        assert_eq!(
            parse_status(b"HTTP/1.0 404 Not Found\r\nx: y\r\n"),
            Some(404)
        );
        assert_eq!(parse_status(b"SSH-2.0-OpenSSH\r\n"), None);
        assert_eq!(parse_status(b""), None);
    }

    #[tokio::test]
    async fn a_closed_port_is_not_healthy() {
        // Bind then drop: the port is (very likely) closed now.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        assert!(!healthy(addr, Duration::from_millis(500)).await);
        assert_eq!(
            hosts_room(
                addr,
                RoomCode::parse("K7MQ2P").unwrap(),
                Duration::from_millis(500)
            )
            .await,
            None
        );
    }
}
