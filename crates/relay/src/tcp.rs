//! TURN over TCP (RFC 5766 §2.1): the client speaks to the relay over one TCP
//! connection, messages framed by their own headers (STUN by its length field,
//! ChannelData by its length, padded to 4 bytes). The TURN server of the `turn`
//! crate reads datagrams from a `Conn`; [`TcpConn`] is that `Conn` over every
//! accepted connection, each known by its remote address. The relayed side of an
//! allocation stays UDP, as in RFC 5766.
//!
//! Bounded: connections at most, frames at most 4 KiB, a queue per direction; a
//! connection idle for two minutes (TURN refreshes and ICE consent checks come
//! every few seconds) is closed.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use webrtc_util::Conn;

/// Largest frame accepted from a client (a TURN message or ChannelData).
const MAX_FRAME: usize = 4096;
/// Frames queued towards one client before more are dropped.
const WRITE_QUEUE: usize = 256;
const IDLE: Duration = Duration::from_secs(120);

type Writers = Arc<Mutex<HashMap<SocketAddr, mpsc::Sender<Vec<u8>>>>>;

/// Every TCP client of the relay as one datagram `Conn`.
pub(crate) struct TcpConn {
    local: SocketAddr,
    incoming: tokio::sync::Mutex<mpsc::Receiver<(Vec<u8>, SocketAddr)>>,
    writers: Writers,
}

impl TcpConn {
    /// Accepts on `listener` (until `stop`) at most `max` connections at once.
    pub(crate) fn serve(
        listener: TcpListener,
        max: usize,
        stop: CancellationToken,
        tasks: &TaskTracker,
    ) -> std::io::Result<TcpConn> {
        let local = listener.local_addr()?;
        let (tx, rx) = mpsc::channel(1024);
        let writers: Writers = Arc::default();
        let accept_writers = writers.clone();
        let accept_tasks = tasks.clone();
        tasks.spawn(async move {
            loop {
                let (stream, peer) = tokio::select! {
                    () = stop.cancelled() => break,
                    accepted = listener.accept() => match accepted {
                        Ok(a) => a,
                        Err(e) => {
                            tracing::debug!("relay tcp accept: {e}");
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            continue;
                        }
                    },
                };
                let (wtx, wrx) = mpsc::channel(WRITE_QUEUE);
                {
                    let mut w = accept_writers.lock().unwrap_or_else(|p| p.into_inner());
                    if w.len() >= max {
                        continue;
                    }
                    w.insert(peer, wtx);
                }
                accept_tasks.spawn(connection(
                    stream,
                    peer,
                    tx.clone(),
                    wrx,
                    accept_writers.clone(),
                    stop.clone(),
                ));
            }
        });
        Ok(TcpConn {
            local,
            incoming: tokio::sync::Mutex::new(rx),
            writers,
        })
    }
}

async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    incoming: mpsc::Sender<(Vec<u8>, SocketAddr)>,
    mut outgoing: mpsc::Receiver<Vec<u8>>,
    writers: Writers,
    stop: CancellationToken,
) {
    let _ = stream.set_nodelay(true);
    let (mut read, mut write) = stream.into_split();
    let reader = async {
        while let Ok(Ok(frame)) = tokio::time::timeout(IDLE, read_frame(&mut read)).await {
            if incoming.send((frame, peer)).await.is_err() {
                break;
            }
        }
    };
    let writer = async {
        while let Some(frame) = outgoing.recv().await {
            if write.write_all(&frame).await.is_err() {
                break;
            }
        }
    };
    tokio::select! {
        () = reader => {}
        () = writer => {}
        () = stop.cancelled() => {}
    }
    writers
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .remove(&peer);
}

