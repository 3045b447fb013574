//! Token buckets: per socket (every data frame) and per source address (room
//! probes on the LAN listener).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A token bucket with a fractional fill, driven by the caller's clock.
#[derive(Debug, Clone)]
pub(crate) struct TokenBucket {
    tokens: f64,
    burst: f64,
    per_sec: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket of `burst` tokens refilled at `per_sec` a second.
    pub(crate) fn new(burst: u32, per_sec: u32, now: Instant) -> Self {
        TokenBucket {
            tokens: f64::from(burst),
            burst: f64::from(burst),
            per_sec: f64::from(per_sec),
            last: now,
        }
    }

    /// Takes one token if there is one.
    pub(crate) fn take(&mut self, now: Instant) -> bool {
        self.take_n(1, now)
    }

    /// Takes `n` tokens if there are that many (a byte budget takes a frame's
    /// length at once); takes nothing otherwise.
    pub(crate) fn take_n(&mut self, n: u32, now: Instant) -> bool {
        self.refill(now);
        let n = f64::from(n);
        if self.tokens >= n {
            self.tokens -= n;
            true
        } else {
            false
        }
    }

    /// How long until one token is back (zero if there is one); `None` if the
    /// bucket never refills.
    pub(crate) fn until_token(&mut self, now: Instant) -> Option<Duration> {
        self.refill(now);
        if self.tokens >= 1.0 {
            return Some(Duration::ZERO);
        }
        (self.per_sec > 0.0).then(|| Duration::from_secs_f64((1.0 - self.tokens) / self.per_sec))
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.per_sec).min(self.burst);
        self.last = now;
    }

    /// Whether a token is there, without taking it.
    pub(crate) fn has_token(&mut self, now: Instant) -> bool {
        self.refill(now);
        self.tokens >= 1.0
    }

    /// Whether the bucket would be full by `now` (its entry can be forgotten).
    fn full_at(&mut self, now: Instant) -> bool {
        self.refill(now);
        self.tokens >= self.burst
    }
}

/// One bucket per source address, bounded in size: a flood from many addresses
/// cannot grow it without limit.
pub(crate) struct AddressLimiter {
    buckets: Mutex<HashMap<IpAddr, TokenBucket>>,
    burst: u32,
    per_sec: u32,
    max_entries: usize,
}

impl AddressLimiter {
    pub(crate) fn new(burst: u32, per_sec: u32, max_entries: usize) -> Self {
        AddressLimiter {
            buckets: Mutex::new(HashMap::new()),
            burst,
            per_sec,
            max_entries,
        }
    }

    /// Whether `addr` has a token left, without taking one (an address never
    /// seen has a full bucket).
    pub(crate) fn has_token(&self, addr: IpAddr, now: Instant) -> bool {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        buckets.get_mut(&addr).is_none_or(|b| b.has_token(now))
    }

    /// Takes a token for `addr`; `false` means answer 429.
    pub(crate) fn allow(&self, addr: IpAddr, now: Instant) -> bool {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if !buckets.contains_key(&addr) && buckets.len() >= self.max_entries {
            buckets.retain(|_, b| !b.full_at(now));
            if buckets.len() >= self.max_entries {
                return false;
            }
        }
        buckets
            .entry(addr)
            .or_insert_with(|| TokenBucket::new(self.burst, self.per_sec, now))
            .take(now)
    }
}

/// Spaces out answers that would otherwise repeat for every dropped frame.
#[derive(Debug, Clone)]
pub(crate) struct Coalesce {
    every: Duration,
    last: Option<Instant>,
}

impl Coalesce {
    pub(crate) fn new(every: Duration) -> Self {
        Coalesce { every, last: None }
    }

    /// True at most once per interval.
    pub(crate) fn ready(&mut self, now: Instant) -> bool {
        match self.last {
            Some(t) if now.saturating_duration_since(t) < self.every => false,
            _ => {
                self.last = Some(now);
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_allows_burst_then_refills() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(400, 200, t0);
        assert_eq!((0..500).filter(|_| b.take(t0)).count(), 400);
        assert!(!b.take(t0));
        assert!(
            b.take(t0 + Duration::from_millis(5)),
            "one token after 5 ms at 200/s"
        );
        assert!(!b.take(t0 + Duration::from_millis(5)));
        assert_eq!(
            (0..1000)
                .filter(|_| b.take(t0 + Duration::from_secs(10)))
                .count(),
            400,
            "never above burst"
        );
    }

    #[test]
    fn a_byte_budget_takes_whole_frames_or_nothing() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(1000, 100, t0);
        assert!(b.take_n(600, t0));
        assert!(!b.take_n(600, t0), "400 left: nothing taken");
        assert!(b.take_n(400, t0));
        assert_eq!(b.until_token(t0).map(|d| d.as_millis()), Some(10));
        assert!(b.take_n(100, t0 + Duration::from_secs(1)));
        let mut never = TokenBucket::new(1, 0, t0);
        assert!(never.take(t0));
        assert_eq!(never.until_token(t0 + Duration::from_secs(60)), None);
    }

    #[test]
    fn address_limiter_is_per_address_and_bounded() {
        let t0 = Instant::now();
        let limiter = AddressLimiter::new(20, 10, 2);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let c: IpAddr = "10.0.0.3".parse().unwrap();
        assert_eq!((0..30).filter(|_| limiter.allow(a, t0)).count(), 20);
        assert!(limiter.allow(b, t0), "another address has its own bucket");
        assert!(
            !limiter.allow(c, t0),
            "table full of busy buckets: refuse rather than grow"
        );
        let later = t0 + Duration::from_secs(5);
        assert!(
            limiter.allow(c, later),
            "full buckets are forgotten to make room"
        );
    }

    #[test]
    fn peeking_takes_nothing() {
        let t0 = Instant::now();
        let limiter = AddressLimiter::new(2, 1, 16);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        assert!(limiter.has_token(a, t0), "unknown address: full bucket");
        assert!(limiter.allow(a, t0) && limiter.allow(a, t0));
        assert!(!limiter.has_token(a, t0));
        assert!(!limiter.has_token(a, t0 + Duration::from_millis(500)));
        assert!(limiter.has_token(a, t0 + Duration::from_secs(1)));
    }

    #[test]
    fn coalesce_once_per_interval() {
        let t0 = Instant::now();
        let mut c = Coalesce::new(Duration::from_secs(1));
        assert!(c.ready(t0));
        assert!(!c.ready(t0 + Duration::from_millis(999)));
        assert!(c.ready(t0 + Duration::from_secs(1)));
    }
}
