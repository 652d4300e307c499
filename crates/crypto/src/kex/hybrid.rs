//! Post-quantum hybrids: a KEM combined with X25519.
//!
//! Both methods follow one pattern (OpenSSH kexmlkem768x25519.c and
//! kexsntrup761x25519.c; draft-ietf-sshm-mlkem-hybrid-kex and
//! draft-ietf-sshm-ntruprime-ssh):
//! - client sends C_INIT = KEM public key || X25519 public value;
//! - server encapsulates to the KEM key and runs X25519, replying with
//!   S_REPLY = KEM ciphertext || its X25519 public value;
//! - K = HASH(K_PQ || K_CL), where K_CL is the raw 32-byte X25519 output
//!   (not an mpint), and K enters the exchange hash as a *string*.

use aws_lc_rs::kem;
use zeroize::Zeroizing;

use super::curve::{self, X25519_LEN};
use super::{KexError, KexReply, SharedSecret};
use crate::hash::{HashAlg, Hasher};

/// FIPS 203 ML-KEM-768 encapsulation key size (the ciphertext is 1088).
const MLKEM768_EK_LEN: usize = 1184;

/// sntrup761 public key size, 1158 (the ciphertext is 1039).
const SNTRUP761_PK_LEN: usize = sntrup761::PUBLIC_KEY_SIZE;

/// mlkem768x25519-sha256.
pub(super) fn mlkem768x25519(
    alg: &'static str,
    client_public: &[u8],
) -> Result<KexReply, KexError> {
    let (ek_bytes, client_x25519) = split_init(alg, client_public, MLKEM768_EK_LEN)?;
    // aws-lc checks the encapsulation key as FIPS 203 §7.2 requires (the
    // modulus check: every coefficient below q), as OpenSSH does with
    // libcrux_ml_kem_mlkem768_portable_validate_public_key.
    let ek = kem::EncapsulationKey::new(&kem::ML_KEM_768, ek_bytes).map_err(|_| {
        KexError::InvalidPublicValue {
            alg,
            what: "ML-KEM-768 encapsulation key",
        }
    })?;
    let (ciphertext, k_pq) = ek.encapsulate().map_err(|_| KexError::InvalidPublicValue {
        alg,
        what: "ML-KEM-768 encapsulation key",
    })?;
    let x_key = curve::generate_x25519(alg)?;
    let k_cl = curve::x25519_shared(&x_key, alg, client_x25519)?;
    let x_public = curve::public_bytes(&x_key, alg)?;

    let mut h = Hasher::new(HashAlg::Sha256);
    h.update(k_pq.as_ref());
    h.update(&k_cl[..]);
    let k = h.finish();

    Ok(KexReply {
        server_public: concat(ciphertext.as_ref(), &x_public),
        shared_secret: SharedSecret::from_string(k.as_ref()),
    })
}

/// sntrup761x25519-sha512 and its @openssh.com alias.
pub(super) fn sntrup761x25519(
    alg: &'static str,
    client_public: &[u8],
) -> Result<KexReply, KexError> {
    let (pk_bytes, client_x25519) = split_init(alg, client_public, SNTRUP761_PK_LEN)?;
    // Any 1158 bytes decode to a public key (Streamlined NTRU Prime has no
    // public-key validity check; OpenSSH performs none either).
    let pk = sntrup761::EncapsulationKey::try_from(pk_bytes).map_err(|_| {
        KexError::InvalidPublicValue {
            alg,
            what: "sntrup761 public key",
        }
    })?;
    // The crate's randomized API wants a rand 0.10 CryptoRng; seeding its
    // documented deterministic variant (ChaCha20 from a 32-byte seed) with
    // fresh system randomness gives the same guarantee without pulling a
    // second RNG stack into this crate.
    let mut seed = Zeroizing::new([0u8; 32]);
    crate::random::fill(&mut seed[..]);
    let (ciphertext, k_pq) = pk.encapsulate_deterministic(*seed);
    let x_key = curve::generate_x25519(alg)?;
    let k_cl = curve::x25519_shared(&x_key, alg, client_x25519)?;
    let x_public = curve::public_bytes(&x_key, alg)?;

    let mut h = Hasher::new(HashAlg::Sha512);
    h.update(k_pq.as_ref());
    h.update(&k_cl[..]);
    let k = h.finish();

    Ok(KexReply {
        server_public: concat(ciphertext.as_ref(), &x_public),
        shared_secret: SharedSecret::from_string(k.as_ref()),
    })
}

/// Splits C_INIT into the KEM public key and the X25519 value after
/// checking the total length, as OpenSSH does before anything else.
fn split_init<'a>(
    alg: &'static str,
    client_public: &'a [u8],
    kem_len: usize,
) -> Result<(&'a [u8], &'a [u8]), KexError> {
    let expected = kem_len + X25519_LEN;
    if client_public.len() != expected {
        return Err(KexError::WrongLength {
            alg,
            expected,
            got: client_public.len(),
        });
    }
    client_public
        .split_at_checked(kem_len)
        .ok_or(KexError::WrongLength {
            alg,
            expected,
            got: client_public.len(),
        })
}

fn concat(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(a.len() + b.len());
    v.extend_from_slice(a);
    v.extend_from_slice(b);
    v
}
