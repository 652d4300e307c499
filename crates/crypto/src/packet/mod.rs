//! Protection of the SSH binary packet (RFC 4253 §6): the ciphers and MACs
//! negotiated in key exchange, applied in place to one packet at a time.
//!
//! A packet here is `uint32 packet_length || byte padding_length || payload
//! || padding`, laid out by the caller; the tag (AEAD tag or MAC) travels
//! after it. There are four layouts, which [`SealingKey`] and
//! [`OpeningKey`] hide behind one interface:
//!
//! | mode | length on the wire | authenticated | `aad_len` | `header_len` |
//! |---|---|---|---|---|
//! | none (before the first NEWKEYS) | clear | nothing | 0 | 4 |
//! | AES-GCM (RFC 5647, OpenSSH PROTOCOL §1.6) | clear (AAD) | length, ciphertext | 4 | 4 |
//! | chacha20-poly1305@openssh.com | encrypted with its own key | encrypted length, ciphertext | 4 | 4 |
//! | CTR/CBC + `-etm@openssh.com` MAC (PROTOCOL §1.5) | clear | `seq \|\| length \|\| ciphertext` | 4 | 4 |
//! | CTR/CBC + plain HMAC (RFC 4253 §6.4, "encrypt-and-MAC") | encrypted | `seq \|\| plaintext packet` | 0 | block size |
//!
//! `aad_len` bytes at the start of the packet are not counted when padding
//! to the block size. `seq` is the packet's sequence number (RFC 4253 §6.4),
//! which the caller keeps and lets wrap at 2^32.
//!
//! The hot path allocates nothing: every operation works in place on the
//! caller's buffer, and per-direction state (CTR counter, CBC chain, GCM
//! invocation counter) lives in the key. Tags and MACs are compared in
//! constant time.
//!
//! chacha20-poly1305@openssh.com runs our own construct (`chacha_openssh`:
//! aws-lc's ChaCha20 assembly with our Poly1305, AVX2 where the CPU has it,
//! 64-bit scalar elsewhere). aws-lc's SSE2 Poly1305 was half the cost of the
//! cipher, and aws-lc 0.47's x86_64 Poly1305 gets the tag wrong on rare
//! inputs (see `poly1305::tests::aws_lc_combine_carry_regression`), which
//! would show as a spurious MAC failure; so aws-lc-rs's
//! `chacha20_poly1305_openssh` is no longer used on any CPU.

mod block;
mod chacha_openssh;
#[allow(unsafe_code)]
mod ffi;
mod gcm;
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
mod gcm_vaes;
mod mac;
mod poly1305;

