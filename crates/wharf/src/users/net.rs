//! Network address rules: CIDR blocks (RFC 4632 §3.1 notation, and RFC 4291
//! §2.3 for IPv6) and OpenSSH's address pattern lists as `from=` takes
//! them (ssh_config(5) PATTERNS, sshd's match_host_and_ip()).

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// An address block such as `10.0.0.0/8` or `2001:db8::/32`; a bare
/// address is a block of one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NetError {
    #[error("bad address block `{0}`: expected ADDRESS or ADDRESS/PREFIX, such as 10.0.0.0/8")]
    Syntax(String),
    #[error("bad address block `{text}`: prefix {prefix} is longer than {max} bits")]
    Prefix { text: String, prefix: u32, max: u32 },
    #[error("bad address block `{0}`: bits are set past the prefix length")]
    HostBits(String),
}

impl Cidr {
    pub fn contains(&self, ip: IpAddr) -> bool {
        // An IPv4 client on a dual-stack socket shows as ::ffff:a.b.c.d.
        let ip = match ip {
            IpAddr::V6(v6) => v6
                .to_ipv4_mapped()
                .map(IpAddr::V4)
                .unwrap_or(IpAddr::V6(v6)),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = mask32(self.prefix);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = mask128(self.prefix);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

fn mask32(prefix: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0)
}

fn mask128(prefix: u8) -> u128 {
    u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0)
}

impl FromStr for Cidr {
    type Err = NetError;

    fn from_str(text: &str) -> Result<Cidr, NetError> {
        let syntax = || NetError::Syntax(text.chars().take(80).collect());
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| syntax())?;
        let max: u32 = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) if !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()) => {
                p.parse::<u32>().map_err(|_| syntax())?
            }
            Some(_) => return Err(syntax()),
        };
        if prefix > max {
            return Err(NetError::Prefix {
                text: text.into(),
                prefix,
                max,
            });
        }
        let prefix = u8::try_from(prefix).map_err(|_| syntax())?;
        // As sshd's addr_pton_cidr does: 10.1.2.3/8 is a typo, not 10/8.
        let clean = match addr {
            IpAddr::V4(a) => u32::from(a) & !mask32(prefix) == 0,
            IpAddr::V6(a) => u128::from(a) & !mask128(prefix) == 0,
        };
        if !clean {
            return Err(NetError::HostBits(text.into()));
        }
        Ok(Cidr { addr, prefix })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl TryFrom<String> for Cidr {
    type Error = NetError;
    fn try_from(s: String) -> Result<Cidr, NetError> {
        s.parse()
    }
}

impl From<Cidr> for String {
    fn from(c: Cidr) -> String {
        c.to_string()
    }
}

impl serde::Serialize for Cidr {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Cidr {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Cidr, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// One entry of a `from=` list: a CIDR block or a wildcard pattern, either
/// possibly negated with `!`.
#[derive(Clone, Debug, PartialEq, Eq)]
enum HostPattern {
    Block(Cidr),
    Wildcard(String),
}

/// An OpenSSH pattern list as `from="..."` takes it. A negated entry that
/// matches refuses outright; otherwise any positive match allows.
///
/// Wharf does not resolve the client's address to a name (sshd's default
/// `UseDNS no` does not either), so name patterns are matched against the
/// address text, as sshd then does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostPatternList {
    entries: Vec<(bool, HostPattern)>,
}

/// More entries than any real `from=` holds; bounds the work per login.
const MAX_PATTERNS: usize = 256;

impl HostPatternList {
    pub fn parse(text: &str) -> Result<HostPatternList, String> {
        let mut entries = Vec::new();
        for raw in text.split(',') {
            let raw = raw.trim();
            let (negated, pattern) = match raw.strip_prefix('!') {
                Some(rest) => (true, rest),
                None => (false, raw),
            };
            if pattern.is_empty() {
                return Err(format!("empty pattern in `{text}`"));
            }
            if entries.len() == MAX_PATTERNS {
                return Err(format!("more than {MAX_PATTERNS} patterns"));
            }
            let entry = if pattern.contains('/') {
                HostPattern::Block(pattern.parse::<Cidr>().map_err(|e| e.to_string())?)
            } else {
                if pattern.chars().any(|c| c.is_whitespace() || c.is_control()) {
                    return Err(format!("bad pattern `{pattern}`"));
                }
                HostPattern::Wildcard(pattern.to_ascii_lowercase())
            };
            entries.push((negated, entry));
        }
        Ok(HostPatternList { entries })
    }

    pub fn allows(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6
                .to_ipv4_mapped()
                .map(IpAddr::V4)
                .unwrap_or(IpAddr::V6(v6)),
            v4 => v4,
        };
        let text = ip.to_string();
        let mut allowed = false;
        for (negated, pattern) in &self.entries {
            let hit = match pattern {
                HostPattern::Block(c) => c.contains(ip),
                HostPattern::Wildcard(p) => wildcard_match(p.as_bytes(), text.as_bytes()),
            };
            if hit && *negated {
                return false;
            }
            allowed |= hit;
        }
        allowed
    }
}

