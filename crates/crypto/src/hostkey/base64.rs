//! Base64 (RFC 4648 §4, standard alphabet) for key files, key lines and
//! fingerprints.
//!
//! Private key files are base64 too, so both directions avoid table
//! lookups and branches on the data: each character is mapped with
//! arithmetic alone (the technique of Paragon's and RustCrypto's
//! constant-time base64ct), and invalid input is only reported once the
//! whole input has been processed. Lengths and padding are public.

use zeroize::Zeroizing;

/// The input is not valid base64.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct InvalidBase64;

/// Maps one character to its 6-bit value, or to -1 if it is not in the
/// alphabet. Each line adds the character's offset only when it is in a
/// range: `((lo - 1 - c) & (c - hi - 1)) >> 8` is all ones exactly then.
fn decode_6bits(c: u8) -> i16 {
    let c = i16::from(c);
    let mut v: i16 = -1;
    v += (((0x40 - c) & (c - 0x5b)) >> 8) & (c - 64); // 'A'..='Z' -> 0..=25
    v += (((0x60 - c) & (c - 0x7b)) >> 8) & (c - 70); // 'a'..='z' -> 26..=51
    v += (((0x2f - c) & (c - 0x3a)) >> 8) & (c + 5); // '0'..='9' -> 52..=61
    v += (((0x2a - c) & (c - 0x2c)) >> 8) & 63; // '+' -> 62
    v += (((0x2e - c) & (c - 0x30)) >> 8) & 64; // '/' -> 63
    v
}

/// Maps a 6-bit value to its character, by shifting 'A' across the gaps
/// between the alphabet's ranges.
fn encode_6bits(v: u8) -> u8 {
    let v = i16::from(v & 0x3f);
    let mut diff: i16 = 0x41;
    diff += ((25 - v) >> 8) & 6; // past 'Z': to 'a'
    diff -= ((51 - v) >> 8) & 75; // past 'z': to '0'
    diff -= ((61 - v) >> 8) & 15; // past '9': to '+'
    diff += ((62 - v) >> 8) & 3; // past '+': to '/'
                                 // v + diff is always within 'A'..='z' or '+'/'/' here.
    u8::try_from(v + diff).unwrap_or(b'A')
}

/// Base64 length of `n` bytes, with padding.
pub(crate) const fn encoded_len(n: usize) -> usize {
    n.div_ceil(3) * 4
}

/// Appends the base64 of `data` to `out`, with `=` padding if `pad`.
pub(crate) fn encode_into(data: &[u8], pad: bool, out: &mut String) {
    for chunk in data.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let sextets = [
            b[0] >> 2,
            (b[0] << 4 | b[1] >> 4),
            (b[1] << 2 | b[2] >> 6),
            b[2],
        ];
        let keep = chunk.len() + 1;
        for (i, s) in sextets.into_iter().enumerate() {
            if i < keep {
                out.push(char::from(encode_6bits(s)));
            } else if pad {
                out.push('=');
            }
        }
    }
}

/// Base64 of `data`, padded (public data only; key files build their
/// own zeroizing string with `encode_into`).
pub(crate) fn encode(data: &[u8], pad: bool) -> String {
    let mut s = String::with_capacity(encoded_len(data.len()));
    encode_into(data, pad, &mut s);
    s
}

/// Decodes base64 without whitespace. Padding is optional, but if
/// present the length must be a multiple of four; the unused low bits of
/// the last character must be zero, so that every byte string has one
/// encoding. The output is zeroizing because it may be a private key.
pub(crate) fn decode(text: &[u8]) -> Result<Zeroizing<Vec<u8>>, InvalidBase64> {
    let body = match text {
        [rest @ .., b'=', b'='] | [rest @ .., b'='] => {
            if !text.len().is_multiple_of(4) {
                return Err(InvalidBase64);
            }
            rest
        }
        _ => text,
    };
    if body.len() % 4 == 1 {
        return Err(InvalidBase64);
    }
    let mut out = Zeroizing::new(Vec::with_capacity(body.len() / 4 * 3 + 2));
    let mut bad: i16 = 0;
    for chunk in body.chunks(4) {
        let mut v = [0i16; 4];
        for (slot, &c) in v.iter_mut().zip(chunk) {
            *slot = decode_6bits(c);
            bad |= *slot;
        }
        let bytes = [
            ((v[0] << 2) | (v[1] >> 4)) as u8,
            ((v[1] << 4) | (v[2] >> 2)) as u8,
            ((v[2] << 6) | v[3]) as u8,
        ];
        // A chunk of n characters carries n - 1 bytes; the bits left over
        // in its last character must be zero.
        let n = chunk.len();
        out.extend_from_slice(bytes.get(..n - 1).unwrap_or_default());
        let leftover = match n {
            2 => v[1] & 0x0f,
            3 => v[2] & 0x03,
            _ => 0,
        };
        bad |= -leftover;
    }
    if bad < 0 {
        return Err(InvalidBase64);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 4648 §10 test vectors.
    const RFC4648: [(&str, &str); 7] = [
        ("", ""),
        ("f", "Zg=="),
        ("fo", "Zm8="),
        ("foo", "Zm9v"),
        ("foob", "Zm9vYg=="),
        ("fooba", "Zm9vYmE="),
        ("foobar", "Zm9vYmFy"),
    ];

    #[test]
    fn rfc4648_vectors() {
        for (plain, b64) in RFC4648 {
            assert_eq!(encode(plain.as_bytes(), true), b64);
            assert_eq!(&*decode(b64.as_bytes()).unwrap(), plain.as_bytes());
            let unpadded = b64.trim_end_matches('=');
            assert_eq!(encode(plain.as_bytes(), false), unpadded);
            assert_eq!(&*decode(unpadded.as_bytes()).unwrap(), plain.as_bytes());
        }
    }

    #[test]
    fn whole_alphabet_round_trips() {
        let all: Vec<u8> = (0..=255u8).collect();
        let text = encode(&all, true);
        assert!(text.starts_with("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g"));
        assert_eq!(&*decode(text.as_bytes()).unwrap(), &all[..]);
        for v in 0..64u8 {
            assert_eq!(decode_6bits(encode_6bits(v)), i16::from(v));
        }
    }

    #[test]
    fn rejects_invalid() {
        for bad in [
            "Zg=", "Z", "Zm9v!", "Zm 9v", "Zh==", "Zm9=", "=Zm9", "Zg==Zg==", "Z===", "-_8=",
        ] {
            assert_eq!(decode(bad.as_bytes()), Err(InvalidBase64), "{bad:?}");
        }
        for c in 0..=255u8 {
            let valid = c.is_ascii_alphanumeric() || c == b'+' || c == b'/';
            assert_eq!(decode_6bits(c) >= 0, valid, "{c}");
        }
    }
}
