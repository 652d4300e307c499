//! Cryptographic algorithms for Wharf's SSH transport, behind a narrow,
//! allocation-light interface the protocol core (crates/ssh) drives.
//!
//! Every primitive comes from aws-lc-rs where it has one; the rest from
//! RustCrypto crates (sntrup761, big-integer Diffie-Hellman). Nothing here
//! knows about SSH message framing beyond what an algorithm's definition
//! needs (packet-length handling for chacha20-poly1305@openssh.com, the
//! wire encoding of keys and signatures).
// Unsafe code is denied everywhere except three small modules that opt in,
// each saying why: packet::poly1305::avx2 and packet::gcm_vaes (SIMD
// intrinsics) and packet::ffi (direct calls into aws-lc's C).
#![deny(unsafe_code)]

pub mod base32;
pub mod hash;
pub mod hostkey;
pub mod kex;
pub mod packet;
pub mod random;
pub mod totp;

/// The algorithms on by default: every one of `all` (a list in preference
/// order, such as `KexAlg::ALL`) except those `is_legacy` marks. One rule
/// for every kind of algorithm, so the core's defaults and the config
/// file's cannot drift apart.
pub fn enabled_by_default<T: Copy>(all: &[T], is_legacy: impl Fn(T) -> bool) -> Vec<T> {
    all.iter().copied().filter(|&a| !is_legacy(a)).collect()
}
