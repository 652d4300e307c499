//! `[server]`: addresses, host key files, algorithms, limits and timers,
//! banner and moduli.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use wharf_crypto::hostkey::SigAlg;
use wharf_crypto::kex::{KexAlg, Moduli};
use wharf_crypto::packet::{CipherAlg, MacAlg};

use super::section::{Checker, Section, Span};
use crate::config::{self, read_text, Algorithms, Overrides};

pub(super) const SERVER_KEYS: &[&str] = &[
    "listen",
    "host_keys",
    "kex_algorithms",
    "ciphers",
    "macs",
    "host_key_algorithms",
    "pubkey_accepted_algorithms",
    "max_auth_tries",
    "login_grace_time",
    "auth_failure_delay",
    "max_startups",
    "banner",
    "banner_file",
    "moduli_file",
    "rekey_limit",
    "rekey_interval",
    "client_alive_interval",
    "client_alive_count_max",
    "idle_timeout",
    "scp",
    "sftp_min_version",
    "sftp_max_version",
];

/// Bounds on files the config points at.
const MAX_BANNER_FILE: u64 = 64 * 1024;
const MAX_MODULI_FILE: u64 = 16 * 1024 * 1024;

/// A host key entry waiting to be loaded or created.
pub(super) struct HostKeyEntry {
    pub(super) path: PathBuf,
    pub(super) span: Option<Span>,
}

/// `[server]`, checked. Fields that had errors hold defaults; the errors
/// are in the checker.
pub(super) struct ServerSettings {
    pub(super) listen: Vec<SocketAddr>,
    pub(super) host_keys: Vec<HostKeyEntry>,
    /// None if any list had an error.
    pub(super) algorithms: Option<Algorithms>,
    pub(super) host_key_algorithms_span: Option<Span>,
    pub(super) max_auth_tries: u32,
    pub(super) login_grace_time: Option<Duration>,
    pub(super) auth_failure_delay: Duration,
    pub(super) max_startups: usize,
    pub(super) banner: Option<String>,
    pub(super) moduli: Option<Moduli>,
    pub(super) rekey_limit: Option<u64>,
    pub(super) rekey_interval: Option<Duration>,
    pub(super) client_alive_interval: Option<Duration>,
    pub(super) client_alive_count_max: u32,
    pub(super) idle_timeout: Option<Duration>,
    pub(super) scp: bool,
    pub(super) sftp_versions: (u32, u32),
}

/// Zero means "off" for the optional durations.
fn nonzero(d: Option<Duration>) -> Option<Duration> {
    d.filter(|d| !d.is_zero())
}

