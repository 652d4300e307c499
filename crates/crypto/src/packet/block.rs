//! AES-CTR, AES-CBC and 3DES-CBC as the SSH transport uses them: one
//! keystream or one chain that runs across all packets of a direction
//! (RFC 4253 §6.3, RFC 4344 §4).
//!
//! aws-lc's one-shot CTR/CBC calls take the IV by value and do not hand back
//! the advanced state, so it is kept here: for CTR the 128-bit big-endian
//! counter advances by the number of blocks processed (SSH only ever
//! processes whole blocks, so no partial keystream block is carried over);
//! for CBC the next IV is the last ciphertext block. Each call works in
//! place on the caller's buffer and allocates nothing.

#![allow(deprecated)] // DES_EDE3_FOR_LEGACY_USE_ONLY: 3des-cbc exists for old peers only.

use aws_lc_rs::cipher::{
    DecryptingKey, DecryptionContext, EncryptingKey, EncryptionContext, UnboundCipherKey, AES_128,
    AES_192, AES_256, DES_EDE3_FOR_LEGACY_USE_ONLY,
};
use aws_lc_rs::iv::FixedLength;
use zeroize::Zeroizing;

use super::{CipherAlg, PacketCryptoError};

/// Which way a [`BlockCipher`] runs.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Direction {
    Encrypt,
    Decrypt,
}

enum Key {
    /// CTR is its own inverse, so both directions use the encrypting key.
    Ctr(EncryptingKey),
    CbcEncrypt(EncryptingKey),
    CbcDecrypt(DecryptingKey),
}

/// One direction of a CTR or CBC cipher with its running state.
pub(super) struct BlockCipher {
    key: Key,
    /// CTR: the counter block for the next block. CBC: the previous
    /// ciphertext block. Only the first `block_len` bytes are used (8 for
    /// 3DES). Derived from the key exchange, so treated as secret.
    state: Zeroizing<[u8; 16]>,
    block_len: usize,
}

impl BlockCipher {
    /// `alg` must be one of the CTR/CBC ciphers; the key and IV lengths are
    /// checked by the caller against `alg.key_len()` / `alg.iv_len()`.
    pub(super) fn new(
        alg: CipherAlg,
        key: &[u8],
        iv: &[u8],
        direction: Direction,
    ) -> Result<Self, PacketCryptoError> {
        let (algorithm, ctr) = match alg {
            CipherAlg::Aes128Ctr => (&AES_128, true),
            CipherAlg::Aes192Ctr => (&AES_192, true),
            CipherAlg::Aes256Ctr => (&AES_256, true),
            CipherAlg::Aes128Cbc => (&AES_128, false),
            CipherAlg::Aes192Cbc => (&AES_192, false),
            CipherAlg::Aes256Cbc => (&AES_256, false),
            CipherAlg::TripleDesCbc => (&DES_EDE3_FOR_LEGACY_USE_ONLY, false),
            CipherAlg::Chacha20Poly1305 | CipherAlg::Aes128Gcm | CipherAlg::Aes256Gcm => {
                return Err(PacketCryptoError::NotABlockCipher { alg: alg.name() })
            }
        };
        let rejected = |_| PacketCryptoError::KeyRejected { alg: alg.name() };
        let block_len = algorithm.block_len();
        let mut state = Zeroizing::new([0u8; 16]);
        match state.get_mut(..block_len) {
            Some(dst) if iv.len() == block_len => dst.copy_from_slice(iv),
            _ => {
                return Err(PacketCryptoError::BadIvLength {
                    alg: alg.name(),
                    expected: block_len,
                    got: iv.len(),
                })
            }
        }
        let unbound = UnboundCipherKey::new(algorithm, key).map_err(rejected)?;
        // aws-lc also rejects weak and repeated DES subkeys here (3DES only);
        // a key exchange produces one with negligible probability.
        let key = match (ctr, direction) {
            (true, _) => Key::Ctr(EncryptingKey::ctr(unbound).map_err(rejected)?),
            (false, Direction::Encrypt) => {
                Key::CbcEncrypt(EncryptingKey::cbc(unbound).map_err(rejected)?)
            }
            (false, Direction::Decrypt) => {
                Key::CbcDecrypt(DecryptingKey::cbc(unbound).map_err(rejected)?)
            }
        };
        Ok(Self {
            key,
            state,
            block_len,
        })
    }

