//! Hostbased authentication (RFC 4252 §9): which client hosts are trusted,
//! by their host keys, and how a request's client host name is checked.
//!
//! The trusted hosts are OpenSSH known_hosts lines (`[auth]
//! hostbased_known_hosts` and `hostbased_trusted_hosts`): host patterns
//! (comma-separated, `*` and `?` wildcards, `!` negation, case-insensitive),
//! then the key. `@revoked` lines refuse their key. Hashed names (`|1|...`)
//! and `@cert-authority` lines are refused when the config is checked:
//! an admin writes this list by hand, and a line silently ignored would be
//! a trusted host that cannot log in with no clue why.
//!
//! What is checked, in order (the core already verified the signature):
//! 1. the key is not `@revoked` (nor on `[auth] key_blacklist`, checked by
//!    the directory);
//! 2. the client host name from the request (OpenSSH sends it with a
//!    trailing dot, which is dropped) belongs to the peer's address: an
//!    address literal must be the peer's address, and a name must resolve
//!    (getaddrinfo: /etc/hosts, then DNS) to a set holding it. This is
//!    sshd's HostbasedUsesNameFromPacketOnly=no, forward-confirmed: a
//!    client cannot claim to be a host it is not connecting from;
//! 3. a line holding the key has a host pattern list matching that name
//!    or the peer's address (so `localhost` and `127.0.0.1` both serve a
//!    client on loopback).
//!
//! The client user name must equal the login name (sshd with
//! hosts.equiv and no per-user .shosts); the directory checks that and
//! the account's policy.

use std::net::{IpAddr, ToSocketAddrs};

use super::net::wildcard_match;
use subtle::ConstantTimeEq;
use wharf_crypto::hostkey::PublicKey;

/// One known_hosts line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustedHost {
    /// The comma-separated patterns, lower-cased.
    patterns: Vec<String>,
    key: PublicKey,
    /// `@revoked`: this key is refused, whatever the host.
    revoked: bool,
}

/// The trusted client hosts; `[auth] hostbased = true` with at least one
/// line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedHosts {
    entries: Vec<TrustedHost>,
}

/// Longest pattern list accepted on one line.
const MAX_PATTERNS_PER_LINE: usize = 256;

impl TrustedHosts {
    pub fn new(entries: Vec<TrustedHost>) -> TrustedHosts {
        TrustedHosts { entries }
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether `key` is trusted for the client at `peer` calling itself
    /// `client_host`; `Err` tells the server's log why not. `resolve` maps
    /// a name to its addresses ([`resolve_host`] in the server; a table in
    /// tests).
    pub fn check(
        &self,
        key: &PublicKey,
        client_host: &str,
        peer: IpAddr,
        resolve: impl Fn(&str) -> Vec<IpAddr>,
    ) -> Result<(), String> {
        let peer = peer.to_canonical();
        let same_key = |e: &TrustedHost| -> bool { e.key.blob().ct_eq(key.blob()).into() };
        if self.entries.iter().any(|e| e.revoked && same_key(e)) {
            return Err("the host key is marked @revoked".into());
        }
        let name = client_host
            .strip_suffix('.')
            .unwrap_or(client_host)
            .to_ascii_lowercase();
        if name.is_empty() {
            return Err("empty client host name".into());
        }
        let belongs = match name.parse::<IpAddr>() {
            Ok(ip) => ip.to_canonical() == peer,
            Err(_) => resolve(&name).iter().any(|ip| ip.to_canonical() == peer),
        };
        if !belongs {
            return Err(format!(
                "client host name `{name}` does not resolve to the peer address {peer}"
            ));
        }
        let ip = peer.to_string();
        let trusted = self.entries.iter().any(|e| {
            !e.revoked
                && same_key(e)
                && (pattern_list_matches(&e.patterns, &name)
                    || pattern_list_matches(&e.patterns, &ip))
        });
        if trusted {
            Ok(())
        } else {
            Err(format!(
                "no trusted host line holds this key for `{name}` or {ip}"
            ))
        }
    }
}

/// The addresses `name` resolves to (getaddrinfo); empty when it does not.
/// Blocking: call on the blocking pool.
pub fn resolve_host(name: &str) -> Vec<IpAddr> {
    match (name, 0u16).to_socket_addrs() {
        Ok(addrs) => addrs.map(|a| a.ip()).collect(),
        Err(_) => Vec::new(),
    }
}

/// Parses known_hosts text; `Err((line, message))` for the first bad line.
/// Blank lines and `#` comments are skipped.
pub fn parse_known_hosts(text: &str) -> Result<Vec<TrustedHost>, (usize, String)> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        out.push(parse_known_host(line).map_err(|e| (i + 1, e))?);
    }
    Ok(out)
}

