//! Ctrl-C and SIGTERM on a real `lanmeet host` (loopback, no discovery): the first
//! ends the call cleanly and in bounded time even when a client never answers its
//! goodbye; a second, sent while that goodbye is still awaited, ends the process at
//! once with 128 + the signal, as a person pressing Ctrl-C again expects.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::io::{BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use lanmeet_test_support::netns::wait_exit;
use lanmeet_test_support::{PATIENCE, first_stdout_line, wait_for};
use serde_json::Value;

/// A `lanmeet host` on loopback only; killed (by PID) if a test fails before its end.
struct Host {
    child: Child,
    data: PathBuf,
    port: u16,
    stderr: mpsc::Receiver<String>,
}

impl Host {
    fn start() -> Host {
        // A data directory of its own (the guest certificate), removed on drop.
        static HOSTS: AtomicUsize = AtomicUsize::new(0);
        let n = HOSTS.fetch_add(1, Ordering::Relaxed);
        let data = std::env::temp_dir().join(format!("lanmeet-signals-{}-{n}", std::process::id()));
        let mut child = Command::new(env!("CARGO_BIN_EXE_lanmeet"))
            .args(["host", "--json", "--no-open", "--no-discovery"])
            .args([
                "--local-port",
                "0",
                "--lan-port",
                "0",
                "--lan-bind",
                "127.0.0.1",
            ])
            .env("LANMEET_DATA_DIR", &data)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("lanmeet starts");
        let rx = first_stdout_line(&mut child);
        let stderr = child.stderr.take().expect("stderr piped");
        let (err_tx, stderr_rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = BufReader::new(stderr).read_to_string(&mut text);
            let _ = err_tx.send(text);
        });
        let line = rx.recv_timeout(PATIENCE).expect("the JSON line");
        let info: Value = serde_json::from_str(&line).expect("JSON");
        let port = info["local"]
            .as_str()
            .and_then(|l| {
                l.trim_start_matches("http://127.0.0.1:")
                    .trim_end_matches('/')
                    .parse()
                    .ok()
            })
            .unwrap_or_else(|| panic!("no local port in {info}"));
        Host {
            child,
            data,
            port,
            stderr: stderr_rx,
        }
    }

    fn signal(&self, name: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .expect("kill runs")
            .success();
        assert!(ok, "kill -{name}");
    }

    /// The exit status (bounded wait) and everything it wrote to stderr.
    fn exit(mut self) -> (ExitStatus, String) {
        let status = wait_exit(&mut self.child).expect("lanmeet exits");
        let stderr = self.stderr.recv_timeout(PATIENCE).unwrap_or_default();
        (status, stderr)
    }

    /// A peer socket that never sends after its upgrade: it never answers the node's
    /// close frame, so the node's goodbye to it waits its full time.
    fn silent_socket(&self) -> TcpStream {
        let mut tcp = TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        write!(
            tcp,
            "GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
            self.port
        )
        .expect("write the upgrade");
        tcp.set_read_timeout(Some(PATIENCE)).expect("timeout");
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") && head.len() < 4096 {
            tcp.read_exact(&mut byte).expect("the upgrade's answer");
            head.push(byte[0]);
        }
        let head = String::from_utf8_lossy(&head);
        assert!(head.starts_with("HTTP/1.1 101"), "upgraded: {head}");
        tcp
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.data);
    }
}

fn refused(port: u16) -> Option<()> {
    TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(500))
        .is_err()
        .then_some(())
}

#[test]
fn ctrl_c_or_sigterm_ends_the_call_cleanly_even_with_a_peer_that_never_answers() {
    for name in ["INT", "TERM"] {
        let host = Host::start();
        let port = host.port;
        let _silent = host.silent_socket();
        host.signal(name);
        let (status, stderr) = host.exit();
        assert_eq!(
            status.code(),
            Some(0),
            "SIG{name}: {status}; stderr:\n{stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
        wait_for("the port closed", PATIENCE, || refused(port));
    }
}

#[test]
fn a_second_ctrl_c_during_the_goodbye_stops_at_once() {
    for (name, code) in [("INT", 130), ("TERM", 143)] {
        second_signal_stops_at_once(name, code);
    }
}

fn second_signal_stops_at_once(name: &str, code: i32) {
    let host = Host::start();
    let mut silent = host.silent_socket();
    host.signal(name);
    // The close frame (opcode 8) says the goodbye began; the node now waits a second,
    // by design, for a reply that never comes: the second signal has that second to
    // arrive (a kill and a wakeup, milliseconds even on a loaded machine).
    let mut frame = [0u8; 1];
    silent
        .read_exact(&mut frame)
        .expect("the node's close frame");
    assert_eq!(frame[0], 0x88, "a close frame");
    host.signal(name);
    let (status, stderr) = host.exit();
    assert_eq!(
        status.code(),
        Some(code),
        "SIG{name} twice: {status}; stderr:\n{stderr}"
    );
    assert!(stderr.contains("stopping at once"), "{stderr}");
}
