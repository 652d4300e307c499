//! What the connection driver needs to know about users, whatever their
//! source (the config file, SQLite, PostgreSQL, the system's accounts).
//!
//! The checks that may block (argon2, a database query) are called on
//! tokio's blocking pool by `server::auth`; the rest are cheap and called
//! on the connection task. A source behind a database is never queried
//! from the connection task: the policy a session runs with is the one
//! its successful authentication fetched.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::SystemTime;

use wharf_crypto::hostkey::{Certificate, PublicKey};

use crate::users::chains::MethodList;

use crate::users::UserPolicy;

/// Where and when an authentication attempt happens.
#[derive(Clone, Copy, Debug)]
pub struct LoginContext {
    pub peer: SocketAddr,
    pub now: SystemTime,
}

pub trait UserDirectory: Send + Sync + 'static {
    /// Checks a password and the account's login policy. Blocking (argon2,
    /// a database): call on the blocking pool. Costs the same for unknown,
    /// disabled and expired users as for a wrong password.
    fn verify_password(&self, user: &str, password: &str, cx: &LoginContext) -> bool;
    /// Whether `key` may log in as `user` (authorized_keys options and the
    /// account's policy included). `signed`: the client proved possession;
    /// false for a query. Blocking (a database): call on the blocking pool.
    fn key_allowed(&self, user: &str, key: &PublicKey, signed: bool, cx: &LoginContext) -> bool;
    /// Whether the user has a second factor (TOTP), so keyboard-interactive
    /// asks for a password and a code. Blocking (a lookup). Default: none.
    fn has_second_factor(&self, _user: &str) -> bool {
        false
    }
    /// Checks keyboard-interactive answers: the password alone, or the
    /// password and a TOTP code for a user with a second factor; the
    /// account's policy as `verify_password`. Blocking. Default: the
    /// password alone.
    fn verify_kbd(&self, user: &str, answers: &[&str], cx: &LoginContext) -> bool {
        match answers {
            [pw] => self.verify_password(user, pw, cx),
            _ => false,
        }
    }
    /// Whether the user certificate `cert` (its CA signature already
    /// verified by the core) may log in as `user`: its CA trusted
    /// server-wide or by a `cert-authority` line of the user, the
    /// certificate valid for the user now, neither key blacklisted, and the
    /// account's policy. Blocking: call on the blocking pool. Default: no
    /// certificates.
    fn cert_allowed(
        &self,
        _user: &str,
        _cert: &Certificate,
        _signed: bool,
        _cx: &LoginContext,
    ) -> bool {
        false
    }
    /// Whether the client host, proven by its host key `key` (the core
    /// verified the signature), may log in its user `client_user` as
    /// `user`: hostbased on, the key trusted for `client_host` at the
    /// peer's address and not blacklisted, the same user name on both
    /// sides, and the account's policy. Blocking (name resolution, a
    /// database). Default: no hostbased logins.
    fn hostbased_allowed(
        &self,
        _user: &str,
        _key: &PublicKey,
        _client_host: &str,
        _client_user: &str,
        _cx: &LoginContext,
    ) -> bool {
        false
    }
    /// The method chains `user` must complete (empty: any one method);
    /// None when the user's source cannot answer, which refuses the login.
    /// Blocking (a database): call on the blocking pool.
    fn auth_methods(&self, _user: &str) -> Option<Vec<MethodList>> {
        Some(Vec::new())
    }
    /// Whether `key` is on the server's blacklist (logged when it is).
    /// Cheap. Every method that accepts a key must refuse these.
    fn key_blacklisted(&self, key: &PublicKey) -> bool;
    /// The user's policy as of their latest successful authentication;
    /// None for a user who has not logged in. Cheap.
    fn policy(&self, user: &str) -> Option<Arc<UserPolicy>>;
    /// The user's own SCP setting, overriding the server's; None: no
    /// setting of their own.
    fn scp_allowed(&self, user: &str) -> Option<bool> {
        self.policy(user).and_then(|p| p.scp)
    }
    /// Counts a failed attempt from `peer` towards a ban.
    fn auth_failed(&self, peer: IpAddr);
    /// Whether `peer` is banned now. Cheap.
    fn is_banned(&self, peer: IpAddr) -> bool;
    /// A session of `user` began (authentication completed) or ended; the
    /// count enforces `max_sessions`.
    fn session_opened(&self, user: &str);
    fn session_closed(&self, user: &str);
}
