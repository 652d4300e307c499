//! The HMACs of the SSH transport (RFC 4253 §6.4, RFC 6668, OpenSSH
//! PROTOCOL §1.5 for the `-etm@openssh.com` variants).
//!
//! Both layouts compute `HMAC(key, uint32 seq || bytes)`; they differ only in
//! which bytes (the plaintext packet, or the clear length and the
//! ciphertext), which the caller decides. The sequence number is fed as a
//! separate update so no per-packet buffer is needed.

use aws_lc_rs::hmac;
use subtle::ConstantTimeEq;

use super::{MacAlg, PacketCryptoError};

/// One direction's MAC key.
pub(super) struct Mac {
    alg: MacAlg,
    // aws-lc keeps the keyed inner/outer states in the HMAC_CTX and cleanses
    // it on drop, so the raw key is not kept anywhere here.
    key: hmac::Key,
}

impl Mac {
    /// A key of exactly `alg.key_len()` bytes, as SSH key derivation gives.
    pub(super) fn new(alg: MacAlg, key: &[u8]) -> Result<Self, PacketCryptoError> {
        if key.len() != alg.key_len() {
            return Err(PacketCryptoError::BadKeyLength {
                alg: alg.name(),
                expected: alg.key_len(),
                got: key.len(),
            });
        }
        Ok(Self::with_any_key(alg, key))
    }

    /// HMAC accepts any key length (RFC 2104 §2); the published test vectors
    /// use keys shorter and longer than SSH's, so tests need this.
    fn with_any_key(alg: MacAlg, key: &[u8]) -> Self {
        let digest = match alg {
            MacAlg::HmacSha256Etm | MacAlg::HmacSha256 => hmac::HMAC_SHA256,
            MacAlg::HmacSha512Etm | MacAlg::HmacSha512 => hmac::HMAC_SHA512,
            MacAlg::HmacSha1Etm | MacAlg::HmacSha1 | MacAlg::HmacSha1_96 => {
                hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY
            }
        };
        Self {
            alg,
            key: hmac::Key::new(digest, key),
        }
    }

    /// The full (untruncated) HMAC over the concatenation of `parts`.
    fn compute(&self, parts: &[&[u8]]) -> hmac::Tag {
        let mut ctx = hmac::Context::with_key(&self.key);
        for part in parts {
            ctx.update(part);
        }
        ctx.sign()
    }

    /// Writes the `mac_len()` bytes of `HMAC(key, seq || data)` to `out`,
    /// which must be exactly that long.
    pub(super) fn sign(&self, seq: u32, data: &[u8], out: &mut [u8]) {
        let tag = self.compute(&[&seq.to_be_bytes(), data]);
        // The digest is always at least mac_len long (truncation only ever
        // shortens it), so the zip writes exactly out.len() bytes.
        for (o, t) in out.iter_mut().zip(tag.as_ref()) {
            *o = *t;
        }
    }

