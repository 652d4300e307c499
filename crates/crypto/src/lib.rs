//! Cryptographic algorithms for Wharf's SSH transport, behind a narrow,
//! allocation-light interface the protocol core (crates/ssh) drives.
//!
//! Every primitive comes from aws-lc-rs where it has one; the rest from
//! RustCrypto crates (sntrup761, big-integer Diffie-Hellman). Nothing here
//! knows about SSH message framing beyond what an algorithm's definition
//! needs (packet-length handling for chacha20-poly1305@openssh.com, the
//! wire encoding of keys and signatures).
#![forbid(unsafe_code)]

pub mod hash;
pub mod hostkey;
pub mod kex;
pub mod packet;
pub mod random;
