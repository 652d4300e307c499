//! Answers the core's authentication requests from the user directory.
//!
//! Lookups that may block (argon2, and any user source behind a file or a
//! database) run on the blocking pool; the answer comes back to the
//! connection task as `Done::Auth`.

use super::connection::Done;
use super::directory::UserDirectory;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::mpsc;
use wharf_ssh::AuthAttempt;

/// Starts deciding one attempt; the decision arrives on `done_tx`.
pub(super) fn decide(
    users: &Arc<dyn UserDirectory>,
    peer: SocketAddr,
    user: String,
    attempt: AuthAttempt,
    done_tx: &mpsc::UnboundedSender<Done>,
) {
    let users = users.clone();
    let tx = done_tx.clone();
    tokio::task::spawn_blocking(move || {
        let ok = match attempt {
            AuthAttempt::Password(pw) | AuthAttempt::KeyboardInteractive(pw) => {
                let ok = users.verify_password(&user, &pw);
                if !ok {
                    tracing::info!(%peer, %user, "password refused");
                }
                ok
            }
            AuthAttempt::PublicKey { key, signed, .. } => {
                let ok = users.key_allowed(&user, &key);
                if signed && !ok {
                    tracing::info!(%peer, %user, key = %key.fingerprint_sha256(), "public key refused");
                }
                ok
            }
        };
        let _ = tx.send(Done::Auth(ok));
    });
}
