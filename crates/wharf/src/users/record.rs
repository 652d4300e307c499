//! A user's policy: the jail and every per-user limit, whatever source the
//! user comes from. The login checks (disabled, expiry, networks, sessions)
//! are enforced by the directory; the filesystem rules (permissions, name
//! patterns, quotas, bandwidth) are carried here for the Vfs layer that
//! enforces them.

use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::net::Cidr;

/// One filesystem operation a per-path rule can allow or deny.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Perm {
    List,
    Download,
    Upload,
    Overwrite,
    Delete,
    Rename,
    Mkdir,
    Rmdir,
    Chmod,
    Chown,
    Symlink,
}

impl Perm {
    pub const ALL: &'static [Perm] = &[
        Perm::List,
        Perm::Download,
        Perm::Upload,
        Perm::Overwrite,
        Perm::Delete,
        Perm::Rename,
        Perm::Mkdir,
        Perm::Rmdir,
        Perm::Chmod,
        Perm::Chown,
        Perm::Symlink,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Perm::List => "list",
            Perm::Download => "download",
            Perm::Upload => "upload",
            Perm::Overwrite => "overwrite",
            Perm::Delete => "delete",
            Perm::Rename => "rename",
            Perm::Mkdir => "mkdir",
            Perm::Rmdir => "rmdir",
            Perm::Chmod => "chmod",
            Perm::Chown => "chown",
            Perm::Symlink => "symlink",
        }
    }
}

impl FromStr for Perm {
    type Err = String;
    fn from_str(s: &str) -> Result<Perm, String> {
        Perm::ALL
            .iter()
            .copied()
            .find(|p| p.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Perm::ALL.iter().map(|p| p.name()).collect();
                format!(
                    "unknown permission `{s}`; expected one of: {}",
                    names.join(", ")
                )
            })
    }
}

impl fmt::Display for Perm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Operations allowed and denied below a path glob (`/incoming/**`). The
/// later Vfs layer applies the most specific matching rule; deny wins over
/// allow within one rule.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PathRule {
    pub path: String,
    #[serde(default)]
    pub allow: Vec<Perm>,
    #[serde(default)]
    pub deny: Vec<Perm>,
}

impl PathRule {
    /// The CLI's form: `GLOB:+perm,+perm,-perm` (+ allows, - denies).
    pub fn parse_cli(text: &str) -> Result<PathRule, String> {
        let (path, perms) = text
            .rsplit_once(':')
            .ok_or_else(|| format!("bad rule `{text}`: expected GLOB:+perm,-perm"))?;
        let mut rule = PathRule {
            path: path.to_owned(),
            ..PathRule::default()
        };
        for p in perms.split(',').filter(|p| !p.is_empty()) {
            match (p.strip_prefix('+'), p.strip_prefix('-')) {
                (Some(name), _) => rule.allow.push(name.parse()?),
                (_, Some(name)) => rule.deny.push(name.parse()?),
                _ => return Err(format!("bad rule `{text}`: write +{p} or -{p}")),
            }
        }
        rule.check()?;
        Ok(rule)
    }

    pub fn check(&self) -> Result<(), String> {
        check_glob(&self.path)?;
        if !self.path.starts_with('/') {
            return Err(format!("rule path `{}` must start with /", self.path));
        }
        Ok(())
    }

    pub fn to_cli(&self) -> String {
        let perms: Vec<String> = self
            .allow
            .iter()
            .map(|p| format!("+{p}"))
            .chain(self.deny.iter().map(|p| format!("-{p}")))
            .collect();
        format!("{}:{}", self.path, perms.join(","))
    }
}

/// Longest glob or name pattern accepted, and how many a user may have.
pub const MAX_PATTERN_LEN: usize = 1024;
pub const MAX_PATTERNS: usize = 256;

pub fn check_glob(glob: &str) -> Result<(), String> {
    if glob.is_empty() {
        return Err("empty pattern".into());
    }
    if glob.len() > MAX_PATTERN_LEN {
        return Err(format!("pattern longer than {MAX_PATTERN_LEN} bytes"));
    }
    if glob.chars().any(char::is_control) {
        return Err(format!("pattern {glob:?} has control characters"));
    }
    Ok(())
}

/// Everything about a user except credentials.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserPolicy {
    /// What the user sees as "/". Absolute.
    pub root: PathBuf,
    /// The starting folder, as a path inside the root ("/incoming");
    /// None: "/".
    pub home: Option<String>,
    pub read_only: bool,
    pub upload_only: bool,
    /// Bits cleared from the mode of created files; None: the server's.
    pub umask: Option<u32>,
    pub permissions: Vec<PathRule>,
    /// File-name globs: a name must match one `name_allow` pattern (when
    /// any are given) and no `name_deny` pattern.
    pub name_allow: Vec<String>,
    pub name_deny: Vec<String>,
    pub quota_bytes: Option<u64>,
    pub quota_files: Option<u64>,
    /// Bytes per second.
    pub upload_bandwidth: Option<u64>,
    pub download_bandwidth: Option<u64>,
    pub max_sessions: Option<u32>,
    /// Empty: any network.
    pub allowed_networks: Vec<Cidr>,
    /// Unix seconds (UTC) from which the account no longer logs in.
    pub expires_at: Option<i64>,
    pub disabled: bool,
    /// Whether SCP is served; None: the server's `scp` setting.
    pub scp: Option<bool>,
    /// The user's own method chains (`authentication_methods`); None: the
    /// server's `[auth] authentication_methods`.
    pub authentication_methods: Option<Vec<super::chains::MethodList>>,
}

