//! The server side of user authentication (RFC 4252, RFC 4256).
//!
//! The core parses requests, verifies public-key signatures and runs the
//! keyboard-interactive dialogue; whether a user, password or key is
//! acceptable is the driver's decision (`Event::AuthRequest`, answered with
//! `Connection::auth_decision`). Input stays unprocessed while a decision
//! is pending and while a failure is held back, so a failing client waits
//! without the server spending a thread on it.

use crate::config::AuthMethod;
use crate::connection::{Connection, ProtocolError};
use crate::event::{AuthAttempt, Event};
use crate::msg;
use crate::wire::{Reader, WriteExt};
use std::time::Instant;
use wharf_crypto::hostkey::{PublicKey, SigAlg};
use zeroize::Zeroizing;

/// Longest user name accepted; longer ones are refused before any lookup.
const MAX_USER_LEN: usize = 256;
/// Longest password accepted (OpenSSH uses no limit but a packet's size).
const MAX_PASSWORD_LEN: usize = 1024;

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
    /// keyboard-interactive: we sent the password prompt.
    awaiting_info_response: bool,
    /// A failure reply held until this instant.
    delayed_failure: Option<Instant>,
}

enum Pending {
    Password,
    KeyboardInteractive,
    PublicKeyQuery { alg: SigAlg, blob: Vec<u8> },
    PublicKeySigned,
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
    /// The driver's answer to `Event::AuthRequest`.
    pub fn auth_decision(&mut self, accept: bool) {
        let Some(pending) = self.auth.pending.take() else {
            return;
        };
        match (pending, accept) {
            (Pending::PublicKeyQuery { alg, blob }, true) => {
                let mut p = Vec::with_capacity(blob.len() + 32);
                p.put_u8(msg::USERAUTH_PK_OK);
                p.put_string(alg.name().as_bytes());
                p.put_string(&blob);
                self.send_payload(p);
            }
            // A refused key counts as an attempt, as in OpenSSH (so keys
            // cannot be probed without limit), but is answered at once:
            // clients offer their keys in turn and are not guessing.
            (Pending::PublicKeyQuery { .. }, false) => self.count_failure_now(),
            (_, true) => {
                let user = self.auth.attempted_user.clone().unwrap_or_default();
                self.send_payload(vec![msg::USERAUTH_SUCCESS]);
                tracing::info!(user = %user, "authenticated");
                self.auth.user = Some(user.clone());
                self.events.push_back(Event::Authenticated { user });
            }
            (_, false) => self.count_failure(),
        }
        self.resume_input();
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
            self.send_auth_failure();
        } else {
            self.auth.delayed_failure = Some(self.now + self.config.auth_failure_delay);
        }
    }

    /// A failed attempt answered without the delay.
    fn count_failure_now(&mut self) {
        if self.record_failure() {
            self.send_auth_failure();
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
        self.send_auth_failure();
    }

    fn send_auth_failure(&mut self) {
        let methods: Vec<&str> = self.config.auth_methods.iter().map(|m| m.name()).collect();
        let mut p = Vec::with_capacity(64);
        p.put_u8(msg::USERAUTH_FAILURE);
        p.put_name_list(&methods);
        p.put_bool(false);
        self.send_payload(p);
    }

    fn offers(&self, m: AuthMethod) -> bool {
        self.config.auth_methods.contains(&m)
    }

    pub(crate) fn handle_auth_message(&mut self, payload: &[u8]) -> Result<(), ProtocolError> {
        if self.auth.user.is_some() {
            // RFC 4252 §5.1: requests after success are ignored.
            return Ok(());
        }
        match payload[0] {
            msg::USERAUTH_REQUEST => self.on_userauth_request(payload),
            msg::USERAUTH_INFO_RESPONSE if self.auth.awaiting_info_response => {
                self.on_info_response(payload)
            }
            t => Err(ProtocolError::new(format!(
                "unexpected authentication message {t}"
            ))),
        }
    }

    fn on_userauth_request(&mut self, payload: &[u8]) -> Result<(), ProtocolError> {
        let mut r = Reader::new(&payload[1..]);
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
        // A new request abandons an unanswered keyboard-interactive prompt.
        self.auth.awaiting_info_response = false;
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
                self.send_auth_failure();
                Ok(())
            }
            b"password" if self.offers(AuthMethod::Password) => {
                let change = r.bool()?;
                let password = r.string()?;
                if change {
                    // Password change is not supported; treat as a failure.
                    self.count_failure();
                    return Ok(());
                }
                if password.len() > MAX_PASSWORD_LEN {
                    self.count_failure();
                    return Ok(());
                }
                let password = Zeroizing::new(String::from_utf8_lossy(password).into_owned());
                self.auth.pending = Some(Pending::Password);
                self.events.push_back(Event::AuthRequest {
                    user,
                    attempt: AuthAttempt::Password(password),
                });
                Ok(())
            }
            b"publickey" if self.offers(AuthMethod::PublicKey) => self.on_publickey(&mut r, user),
            b"keyboard-interactive" if self.offers(AuthMethod::KeyboardInteractive) => {
                let _lang = r.string()?;
                let _submethods = r.string()?;
                let mut p = Vec::with_capacity(64);
                p.put_u8(msg::USERAUTH_INFO_REQUEST);
                p.put_string(b"");
                p.put_string(b"");
                p.put_string(b"");
                p.put_u32(1);
                p.put_string(b"Password: ");
                p.put_bool(false);
                self.send_payload(p);
                self.auth.awaiting_info_response = true;
                Ok(())
            }
            _ => {
                // An unknown or disabled method counts, as in OpenSSH;
                // only "none" (asking which methods exist) is free.
                self.count_failure_now();
                Ok(())
            }
        }
    }

    fn on_publickey(&mut self, r: &mut Reader<'_>, user: String) -> Result<(), ProtocolError> {
        let signed = r.bool()?;
        let alg_name = r.string()?;
        let blob = r.string()?;
        let alg = std::str::from_utf8(alg_name)
            .ok()
            .and_then(SigAlg::from_name)
            .filter(|a| self.config.pubkey_algorithms.contains(a));
        let key = PublicKey::from_blob(blob).ok();
        let (Some(alg), Some(key)) = (alg, key) else {
            self.count_failure_now();
            return Ok(());
        };
        let allow_sha1 = self.config.pubkey_algorithms.contains(&SigAlg::RsaSha1);
        if !key.accepts_sig_alg(alg, allow_sha1) {
            self.count_failure_now();
            return Ok(());
        }
        if !signed {
            self.auth.pending = Some(Pending::PublicKeyQuery {
                alg,
                blob: blob.to_vec(),
            });
            self.events.push_back(Event::AuthRequest {
                user,
                attempt: AuthAttempt::PublicKey {
                    key,
                    alg,
                    signed: false,
                },
            });
            return Ok(());
        }
        let signature = r.string()?;
        r.finish()?;
        // RFC 4252 §7: what the client signed.
        let session_id = self.session_id.clone().unwrap_or_default();
        let mut data = Vec::with_capacity(session_id.len() + user.len() + blob.len() + 96);
        data.put_string(&session_id);
        data.put_u8(msg::USERAUTH_REQUEST);
        data.put_string(user.as_bytes());
        data.put_string(b"ssh-connection");
        data.put_string(b"publickey");
        data.put_bool(true);
        data.put_string(alg_name);
        data.put_string(blob);
        match key.verify(signature, &data, allow_sha1) {
            Ok(used) if used == alg => {
                self.auth.pending = Some(Pending::PublicKeySigned);
                self.events.push_back(Event::AuthRequest {
                    user,
                    attempt: AuthAttempt::PublicKey {
                        key,
                        alg,
                        signed: true,
                    },
                });
            }
            _ => {
                tracing::info!(user = %user, "public key signature did not verify");
                self.count_failure();
            }
        }
        Ok(())
    }

    fn on_info_response(&mut self, payload: &[u8]) -> Result<(), ProtocolError> {
        self.auth.awaiting_info_response = false;
        let mut r = Reader::new(&payload[1..]);
        let count = r.u32()?;
        if count != 1 {
            // We asked one question; any other number of answers is a
            // failed attempt, not a protocol error.
            self.count_failure();
            return Ok(());
        }
        let answer = r.string()?;
        r.finish()?;
        if answer.len() > MAX_PASSWORD_LEN {
            self.count_failure();
            return Ok(());
        }
        let user = self.auth.attempted_user.clone().unwrap_or_default();
        let password = Zeroizing::new(String::from_utf8_lossy(answer).into_owned());
        self.auth.pending = Some(Pending::KeyboardInteractive);
        self.events.push_back(Event::AuthRequest {
            user,
            attempt: AuthAttempt::KeyboardInteractive(password),
        });
        Ok(())
    }
}