/// Internals the fuzz targets compare against each other; not an API.
/// (Poly1305 and AES-GCM: ours and aws-lc's.)
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing {
    /// Poly1305 by the portable code.
    pub fn poly1305_scalar(key: &[u8; 32], msg: &[u8]) -> [u8; 16] {
        super::poly1305::poly1305_scalar(key, msg)
    }

    /// Poly1305 by the AVX2 code at any length; `None` without AVX2.
    pub fn poly1305_avx2(key: &[u8; 32], msg: &[u8]) -> Option<[u8; 16]> {
        super::poly1305::poly1305_avx2(key, msg)
    }

    /// Poly1305 as the packet code calls it (AVX2 from a length on).
    pub fn poly1305(key: &[u8; 32], msg: &[u8]) -> [u8; 16] {
        super::poly1305::poly1305(key, msg)
    }

    /// aws-lc's Poly1305, the reference.
    pub fn poly1305_aws_lc(key: &[u8; 32], msg: &[u8]) -> [u8; 16] {
        super::ffi::poly1305_aws_lc(key, msg)
    }

    /// RFC 8439 §2.5 with general big-number arithmetic: the arbiter when
    /// aws-lc and ours disagree.
    pub fn poly1305_bignum(key: &[u8; 32], msg: &[u8]) -> [u8; 16] {
        super::poly1305::poly1305_bignum(key, msg)
    }

    /// AES-GCM by the VAES code (`key` of 16 or 32 bytes): encrypts `body`
    /// in place and returns the tag; `None` where the CPU lacks VAES (or
    /// for another key length).
    pub fn aes_gcm_seal_vaes(
        key: &[u8],
        nonce: &[u8; 12],
        aad: &[u8],
        body: &mut [u8],
    ) -> Option<[u8; 16]> {
        #[cfg(target_arch = "x86_64")]
        {
            super::gcm_vaes::Key::new(key)?.seal(nonce, aad, body).ok()
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            let _ = (key, nonce, aad, body);
            None
        }
    }

    /// Opens with the VAES code: `Some(true)` if the tag is right (body
    /// decrypted), `Some(false)` if not (body wiped), `None` as above.
    pub fn aes_gcm_open_vaes(
        key: &[u8],
        nonce: &[u8; 12],
        aad: &[u8],
        body: &mut [u8],
        tag: &[u8; 16],
    ) -> Option<bool> {
        #[cfg(target_arch = "x86_64")]
        {
            Some(
                super::gcm_vaes::Key::new(key)?
                    .open(nonce, aad, body, tag)
                    .is_ok(),
            )
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            let _ = (key, nonce, aad, body, tag);
            None
        }
    }

    fn aws_lc_key(key: &[u8]) -> aws_lc_rs::aead::LessSafeKey {
        use aws_lc_rs::aead::{LessSafeKey, UnboundKey, AES_128_GCM, AES_256_GCM};
        let alg = if key.len() == 16 {
            &AES_128_GCM
        } else {
            &AES_256_GCM
        };
        LessSafeKey::new(UnboundKey::new(alg, key).expect("16- or 32-byte key"))
    }

    /// aws-lc's AES-GCM, the reference: encrypts in place, returns the tag.
    pub fn aes_gcm_seal_aws_lc(
        key: &[u8],
        nonce: &[u8; 12],
        aad: &[u8],
        body: &mut [u8],
    ) -> [u8; 16] {
        use aws_lc_rs::aead::{Aad, Nonce};
        let tag = aws_lc_key(key)
            .seal_in_place_separate_tag(Nonce::assume_unique_for_key(*nonce), Aad::from(aad), body)
            .expect("aws-lc seals");
        let mut out = [0u8; 16];
        out.copy_from_slice(tag.as_ref());
        out
    }

    /// aws-lc's AES-GCM open: whether the tag is right.
    pub fn aes_gcm_open_aws_lc(
        key: &[u8],
        nonce: &[u8; 12],
        aad: &[u8],
        body: &mut [u8],
        tag: &[u8; 16],
    ) -> bool {
        use aws_lc_rs::aead::{Aad, Nonce};
        aws_lc_key(key)
            .open_in_place_separate_tag(
                Nonce::assume_unique_for_key(*nonce),
                Aad::from(aad),
                tag,
                body,
            )
            .is_ok()
    }
}

use std::fmt;

use zeroize::Zeroize;

use block::{BlockCipher, Direction};
use chacha_openssh::ChachaPoly;
use gcm::Gcm;
use mac::Mac;

/// An encryption algorithm of the SSH transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CipherAlg {
    /// `chacha20-poly1305@openssh.com` (OpenSSH PROTOCOL.chacha20poly1305).
    Chacha20Poly1305,
    /// `aes128-gcm@openssh.com`.
    Aes128Gcm,
    /// `aes256-gcm@openssh.com`.
    Aes256Gcm,
    /// `aes128-ctr` (RFC 4344).
    Aes128Ctr,
    /// `aes192-ctr` (RFC 4344).
    Aes192Ctr,
    /// `aes256-ctr` (RFC 4344).
    Aes256Ctr,
    /// `aes128-cbc` (RFC 4253), legacy.
    Aes128Cbc,
    /// `aes192-cbc` (RFC 4253), legacy.
    Aes192Cbc,
    /// `aes256-cbc` (RFC 4253), legacy.
    Aes256Cbc,
    /// `3des-cbc` (RFC 4253, three-key TDEA), legacy.
    TripleDesCbc,
}

