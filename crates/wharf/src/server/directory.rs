//! What the connection driver needs to know about users, whatever their
//! source (config file today; databases and the system later).

use std::path::PathBuf;
use wharf_crypto::hostkey::PublicKey;

pub trait UserDirectory: Send + Sync + 'static {
    /// Checks a password. CPU-heavy (argon2): the driver calls it on a
    /// blocking thread. Must cost the same for unknown users.
    fn verify_password(&self, user: &str, password: &str) -> bool;
    /// Whether `key` may log in as `user`. Cheap: called inline.
    fn key_allowed(&self, user: &str, key: &PublicKey) -> bool;
    /// The user's jail: what they see as "/".
    fn root(&self, user: &str) -> Option<PathBuf>;
    /// The user's own SCP setting, overriding the server's; None: no
    /// setting of their own.
    fn scp_allowed(&self, user: &str) -> Option<bool>;
}