/// `*` matches any run of characters, `?` exactly one (ssh_config(5)
/// PATTERNS). Iterative with one backtrack point, so linear-ish time
/// whatever the pattern.
pub fn wildcard_match(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == b'?' || Some(&c) == text.get(t) => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern
        .get(p..)
        .is_some_and(|rest| rest.iter().all(|&c| c == b'*'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    // RFC 4632 §3.1 writes 10.0.0.0/8 for the 2^24 addresses 10.0.0.0
    // to 10.255.255.255, and §3.1's example 192.168.0.0/16.
    #[test]
    fn ipv4_blocks() {
        let c: Cidr = "10.0.0.0/8".parse().unwrap();
        assert!(c.contains(ip("10.0.0.0")));
        assert!(c.contains(ip("10.255.255.255")));
        assert!(!c.contains(ip("11.0.0.0")));
        assert!(!c.contains(ip("9.255.255.255")));
        let c: Cidr = "192.168.0.0/16".parse().unwrap();
        assert!(c.contains(ip("192.168.37.1")));
        assert!(!c.contains(ip("192.169.0.1")));
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("203.0.113.9")));
        assert!(!all.contains(ip("::1")));
        let one: Cidr = "127.0.0.1".parse().unwrap();
        assert!(one.contains(ip("127.0.0.1")));
        assert!(!one.contains(ip("127.0.0.2")));
        assert_eq!(one.to_string(), "127.0.0.1/32");
        // A v4-mapped v6 peer is its v4 address (RFC 4291 §2.5.5.2).
        assert!(c.contains(ip("::ffff:192.168.1.1")));
    }

    // RFC 3849 reserves 2001:db8::/32 for documentation.
    #[test]
    fn ipv6_blocks() {
        let c: Cidr = "2001:db8::/32".parse().unwrap();
        assert!(c.contains(ip("2001:db8:ffff::1")));
        assert!(!c.contains(ip("2001:db9::1")));
        assert!(!c.contains(ip("10.0.0.1")));
        let all: Cidr = "::/0".parse().unwrap();
        assert!(all.contains(ip("::1")));
    }

    #[test]
    fn bad_blocks_are_refused_with_the_reason() {
        for (text, why) in [
            ("10.0.0.0/33", "longer than 32"),
            ("::/129", "longer than 128"),
            ("10.1.2.3/8", "past the prefix"),
            ("10.0.0/8", "expected ADDRESS"),
            ("10.0.0.0/", "expected ADDRESS"),
            ("10.0.0.0/+8", "expected ADDRESS"),
            ("10.0.0.0/0008", "expected ADDRESS"),
            ("", "expected ADDRESS"),
            ("example.com/8", "expected ADDRESS"),
        ] {
            let err = text.parse::<Cidr>().unwrap_err().to_string();
            assert!(err.contains(why), "{text}: {err}");
        }
    }

    #[test]
    fn serde_round_trip() {
        let list: Vec<Cidr> = vec!["10.0.0.0/8".parse().unwrap(), "::1".parse().unwrap()];
        let json = serde_json::to_string(&list).unwrap();
        assert_eq!(json, r#"["10.0.0.0/8","::1/128"]"#);
        let back: Vec<Cidr> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, list);
        assert!(serde_json::from_str::<Vec<Cidr>>(r#"["10.1.0.0/8"]"#).is_err());
    }

    // The examples of sshd(8) AUTHORIZED_KEYS FILE FORMAT and ssh_config(5)
    // PATTERNS: `from="*.sales.example.net,!pc.sales.example.net"` and
    // `192.168.2.*`.
    #[test]
    fn from_pattern_lists() {
        let l = HostPatternList::parse("192.168.2.*,!192.168.2.13").unwrap();
        assert!(l.allows(ip("192.168.2.1")));
        assert!(!l.allows(ip("192.168.2.13")));
        assert!(!l.allows(ip("192.168.3.1")));
        let l = HostPatternList::parse("10.0.0.0/8,127.0.0.1").unwrap();
        assert!(l.allows(ip("10.9.8.7")));
        assert!(l.allows(ip("127.0.0.1")));
        assert!(!l.allows(ip("127.0.0.2")));
        let l = HostPatternList::parse("!10.0.0.0/8").unwrap();
        // Only a negation: nothing positive matches, so nothing is allowed.
        assert!(!l.allows(ip("192.0.2.1")));
        let l = HostPatternList::parse("*.sales.example.net,!pc.sales.example.net").unwrap();
        assert!(!l.allows(ip("192.0.2.1")));
        let l = HostPatternList::parse("12?.0.0.1").unwrap();
        assert!(l.allows(ip("127.0.0.1")));
        assert!(!l.allows(ip("12.0.0.1")));
        assert!(HostPatternList::parse("10.0.0.0/8,,1.2.3.4").is_err());
        assert!(HostPatternList::parse("10.1.0.0/8").is_err());
        assert!(HostPatternList::parse("!").is_err());
    }

    #[test]
    fn wildcards() {
        assert!(wildcard_match(b"*", b""));
        assert!(wildcard_match(b"a*c", b"abbbc"));
        assert!(!wildcard_match(b"a*c", b"abbbd"));
        assert!(wildcard_match(b"*.*.*", b"1.2.3"));
        assert!(!wildcard_match(b"?", b""));
        assert!(wildcard_match(b"**a", b"aaa"));
        // Many stars against a long text must still end quickly.
        let text = vec![b'a'; 4000];
        assert!(!wildcard_match(b"*a*a*a*a*a*a*b", &text));
    }
}
