//! Starting, watching and stopping the servers under test.
//!
//! Each server is a separate process pinned with `taskset` to the server core, its
//! output in a log file under the log directory. Every PID is written to the pid file
//! while the process lives, so the driver script's trap can stop what a crashed bench
//! left behind; a stopped server is taken off the list at once (no stale PID is ever
//! signalled).

use std::cell::RefCell;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::sys;
use crate::wire::Kind;

/// How long a server may take to say it is ready.
const READY_TIMEOUT: Duration = Duration::from_secs(20);

/// Where and how to start servers.
pub(crate) struct Launcher {
    pub(crate) lanmeet: PathBuf,
    pub(crate) peerjs_dir: PathBuf,
    pub(crate) node: String,
    pub(crate) self_exe: PathBuf,
    pub(crate) core: usize,
    pub(crate) log_dir: PathBuf,
    pub(crate) max_rooms: usize,
    pub(crate) max_sockets: usize,
    pub(crate) relay_multi_thread: bool,
    pub(crate) pids: PidFile,
}

/// The PIDs of live servers, mirrored to a file for the driver script's trap.
pub(crate) struct PidFile {
    path: Option<PathBuf>,
    pids: RefCell<Vec<u32>>,
}

impl PidFile {
    pub(crate) fn new(path: Option<PathBuf>) -> PidFile {
        PidFile {
            path,
            pids: RefCell::default(),
        }
    }

    fn add(&self, pid: u32) {
        self.pids.borrow_mut().push(pid);
        self.write();
    }

    fn remove(&self, pid: u32) {
        self.pids.borrow_mut().retain(|&p| p != pid);
        self.write();
    }

    fn write(&self) {
        if let Some(path) = &self.path {
            let text: String = self
                .pids
                .borrow()
                .iter()
                .map(|p| format!("{p}\n"))
                .collect();
            if let Err(e) = std::fs::write(path, text) {
                tracing::warn!("writing pid file {}: {e}", path.display());
            }
        }
    }
}

/// A running server.
pub(crate) struct Server<'a> {
    pub(crate) kind: Kind,
    child: Child,
    pid: u32,
    /// The port of `/ws` (lanmeet: the LAN listener).
    pub(crate) ws_port: u16,
    /// lanmeet only: the local listener, where the control API is.
    pub(crate) control_port: Option<u16>,
    pids: &'a PidFile,
    stopped: bool,
}

impl Launcher {
    /// Starts one server; `label` names its log file.
    pub(crate) fn start(&self, kind: Kind, label: &str) -> Result<Server<'_>> {
        std::fs::create_dir_all(&self.log_dir)?;
        let log_path = self.log_dir.join(format!("{kind}-{label}.log"));
        let log =
            File::create(&log_path).with_context(|| format!("creating {}", log_path.display()))?;
        let mut cmd = Command::new("taskset");
        cmd.arg("-c").arg(self.core.to_string());
        let peerjs_port = match kind {
            Kind::Lanmeet => {
                cmd.arg(&self.lanmeet).args([
                    "host",
                    "--no-open",
                    "--no-discovery",
                    "--json",
                    "--local-port",
                    "0",
                    "--lan-port",
                    "0",
                    "--lan-bind",
                    "127.0.0.1",
                    "--max-rooms",
                    &self.max_rooms.to_string(),
                    "--max-sockets",
                    &self.max_sockets.to_string(),
                    // Every load socket comes from 127.0.0.1.
                    "--max-per-address",
                    &self.max_sockets.to_string(),
                ]);
                cmd.stdout(Stdio::piped()).stderr(log);
                None
            }
            Kind::Relay => {
                cmd.arg(&self.self_exe).args(["relay", "--port", "0"]);
                if self.relay_multi_thread {
                    cmd.arg("--multi-thread");
                }
                cmd.stdout(Stdio::piped()).stderr(log);
                None
            }
            Kind::Peerjs => {
                let port = free_port()?;
                let script = self.peerjs_dir.join("node_modules/peer/dist/bin/peerjs.js");
                if !script.exists() {
                    bail!(
                        "{} missing: run `npm ci` in {}",
                        script.display(),
                        self.peerjs_dir.display()
                    );
                }
                cmd.arg(&self.node).arg(script).args([
                    "--host",
                    "127.0.0.1",
                    "--port",
                    &port.to_string(),
                ]);
                cmd.stdout(log.try_clone()?).stderr(log);
                Some(port)
            }
        };
        cmd.stdin(Stdio::null());
        let mut child = cmd.spawn().with_context(|| format!("starting {kind}"))?;
        let pid = child.id();
        self.pids.add(pid);
        let stdout = child.stdout.take();
        // From here on, a failure drops `server`, which stops the process.
        let mut server = Server {
            kind,
            child,
            pid,
            ws_port: 0,
            control_port: None,
            pids: &self.pids,
            stopped: false,
        };
        match kind {
            Kind::Lanmeet => {
                let line = first_line(stdout, &mut server.child)?;
                let v: serde_json::Value = serde_json::from_str(&line)
                    .with_context(|| format!("lanmeet said {line:?}"))?;
                server.ws_port = url_port(v["lan"].as_str().context("no \"lan\" in --json line")?)?;
                server.control_port = Some(url_port(
                    v["local"].as_str().context("no \"local\" in --json line")?,
                )?);
            }
            Kind::Relay => {
                let line = first_line(stdout, &mut server.child)?;
                let v: serde_json::Value = serde_json::from_str(&line)?;
                server.ws_port = v["port"]
                    .as_u64()
                    .and_then(|p| u16::try_from(p).ok())
                    .context("relay gave no port")?;
            }
            Kind::Peerjs => {
                server.ws_port = peerjs_port.context("no port")?;
                wait_for_log(&log_path, "Started PeerServer", &mut server.child)?;
            }
        }
        Ok(server)
    }
}

