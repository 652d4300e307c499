//! The hash functions SSH key exchange is defined over (SHA-1, SHA-2).
//!
//! The protocol core uses these for the exchange hash H and for key
//! derivation (RFC 4253 §7.2), so a [`Digest`] frequently *is* key material:
//! it lives in a fixed-size array (no heap copy left behind), is wiped on
//! drop, compares in constant time and never prints its bytes.

use aws_lc_rs::digest;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// Longest output of any [`HashAlg`] (SHA-512), in bytes.
pub const MAX_OUTPUT_LEN: usize = 64;

/// A hash function named by a key-exchange method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashAlg {
    /// SHA-1, only for the legacy `diffie-hellman-group{1,14}-sha1` and
    /// `diffie-hellman-group-exchange-sha1` methods.
    Sha1,
    Sha256,
    Sha384,
    Sha512,
}

impl HashAlg {
    /// Output length in bytes.
    pub fn output_len(self) -> usize {
        match self {
            HashAlg::Sha1 => 20,
            HashAlg::Sha256 => 32,
            HashAlg::Sha384 => 48,
            HashAlg::Sha512 => 64,
        }
    }

    /// One-shot hash of `data`.
    pub fn digest(self, data: &[u8]) -> Digest {
        let mut h = Hasher::new(self);
        h.update(data);
        h.finish()
    }

    fn algorithm(self) -> &'static digest::Algorithm {
        match self {
            // SHA-1 is still required by the legacy SSH methods; aws-lc only
            // spells its name to make the caller say so.
            HashAlg::Sha1 => &digest::SHA1_FOR_LEGACY_USE_ONLY,
            HashAlg::Sha256 => &digest::SHA256,
            HashAlg::Sha384 => &digest::SHA384,
            HashAlg::Sha512 => &digest::SHA512,
        }
    }
}

/// An incremental hash computation. Cloning it forks the state, which the
/// key derivation uses to hash `K || H` once and finish it per letter.
#[derive(Clone)]
pub struct Hasher {
    alg: HashAlg,
    ctx: digest::Context,
}

impl Hasher {
    pub fn new(alg: HashAlg) -> Self {
        Hasher {
            alg,
            ctx: digest::Context::new(alg.algorithm()),
        }
    }

    /// Feeds `data` into the hash.
    ///
    /// aws-lc refuses input beyond 2^64 bits (2^128 for SHA-384/512) by
    /// panicking; an SSH session cannot come near that much hashed input.
    pub fn update(&mut self, data: &[u8]) {
        self.ctx.update(data);
    }

    /// Finishes the hash.
    pub fn finish(self) -> Digest {
        let out = self.ctx.finish();
        let src = out.as_ref();
        let mut bytes = [0u8; MAX_OUTPUT_LEN];
        // aws-lc's output length is the algorithm's, at most 64 bytes; the
        // zip keeps this total even if that ever changed.
        for (d, s) in bytes.iter_mut().zip(src) {
            *d = *s;
        }
        Digest {
            alg: self.alg,
            bytes,
        }
    }

    /// The algorithm this hasher computes.
    pub fn alg(&self) -> HashAlg {
        self.alg
    }
}

impl std::fmt::Debug for Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hasher")
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

/// A finished hash value: fixed-size, no heap, wiped on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Digest {
    #[zeroize(skip)]
    alg: HashAlg,
    bytes: [u8; MAX_OUTPUT_LEN],
}

impl Digest {
    /// The algorithm that produced this digest.
    pub fn alg(&self) -> HashAlg {
        self.alg
    }
}

impl AsRef<[u8]> for Digest {
    fn as_ref(&self) -> &[u8] {
        // output_len() <= MAX_OUTPUT_LEN for every HashAlg, so this never
        // falls back; `get` keeps the method free of a panic path.
        self.bytes
            .get(..self.alg.output_len())
            .unwrap_or(&self.bytes)
    }
}

impl ConstantTimeEq for Digest {
    fn ct_eq(&self, other: &Self) -> subtle::Choice {
        // Lengths are public (they follow from the algorithm).
        if self.alg != other.alg {
            return subtle::Choice::from(0);
        }
        self.as_ref().ct_eq(other.as_ref())
    }
}

impl PartialEq for Digest {
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other).into()
    }
}

impl Eq for Digest {}

