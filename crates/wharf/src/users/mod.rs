//! The users a server knows: their roots, password hashes and authorized
//! keys, and the two questions the connection driver asks about them.
//!
//! Both checks are written so their answer and their cost do not reveal
//! whether a user exists: an unknown user's password is checked against a
//! dummy argon2 hash of the same cost as `wharf hash-password` makes, and
//! key comparisons run over every key in constant time per key.

pub mod password;

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use subtle::ConstantTimeEq;
use wharf_crypto::hostkey::PublicKey;

pub use password::{hash_password, random_password, HashKind, PasswordError, StoredHash};

/// One account.
#[derive(Clone)]
pub struct User {
    pub name: String,
    /// What the user sees as "/". Absolute.
    pub root: PathBuf,
    /// None: no password login.
    pub password_hash: Option<StoredHash>,
    pub authorized_keys: Vec<PublicKey>,
    /// Whether this user may use SCP; None: the server's `scp` setting.
    pub scp: Option<bool>,
}

impl fmt::Debug for User {
    // Never shows the hash (StoredHash redacts itself too), and keys only
    // by count: Debug output ends up in logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("User")
            .field("name", &self.name)
            .field("root", &self.root)
            .field("password", &self.password_hash.is_some())
            .field("authorized_keys", &self.authorized_keys.len())
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

/// All users, by name.
pub struct UserStore {
    users: HashMap<String, User>,
    /// Checked instead of a real hash for unknown users and users without a
    /// password, so those attempts cost what a real one does.
    dummy: StoredHash,
}

impl fmt::Debug for UserStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<&String> = self.users.keys().collect();
        names.sort();
        f.debug_struct("UserStore").field("users", &names).finish()
    }
}

impl UserStore {
    /// Builds the store; names must be unique. Costs one argon2 hash.
    pub fn new(users: Vec<User>) -> Result<UserStore, UserError> {
        let mut map = HashMap::with_capacity(users.len());
        for user in users {
            if map.contains_key(&user.name) {
                return Err(UserError::Duplicate(user.name));
            }
            map.insert(user.name.clone(), user);
        }
        let dummy_password = random_password();
        let dummy = StoredHash::parse(&hash_password(dummy_password.as_bytes())?)
            .map_err(|_| UserError::Dummy(PasswordError::Empty))?;
        Ok(UserStore { users: map, dummy })
    }

    pub fn get(&self, name: &str) -> Option<&User> {
        self.users.get(name)
    }

    /// How many users there are.
    pub fn len(&self) -> usize {
        self.users.len()
    }

    /// The user's root, if the user exists.
    pub fn root(&self, name: &str) -> Option<&Path> {
        self.users.get(name).map(|u| u.root.as_path())
    }

    /// Whether `password` is `user`'s password.
    ///
    /// CPU-heavy by design (tens of milliseconds of argon2): the driver
    /// must call it on a blocking thread (`tokio::task::spawn_blocking`).
    /// An unknown user, or one without a password, costs the same as a
    /// wrong password (a dummy hash is checked) and returns false. The
    /// comparison itself is constant-time in every hash scheme.
    pub fn verify_password(&self, user: &str, password: &[u8]) -> bool {
        match self.get(user).and_then(|u| u.password_hash.as_ref()) {
            Some(hash) => hash.verify(password),
            None => {
                // black_box: the result is unused, but the work must happen.
                std::hint::black_box(self.dummy.verify(password));
                false
            }
        }
    }

    /// Whether the public key with wire blob `blob` may log in as `user`.
    /// Cheap; every key of the user is compared, each in constant time.
    pub fn key_allowed(&self, user: &str, blob: &[u8]) -> bool {
        let Some(user) = self.get(user) else {
            return false;
        };
        let mut found = subtle::Choice::from(0u8);
        for key in &user.authorized_keys {
            found |= key.blob().ct_eq(blob);
        }
        found.into()
    }
}

impl crate::server::directory::UserDirectory for UserStore {
    fn verify_password(&self, user: &str, password: &str) -> bool {
        UserStore::verify_password(self, user, password.as_bytes())
    }

    fn key_allowed(&self, user: &str, key: &PublicKey) -> bool {
        UserStore::key_allowed(self, user, key.blob())
    }

    fn root(&self, user: &str) -> Option<PathBuf> {
        UserStore::root(self, user).map(Path::to_path_buf)
    }

