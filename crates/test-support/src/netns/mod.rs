//! Small LANs made of network namespaces, for tests that need real multicast
//! (mDNS) or more than one host.
//!
//! A *switch* namespace holds one or more Linux bridges; every *host* namespace
//! gets one veth leg per bridge it is plugged into (`eth0`, `eth1`, … inside,
//! each with its own address). Multicast stays on these bridges: nothing here
//! touches the machine's real interfaces. The same rules as
//! `scripts/lib/netns.sh`:
//!
//! - names carry the process id and a counter, so parallel tests and parallel
//!   runs never share a namespace;
//! - IPv6 is off on every link but loopback: its addresses finish
//!   duplicate-address detection a second or two after the link comes up, a
//!   change some programs treat as "network changed" (Chromium aborts page
//!   loads); `::1` has no such delay and stays. The tests use IPv4 on their links;
//! - every leg has carrier before [`Lan::host`] returns, so a node started next
//!   sees its interface up;
//! - cleanup is by `Drop`, so it also happens when an assertion fails: whatever
//!   still runs inside our namespaces (started by this test) is ended, and every
//!   namespace is deleted.
//!
//! [`in_ns`] runs a closure on a thread inside a namespace, so requests to a
//! node's control API (on 127.0.0.1 there) and mDNS packets need no helper
//! process.

mod mdns;
mod node_proc;

pub use mdns::{MdnsPacket, MdnsRecord, MdnsWatch, RData, announcement, txt};
pub use node_proc::NodeProc;

use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use nix::sched::CloneFlags;

use crate::PATIENCE;

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// The mDNS group and port.
pub const MDNS: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(224, 0, 0, 251), 5353);

/// True when this process may make namespaces; otherwise prints why the test is
/// skipped (libtest has no runtime skip). With `LANMEET_REQUIRE_NETNS` set (CI
/// does) a skip would hide a missing layer, so it panics instead.
pub fn can_run(test: &str) -> bool {
    if !nix_is_root() {
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
    assert!(
        ip_ok,
        "{test}: `ip` (iproute2) is needed for the namespace tests"
    );
    true
}

fn nix_is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// The `lanmeet` binary for tests outside the CLI crate: `$LANMEET_BIN`, or
/// the workspace's `target/debug/lanmeet`.
pub fn lanmeet_bin() -> PathBuf {
    let path = std::env::var_os("LANMEET_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/debug/lanmeet")
        });
    assert!(
        path.exists(),
        "{} not found: run `cargo build -p lanmeet` first, or set LANMEET_BIN",
        path.display()
    );
    path
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

/// Runs `f` on a thread inside namespace `ns` (sockets it opens stay there).
pub fn in_ns<T: Send>(ns: &str, f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                enter(ns);
                f()
            })
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// Moves the calling thread into namespace `ns` (only this thread).
fn enter(ns: &str) {
    let path = format!("/run/netns/{ns}");
    let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    nix::sched::setns(&file, CloneFlags::CLONE_NEWNET)
        .unwrap_or_else(|e| panic!("setns {ns}: {e}"));
}

/// A LAN of namespaces. Everything in it ends when it is dropped.
pub struct Lan {
    id: String,
    switch: String,
    namespaces: Vec<String>,
    bin: PathBuf,
    /// Where the nodes' logs go; kept (and printed) when the test failed.
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

impl Host {
    /// The address on eth0.
    pub fn addr(&self) -> Ipv4Addr {
        self.addrs[0].parse().expect("IPv4 address")
    }
}

impl Lan {
    /// An empty LAN; `tag` (a few letters) names its namespaces; `lanmeet` is
    /// the binary [`Lan::start_node`] runs.
    pub fn new(tag: &str, lanmeet: impl Into<PathBuf>) -> Lan {
        let id = format!(
            "lm{}{}{}",
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
            bin: lanmeet.into(),
            logs,
        };
        let switch = lan.switch.clone();
        lan.add_ns(&switch);
        lan
    }

    /// A namespace with `lo` up and IPv6 off for every link added later.
    fn add_ns(&mut self, ns: &str) {
        run(&["ip", "netns", "add", ns]);
        self.namespaces.push(ns.to_owned());
        in_ns(ns, || {
            let path = "/proc/sys/net/ipv6/conf/default/disable_ipv6";
            // A kernel without IPv6 has no such file: nothing to turn off.
            if std::path::Path::new(path).exists() {
                std::fs::write(path, "1").unwrap_or_else(|e| panic!("{path}: {e}"));
            }
        });
        run(&["ip", "-n", ns, "link", "set", "lo", "up"]);
    }

    /// A bridge (a segment of the LAN) in the switch namespace.
    pub fn bridge(&mut self, name: &str) {
        let sw = self.switch.clone();
        run(&["ip", "-n", &sw, "link", "add", name, "type", "bridge"]);
        run(&["ip", "-n", &sw, "link", "set", name, "up"]);
    }

