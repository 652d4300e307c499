//! Elliptic-curve Diffie-Hellman: curve25519-sha256 (RFC 8731) and
//! ecdh-sha2-nistp256/384/521 (RFC 5656), on aws-lc's X25519 and ECDH.

use aws_lc_rs::agreement::{self, PrivateKey, UnparsedPublicKey};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::{KexError, KexReply, SharedSecret};

/// X25519 public values and outputs are 32 bytes (RFC 7748 §5).
pub(super) const X25519_LEN: usize = 32;

/// The NIST curves of RFC 5656.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Nist {
    P256,
    P384,
    P521,
}

impl Nist {
    fn algorithm(self) -> &'static agreement::Algorithm {
        match self {
            Nist::P256 => &agreement::ECDH_P256,
            Nist::P384 => &agreement::ECDH_P384,
            Nist::P521 => &agreement::ECDH_P521,
        }
    }

    /// Length of one field element (a coordinate) in bytes.
    fn coordinate_len(self) -> usize {
        match self {
            Nist::P256 => 32,
            Nist::P384 => 48,
            Nist::P521 => 66,
        }
    }
}

/// curve25519-sha256: a fresh X25519 key, Q_S its public value, K the
/// X25519 output as an mpint (RFC 8731 §3.1).
pub(super) fn x25519(alg: &'static str, client_public: &[u8]) -> Result<KexReply, KexError> {
    let key = generate(&agreement::X25519, alg)?;
    x25519_with_key(&key, alg, client_public)
}

/// [`x25519`] with a given private key (split out so tests can run the
/// published vectors through the same path).
pub(super) fn x25519_with_key(
    key: &PrivateKey,
    alg: &'static str,
    client_public: &[u8],
) -> Result<KexReply, KexError> {
    let shared = x25519_shared(key, alg, client_public)?;
    let server_public = public_bytes(key, alg)?;
    // RFC 8731 §3.1: "The whole 32 bytes of the X25519 output are
    // interpreted as an unsigned fixed-length integer encoded in network
    // byte order", then encoded as an mpint.
    Ok(KexReply {
        server_public,
        shared_secret: SharedSecret::from_unsigned_be(&shared[..]),
    })
}

/// The raw 32-byte X25519 output for `client_public`, refusing a wrong
/// length and the all-zero output of a low-order point (RFC 8731 §3: the
/// server MUST abort if the shared secret is all zero). The hybrids hash
/// these raw bytes, as OpenSSH's kexc25519_shared_key_ext(..., raw=1) does.
pub(super) fn x25519_shared(
    key: &PrivateKey,
    alg: &'static str,
    client_public: &[u8],
) -> Result<Zeroizing<[u8; X25519_LEN]>, KexError> {
    if client_public.len() != X25519_LEN {
        return Err(KexError::WrongLength {
            alg,
            expected: X25519_LEN,
            got: client_public.len(),
        });
    }
    let peer = UnparsedPublicKey::new(&agreement::X25519, client_public);
    // Every 32-byte string is an X25519 public value, so aws-lc fails here
    // only when the result is all zero (X25519() reports that as an error).
    let shared = agreement::agree(key, peer, KexError::ZeroSharedSecret { alg }, |secret| {
        let mut out = Zeroizing::new([0u8; X25519_LEN]);
        if secret.len() != X25519_LEN {
            return Err(KexError::Internal { alg, op: "X25519" });
        }
        out.copy_from_slice(secret);
        Ok(out)
    })?;
    // Checked here as well, in constant time, so the rule does not rest on
    // one library's choice of error.
    if bool::from(shared.ct_eq(&[0u8; X25519_LEN])) {
        return Err(KexError::ZeroSharedSecret { alg });
    }
    Ok(shared)
}

/// ecdh-sha2-nistp*: a fresh key on the curve, Q_S its uncompressed SEC1
/// point, K the x-coordinate of the shared point as an mpint (RFC 5656 §4).
pub(super) fn nist(
    curve: Nist,
    alg: &'static str,
    client_public: &[u8],
) -> Result<KexReply, KexError> {
    let key = generate(curve.algorithm(), alg)?;
    nist_with_key(curve, &key, alg, client_public)
}

/// [`nist`] with a given private key (for the RFC 5903 vectors).
pub(super) fn nist_with_key(
    curve: Nist,
    key: &PrivateKey,
    alg: &'static str,
    client_public: &[u8],
) -> Result<KexReply, KexError> {
    // RFC 5656 §4: Q_C is an octet string per SEC1 §2.3.3. RFC 5656 §3.1
    // leaves point compression unimplemented by default; OpenSSH sends and
    // accepts only the uncompressed form, and aws-lc would otherwise also
    // accept compressed, hybrid and SPKI encodings. Pin the one form.
    let expected = 1 + 2 * curve.coordinate_len();
    if client_public.len() != expected {
        return Err(KexError::WrongLength {
            alg,
            expected,
            got: client_public.len(),
        });
    }
    if client_public.first() != Some(&0x04) {
        return Err(KexError::InvalidPublicValue {
            alg,
            what: "uncompressed SEC1 point (0x04 prefix)",
        });
    }
    let peer = UnparsedPublicKey::new(curve.algorithm(), client_public);
    // aws-lc validates the point (on the curve, not the identity) before
    // multiplying; a failure here is a bad client value.
    let x = agreement::agree(
        key,
        peer,
        KexError::InvalidPublicValue {
            alg,
            what: "point on the curve",
        },
        |secret| Ok(Zeroizing::new(secret.to_vec())),
    )?;
    let server_public = public_bytes(key, alg)?;
    Ok(KexReply {
        server_public,
        shared_secret: SharedSecret::from_unsigned_be(&x),
    })
}

fn generate(
    algorithm: &'static agreement::Algorithm,
    alg: &'static str,
) -> Result<PrivateKey, KexError> {
    PrivateKey::generate(algorithm).map_err(|_| KexError::Internal {
        alg,
        op: "key generation",
    })
}

/// The public value of `key`: raw 32 bytes for X25519, the uncompressed
/// SEC1 point for the NIST curves (aws-lc's encoding for both).
pub(super) fn public_bytes(key: &PrivateKey, alg: &'static str) -> Result<Vec<u8>, KexError> {
    key.compute_public_key()
        .map(|p| p.as_ref().to_vec())
        .map_err(|_| KexError::Internal {
            alg,
            op: "public key computation",
        })
}

/// A fresh X25519 key, for the hybrids.
pub(super) fn generate_x25519(alg: &'static str) -> Result<PrivateKey, KexError> {
    generate(&agreement::X25519, alg)
}