pub(super) fn server_settings(
    ck: &mut Checker<'_>,
    s: &Section<'_>,
    overrides: &Overrides,
) -> ServerSettings {
    // listen
    let mut listen = Vec::new();
    if let Some((entries, span)) = s.strings(ck, "listen") {
        if entries.is_empty() {
            ck.at(
                &span,
                "`listen` is empty; give at least one address such as \"127.0.0.1:2222\"",
            );
        }
        for (text, span) in entries {
            match text.trim().parse::<SocketAddr>() {
                Ok(addr) if listen.contains(&addr) => {
                    ck.at(&span, format!("`listen`: address {addr} is listed twice"));
                }
                Ok(addr) => listen.push(addr),
                Err(_) => ck.at(
                    &span,
                    format!(
                        "`listen`: bad address `{text}`: expected IP:PORT, such as 127.0.0.1:2222 or [::1]:2222"
                    ),
                ),
            }
        }
    } else if s.get("listen").is_none() {
        listen.extend(config::DEFAULT_LISTEN.parse::<SocketAddr>());
    }
    if !overrides.listen.is_empty() {
        listen = overrides.listen.clone();
    }

    // host_keys
    let mut host_keys = Vec::new();
    match s.strings(ck, "host_keys") {
        Some((entries, span)) => {
            if entries.is_empty() {
                ck.at(&span, "`host_keys` is empty; name at least one key file");
            }
            for (text, span) in entries {
                if let Some(path) = ck.path("host_keys", text, &span) {
                    if host_keys.iter().any(|e: &HostKeyEntry| e.path == path) {
                        ck.at(&span, format!("`host_keys`: {text} is listed twice"));
                    } else {
                        host_keys.push(HostKeyEntry {
                            path,
                            span: Some(span),
                        });
                    }
                }
            }
        }
        None if s.get("host_keys").is_none() => {
            let dir = overrides
                .state_dir
                .clone()
                .unwrap_or_else(|| ck.base.join("state"));
            for name in ["ssh_host_ed25519_key", "ssh_host_ecdsa_key"] {
                host_keys.push(HostKeyEntry {
                    path: dir.join(name),
                    span: None,
                });
            }
        }
        None => {}
    }

    // algorithms: each list is checked even when another failed.
    let kex = s.algorithms(
        ck,
        "kex_algorithms",
        KexAlg::ALL,
        KexAlg::name,
        KexAlg::is_legacy,
    );
    let ciphers = s.algorithms(
        ck,
        "ciphers",
        CipherAlg::ALL,
        CipherAlg::name,
        CipherAlg::is_legacy,
    );
    let macs = s.algorithms(ck, "macs", MacAlg::ALL, MacAlg::name, MacAlg::is_legacy);
    let host_key = s.algorithms(
        ck,
        "host_key_algorithms",
        SigAlg::ALL,
        SigAlg::name,
        SigAlg::is_legacy,
    );
    let pubkey = s.algorithms(
        ck,
        "pubkey_accepted_algorithms",
        SigAlg::ALL,
        SigAlg::name,
        SigAlg::is_legacy,
    );
    let algorithms = match (kex, ciphers, macs, host_key, pubkey) {
        (Some(kex), Some(ciphers), Some(macs), Some(host_key), Some(pubkey_accepted)) => {
            Some(Algorithms {
                kex,
                ciphers,
                macs,
                host_key,
                pubkey_accepted,
            })
        }
        _ => None,
    };

    // numbers and durations
    let max_auth_tries = s
        .integer(ck, "max_auth_tries", 1, 1000)
        .and_then(|n| u32::try_from(n).ok())
        .unwrap_or(config::DEFAULT_MAX_AUTH_TRIES);
    let max_startups = s
        .integer(ck, "max_startups", 1, 1_000_000)
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(config::DEFAULT_MAX_STARTUPS);
    let client_alive_count_max = s
        .integer(ck, "client_alive_count_max", 1, 1000)
        .and_then(|n| u32::try_from(n).ok())
        .unwrap_or(config::DEFAULT_CLIENT_ALIVE_COUNT_MAX);
    let login_grace_time = match s.duration(ck, "login_grace_time") {
        Some(None) => Some(config::DEFAULT_LOGIN_GRACE_TIME),
        Some(Some(d)) => nonzero(Some(d)),
        None => None,
    };
    let auth_failure_delay = s.duration(ck, "auth_failure_delay").flatten().unwrap_or(
        if s.get("auth_failure_delay").is_some() {
            Duration::ZERO
        } else {
            config::DEFAULT_AUTH_FAILURE_DELAY
        },
    );
    let rekey_interval = nonzero(s.duration(ck, "rekey_interval").flatten());
    let client_alive_interval = nonzero(s.duration(ck, "client_alive_interval").flatten());
    let idle_timeout = nonzero(s.duration(ck, "idle_timeout").flatten());
    let rekey_limit = s.size(ck, "rekey_limit").flatten().filter(|&n| n != 0);
    if let (Some(n), Some(value)) = (rekey_limit, s.get("rekey_limit")) {
        // RFC 4344 §3.2 asks for a re-key at least every 1 GB with 128-bit
        // blocks; below 16 KiB the connection would do little else.
        if n < 16 * 1024 {
            ck.at(
                &value.span(),
                format!("`rekey_limit`: {n} bytes is too small (minimum 16K)"),
            );
        }
    }

    // banner
    let mut banner = s.string(ck, "banner").map(|(text, _)| text.to_owned());
    if let Some((file, span)) = s.string(ck, "banner_file") {
        if banner.is_some() {
            ck.at(&span, "`banner` and `banner_file` are both set; keep one");
        } else if let Some(path) = ck.path("banner_file", file, &span) {
            match read_text(&path, MAX_BANNER_FILE) {
                Ok(text) => banner = Some(text),
                Err(e) => ck.at(&span, format!("`banner_file`: {e}")),
            }
        }
    }

    // moduli
    let mut moduli = None;
    if let Some((file, span)) = s.string(ck, "moduli_file") {
        if let Some(path) = ck.path("moduli_file", file, &span) {
            match read_text(&path, MAX_MODULI_FILE) {
                Ok(text) => match Moduli::parse_openssh(&text) {
                    Ok(m) if m.groups().is_empty() => ck.at(
                        &span,
                        format!("`moduli_file`: {} has no usable group", path.display()),
                    ),
                    Ok(m) => moduli = Some(m),
                    Err(e) => ck.at(&span, format!("`moduli_file`: {}: {e}", path.display())),
                },
                Err(e) => ck.at(&span, format!("`moduli_file`: {e}")),
            }
        }
    }

    ServerSettings {
        listen,
        host_keys,
        algorithms,
        host_key_algorithms_span: s.get("host_key_algorithms").map(|v| v.span()),
        max_auth_tries,
        login_grace_time,
        auth_failure_delay,
        max_startups,
        banner,
        moduli,
        rekey_limit,
        rekey_interval,
        client_alive_interval,
        client_alive_count_max,
        idle_timeout,
        scp: s.boolean(ck, "scp").unwrap_or(true),
        sftp_versions: sftp_versions(ck, s),
    }
}

/// The SFTP protocol versions offered: 1 to 6 unless narrowed.
fn sftp_versions(ck: &mut Checker<'_>, s: &Section<'_>) -> (u32, u32) {
    let min = s.integer(ck, "sftp_min_version", 1, 6);
    let max = s.integer(ck, "sftp_max_version", 1, 6);
    let (lo, hi) = (min.unwrap_or(1) as u32, max.unwrap_or(6) as u32);
    if lo > hi {
        if let Some(v) = s.get("sftp_min_version") {
            ck.at(
                &v.span(),
                format!("`sftp_min_version` {lo} is above `sftp_max_version` {hi}"),
            );
        }
        return (1, 6);
    }
    (lo, hi)
}
