//! A `lanmeet host` process in a namespace, and what tests ask of it.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use serde_json::Value;

use super::{Host, in_ns, wait_exit};
use crate::PATIENCE;

/// A `lanmeet host` process in a namespace. Killed (by PID) when dropped.
pub struct NodeProc {
    pub ns: String,
    pub label: String,
    child: Child,
    log: PathBuf,
    /// The `--json` line: code, invite, local, ws, lan.
    pub info: Value,
    pub local_port: u16,
}

impl NodeProc {
    /// Starts `lanmeet host --json --no-open --node-name LABEL --local-port 0
    /// ARGS…` in `host`, logging to `logs/LABEL.log`, and waits for its line.
    pub(super) fn start(
        bin: &Path,
        host: &Host,
        logs: &Path,
        label: &str,
        args: &[&str],
    ) -> NodeProc {
        let log = logs.join(format!("{label}.log"));
        let stderr = std::fs::File::create(&log)
            .unwrap_or_else(|e| panic!("log file {}: {e}", log.display()));
        let mut child = Command::new("ip")
            .args(["netns", "exec", &host.ns])
            .arg(bin)
            .args(["host", "--json", "--no-open"])
            .args(["--node-name", label, "--local-port", "0"])
            .args(args)
            // The guest certificate goes beside the log, not into root's home.
            .env("LANMEET_DATA_DIR", logs.join(format!("{label}-data")))
            .env(
                "RUST_LOG",
                std::env::var("LANMEET_TEST_LOG").unwrap_or_else(|_| "info".into()),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start lanmeet: {e}"));
        let rx = crate::first_stdout_line(&mut child);
        let mut proc = NodeProc {
            ns: host.ns.clone(),
            label: label.to_owned(),
            child,
            log,
            info: Value::Null,
            local_port: 0,
        };
        let line = rx.recv_timeout(PATIENCE).unwrap_or_else(|_| {
            panic!(
                "{label} printed nothing in {PATIENCE:?}; log:\n{}",
                proc.log_text()
            )
        });
        let info: Value = serde_json::from_str(&line).unwrap_or_else(|e| {
            panic!("{label}: bad JSON line {line:?}: {e}\n{}", proc.log_text())
        });
        let local = info["local"].as_str().unwrap_or_default();
        proc.local_port = local
            .trim_start_matches("http://127.0.0.1:")
            .trim_end_matches('/')
            .parse()
            .unwrap_or_else(|_| panic!("{label}: no local port in {info}"));
        proc.info = info;
        proc
    }

    pub fn code(&self) -> String {
        self.info["code"].as_str().unwrap_or_default().to_owned()
    }

    pub fn ws(&self) -> String {
        self.info["ws"].as_str().unwrap_or_default().to_owned()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// A control-API request on this node's local listener, from inside its
    /// namespace. Returns (status, body); status 0 when there was no answer.
    pub fn api(&self, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
        let port = self.local_port;
        let body = body.unwrap_or("");
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let text = in_ns(&self.ns, || {
            let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
            stream
                .set_read_timeout(Some(Duration::from_secs(10)))
                .ok()?;
            stream.write_all(request.as_bytes()).ok()?;
            let mut raw = Vec::new();
            stream.read_to_end(&mut raw).ok()?;
            Some(String::from_utf8_lossy(&raw).into_owned())
        })
        .unwrap_or_default();
        let status = text
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let body = text
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_owned())
            .unwrap_or_default();
        (status, body)
    }

    /// `GET /api/lan/rooms` as JSON (panics on a non-200 answer).
    pub fn lan_rooms(&self) -> Vec<Value> {
        let (status, body) = self.api("GET", "/api/lan/rooms", None);
        assert_eq!(
            status,
            200,
            "{}: /api/lan/rooms answered {status}: {body}\n{}",
            self.label,
            self.log_text()
        );
        serde_json::from_str::<Vec<Value>>(&body)
            .unwrap_or_else(|e| panic!("{}: {e}: {body}", self.label))
    }

    /// The entry for `code` in this node's `/api/lan/rooms`, if any.
    pub fn lan_room(&self, code: &str) -> Option<Value> {
        self.lan_rooms().into_iter().find(|r| r["code"] == code)
    }

    /// Opens a peer socket on this node and joins `code`; the socket lives until
    /// the returned process is killed. (A raw WebSocket handshake and one masked
    /// text frame, written by bash; replies are read and discarded.)
    pub fn join_peer(&self, code: &str, name: &str) -> Child {
        let port = self.local_port;
        let mut bytes = format!(
            "GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        .into_bytes();
        let payload = serde_json::json!({"type": "join", "room": code, "name": name}).to_string();
        bytes.extend(masked_text_frame(payload.as_bytes()));
        Command::new("ip")
            .args(["netns", "exec", &self.ns, "bash", "-c"])
            .arg(r#"exec 3<>"/dev/tcp/127.0.0.1/$1" && printf "$2" >&3 && exec cat <&3 >/dev/null"#)
            .args(["bash", &port.to_string(), &printf_escape(&bytes)])
            .stdin(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the peer socket: {e}"))
    }

    /// SIGTERM, then waits (bounded) for the exit status.
    pub fn terminate(mut self) -> ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .output();
        self.wait_exit()
    }

    /// SIGKILL: no goodbye, no closing handshake.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.wait_exit();
    }

    fn wait_exit(&mut self) -> ExitStatus {
        match wait_exit(&mut self.child) {
            Some(status) => status,
            None => {
                let _ = self.child.kill();
                panic!(
                    "{} did not exit in {PATIENCE:?}\n{}",
                    self.label,
                    self.log_text()
                );
            }
        }
    }
}

impl Drop for NodeProc {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// `\xHH` for every byte: a printf format with no `%` and no NUL in argv.
fn printf_escape(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("\\x{b:02x}")).collect()
}

/// A client-to-node text frame (clients must mask).
fn masked_text_frame(payload: &[u8]) -> Vec<u8> {
    assert!(payload.len() < 126, "short frames only");
    let mask = [0x37, 0xfa, 0x21, 0x3d];
    let mut frame = vec![0x81, 0x80 | payload.len() as u8];
    frame.extend(mask);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    frame
}
