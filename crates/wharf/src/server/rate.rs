//! Token buckets for per-user upload and download bandwidth limits.

use std::time::{Duration, Instant};

/// At most `rate` bytes per second on average, in bursts of up to a tenth
/// of a second's worth (at least 16 KiB, so slow limits still move whole
/// packets).
#[derive(Debug, Clone)]
pub struct RateLimit {
    rate: u64,
    burst: u64,
    tokens: u64,
    last: Instant,
}

const MIN_BURST: u64 = 16 * 1024;

impl RateLimit {
    /// A bucket for `rate` bytes per second (at least 1), starting full.
    pub fn new(rate: u64, now: Instant) -> Self {
        let rate = rate.max(1);
        let burst = (rate / 10).max(MIN_BURST);
        RateLimit {
            rate,
            burst,
            tokens: burst,
            last: now,
        }
    }

    /// Bytes that may move now.
    pub fn available(&mut self, now: Instant) -> usize {
        let elapsed = now.saturating_duration_since(self.last);
        // Refill in whole bytes; the remainder of a byte's time is kept by
        // advancing `last` only by the time the added bytes account for.
        let earned = (elapsed.as_nanos() * u128::from(self.rate) / 1_000_000_000) as u64;
        if earned > 0 {
            let spent_nanos = u128::from(earned) * 1_000_000_000 / u128::from(self.rate);
            self.last += Duration::from_nanos(spent_nanos.min(u128::from(u64::MAX)) as u64);
            self.tokens = self.tokens.saturating_add(earned).min(self.burst);
            if self.tokens == self.burst {
                self.last = now;
            }
        }
        usize::try_from(self.tokens).unwrap_or(usize::MAX)
    }

    /// `n` bytes moved (at most what `available` said).
    pub fn consume(&mut self, n: usize) {
        self.tokens = self.tokens.saturating_sub(n as u64);
    }

    /// When at least one packet's worth (or the whole burst, if smaller)
    /// will be available again.
    pub fn ready_at(&self) -> Instant {
        let want = MIN_BURST.min(self.burst);
        let missing = want.saturating_sub(self.tokens);
        let nanos = u128::from(missing) * 1_000_000_000 / u128::from(self.rate);
        self.last + Duration::from_nanos(nanos.min(u128::from(u64::MAX)) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_average_rate_holds_over_time() {
        let t0 = Instant::now();
        let mut r = RateLimit::new(100_000, t0);
        let mut moved = r.available(t0);
        r.consume(moved);
        // Drain in 1 ms steps for 2 s: 2 s of rate plus the first burst.
        for ms in 1..=2000u64 {
            let now = t0 + Duration::from_millis(ms);
            let n = r.available(now);
            r.consume(n);
            moved += n;
        }
        let expected = 200_000 + 16 * 1024;
        assert!(
            (moved as i64 - expected as i64).abs() < 200,
            "moved {moved}, expected about {expected}"
        );
    }

    #[test]
    fn idle_time_earns_at_most_one_burst() {
        let t0 = Instant::now();
        let mut r = RateLimit::new(1_000_000, t0);
        r.consume(r.clone().available(t0));
        let later = t0 + Duration::from_secs(60);
        assert_eq!(r.available(later), 100_000);
    }

    #[test]
    fn ready_at_is_when_a_packet_fits() {
        let t0 = Instant::now();
        let mut r = RateLimit::new(16 * 1024, t0);
        let n = r.available(t0);
        r.consume(n);
        assert_eq!(r.available(t0), 0);
        let at = r.ready_at();
        assert!(at > t0 + Duration::from_millis(990) && at <= t0 + Duration::from_secs(1));
        assert!(r.available(at) >= 16 * 1024 - 1);
    }
}
