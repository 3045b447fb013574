//! A small LAN made of network namespaces, for real-mDNS tests.
//!
//! A *switch* namespace holds one or more Linux bridges; every *host* namespace
//! gets one veth leg per bridge it is plugged into (`eth0`, `eth1`, … inside,
//! each with its own 10.x address). Multicast stays on these bridges: nothing here
//! touches the machine's real interfaces. Names carry the test process's PID and
//! a counter, so parallel tests and parallel runs never share a namespace.
//!
//! Cleanup is by `Drop`, so it also happens when an assertion fails: node
//! processes are killed by PID, whatever else still runs inside our namespaces
//! (started by us) is killed, and every namespace is deleted.
//!
//! Inside a namespace the node's control API is on 127.0.0.1, so requests go
//! through `ip netns exec NS bash` with bash's `/dev/tcp` (no curl needed).
#![allow(dead_code, unreachable_pub)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// True when this process may make namespaces; otherwise prints why the test is
/// skipped (visible with `--nocapture`, and in the test's captured output).
pub fn can_run(test: &str) -> bool {
    let uid = Command::new("id")
        .arg("-u")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    if uid.as_deref() != Some("0") {
        // CI (scripts/test) sets this: there a skipped namespace test is a failure.
        assert!(
            std::env::var_os("LANMEET_REQUIRE_NETNS").is_none(),
            "{test}: LANMEET_REQUIRE_NETNS is set but this is not root"
        );
        eprintln!(
            "SKIPPED {test}: needs root to create network namespaces (real mDNS never runs on real interfaces)"
        );
        println!("SKIPPED {test}: not root");
        return false;
    }
    let ip_ok = Command::new("ip")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    let bash_ok = Command::new("bash")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ip_ok && bash_ok,
        "{test}: `ip` (iproute2) and `bash` are needed for the namespace tests"
    );
    true
}