impl CipherAlg {
    /// Every supported cipher, in default preference order: AEADs first,
    /// then CTR, then the legacy CBC ciphers (off by default).
    pub const ALL: &'static [CipherAlg] = &[
        CipherAlg::Chacha20Poly1305,
        CipherAlg::Aes128Gcm,
        CipherAlg::Aes256Gcm,
        CipherAlg::Aes128Ctr,
        CipherAlg::Aes192Ctr,
        CipherAlg::Aes256Ctr,
        CipherAlg::Aes128Cbc,
        CipherAlg::Aes192Cbc,
        CipherAlg::Aes256Cbc,
        CipherAlg::TripleDesCbc,
    ];

    /// The name used in SSH_MSG_KEXINIT.
    pub fn name(self) -> &'static str {
        match self {
            CipherAlg::Chacha20Poly1305 => "chacha20-poly1305@openssh.com",
            CipherAlg::Aes128Gcm => "aes128-gcm@openssh.com",
            CipherAlg::Aes256Gcm => "aes256-gcm@openssh.com",
            CipherAlg::Aes128Ctr => "aes128-ctr",
            CipherAlg::Aes192Ctr => "aes192-ctr",
            CipherAlg::Aes256Ctr => "aes256-ctr",
            CipherAlg::Aes128Cbc => "aes128-cbc",
            CipherAlg::Aes192Cbc => "aes192-cbc",
            CipherAlg::Aes256Cbc => "aes256-cbc",
            CipherAlg::TripleDesCbc => "3des-cbc",
        }
    }

    /// The cipher with this exact KEXINIT name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|a| a.name() == name)
    }

    /// Bytes of key material the key exchange must derive.
    pub fn key_len(self) -> usize {
        match self {
            // Two ChaCha20 keys: K_2 (payload) then K_1 (length).
            CipherAlg::Chacha20Poly1305 => 64,
            CipherAlg::Aes128Gcm | CipherAlg::Aes128Ctr | CipherAlg::Aes128Cbc => 16,
            CipherAlg::Aes192Ctr | CipherAlg::Aes192Cbc | CipherAlg::TripleDesCbc => 24,
            CipherAlg::Aes256Gcm | CipherAlg::Aes256Ctr | CipherAlg::Aes256Cbc => 32,
        }
    }

    /// Bytes of IV the key exchange must derive (0: none is used).
    pub fn iv_len(self) -> usize {
        match self {
            // The nonce is the sequence number.
            CipherAlg::Chacha20Poly1305 => 0,
            // 4-byte fixed field + 8-byte invocation counter (RFC 5647 §7.1).
            CipherAlg::Aes128Gcm | CipherAlg::Aes256Gcm => 12,
            CipherAlg::TripleDesCbc => 8,
            _ => 16,
        }
    }

    /// The cipher's block size, which packets are padded to a multiple of.
    pub fn block_size(self) -> usize {
        match self {
            // No block structure; RFC 4253's minimum of 8 applies.
            CipherAlg::Chacha20Poly1305 | CipherAlg::TripleDesCbc => 8,
            _ => 16,
        }
    }

    /// Whether the cipher authenticates packets itself, so no MAC algorithm
    /// is used with it (the MAC negotiation result is ignored).
    pub fn is_aead(self) -> bool {
        matches!(
            self,
            CipherAlg::Chacha20Poly1305 | CipherAlg::Aes128Gcm | CipherAlg::Aes256Gcm
        )
    }

    /// CBC modes (padding oracles, RFC 4251 §9.3.1 / CVE-2008-5161) and
    /// 3DES (64-bit blocks, Sweet32): offered only when configured.
    pub fn is_legacy(self) -> bool {
        matches!(
            self,
            CipherAlg::Aes128Cbc
                | CipherAlg::Aes192Cbc
                | CipherAlg::Aes256Cbc
                | CipherAlg::TripleDesCbc
        )
    }
}

/// A MAC algorithm of the SSH transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MacAlg {
    /// `hmac-sha2-256-etm@openssh.com`.
    HmacSha256Etm,
    /// `hmac-sha2-512-etm@openssh.com`.
    HmacSha512Etm,
    /// `hmac-sha1-etm@openssh.com`.
    HmacSha1Etm,
    /// `hmac-sha2-256` (RFC 6668).
    HmacSha256,
    /// `hmac-sha2-512` (RFC 6668).
    HmacSha512,
    /// `hmac-sha1` (RFC 4253).
    HmacSha1,
    /// `hmac-sha1-96` (RFC 4253): HMAC-SHA1 truncated to 12 bytes, legacy.
    HmacSha1_96,
}

