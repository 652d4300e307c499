//! The server's user directory: the configured sources asked in order, the
//! login policy checks, the key blacklist, session counts and bans.
//!
//! Lookups go to the sources on every attempt (no cache of credentials), so
//! `wharf user` changes take effect at the next login without a restart.
//! The first source that knows a user answers for them; a source that
//! fails (a database down) refuses the login rather than letting a later
//! source answer for a name it may not own.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use subtle::ConstantTimeEq;
use wharf_crypto::hostkey::{Certificate, PublicKey};

use super::ban::{BanConfig, BanList};
use super::chains::MethodList;
use super::password::{hash_password, random_password, PasswordError};
use super::when::unix_now;
use super::{StoredHash, User, UserPolicy};
use crate::server::directory::{LoginContext, UserDirectory};

/// A place users come from.
pub trait Source: Send + Sync {
    /// For logs: "config", "sqlite", "postgres", "system".
    fn name(&self) -> &'static str;
    /// The user, None if this source does not know them. May block.
    fn lookup(&self, user: &str) -> Result<Option<User>, SourceError>;
}

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("sqlite database {path}: {error}")]
    Sqlite {
        path: String,
        #[source]
        error: rusqlite::Error,
    },
    #[error("postgres: {0}")]
    Postgres(String),
    #[error("{path}: {message}")]
    File { path: String, message: String },
    #[error("stored user `{user}` is invalid: {message}")]
    Invalid { user: String, message: String },
}

impl<S: Source + ?Sized> Source for Arc<S> {
    fn name(&self) -> &'static str {
        (**self).name()
    }
    fn lookup(&self, user: &str) -> Result<Option<User>, SourceError> {
        (**self).lookup(user)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("user source: {0}")]
    Source(#[from] SourceError),
    #[error("{0}")]
    Password(#[from] PasswordError),
}

/// The directory `wharf serve` runs with: the sources of `[auth]` in
/// order (the SQLite database is created, mode 0600, if missing), the
/// blacklist and the ban settings.
pub fn open_directory(config: &crate::config::Config) -> Result<Directory, OpenError> {
    use crate::config::SourceSpec;
    let mut sources: Vec<Box<dyn Source>> = Vec::new();
    for spec in &config.auth.sources {
        match spec {
            SourceSpec::Config => sources.push(Box::new(config.users.clone())),
            SourceSpec::Sqlite(path) => {
                let db = super::sqlite::SqliteDb::open(path, true)?;
                tracing::info!(path = %path.display(), "user database");
                sources.push(Box::new(db));
            }
            SourceSpec::Postgres { url, pool_size } => {
                sources.push(Box::new(super::postgres::PgDb::new(url, *pool_size)?))
            }
            SourceSpec::System { min_uid } => {
                sources.push(Box::new(super::system::SystemSource::new(*min_uid)))
            }
        }
    }
    Ok(
        Directory::new(sources, config.auth.key_blacklist.clone(), config.auth.ban)?
            .with_chains(config.auth.authentication_methods.clone())
            .with_trusted_cas(config.auth.trusted_user_ca_keys.clone())
            .with_hostbased(config.auth.hostbased.clone()),
    )
}

/// How many users' login-time policies are remembered for their sessions;
/// past it, entries of users without a session are dropped.
const MAX_REMEMBERED: usize = 10_000;

#[derive(Default)]
struct Sessions {
    open: HashMap<String, u32>,
    policies: HashMap<String, Arc<UserPolicy>>,
}

pub struct Directory {
    sources: Vec<Box<dyn Source>>,
    /// Checked instead of a real hash for unknown users and users without a
    /// password, so those attempts cost what a real one does.
    dummy: StoredHash,
    /// SHA256:... fingerprints refused everywhere.
    blacklist: HashSet<String>,
    bans: BanList,
    sessions: Mutex<Sessions>,
    /// `[auth] authentication_methods`: for users without their own.
    chains: Vec<MethodList>,
    /// `[auth] trusted_user_ca_keys`.
    trusted_cas: Vec<PublicKey>,
    /// `[auth] hostbased`: the trusted client hosts; None: hostbased off.
    hostbased: Option<super::hostbased::TrustedHosts>,
    /// The last TOTP step accepted per user: RFC 6238 §5.2 says a code
    /// must not be accepted twice. In memory only, so a restart within a
    /// code's 90 s window could accept it once more.
    totp_steps: Mutex<HashMap<String, u64>>,
}

impl std::fmt::Debug for Directory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.sources.iter().map(|s| s.name()).collect();
        f.debug_struct("Directory")
            .field("sources", &names)
            .field("blacklist", &self.blacklist.len())
            .finish()
    }
}