    fn scp_allowed(&self, user: &str) -> Option<bool> {
        self.get(user).and_then(|u| u.scp)
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

/// Parses one authorized_keys line (sshd(8) AUTHORIZED_KEYS FILE FORMAT).
/// Ok(None) for blank lines and comments.
///
/// Lines with options (`from="..."`, `command="..."`, `restrict`, ...) are
/// refused rather than accepted without their restrictions: honouring a
/// key while ignoring a `from=` limit would grant more than the owner
/// wrote.
pub fn parse_authorized_key(line: &str) -> Result<Option<PublicKey>, String> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return Ok(None);
    }
    let first = line.split_ascii_whitespace().next().unwrap_or("");
    let looks_like_type = ["ssh-", "ecdsa-", "sk-"]
        .iter()
        .any(|prefix| first.starts_with(prefix));
    if !looks_like_type {
        return Err(format!(
            "key options such as `{}` are not supported; remove them or the key",
            first.chars().take(40).collect::<String>()
        ));
    }
    PublicKey::from_openssh(line)
        .map(Some)
        .map_err(|e| e.to_string())
}

/// Parses an authorized_keys file: the keys, and each bad line's 1-based
/// number with the reason.
pub fn parse_authorized_keys(text: &str) -> (Vec<PublicKey>, Vec<(usize, String)>) {
    let mut keys = Vec::new();
    let mut errors = Vec::new();
    for (index, line) in text.lines().enumerate() {
        match parse_authorized_key(line) {
            Ok(Some(key)) => keys.push(key),
            Ok(None) => {}
            Err(e) => errors.push((index + 1, e)),
        }
    }
    (keys, errors)
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
        User {
            name: "alice".into(),
            root: PathBuf::from("/srv/alice"),
            password_hash: Some(StoredHash::parse(&hash_password(b"s3cret").unwrap()).unwrap()),
            authorized_keys: vec![parse_authorized_key(ED25519_LINE).unwrap().unwrap()],
            scp: None,
        }
    }

    #[test]
    fn the_test_key_line_decodes_to_the_rfc_8032_key() {
        let key = parse_authorized_key(ED25519_LINE).unwrap().unwrap();
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
    fn passwords_verify_only_for_their_user() {
        let mut bob = alice();
        bob.name = "bob".into();
        bob.password_hash = None;
        let store = UserStore::new(vec![alice(), bob]).unwrap();
        assert!(store.verify_password("alice", b"s3cret"));
        assert!(!store.verify_password("alice", b"s3creT"));
        assert!(!store.verify_password("bob", b"s3cret"));
        assert!(!store.verify_password("carol", b"s3cret"));
        assert!(!store.verify_password("", b""));
    }

    #[test]
    fn keys_are_allowed_only_for_their_user() {
        let store = UserStore::new(vec![alice()]).unwrap();
        let blob = parse_authorized_key(ED25519_LINE)
            .unwrap()
            .unwrap()
            .blob()
            .to_vec();
        assert!(store.key_allowed("alice", &blob));
        assert!(!store.key_allowed("bob", &blob));
        let mut other = blob.clone();
        if let Some(last) = other.last_mut() {
            *last ^= 1;
        }
        assert!(!store.key_allowed("alice", &other));
        assert!(!store.key_allowed("alice", &blob[..blob.len() - 1]));
        assert!(!store.key_allowed("alice", b""));
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
        assert_eq!(store.root("alice"), Some(Path::new("/srv/alice")));
        assert_eq!(store.root("bob"), None);
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

    #[test]
    fn authorized_keys_files() {
        let text = format!(
            "# comment\n\n{ED25519_LINE}\nfrom=\"10.0.0.1\" {ED25519_LINE}\nssh-ed25519 AAAA!!!\nssh-rsa\n"
        );
        let (keys, errors) = parse_authorized_keys(&text);
        assert_eq!(keys.len(), 1);
        let lines: Vec<usize> = errors.iter().map(|(n, _)| *n).collect();
        assert_eq!(lines, [4, 5, 6]);
        assert!(
            errors[0]
                .1
                .contains("key options such as `from=\"10.0.0.1\"`"),
            "{}",
            errors[0].1
        );
        assert!(errors[1].1.contains("base64"), "{}", errors[1].1);
    }
}