impl MacAlg {
    /// Every supported MAC, in default preference order: encrypt-then-MAC
    /// first, legacy last.
    pub const ALL: &'static [MacAlg] = &[
        MacAlg::HmacSha256Etm,
        MacAlg::HmacSha512Etm,
        MacAlg::HmacSha1Etm,
        MacAlg::HmacSha256,
        MacAlg::HmacSha512,
        MacAlg::HmacSha1,
        MacAlg::HmacSha1_96,
    ];

    /// The name used in SSH_MSG_KEXINIT.
    pub fn name(self) -> &'static str {
        match self {
            MacAlg::HmacSha256Etm => "hmac-sha2-256-etm@openssh.com",
            MacAlg::HmacSha512Etm => "hmac-sha2-512-etm@openssh.com",
            MacAlg::HmacSha1Etm => "hmac-sha1-etm@openssh.com",
            MacAlg::HmacSha256 => "hmac-sha2-256",
            MacAlg::HmacSha512 => "hmac-sha2-512",
            MacAlg::HmacSha1 => "hmac-sha1",
            MacAlg::HmacSha1_96 => "hmac-sha1-96",
        }
    }

    /// The MAC with this exact KEXINIT name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|a| a.name() == name)
    }

    /// Bytes of key material the key exchange must derive (the digest
    /// length, RFC 4253 §6.4 / RFC 6668 §2).
    pub fn key_len(self) -> usize {
        match self {
            MacAlg::HmacSha256Etm | MacAlg::HmacSha256 => 32,
            MacAlg::HmacSha512Etm | MacAlg::HmacSha512 => 64,
            MacAlg::HmacSha1Etm | MacAlg::HmacSha1 | MacAlg::HmacSha1_96 => 20,
        }
    }

    /// Bytes of MAC sent after each packet.
    pub fn mac_len(self) -> usize {
        match self {
            MacAlg::HmacSha1_96 => 12,
            other => other.key_len(),
        }
    }

    /// Whether the MAC is computed over the ciphertext with the length in
    /// the clear (OpenSSH PROTOCOL §1.5) rather than over the plaintext.
    pub fn is_etm(self) -> bool {
        matches!(
            self,
            MacAlg::HmacSha256Etm | MacAlg::HmacSha512Etm | MacAlg::HmacSha1Etm
        )
    }

    /// Truncated MACs: offered only when configured.
    pub fn is_legacy(self) -> bool {
        matches!(self, MacAlg::HmacSha1_96)
    }
}

