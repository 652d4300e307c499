//! chacha20-poly1305@openssh.com (OpenSSH PROTOCOL.chacha20poly1305) with
//! aws-lc's ChaCha20 assembly and our Poly1305 (AVX2 or scalar); byte for
//! byte what aws-lc-rs's `chacha20_poly1305_openssh` computes, except on
//! the rare inputs where aws-lc's Poly1305 is wrong (see `mod.rs`).
//!
//! The construct: the 64-byte key is K_2 (first 32 bytes: payload and
//! Poly1305 key) then K_1 (last 32: packet length). The nonce is the
//! sequence number as a 64-bit big-endian integer. The length is encrypted
//! with K_1 from block 0; the Poly1305 one-time key is the first 32 bytes
//! of K_2's block 0; the rest of the packet is encrypted with K_2 from
//! block 1; the tag is Poly1305 over the encrypted length followed by the
//! ciphertext, which lie contiguous in the packet buffer.

use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::ffi::chacha20_xor_in_place;
use super::poly1305::{self, poly1305};
use super::PacketCryptoError;

/// Bytes of key material: K_2 || K_1.
pub(super) const KEY_LEN: usize = 64;
/// Bytes of the Poly1305 tag.
pub(super) const TAG_LEN: usize = poly1305::TAG_LEN;

/// The payload is keystream blocks 1..=2^32 − 1: aws-lc's counter is 32
/// bits (and wraps to 0), OpenSSH's is 64, and the two agree only while
/// the counter stays below 2^32. RFC 4253's uint32 packet_length keeps
/// real packets far below this (2^38 bytes); the check makes it a rule.
const MAX_PAYLOAD: u64 = 64 * u32::MAX as u64;

/// One direction's keys; both halves are wiped on drop.
#[derive(Zeroize, ZeroizeOnDrop)]
pub(super) struct ChachaPoly {
    /// K_2: the payload stream and the Poly1305 key.
    main: [u8; 32],
    /// K_1: the packet_length stream.
    header: [u8; 32],
}

impl ChachaPoly {
    pub(super) fn new(key: &[u8; KEY_LEN]) -> Self {
        let mut main = [0u8; 32];
        let mut header = [0u8; 32];
        main.copy_from_slice(&key[..32]);
        header.copy_from_slice(&key[32..]);
        Self { main, header }
    }

    /// Encrypts `packet` (`uint32 packet_length || rest`) in place and
    /// writes the tag. Fails only if `packet` is shorter than its length
    /// field or too long for the 32-bit block counter.
    pub(super) fn seal(
        &self,
        seq: u32,
        packet: &mut [u8],
        tag: &mut [u8; TAG_LEN],
    ) -> Result<(), PacketCryptoError> {
        let nonce = nonce(seq);
        let (length, payload) = split(packet)?;
        chacha20_xor_in_place(&self.header, &nonce, 0, length);
        chacha20_xor_in_place(&self.main, &nonce, 1, payload);
        let mut poly_key = self.poly_key(&nonce);
        *tag = poly1305(&poly_key, packet);
        poly_key.zeroize();
        Ok(())
    }

    /// The plaintext packet_length of a packet whose first four bytes are
    /// `encrypted`; unauthenticated until `open` succeeds.
    pub(super) fn decrypt_length(&self, seq: u32, encrypted: [u8; 4]) -> [u8; 4] {
        let mut length = encrypted;
        chacha20_xor_in_place(&self.header, &nonce(seq), 0, &mut length);
        length
    }

    /// Checks the tag over `packet` (encrypted length and ciphertext), in
    /// constant time, and only then decrypts `packet[4..]` in place; the
    /// length field is left encrypted. On failure `packet` is unchanged.
    pub(super) fn open(
        &self,
        seq: u32,
        packet: &mut [u8],
        tag: &[u8; TAG_LEN],
    ) -> Result<(), PacketCryptoError> {
        let nonce = nonce(seq);
        // Checks the layout before any work; `packet` is not modified yet.
        split(packet)?;
        let mut poly_key = self.poly_key(&nonce);
        let mut expected = poly1305(&poly_key, packet);
        poly_key.zeroize();
        let authentic: bool = expected[..].ct_eq(&tag[..]).into();
        expected.zeroize();
        if !authentic {
            return Err(PacketCryptoError::AuthFailed);
        }
        let (_, payload) = split(packet)?;
        chacha20_xor_in_place(&self.main, &nonce, 1, payload);
        Ok(())
    }

    /// The Poly1305 one-time key: the first 32 bytes of K_2's block 0.
    fn poly_key(&self, nonce: &[u8; 12]) -> [u8; poly1305::KEY_LEN] {
        let mut key = [0u8; poly1305::KEY_LEN];
        chacha20_xor_in_place(&self.main, nonce, 0, &mut key);
        key
    }
}

/// RFC 8439's 96-bit nonce for sequence number `seq`.
///
/// OpenSSH uses the original ChaCha20 layout: state words 12-13 are a
/// 64-bit block counter and words 14-15 the 8-byte IV, the big-endian
/// 64-bit sequence number. RFC 8439 makes word 12 a 32-bit counter and
/// words 13-15 the 12-byte nonce. With the nonce `0u32 || be64(seq)`, word
/// 13 is 0, which is the counter's high half for every counter below 2^32,
/// and words 14-15 are the same IV bytes: the keystreams are identical.
/// (aws-lc-rs builds the same 12 bytes, as eight zero bytes then be32(seq).)
fn nonce(seq: u32) -> [u8; 12] {
    let mut n = [0u8; 12];
    n[4..].copy_from_slice(&u64::from(seq).to_be_bytes());
    n
}

/// Splits off the packet_length field, and bounds the rest so the 32-bit
/// block counter cannot wrap.
fn split(packet: &mut [u8]) -> Result<(&mut [u8; 4], &mut [u8]), PacketCryptoError> {
    let len = packet.len();
    let bad = PacketCryptoError::BadLayout { len, block_size: 8 };
    if (len as u64).saturating_sub(4) > MAX_PAYLOAD {
        return Err(bad);
    }
    packet.split_first_chunk_mut::<4>().ok_or(bad)
}

#[cfg(test)]
mod tests;
