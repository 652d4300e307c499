//! The system's accounts: /etc/passwd for names, uids and home folders,
//! /etc/shadow for password hashes and account expiry, and each user's
//! ~/.ssh/authorized_keys. The home folder is the user's root.
//!
//! Off unless configured; reading /etc/shadow needs root. Hashes in
//! SHA-512-crypt (`$6$`), SHA-256-crypt (`$5$`) and bcrypt (`$2b$`) work.
//! yescrypt (`$y$`, Debian 11+'s default) and other schemes are NOT
//! supported: such users can log in with a key only, and the server logs
//! why once. Locked passwords (`!...`, `*`) are no password, as in sshd.
//! Files are read on every lookup, so changes apply at once.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use super::directory::{Source, SourceError};
use super::keys::parse_authorized_keys;
use super::{StoredHash, User};

/// Bounds on what is read: account files of real systems are far smaller.
const MAX_ACCOUNT_FILE: u64 = 16 * 1024 * 1024;
const MAX_AUTHORIZED_KEYS: u64 = 1024 * 1024;
pub const DEFAULT_MIN_UID: u32 = 1000;

#[derive(Debug)]
pub struct SystemSource {
    passwd: PathBuf,
    shadow: PathBuf,
    min_uid: u32,
    warned_unsupported: AtomicBool,
}

impl SystemSource {
    pub fn new(min_uid: u32) -> SystemSource {
        SystemSource::with_files("/etc/passwd".into(), "/etc/shadow".into(), min_uid)
    }

    pub fn with_files(passwd: PathBuf, shadow: PathBuf, min_uid: u32) -> SystemSource {
        SystemSource {
            passwd,
            shadow,
            min_uid,
            warned_unsupported: AtomicBool::new(false),
        }
    }

    fn read(&self, path: &Path) -> Result<String, SourceError> {
        crate::config::read_text(path, MAX_ACCOUNT_FILE).map_err(|message| SourceError::File {
            path: path.display().to_string(),
            message,
        })
    }

    /// The password hash from shadow: None for no password (locked,
    /// empty, or an unsupported scheme).
    fn password_hash(&self, name: &str, field: &str) -> Option<StoredHash> {
        if field.is_empty() || field.starts_with('!') || field.starts_with('*') {
            return None;
        }
        match StoredHash::parse(field) {
            Ok(h) => Some(h),
            Err(_) => {
                if !self.warned_unsupported.swap(true, Ordering::Relaxed) {
                    let scheme = field.split('$').nth(1).unwrap_or("?");
                    tracing::warn!(user = %name, scheme = %scheme,
                        "system password hash scheme not supported (yescrypt and others): only sha512-crypt, sha256-crypt and bcrypt work; this user can log in with a key only");
                }
                None
            }
        }
    }
}

/// One /etc/passwd entry: name, uid, home.
fn passwd_entry<'a>(text: &'a str, name: &str) -> Option<(u32, &'a str)> {
    text.lines().find_map(|line| {
        let mut f = line.split(':');
        if f.next()? != name {
            return None;
        }
        let _password = f.next()?;
        let uid: u32 = f.next()?.parse().ok()?;
        let _gid = f.next()?;
        let _gecos = f.next()?;
        let home = f.next()?;
        Some((uid, home))
    })
}

/// The shadow fields of `name`: (hash, account expiry in days since the
/// epoch, shadow(5) field 8).
fn shadow_entry<'a>(text: &'a str, name: &str) -> Option<(&'a str, Option<i64>)> {
    text.lines().find_map(|line| {
        let f: Vec<&str> = line.splitn(10, ':').collect();
        if f.first() != Some(&name) {
            return None;
        }
        let hash = f.get(1).copied().unwrap_or("");
        let expire = f.get(7).and_then(|d| d.parse::<i64>().ok());
        Some((hash, expire))
    })
}