/// Runs a command, panicking with its output when it fails.
fn run(args: &[&str]) -> Output {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("{args:?}: {e}"));
    assert!(
        out.status.success(),
        "{args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

pub struct Lan {
    id: String,
    switch: String,
    namespaces: Vec<String>,
    pub logs: PathBuf,
}

/// One machine on the LAN.
#[derive(Clone, Debug)]
pub struct Host {
    pub ns: String,
    pub name: String,
    /// Its address on each leg, in order (eth0, eth1, …).
    pub addrs: Vec<String>,
}

impl Lan {
    /// An empty LAN; `tag` (a few letters) names its namespaces.
    pub fn new(tag: &str) -> Lan {
        let id = format!(
            "lmd{}{}{}",
            std::process::id(),
            tag,
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let logs = std::env::temp_dir().join(format!("lanmeet-{id}"));
        let _ = std::fs::create_dir_all(&logs);
        let mut lan = Lan {
            switch: format!("{id}sw"),
            id,
            namespaces: Vec::new(),
            logs,
        };
        let switch = lan.switch.clone();
        lan.add_ns(&switch);
        lan
    }

    fn add_ns(&mut self, ns: &str) {
        run(&["ip", "netns", "add", ns]);
        self.namespaces.push(ns.to_owned());
        run(&["ip", "-n", ns, "link", "set", "lo", "up"]);
    }

    /// A bridge (a segment of the LAN) in the switch namespace.
    pub fn bridge(&mut self, name: &str) {
        run(&[
            "ip",
            "-n",
            &self.switch,
            "link",
            "add",
            name,
            "type",
            "bridge",
        ]);
        run(&["ip", "-n", &self.switch, "link", "set", name, "up"]);
    }

    /// A host plugged into `legs` (bridge, address/prefix), as eth0, eth1, ….
    pub fn host(&mut self, name: &str, legs: &[(&str, &str)]) -> Host {
        let ns = format!("{}{}", self.id, name);
        self.add_ns(&ns);
        let mut addrs = Vec::new();
        for (i, (bridge, cidr)) in legs.iter().enumerate() {
            let outer = format!("{name}{i}");
            let inner = format!("eth{i}");
            run(&[
                "ip",
                "-n",
                &self.switch,
                "link",
                "add",
                &outer,
                "type",
                "veth",
                "peer",
                "name",
                &inner,
                "netns",
                &ns,
            ]);
            run(&[
                "ip",
                "-n",
                &self.switch,
                "link",
                "set",
                &outer,
                "master",
                bridge,
            ]);
            run(&["ip", "-n", &self.switch, "link", "set", &outer, "up"]);
            run(&["ip", "-n", &ns, "addr", "add", cidr, "dev", &inner]);
            run(&["ip", "-n", &ns, "link", "set", &inner, "up"]);
            addrs.push(cidr.split('/').next().unwrap_or_default().to_owned());
        }
        // For the raw UDP sender (mdns-sd sets its own multicast interface).
        run(&[
            "ip",
            "-n",
            &ns,
            "route",
            "add",
            "224.0.0.0/4",
            "dev",
            "eth0",
        ]);
        Host {
            ns,
            name: name.to_owned(),
            addrs,
        }
    }

    /// Starts `lanmeet host --json …` in `host` and waits for its JSON line.
    pub fn start_node(&self, host: &Host, label: &str, args: &[&str]) -> NodeProc {
        let log = self.logs.join(format!("{label}.log"));
        let stderr = std::fs::File::create(&log)
            .unwrap_or_else(|e| panic!("log file {}: {e}", log.display()));
        let mut child = Command::new("ip")
            .args([
                "netns",
                "exec",
                &host.ns,
                env!("CARGO_BIN_EXE_lanmeet"),
                "host",
                "--json",
                "--no-open",
            ])
            .args(["--node-name", label, "--local-port", "0"])
            .args(args)
            .env(
                "RUST_LOG",
                std::env::var("LANMEET_TEST_LOG").unwrap_or_else(|_| "info".into()),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start lanmeet: {e}"));
        let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let mut proc = NodeProc {
            ns: host.ns.clone(),
            label: label.to_owned(),
            child,
            log,
            info: Value::Null,
            local_port: 0,
        };
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| {
                panic!("{label} printed nothing in 30 s; log:\n{}", proc.log_text())
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

    /// Runs a bash script inside `host`'s namespace (bounded by `timeout`).
    pub fn bash(&self, host: &Host, script: &str, args: &[&str]) -> Output {
        Command::new("ip")
            .args([
                "netns", "exec", &host.ns, "timeout", "15", "bash", "-c", script, "bash",
            ])
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("ip netns exec: {e}"))
    }

    /// Sends one UDP datagram to 224.0.0.251:5353 from `host` (a "device" on
    /// the LAN talking mDNS, well or badly).
    pub fn send_mdns(&self, host: &Host, packet: &[u8]) {
        // bash's printf writes at every NUL byte, and each write to a UDP socket
        // is a datagram: dd collects the whole packet into one write.
        let script = r#"exec 3>/dev/udp/224.0.0.251/5353 && printf "$1" | dd bs="$2" count=1 iflag=fullblock status=none >&3"#;
        let out = self.bash(
            host,
            script,
            &[&printf_escape(packet), &packet.len().to_string()],
        );
        assert!(
            out.status.success(),
            "sending mDNS from {}: {}",
            host.name,
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Lan {
    fn drop(&mut self) {
        for ns in self.namespaces.iter().rev() {
            // Anything still running in our namespaces was started by this test.
            for round in 0..20 {
                let pids = Command::new("ip")
                    .args(["netns", "pids", ns])
                    .output()
                    .map(|o| o.stdout)
                    .unwrap_or_default();
                let pids: Vec<String> = String::from_utf8_lossy(&pids)
                    .split_whitespace()
                    .map(str::to_owned)
                    .collect();
                if pids.is_empty() {
                    break;
                }
                let signal = if round < 5 { "-TERM" } else { "-KILL" };
                let _ = Command::new("kill").arg(signal).args(&pids).output();
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.logs);
        } else {
            eprintln!("node logs kept in {}", self.logs.display());
        }
    }
}

/// `\xHH` for every byte: a printf format with no `%` and no NUL in argv.
fn printf_escape(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("\\x{b:02x}")).collect()
}

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
    /// namespace. Returns (status, body).
    pub fn api(&self, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
        let port = self.local_port;
        let body = body.unwrap_or("");
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let out = Command::new("ip")
            .args(["netns", "exec", &self.ns, "timeout", "10", "bash", "-c"])
            .arg(r#"exec 3<>"/dev/tcp/127.0.0.1/$1" && printf '%s' "$2" >&3 && cat <&3"#)
            .args(["bash", &port.to_string(), &request])
            .output()
            .unwrap_or_else(|e| panic!("ip netns exec: {e}"));
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
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
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("{} did not exit in 15 s\n{}", self.label, self.log_text());
            }
            std::thread::sleep(Duration::from_millis(20));
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

/// A client-to-node text frame (clients must mask).
fn masked_text_frame(payload: &[u8]) -> Vec<u8> {
    assert!(payload.len() < 126, "short frames only");
    let mask = [0x37, 0xfa, 0x21, 0x3d];
    let mut frame = vec![0x81, 0x80 | payload.len() as u8];
    frame.extend(mask);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    frame
}

/// Polls `probe` every 50 ms until it returns `Some`, for at most `limit`.
pub fn wait_for<T>(what: &str, limit: Duration, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = probe() {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Builds mDNS response packets (RFC 1035 wire format, names uncompressed).
pub mod dns {
    fn name(out: &mut Vec<u8>, name: &str) {
        for label in name.trim_end_matches('.').split('.') {
            out.push(label.len() as u8);
            out.extend(label.as_bytes());
        }
        out.push(0);
    }

    fn record(out: &mut Vec<u8>, owner: &str, rtype: u16, flush: bool, rdata: &[u8]) {
        name(out, owner);
        out.extend(rtype.to_be_bytes());
        out.extend((if flush { 0x8001u16 } else { 1 }).to_be_bytes());
        out.extend(120u32.to_be_bytes());
        out.extend((rdata.len() as u16).to_be_bytes());
        out.extend(rdata);
    }

    /// An unsolicited announcement of `instance._lanmeet._tcp.local.` with the
    /// given TXT strings, SRV port and IPv4 address.
    pub fn announcement(instance: &str, txt: &[Vec<u8>], port: u16, ip: [u8; 4]) -> Vec<u8> {
        let service = "_lanmeet._tcp.local";
        let full = format!("{instance}.{service}");
        let host = format!("{instance}-host.local");
        let mut out = vec![0, 0, 0x84, 0, 0, 0, 0, 4, 0, 0, 0, 0];
        let mut ptr = Vec::new();
        name(&mut ptr, &full);
        record(&mut out, service, 12, false, &ptr);
        let mut srv = vec![0, 0, 0, 0];
        srv.extend(port.to_be_bytes());
        name(&mut srv, &host);
        record(&mut out, &full, 33, true, &srv);
        let mut rdata = Vec::new();
        for s in txt {
            rdata.push(s.len() as u8);
            rdata.extend(s);
        }
        record(&mut out, &full, 16, true, &rdata);
        record(&mut out, &host, 1, true, &ip);
        out
    }

    /// TXT strings from `key=value` texts.
    pub fn txt(props: &[&str]) -> Vec<Vec<u8>> {
        props.iter().map(|p| p.as_bytes().to_vec()).collect()
    }
}