impl UserPolicy {
    pub fn new(root: PathBuf) -> UserPolicy {
        UserPolicy {
            root,
            home: None,
            read_only: false,
            upload_only: false,
            umask: None,
            permissions: Vec::new(),
            name_allow: Vec::new(),
            name_deny: Vec::new(),
            quota_bytes: None,
            quota_files: None,
            upload_bandwidth: None,
            download_bandwidth: None,
            max_sessions: None,
            allowed_networks: Vec::new(),
            expires_at: None,
            disabled: false,
            scp: None,
            authentication_methods: None,
        }
    }

    /// Why the account may not log in from `ip` at `now` (Unix seconds),
    /// for the server's log; None when it may. Sessions are checked by the
    /// directory, which counts them.
    pub fn login_refusal(&self, ip: IpAddr, now: i64) -> Option<&'static str> {
        if self.disabled {
            return Some("account disabled");
        }
        if self.expires_at.is_some_and(|t| now >= t) {
            return Some("account expired");
        }
        if !self.allowed_networks.is_empty()
            && !self.allowed_networks.iter().any(|n| n.contains(ip))
        {
            return Some("client address outside the account's allowed_networks");
        }
        None
    }

    /// Checks the fields a source cannot check by type alone.
    pub fn validate(&self) -> Result<(), String> {
        if !self.root.is_absolute() {
            return Err(format!(
                "root {} is not an absolute path",
                self.root.display()
            ));
        }
        if let Some(home) = &self.home {
            check_home(home)?;
        }
        if let Some(umask) = self.umask {
            if umask > 0o777 {
                return Err(format!("umask {umask:o} is more than 0777"));
            }
        }
        if self.max_sessions == Some(0) {
            return Err("max_sessions must be at least 1".into());
        }
        for r in &self.permissions {
            r.check()?;
        }
        if self.permissions.len() > MAX_PATTERNS
            || self.name_allow.len() > MAX_PATTERNS
            || self.name_deny.len() > MAX_PATTERNS
        {
            return Err(format!("more than {MAX_PATTERNS} rules or patterns"));
        }
        for p in self.name_allow.iter().chain(&self.name_deny) {
            check_glob(p)?;
        }
        if self.read_only && self.upload_only {
            return Err("read_only and upload_only exclude each other".into());
        }
        Ok(())
    }
}

/// A home folder is a path inside the root: absolute in the user's view,
/// without `..`.
pub fn check_home(home: &str) -> Result<(), String> {
    if !home.starts_with('/') {
        return Err(format!(
            "home `{home}` must start with / (a path inside root)"
        ));
    }
    if home.split('/').any(|c| c == "..") || home.chars().any(char::is_control) {
        return Err(format!(
            "home `{home}` must not contain `..` or control characters"
        ));
    }
    Ok(())
}

/// Parses an octal umask such as "027" or "0o027".
pub fn parse_umask(text: &str) -> Result<u32, String> {
    let digits = text.strip_prefix("0o").unwrap_or(text);
    match u32::from_str_radix(digits, 8) {
        Ok(n) if n <= 0o777 && !digits.is_empty() => Ok(n),
        _ => Err(format!(
            "bad umask `{text}`: expected octal such as 022 or 027"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_parse_from_the_cli_form_and_round_trip() {
        let r = PathRule::parse_cli("/in/**:+upload,+mkdir,-delete").unwrap();
        assert_eq!(r.path, "/in/**");
        assert_eq!(r.allow, [Perm::Upload, Perm::Mkdir]);
        assert_eq!(r.deny, [Perm::Delete]);
        assert_eq!(PathRule::parse_cli(&r.to_cli()).unwrap(), r);
        assert!(PathRule::parse_cli("/in:+fly")
            .unwrap_err()
            .contains("unknown permission"));
        assert!(PathRule::parse_cli("/in:upload").is_err());
        assert!(PathRule::parse_cli("in:+upload").is_err());
        assert!(PathRule::parse_cli("/in").is_err());
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(
            json,
            r#"{"path":"/in/**","allow":["upload","mkdir"],"deny":["delete"]}"#
        );
        assert_eq!(serde_json::from_str::<PathRule>(&json).unwrap(), r);
        assert!(serde_json::from_str::<PathRule>(r#"{"path":"/","alow":[]}"#).is_err());
    }

    #[test]
    fn login_refusals() {
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let mut p = UserPolicy::new("/srv/a".into());
        assert_eq!(p.login_refusal(ip, 100), None);
        p.expires_at = Some(100);
        assert_eq!(p.login_refusal(ip, 99), None);
        assert_eq!(p.login_refusal(ip, 100), Some("account expired"));
        p.expires_at = None;
        p.allowed_networks = vec!["10.0.0.0/8".parse().unwrap()];
        assert!(p.login_refusal(ip, 0).is_some());
        p.allowed_networks.push("127.0.0.0/8".parse().unwrap());
        assert_eq!(p.login_refusal(ip, 0), None);
        p.disabled = true;
        assert_eq!(p.login_refusal(ip, 0), Some("account disabled"));
    }

    #[test]
    fn validation() {
        let mut p = UserPolicy::new("/srv/a".into());
        assert!(p.validate().is_ok());
        p.home = Some("/../etc".into());
        assert!(p.validate().is_err());
        p.home = Some("in".into());
        assert!(p.validate().is_err());
        p.home = Some("/in".into());
        p.read_only = true;
        p.upload_only = true;
        assert!(p.validate().is_err());
        p.upload_only = false;
        p.max_sessions = Some(0);
        assert!(p.validate().is_err());
        p.max_sessions = None;
        p.root = "relative".into();
        assert!(p.validate().is_err());
        assert_eq!(parse_umask("027"), Ok(0o27));
        assert_eq!(parse_umask("0o777"), Ok(0o777));
        assert!(parse_umask("1000").is_err());
        assert!(parse_umask("8").is_err());
        assert!(parse_umask("").is_err());
    }
}