    /// Whether `tag` is `HMAC(key, seq || data)` (truncated to `mac_len()`),
    /// compared in constant time so timing does not say how many leading
    /// bytes of a forged tag were right.
    pub(super) fn verify(&self, seq: u32, data: &[u8], tag: &[u8]) -> bool {
        let full = self.compute(&[&seq.to_be_bytes(), data]);
        match full.as_ref().get(..self.alg.mac_len()) {
            // Lengths are public; ct_eq on unequal lengths returns false.
            Some(expected) => bool::from(expected.ct_eq(tag)),
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hmac_hex(alg: MacAlg, key: &[u8], parts: &[&[u8]]) -> String {
        hex::encode(Mac::with_any_key(alg, key).compute(parts).as_ref())
    }

    // RFC 2202 §3 (HMAC-SHA-1), test cases 1, 2 and 6.
    #[test]
    fn rfc2202_hmac_sha1() {
        assert_eq!(
            hmac_hex(MacAlg::HmacSha1, &[0x0b; 20], &[b"Hi There"]),
            "b617318655057264e28bc0b6fb378c8ef146be00"
        );
        assert_eq!(
            hmac_hex(
                MacAlg::HmacSha1,
                b"Jefe",
                &[b"what do ya want for nothing?"]
            ),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"
        );
        assert_eq!(
            hmac_hex(
                MacAlg::HmacSha1,
                &[0xaa; 80],
                &[b"Test Using Larger Than Block-Size Key - Hash Key First"]
            ),
            "aa4ae5e15272d00e95705637ce8a3b55ed402112"
        );
    }

    // RFC 2202 §3, test case 5: HMAC-SHA-1-96 is the first 12 bytes.
    #[test]
    fn rfc2202_hmac_sha1_96_truncation() {
        let mac = Mac::with_any_key(MacAlg::HmacSha1_96, &[0x0c; 20]);
        let full = mac.compute(&[b"Test With Truncation"]);
        assert_eq!(
            hex::encode(full.as_ref()),
            "4c1a03424b55e07fe7f27be1d58bb9324a9a5a04"
        );
        assert_eq!(
            hex::encode(&full.as_ref()[..MacAlg::HmacSha1_96.mac_len()]),
            "4c1a03424b55e07fe7f27be1"
        );
    }

    // RFC 4231 §4.2, §4.3 and §4.7 (test cases 1, 2 and 6).
    #[test]
    fn rfc4231_hmac_sha256() {
        assert_eq!(
            hmac_hex(MacAlg::HmacSha256, &[0x0b; 20], &[b"Hi There"]),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
        assert_eq!(
            hmac_hex(
                MacAlg::HmacSha256Etm,
                b"Jefe",
                &[b"what do ya want for nothing?"]
            ),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(
            hmac_hex(
                MacAlg::HmacSha256,
                &[0xaa; 131],
                &[b"Test Using Larger Than Block-Size Key - Hash Key First"]
            ),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn rfc4231_hmac_sha512() {
        assert_eq!(
            hmac_hex(MacAlg::HmacSha512, &[0x0b; 20], &[b"Hi There"]),
            "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde\
             daa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854"
        );
        assert_eq!(
            hmac_hex(
                MacAlg::HmacSha512Etm,
                b"Jefe",
                &[b"what do ya want for nothing?"]
            ),
            "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554\
             9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"
        );
        assert_eq!(
            hmac_hex(
                MacAlg::HmacSha512,
                &[0xaa; 131],
                &[b"Test Using Larger Than Block-Size Key - Hash Key First"]
            ),
            "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f352\
             6b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598"
        );
    }

    // The sequence number goes in as its own update; the result must be the
    // HMAC of the concatenation (RFC 4231 test case 2 split at "what").
    #[test]
    fn seq_prefix_is_the_first_four_bytes() {
        let mac = Mac::with_any_key(MacAlg::HmacSha256, b"Jefe");
        let seq = u32::from_be_bytes(*b"what");
        let mut out = [0u8; 32];
        mac.sign(seq, b" do ya want for nothing?", &mut out);
        assert_eq!(
            hex::encode(out),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert!(mac.verify(seq, b" do ya want for nothing?", &out));
        assert!(!mac.verify(seq.wrapping_add(1), b" do ya want for nothing?", &out));
        let mut bad = out;
        bad[31] ^= 1;
        assert!(!mac.verify(seq, b" do ya want for nothing?", &bad));
        assert!(!mac.verify(seq, b" do ya want for nothing?", &out[..31]));
    }

    #[test]
    fn key_length_is_enforced() {
        for &alg in MacAlg::ALL {
            assert!(Mac::new(alg, &vec![7; alg.key_len()]).is_ok());
            assert!(matches!(
                Mac::new(alg, &vec![7; alg.key_len() + 1]),
                Err(PacketCryptoError::BadKeyLength { .. })
            ));
        }
    }
}