/// Why packet keys could not be built or a packet could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum PacketCryptoError {
    /// Key material of the wrong length for the algorithm.
    #[error("{alg}: key is {got} bytes, expected {expected}")]
    BadKeyLength {
        alg: &'static str,
        expected: usize,
        got: usize,
    },
    /// IV of the wrong length for the cipher.
    #[error("{alg}: IV is {got} bytes, expected {expected}")]
    BadIvLength {
        alg: &'static str,
        expected: usize,
        got: usize,
    },
    /// A MAC was given for a cipher that authenticates by itself.
    #[error("{cipher} authenticates packets itself; no MAC algorithm may be given")]
    UnexpectedMac { cipher: &'static str },
    /// No MAC was given for a cipher that needs one.
    #[error("{cipher} needs a MAC algorithm")]
    MissingMac { cipher: &'static str },
    /// aws-lc refused the key. Only 3des-cbc has such keys: weak or
    /// semi-weak DES subkeys, or two equal subkeys (which would degenerate to
    /// single DES); a key exchange yields one with probability about 2^-50.
    #[error("{alg}: key rejected (for 3des-cbc: weak or repeated DES subkeys)")]
    KeyRejected { alg: &'static str },
    /// An AEAD cipher was asked to act as a CTR/CBC cipher (internal misuse).
    #[error("{alg} is not a CTR/CBC cipher")]
    NotABlockCipher { alg: &'static str },
    /// The packet's length does not fit the cipher: too short for its
    /// header, or not a whole number of blocks after the AAD.
    #[error("packet of {len} bytes does not fit the {block_size}-byte block layout")]
    BadLayout { len: usize, block_size: usize },
    /// The tag slice is not `tag_len()` bytes.
    #[error("tag is {got} bytes, expected {expected}")]
    BadTagLength { expected: usize, got: usize },
    /// The tag or MAC did not match: the packet was altered, or the keys or
    /// sequence numbers of the two sides disagree.
    #[error("message authentication failed")]
    AuthFailed,
    /// An earlier packet failed to open; the connection must be dropped, and
    /// the key refuses to process anything more.
    #[error("packet key unusable after an earlier failure")]
    Poisoned,
    /// aws-lc failed where the inputs had already been checked.
    #[error("internal cipher failure: {0}")]
    Internal(&'static str),
}

/// The sizes that frame a packet under one key.
#[derive(Debug, Clone, Copy)]
struct Shape {
    cipher: Option<CipherAlg>,
    mac: Option<MacAlg>,
    block_size: usize,
    aad_len: usize,
    tag_len: usize,
    header_len: usize,
}

impl Shape {
    const NONE: Shape = Shape {
        cipher: None,
        mac: None,
        block_size: 8,
        aad_len: 0,
        tag_len: 0,
        header_len: 4,
    };

    /// Checks the parameters of `new` and derives the framing sizes.
    fn new(
        cipher: CipherAlg,
        key: &[u8],
        iv: &[u8],
        mac: Option<(MacAlg, &[u8])>,
    ) -> Result<Shape, PacketCryptoError> {
        if key.len() != cipher.key_len() {
            return Err(PacketCryptoError::BadKeyLength {
                alg: cipher.name(),
                expected: cipher.key_len(),
                got: key.len(),
            });
        }
        if iv.len() != cipher.iv_len() {
            return Err(PacketCryptoError::BadIvLength {
                alg: cipher.name(),
                expected: cipher.iv_len(),
                got: iv.len(),
            });
        }
        let mac = match (cipher.is_aead(), mac) {
            (true, None) => None,
            (false, Some((m, _))) => Some(m),
            (true, Some(_)) => {
                return Err(PacketCryptoError::UnexpectedMac {
                    cipher: cipher.name(),
                })
            }
            (false, None) => {
                return Err(PacketCryptoError::MissingMac {
                    cipher: cipher.name(),
                })
            }
        };
        let block_size = cipher.block_size();
        let (aad_len, tag_len, header_len) = match mac {
            None => (4, 16, 4), // both AEADs have a 16-byte tag
            Some(m) if m.is_etm() => (4, m.mac_len(), 4),
            Some(m) => (0, m.mac_len(), block_size),
        };
        Ok(Shape {
            cipher: Some(cipher),
            mac,
            block_size,
            aad_len,
            tag_len,
            header_len,
        })
    }

    /// Whether a packet of `len` bytes has the layout this key needs: its
    /// header present and a whole number of blocks after the AAD.
    fn fits(&self, len: usize) -> bool {
        len >= self.header_len
            && len > self.aad_len
            && (len - self.aad_len).is_multiple_of(self.block_size)
    }
}

enum Sealer {
    None,
    Chacha(ChachaPoly),
    Gcm(Gcm),
    EncryptThenMac { cipher: BlockCipher, mac: Mac },
    EncryptAndMac { cipher: BlockCipher, mac: Mac },
}

/// Protection for one direction, outgoing.
pub struct SealingKey {
    shape: Shape,
    imp: Sealer,
}

impl SealingKey {
    /// No protection, as before the first SSH_MSG_NEWKEYS: block size 8, no
    /// MAC, no AAD.
    pub fn none() -> Self {
        Self {
            shape: Shape::NONE,
            imp: Sealer::None,
        }
    }

    /// Builds the outgoing protection from the key exchange's output.
    ///
    /// `mac` must be `Some` iff `!cipher.is_aead()`; `key`, `iv` and the MAC
    /// key must be exactly `cipher.key_len()`, `cipher.iv_len()` and
    /// `mac.key_len()` bytes (the caller derives them, RFC 4253 §7.2).
    pub fn new(
        cipher: CipherAlg,
        key: &[u8],
        iv: &[u8],
        mac: Option<(MacAlg, &[u8])>,
    ) -> Result<Self, PacketCryptoError> {
        let shape = Shape::new(cipher, key, iv, mac)?;
        let imp = match (cipher, mac) {
            (CipherAlg::Chacha20Poly1305, _) => {
                Sealer::Chacha(ChachaPoly::new(chacha_key(cipher, key)?))
            }
            (CipherAlg::Aes128Gcm | CipherAlg::Aes256Gcm, _) => {
                Sealer::Gcm(Gcm::new(cipher, key, iv)?)
            }
            (_, Some((m, mac_key))) => {
                let c = BlockCipher::new(cipher, key, iv, Direction::Encrypt)?;
                let mac = Mac::new(m, mac_key)?;
                if m.is_etm() {
                    Sealer::EncryptThenMac { cipher: c, mac }
                } else {
                    Sealer::EncryptAndMac { cipher: c, mac }
                }
            }
            (_, None) => {
                return Err(PacketCryptoError::MissingMac {
                    cipher: cipher.name(),
                })
            }
        };
        Ok(Self { shape, imp })
    }

    /// The multiple the packet (less `aad_len()`) is padded to: 8 for none,
    /// chacha20-poly1305 and 3des-cbc, 16 for AES.
    pub fn block_size(&self) -> usize {
        self.shape.block_size
    }

    /// Leading bytes not counted for padding: 4 where packet_length is not
    /// encrypted with the rest (AES-GCM, chacha20-poly1305, any -etm MAC),
    /// else 0.
    pub fn aad_len(&self) -> usize {
        self.shape.aad_len
    }

    /// Bytes appended after the packet (AEAD tag or MAC); 0 for none.
    pub fn tag_len(&self) -> usize {
        self.shape.tag_len
    }

    /// Encrypts `packet` in place and writes `tag_len()` bytes into `tag`.
    ///
    /// `packet` is `uint32 packet_length || byte padding_length || payload
    /// || padding`, laid out so that `(packet.len() - aad_len()) %
    /// block_size() == 0`. `seq` is this packet's sequence number.
    ///
    /// # Panics
    ///
    /// If the caller breaks that layout or `tag.len() != tag_len()`: the
    /// packet is the caller's own, so this is a bug to find in tests, and
    /// sealing a misframed packet must never send it in the clear.
    pub fn seal(&mut self, seq: u32, packet: &mut [u8], tag: &mut [u8]) {
        let shape = self.shape;
        assert!(
            shape.fits(packet.len()),
            "SealingKey::seal: a {}-byte packet does not fit block size {} after {} AAD bytes",
            packet.len(),
            shape.block_size,
            shape.aad_len
        );
        assert_eq!(tag.len(), shape.tag_len, "SealingKey::seal: tag length");
        if let Err(e) = self.seal_checked(seq, packet, tag) {
            // Unreachable with the layout checked above; refuse to go on
            // rather than let the caller transmit a half-sealed packet.
            panic!("SealingKey::seal: {e}");
        }
    }

    fn seal_checked(
        &mut self,
        seq: u32,
        packet: &mut [u8],
        tag: &mut [u8],
    ) -> Result<(), PacketCryptoError> {
        match &mut self.imp {
            Sealer::None => Ok(()),
            Sealer::Chacha(key) => {
                let tag: &mut [u8; chacha_openssh::TAG_LEN] = tag
                    .try_into()
                    .map_err(|_| PacketCryptoError::Internal("chacha tag length"))?;
                key.seal(seq, packet, tag)
            }
            Sealer::Gcm(g) => g.seal(packet, tag),
            Sealer::EncryptThenMac { cipher, mac } => {
                let (_, body) = split_length_mut(packet, cipher.block_len())?;
                cipher.apply(body)?;
                mac.sign(seq, packet, tag);
                Ok(())
            }
            Sealer::EncryptAndMac { cipher, mac } => {
                mac.sign(seq, packet, tag);
                cipher.apply(packet)
            }
        }
    }
}

impl fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealingKey")
            .field("cipher", &self.shape.cipher)
            .field("mac", &self.shape.mac)
            .finish_non_exhaustive()
    }
}

enum Opener {
    None,
    Chacha(ChachaPoly),
    Gcm(Gcm),
    EncryptThenMac {
        cipher: BlockCipher,
        mac: Mac,
    },
    EncryptAndMac {
        cipher: BlockCipher,
        mac: Mac,
        /// `decrypt_length` has decrypted the first block of the current
        /// packet in place; `open` continues after it.
        header_done: bool,
    },
}

/// Protection for one direction, incoming.
pub struct OpeningKey {
    shape: Shape,
    imp: Opener,
    /// Set by the first failed `open`; see [`PacketCryptoError::Poisoned`].
    poisoned: bool,
}

impl OpeningKey {
    /// No protection, as before the first SSH_MSG_NEWKEYS.
    pub fn none() -> Self {
        Self {
            shape: Shape::NONE,
            imp: Opener::None,
            poisoned: false,
        }
    }

    /// Builds the incoming protection; parameters as for [`SealingKey::new`].
    pub fn new(
        cipher: CipherAlg,
        key: &[u8],
        iv: &[u8],
        mac: Option<(MacAlg, &[u8])>,
    ) -> Result<Self, PacketCryptoError> {
        let shape = Shape::new(cipher, key, iv, mac)?;
        let imp = match (cipher, mac) {
            (CipherAlg::Chacha20Poly1305, _) => {
                Opener::Chacha(ChachaPoly::new(chacha_key(cipher, key)?))
            }
            (CipherAlg::Aes128Gcm | CipherAlg::Aes256Gcm, _) => {
                Opener::Gcm(Gcm::new(cipher, key, iv)?)
            }
            (_, Some((m, mac_key))) => {
                let c = BlockCipher::new(cipher, key, iv, Direction::Decrypt)?;
                let mac = Mac::new(m, mac_key)?;
                if m.is_etm() {
                    Opener::EncryptThenMac { cipher: c, mac }
                } else {
                    Opener::EncryptAndMac {
                        cipher: c,
                        mac,
                        header_done: false,
                    }
                }
            }
            (_, None) => {
                return Err(PacketCryptoError::MissingMac {
                    cipher: cipher.name(),
                })
            }
        };
        Ok(Self {
            shape,
            imp,
            poisoned: false,
        })
    }

    /// See [`SealingKey::block_size`].
    pub fn block_size(&self) -> usize {
        self.shape.block_size
    }

    /// See [`SealingKey::aad_len`].
    pub fn aad_len(&self) -> usize {
        self.shape.aad_len
    }

    /// See [`SealingKey::tag_len`].
    pub fn tag_len(&self) -> usize {
        self.shape.tag_len
    }

    /// Bytes of a packet needed before its length is known: 4 for none,
    /// the AEADs and -etm MACs; `block_size()` for encrypt-and-MAC, where
    /// the length is inside the first encrypted block.
    pub fn header_len(&self) -> usize {
        self.shape.header_len
    }

    /// Reads packet_length from the first `header_len()` bytes of a packet.
    ///
    /// For encrypt-and-MAC this decrypts that block of `header` in place
    /// (and `open` continues after it; calling this again before `open`
    /// just re-reads the decrypted block). For chacha20-poly1305 it decrypts
    /// the length with the header key without modifying `header`, since the
    /// tag covers the encrypted bytes. Nothing is authenticated yet: the
    /// caller must bound the value before trusting it.
    ///
    /// Returns `u32::MAX` (which no caller accepts) if `header` is shorter
    /// than `header_len()` or the key is poisoned.
    pub fn decrypt_length(&mut self, seq: u32, header: &mut [u8]) -> u32 {
        let header_len = self.shape.header_len;
        let Some(header) = header.get_mut(..header_len) else {
            return u32::MAX;
        };
        if self.poisoned {
            return u32::MAX;
        }
        match &mut self.imp {
            Opener::None | Opener::Gcm(_) | Opener::EncryptThenMac { .. } => be_u32(header),
            Opener::Chacha(key) => match header.first_chunk::<4>() {
                Some(enc) => u32::from_be_bytes(key.decrypt_length(seq, *enc)),
                None => u32::MAX,
            },
            Opener::EncryptAndMac {
                cipher,
                header_done,
                ..
            } => {
                if !*header_done {
                    if cipher.apply(header).is_err() {
                        return u32::MAX;
                    }
                    *header_done = true;
                }
                be_u32(header)
            }
        }
    }

    /// Authenticates and decrypts one packet in place.
    ///
    /// `packet` is the whole packet (`4 + packet_length` bytes, its header
    /// as `decrypt_length` left it) and `tag` the `tag_len()` bytes after
    /// it. For AEADs and -etm MACs the tag is checked, in constant time,
    /// before anything is decrypted; for encrypt-and-MAC the MAC covers the
    /// plaintext, so it is checked after decryption. On success `packet[4..]`
    /// is plaintext and `packet[..4]` the plaintext big-endian length, for
    /// every mode. On failure no unauthenticated plaintext is left in
    /// `packet`, and the key refuses every later packet (the connection must
    /// be dropped).
    pub fn open(
        &mut self,
        seq: u32,
        packet: &mut [u8],
        tag: &[u8],
    ) -> Result<(), PacketCryptoError> {
        if self.poisoned {
            return Err(PacketCryptoError::Poisoned);
        }
        let result = self.open_checked(seq, packet, tag);
        if result.is_err() {
            self.poisoned = true;
        }
        result
    }

    fn open_checked(
        &mut self,
        seq: u32,
        packet: &mut [u8],
        tag: &[u8],
    ) -> Result<(), PacketCryptoError> {
        let shape = self.shape;
        // Whatever happens below, the next packet starts fresh.
        let header_done = match &mut self.imp {
            Opener::EncryptAndMac { header_done, .. } => std::mem::take(header_done),
            _ => false,
        };
        if !shape.fits(packet.len()) {
            return Err(PacketCryptoError::BadLayout {
                len: packet.len(),
                block_size: shape.block_size,
            });
        }
        if tag.len() != shape.tag_len {
            return Err(PacketCryptoError::BadTagLength {
                expected: shape.tag_len,
                got: tag.len(),
            });
        }
        match &mut self.imp {
            Opener::None => Ok(()),
            Opener::Chacha(key) => {
                let tag: &[u8; chacha_openssh::TAG_LEN] = tag
                    .try_into()
                    .map_err(|_| PacketCryptoError::Internal("chacha tag length"))?;
                // Verifies the tag, in constant time, before decrypting.
                key.open(seq, packet, tag)?;
                let (len, _) = split_length_mut(packet, shape.block_size)?;
                *len = key.decrypt_length(seq, *len);
                Ok(())
            }
            Opener::Gcm(g) => g.open(packet, tag),
            Opener::EncryptThenMac { cipher, mac } => {
                if !mac.verify(seq, packet, tag) {
                    return Err(PacketCryptoError::AuthFailed);
                }
                let (_, body) = split_length_mut(packet, shape.block_size)?;
                cipher.apply(body)
            }
            Opener::EncryptAndMac { cipher, mac, .. } => {
                let skip = if header_done { shape.header_len } else { 0 };
                let rest = packet.get_mut(skip..).ok_or(PacketCryptoError::BadLayout {
                    len: skip,
                    block_size: shape.block_size,
                })?;
                cipher.apply(rest)?;
                if mac.verify(seq, packet, tag) {
                    Ok(())
                } else {
                    // The MAC is over the plaintext, so the packet has been
                    // decrypted already: wipe it so none of it is released.
                    packet.zeroize();
                    Err(PacketCryptoError::AuthFailed)
                }
            }
        }
    }
}

impl fmt::Debug for OpeningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpeningKey")
            .field("cipher", &self.shape.cipher)
            .field("mac", &self.shape.mac)
            .field("poisoned", &self.poisoned)
            .finish_non_exhaustive()
    }
}

fn chacha_key(
    cipher: CipherAlg,
    key: &[u8],
) -> Result<&[u8; chacha_openssh::KEY_LEN], PacketCryptoError> {
    key.try_into().map_err(|_| PacketCryptoError::BadKeyLength {
        alg: cipher.name(),
        expected: chacha_openssh::KEY_LEN,
        got: key.len(),
    })
}

/// Splits off the 4-byte packet_length field.
fn split_length_mut(
    packet: &mut [u8],
    block_size: usize,
) -> Result<(&mut [u8; 4], &mut [u8]), PacketCryptoError> {
    let len = packet.len();
    packet
        .split_first_chunk_mut::<4>()
        .ok_or(PacketCryptoError::BadLayout { len, block_size })
}

fn be_u32(header: &[u8]) -> u32 {
    match header.first_chunk::<4>() {
        Some(b) => u32::from_be_bytes(*b),
        None => u32::MAX,
    }
}
