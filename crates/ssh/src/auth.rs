//! The server side of user authentication (RFC 4252, RFC 4256).
//!
//! The core parses requests, verifies signatures (public keys,
//! certificates, host-based) and carries the keyboard-interactive
//! dialogue; whether a user, password, key or answer is acceptable is the
//! driver's decision (`Event::AuthRequest`, answered with
//! `Connection::auth_decision`). Input stays unprocessed while a decision
//! is pending and while a failure is held back, so a failing client waits
//! without the server spending a thread on it.
//!
//! Method chains (OpenSSH's AuthenticationMethods) are the driver's too: it
//! answers a correct credential with `AuthDecision::Partial { next }`, the
//! core replies USERAUTH_FAILURE with partial_success set (RFC 4252 §5.1)
//! and from then on accepts only `next`, never a method that already
//! succeeded in this chain.
//!
//! The method handlers live in `auth/`: `pubkey.rs` (publickey with plain
//! keys and certificates, hostbased) and `kbdint.rs` (keyboard-interactive).

mod kbdint;
mod pubkey;

use crate::config::AuthMethod;
use crate::connection::{Connection, ProtocolError};
use crate::event::{AuthAttempt, Event};
use crate::msg;
use crate::wire::{Reader, WriteExt};
use std::time::Instant;
use zeroize::Zeroizing;

pub use kbdint::{InfoRequest, Prompt};

/// Longest user name accepted; longer ones are refused before any lookup.
const MAX_USER_LEN: usize = 256;
/// Longest password or keyboard-interactive answer accepted (OpenSSH uses
/// no limit but a packet's size; nobody types more).
const MAX_PASSWORD_LEN: usize = 1024;

/// The driver's answer to an `Event::AuthRequest`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthDecision {
    /// The attempt succeeded and completes authentication.
    Accept,
    /// The attempt failed; it counts towards `max_auth_tries`.
    Reject,
    /// The attempt succeeded but authentication needs more: the client is
    /// told so (USERAUTH_FAILURE, partial_success = true) and may continue
    /// only with `next`. Methods that already succeeded are dropped from
    /// `next`, as in OpenSSH; `next` overrides `ServerConfig::auth_methods`
    /// (a chain may require a method not offered on its own). For a
    /// public-key query (`signed: false`) this means the same as Accept.
    Partial { next: Vec<AuthMethod> },
    /// keyboard-interactive only: ask the client these questions (one
    /// more round). Its answers come back as
    /// `AuthAttempt::KeyboardInteractiveResponse`.
    InfoRequest(InfoRequest),
}

impl From<bool> for AuthDecision {
    fn from(accept: bool) -> Self {
        if accept {
            AuthDecision::Accept
        } else {
            AuthDecision::Reject
        }
    }
}

#[derive(Default)]
pub(crate) struct AuthState {
    pub(crate) service_accepted: bool,
    pub(crate) client_wants_ext_info: bool,
    /// Set once authentication succeeded.
    pub(crate) user: Option<String>,
    /// The user name of the attempts so far; a change is refused.
    attempted_user: Option<String>,
    failures: u32,
    banner_sent: bool,
    /// An attempt handed to the driver, awaiting `auth_decision`.
    pending: Option<Pending>,
    /// After a partial success: the methods that may continue. None: the
    /// configured methods.
    allowed: Option<Vec<AuthMethod>>,
    /// Methods that succeeded (partially) in this chain, in order.
    completed: Vec<AuthMethod>,
    /// A keyboard-interactive dialogue in progress.
    kbd: Option<kbdint::KbdState>,
    /// A failure reply held until this instant.
    delayed_failure: Option<Instant>,
}

enum Pending {
    Password,
    KbdStart,
    KbdResponse,
    PublicKeyQuery {
        /// The algorithm name as the client sent it (a certificate's name
        /// for a certificate), echoed in PK_OK.
        alg_name: &'static str,
        blob: Vec<u8>,
    },
    PublicKeySigned,
    Hostbased,
}

impl Pending {
    /// The method this attempt belongs to, for chains.
    fn method(&self) -> AuthMethod {
        match self {
            Pending::Password => AuthMethod::Password,
            Pending::KbdStart | Pending::KbdResponse => AuthMethod::KeyboardInteractive,
            Pending::PublicKeyQuery { .. } | Pending::PublicKeySigned => AuthMethod::PublicKey,
            Pending::Hostbased => AuthMethod::Hostbased,
        }
    }
}

impl AuthState {
    pub(crate) fn blocks_input(&self) -> bool {
        self.pending.is_some() || self.delayed_failure.is_some()
    }

    pub(crate) fn delayed_failure_at(&self) -> Option<Instant> {
        self.delayed_failure
    }

    /// True when a held failure is due now.
    pub(crate) fn release_delayed_failure(&mut self, now: Instant) -> bool {
        match self.delayed_failure {
            Some(at) if now >= at => {
                self.delayed_failure = None;
                true
            }
            _ => false,
        }
    }
}

