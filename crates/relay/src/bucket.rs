//! A token bucket: what bounds bytes and requests without a timer.

use std::time::Instant;

/// `rate` tokens per second up to `burst`; [`Bucket::take`] spends them.
#[derive(Debug)]
pub(crate) struct Bucket {
    tokens: f64,
    burst: f64,
    rate: f64,
    at: Instant,
}

impl Bucket {
    pub(crate) fn new(rate: u32, burst: u32) -> Bucket {
        Bucket {
            tokens: f64::from(burst),
            burst: f64::from(burst),
            rate: f64::from(rate),
            at: Instant::now(),
        }
    }

    /// Spends `n` tokens if there are that many (after refilling for the time
    /// since the last call); false and nothing spent otherwise.
    pub(crate) fn take(&mut self, n: u32) -> bool {
        let now = Instant::now();
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.at = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        if self.tokens >= f64::from(n) {
            self.tokens -= f64::from(n);
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spends_the_burst_then_refuses() {
        let mut b = Bucket::new(1, 3);
        assert!(b.take(2));
        assert!(b.take(1));
        assert!(!b.take(1), "the burst is spent; a second has not passed");
        assert!(
            !Bucket::new(1, 3).take(4),
            "more than the burst never passes"
        );
    }
}