enum Found {
    User(Box<User>),
    Unknown,
    Failed,
}

impl Directory {
    /// Costs one argon2 hash (the dummy).
    pub fn new(
        sources: Vec<Box<dyn Source>>,
        blacklist: HashSet<String>,
        ban: BanConfig,
    ) -> Result<Directory, PasswordError> {
        let dummy_password = random_password();
        let dummy = StoredHash::parse(&hash_password(dummy_password.as_bytes())?)
            .map_err(|_| PasswordError::Empty)?;
        Ok(Directory {
            sources,
            dummy,
            blacklist,
            bans: BanList::new(ban),
            sessions: Mutex::new(Sessions::default()),
            chains: Vec::new(),
            trusted_cas: Vec::new(),
            hostbased: None,
            totp_steps: Mutex::new(HashMap::new()),
        })
    }

    /// The server-wide method chains.
    pub fn with_chains(mut self, chains: Vec<MethodList>) -> Directory {
        self.chains = chains;
        self
    }

    /// The CAs trusted for every user.
    pub fn with_trusted_cas(mut self, cas: Vec<PublicKey>) -> Directory {
        self.trusted_cas = cas;
        self
    }

    /// Turns hostbased authentication on, trusting these hosts.
    pub fn with_hostbased(mut self, hosts: Option<super::hostbased::TrustedHosts>) -> Directory {
        self.hostbased = hosts;
        self
    }

    /// Whether `cert` is good for `user` under a CA trusted server-wide
    /// (principal: the user's name) or one of the user's cert-authority
    /// lines (principal: the name, or one of its `principals=`); the line's
    /// `from=` and `expiry-time=` apply. Returns the matching line's
    /// sftp-only flag, for the session.
    fn cert_trusted(&self, user: &User, cert: &Certificate, cx: &LoginContext) -> Option<bool> {
        let ca = cert.ca_key().blob();
        let now = unix_now(cx.now);
        let now_u = u64::try_from(now).unwrap_or(0);
        let ip = cx.peer.ip();
        let mut server_ca = false;
        for trusted in &self.trusted_cas {
            let eq: bool = trusted.blob().ct_eq(ca).into();
            server_ca |= eq;
        }
        let mut why: Option<String> = None;
        if server_ca {
            match cert.check_for_user(&user.name, now_u, ip) {
                Ok(()) => return Some(false),
                Err(e) => why = Some(e.to_string()),
            }
        }
        for entry in &user.authorized_keys {
            let o = &entry.options;
            let eq: bool = entry.key.blob().ct_eq(ca).into();
            if !o.cert_authority || !eq {
                continue;
            }
            if o.from.as_ref().is_some_and(|f| !f.allows(ip)) {
                why = Some("cert-authority line: from= does not match".into());
                continue;
            }
            if o.expiry_time.is_some_and(|t| now >= t) {
                why = Some("cert-authority line: expiry-time= has passed".into());
                continue;
            }
            // With principals=, one of the certificate's principals must be
            // listed (sshd's match_principals_option); without, the user's
            // name must be a principal. check_for_user checks validity with
            // whichever principal is the match.
            let candidates: Vec<&str> = match &o.principals {
                Some(listed) => cert
                    .principals()
                    .iter()
                    .filter(|p| listed.contains(p))
                    .map(String::as_str)
                    .collect(),
                None => vec![user.name.as_str()],
            };
            if candidates.is_empty() {
                why = Some("no certificate principal is in the line's principals=".into());
            }
            for principal in candidates {
                match cert.check_for_user(principal, now_u, ip) {
                    Ok(()) => return Some(o.sftp_only),
                    Err(e) => why = Some(e.to_string()),
                }
            }
        }
        tracing::info!(
            peer = %cx.peer,
            user = %user.name,
            ca = %cert.ca_key().fingerprint_sha256(),
            key_id = %cert.key_id(),
            reason = why.as_deref().unwrap_or("the CA is not trusted for this user"),
            "certificate refused"
        );
        None
    }