/// Shows the algorithm only: a digest may be derived key material.
impl std::fmt::Debug for Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Digest({:?}, ..)", self.alg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // FIPS 180-2 (with change notice 1), Appendices A-C: the one-block
    // message "abc", the multi-block messages, and one million 'a'.
    const ABC: &[u8] = b"abc";
    const TWO_BLOCK_256: &[u8] = b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    const TWO_BLOCK_512: &[u8] = b"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";

    fn hex(d: &Digest) -> String {
        hex::encode(d.as_ref())
    }

    #[test]
    fn fips180_abc() {
        assert_eq!(
            hex(&HashAlg::Sha1.digest(ABC)),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert_eq!(
            hex(&HashAlg::Sha256.digest(ABC)),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            hex(&HashAlg::Sha384.digest(ABC)),
            "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed\
             8086072ba1e7cc2358baeca134c825a7"
        );
        assert_eq!(
            hex(&HashAlg::Sha512.digest(ABC)),
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a\
             2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
        );
    }

    #[test]
    fn fips180_multi_block() {
        assert_eq!(
            hex(&HashAlg::Sha1.digest(TWO_BLOCK_256)),
            "84983e441c3bd26ebaae4aa1f95129e5e54670f1"
        );
        assert_eq!(
            hex(&HashAlg::Sha256.digest(TWO_BLOCK_256)),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        );
        assert_eq!(
            hex(&HashAlg::Sha384.digest(TWO_BLOCK_512)),
            "09330c33f71147e83d192fc782cd1b4753111b173b3b05d22fa08086e3b0f712\
             fcc7c71a557e2db966c3e9fa91746039"
        );
        assert_eq!(
            hex(&HashAlg::Sha512.digest(TWO_BLOCK_512)),
            "8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018\
             501d289e4900f7e4331b99dec4b5433ac7d329eeb6dd26545e96e55b874be909"
        );
    }

    /// The empty message: not a FIPS 180 example, but the widely printed
    /// digests (e.g. Wikipedia's SHA-1/SHA-2 articles); it exercises the
    /// padding-only block.
    #[test]
    fn empty_input() {
        assert_eq!(
            hex(&HashAlg::Sha1.digest(b"")),
            "da39a3ee5e6b4b0d3255bfef95601890afd80709"
        );
        assert_eq!(
            hex(&HashAlg::Sha256.digest(b"")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    /// FIPS 180-2 one million 'a', fed in uneven pieces through the
    /// incremental interface so block boundaries fall mid-update.
    #[test]
    fn fips180_million_a_incremental() {
        let chunk = [b'a'; 999];
        let expected = [
            (HashAlg::Sha1, "34aa973cd4c4daa4f61eeb2bdbad27316534016f"),
            (
                HashAlg::Sha256,
                "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
            ),
            (
                HashAlg::Sha384,
                "9d0e1809716474cb086e834e310a4a1ced149e9c00f248527972cec5704c2a5b\
                 07b8b3dc38ecc4ebae97ddd87f3d8985",
            ),
            (
                HashAlg::Sha512,
                "e718483d0ce769644e2e42c7bc15b4638e1f98b13b2044285632a803afa973eb\
                 de0ff244877ea60a4cb0432ce577c31beb009c5c2c49aa2e4eadb217ad8cc09b",
            ),
        ];
        for (alg, want) in expected {
            let mut h = Hasher::new(alg);
            let mut left = 1_000_000usize;
            while left > 0 {
                let n = left.min(chunk.len());
                h.update(&chunk[..n]);
                left -= n;
            }
            let d = h.finish();
            assert_eq!(d.as_ref().len(), alg.output_len());
            assert_eq!(hex(&d), want, "{alg:?}");
        }
    }

    /// A cloned hasher continues independently from the shared prefix,
    /// which is what the key derivation relies on.
    #[test]
    fn clone_forks_state() {
        let mut a = Hasher::new(HashAlg::Sha256);
        a.update(b"a");
        let mut b = a.clone();
        a.update(b"bc");
        b.update(b"bd");
        assert_eq!(a.finish(), HashAlg::Sha256.digest(b"abc"));
        assert_eq!(b.finish(), HashAlg::Sha256.digest(b"abd"));
        assert_ne!(
            HashAlg::Sha256.digest(b"abc"),
            HashAlg::Sha256.digest(b"abd")
        );
    }

    #[test]
    fn debug_hides_bytes() {
        let d = HashAlg::Sha256.digest(b"abc");
        let s = format!("{d:?}");
        assert!(!s.contains("ba78"), "{s}");
        assert!(s.contains("Sha256"));
    }
}
