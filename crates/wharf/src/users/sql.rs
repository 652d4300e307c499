//! The user database schema and statements, shared by SQLite and
//! PostgreSQL: one text for both wherever the dialects agree, which is
//! everywhere here. Flags are BIGINT 0/1 (SQLite has no BOOLEAN type and
//! tokio-postgres maps BOOLEAN to bool, BIGINT to i64 in both), times are
//! Unix seconds, and list-valued fields are JSON text. Placeholders are
//! PostgreSQL's `$1`, `$2`, ...; the SQLite driver turns them into `?1`,
//! `?2`, ..., which SQLite numbers the same way (a `$1` would be a *named*
//! parameter there, numbered by first appearance).

use std::path::PathBuf;

use super::chains::parse_method_list;
use super::directory::SourceError;
use super::keys::parse_authorized_key;
use super::net::Cidr;
use super::record::{PathRule, UserPolicy};
use super::{StoredHash, User};
use wharf_crypto::totp::{Totp, TotpAlg};

pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS wharf_users (
    name TEXT PRIMARY KEY,
    password_hash TEXT,
    root TEXT NOT NULL,
    home TEXT,
    disabled BIGINT NOT NULL DEFAULT 0,
    expires_at BIGINT,
    read_only BIGINT NOT NULL DEFAULT 0,
    upload_only BIGINT NOT NULL DEFAULT 0,
    umask BIGINT,
    quota_bytes BIGINT,
    quota_files BIGINT,
    upload_bandwidth BIGINT,
    download_bandwidth BIGINT,
    max_sessions BIGINT,
    scp BIGINT,
    allowed_networks TEXT NOT NULL DEFAULT '[]',
    permissions TEXT NOT NULL DEFAULT '[]',
    name_allow TEXT NOT NULL DEFAULT '[]',
    name_deny TEXT NOT NULL DEFAULT '[]',
    created_at BIGINT NOT NULL,
    totp_secret TEXT,
    authentication_methods TEXT
);
CREATE TABLE IF NOT EXISTS wharf_user_keys (
    user_name TEXT NOT NULL REFERENCES wharf_users(name) ON DELETE CASCADE,
    fingerprint TEXT NOT NULL,
    line TEXT NOT NULL,
    added_at BIGINT NOT NULL,
    PRIMARY KEY (user_name, fingerprint)
);
";

/// Columns added after the first release, as `(name, type)`: a database
/// made before them gets them with `ALTER TABLE ... ADD COLUMN` when it is
/// opened (SQLite after a look at `PRAGMA table_info`, PostgreSQL with
/// `IF NOT EXISTS`). Both are nullable, so existing rows mean "none".
/// `totp_secret`: the base32 TOTP secret (SHA-1, 6 digits, 30 s), NULL
/// without a second factor. `authentication_methods`: a JSON list of
/// chains such as `["publickey,password"]`, NULL for the server's.
pub const ADDED_COLUMNS: &[(&str, &str)] =
    &[("totp_secret", "TEXT"), ("authentication_methods", "TEXT")];

/// PostgreSQL's migration statements for [`ADDED_COLUMNS`].
pub fn pg_migrations() -> String {
    ADDED_COLUMNS
        .iter()
        .map(|(name, ty)| {
            format!("ALTER TABLE wharf_users ADD COLUMN IF NOT EXISTS {name} {ty};\n")
        })
        .collect()
}

/// The columns of `wharf_users` in the order every statement uses.
pub const USER_COLUMNS: &str = "name, password_hash, root, home, disabled, expires_at, \
    read_only, upload_only, umask, quota_bytes, quota_files, upload_bandwidth, \
    download_bandwidth, max_sessions, scp, allowed_networks, permissions, name_allow, \
    name_deny, created_at, totp_secret, authentication_methods";

/// How many columns `USER_COLUMNS` names.
pub const USER_COLUMN_COUNT: usize = 22;

pub fn select_user() -> String {
    format!("SELECT {USER_COLUMNS} FROM wharf_users WHERE name = $1")
}

pub fn select_all_users() -> String {
    format!("SELECT {USER_COLUMNS} FROM wharf_users ORDER BY name")
}

pub fn insert_user() -> String {
    let params: Vec<String> = (1..=USER_COLUMN_COUNT).map(|i| format!("${i}")).collect();
    format!(
        "INSERT INTO wharf_users ({USER_COLUMNS}) VALUES ({})",
        params.join(", ")
    )
}

