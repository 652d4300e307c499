//! Key-exchange methods: the server's half of the math.
//!
//! The SSH protocol core (crates/ssh) frames the messages, computes the
//! exchange hash H and derives the keys; this module only turns the
//! client's public value into the server's public value and the shared
//! secret K, already encoded the way K enters H and the key derivation.
//!
//! Everything here treats the client's value as hostile: lengths, curve
//! membership, low-order X25519 points, DH values outside `1 < e < p-1` and
//! malformed mpints are all errors, never panics.

mod curve;
mod dh;
mod groups;
mod hybrid;
mod moduli;
#[cfg(test)]
mod tests;

use std::fmt;

use zeroize::Zeroizing;

use crate::hash::HashAlg;

pub use dh::{gex_server_exchange, DhGroup};
pub use moduli::Moduli;

/// A key-exchange method, named as in SSH_MSG_KEXINIT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KexAlg {
    /// `mlkem768x25519-sha256` (draft-ietf-sshm-mlkem-hybrid-kex).
    MlKem768X25519Sha256,
    /// `sntrup761x25519-sha512` (draft-ietf-sshm-ntruprime-ssh).
    Sntrup761X25519Sha512,
    /// `sntrup761x25519-sha512@openssh.com`, the same method under its
    /// original OpenSSH name.
    Sntrup761X25519Sha512Openssh,
    /// `curve25519-sha256` (RFC 8731).
    Curve25519Sha256,
    /// `curve25519-sha256@libssh.org`, RFC 8731's method under its
    /// pre-standard name.
    Curve25519Sha256Libssh,
    /// `ecdh-sha2-nistp256` (RFC 5656).
    EcdhSha2Nistp256,
    /// `ecdh-sha2-nistp384` (RFC 5656).
    EcdhSha2Nistp384,
    /// `ecdh-sha2-nistp521` (RFC 5656).
    EcdhSha2Nistp521,
    /// `diffie-hellman-group-exchange-sha256` (RFC 4419).
    DhGexSha256,
    /// `diffie-hellman-group16-sha512` (RFC 8268, 4096-bit MODP).
    Dh16Sha512,
    /// `diffie-hellman-group18-sha512` (RFC 8268, 8192-bit MODP).
    Dh18Sha512,
    /// `diffie-hellman-group14-sha256` (RFC 8268, 2048-bit MODP).
    Dh14Sha256,
    /// `diffie-hellman-group14-sha1` (RFC 4253). Legacy.
    Dh14Sha1,
    /// `diffie-hellman-group-exchange-sha1` (RFC 4419). Legacy.
    DhGexSha1,
    /// `diffie-hellman-group1-sha1` (RFC 4253, 1024-bit Oakley group 2).
    /// Legacy.
    Dh1Sha1,
}