    pub(super) fn block_len(&self) -> usize {
        self.block_len
    }

    /// Encrypts or decrypts `data` in place, continuing from the previous
    /// call, and advances the state.
    ///
    /// `data.len()` must be a multiple of `block_len()`; otherwise nothing is
    /// touched and `BadLayout` is returned.
    pub(super) fn apply(&mut self, data: &mut [u8]) -> Result<(), PacketCryptoError> {
        let bl = self.block_len;
        if !data.len().is_multiple_of(bl) {
            return Err(PacketCryptoError::BadLayout {
                len: data.len(),
                block_size: bl,
            });
        }
        let Some(last_start) = data.len().checked_sub(bl) else {
            return Ok(()); // nothing to do, and no "last block" to chain on
        };
        let failed = |_| PacketCryptoError::Internal("aws-lc rejected a block-aligned buffer");
        match &self.key {
            Key::Ctr(key) => {
                key.less_safe_encrypt(data, EncryptionContext::Iv128(self.iv128()))
                    .map_err(failed)?;
                // RFC 4344 §4: the counter is one 128-bit big-endian integer
                // that wraps modulo 2^128; aws-lc increments it the same way
                // inside a call, this carries it across calls.
                let blocks = (data.len() / 16) as u128;
                let next = u128::from_be_bytes(*self.state).wrapping_add(blocks);
                *self.state = next.to_be_bytes();
            }
            Key::CbcEncrypt(key) => {
                key.less_safe_encrypt(data, self.encryption_iv())
                    .map_err(failed)?;
                self.chain_on(&data[last_start..]);
            }
            Key::CbcDecrypt(key) => {
                // The next IV is the last *ciphertext* block: save it before
                // the in-place decryption overwrites it.
                let mut next = Zeroizing::new([0u8; 16]);
                next[..bl].copy_from_slice(&data[last_start..]);
                key.decrypt(data, self.decryption_iv()).map_err(failed)?;
                *self.state = *next;
            }
        }
        Ok(())
    }

    fn chain_on(&mut self, last_block: &[u8]) {
        self.state[..self.block_len].copy_from_slice(last_block);
    }

    fn iv128(&self) -> FixedLength<16> {
        FixedLength::from(*self.state)
    }

    fn iv64(&self) -> FixedLength<8> {
        let mut iv = [0u8; 8];
        iv.copy_from_slice(&self.state[..8]);
        FixedLength::from(iv)
    }

    fn encryption_iv(&self) -> EncryptionContext {
        if self.block_len == 8 {
            EncryptionContext::Iv64(self.iv64())
        } else {
            EncryptionContext::Iv128(self.iv128())
        }
    }

    fn decryption_iv(&self) -> DecryptionContext {
        if self.block_len == 8 {
            DecryptionContext::Iv64(self.iv64())
        } else {
            DecryptionContext::Iv128(self.iv128())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).expect("test hex")
    }

    /// Runs `data` through `cipher` in pieces of the given sizes, so the
    /// state has to carry from one call to the next as it does between
    /// packets.
    fn apply_in_pieces(cipher: &mut BlockCipher, data: &mut [u8], pieces: &[usize]) {
        let mut rest = data;
        for &n in pieces {
            let (now, later) = rest.split_at_mut(n);
            cipher.apply(now).expect("aligned");
            rest = later;
        }
        assert!(rest.is_empty());
    }

    // NIST SP 800-38A, Appendix F: the four-block plaintext shared by F.2 and F.5.
    const SP800_38A_PT: &str = "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51\
                                30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710";
    const SP800_38A_KEYS: [(&str, &str); 3] = [
        ("F.x.1 AES-128", "2b7e151628aed2a6abf7158809cf4f3c"),
        (
            "F.x.3 AES-192",
            "8e73b0f7da0e6452c810f32b809079e562f8ead2522c6b7b",
        ),
        (
            "F.x.5 AES-256",
            "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4",
        ),
    ];

