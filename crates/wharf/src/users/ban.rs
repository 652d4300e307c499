//! Banning addresses that fail to authenticate too often, as fail2ban or
//! ProFTPD's mod_ban do: `max_failures` failures within `window` ban the
//! address for `duration`. A banned address is dropped at accept, before
//! the SSH identification line, and its further attempts on connections
//! already open are refused.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BanConfig {
    /// Failures that trigger a ban; 0: banning is off.
    pub max_failures: u32,
    pub window: Duration,
    pub duration: Duration,
}

impl BanConfig {
    pub const OFF: BanConfig = BanConfig {
        max_failures: 0,
        window: Duration::from_secs(600),
        duration: Duration::from_secs(3600),
    };
}

/// Addresses tracked at most: an attacker spraying from many addresses
/// cannot grow the table without bound; past it, entries without a ban
/// are forgotten first.
const MAX_TRACKED: usize = 65_536;

#[derive(Default)]
struct Entry {
    failures: VecDeque<Instant>,
    banned_until: Option<Instant>,
}

pub struct BanList {
    config: BanConfig,
    entries: Mutex<HashMap<IpAddr, Entry>>,
}

impl BanList {
    pub fn new(config: BanConfig) -> BanList {
        BanList {
            config,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn enabled(&self) -> bool {
        self.config.max_failures > 0
    }

    /// Whether `ip` is banned at `now`.
    pub fn is_banned(&self, ip: IpAddr, now: Instant) -> bool {
        if !self.enabled() {
            return false;
        }
        let Ok(mut entries) = self.entries.lock() else {
            return false;
        };
        match entries.get_mut(&ip) {
            Some(e) => match e.banned_until {
                Some(until) if now < until => true,
                Some(_) => {
                    // Expired: start counting afresh.
                    entries.remove(&ip);
                    false
                }
                None => false,
            },
            None => false,
        }
    }

    /// Counts one failure; true when it starts a ban.
    pub fn failure(&self, ip: IpAddr, now: Instant) -> bool {
        if !self.enabled() {
            return false;
        }
        let Ok(mut entries) = self.entries.lock() else {
            return false;
        };
        if entries.len() >= MAX_TRACKED && !entries.contains_key(&ip) {
            entries.retain(|_, e| e.banned_until.is_some_and(|u| now < u));
            if entries.len() >= MAX_TRACKED {
                return false;
            }
        }
        let e = entries.entry(ip).or_default();
        if e.banned_until.is_some_and(|u| now < u) {
            return false;
        }
        e.banned_until = None;
        while e
            .failures
            .front()
            .is_some_and(|&t| now.saturating_duration_since(t) >= self.config.window)
        {
            e.failures.pop_front();
        }
        e.failures.push_back(now);
        if e.failures.len() >= self.config.max_failures as usize {
            e.failures.clear();
            e.banned_until = Some(now + self.config.duration);
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1));
    const B: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 2));

    fn list() -> BanList {
        BanList::new(BanConfig {
            max_failures: 3,
            window: Duration::from_secs(60),
            duration: Duration::from_secs(300),
        })
    }

    #[test]
    fn failures_within_the_window_ban_until_the_duration_ends() {
        let bans = list();
        let t0 = Instant::now();
        assert!(!bans.failure(A, t0));
        assert!(!bans.failure(A, t0 + Duration::from_secs(1)));
        assert!(!bans.is_banned(A, t0 + Duration::from_secs(1)));
        assert!(bans.failure(A, t0 + Duration::from_secs(2)));
        assert!(bans.is_banned(A, t0 + Duration::from_secs(3)));
        assert!(!bans.is_banned(B, t0 + Duration::from_secs(3)));
        assert!(bans.is_banned(A, t0 + Duration::from_secs(301)));
        assert!(!bans.is_banned(A, t0 + Duration::from_secs(302)));
        // After expiry the count starts again.
        assert!(!bans.failure(A, t0 + Duration::from_secs(303)));
    }

    #[test]
    fn failures_outside_the_window_do_not_add_up() {
        let bans = list();
        let t0 = Instant::now();
        for i in 0..10 {
            assert!(!bans.failure(A, t0 + Duration::from_secs(40 * i)));
        }
        assert!(!bans.is_banned(A, t0 + Duration::from_secs(400)));
    }

    #[test]
    fn off_means_off() {
        let bans = BanList::new(BanConfig::OFF);
        let t0 = Instant::now();
        for _ in 0..100 {
            assert!(!bans.failure(A, t0));
        }
        assert!(!bans.is_banned(A, t0));
    }
}