impl KexAlg {
    /// Every method in default preference order: OpenSSH 9.9's
    /// `KEX_SERVER_KEX` (myproposal.h), then the legacy SHA-1 methods.
    /// Callers drop the [`is_legacy`](Self::is_legacy) ones unless the
    /// administrator asks for them.
    pub const ALL: &'static [KexAlg] = &[
        KexAlg::Sntrup761X25519Sha512,
        KexAlg::Sntrup761X25519Sha512Openssh,
        KexAlg::MlKem768X25519Sha256,
        KexAlg::Curve25519Sha256,
        KexAlg::Curve25519Sha256Libssh,
        KexAlg::EcdhSha2Nistp256,
        KexAlg::EcdhSha2Nistp384,
        KexAlg::EcdhSha2Nistp521,
        KexAlg::DhGexSha256,
        KexAlg::Dh16Sha512,
        KexAlg::Dh18Sha512,
        KexAlg::Dh14Sha256,
        KexAlg::Dh14Sha1,
        KexAlg::DhGexSha1,
        KexAlg::Dh1Sha1,
    ];

    /// The method's name on the wire.
    pub fn name(self) -> &'static str {
        match self {
            KexAlg::MlKem768X25519Sha256 => "mlkem768x25519-sha256",
            KexAlg::Sntrup761X25519Sha512 => "sntrup761x25519-sha512",
            KexAlg::Sntrup761X25519Sha512Openssh => "sntrup761x25519-sha512@openssh.com",
            KexAlg::Curve25519Sha256 => "curve25519-sha256",
            KexAlg::Curve25519Sha256Libssh => "curve25519-sha256@libssh.org",
            KexAlg::EcdhSha2Nistp256 => "ecdh-sha2-nistp256",
            KexAlg::EcdhSha2Nistp384 => "ecdh-sha2-nistp384",
            KexAlg::EcdhSha2Nistp521 => "ecdh-sha2-nistp521",
            KexAlg::DhGexSha256 => "diffie-hellman-group-exchange-sha256",
            KexAlg::Dh16Sha512 => "diffie-hellman-group16-sha512",
            KexAlg::Dh18Sha512 => "diffie-hellman-group18-sha512",
            KexAlg::Dh14Sha256 => "diffie-hellman-group14-sha256",
            KexAlg::Dh14Sha1 => "diffie-hellman-group14-sha1",
            KexAlg::DhGexSha1 => "diffie-hellman-group-exchange-sha1",
            KexAlg::Dh1Sha1 => "diffie-hellman-group1-sha1",
        }
    }

    /// Looks a method up by its wire name (exact, case-sensitive match, as
    /// RFC 4251 §6 names are).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|a| a.name() == name)
    }

    /// The hash function of the exchange hash and key derivation.
    pub fn hash(self) -> HashAlg {
        match self {
            KexAlg::MlKem768X25519Sha256
            | KexAlg::Curve25519Sha256
            | KexAlg::Curve25519Sha256Libssh
            | KexAlg::EcdhSha2Nistp256
            | KexAlg::DhGexSha256
            | KexAlg::Dh14Sha256 => HashAlg::Sha256,
            KexAlg::EcdhSha2Nistp384 => HashAlg::Sha384,
            KexAlg::Sntrup761X25519Sha512
            | KexAlg::Sntrup761X25519Sha512Openssh
            | KexAlg::EcdhSha2Nistp521
            | KexAlg::Dh16Sha512
            | KexAlg::Dh18Sha512 => HashAlg::Sha512,
            KexAlg::Dh14Sha1 | KexAlg::DhGexSha1 | KexAlg::Dh1Sha1 => HashAlg::Sha1,
        }
    }

    /// Whether the method negotiates its group first (RFC 4419), so the
    /// server side runs through [`Moduli::choose`] and
    /// [`gex_server_exchange`] instead of [`server_exchange`].
    pub fn is_group_exchange(self) -> bool {
        matches!(self, KexAlg::DhGexSha256 | KexAlg::DhGexSha1)
    }

    /// Whether the method is kept only for old clients (SHA-1 exchange hash,
    /// or the 1024-bit group) and is off unless configured.
    pub fn is_legacy(self) -> bool {
        matches!(self, KexAlg::Dh14Sha1 | KexAlg::DhGexSha1 | KexAlg::Dh1Sha1)
    }
}

impl fmt::Display for KexAlg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The shared secret K, already encoded the way it enters the exchange
/// hash and the key derivation: as an mpint (uint32 length + minimal
/// two's-complement bytes) for DH, ECDH and curve25519; as a string
/// (uint32 length + bytes) for the post-quantum hybrids
/// (draft-ietf-sshm-mlkem-hybrid-kex, OpenSSH PROTOCOL for
/// sntrup761x25519). Wiped on drop; `Debug` never shows it.
pub struct SharedSecret {
    encoded: Zeroizing<Vec<u8>>,
}

impl SharedSecret {
    /// The encoded K (length prefix included).
    pub fn encoded(&self) -> &[u8] {
        &self.encoded
    }

    /// K from an unsigned big-endian integer, encoded as an mpint.
    ///
    /// The encoding's length depends on the number of leading zero bytes
    /// of K; that is inherent to the mpint format (RFC 4251 §5) and the
    /// same in every SSH implementation.
    pub(crate) fn from_unsigned_be(unsigned: &[u8]) -> Self {
        let content = mpint_content_parts(unsigned);
        let len = content.len();
        // Exact capacity: pushing never reallocates, so no unwiped copy of
        // K is left behind in a freed buffer.
        let mut out = Zeroizing::new(Vec::with_capacity(4 + len));
        out.extend_from_slice(&len_u32(len).to_be_bytes());
        if content.pad {
            out.push(0);
        }
        out.extend_from_slice(content.magnitude);
        SharedSecret { encoded: out }
    }

    /// K encoded as an SSH string (the hybrid KEM methods).
    pub(crate) fn from_string(bytes: &[u8]) -> Self {
        let mut out = Zeroizing::new(Vec::with_capacity(4 + bytes.len()));
        out.extend_from_slice(&len_u32(bytes.len()).to_be_bytes());
        out.extend_from_slice(bytes);
        SharedSecret { encoded: out }
    }
}

impl fmt::Debug for SharedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SharedSecret(..)")
    }
}

/// The server's reply: its public value (the content of Q_S / f; for DH a
/// correctly encoded mpint content) and the shared secret.
#[derive(Debug)]
pub struct KexReply {
    pub server_public: Vec<u8>,
    pub shared_secret: SharedSecret,
}