/// One frame: a STUN message (20-byte header, length after it) or ChannelData
/// (4-byte header, length padded to 4).
async fn read_frame(read: &mut (impl AsyncReadExt + Unpin)) -> std::io::Result<Vec<u8>> {
    let mut head = [0u8; 4];
    read.read_exact(&mut head).await?;
    let length = usize::from(u16::from_be_bytes([head[2], head[3]]));
    let total = match head[0] >> 6 {
        0 => 20 + length,
        1 => 4 + length.div_ceil(4) * 4,
        _ => return Err(std::io::ErrorKind::InvalidData.into()),
    };
    if total > MAX_FRAME {
        return Err(std::io::ErrorKind::InvalidData.into());
    }
    let mut frame = vec![0u8; total];
    frame[..4].copy_from_slice(&head);
    read.read_exact(&mut frame[4..]).await?;
    Ok(frame)
}

#[async_trait]
impl Conn for TcpConn {
    async fn connect(&self, _addr: SocketAddr) -> webrtc_util::Result<()> {
        Err(webrtc_util::Error::Other("not a client".into()))
    }

    async fn recv(&self, _buf: &mut [u8]) -> webrtc_util::Result<usize> {
        Err(webrtc_util::Error::Other("use recv_from".into()))
    }

    async fn recv_from(&self, buf: &mut [u8]) -> webrtc_util::Result<(usize, SocketAddr)> {
        let mut incoming = self.incoming.lock().await;
        loop {
            let (frame, from) = incoming
                .recv()
                .await
                .ok_or(webrtc_util::Error::ErrBufferClosed)?;
            // The server reads into a buffer of one MTU; a larger frame is no
            // TURN traffic this relay serves.
            if let Some(dst) = buf.get_mut(..frame.len()) {
                dst.copy_from_slice(&frame);
                return Ok((frame.len(), from));
            }
        }
    }

    async fn send(&self, _buf: &[u8]) -> webrtc_util::Result<usize> {
        Err(webrtc_util::Error::Other("use send_to".into()))
    }

    /// Queues the frame for the client at `target` (dropped when its queue is
    /// full or it is gone, as a datagram would be).
    async fn send_to(&self, buf: &[u8], target: SocketAddr) -> webrtc_util::Result<usize> {
        let writer = self
            .writers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&target)
            .cloned();
        if let Some(writer) = writer {
            let mut frame = buf.to_vec();
            // ChannelData over TCP is padded to a multiple of 4 bytes.
            if frame.first().is_some_and(|b| b >> 6 == 1) {
                frame.resize(frame.len().div_ceil(4) * 4, 0);
            }
            let _ = writer.try_send(frame);
        }
        Ok(buf.len())
    }

    fn local_addr(&self) -> webrtc_util::Result<SocketAddr> {
        Ok(self.local)
    }

    fn remote_addr(&self) -> Option<SocketAddr> {
        None
    }

    async fn close(&self) -> webrtc_util::Result<()> {
        Ok(())
    }

    fn as_any(&self) -> &(dyn std::any::Any + Send + Sync) {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn frames_are_cut_by_their_own_lengths() {
        // A STUN header announcing 4 bytes, then ChannelData of 5 bytes padded to 8.
        let mut bytes = vec![0x00, 0x01, 0x00, 0x04];
        bytes.extend([0x21, 0x12, 0xa4, 0x42]);
        bytes.extend([0u8; 12]);
        bytes.extend([1, 2, 3, 4]);
        bytes.extend([0x40, 0x00, 0x00, 0x05, 9, 9, 9, 9, 9, 0, 0, 0]);
        let mut read = &bytes[..];
        assert_eq!(read_frame(&mut read).await.unwrap().len(), 24);
        assert_eq!(read_frame(&mut read).await.unwrap().len(), 12);
        assert!(read_frame(&mut read).await.is_err(), "nothing left");
        let mut junk: &[u8] = &[0xff, 0, 0, 0];
        assert!(read_frame(&mut junk).await.is_err());
        let mut huge: &[u8] = &[0x40, 0x00, 0xff, 0xff];
        assert!(read_frame(&mut huge).await.is_err());
    }
}
