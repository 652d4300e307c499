//! Host keys (the server's signing keys) and public-key signature
//! verification (user authentication).
//!
//! Algorithms: Ed25519 (RFC 8709), ECDSA over P-256/384/521 with
//! SHA-256/384/512 (RFC 5656), RSA PKCS#1 v1.5 with SHA-512/256 (RFC 8332)
//! and, off by default, with SHA-1 ("ssh-rsa", RFC 4253 §6.6). Every
//! signature and verification is done by aws-lc-rs, with one exception:
//! aws-lc-rs cannot make RSA/SHA-1 signatures, so `rsa.rs` makes those
//! with crypto-bigint's constant-time exponentiation and has aws-lc-rs
//! verify each one before it is returned.
//!
//! Key files are OpenSSH's `openssh-key-v1` format (PROTOCOL.key), read
//! and written by `openssh.rs`. That codec is ours rather than ssh-key
//! 0.6.7's because ssh-key rejects ECDSA keys whose private scalar has a
//! leading zero byte (about 1 in 4 P-521 keys and 1 in 512 P-256/P-384
//! keys that ssh-keygen writes; fixed upstream only after 0.6) and,
//! without its RustCrypto backends, cannot build ECDSA key files at all.
//! `tests/data/ecdsa521` is such a key.

mod alg;
mod base64;
mod cert;
mod cidr;
mod openssh;
mod private;
mod public;
mod rsa;
mod wire;

use std::path::PathBuf;

pub use alg::{KeyKind, SigAlg};
pub use cert::{CertOption, CertRefusal, CertType, Certificate};
pub use cidr::Cidr;
pub use private::HostKey;
pub use public::PublicKey;

/// Why a key could not be loaded, generated or used, or a signature was
/// refused. Messages carry their cause inline (no `source()` chain), so
/// `{}` alone always tells the whole story.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    #[error("cannot read key file {}: {error}", path.display())]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("key file {}: {error}", path.display())]
    File { path: PathBuf, error: Box<KeyError> },
    #[error("key file is encrypted; host keys must be unencrypted")]
    Encrypted,
    #[error("malformed {what}: {detail}")]
    Malformed { what: &'static str, detail: String },
    #[error("unsupported key file format: {0}")]
    UnsupportedFormat(&'static str),
    #[error("unsupported key type {0:?}")]
    UnsupportedKeyType(String),
    #[error("cannot generate an RSA key of {0} bits (supported: 2048, 3072, 4096, 8192)")]
    UnsupportedKeySize(u32),
    #[error("unknown signature algorithm {0:?}")]
    UnknownSigAlg(String),
    #[error("signature algorithm {alg} does not match key type {key_type}")]
    SigAlgMismatch {
        alg: &'static str,
        key_type: &'static str,
    },
    #[error("ssh-rsa (RSA with SHA-1) signatures are not allowed")]
    Sha1NotAllowed,
    #[error("RSA key of {bits} bits is too small (minimum 2048)")]
    RsaKeyTooSmall { bits: u32 },
    #[error("RSA key of {bits} bits is too large (maximum 8192)")]
    RsaKeyTooLarge { bits: u32 },
    #[error("bad signature")]
    BadSignature,
    #[error("private key does not match its public key ({0})")]
    InconsistentKey(&'static str),
    #[error("cryptographic operation failed: {0}")]
    Crypto(&'static str),
}

impl KeyError {
    pub(crate) fn malformed(what: &'static str, detail: impl std::fmt::Display) -> Self {
        KeyError::Malformed {
            what,
            detail: detail.to_string(),
        }
    }
}

/// Names from the wire go into error messages and logs: keep them short
/// and printable.
pub(crate) fn sanitize_name(raw: &[u8]) -> String {
    String::from_utf8_lossy(raw.get(..64).unwrap_or(raw)).into_owned()
}

/// The smallest and largest RSA moduli accepted, in bits. 2048 follows
/// NIST SP 800-131A and OpenSSH's default; 8192 is aws-lc's ceiling.
pub(crate) const RSA_MIN_BITS: u32 = 2048;
pub(crate) const RSA_MAX_BITS: u32 = 8192;