/// Rewrites every field but the name and creation time.
pub fn update_user() -> String {
    "UPDATE wharf_users SET password_hash = $2, root = $3, home = $4, disabled = $5, \
     expires_at = $6, read_only = $7, upload_only = $8, umask = $9, quota_bytes = $10, \
     quota_files = $11, upload_bandwidth = $12, download_bandwidth = $13, max_sessions = $14, \
     scp = $15, allowed_networks = $16, permissions = $17, name_allow = $18, name_deny = $19, \
     totp_secret = $20, authentication_methods = $21 WHERE name = $1"
        .to_owned()
}

pub const SELECT_KEYS: &str =
    "SELECT line FROM wharf_user_keys WHERE user_name = $1 ORDER BY added_at, fingerprint";
pub const SELECT_KEY_COUNTS: &str =
    "SELECT user_name, COUNT(*) FROM wharf_user_keys GROUP BY user_name";
pub const INSERT_KEY: &str =
    "INSERT INTO wharf_user_keys (user_name, fingerprint, line, added_at) VALUES ($1, $2, $3, $4)";
pub const DELETE_KEY: &str =
    "DELETE FROM wharf_user_keys WHERE user_name = $1 AND fingerprint = $2";
pub const DELETE_KEYS: &str = "DELETE FROM wharf_user_keys WHERE user_name = $1";
pub const DELETE_USER: &str = "DELETE FROM wharf_users WHERE name = $1";

/// One `wharf_users` row in plain column types, the meeting point of both
/// drivers and the typed [`User`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserRow {
    pub name: String,
    pub password_hash: Option<String>,
    pub root: String,
    pub home: Option<String>,
    pub disabled: i64,
    pub expires_at: Option<i64>,
    pub read_only: i64,
    pub upload_only: i64,
    pub umask: Option<i64>,
    pub quota_bytes: Option<i64>,
    pub quota_files: Option<i64>,
    pub upload_bandwidth: Option<i64>,
    pub download_bandwidth: Option<i64>,
    pub max_sessions: Option<i64>,
    pub scp: Option<i64>,
    pub allowed_networks: String,
    pub permissions: String,
    pub name_allow: String,
    pub name_deny: String,
    pub created_at: i64,
    /// Base32; never shown (see [`SecretText`]).
    pub totp_secret: Option<SecretText>,
    /// JSON list of chains; None: the server's.
    pub authentication_methods: Option<String>,
}

/// A secret column's text: redacted in Debug output (rows end up in
/// logs and error messages), wiped from memory when dropped.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SecretText(pub zeroize::Zeroizing<String>);