    fn find(&self, name: &str) -> Found {
        for source in &self.sources {
            match source.lookup(name) {
                Ok(Some(user)) => return Found::User(Box::new(user)),
                Ok(None) => {}
                Err(e) => {
                    tracing::error!(source = source.name(), user = %name, error = %e, "user lookup failed; refusing the login");
                    return Found::Failed;
                }
            }
        }
        Found::Unknown
    }

    /// Why the account may not log in now, for the server's log.
    fn refusal(&self, user: &User, cx: &LoginContext) -> Option<&'static str> {
        if let Some(why) = user.policy.login_refusal(cx.peer.ip(), unix_now(cx.now)) {
            return Some(why);
        }
        if let Some(max) = user.policy.max_sessions {
            let open = self
                .sessions
                .lock()
                .map(|s| s.open.get(&user.name).copied().unwrap_or(0))
                .unwrap_or(u32::MAX);
            if open >= max {
                return Some("max_sessions reached");
            }
        }
        None
    }

    /// Whether `password` matches the user's hash; for an unknown user or
    /// one without a password the dummy hash is checked, so every answer
    /// costs one hash.
    fn password_matches(&self, user: Option<&User>, password: &str) -> bool {
        match user.and_then(|u| u.password_hash.as_ref()) {
            Some(hash) => hash.verify(password.as_bytes()),
            None => {
                // black_box: the result is unused, but the work must happen.
                std::hint::black_box(self.dummy.verify(password.as_bytes()));
                false
            }
        }
    }

    /// Checks a TOTP code and, when right, remembers its step so it cannot
    /// be used again (the lock is held across both, so two connections
    /// cannot both spend one code).
    fn totp_matches(&self, user: &User, code: &str, cx: &LoginContext) -> bool {
        let Some(totp) = &user.totp else {
            return false;
        };
        let now = u64::try_from(unix_now(cx.now)).unwrap_or(0);
        let Ok(mut steps) = self.totp_steps.lock() else {
            return false;
        };
        let last = steps.get(&user.name).copied();
        match totp.verify_unused(code, now, last) {
            Some(step) => {
                steps.insert(user.name.clone(), step);
                true
            }
            None => false,
        }
    }

    /// Keeps the policy the user's sessions will run with.
    fn remember(&self, user: &User, sftp_only: bool) {
        let mut policy = user.policy.clone();
        if sftp_only {
            policy.scp = Some(false);
        }
        if let Ok(mut s) = self.sessions.lock() {
            if s.policies.len() >= MAX_REMEMBERED && !s.policies.contains_key(&user.name) {
                let Sessions { open, policies } = &mut *s;
                policies.retain(|name, _| open.contains_key(name));
            }
            s.policies.insert(user.name.clone(), Arc::new(policy));
        }
    }
}

impl UserDirectory for Directory {
    fn verify_password(&self, name: &str, password: &str, cx: &LoginContext) -> bool {
        let found = self.find(name);
        let user = match &found {
            Found::User(u) => Some(&**u),
            Found::Unknown | Found::Failed => None,
        };
        let hash_ok = self.password_matches(user, password);
        let Some(user) = user else {
            return false;
        };
        if !hash_ok {
            return false;
        }
        // A password alone must not get past a second factor.
        if user.totp.is_some() {
            tracing::info!(peer = %cx.peer, user = %name, "password method refused: the user has a TOTP second factor (keyboard-interactive asks for both)");
            return false;
        }
        // Only after a correct password: a refusal is then logged (the
        // client is told nothing more than for a wrong password).
        if let Some(why) = self.refusal(user, cx) {
            tracing::info!(peer = %cx.peer, user = %name, reason = why, "login refused by policy");
            return false;
        }
        self.remember(user, false);
        true
    }

    fn key_allowed(&self, name: &str, key: &PublicKey, signed: bool, cx: &LoginContext) -> bool {
        if self.key_blacklisted(key) {
            return false;
        }
        let Found::User(user) = self.find(name) else {
            return false;
        };
        // Every key is compared, each in constant time; the first match
        // decides (as sshd uses the first matching line).
        let mut matched = None;
        for entry in &user.authorized_keys {
            let eq: bool = entry.key.blob().ct_eq(key.blob()).into();
            if eq && matched.is_none() {
                matched = Some(entry);
            }
        }
        let Some(entry) = matched else {
            return false;
        };
        // Logged for queries too: the key matched, so this is no routine
        // probing of keys the user does not have.
        if let Some(why) = entry.refusal(cx.peer.ip(), unix_now(cx.now)) {
            tracing::info!(peer = %cx.peer, user = %name, reason = why, "key refused by its options");
            return false;
        }
        if let Some(why) = self.refusal(&user, cx) {
            tracing::info!(peer = %cx.peer, user = %name, reason = why, "login refused by policy");
            return false;
        }
        if signed {
            self.remember(&user, entry.options.sftp_only);
        }
        true
    }

