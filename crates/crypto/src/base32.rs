//! Base32 (RFC 4648 §6, the "A-Z2-7" alphabet), the encoding of TOTP
//! secrets in authenticator apps and otpauth:// URIs.
//!
//! Secrets pass through here, so characters are mapped with arithmetic
//! alone (no table lookup, no branch on the data), as `hostkey/base64.rs`
//! does; invalid input is reported only after all of it was read. Lengths
//! and padding are public.

use zeroize::Zeroizing;

/// The text is not base32 (a character outside the alphabet, a bad
/// length, misplaced padding or non-zero trailing bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid base32")]
pub struct InvalidBase32;

/// Maps one character to its 5-bit value, or to -1. Lower case is accepted
/// (secrets are often typed). `((lo - 1 - c) & (c - hi - 1)) >> 8` is all
/// ones exactly when lo <= c <= hi.
fn decode_5bits(c: u8) -> i16 {
    let c = i16::from(c);
    let mut v: i16 = -1;
    v += (((0x40 - c) & (c - 0x5b)) >> 8) & (c - 64); // 'A'..='Z' -> 0..=25
    v += (((0x60 - c) & (c - 0x7b)) >> 8) & (c - 96); // 'a'..='z' -> 0..=25
    v += (((0x31 - c) & (c - 0x38)) >> 8) & (c - 23); // '2'..='7' -> 26..=31
    v
}

/// Maps a 5-bit value to its character: 'A' + v, or '2' + (v - 26).
fn encode_5bits(v: u8) -> char {
    let v = i16::from(v & 0x1f);
    let diff: i16 = 0x41 - (((25 - v) >> 8) & 41);
    char::from(u8::try_from(v + diff).unwrap_or(b'A'))
}

/// Base32 of `data`, with `=` padding to a multiple of 8 if `pad`
/// (otpauth:// URIs leave it out).
pub fn encode(data: &[u8], pad: bool) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::with_capacity(data.len().div_ceil(5) * 8));
    for chunk in data.chunks(5) {
        let mut block = [0u8; 5];
        block
            .iter_mut()
            .zip(chunk)
            .for_each(|(slot, &byte)| *slot = byte);
        let bits = block.iter().fold(0u64, |acc, &b| acc << 8 | u64::from(b));
        // Characters carrying data: ceil(8 * len / 5).
        let keep = (chunk.len() * 8).div_ceil(5);
        for i in 0..8 {
            if i < keep {
                let shift = 35 - 5 * i;
                out.push(encode_5bits(((bits >> shift) & 0x1f) as u8));
            } else if pad {
                out.push('=');
            }
        }
    }
    out
}

/// Decodes base32, padded or not, upper or lower case, ignoring spaces
/// (secrets are shown in groups of four). Strict otherwise: canonical
/// encodings only (RFC 4648 §3.5, no stray trailing bits).
pub fn decode(text: &str) -> Result<Zeroizing<Vec<u8>>, InvalidBase32> {
    let chars: Zeroizing<Vec<u8>> = Zeroizing::new(text.bytes().filter(|&b| b != b' ').collect());
    let data_len = chars.iter().rposition(|&c| c != b'=').map_or(0, |i| i + 1);
    let (data, padding) = chars.split_at(data_len);
    // Padding, if any, completes the last group of 8.
    if !padding.is_empty() && !chars.len().is_multiple_of(8) {
        return Err(InvalidBase32);
    }
    // 1, 3 or 6 characters in the last group cannot come from whole bytes.
    if matches!(data_len % 8, 1 | 3 | 6) {
        return Err(InvalidBase32);
    }
    let mut out = Zeroizing::new(Vec::with_capacity(data_len * 5 / 8));
    let mut acc: u64 = 0;
    let mut bits = 0u32;
    let mut invalid: i16 = 0;
    for &c in data {
        let v = decode_5bits(c);
        invalid |= v; // negative (sign bit set) once any character is bad
        acc = (acc << 5 | (v & 0x1f) as u64) & 0xffff;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    let leftover = acc & ((1u64 << bits) - 1);
    if invalid < 0 || leftover != 0 {
        return Err(InvalidBase32);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 4648 §10 test vectors.
    const RFC4648: [(&str, &str); 7] = [
        ("", ""),
        ("f", "MY======"),
        ("fo", "MZXQ===="),
        ("foo", "MZXW6==="),
        ("foob", "MZXW6YQ="),
        ("fooba", "MZXW6YTB"),
        ("foobar", "MZXW6YTBOI======"),
    ];

    #[test]
    fn rfc4648_vectors() {
        for (plain, encoded) in RFC4648 {
            assert_eq!(*encode(plain.as_bytes(), true), encoded);
            assert_eq!(
                *encode(plain.as_bytes(), false),
                encoded.trim_end_matches('=')
            );
            assert_eq!(decode(encoded).unwrap().as_slice(), plain.as_bytes());
            assert_eq!(
                decode(encoded.trim_end_matches('=')).unwrap().as_slice(),
                plain.as_bytes()
            );
            assert_eq!(
                decode(&encoded.to_lowercase()).unwrap().as_slice(),
                plain.as_bytes()
            );
        }
    }

    #[test]
    fn every_character_maps() {
        let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        for (i, c) in alphabet.bytes().enumerate() {
            assert_eq!(decode_5bits(c), i as i16);
            assert_eq!(encode_5bits(i as u8), char::from(c));
        }
        for c in 0..=255u8 {
            if !c.is_ascii_alphabetic() && !(b'2'..=b'7').contains(&c) {
                assert_eq!(decode_5bits(c), -1, "{c}");
            }
        }
    }

    #[test]
    fn refuses_invalid_text() {
        for bad in [
            "MY=====",  // padding to 7
            "M",        // impossible length
            "MZX",      // impossible length
            "MZXW6Y",   // impossible length
            "MZ======", // trailing bits set ("f" is MY)
            "MY1=====", // '1' is not in the alphabet
            "MY=A====", // data after padding
            "MZXW6YT0", // '0' is not in the alphabet
        ] {
            assert_eq!(decode(bad), Err(InvalidBase32), "{bad:?}");
        }
        assert_eq!(decode("MZXW 6YTB").unwrap().as_slice(), b"fooba");
    }
}
