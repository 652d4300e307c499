//! `wharf.toml`: what the file may say, how it is checked, and the
//! resolved [`Config`] the server runs with.
//!
//! Checking reports every problem it can find in one pass, each with the
//! file, line and column (see [`ConfigErrors`]): all unknown keys, values
//! of the wrong type, and semantic errors (addresses, algorithm names,
//! users, keys, hashes, durations, files that cannot be read). A file with
//! any error yields no `Config`, so the server never starts half-working.
//!
//! Relative paths in the file are relative to the file's folder.

pub mod algorithms;
mod check;
pub mod tree;
pub mod units;

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use wharf_crypto::hostkey::{HostKey, SigAlg};
use wharf_crypto::kex::{KexAlg, Moduli};
use wharf_crypto::packet::{CipherAlg, MacAlg};

use crate::users::ban::BanConfig;
use crate::users::UserStore;

/// Defaults, shared with the zero-config mode.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:2222";
pub const DEFAULT_MAX_AUTH_TRIES: u32 = 6;
pub const DEFAULT_LOGIN_GRACE_TIME: Duration = Duration::from_secs(120);
pub const DEFAULT_AUTH_FAILURE_DELAY: Duration = Duration::from_millis(500);
pub const DEFAULT_MAX_STARTUPS: usize = 100;
pub const DEFAULT_CLIENT_ALIVE_COUNT_MAX: u32 = 3;

/// Everything `wharf serve` needs, checked and resolved. Cheap to clone
/// (keys and users are shared).
#[derive(Clone)]
pub struct Config {
    /// The config file, or None in zero-config mode.
    pub source: Option<PathBuf>,
    /// Addresses to listen on (port 0: any free port). Never empty.
    pub listen: Vec<SocketAddr>,
    /// Loaded host keys, in the file's order. Never empty when serving;
    /// in check mode only the keys whose files already exist.
    pub host_keys: Vec<Arc<HostKey>>,
    pub algorithms: Algorithms,
    /// Authentication attempts allowed per connection.
    pub max_auth_tries: u32,
    /// Time allowed from connect to successful authentication; None: no limit.
    pub login_grace_time: Option<Duration>,
    /// Pause after a failed password attempt (not after a declined public
    /// key query, which clients make routinely); zero: none.
    pub auth_failure_delay: Duration,
    /// Concurrent connections not yet authenticated.
    pub max_startups: usize,
    /// Text sent before authentication (SSH_MSG_USERAUTH_BANNER).
    pub banner: Option<String>,
    /// Groups for diffie-hellman-group-exchange; None: the built-in RFC 3526
    /// groups (`Moduli::builtin()`).
    pub moduli: Option<Moduli>,
    /// Bytes after which to re-key; None: the transport's default.
    pub rekey_limit: Option<u64>,
    /// Time after which to re-key; None: only by volume.
    pub rekey_interval: Option<Duration>,
    /// Send a keepalive after this much silence from the client; None: off.
    pub client_alive_interval: Option<Duration>,
    /// Unanswered keepalives before the connection is dropped.
    pub client_alive_count_max: u32,
    /// Drop a connection without traffic for this long; None: never.
    pub idle_timeout: Option<Duration>,
    /// Whether `scp` commands are served; a user's own `scp` overrides it.
    pub scp: bool,
    /// The lowest and highest SFTP protocol versions offered.
    pub sftp_versions: (u32, u32),
    /// `[sftp] disabled_extensions`: SFTP extensions neither announced nor served (names
    /// checked against `wharf_sftp::extension_names`).
    pub sftp_disabled_extensions: Vec<String>,
    /// The config file's `[[users]]` (the `config` source).
    pub users: Arc<UserStore>,
    /// User sources, key blacklist and bans.
    pub auth: AuthSettings,
}

/// One user source, in the order `[auth] sources` lists them.
#[derive(Clone, PartialEq, Eq)]
pub enum SourceSpec {
    Config,
    Sqlite(PathBuf),
    Postgres { url: String, pool_size: usize },
    System { min_uid: u32 },
}

impl fmt::Debug for SourceSpec {
    // The PostgreSQL connection string may carry a password: not shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SourceSpec::Config => f.write_str("Config"),
            SourceSpec::Sqlite(p) => write!(f, "Sqlite({})", p.display()),
            SourceSpec::Postgres { pool_size, .. } => write!(f, "Postgres(pool {pool_size})"),
            SourceSpec::System { min_uid } => write!(f, "System(min_uid {min_uid})"),
        }
    }
}

/// `[auth]` and `[ban]`, resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthSettings {
    pub sources: Vec<SourceSpec>,
    /// `SHA256:...` fingerprints refused everywhere.
    pub key_blacklist: std::collections::HashSet<String>,
    pub ban: BanConfig,
    /// Method chains every user must complete (OpenSSH's
    /// AuthenticationMethods); empty: any one method suffices.
    pub authentication_methods: Vec<crate::users::chains::MethodList>,
    /// CAs whose user certificates log in any user named as a principal
    /// (OpenSSH's TrustedUserCAKeys).
    pub trusted_user_ca_keys: Vec<wharf_crypto::hostkey::PublicKey>,
    /// `hostbased = true`: the trusted client hosts (from
    /// `hostbased_known_hosts` and `hostbased_trusted_hosts`); None: off.
    pub hostbased: Option<crate::users::hostbased::TrustedHosts>,
}

