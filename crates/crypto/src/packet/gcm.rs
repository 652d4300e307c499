//! aes128-gcm@openssh.com and aes256-gcm@openssh.com (RFC 5647 as OpenSSH
//! PROTOCOL §1.6 amends it: the MAC negotiation is ignored).
//!
//! The 12-byte IV from the key exchange is a 4-byte fixed field followed by
//! an 8-byte big-endian invocation counter that is incremented after every
//! packet (RFC 5647 §7.1). The 4-byte packet_length travels in the clear as
//! the AAD; everything after it is encrypted. The sequence number is not an
//! input: the implicit counter plays its part.
//!
//! The cipher itself is `gcm_vaes` (256-bit VAES + VPCLMULQDQ) where the
//! CPU has it, chosen once per key, and aws-lc's AES-GCM otherwise.

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_128_GCM, AES_256_GCM};
use zeroize::Zeroize;

use super::{CipherAlg, PacketCryptoError};

/// Length of the AES-GCM authentication tag (RFC 5647 §7.3).
pub(super) const TAG_LEN: usize = 16;

/// One direction of AES-GCM with its invocation counter.
pub(super) struct Gcm {
    key: Engine,
    fixed: [u8; 4],
    invocation: u64,
}

/// Who runs AES-GCM for this key.
enum Engine {
    #[cfg(target_arch = "x86_64")]
    Vaes(Box<super::gcm_vaes::Key>),
    AwsLc(LessSafeKey),
}

/// The VAES engine for `key`, if `allowed` and the CPU has it.
fn vaes_key(key: &[u8], allowed: bool) -> Option<Engine> {
    #[cfg(target_arch = "x86_64")]
    if allowed {
        return super::gcm_vaes::Key::new(key).map(Engine::Vaes);
    }
    let _ = (key, allowed);
    None
}

impl Gcm {
    /// `key` and `iv` lengths are checked by the caller.
    pub(super) fn new(alg: CipherAlg, key: &[u8], iv: &[u8]) -> Result<Self, PacketCryptoError> {
        Self::with_engine(alg, key, iv, true)
    }

    /// [`Gcm::new`] with aws-lc whatever the CPU (tests: both engines).
    #[cfg(test)]
    fn new_aws_lc(alg: CipherAlg, key: &[u8], iv: &[u8]) -> Result<Self, PacketCryptoError> {
        Self::with_engine(alg, key, iv, false)
    }

    /// Checks the key and IV, then builds the VAES engine if `vaes` allows
    /// it and the CPU has it, aws-lc's otherwise (one key schedule, not two).
    fn with_engine(
        alg: CipherAlg,
        key: &[u8],
        iv: &[u8],
        vaes: bool,
    ) -> Result<Self, PacketCryptoError> {
        let algorithm = match alg {
            CipherAlg::Aes128Gcm => &AES_128_GCM,
            CipherAlg::Aes256Gcm => &AES_256_GCM,
            _ => {
                return Err(PacketCryptoError::Internal(
                    "Gcm::new with a non-GCM cipher",
                ))
            }
        };
        let bad_iv = || PacketCryptoError::BadIvLength {
            alg: alg.name(),
            expected: 12,
            got: iv.len(),
        };
        let (fixed, invocation) = iv.split_first_chunk::<4>().ok_or_else(bad_iv)?;
        let invocation: [u8; 8] = invocation.try_into().map_err(|_| bad_iv())?;
        let rejected = || PacketCryptoError::KeyRejected { alg: alg.name() };
        if key.len() != algorithm.key_len() {
            return Err(rejected());
        }
        let engine = match vaes_key(key, vaes) {
            Some(engine) => engine,
            None => Engine::AwsLc(LessSafeKey::new(
                UnboundKey::new(algorithm, key).map_err(|_| rejected())?,
            )),
        };
        Ok(Self {
            key: engine,
            fixed: *fixed,
            invocation: u64::from_be_bytes(invocation),
        })
    }

    /// Whether this key runs on the VAES code (tests: the path is taken).
    #[cfg(test)]
    fn uses_vaes(&self) -> bool {
        match self.key {
            #[cfg(target_arch = "x86_64")]
            Engine::Vaes(_) => true,
            Engine::AwsLc(_) => false,
        }
    }

    fn nonce(&self) -> [u8; 12] {
        let mut n = [0u8; 12];
        n[..4].copy_from_slice(&self.fixed);
        n[4..].copy_from_slice(&self.invocation.to_be_bytes());
        n
    }

    /// RFC 5647 §7.1: the invocation counter is a 64-bit integer that wraps;
    /// the fixed field never changes. (SSH rekeys long before 2^64 packets.)
    fn advance(&mut self) {
        self.invocation = self.invocation.wrapping_add(1);
    }