    fn check_vector(alg: CipherAlg, key: &[u8], iv: &[u8], pt: &[u8], ct: &[u8], what: &str) {
        // Encrypt as two "packets", decrypt as three of other sizes.
        let mut enc = BlockCipher::new(alg, key, iv, Direction::Encrypt).expect("key");
        let mut buf = pt.to_vec();
        let half = pt.len() / 2 / enc.block_len() * enc.block_len();
        apply_in_pieces(&mut enc, &mut buf, &[half, pt.len() - half]);
        assert_eq!(hex::encode(&buf), hex::encode(ct), "{what} encrypt");

        let mut dec = BlockCipher::new(alg, key, iv, Direction::Decrypt).expect("key");
        let b = dec.block_len();
        apply_in_pieces(&mut dec, &mut buf, &[b, b, pt.len() - 2 * b]);
        assert_eq!(hex::encode(&buf), hex::encode(pt), "{what} decrypt");
    }

    // NIST SP 800-38A §F.5.1, F.5.3, F.5.5 (CTR-AESxxx.Encrypt).
    #[test]
    fn sp800_38a_ctr() {
        let ct = [
            "874d6191b620e3261bef6864990db6ce9806f66b7970fdff8617187bb9fffdff\
             5ae4df3edbd5d35e5b4f09020db03eab1e031dda2fbe03d1792170a0f3009cee",
            "1abc932417521ca24f2b0459fe7e6e0b090339ec0aa6faefd5ccc2c6f4ce8e94\
             1e36b26bd1ebc670d1bd1d665620abf74f78a7f6d29809585a97daec58c6b050",
            "601ec313775789a5b7a7f504bbf3d228f443e3ca4d62b59aca84e990cacaf5c5\
             2b0930daa23de94ce87017ba2d84988ddfc9c58db67aada613c2dd08457941a6",
        ];
        let algs = [
            CipherAlg::Aes128Ctr,
            CipherAlg::Aes192Ctr,
            CipherAlg::Aes256Ctr,
        ];
        for ((alg, (what, key)), ct) in algs.into_iter().zip(SP800_38A_KEYS).zip(ct) {
            let iv = h("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff");
            check_vector(alg, &h(key), &iv, &h(SP800_38A_PT), &h(ct), what);
        }
    }

    // NIST SP 800-38A §F.2.1, F.2.3, F.2.5 (CBC-AESxxx.Encrypt).
    #[test]
    fn sp800_38a_cbc() {
        let ct = [
            "7649abac8119b246cee98e9b12e9197d5086cb9b507219ee95db113a917678b2\
             73bed6b8e3c1743b7116e69e222295163ff1caa1681fac09120eca307586e1a7",
            "4f021db243bc633d7178183a9fa071e8b4d9ada9ad7dedf4e5e738763f69145a\
             571b242012fb7ae07fa9baac3df102e008b0e27988598881d920a9e64f5615cd",
            "f58c4c04d6e5f1ba779eabfb5f7bfbd69cfc4e967edb808d679f777bc6702c7d\
             39f23369a9d9bacfa530e26304231461b2eb05e2c39be9fcda6c19078c6a9d1b",
        ];
        let algs = [
            CipherAlg::Aes128Cbc,
            CipherAlg::Aes192Cbc,
            CipherAlg::Aes256Cbc,
        ];
        for ((alg, (what, key)), ct) in algs.into_iter().zip(SP800_38A_KEYS).zip(ct) {
            let iv = h("000102030405060708090a0b0c0d0e0f");
            check_vector(alg, &h(key), &iv, &h(SP800_38A_PT), &h(ct), what);
        }
    }

    // NIST CAVP TDES Multi-block Message Test, TCBCMMT3.rsp (3-key TDEA,
    // CBC): [ENCRYPT] COUNT = 3 and [DECRYPT] COUNT = 3.
    #[test]
    fn cavp_tcbcmmt3() {
        check_vector(
            CipherAlg::TripleDesCbc,
            &h("d98aadc76d4a3716158c32866efbb9ce834af2297379a49d"),
            &h("3c5220327c502b44"),
            &h("6174079dda53ca723ebf00a66837f8d5ce648c08acaa5ee45ffe62210ef79d3e"),
            &h("f5bd4d600bed77bec78409e3530ebda1d815506ed53103015b87e371ae000958"),
            "TCBCMMT3 encrypt 3",
        );
        check_vector(
            CipherAlg::TripleDesCbc,
            &h("86838c6815c25b975bdc10f4b95145e649fdefdcf4754ab9"),
            &h("4b1992ad38b4d6dd"),
            &h("f5f94e406cec1b85e9a7c076b95456b6a439921591abbfc381d0bbf363ff5c04"),
            &h("cb78b6deaca11379094341f5c2cfb977bba8259482341f0a32323cae974e49a6"),
            "TCBCMMT3 decrypt 3",
        );
    }