impl Server<'_> {
    pub(crate) fn rss_kib(&self) -> Result<u64> {
        sys::proc_rss_kib(self.pid)
    }

    pub(crate) fn cpu(&self) -> Duration {
        sys::proc_cpu(self.pid).unwrap_or_default()
    }

    /// Creates a room on lanmeet's control API and returns its code.
    pub(crate) async fn create_room(&self, name: &str, capacity: u8) -> Result<String> {
        let port = self.control_port.context("not a lanmeet server")?;
        let body = format!(r#"{{"name":"{name}","capacity":{capacity}}}"#);
        let request = format!(
            "POST /api/rooms HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
        stream.write_all(request.as_bytes()).await?;
        let mut answer = Vec::new();
        tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer))
            .await
            .context("POST /api/rooms timed out")??;
        let text = String::from_utf8_lossy(&answer);
        let status = text.split_whitespace().nth(1).unwrap_or("");
        let (start, end) = (text.find('{'), text.rfind('}'));
        let json = match (start, end) {
            (Some(s), Some(e)) if s < e => &text[s..=e],
            _ => "",
        };
        if status != "201" {
            bail!("POST /api/rooms answered {status}: {json}");
        }
        let v: serde_json::Value = serde_json::from_str(json).context("room answer not JSON")?;
        Ok(v["code"]
            .as_str()
            .context("room answer has no code")?
            .to_owned())
    }

    /// SIGTERM, up to 5 s for a clean exit, then SIGKILL.
    pub(crate) fn stop(mut self) {
        self.stop_now(Duration::from_secs(5));
    }

    fn stop_now(&mut self, grace: Duration) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        if let Ok(pid) = i32::try_from(self.pid) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
        }
        let deadline = Instant::now() + grace;
        loop {
            match self.child.try_wait() {
                Ok(Some(_)) => break,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                _ => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    break;
                }
            }
        }
        self.pids.remove(self.pid);
    }
}

impl Drop for Server<'_> {
    fn drop(&mut self) {
        self.stop_now(Duration::from_millis(500));
    }
}

/// Reads the server's first stdout line (its ready line), bounded in time; the rest of
/// its stdout is drained by the same thread so the server never blocks on a full pipe.
fn first_line(stdout: Option<std::process::ChildStdout>, child: &mut Child) -> Result<String> {
    let stdout = stdout.context("no stdout")?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        let _ = tx.send(reader.read_line(&mut line).map(|_| line));
        let mut sink = [0u8; 4096];
        while matches!(reader.read(&mut sink), Ok(n) if n > 0) {}
    });
    match rx.recv_timeout(READY_TIMEOUT) {
        Ok(Ok(line)) if !line.trim().is_empty() => Ok(line.trim().to_owned()),
        Ok(_) => bail!("server exited before it was ready ({:?})", child.try_wait()),
        Err(_) => bail!("server not ready after {READY_TIMEOUT:?}"),
    }
}

fn wait_for_log(path: &Path, needle: &str, child: &mut Child) -> Result<()> {
    let deadline = Instant::now() + READY_TIMEOUT;
    while Instant::now() < deadline {
        if std::fs::read_to_string(path).is_ok_and(|s| s.contains(needle)) {
            return Ok(());
        }
        if let Ok(Some(status)) = child.try_wait() {
            bail!("server exited ({status}); see {}", path.display());
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    bail!(
        "no {needle:?} in {} after {READY_TIMEOUT:?}",
        path.display()
    )
}

/// The port of an `http://HOST:PORT/...` URL.
fn url_port(url: &str) -> Result<u16> {
    let rest = url.split("://").nth(1).unwrap_or(url);
    let authority = rest.split('/').next().unwrap_or(rest);
    let port = authority.rsplit(':').next().context("no port")?;
    port.parse().with_context(|| format!("no port in {url}"))
}

/// A port that was free a moment ago, for servers that cannot bind port 0 and report
/// it (PeerJS).
fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind(("127.0.0.1", 0))?;
    Ok(l.local_addr()?.port())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_ports() {
        assert_eq!(url_port("http://127.0.0.1:4321/").ok(), Some(4321));
        assert_eq!(url_port("http://10.0.0.2:7878").ok(), Some(7878));
        assert!(url_port("http://host/").is_err());
    }
}