    /// Seals `packet` (= packet_length || rest) in place and writes the tag.
    pub(super) fn seal(
        &mut self,
        packet: &mut [u8],
        tag: &mut [u8],
    ) -> Result<(), PacketCryptoError> {
        let (aad, body) = split_length(packet)?;
        self.seal_detached(&*aad, body, tag)
    }

    /// Verifies and then decrypts `packet` in place. On failure the body is
    /// wiped: both engines decrypt and check the tag in one pass, so the
    /// buffer may already hold unauthenticated plaintext, which must not
    /// escape.
    pub(super) fn open(&mut self, packet: &mut [u8], tag: &[u8]) -> Result<(), PacketCryptoError> {
        let (aad, body) = split_length(packet)?;
        self.open_detached(&*aad, body, tag)
    }

    fn seal_detached(
        &mut self,
        aad: &[u8],
        body: &mut [u8],
        tag_out: &mut [u8],
    ) -> Result<(), PacketCryptoError> {
        if tag_out.len() != TAG_LEN {
            return Err(PacketCryptoError::BadTagLength {
                expected: TAG_LEN,
                got: tag_out.len(),
            });
        }
        let failed = PacketCryptoError::Internal("AES-GCM seal failed");
        let nonce = self.nonce();
        match &self.key {
            #[cfg(target_arch = "x86_64")]
            Engine::Vaes(k) => {
                tag_out.copy_from_slice(&k.seal(&nonce, aad, body).map_err(|_| failed)?)
            }
            Engine::AwsLc(k) => {
                let tag = k
                    .seal_in_place_separate_tag(
                        Nonce::assume_unique_for_key(nonce),
                        Aad::from(aad),
                        body,
                    )
                    .map_err(|_| failed)?;
                tag_out.copy_from_slice(tag.as_ref());
            }
        }
        self.advance();
        Ok(())
    }

    fn open_detached(
        &mut self,
        aad: &[u8],
        body: &mut [u8],
        tag: &[u8],
    ) -> Result<(), PacketCryptoError> {
        // Both engines compare the tag in constant time (gcm_vaes with
        // `subtle`); whichever ran, a failure wipes the body here.
        let nonce = self.nonce();
        let opened = match &self.key {
            #[cfg(target_arch = "x86_64")]
            Engine::Vaes(k) => match <&[u8; TAG_LEN]>::try_from(tag) {
                Ok(tag) => k.open(&nonce, aad, body, tag).is_ok(),
                Err(_) => false,
            },
            Engine::AwsLc(k) => k
                .open_in_place_separate_tag(
                    Nonce::assume_unique_for_key(nonce),
                    Aad::from(aad),
                    tag,
                    body,
                )
                .is_ok(),
        };
        if opened {
            self.advance();
            Ok(())
        } else {
            body.zeroize();
            Err(PacketCryptoError::AuthFailed)
        }
    }
}

impl Drop for Gcm {
    fn drop(&mut self) {
        self.fixed.zeroize();
        self.invocation.zeroize();
    }
}

