//! The three scenarios, run against one target at a time.
//!
//! - *storm*: rooms × 4 sockets join at once; then each socket sends every room-mate
//!   one 3 KB offer and eight 250 B candidates, in one burst.
//! - *steady*: the same sockets send 250 B signals to room-mates at stepped aggregate
//!   rates, spread evenly over all sockets (so each socket sends rate / sockets per
//!   second: lanmeet's rate limit is per socket, 200/s sustained).
//! - *memory*: a fresh server's RSS growth per idle joined socket at two counts.
//!
//! Storm and steady share one server process and one set of sockets; memory gets a
//! fresh server so that nothing earlier inflates its figures.

use std::rc::Rc;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use tokio::task::JoinHandle;

use crate::client::{self, LoadRun, Sock, State};
use crate::report::{Lat, MemPoint, Memory, ServerResult, Steady, Step, Storm};
use crate::server::{Launcher, Server};
use crate::sys;
use crate::wire::Kind;

/// Sockets per room, as in a four-person call.
pub(crate) const ROOM_SIZE: usize = 4;
/// A steady step holds if p99 stays under this.
const P99_LIMIT_MS: f64 = 50.0;

/// Sizes and durations of one run.
pub(crate) struct Plan {
    pub(crate) storm_rooms: usize,
    pub(crate) steady_rates: Vec<u32>,
    pub(crate) step: Duration,
    pub(crate) memory_points: Vec<usize>,
    pub(crate) storm: bool,
    pub(crate) steady: bool,
    pub(crate) memory: bool,
}

impl Plan {
    pub(crate) fn full() -> Plan {
        Plan {
            storm_rooms: 250,
            steady_rates: vec![
                10_000, 20_000, 40_000, 60_000, 80_000, 100_000, 120_000, 140_000, 160_000,
            ],
            step: Duration::from_secs(3),
            memory_points: vec![1000, 4000],
            storm: true,
            steady: true,
            memory: true,
        }
    }

    pub(crate) fn quick() -> Plan {
        Plan {
            storm_rooms: 100,
            steady_rates: vec![5_000, 10_000, 20_000, 40_000],
            step: Duration::from_millis(1500),
            memory_points: vec![400, 1600],
            ..Plan::full()
        }
    }

    /// The most rooms any scenario asks lanmeet for.
    pub(crate) fn max_rooms(&self) -> usize {
        let mem = self
            .memory_points
            .iter()
            .copied()
            .max()
            .unwrap_or(0)
            .div_ceil(ROOM_SIZE);
        self.storm_rooms.max(mem)
    }
}

/// A set of sockets against one server, in rooms of [`ROOM_SIZE`].
struct Fleet {
    shared: Rc<LoadRun>,
    socks: Vec<Rc<Sock>>,
    tasks: Vec<JoinHandle<()>>,
}

impl Fleet {
    fn new(shared: Rc<LoadRun>) -> Fleet {
        Fleet {
            shared,
            socks: Vec::new(),
            tasks: Vec::new(),
        }
    }

    /// Starts sockets until there are `n`; socket `i` is in room `i / ROOM_SIZE`,
    /// whose lanmeet code is `codes[i / ROOM_SIZE]`.
    fn grow(&mut self, n: usize, codes: &[Rc<str>]) {
        for idx in self.socks.len()..n {
            let room = idx / ROOM_SIZE;
            let first = room * ROOM_SIZE;
            let mates = (first..(first + ROOM_SIZE).min(n))
                .filter(|&m| m != idx)
                .collect();
            let sock = Sock::new(idx, codes.get(room).cloned(), mates);
            client::reserve(&self.shared, idx);
            self.tasks.push(tokio::task::spawn_local(client::run(
                Rc::clone(&self.shared),
                Rc::clone(&sock),
            )));
            self.socks.push(sock);
        }
    }