impl Default for AuthSettings {
    /// The config file's users only, no blacklist, no bans.
    fn default() -> Self {
        AuthSettings {
            sources: vec![SourceSpec::Config],
            key_blacklist: Default::default(),
            ban: BanConfig::OFF,
            authentication_methods: Vec::new(),
            trusted_user_ca_keys: Vec::new(),
            hostbased: None,
        }
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("source", &self.source)
            .field("listen", &self.listen)
            .field("host_keys", &self.host_keys)
            .field("algorithms", &self.algorithms)
            .field("max_auth_tries", &self.max_auth_tries)
            .field("login_grace_time", &self.login_grace_time)
            .field("auth_failure_delay", &self.auth_failure_delay)
            .field("max_startups", &self.max_startups)
            .field("banner", &self.banner.is_some())
            .field("moduli", &self.moduli.as_ref().map(|m| m.groups().len()))
            .field("rekey_limit", &self.rekey_limit)
            .field("rekey_interval", &self.rekey_interval)
            .field("client_alive_interval", &self.client_alive_interval)
            .field("client_alive_count_max", &self.client_alive_count_max)
            .field("idle_timeout", &self.idle_timeout)
            .field("users", &self.users)
            .field("auth", &self.auth)
            .finish()
    }
}

/// Negotiable algorithms, in preference order. Never empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Algorithms {
    pub kex: Vec<KexAlg>,
    pub ciphers: Vec<CipherAlg>,
    pub macs: Vec<MacAlg>,
    pub host_key: Vec<SigAlg>,
    pub pubkey_accepted: Vec<SigAlg>,
}

impl Default for Algorithms {
    /// Every non-legacy algorithm, in the order wharf_crypto lists them.
    fn default() -> Self {
        Algorithms {
            kex: wharf_crypto::enabled_by_default(KexAlg::ALL, KexAlg::is_legacy),
            ciphers: wharf_crypto::enabled_by_default(CipherAlg::ALL, CipherAlg::is_legacy),
            macs: wharf_crypto::enabled_by_default(MacAlg::ALL, MacAlg::is_legacy),
            host_key: wharf_crypto::enabled_by_default(SigAlg::ALL, SigAlg::is_legacy),
            pubkey_accepted: wharf_crypto::enabled_by_default(SigAlg::ALL, SigAlg::is_legacy),
        }
    }
}

/// Whether loading may create files (host keys).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `check-config`: read only. Missing host keys are fine (serve would
    /// create them); existing ones must load.
    Check,
    /// `serve`: missing host keys are created, after everything else in
    /// the file has been found correct.
    Serve,
}

/// Command-line settings that win over the file.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// Replaces `server.listen` when not empty.
    pub listen: Vec<SocketAddr>,
    /// Where host keys go when the file has no `host_keys`; default: the
    /// folder `state` beside the config file.
    pub state_dir: Option<PathBuf>,
}

/// One problem in a config file. Line and column are 1-based; None when
/// the problem is not at one place (the file cannot be read, no users).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
}

/// Every problem found in a config file. Displays as one line per
/// problem: `FILE:LINE:COL: message`, or `FILE: message`.
#[derive(Debug, Clone, thiserror::Error)]
pub struct ConfigErrors {
    pub file: PathBuf,
    pub diagnostics: Vec<Diagnostic>,
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = self.file.display();
        for (i, d) in self.diagnostics.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            match (d.line, d.column) {
                (Some(line), Some(col)) => write!(f, "{file}:{line}:{col}: {}", d.message)?,
                (Some(line), None) => write!(f, "{file}:{line}: {}", d.message)?,
                _ => write!(f, "{file}: {}", d.message)?,
            }
        }
        Ok(())
    }
}

/// Largest config file read; a config is a few kilobytes.
const MAX_CONFIG_FILE: u64 = 4 * 1024 * 1024;

/// Reads, checks and resolves the config file at `path`.
pub fn load(path: &Path, overrides: &Overrides, mode: Mode) -> Result<Config, ConfigErrors> {
    let fail = |message: String| ConfigErrors {
        file: path.to_path_buf(),
        diagnostics: vec![Diagnostic {
            line: None,
            column: None,
            message,
        }],
    };
    let text = read_text(path, MAX_CONFIG_FILE).map_err(fail)?;
    // Paths in the file are relative to its folder, made absolute so that
    // messages and the running server do not depend on the working folder.
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let base = std::fs::canonicalize(&parent)
        .map_err(|e| fail(format!("cannot resolve folder {}: {e}", parent.display())))?;
    check::check(&text, &base, overrides, mode)
        .map(|mut config| {
            config.source = Some(path.to_path_buf());
            config
        })
        .map_err(|diagnostics| ConfigErrors {
            file: path.to_path_buf(),
            diagnostics,
        })
}

/// Reads a UTF-8 text file of at most `limit` bytes; the error is a
/// sentence naming the file.
pub(crate) fn read_text(path: &Path, limit: u64) -> Result<String, String> {
    use std::io::Read;
    let file =
        std::fs::File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if bytes.len() as u64 > limit {
        return Err(format!("{} is larger than {limit} bytes", path.display()));
    }
    String::from_utf8(bytes).map_err(|e| {
        format!(
            "{} is not UTF-8 text (bad byte at offset {})",
            path.display(),
            e.utf8_error().valid_up_to()
        )
    })
}