fn split_length(packet: &mut [u8]) -> Result<(&mut [u8; 4], &mut [u8]), PacketCryptoError> {
    let len = packet.len();
    packet
        .split_first_chunk_mut::<4>()
        .ok_or(PacketCryptoError::BadLayout {
            len,
            block_size: 16,
        })
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).expect("test hex")
    }

    // McGrew & Viega, "The Galois/Counter Mode of Operation (GCM)", revised
    // 2005, Appendix B (also used by NIST SP 800-38D validation):
    // test cases 3 and 4 (AES-128) and 15 and 16 (AES-256). They share the
    // IV, the plaintext, and (for 4 and 16) the AAD.
    const IV: &str = "cafebabefacedbaddecaf888";
    const PT: &str = "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72\
                      1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255";
    const AAD: &str = "feedfacedeadbeeffeedfacedeadbeefabaddad2";

    struct Case {
        name: &'static str,
        alg: CipherAlg,
        key: &'static str,
        pt_len: usize,
        aad: &'static str,
        ct: &'static str,
        tag: &'static str,
    }

    // McGrew & Viega's keys and the ciphertexts of their cases 3 and 15
    // (also used by gcm_vaes's tests).
    pub(in crate::packet) const K128: &str = "feffe9928665731c6d6a8f9467308308";
    pub(in crate::packet) const K256: &str =
        "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308";
    pub(in crate::packet) const CT3: &str =
        "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e\
                       21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985";
    pub(in crate::packet) const CT15: &str =
        "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa\
                        8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad";

    const CASES: [Case; 4] = [
        Case {
            name: "test case 3",
            alg: CipherAlg::Aes128Gcm,
            key: K128,
            pt_len: 64,
            aad: "",
            ct: CT3,
            tag: "4d5c2af327cd64a62cf35abd2ba6fab4",
        },
        Case {
            name: "test case 4",
            alg: CipherAlg::Aes128Gcm,
            key: K128,
            pt_len: 60,
            aad: AAD,
            ct: CT3,
            tag: "5bc94fbc3221a5db94fae95ae7121a47",
        },
        Case {
            name: "test case 15",
            alg: CipherAlg::Aes256Gcm,
            key: K256,
            pt_len: 64,
            aad: "",
            ct: CT15,
            tag: "b094dac5d93471bdec1a502270e3cc6c",
        },
        Case {
            name: "test case 16",
            alg: CipherAlg::Aes256Gcm,
            key: K256,
            pt_len: 60,
            aad: AAD,
            ct: CT15,
            tag: "76fc6ece0f4e1768cddf8853bb2d551b",
        },
    ];

    type New = fn(CipherAlg, &[u8], &[u8]) -> Result<Gcm, PacketCryptoError>;

    /// Both engines: the dispatcher's choice (VAES where the CPU has it)
    /// and aws-lc forced.
    const ENGINES: [(&str, New); 2] = [("dispatch", Gcm::new), ("aws-lc", Gcm::new_aws_lc)];

    #[test]
    fn vaes_engine_is_used_on_vaes_cpus() {
        #[cfg(target_arch = "x86_64")]
        let has = super::super::gcm_vaes::available();
        #[cfg(not(target_arch = "x86_64"))]
        let has = false;
        for alg in [CipherAlg::Aes128Gcm, CipherAlg::Aes256Gcm] {
            let key = vec![3u8; alg.key_len()];
            let g = Gcm::new(alg, &key, &[0; 12]).unwrap();
            assert_eq!(g.uses_vaes(), has, "{}", alg.name());
            assert!(!Gcm::new_aws_lc(alg, &key, &[0; 12]).unwrap().uses_vaes());
        }
        #[cfg(target_arch = "x86_64")]
        assert_eq!(
            has,
            std::arch::is_x86_feature_detected!("vaes")
                && std::arch::is_x86_feature_detected!("vpclmulqdq")
                && std::arch::is_x86_feature_detected!("avx2")
        );
    }

    #[test]
    fn mcgrew_viega_vectors() {
        for ((engine, new), c) in ENGINES.into_iter().flat_map(|e| CASES.map(|c| (e, c))) {
            let name = format!("{} ({engine})", c.name);
            let pt = &h(PT)[..c.pt_len];
            let ct = &h(c.ct)[..c.pt_len];
            let mut g = new(c.alg, &h(c.key), &h(IV)).unwrap();
            let mut buf = pt.to_vec();
            let mut tag = [0u8; TAG_LEN];
            g.seal_detached(&h(c.aad), &mut buf, &mut tag).unwrap();
            assert_eq!(hex::encode(&buf), hex::encode(ct), "{} ciphertext", name);
            assert_eq!(hex::encode(tag), c.tag, "{} tag", name);

            let mut o = new(c.alg, &h(c.key), &h(IV)).unwrap();
            o.open_detached(&h(c.aad), &mut buf, &tag).unwrap();
            assert_eq!(buf, pt, "{} decrypt", name);

            let mut o = new(c.alg, &h(c.key), &h(IV)).unwrap();
            let mut forged = ct.to_vec();
            let mut bad_tag = tag;
            bad_tag[0] ^= 0x80;
            assert!(matches!(
                o.open_detached(&h(c.aad), &mut forged, &bad_tag),
                Err(PacketCryptoError::AuthFailed)
            ));
            assert!(forged.iter().all(|&b| b == 0), "{}: wiped on failure", name);
        }
    }

    // The invocation counter (IV bytes 4..12) goes up by one per packet and
    // wraps inside its 8 bytes without touching the fixed field: a key whose
    // counter starts at 2^64-1 encrypts its second packet exactly as a key
    // starting at 0 encrypts its first.
    #[test]
    fn invocation_counter_wraps_within_its_field() {
        let key = h(K128);
        let mut iv_max = h("cafebabe");
        iv_max.extend_from_slice(&[0xff; 8]);
        let mut iv_zero = h("cafebabe");
        iv_zero.extend_from_slice(&[0; 8]);

        let mut a = Gcm::new(CipherAlg::Aes128Gcm, &key, &iv_max).unwrap();
        let mut b = Gcm::new(CipherAlg::Aes128Gcm, &key, &iv_zero).unwrap();
        let mut tag = [0u8; TAG_LEN];
        let mut first = [0u8; 20];
        a.seal(&mut first, &mut tag).unwrap();
        let mut a2 = [0u8; 20];
        let mut a2_tag = [0u8; TAG_LEN];
        a.seal(&mut a2, &mut a2_tag).unwrap();
        let mut b1 = [0u8; 20];
        let mut b1_tag = [0u8; TAG_LEN];
        b.seal(&mut b1, &mut b1_tag).unwrap();
        assert_eq!((a2, a2_tag), (b1, b1_tag));
        assert_ne!(first, a2, "a new nonce gives a new keystream");
    }
}