    /// Waits until no socket is still joining (bounded); returns how many are ready.
    async fn settle_joins(&self, limit: Duration) -> usize {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline
            && self.socks.iter().any(|s| s.state.get() == State::Joining)
        {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        self.count(State::Ready)
    }

    fn count(&self, state: State) -> usize {
        self.socks.iter().filter(|s| s.state.get() == state).count()
    }

    fn alive(&self) -> Vec<Rc<Sock>> {
        self.socks
            .iter()
            .filter(|s| s.state.get() == State::Ready)
            .cloned()
            .collect()
    }

    /// Asks every socket to close, waits a little, then aborts the stragglers.
    async fn close(self) {
        for s in &self.socks {
            s.order_close();
        }
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline && self.tasks.iter().any(|t| !t.is_finished()) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        for t in &self.tasks {
            t.abort();
        }
    }
}

async fn create_rooms(server: &Server<'_>, n: usize) -> Result<Vec<Rc<str>>> {
    if server.kind != Kind::Lanmeet {
        return Ok(Vec::new());
    }
    let mut codes = Vec::with_capacity(n);
    for i in 0..n {
        let code = server
            .create_room(&format!("bench {i}"), ROOM_SIZE as u8)
            .await?;
        codes.push(Rc::from(code));
    }
    Ok(codes)
}

/// Waits until every signal sent in `phase` has arrived, up to `limit`.
async fn drain(shared: &LoadRun, phase: u8, expected_sent: Option<u64>, limit: Duration) {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        let (sent, arrived) = shared.progress(phase);
        if expected_sent.is_none_or(|e| sent >= e) && arrived >= sent {
            return;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// Storm and steady against one server process. Fills `result` as it goes, so an
/// error half-way keeps what was measured.
pub(crate) async fn storm_and_steady(
    launcher: &Launcher,
    kind: Kind,
    plan: &Plan,
    base: Instant,
    result: &mut ServerResult,
) -> Result<()> {
    let server = launcher.start(kind, "signal")?;
    let shared = LoadRun::new(kind, server.ws_port, base);
    let mut fleet = Fleet::new(Rc::clone(&shared));
    let outcome = async {
        let codes = create_rooms(&server, plan.storm_rooms).await?;
        let storm = storm(&server, &mut fleet, plan, &codes).await?;
        let joined = storm.joined;
        result.storm = Some(storm);
        if joined == 0 {
            bail!("no socket joined");
        }
        if plan.steady {
            result.steady = Some(steady(&server, &fleet, plan).await?);
        }
        Ok(())
    }
    .await;
    fleet.close().await;
    server.stop();
    result
        .server_frames
        .extend(std::mem::take(&mut *shared.events.borrow_mut()));
    merge(&mut result.problems, &shared);
    outcome
}

fn merge(into: &mut std::collections::BTreeMap<String, u64>, shared: &LoadRun) {
    for (k, v) in std::mem::take(&mut *shared.problems.borrow_mut()) {
        *into.entry(k).or_default() += v;
    }
}

async fn storm(
    server: &Server<'_>,
    fleet: &mut Fleet,
    plan: &Plan,
    codes: &[Rc<str>],
) -> Result<Storm> {
    let shared = Rc::clone(&fleet.shared);
    let sockets = plan.storm_rooms * ROOM_SIZE;
    let overflows = sys::listen_overflows();
    let (cpu0, srv0, t0) = (sys::self_cpu(), server.cpu(), Instant::now());
    fleet.grow(sockets, codes);
    let joined = fleet.settle_joins(Duration::from_secs(30)).await;
    let join_wall = t0.elapsed();
    let (cpu1, srv1) = (sys::self_cpu(), server.cpu());
    let join = Lat::of(&mut shared.join_us.borrow_mut());

    // Let the join traffic (peer-joined and the like) finish before the burst.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let phase = shared.new_phase("storm".into())?;
    shared.current_phase.set(Some(phase));
    let alive = fleet.alive();
    let expected: u64 = alive
        .iter()
        .map(|s| {
            9 * s
                .mates
                .iter()
                .filter(|&&m| client::joined(&shared, m))
                .count() as u64
        })
        .sum();
    let lost_before = fleet.count(State::Lost);
    let (cpu2, srv2, t2, go_us) = (
        sys::self_cpu(),
        server.cpu(),
        Instant::now(),
        shared.now_us(),
    );
    for s in &alive {
        s.order_storm(phase);
    }
    drain(&shared, phase, Some(expected), Duration::from_secs(15)).await;
    let wall = t2.elapsed();
    let (cpu3, srv3) = (sys::self_cpu(), server.cpu());

    let mut phases = shared.phases.borrow_mut();
    let p = &mut phases[usize::from(phase)];
    let delivery = Lat::of(&mut p.lat_us);
    let signal_total_ms = p.last_rx_us.saturating_sub(go_us) as f64 / 1000.0;
    Ok(Storm {
        rooms: plan.storm_rooms,
        sockets,
        joined,
        join_failed: sockets - joined,
        join,
        join_wall_ms: ms(join_wall),
        listen_overflows: sys::listen_overflows().saturating_sub(overflows),
        join_load_cpu_pct: sys::pct(cpu1 - cpu0, join_wall),
        join_server_cpu_pct: sys::pct(srv1.saturating_sub(srv0), join_wall),
        expected,
        sent: p.sent,
        received: p.received,
        lost: expected.saturating_sub(p.received + p.misrouted),
        misrouted: p.misrouted,
        reordered: p.reordered,
        rate_limited: p.rate_limited,
        delivery,
        signal_total_ms,
        total_ms: ms(join_wall) + signal_total_ms,
        signal_load_cpu_pct: sys::pct(cpu3 - cpu2, wall),
        signal_server_cpu_pct: sys::pct(srv3.saturating_sub(srv2), wall),
        sockets_lost: fleet.count(State::Lost) - lost_before,
    })
}

async fn steady(server: &Server<'_>, fleet: &Fleet, plan: &Plan) -> Result<Steady> {
    let shared = Rc::clone(&fleet.shared);
    let mut out = Steady {
        sockets: fleet.alive().len(),
        ..Steady::default()
    };
    let mut failures_in_a_row = 0;
    for &rate in &plan.steady_rates {
        let alive = fleet.alive();
        if alive.is_empty() {
            bail!("every socket is gone");
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        let phase = shared.new_phase(format!("steady {rate}/s"))?;
        shared.current_phase.set(Some(phase));
        let lost_before = fleet.count(State::Lost);
        let (cpu0, srv0, t0) = (sys::self_cpu(), server.cpu(), Instant::now());
        let mut ticker = tokio::time::interval(Duration::from_millis(1));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut issued: u64 = 0;
        let mut cursor = 0usize;
        loop {
            ticker.tick().await;
            let elapsed = t0.elapsed();
            if elapsed >= plan.step {
                break;
            }
            let due = u64::try_from(u128::from(rate) * elapsed.as_micros() / 1_000_000)
                .unwrap_or(u64::MAX);
            for _ in issued..due {
                alive[cursor].order_steady(phase, 1);
                cursor = (cursor + 1) % alive.len();
            }
            issued = issued.max(due);
        }
        for s in &alive {
            s.cancel_steady();
        }
        // Let sockets already woken send what they took before the window closed.
        tokio::task::yield_now().await;
        let window = t0.elapsed();
        let (cpu1, srv1) = (sys::self_cpu(), server.cpu());
        drain(&shared, phase, None, Duration::from_secs(2)).await;

        let mut phases = shared.phases.borrow_mut();
        let p = &mut phases[usize::from(phase)];
        let latency = Lat::of(&mut p.lat_us);
        let achieved = p.sent as f64 / window.as_secs_f64();
        let lost = p.sent.saturating_sub(p.received + p.misrouted);
        let sockets_lost = fleet.count(State::Lost) - lost_before;
        let load = sys::pct(cpu1 - cpu0, window);
        let held = achieved >= 0.95 * f64::from(rate)
            && latency.p99_ms < P99_LIMIT_MS
            && lost == 0
            && p.misrouted == 0
            && sockets_lost == 0;
        out.steps.push(Step {
            target_rate: rate,
            achieved_rate: achieved,
            per_socket_rate: achieved / alive.len() as f64,
            seconds: window.as_secs_f64(),
            sent: p.sent,
            received: p.received,
            lost,
            misrouted: p.misrouted,
            reordered: p.reordered,
            rate_limited: p.rate_limited,
            latency,
            load_cpu_pct: load,
            server_cpu_pct: sys::pct(srv1.saturating_sub(srv0), window),
            sockets_lost,
            held,
        });
        drop(phases);
        if held {
            out.max_rate_held = Some(rate);
            failures_in_a_row = 0;
        } else {
            out.load_bound |= load >= 95.0;
            failures_in_a_row += 1;
            if failures_in_a_row >= 2 {
                break;
            }
        }
    }
    shared.current_phase.set(None);
    Ok(out)
}

/// RSS per idle joined socket, on a fresh server.
pub(crate) async fn memory(
    launcher: &Launcher,
    kind: Kind,
    plan: &Plan,
    base: Instant,
    result: &mut ServerResult,
) -> Result<()> {
    let server = launcher.start(kind, "memory")?;
    let shared = LoadRun::new(kind, server.ws_port, base);
    let mut fleet = Fleet::new(Rc::clone(&shared));
    let outcome = async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let base_rss = server.rss_kib()?;
        let most = plan.memory_points.iter().copied().max().unwrap_or(0);
        let rooms = if kind == Kind::Lanmeet {
            most.div_ceil(ROOM_SIZE)
        } else {
            0
        };
        let codes = create_rooms(&server, rooms).await?;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let rooms_rss = server.rss_kib()?;
        let mut mem = Memory {
            base_rss_kib: base_rss,
            rooms_rss_kib: rooms_rss,
            rooms,
            points: Vec::new(),
        };
        for &n in &plan.memory_points {
            fleet.grow(n, &codes);
            let joined = fleet.settle_joins(Duration::from_secs(30)).await;
            tokio::time::sleep(Duration::from_millis(1500)).await;
            let rss = server.rss_kib()?;
            mem.points.push(MemPoint {
                sockets: n,
                joined,
                rss_kib: rss,
                kib_per_socket: rss.saturating_sub(rooms_rss) as f64 / joined.max(1) as f64,
            });
        }
        result.memory = Some(mem);
        Ok(())
    }
    .await;
    fleet.close().await;
    server.stop();
    merge(&mut result.problems, &shared);
    outcome
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