/// Why a key exchange could not be completed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KexError {
    /// The client's public value has the wrong length for the method.
    #[error("{alg}: client public value is {got} bytes, expected {expected}")]
    WrongLength {
        alg: &'static str,
        expected: usize,
        got: usize,
    },
    /// The client's public value has the right length but is not a valid
    /// key (point not on the curve, compressed point, bad ML-KEM key).
    #[error("{alg}: client public value is not a valid {what}")]
    InvalidPublicValue {
        alg: &'static str,
        what: &'static str,
    },
    /// X25519 produced the all-zero output: the client sent a low-order
    /// point (RFC 8731 §3, RFC 7748 §6.1).
    #[error("{alg}: X25519 shared secret is all zero (low-order client point)")]
    ZeroSharedSecret { alg: &'static str },
    /// The client's DH value e is malformed or outside `1 < e < p-1`.
    #[error("{alg}: invalid client DH value: {reason}")]
    InvalidDhValue {
        alg: &'static str,
        reason: &'static str,
    },
    /// The method cannot be run through this entry point.
    #[error("{alg}: {reason}")]
    Unsupported {
        alg: &'static str,
        reason: &'static str,
    },
    /// A line of a moduli file could not be parsed.
    #[error("moduli line {line}: {reason}")]
    Moduli { line: usize, reason: String },
    /// The underlying crypto library failed (out of memory, RNG failure).
    #[error("{alg}: {op} failed in the crypto library")]
    Internal { alg: &'static str, op: &'static str },
}

/// Server side of every fixed-group method.
///
/// `client_public` is the content of the client's Q_C / e field (the bytes
/// after the uint32 length; for DH the mpint's content). Returns Q_S / f as
/// content bytes and K encoded for hashing. Never panics; every invalid
/// input is an error. Group-exchange methods are refused here: they need
/// the negotiated group, see [`gex_server_exchange`].
pub fn server_exchange(alg: KexAlg, client_public: &[u8]) -> Result<KexReply, KexError> {
    let name = alg.name();
    match alg {
        KexAlg::MlKem768X25519Sha256 => hybrid::mlkem768x25519(name, client_public),
        KexAlg::Sntrup761X25519Sha512 | KexAlg::Sntrup761X25519Sha512Openssh => {
            hybrid::sntrup761x25519(name, client_public)
        }
        KexAlg::Curve25519Sha256 | KexAlg::Curve25519Sha256Libssh => {
            curve::x25519(name, client_public)
        }
        KexAlg::EcdhSha2Nistp256 => curve::nist(curve::Nist::P256, name, client_public),
        KexAlg::EcdhSha2Nistp384 => curve::nist(curve::Nist::P384, name, client_public),
        KexAlg::EcdhSha2Nistp521 => curve::nist(curve::Nist::P521, name, client_public),
        KexAlg::Dh14Sha256 | KexAlg::Dh14Sha1 => {
            dh::exchange(groups::group14(name)?, name, client_public)
        }
        KexAlg::Dh16Sha512 => dh::exchange(groups::group16(name)?, name, client_public),
        KexAlg::Dh18Sha512 => dh::exchange(groups::group18(name)?, name, client_public),
        KexAlg::Dh1Sha1 => dh::exchange(groups::group1(name)?, name, client_public),
        KexAlg::DhGexSha256 | KexAlg::DhGexSha1 => Err(KexError::Unsupported {
            alg: name,
            reason: "group exchange needs a negotiated group; use gex_server_exchange",
        }),
    }
}

/// An unsigned integer split for mpint encoding: the magnitude without
/// leading zero bytes, and whether a 0x00 must precede it because its top
/// bit is set (RFC 4251 §5: mpints are two's complement).
pub(crate) struct MpintContent<'a> {
    pub(crate) pad: bool,
    pub(crate) magnitude: &'a [u8],
}

impl MpintContent<'_> {
    pub(crate) fn len(&self) -> usize {
        self.magnitude.len() + usize::from(self.pad)
    }

    pub(crate) fn to_vec(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(self.len());
        if self.pad {
            v.push(0);
        }
        v.extend_from_slice(self.magnitude);
        v
    }
}

/// Splits an unsigned big-endian integer for mpint encoding; zero becomes
/// the empty content.
pub(crate) fn mpint_content_parts(unsigned: &[u8]) -> MpintContent<'_> {
    let start = unsigned
        .iter()
        .position(|&b| b != 0)
        .unwrap_or(unsigned.len());
    let magnitude = unsigned.get(start..).unwrap_or_default();
    let pad = magnitude.first().is_some_and(|&b| b & 0x80 != 0);
    MpintContent { pad, magnitude }
}

/// SSH length prefixes are uint32. Everything encoded here is at most a
/// few kilobytes (an 8192-bit mpint is 1025 bytes), so saturation is
/// unreachable; it only keeps the conversion free of a panic path.
fn len_u32(len: usize) -> u32 {
    u32::try_from(len).unwrap_or(u32::MAX)
}
