//! The users a server knows, from every source (the config file, the
//! embedded SQLite database, PostgreSQL, the system's accounts), their
//! credentials and policy, and the checks the connection driver asks for.
//!
//! Every check is written so its answer and its cost do not reveal whether
//! a user exists: an unknown user's password is checked against a dummy
//! argon2 hash of the same cost as `wharf hash-password` makes, and key
//! comparisons run over every key in constant time per key.

pub mod ban;
pub mod chains;
pub mod directory;
pub mod hostbased;
pub mod keys;
pub mod net;
pub mod password;
pub mod postgres;
pub mod record;
pub mod sql;
pub mod sqlite;
pub mod system;
pub mod when;

use std::collections::HashMap;
use std::fmt;

pub use directory::{open_directory, Source, SourceError};
pub use keys::{parse_authorized_key, parse_authorized_keys, AuthorizedKey};
pub use password::{hash_password, random_password, HashKind, PasswordError, StoredHash};
pub use record::UserPolicy;

/// One account.
#[derive(Clone)]
pub struct User {
    pub name: String,
    /// None: no password login.
    pub password_hash: Option<StoredHash>,
    pub authorized_keys: Vec<AuthorizedKey>,
    pub policy: UserPolicy,
    /// A TOTP second factor: when set, the user logs in with
    /// keyboard-interactive answering a password and a code, and the
    /// password method alone is refused.
    pub totp: Option<wharf_crypto::totp::Totp>,
}

impl User {
    /// A user with only a root: no credentials, no limits.
    pub fn new(name: impl Into<String>, root: std::path::PathBuf) -> User {
        User {
            name: name.into(),
            password_hash: None,
            authorized_keys: Vec::new(),
            policy: UserPolicy::new(root),
            totp: None,
        }
    }
}

impl fmt::Debug for User {
    // Never shows the hash (StoredHash redacts itself too), and keys only
    // by count: Debug output ends up in logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("User")
            .field("name", &self.name)
            .field("root", &self.policy.root)
            .field("password", &self.password_hash.is_some())
            .field("authorized_keys", &self.authorized_keys.len())
            .field("totp", &self.totp.is_some())
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("duplicate user `{0}`")]
    Duplicate(String),
    #[error("cannot make the dummy password hash: {0}")]
    Dummy(#[from] PasswordError),
}

/// The users of the config file's `[[users]]`, by name: the `config`
/// source.
pub struct UserStore {
    users: HashMap<String, User>,
}

impl fmt::Debug for UserStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<&String> = self.users.keys().collect();
        names.sort();
        f.debug_struct("UserStore").field("users", &names).finish()
    }
}

impl UserStore {
    /// Builds the store; names must be unique.
    pub fn new(users: Vec<User>) -> Result<UserStore, UserError> {
        let mut map = HashMap::with_capacity(users.len());
        for user in users {
            if map.contains_key(&user.name) {
                return Err(UserError::Duplicate(user.name));
            }
            map.insert(user.name.clone(), user);
        }
        Ok(UserStore { users: map })
    }

    pub fn get(&self, name: &str) -> Option<&User> {
        self.users.get(name)
    }

    /// Every user, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &User> {
        self.users.values()
    }

    /// How many users there are.
    pub fn len(&self) -> usize {
        self.users.len()
    }

    /// The user's root, if the user exists.
    #[cfg(test)]
    pub fn root(&self, name: &str) -> Option<&std::path::Path> {
        self.users.get(name).map(|u| u.policy.root.as_path())
    }
}

impl Source for UserStore {
    fn name(&self) -> &'static str {
        "config"
    }

    fn lookup(&self, user: &str) -> Result<Option<User>, SourceError> {
        Ok(self.get(user).cloned())
    }
}

/// A user name must be safe to log and to compare: printable, no spaces,
/// no path separators or colons, at most 64 bytes.
pub fn check_user_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("user name is empty".into());
    }
    if name.len() > 64 {
        return Err("user name is longer than 64 bytes".into());
    }
    if name
        .chars()
        .any(|c| c.is_control() || c.is_whitespace() || c == '/' || c == ':')
    {
        return Err(format!(
            "user name {name:?} has spaces, control characters, `/` or `:`"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 8709 §6 does not give a public key line; this is the Ed25519 key
    // of RFC 8032 §7.1 TEST 1 (public key d75a9801...) in OpenSSH's
    // encoding: string "ssh-ed25519" || string key.
    const ED25519_LINE: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINdamAGCsQq31Uv+08lkBzoO4XLz2qYjJa8CGmj3B1Ea test@example";

    fn alice() -> User {
        let mut u = User::new("alice", "/srv/alice".into());
        u.password_hash = Some(StoredHash::parse(&hash_password(b"s3cret").unwrap()).unwrap());
        u.authorized_keys = vec![parse_authorized_key(ED25519_LINE).unwrap().unwrap()];
        u
    }

    #[test]
    fn the_test_key_line_decodes_to_the_rfc_8032_key() {
        let key = parse_authorized_key(ED25519_LINE).unwrap().unwrap().key;
        let blob = key.blob();
        // 4-byte length, "ssh-ed25519", 4-byte length, the 32-byte key.
        assert_eq!(blob.len(), 4 + 11 + 4 + 32);
        assert_eq!(
            blob.get(19..).unwrap(),
            [
                0xd7, 0x5a, 0x98, 0x01, 0x82, 0xb1, 0x0a, 0xb7, 0xd5, 0x4b, 0xfe, 0xd3, 0xc9, 0x64,
                0x07, 0x3a, 0x0e, 0xe1, 0x72, 0xf3, 0xda, 0xa6, 0x23, 0x25, 0xaf, 0x02, 0x1a, 0x68,
                0xf7, 0x07, 0x51, 0x1a
            ]
        );
    }

    #[test]
    fn duplicate_names_are_refused() {
        let err = UserStore::new(vec![alice(), alice()]).unwrap_err();
        assert_eq!(err.to_string(), "duplicate user `alice`");
    }

    #[test]
    fn store_lookups() {
        let store = UserStore::new(vec![alice()]).unwrap();
        assert_eq!(store.len(), 1);
        assert_eq!(
            store.root("alice"),
            Some(std::path::Path::new("/srv/alice"))
        );
        assert_eq!(store.root("bob"), None);
        assert!(store.lookup("alice").unwrap().is_some());
        assert!(store.lookup("bob").unwrap().is_none());
        let shown = format!("{store:?} {:?}", store.get("alice").unwrap());
        assert!(!shown.contains("argon2"), "{shown}");
    }

    #[test]
    fn user_names() {
        assert!(check_user_name("alice").is_ok());
        assert!(check_user_name("j.doe-2@corp").is_ok());
        for bad in ["", "a b", "a/b", "a:b", "a\nb", &"x".repeat(65)] {
            assert!(check_user_name(bad).is_err(), "{bad:?}");
        }
    }
}