    fn has_second_factor(&self, name: &str) -> bool {
        matches!(self.find(name), Found::User(u) if u.totp.is_some())
    }

    fn verify_kbd(&self, name: &str, answers: &[&str], cx: &LoginContext) -> bool {
        let found = self.find(name);
        let user = match &found {
            Found::User(u) => Some(&**u),
            Found::Unknown | Found::Failed => None,
        };
        let (password, code) = match answers {
            [pw] => (*pw, None),
            [pw, code] => (*pw, Some(*code)),
            _ => return false,
        };
        let hash_ok = self.password_matches(user, password);
        let Some(user) = user else {
            return false;
        };
        if !hash_ok {
            return false;
        }
        // The code is checked only after a right password, so codes cannot
        // be tried (or spent) without it. The number of answers must fit
        // the enrolment (it may have changed since the prompts were sent).
        let second_ok = match code {
            None => user.totp.is_none(),
            Some(code) => self.totp_matches(user, code.trim(), cx),
        };
        if !second_ok {
            tracing::info!(peer = %cx.peer, user = %name, "verification code refused");
            return false;
        }
        if let Some(why) = self.refusal(user, cx) {
            tracing::info!(peer = %cx.peer, user = %name, reason = why, "login refused by policy");
            return false;
        }
        self.remember(user, false);
        true
    }

    fn cert_allowed(
        &self,
        name: &str,
        cert: &Certificate,
        signed: bool,
        cx: &LoginContext,
    ) -> bool {
        // Both the certified key and its CA: a compromised CA key revokes
        // every certificate it signed.
        if self.key_blacklisted(cert.key()) || self.key_blacklisted(cert.ca_key()) {
            return false;
        }
        let Found::User(user) = self.find(name) else {
            return false;
        };
        let Some(mut sftp_only) = self.cert_trusted(&user, cert, cx) else {
            return false;
        };
        // force-command: like command= in authorized_keys, only an SFTP
        // server can be honoured; Wharf runs no other program, and
        // ignoring the option would grant more than the CA signed.
        if let Some(cmd) = cert.force_command() {
            if !super::keys::is_sftp_command(cmd) {
                tracing::info!(peer = %cx.peer, user = %name, "certificate refused: force-command cannot be honoured");
                return false;
            }
            sftp_only = true;
        }
        if let Some(why) = self.refusal(&user, cx) {
            tracing::info!(peer = %cx.peer, user = %name, reason = why, "login refused by policy");
            return false;
        }
        if signed {
            self.remember(&user, sftp_only);
        }
        true
    }

    fn hostbased_allowed(
        &self,
        name: &str,
        key: &PublicKey,
        client_host: &str,
        client_user: &str,
        cx: &LoginContext,
    ) -> bool {
        let Some(hosts) = &self.hostbased else {
            return false;
        };
        if self.key_blacklisted(key) {
            return false;
        }
        if let Err(why) = hosts.check(
            key,
            client_host,
            cx.peer.ip(),
            super::hostbased::resolve_host,
        ) {
            tracing::info!(peer = %cx.peer, user = %name, %client_host, reason = %why, "client host not trusted");
            return false;
        }
        // Like sshd with hosts.equiv and no .shosts: the trusted host
        // vouches for its user of the same name only.
        if client_user != name {
            tracing::info!(peer = %cx.peer, user = %name, %client_user, "hostbased refused: the client user is another user");
            return false;
        }
        let Found::User(user) = self.find(name) else {
            return false;
        };
        if let Some(why) = self.refusal(&user, cx) {
            tracing::info!(peer = %cx.peer, user = %name, reason = why, "login refused by policy");
            return false;
        }
        self.remember(&user, false);
        true
    }

    fn auth_methods(&self, name: &str) -> Option<Vec<MethodList>> {
        match self.find(name) {
            Found::User(user) => Some(
                user.policy
                    .authentication_methods
                    .clone()
                    .unwrap_or_else(|| self.chains.clone()),
            ),
            Found::Unknown => Some(self.chains.clone()),
            Found::Failed => None,
        }
    }