impl Source for SystemSource {
    fn name(&self) -> &'static str {
        "system"
    }

    fn lookup(&self, name: &str) -> Result<Option<User>, SourceError> {
        let passwd = self.read(&self.passwd)?;
        let Some((uid, home)) = passwd_entry(&passwd, name) else {
            return Ok(None);
        };
        // Below min_uid are system accounts (and root): as if unknown.
        if uid < self.min_uid || !home.starts_with('/') {
            return Ok(None);
        }
        let shadow = self.read(&self.shadow)?;
        let (hash, expire_days) = shadow_entry(&shadow, name).unwrap_or(("", None));
        let mut user = User::new(name, PathBuf::from(home));
        user.password_hash = self.password_hash(name, hash);
        user.policy.expires_at = expire_days.map(|d| d.saturating_mul(86_400));
        user.authorized_keys = read_user_keys(Path::new(home), uid);
        Ok(Some(user))
    }
}

/// ~/.ssh/authorized_keys, if present and safe: owned by the user or root
/// and not writable by group or others (sshd's StrictModes), so that no
/// one else could have put a key there.
fn read_user_keys(home: &Path, uid: u32) -> Vec<super::AuthorizedKey> {
    let path = home.join(".ssh/authorized_keys");
    let Ok(meta) = std::fs::metadata(&path) else {
        return Vec::new();
    };
    if (meta.uid() != uid && meta.uid() != 0) || meta.mode() & 0o022 != 0 {
        tracing::warn!(path = %path.display(), "authorized_keys ignored: bad owner or writable by others");
        return Vec::new();
    }
    match crate::config::read_text(&path, MAX_AUTHORIZED_KEYS) {
        Ok(text) => {
            let (keys, errors) = parse_authorized_keys(&text);
            for (line, e) in errors {
                tracing::warn!(path = %path.display(), line, error = %e, "authorized_keys line skipped");
            }
            keys
        }
        Err(e) => {
            tracing::warn!(error = %e, "authorized_keys unreadable");
            Vec::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::TempDir;

    // Drepper's SHA-crypt vectors (https://www.akkadia.org/drepper/SHA-crypt.txt):
    // "Hello world!" with salt "saltstring".
    const SHA512: &str = "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1";

    fn files(dir: &TempDir) -> SystemSource {
        let passwd = dir.path().join("passwd");
        let shadow = dir.path().join("shadow");
        std::fs::write(
            &passwd,
            "root:x:0:0:root:/root:/bin/bash\n\
             alice:x:1001:1001:Alice,,,:/home/alice:/bin/bash\n\
             yes:x:1002:1002::/home/yes:/bin/sh\n\
             locked:x:1003:1003::/home/locked:/bin/sh\n\
             broken:x:notanumber:1::/x:/bin/sh\n",
        )
        .unwrap();
        std::fs::write(
            &shadow,
            format!(
                "root:{SHA512}:19000:0:99999:7:::\n\
                 alice:{SHA512}:19000:0:99999:7::20000:\n\
                 yes:$y$j9T$abc$def:19000:0:99999:7:::\n\
                 locked:!{SHA512}:19000:0:99999:7:::\n"
            ),
        )
        .unwrap();
        SystemSource::with_files(passwd, shadow, 1000)
    }

    #[test]
    fn accounts_from_passwd_and_shadow() {
        let dir = TempDir::new("system");
        let src = files(&dir);
        let alice = src.lookup("alice").unwrap().unwrap();
        assert_eq!(alice.policy.root, PathBuf::from("/home/alice"));
        assert!(alice.password_hash.unwrap().verify(b"Hello world!"));
        assert_eq!(alice.policy.expires_at, Some(20_000 * 86_400));
        // Below min_uid: unknown.
        assert!(src.lookup("root").unwrap().is_none());
        assert!(src.lookup("nobody").unwrap().is_none());
        assert!(src.lookup("broken").unwrap().is_none());
        // yescrypt is not supported; a locked password is no password.
        assert!(src.lookup("yes").unwrap().unwrap().password_hash.is_none());
        assert!(src
            .lookup("locked")
            .unwrap()
            .unwrap()
            .password_hash
            .is_none());
        // A name that is a prefix of another's does not match it.
        assert!(src.lookup("alic").unwrap().is_none());
    }

    #[test]
    fn missing_files_are_errors() {
        let src = SystemSource::with_files(
            "/nonexistent/passwd".into(),
            "/nonexistent/shadow".into(),
            1000,
        );
        let err = src.lookup("alice").unwrap_err().to_string();
        assert!(err.contains("/nonexistent/passwd"), "{err}");
    }
}