/// One known_hosts line: `[@revoked] PATTERNS KEYTYPE BASE64 [COMMENT]`.
pub fn parse_known_host(line: &str) -> Result<TrustedHost, String> {
    let line = line.trim();
    let (revoked, rest) = match line.strip_prefix('@') {
        Some(marked) => {
            let (marker, rest) = marked
                .split_once(|c: char| c.is_ascii_whitespace())
                .unwrap_or((marked, ""));
            match marker {
                "revoked" => (true, rest.trim_start()),
                "cert-authority" => {
                    return Err(
                        "@cert-authority lines (host certificates) are not supported for hostbased authentication"
                            .into(),
                    )
                }
                other => return Err(format!("unknown marker `@{other}`")),
            }
        }
        None => (false, line),
    };
    let (hosts, key_text) = rest
        .split_once(|c: char| c.is_ascii_whitespace())
        .ok_or_else(|| "expected `HOST_PATTERNS KEYTYPE BASE64`".to_string())?;
    if hosts.starts_with('|') {
        return Err(
            "hashed host names (|1|...) are not supported; write the names in clear".into(),
        );
    }
    let patterns: Vec<String> = hosts
        .split(',')
        .filter(|p| !p.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    if patterns.is_empty() || patterns.len() > MAX_PATTERNS_PER_LINE {
        return Err(format!(
            "expected 1 to {MAX_PATTERNS_PER_LINE} host patterns"
        ));
    }
    if patterns.iter().any(|p| p.chars().any(char::is_control)) {
        return Err("host patterns must not contain control characters".into());
    }
    let key = PublicKey::from_openssh(key_text.trim()).map_err(|e| e.to_string())?;
    Ok(TrustedHost {
        patterns,
        key,
        revoked,
    })
}

/// OpenSSH's match_pattern_list: a negated pattern that matches refuses
/// the whole list; otherwise one positive match is needed.
fn pattern_list_matches(patterns: &[String], name: &str) -> bool {
    let mut positive = false;
    for p in patterns {
        match p.strip_prefix('!') {
            Some(neg) => {
                if wildcard_match(neg.as_bytes(), name.as_bytes()) {
                    return false;
                }
            }
            None => positive |= wildcard_match(p.as_bytes(), name.as_bytes()),
        }
    }
    positive
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 8032 §7.1 TEST 1's public key and TEST 2's, as OpenSSH lines.
    const K1: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINdamAGCsQq31Uv+08lkBzoO4XLz2qYjJa8CGmj3B1Ea";
    const K2: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAID1AF8PoQ4lakrcKp00bfrycmCzPLsSWjMDNVfEq9GYM";

    fn key(line: &str) -> PublicKey {
        PublicKey::from_openssh(line).unwrap()
    }

    fn resolver(name: &str) -> Vec<IpAddr> {
        match name {
            "localhost" => vec!["127.0.0.1".parse().unwrap(), "::1".parse().unwrap()],
            "build.example.com" => vec!["10.1.2.3".parse().unwrap()],
            _ => Vec::new(),
        }
    }

    fn hosts(text: &str) -> TrustedHosts {
        TrustedHosts::new(parse_known_hosts(text).unwrap())
    }

    #[test]
    fn the_second_test_key_is_rfc_8032_test_2() {
        // RFC 8032 §7.1 TEST 2 public key: 3d4017c3e843895a92b70aa74d1b7ebc
        // 9c982ccf2ec4968cc0cd55f12af4660c.
        let blob = key(K2).blob().to_vec();
        assert_eq!(
            blob.get(19..).unwrap(),
            [
                0x3d, 0x40, 0x17, 0xc3, 0xe8, 0x43, 0x89, 0x5a, 0x92, 0xb7, 0x0a, 0xa7, 0x4d, 0x1b,
                0x7e, 0xbc, 0x9c, 0x98, 0x2c, 0xcf, 0x2e, 0xc4, 0x96, 0x8c, 0xc0, 0xcd, 0x55, 0xf1,
                0x2a, 0xf4, 0x66, 0x0c
            ]
        );
    }

    #[test]
    fn patterns_as_openssh_matches_them() {
        let l = |s: &str| -> Vec<String> { s.split(',').map(String::from).collect() };
        assert!(pattern_list_matches(
            &l("*.example.com"),
            "build.example.com"
        ));
        assert!(!pattern_list_matches(&l("*.example.com"), "example.com"));
        assert!(pattern_list_matches(&l("10.1.2.?"), "10.1.2.3"));
        assert!(!pattern_list_matches(&l("10.1.2.?"), "10.1.2.30"));
        assert!(!pattern_list_matches(
            &l("*.example.com,!build.example.com"),
            "build.example.com"
        ));
        assert!(!pattern_list_matches(&l("!other"), "build"));
        assert!(pattern_list_matches(&l("a*b*c"), "axxbyyc"));
        assert!(!pattern_list_matches(&l("a*b*c"), "axxbyy"));
        // A pathological pattern finishes at once.
        let pattern = "*a".repeat(50) + "*b";
        assert!(!pattern_list_matches(&[pattern], &"a".repeat(5000)));
    }

    #[test]
    fn parsing() {
        assert!(parse_known_hosts(&format!("# c\n\nlocalhost,127.0.0.1 {K1} root@h\n")).is_ok());
        assert_eq!(
            parse_known_hosts(&format!("x {K1}\nbad\n")).unwrap_err().0,
            2
        );
        assert!(parse_known_host(&format!("|1|abc|def {K1}"))
            .unwrap_err()
            .contains("hashed"));
        assert!(parse_known_host(&format!("@cert-authority * {K1}"))
            .unwrap_err()
            .contains("not supported"));
        assert!(parse_known_host(&format!("@fancy * {K1}"))
            .unwrap_err()
            .contains("marker"));
        assert!(parse_known_host("host ssh-ed25519 !!!").is_err());
        assert!(
            parse_known_host(&format!("@revoked * {K1}"))
                .unwrap()
                .revoked
        );
    }

    #[test]
    fn names_addresses_and_keys() {
        let t = hosts(&format!(
            "localhost {K1}\nbuild.example.com,10.9.9.9 {K2}\n"
        ));
        let lo: IpAddr = "127.0.0.1".parse().unwrap();
        let build: IpAddr = "10.1.2.3".parse().unwrap();
        assert_eq!(t.check(&key(K1), "localhost.", lo, resolver), Ok(()));
        // IPv4-mapped peers are the same address.
        assert_eq!(
            t.check(
                &key(K1),
                "localhost.",
                "::ffff:127.0.0.1".parse().unwrap(),
                resolver
            ),
            Ok(())
        );
        // The key of another line.
        assert!(t.check(&key(K2), "localhost.", lo, resolver).is_err());
        assert_eq!(
            t.check(&key(K2), "BUILD.example.com.", build, resolver),
            Ok(())
        );
        // A name that does not resolve to the peer: a client cannot claim
        // to be another host.
        let e = t
            .check(&key(K2), "build.example.com.", lo, resolver)
            .unwrap_err();
        assert!(e.contains("does not resolve"), "{e}");
        assert!(t.check(&key(K1), "nowhere.", lo, resolver).is_err());
        // An address literal must be the peer's.
        assert!(t.check(&key(K2), "10.9.9.9", build, resolver).is_err());
        assert_eq!(
            t.check(&key(K2), "10.9.9.9", "10.9.9.9".parse().unwrap(), resolver),
            Ok(())
        );
        assert!(t.check(&key(K1), "", lo, resolver).is_err());
        assert!(t.check(&key(K1), ".", lo, resolver).is_err());
    }

    #[test]
    fn the_peer_address_pattern_serves_loopback() {
        let t = hosts(&format!("127.0.0.1 {K1}\n"));
        let lo: IpAddr = "127.0.0.1".parse().unwrap();
        assert_eq!(t.check(&key(K1), "localhost.", lo, resolver), Ok(()));
    }

    #[test]
    fn revoked_keys_are_refused_for_every_host() {
        let t = hosts(&format!("localhost {K1}\n@revoked other {K1}\n"));
        let lo: IpAddr = "127.0.0.1".parse().unwrap();
        assert!(t
            .check(&key(K1), "localhost.", lo, resolver)
            .unwrap_err()
            .contains("revoked"));
    }

    #[test]
    fn the_system_resolver_knows_localhost() {
        assert!(resolve_host("localhost").iter().any(|ip| ip.is_loopback()));
    }
}