impl Connection {
    /// The driver's answer to `Event::AuthRequest`: an [`AuthDecision`],
    /// or a bool (true = Accept, false = Reject). Ignored when no attempt
    /// is pending.
    pub fn auth_decision(&mut self, decision: impl Into<AuthDecision>) {
        let Some(pending) = self.auth.pending.take() else {
            return;
        };
        let decision = decision.into();
        if !matches!(decision, AuthDecision::InfoRequest(_)) {
            // Any final answer ends a keyboard-interactive dialogue.
            self.auth.kbd = None;
        }
        match (pending, decision) {
            (Pending::KbdStart | Pending::KbdResponse, AuthDecision::InfoRequest(req)) => {
                self.send_info_request(req)
            }
            (_, AuthDecision::InfoRequest(_)) => {
                // A driver bug; failing closed is the only safe reading.
                tracing::warn!("auth_decision: InfoRequest outside keyboard-interactive; refusing");
                self.auth.kbd = None;
                self.count_failure();
            }
            (
                Pending::PublicKeyQuery { alg_name, blob },
                AuthDecision::Accept | AuthDecision::Partial { .. },
            ) => {
                let mut p = Vec::with_capacity(blob.len() + 64);
                p.put_u8(msg::USERAUTH_PK_OK);
                p.put_string(alg_name.as_bytes());
                p.put_string(&blob);
                self.send_payload(p);
            }
            // A refused key counts as an attempt, as in OpenSSH (so keys
            // cannot be probed without limit), but is answered at once:
            // clients offer their keys in turn and are not guessing.
            (Pending::PublicKeyQuery { .. }, AuthDecision::Reject) => self.count_failure_now(),
            (_, AuthDecision::Accept) => {
                let user = self.auth.attempted_user.clone().unwrap_or_default();
                self.send_payload(vec![msg::USERAUTH_SUCCESS]);
                tracing::info!(user = %user, "authenticated");
                self.auth.user = Some(user.clone());
                self.events.push_back(Event::Authenticated { user });
            }
            (pending, AuthDecision::Partial { next }) => {
                self.partial_success(pending.method(), next)
            }
            (_, AuthDecision::Reject) => self.count_failure(),
        }
        self.resume_input();
    }

    /// Methods that already succeeded in this authentication chain, in
    /// order (empty until a `Partial` decision).
    pub fn auth_methods_completed(&self) -> &[AuthMethod] {
        &self.auth.completed
    }

    /// RFC 4252 §5.1: a successful step of a chain is answered with
    /// USERAUTH_FAILURE, partial_success true, listing what may continue.
    fn partial_success(&mut self, method: AuthMethod, mut next: Vec<AuthMethod>) {
        if !self.auth.completed.contains(&method) {
            self.auth.completed.push(method);
        }
        // Drop what already succeeded, and repeats (first one wins).
        let mut seen = self.auth.completed.clone();
        next.retain(|m| {
            let fresh = !seen.contains(m);
            seen.push(*m);
            fresh
        });
        if next.is_empty() {
            // Nothing could ever finish the chain: say so rather than let
            // the client try until max_auth_tries.
            tracing::warn!(user = ?self.auth.attempted_user, "partial success with no method left");
            self.disconnect(
                msg::reason::NO_MORE_AUTH_METHODS_AVAILABLE,
                "No more authentication methods available",
            );
            return;
        }
        tracing::info!(user = ?self.auth.attempted_user, method = method.name(), "partial authentication");
        self.auth.allowed = Some(next);
        self.send_auth_failure(true);
    }

    fn resume_input(&mut self) {
        if !self.auth.blocks_input() && self.closed().is_none() {
            // Re-enter input processing with nothing new: drains what
            // arrived while the decision was pending.
            let now = self.now;
            self.handle_input(now, &[]);
        }
    }

    /// A failed attempt: counted, then answered after the failure delay.
    fn count_failure(&mut self) {
        if !self.record_failure() {
            return;
        }
        if self.config.auth_failure_delay.is_zero() {
            self.send_auth_failure(false);
        } else {
            self.auth.delayed_failure = Some(self.now + self.config.auth_failure_delay);
        }
    }

    /// A failed attempt answered without the delay.
    fn count_failure_now(&mut self) {
        if self.record_failure() {
            self.send_auth_failure(false);
        }
    }

    /// Counts a failure; false when that was the last one allowed and the
    /// connection is being closed.
    fn record_failure(&mut self) -> bool {
        self.auth.failures += 1;
        if self.auth.failures >= self.config.max_auth_tries {
            tracing::info!(user = ?self.auth.attempted_user, "too many authentication failures");
            self.disconnect(
                msg::reason::NO_MORE_AUTH_METHODS_AVAILABLE,
                "Too many authentication failures",
            );
            return false;
        }
        true
    }