    /// CTR keystream block i is AES(counter0 + i mod 2^128) (RFC 4344 §4),
    /// computed here with a separate ECB key, block by block.
    fn ctr_by_hand(key: &[u8], counter0: u128, pt: &[u8]) -> Vec<u8> {
        let ecb =
            EncryptingKey::ecb(UnboundCipherKey::new(&AES_128, key).expect("key")).expect("ecb");
        let mut out = pt.to_vec();
        for (i, chunk) in out.chunks_mut(16).enumerate() {
            let mut ks = counter0.wrapping_add(i as u128).to_be_bytes();
            ecb.less_safe_encrypt(&mut ks, EncryptionContext::None)
                .expect("one block");
            chunk.iter_mut().zip(ks).for_each(|(c, k)| *c ^= k);
        }
        out
    }

    // The counter carries out of the low 32 and 64 bits and wraps at 2^128,
    // both inside one call and across calls.
    #[test]
    fn ctr_counter_carries_and_wraps() {
        let key = h("2b7e151628aed2a6abf7158809cf4f3c");
        let pt = h(SP800_38A_PT);
        for counter0 in [
            0x0000_0000_0000_0000_ffff_ffff_ffff_fffe_u128,
            0x0000_0000_0000_0000_0000_0000_ffff_fffe_u128,
            u128::MAX - 1,
        ] {
            let expected = ctr_by_hand(&key, counter0, &pt);
            for pieces in [&[64][..], &[16, 16, 16, 16], &[16, 48]] {
                let iv = counter0.to_be_bytes();
                let mut c =
                    BlockCipher::new(CipherAlg::Aes128Ctr, &key, &iv, Direction::Encrypt).unwrap();
                let mut buf = pt.clone();
                apply_in_pieces(&mut c, &mut buf, pieces);
                assert_eq!(buf, expected, "counter {counter0:#x} pieces {pieces:?}");
            }
        }
    }

    #[test]
    fn misaligned_input_is_refused_and_leaves_state_alone() {
        let key = h("2b7e151628aed2a6abf7158809cf4f3c");
        let iv = h("000102030405060708090a0b0c0d0e0f");
        let mut c = BlockCipher::new(CipherAlg::Aes128Cbc, &key, &iv, Direction::Encrypt).unwrap();
        let mut odd = [0u8; 17];
        assert!(matches!(
            c.apply(&mut odd),
            Err(PacketCryptoError::BadLayout {
                len: 17,
                block_size: 16
            })
        ));
        assert_eq!(odd, [0u8; 17]);
        let mut buf = h(SP800_38A_PT);
        c.apply(&mut buf).unwrap();
        assert_eq!(&buf[..16], &h("7649abac8119b246cee98e9b12e9197d")[..]);
    }

    #[test]
    fn bad_iv_and_weak_3des_keys_are_rejected() {
        let key = [1u8; 16];
        assert!(matches!(
            BlockCipher::new(CipherAlg::Aes128Ctr, &key, &[0; 15], Direction::Encrypt),
            Err(PacketCryptoError::BadIvLength {
                expected: 16,
                got: 15,
                ..
            })
        ));
        // K1 = K2 = K3 degenerates to single DES; aws-lc refuses it.
        let same = h("0123456789abcdef0123456789abcdef0123456789abcdef");
        assert!(matches!(
            BlockCipher::new(CipherAlg::TripleDesCbc, &same, &[0; 8], Direction::Encrypt),
            Err(PacketCryptoError::KeyRejected { .. })
        ));
        assert!(matches!(
            BlockCipher::new(CipherAlg::Aes128Gcm, &key, &[0; 12], Direction::Encrypt),
            Err(PacketCryptoError::NotABlockCipher { .. })
        ));
    }
}