    /// A host plugged into `legs` (bridge, address/prefix), as eth0, eth1, ….
    /// Returns once every leg has carrier.
    pub fn host(&mut self, name: &str, legs: &[(&str, &str)]) -> Host {
        let ns = format!("{}{}", self.id, name);
        self.add_ns(&ns);
        let sw = self.switch.clone();
        let mut addrs = Vec::new();
        for (i, (bridge, cidr)) in legs.iter().enumerate() {
            let outer = format!("{name}{i}");
            let inner = format!("eth{i}");
            run(&[
                "ip", "-n", &sw, "link", "add", &outer, "type", "veth", "peer", "name", &inner,
                "netns", &ns,
            ]);
            run(&["ip", "-n", &sw, "link", "set", &outer, "master", bridge]);
            run(&["ip", "-n", &sw, "link", "set", &outer, "up"]);
            run(&["ip", "-n", &ns, "addr", "add", cidr, "dev", &inner]);
            run(&["ip", "-n", &ns, "link", "set", &inner, "up"]);
            addrs.push(cidr.split('/').next().unwrap_or_default().to_owned());
        }
        // For packets sent to the mDNS group from a plain socket (mdns-sd picks
        // its interface itself).
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
        for i in 0..legs.len() {
            wait_carrier(&ns, &format!("eth{i}"));
        }
        Host {
            ns,
            name: name.to_owned(),
            addrs,
        }
    }

    /// Stops (or resumes) the switch passing multicast to `host`'s eth0: the
    /// packets are lost on the way, as on a busy Wi-Fi; unicast still flows.
    pub fn block_multicast_to(&self, host: &Host, blocked: bool) {
        let port = format!("{}0", host.name);
        let flood = if blocked { "off" } else { "on" };
        run(&[
            "ip",
            "-n",
            &self.switch,
            "link",
            "set",
            &port,
            "type",
            "bridge_slave",
            "mcast_flood",
            flood,
        ]);
    }

    /// Starts `lanmeet host --json …` in `host` and waits for its JSON line.
    pub fn start_node(&self, host: &Host, label: &str, args: &[&str]) -> NodeProc {
        NodeProc::start(&self.bin, host, &self.logs, label, args)
    }

    /// Starts `program args…` in `host` (stdout piped, stderr inherited). The
    /// LAN ends it when dropped, if it is still running.
    pub fn spawn(&self, host: &Host, program: &std::path::Path, args: &[&str]) -> Child {
        Command::new("ip")
            .args(["netns", "exec", &host.ns])
            .arg(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()))
    }

    /// Runs `lanmeet ARGS…` in `host` to the end (bounded by [`PATIENCE`]).
    pub fn lanmeet(&self, host: &Host, args: &[&str]) -> Output {
        let child = Command::new("ip")
            .args(["netns", "exec", &host.ns, "timeout"])
            .arg(PATIENCE.as_secs().to_string())
            .arg(&self.bin)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("lanmeet {args:?}: {e}"));
        child
            .wait_with_output()
            .unwrap_or_else(|e| panic!("lanmeet {args:?}: {e}"))
    }

    /// Sends one UDP datagram to 224.0.0.251:5353 from `host` (a "device" on
    /// the LAN talking mDNS, well or badly).
    pub fn send_mdns(&self, host: &Host, packet: &[u8]) {
        in_ns(&host.ns, || {
            let socket = UdpSocket::bind("0.0.0.0:0").expect("UDP socket");
            socket
                .send_to(packet, MDNS)
                .unwrap_or_else(|e| panic!("sending mDNS from {}: {e}", host.name));
        });
    }

    /// Starts recording every mDNS packet that reaches `host` (which must run
    /// nothing else on port 5353). Recording has begun when this returns.
    pub fn watch_mdns(&self, host: &Host) -> MdnsWatch {
        MdnsWatch::start(&host.ns, host.addr())
    }

    /// Whether a process in `host` has a UDP socket on port 5353 (mDNS).
    pub fn mdns_socket_open(&self, host: &Host) -> bool {
        in_ns(&host.ns, || {
            ["udp", "udp6"].iter().any(|table| {
                std::fs::read_to_string(format!("/proc/thread-self/net/{table}"))
                    .unwrap_or_default()
                    .lines()
                    .any(|l| {
                        l.split_whitespace()
                            .nth(1)
                            .is_some_and(|a| a.ends_with(":14E9"))
                    })
            })
        })
    }
}

/// Waits (bounded) until `dev` in `ns` is up with carrier.
fn wait_carrier(ns: &str, dev: &str) {
    crate::wait_for(&format!("carrier on {dev} in {ns}"), PATIENCE, || {
        let out = run(&["ip", "-n", ns, "-o", "link", "show", "dev", dev]);
        let line = String::from_utf8_lossy(&out.stdout).into_owned();
        (line.contains("LOWER_UP") && line.contains("state UP")).then_some(())
    });
}

impl Drop for Lan {
    fn drop(&mut self) {
        for ns in self.namespaces.iter().rev() {
            end_everything_in(ns);
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.logs);
        } else {
            eprintln!("node logs kept in {}", self.logs.display());
        }
    }
}

/// Ends every process still in `ns` (all started by this test): TERM, then
/// KILL for those that linger. Bounded.
fn end_everything_in(ns: &str) {
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
            return;
        }
        let signal = if round < 5 { "-TERM" } else { "-KILL" };
        let _ = Command::new("kill").arg(signal).args(&pids).output();
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Waits (bounded by [`PATIENCE`]) for `child` to exit; `None` if it did not.
pub fn wait_exit(child: &mut Child) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
