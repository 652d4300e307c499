//! Answers the core's authentication requests from the user directory.
//!
//! Lookups that may block (argon2, and any user source behind a file or a
//! database) run on the blocking pool; the answer comes back to the
//! connection task as `Done::Auth`. Each method is one match arm that
//! calls the directory: the account policy (disabled, expiry, networks,
//! sessions), authorized_keys options and the key blacklist are checked
//! there. A banned address is refused before any work; each failure counts
//! towards a ban.
//!
//! Method chains (`authentication_methods`) are applied after a method's
//! own check: a right credential for a method no chain allows now is
//! refused, one that leaves a chain unfinished is answered
//! `AuthDecision::Partial` with the methods that may follow. The core
//! tells which methods already succeeded in this connection (`completed`).

use super::connection::Done;
use super::directory::{LoginContext, UserDirectory};
use crate::users::chains::{self, Step};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;
use tokio::sync::mpsc;
use wharf_ssh::{AuthAttempt, AuthDecision, AuthMethod, InfoRequest, Prompt};

/// Starts deciding one attempt; the decision arrives on `done_tx`.
pub(super) fn decide(
    users: &Arc<dyn UserDirectory>,
    peer: SocketAddr,
    user: String,
    attempt: AuthAttempt,
    completed: Vec<AuthMethod>,
    done_tx: &mpsc::UnboundedSender<Done>,
) {
    let users = users.clone();
    let tx = done_tx.clone();
    tokio::task::spawn_blocking(move || {
        let cx = LoginContext {
            peer,
            now: SystemTime::now(),
        };
        if users.is_banned(peer.ip()) {
            tracing::info!(%peer, %user, "attempt from a banned address refused");
            let _ = tx.send(Done::Auth(false.into()));
            return;
        }
        // keyboard-interactive asks for the password, and a verification
        // code from users with a TOTP second factor (which needs a lookup,
        // hence here). That the second prompt shows that such a user
        // exists is the price of not asking everyone for a code.
        if let AuthAttempt::KeyboardInteractiveStart { .. } = attempt {
            // No prompts for a step the chains do not allow: answers could
            // not succeed, and a right code would be spent for nothing.
            let allowed = users.auth_methods(&user).is_some_and(|lists| {
                chains::allowed(&lists, &completed, AuthMethod::KeyboardInteractive)
            });
            if !allowed {
                tracing::info!(%peer, %user, "keyboard-interactive not allowed at this step by authentication_methods");
                // Not a wrong credential: no count towards a ban (the
                // core counts it towards max_auth_tries).
                let _ = tx.send(Done::Auth(AuthDecision::Reject));
                return;
            }
            let ask = if users.has_second_factor(&user) {
                InfoRequest {
                    name: String::new(),
                    instruction: String::new(),
                    prompts: vec![
                        Prompt::new("Password: ", false),
                        Prompt::new("Verification code: ", false),
                    ],
                }
            } else {
                InfoRequest::password()
            };
            let _ = tx.send(Done::Auth(AuthDecision::InfoRequest(ask)));
            return;
        }
        // `counts`: whether a refusal is a failure towards a ban (a refused
        // key *query* is routine for clients with several keys).
        // `method`: what succeeds if `ok`, for the chains.
        let (method, ok, counts) = match attempt {
            AuthAttempt::Password(pw) => {
                let ok = users.verify_password(&user, &pw, &cx);
                if !ok {
                    tracing::info!(%peer, %user, "password refused");
                }
                (AuthMethod::Password, ok, true)
            }
            AuthAttempt::PublicKey { key, signed, .. } => {
                let ok = users.key_allowed(&user, &key, signed, &cx);
                if signed && !ok {
                    tracing::info!(%peer, %user, key = %key.fingerprint_sha256(), "public key refused");
                }
                (AuthMethod::PublicKey, ok, signed)
            }
            // The core verified the CA's signature (and the user's, when
            // signed); trust, principal, validity and policy are checked
            // by the directory.
            AuthAttempt::Certificate { cert, signed, .. } => {
                let ok = users.cert_allowed(&user, &cert, signed, &cx);
                if signed && !ok {
                    tracing::info!(%peer, %user, key_id = %cert.key_id(), "certificate refused");
                }
                (AuthMethod::PublicKey, ok, signed)
            }
            // The answers to the prompts sent above.
            AuthAttempt::KeyboardInteractiveResponse(answers) => {
                let answers: Vec<&str> = answers.iter().map(|a| a.as_str()).collect();
                let ok = users.verify_kbd(&user, &answers, &cx);
                if !ok {
                    tracing::info!(%peer, %user, "keyboard-interactive password refused");
                }
                (AuthMethod::KeyboardInteractive, ok, true)
            }
            // The core verified the host's signature; the directory
            // checks the host's trust, its name and the user. A refusal
            // does not count towards a ban: OpenSSH's client offers each
            // of its host keys in turn, and nothing can be guessed here
            // without a host's private key.
            AuthAttempt::Hostbased {
                key,
                client_host,
                client_user,
                ..
            } => {
                let ok = users.hostbased_allowed(&user, &key, &client_host, &client_user, &cx);
                if !ok {
                    tracing::info!(%peer, %user, %client_host, %client_user, key = %key.fingerprint_sha256(), "hostbased refused");
                }
                (AuthMethod::Hostbased, ok, false)
            }
            // Answered on the connection task above; never reaches here.
            AuthAttempt::KeyboardInteractiveStart { .. } => {
                (AuthMethod::KeyboardInteractive, false, false)
            }
        };
        let decision = if ok {
            chain_decision(&*users, &user, &completed, method)
        } else {
            AuthDecision::Reject
        };
        if decision == AuthDecision::Reject && counts {
            users.auth_failed(peer.ip());
        }
        let _ = tx.send(Done::Auth(decision));
    });
}

/// What a successful `method` means under the user's chains.
fn chain_decision(
    users: &dyn UserDirectory,
    user: &str,
    completed: &[AuthMethod],
    method: AuthMethod,
) -> AuthDecision {
    let Some(lists) = users.auth_methods(user) else {
        return AuthDecision::Reject;
    };
    match chains::step(&lists, completed, method) {
        Step::Done => AuthDecision::Accept,
        Step::Continue(next) => AuthDecision::Partial { next },
        Step::NotAllowed => {
            tracing::info!(%user, method = method.name(), "method not allowed at this step by authentication_methods");
            AuthDecision::Reject
        }
    }
}