    fn key_blacklisted(&self, key: &PublicKey) -> bool {
        if self.blacklist.is_empty() {
            return false;
        }
        let fp = key.fingerprint_sha256();
        let hit = self.blacklist.contains(&fp);
        if hit {
            tracing::warn!(fingerprint = %fp, "blacklisted key refused");
        }
        hit
    }

    fn policy(&self, user: &str) -> Option<Arc<UserPolicy>> {
        self.sessions.lock().ok()?.policies.get(user).cloned()
    }

    fn auth_failed(&self, peer: IpAddr) {
        if self.bans.failure(peer, Instant::now()) {
            tracing::warn!(%peer, "too many failed logins: address banned");
        }
    }

    fn is_banned(&self, peer: IpAddr) -> bool {
        self.bans.is_banned(peer, Instant::now())
    }

    fn session_opened(&self, user: &str) {
        if let Ok(mut s) = self.sessions.lock() {
            *s.open.entry(user.to_owned()).or_insert(0) += 1;
        }
    }

    fn session_closed(&self, user: &str) {
        if let Ok(mut s) = self.sessions.lock() {
            if let Some(n) = s.open.get_mut(user) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    s.open.remove(user);
                }
            }
        }
    }
}

/// Reads a key blacklist: one entry a line, either a `SHA256:...`
/// fingerprint or a public key line (its fingerprint is taken); `#`
/// comments and blank lines are skipped.
pub fn parse_blacklist(text: &str) -> Result<Vec<String>, (usize, String)> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        out.push(blacklist_entry(line).map_err(|e| (i + 1, e))?);
    }
    Ok(out)
}