impl SecretText {
    pub fn new(text: impl Into<String>) -> SecretText {
        SecretText(zeroize::Zeroizing::new(text.into()))
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl std::fmt::Debug for SecretText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Chains as the column stores them: `["publickey,password", ...]`.
pub fn method_lists_json(lists: &[super::chains::MethodList]) -> String {
    let texts: Vec<String> = lists
        .iter()
        .map(|l| l.iter().map(|m| m.name()).collect::<Vec<_>>().join(","))
        .collect();
    json(&texts)
}

fn to_i64(v: Option<u64>) -> Option<i64> {
    // Values past i64::MAX mean "unlimited" in practice; saturate.
    v.map(|n| i64::try_from(n).unwrap_or(i64::MAX))
}

fn json<T: serde::Serialize>(v: &T) -> String {
    // Serializing plain strings and enums cannot fail; an empty list is
    // the harmless fallback.
    serde_json::to_string(v).unwrap_or_else(|_| "[]".into())
}

impl UserRow {
    pub fn from_user(user: &User, password_hash: Option<String>, created_at: i64) -> UserRow {
        let p = &user.policy;
        UserRow {
            name: user.name.clone(),
            password_hash,
            root: p.root.to_string_lossy().into_owned(),
            home: p.home.clone(),
            disabled: i64::from(p.disabled),
            expires_at: p.expires_at,
            read_only: i64::from(p.read_only),
            upload_only: i64::from(p.upload_only),
            umask: p.umask.map(i64::from),
            quota_bytes: to_i64(p.quota_bytes),
            quota_files: to_i64(p.quota_files),
            upload_bandwidth: to_i64(p.upload_bandwidth),
            download_bandwidth: to_i64(p.download_bandwidth),
            max_sessions: p.max_sessions.map(i64::from),
            scp: p.scp.map(i64::from),
            allowed_networks: json(&p.allowed_networks),
            permissions: json(&p.permissions),
            name_allow: json(&p.name_allow),
            name_deny: json(&p.name_deny),
            created_at,
            totp_secret: user.totp.as_ref().map(|t| SecretText(t.secret_base32())),
            authentication_methods: p.authentication_methods.as_deref().map(method_lists_json),
        }
    }

    /// The typed user. Key lines that no longer parse are skipped with a
    /// warning (one bad line must not lock the user out of the others);
    /// a bad field makes the whole user unusable, so it cannot log in with
    /// a limit silently dropped.
    pub fn into_user(self, key_lines: &[String]) -> Result<User, SourceError> {
        let invalid = |message: String| SourceError::Invalid {
            user: self.name.clone(),
            message,
        };
        let unsigned = |v: Option<i64>, what: &str| -> Result<Option<u64>, SourceError> {
            v.map(|n| u64::try_from(n).map_err(|_| invalid(format!("{what} is negative"))))
                .transpose()
        };
        let list = |text: &str, what: &str| -> Result<Vec<String>, SourceError> {
            serde_json::from_str(text).map_err(|e| invalid(format!("{what}: {e}")))
        };
        let password_hash = match &self.password_hash {
            Some(h) => {
                Some(StoredHash::parse(h).map_err(|e| invalid(format!("password_hash: {e}")))?)
            }
            None => None,
        };
        let networks: Vec<Cidr> = serde_json::from_str(&self.allowed_networks)
            .map_err(|e| invalid(format!("allowed_networks: {e}")))?;
        let permissions: Vec<PathRule> = serde_json::from_str(&self.permissions)
            .map_err(|e| invalid(format!("permissions: {e}")))?;
        let policy = UserPolicy {
            root: PathBuf::from(&self.root),
            home: self.home.clone(),
            read_only: self.read_only != 0,
            upload_only: self.upload_only != 0,
            umask: self
                .umask
                .map(|u| u32::try_from(u).map_err(|_| invalid("bad umask".into())))
                .transpose()?,
            permissions,
            name_allow: list(&self.name_allow, "name_allow")?,
            name_deny: list(&self.name_deny, "name_deny")?,
            quota_bytes: unsigned(self.quota_bytes, "quota_bytes")?,
            quota_files: unsigned(self.quota_files, "quota_files")?,
            upload_bandwidth: unsigned(self.upload_bandwidth, "upload_bandwidth")?,
            download_bandwidth: unsigned(self.download_bandwidth, "download_bandwidth")?,
            max_sessions: self
                .max_sessions
                .map(|n| u32::try_from(n).map_err(|_| invalid("bad max_sessions".into())))
                .transpose()?,
            allowed_networks: networks,
            expires_at: self.expires_at,
            disabled: self.disabled != 0,
            scp: self.scp.map(|v| v != 0),
            authentication_methods: match &self.authentication_methods {
                Some(text) => {
                    let lists = list(text, "authentication_methods")?;
                    if lists.is_empty() {
                        return Err(invalid("authentication_methods is an empty list".into()));
                    }
                    let parsed = lists
                        .iter()
                        .map(|l| parse_method_list(l))
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(|e| invalid(format!("authentication_methods: {e}")))?;
                    Some(parsed)
                }
                None => None,
            },
        };
        policy.validate().map_err(invalid)?;
        // The parameters authenticator apps assume, as for `totp_secret`
        // in the config file.
        let totp = self
            .totp_secret
            .as_ref()
            .map(|s| Totp::from_base32(s.as_str(), TotpAlg::Sha1, 6, 30))
            .transpose()
            .map_err(|e| invalid(format!("totp_secret: {e}")))?;
        let mut authorized_keys = Vec::new();
        for line in key_lines {
            match parse_authorized_key(line) {
                Ok(Some(k)) => authorized_keys.push(k),
                Ok(None) => {}
                Err(e) => tracing::warn!(user = %self.name, error = %e, "stored key line skipped"),
            }
        }
        Ok(User {
            name: self.name,
            password_hash,
            authorized_keys,
            policy,
            totp,
        })
    }
}

/// One key row as the admin commands add it.
pub struct KeyRow {
    pub fingerprint: String,
    pub line: String,
}

/// What `wharf user list` shows per user.
#[derive(Debug, Clone)]
pub struct UserSummary {
    pub row: UserRow,
    pub keys: i64,
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    const KEY: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINdamAGCsQq31Uv+08lkBzoO4XLz2qYjJa8CGmj3B1Ea test@example";

    /// Every field set to something other than its default survives the
    /// trip through the row form.
    pub(crate) fn full_user() -> User {
        let mut u = User::new("carol", "/srv/carol".into());
        u.password_hash = Some(
            StoredHash::parse("$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5").unwrap(),
        );
        u.authorized_keys = vec![parse_authorized_key(KEY).unwrap().unwrap()];
        let p = &mut u.policy;
        p.home = Some("/in".into());
        p.disabled = true;
        p.expires_at = Some(2_000_000_000);
        p.upload_only = true;
        p.umask = Some(0o27);
        p.quota_bytes = Some(1 << 40);
        p.quota_files = Some(1000);
        p.upload_bandwidth = Some(1_000_000);
        p.download_bandwidth = Some(2_000_000);
        p.max_sessions = Some(3);
        p.scp = Some(false);
        p.allowed_networks = vec!["10.0.0.0/8".parse().unwrap(), "::1".parse().unwrap()];
        p.permissions = vec![PathRule::parse_cli("/in/**:+upload,-delete").unwrap()];
        p.name_allow = vec!["*.csv".into()];
        p.name_deny = vec![".*".into()];
        p.authentication_methods = Some(vec![
            parse_method_list("publickey,password").unwrap(),
            parse_method_list("keyboard-interactive").unwrap(),
        ]);
        // RFC 6238 Appendix B's SHA-1 secret.
        u.totp = Some(Totp::new(b"12345678901234567890").unwrap());
        u
    }

    #[test]
    fn rows_round_trip() {
        let u = full_user();
        let row = UserRow::from_user(
            &u,
            Some("$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5".into()),
            7,
        );
        assert_eq!(row.allowed_networks, r#"["10.0.0.0/8","::1/128"]"#);
        let back = row
            .clone()
            .into_user(&[KEY.to_owned(), "garbage".to_owned()])
            .unwrap();
        assert_eq!(back.policy, u.policy);
        assert_eq!(back.authorized_keys.len(), 1);
        assert_eq!(back.password_hash, u.password_hash);
        // RFC 4648 §10: "12345678901234567890" is GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ.
        assert_eq!(
            row.totp_secret.as_ref().map(SecretText::as_str),
            Some("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ")
        );
        assert!(
            !format!("{row:?}").contains("GEZDGNBV"),
            "the secret is redacted"
        );
        assert_eq!(
            row.authentication_methods.as_deref(),
            Some(r#"["publickey,password","keyboard-interactive"]"#)
        );
        // RFC 6238 Appendix B: SHA-1 at T=59 is 94287082; six digits 287082.
        let totp = back.totp.expect("totp survives");
        assert_eq!(&*totp.code_at(59), "287082");
    }

    #[test]
    fn bad_rows_are_refused_whole() {
        let good = UserRow::from_user(&full_user(), None, 0);
        for (change, why) in [
            (
                (|r: &mut UserRow| r.allowed_networks = r#"["10.1.0.0/8"]"#.into())
                    as fn(&mut UserRow),
                "allowed_networks",
            ),
            (|r| r.quota_bytes = Some(-1), "quota_bytes"),
            (|r| r.permissions = "{".into(), "permissions"),
            (|r| r.password_hash = Some("plain".into()), "password_hash"),
            (|r| r.home = Some("/../x".into()), "home"),
            (|r| r.max_sessions = Some(0), "max_sessions"),
            (
                |r| r.totp_secret = Some(SecretText::new("not base32!")),
                "totp_secret",
            ),
            (
                |r| r.authentication_methods = Some(r#"["publickey,telepathy"]"#.into()),
                "authentication_methods",
            ),
            (
                |r| r.authentication_methods = Some("[]".into()),
                "authentication_methods",
            ),
        ] {
            let mut row = good.clone();
            change(&mut row);
            let err = row.into_user(&[]).unwrap_err().to_string();
            assert!(err.contains(why) && err.contains("carol"), "{err}");
        }
    }

    #[test]
    fn statements_use_every_parameter_once() {
        for (sql, n) in [(insert_user(), 22), (update_user(), 21), (select_user(), 1)] {
            for i in 1..=n {
                assert_eq!(
                    sql.matches(&format!("${i},")).count()
                        + sql.matches(&format!("${i} ")).count()
                        + usize::from(
                            sql.ends_with(&format!("${i}")) || sql.ends_with(&format!("${i})"))
                        ),
                    1,
                    "${i} in {sql}"
                );
            }
            assert!(!sql.contains(&format!("${}", n + 1)), "{sql}");
        }
    }
}