    pub(crate) fn send_delayed_auth_failure(&mut self) {
        self.send_auth_failure(false);
    }

    /// The methods a client may use now: the configured ones, or after a
    /// partial success the ones the driver named.
    fn allowed_methods(&self) -> &[AuthMethod] {
        self.auth
            .allowed
            .as_deref()
            .unwrap_or(&self.config.auth_methods)
    }

    fn send_auth_failure(&mut self, partial: bool) {
        let methods: Vec<&str> = self.allowed_methods().iter().map(|m| m.name()).collect();
        let mut p = Vec::with_capacity(64);
        p.put_u8(msg::USERAUTH_FAILURE);
        p.put_name_list(&methods);
        p.put_bool(partial);
        self.send_payload(p);
    }

    fn offers(&self, m: AuthMethod) -> bool {
        self.allowed_methods().contains(&m) && !self.auth.completed.contains(&m)
    }

    /// Hands an attempt to the driver; input waits for its decision.
    fn ask_driver(&mut self, pending: Pending, user: String, attempt: AuthAttempt) {
        self.auth.pending = Some(pending);
        self.events.push_back(Event::AuthRequest { user, attempt });
    }

    pub(crate) fn handle_auth_message(&mut self, payload: &[u8]) -> Result<(), ProtocolError> {
        if self.auth.user.is_some() {
            // RFC 4252 §5.1: requests after success are ignored.
            return Ok(());
        }
        let Some((&msg_type, body)) = payload.split_first() else {
            return Err(ProtocolError::new("empty message"));
        };
        match msg_type {
            msg::USERAUTH_REQUEST => self.on_userauth_request(body),
            msg::USERAUTH_INFO_RESPONSE if self.kbd_awaits_response() => {
                self.on_info_response(body)
            }
            t => Err(ProtocolError::new(format!(
                "unexpected authentication message {t}"
            ))),
        }
    }

    fn on_userauth_request(&mut self, body: &[u8]) -> Result<(), ProtocolError> {
        let mut r = Reader::new(body);
        let user = r.utf8()?;
        let service = r.string()?;
        let method = r.string()?;
        if user.len() > MAX_USER_LEN || user.contains('\0') {
            return Err(ProtocolError::new("invalid user name"));
        }
        if service != b"ssh-connection" {
            self.disconnect(msg::reason::SERVICE_NOT_AVAILABLE, "service not available");
            return Ok(());
        }
        match &self.auth.attempted_user {
            Some(prev) if prev != user => {
                return Err(ProtocolError::new(
                    "change of user name during authentication",
                ));
            }
            Some(_) => {}
            None => self.auth.attempted_user = Some(user.to_string()),
        }
        // A new request abandons a keyboard-interactive dialogue; that
        // counts as a failure (silently: the client asked something else
        // and expects the answer to that), or the driver could be made to
        // start dialogues without limit.
        if self.auth.kbd.take().is_some() && !self.record_failure() {
            return Ok(());
        }
        if !self.auth.banner_sent {
            self.auth.banner_sent = true;
            if let Some(banner) = self.config.banner.clone() {
                let mut p = Vec::with_capacity(banner.len() + 16);
                p.put_u8(msg::USERAUTH_BANNER);
                p.put_string(banner.as_bytes());
                p.put_string(b"");
                self.send_payload(p);
            }
        }
        let user = user.to_string();
        match method {
            b"none" => {
                self.send_auth_failure(false);
                Ok(())
            }
            b"password" if self.offers(AuthMethod::Password) => self.on_password(&mut r, user),
            b"publickey" if self.offers(AuthMethod::PublicKey) => self.on_publickey(&mut r, user),
            b"keyboard-interactive" if self.offers(AuthMethod::KeyboardInteractive) => {
                self.on_kbd_start(&mut r, user)
            }
            b"hostbased" if self.offers(AuthMethod::Hostbased) => self.on_hostbased(&mut r, user),
            _ => {
                // An unknown, disabled or already used method counts, as
                // in OpenSSH; only "none" (asking which methods exist) is
                // free.
                self.count_failure_now();
                Ok(())
            }
        }
    }

    fn on_password(&mut self, r: &mut Reader<'_>, user: String) -> Result<(), ProtocolError> {
        let change = r.bool()?;
        let password = r.string()?;
        if change {
            // Password change is not supported; treat as a failure.
            self.count_failure();
            return Ok(());
        }
        r.finish()?;
        // RFC 4252 §8: the password is UTF-8. Anything else cannot match a
        // stored password, and a lossy conversion could make two different
        // inputs equal, so it fails here.
        let password = match std::str::from_utf8(password) {
            Ok(p) if p.len() <= MAX_PASSWORD_LEN => Zeroizing::new(p.to_string()),
            _ => {
                self.count_failure();
                return Ok(());
            }
        };
        self.ask_driver(Pending::Password, user, AuthAttempt::Password(password));
        Ok(())
    }
}