/// One blacklist entry, normalised to the `SHA256:...` fingerprint.
pub fn blacklist_entry(text: &str) -> Result<String, String> {
    let text = text.trim();
    if let Some(b64) = text.strip_prefix("SHA256:") {
        // 32 bytes in unpadded base64 are 43 characters.
        let ok = b64.len() == 43
            && b64
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/');
        return if ok {
            Ok(text.to_owned())
        } else {
            Err(format!(
                "bad fingerprint `{text}`: expected SHA256: and 43 base64 characters"
            ))
        };
    }
    match super::parse_authorized_key(text) {
        Ok(Some(k)) => Ok(k.key.fingerprint_sha256()),
        _ => Err(format!(
            "bad blacklist entry `{}`: expected a SHA256:... fingerprint or a public key line",
            text.chars().take(40).collect::<String>()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::users::{parse_authorized_key, UserStore};
    use std::net::SocketAddr;
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    /// RFC 8032 §7.1 TEST 1's public key as an OpenSSH line.
    const KEY: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINdamAGCsQq31Uv+08lkBzoO4XLz2qYjJa8CGmj3B1Ea test@example";
    /// The same key's fingerprint, as `ssh-keygen -lf` prints it.
    const KEY_FP: &str = "SHA256:bbXpuKG6zhzdmnxq256TlqzFBzRl2f6OOg722cYNbU8";
    /// Drepper's SHA-crypt test vector: "Hello world!".
    const HASH: &str = "$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5";

    fn cx(peer: &str) -> LoginContext {
        LoginContext {
            peer: SocketAddr::new(peer.parse().unwrap(), 50000),
            now: UNIX_EPOCH + Duration::from_secs(1_700_000_000),
        }
    }

    fn user(name: &str) -> User {
        let mut u = User::new(name, format!("/srv/{name}").into());
        u.password_hash = Some(StoredHash::parse(HASH).unwrap());
        u.authorized_keys = vec![parse_authorized_key(KEY).unwrap().unwrap()];
        u
    }

    fn dir(users: Vec<User>, blacklist: &[&str]) -> Directory {
        Directory::new(
            vec![Box::new(UserStore::new(users).unwrap())],
            blacklist.iter().map(|s| s.to_string()).collect(),
            BanConfig::OFF,
        )
        .unwrap()
    }

    fn key() -> PublicKey {
        parse_authorized_key(KEY).unwrap().unwrap().key
    }

    #[test]
    fn the_fingerprint_is_the_one_ssh_keygen_prints() {
        assert_eq!(key().fingerprint_sha256(), KEY_FP);
        assert_eq!(blacklist_entry(KEY).unwrap(), KEY_FP);
    }

    #[test]
    fn passwords_and_policy() {
        let mut disabled = user("dis");
        disabled.policy.disabled = true;
        let mut expired = user("old");
        expired.policy.expires_at = Some(1_600_000_000);
        let mut local = user("local");
        local.policy.allowed_networks = vec!["10.0.0.0/8".parse().unwrap()];
        let d = dir(vec![user("alice"), disabled, expired, local], &[]);
        let c = cx("127.0.0.1");
        assert!(d.verify_password("alice", "Hello world!", &c));
        assert!(!d.verify_password("alice", "Hello world?", &c));
        assert!(!d.verify_password("nobody", "Hello world!", &c));
        assert!(!d.verify_password("dis", "Hello world!", &c));
        assert!(!d.verify_password("old", "Hello world!", &c));
        assert!(!d.verify_password("local", "Hello world!", &c));
        assert!(d.verify_password("local", "Hello world!", &cx("10.2.3.4")));
        assert_eq!(
            d.policy("alice").map(|p| p.root.clone()),
            Some("/srv/alice".into())
        );
        assert!(d.policy("dis").is_none());
    }

    #[test]
    fn keys_options_and_blacklist() {
        let mut from = user("from");
        from.authorized_keys = vec![parse_authorized_key(&format!(
            "from=\"10.0.0.0/8\",command=\"internal-sftp\" {KEY}"
        ))
        .unwrap()
        .unwrap()];
        let d = dir(vec![user("alice"), from], &[]);
        let c = cx("127.0.0.1");
        assert!(d.key_allowed("alice", &key(), true, &c));
        assert!(!d.key_allowed("nobody", &key(), true, &c));
        assert!(!d.key_allowed("from", &key(), true, &c));
        assert!(d.key_allowed("from", &key(), true, &cx("10.0.0.1")));
        // command="internal-sftp": SCP is off for that login.
        assert_eq!(d.scp_allowed("from"), Some(false));
        let black = dir(vec![user("alice")], &[KEY_FP]);
        assert!(black.key_blacklisted(&key()));
        assert!(!black.key_allowed("alice", &key(), true, &c));
    }

    #[test]
    fn sessions_are_counted_against_max_sessions() {
        let mut u = user("alice");
        u.policy.max_sessions = Some(1);
        let d = dir(vec![u], &[]);
        let c = cx("127.0.0.1");
        assert!(d.verify_password("alice", "Hello world!", &c));
        d.session_opened("alice");
        assert!(!d.verify_password("alice", "Hello world!", &c));
        assert!(!d.key_allowed("alice", &key(), true, &c));
        d.session_closed("alice");
        assert!(d.key_allowed("alice", &key(), true, &c));
        d.session_closed("alice");
        d.session_opened("alice");
        assert!(!d.key_allowed("alice", &key(), false, &c));
    }

    struct Broken;
    impl Source for Broken {
        fn name(&self) -> &'static str {
            "broken"
        }
        fn lookup(&self, _: &str) -> Result<Option<User>, SourceError> {
            Err(SourceError::Postgres("down".into()))
        }
    }

    #[test]
    fn sources_answer_in_order_and_a_failure_refuses() {
        let mut second = user("alice");
        second.password_hash = None;
        let d = Directory::new(
            vec![
                Box::new(UserStore::new(vec![user("alice")]).unwrap()),
                Box::new(UserStore::new(vec![second, user("bob")]).unwrap()),
            ],
            HashSet::new(),
            BanConfig::OFF,
        )
        .unwrap();
        let c = cx("127.0.0.1");
        assert!(d.verify_password("alice", "Hello world!", &c));
        assert!(d.verify_password("bob", "Hello world!", &c));
        let d = Directory::new(
            vec![
                Box::new(Broken),
                Box::new(UserStore::new(vec![user("alice")]).unwrap()),
            ],
            HashSet::new(),
            BanConfig::OFF,
        )
        .unwrap();
        assert!(!d.verify_password("alice", "Hello world!", &c));
        assert!(!d.key_allowed("alice", &key(), true, &c));
    }

    #[test]
    fn blacklist_files() {
        let text = format!("# known bad\n\n{KEY_FP}\n{KEY}\n");
        assert_eq!(parse_blacklist(&text).unwrap(), [KEY_FP, KEY_FP]);
        assert_eq!(parse_blacklist("SHA256:short\n").unwrap_err().0, 1);
        assert!(parse_blacklist("# x\nMD5:aa:bb\n")
            .unwrap_err()
            .1
            .contains("bad blacklist entry"));
        let _ = SystemTime::now();
    }

    /// keyboard-interactive with a TOTP second factor. Codes: RFC 6238
    /// Appendix B, SHA-1, secret "12345678901234567890": T=1111111109 gives
    /// 07081804 and T=1111111111 gives 14050471; six digits are the last six
    /// (HOTP truncation is modulo 10^digits, RFC 4226 §5.3).
    #[test]
    fn totp_second_factor() {
        let mut two = user("two");
        two.totp = Some(wharf_crypto::totp::Totp::new(b"12345678901234567890").unwrap());
        let d = dir(vec![user("alice"), two], &[]);
        let at = |t: u64| LoginContext {
            peer: SocketAddr::new("127.0.0.1".parse().unwrap(), 50000),
            now: UNIX_EPOCH + Duration::from_secs(t),
        };
        assert!(d.has_second_factor("two"));
        assert!(!d.has_second_factor("alice"));
        assert!(!d.has_second_factor("nobody"));
        // The password method alone cannot pass the second factor.
        assert!(!d.verify_password("two", "Hello world!", &at(1111111109)));
        // Only the password: refused for a TOTP user.
        assert!(!d.verify_kbd("two", &["Hello world!"], &at(1111111109)));
        assert!(!d.verify_kbd("two", &["Hello world!", "081805"], &at(1111111109)));
        assert!(d.verify_kbd("two", &["Hello world!", "081804"], &at(1111111109)));
        // RFC 6238 §5.2: the same code is not accepted twice.
        assert!(!d.verify_kbd("two", &["Hello world!", "081804"], &at(1111111110)));
        // A wrong password does not spend the next code.
        assert!(!d.verify_kbd("two", &["Hello world?", "050471"], &at(1111111111)));
        assert!(d.verify_kbd("two", &["Hello world!", "050471"], &at(1111111111)));
        // Users without TOTP answer the password alone.
        assert!(d.verify_kbd("alice", &["Hello world!"], &at(1111111111)));
        assert!(!d.verify_kbd("alice", &["Hello world!", "050471"], &at(1111111111)));
        assert!(!d.verify_kbd("nobody", &["Hello world!"], &at(1111111111)));
    }

    /// Hostbased: the host key (here RFC 8032 TEST 1's) trusted for
    /// localhost, as a client on loopback calling itself "localhost.".
    #[test]
    fn hostbased_needs_the_host_the_user_and_the_policy() {
        use crate::users::hostbased::{parse_known_hosts, TrustedHosts};
        let hosts = TrustedHosts::new(parse_known_hosts(&format!("localhost {KEY}\n")).unwrap());
        let mut dis = user("dis");
        dis.policy.disabled = true;
        let c = cx("127.0.0.1");
        let off = dir(vec![user("alice")], &[]);
        assert!(!off.hostbased_allowed("alice", &key(), "localhost.", "alice", &c));
        let d = dir(vec![user("alice"), dis.clone()], &[]).with_hostbased(Some(hosts.clone()));
        assert!(d.hostbased_allowed("alice", &key(), "localhost.", "alice", &c));
        assert!(d.policy("alice").is_some());
        // Another client user, an unknown or disabled user, another host name.
        assert!(!d.hostbased_allowed("alice", &key(), "localhost.", "root", &c));
        assert!(!d.hostbased_allowed("nobody", &key(), "localhost.", "nobody", &c));
        assert!(!d.hostbased_allowed("dis", &key(), "localhost.", "dis", &c));
        assert!(!d.hostbased_allowed("alice", &key(), "localhost.", "alice", &cx("10.0.0.1")));
        let black = dir(vec![user("alice")], &[KEY_FP]).with_hostbased(Some(hosts));
        assert!(!black.hostbased_allowed("alice", &key(), "localhost.", "alice", &c));
    }

    #[test]
    fn chains_per_user_or_server_wide() {
        use crate::users::chains::parse_method_list;
        let mut own = user("own");
        own.policy.authentication_methods = Some(vec![parse_method_list("password").unwrap()]);
        let server = vec![parse_method_list("publickey,password").unwrap()];
        let d = dir(vec![user("alice"), own], &[]).with_chains(server.clone());
        assert_eq!(d.auth_methods("alice"), Some(server.clone()));
        assert_eq!(d.auth_methods("nobody"), Some(server));
        assert_eq!(
            d.auth_methods("own"),
            Some(vec![vec![wharf_ssh::AuthMethod::Password]])
        );
    }
}
