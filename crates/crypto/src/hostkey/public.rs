//! `PublicKey`: keys from the wire and from authorized_keys, and the
//! verification of signatures made with them.

use aws_lc_rs::digest;
use aws_lc_rs::rsa::PublicKeyComponents;
use aws_lc_rs::signature::{self, ParsedPublicKey, UnparsedPublicKey};

use super::alg::{Curve, KeyKind, SigAlg};
use super::rsa::{check_size, modulus_bits};
use super::wire::{Reader, WireError};
use super::{base64, sanitize_name, KeyError, RSA_MAX_BITS};

/// A public key as used in authorized_keys and user authentication.
///
/// Parsing is strict: one key has exactly one blob (canonical mpints, an
/// uncompressed point, nothing trailing), so comparing blobs — or
/// `PublicKey`s — compares keys.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct PublicKey {
    blob: Vec<u8>,
    key: KeyData,
}

#[derive(Clone, PartialEq, Eq, Debug)]
enum KeyData {
    Ed25519([u8; 32]),
    /// `point` is uncompressed (0x04 || x || y) and on the curve.
    Ecdsa {
        curve: Curve,
        point: Vec<u8>,
    },
    /// Magnitudes without leading zeros.
    Rsa {
        e: Vec<u8>,
        n: Vec<u8>,
    },
}

fn malformed_blob(e: WireError) -> KeyError {
    KeyError::malformed("public key blob", e)
}

fn malformed_sig(e: WireError) -> KeyError {
    KeyError::malformed("signature blob", e)
}

impl PublicKey {
    /// Parses a wire public key blob (RFC 4253 §6.6, RFC 5656 §3.1,
    /// RFC 8709 §4): bounded, strict, no trailing bytes.
    pub fn from_blob(blob: &[u8]) -> Result<Self, KeyError> {
        let mut r = Reader::new(blob);
        let key_type = r.string().map_err(malformed_blob)?;
        let key = match key_type {
            b"ssh-ed25519" => {
                let raw = r.string().map_err(malformed_blob)?;
                let key: [u8; 32] = raw.try_into().map_err(|_| {
                    KeyError::malformed("public key blob", "an Ed25519 key is not 32 bytes")
                })?;
                KeyData::Ed25519(key)
            }
            b"ssh-rsa" => {
                let e = r.mpint_canonical().map_err(malformed_blob)?;
                let n = r.mpint_canonical().map_err(malformed_blob)?;
                // Sizes are checked here only against absurdity; whether
                // a size is acceptable is decided when verifying, so that
                // a 1024-bit key in authorized_keys gets a clear refusal.
                if modulus_bits(n) > 2 * RSA_MAX_BITS || e.len() > 8 || e.is_empty() || n.is_empty()
                {
                    return Err(KeyError::malformed(
                        "public key blob",
                        "RSA key of absurd size",
                    ));
                }
                if e.last().is_some_and(|b| b & 1 == 0) || n.last().is_some_and(|b| b & 1 == 0) {
                    return Err(KeyError::malformed(
                        "public key blob",
                        "RSA exponent or modulus is even",
                    ));
                }
                KeyData::Rsa {
                    e: e.to_vec(),
                    n: n.to_vec(),
                }
            }
            other => {
                let curve = Curve::from_key_type(other)
                    .ok_or_else(|| KeyError::UnsupportedKeyType(sanitize_name(other)))?;
                if r.string().map_err(malformed_blob)? != curve.identifier() {
                    return Err(KeyError::malformed(
                        "public key blob",
                        "curve name does not match the key type",
                    ));
                }
                let point = r.string().map_err(malformed_blob)?;
                // Only the uncompressed form, as OpenSSH writes; and the
                // point must be on the curve (aws-lc checks when parsing).
                if point.len() != curve.point_len() || point.first() != Some(&0x04) {
                    return Err(KeyError::malformed(
                        "public key blob",
                        "ECDSA point is not uncompressed",
                    ));
                }
                ParsedPublicKey::new(curve.verification(), point).map_err(|_| {
                    KeyError::malformed("public key blob", "ECDSA point is not on the curve")
                })?;
                KeyData::Ecdsa {
                    curve,
                    point: point.to_vec(),
                }
            }
        };
        r.finish().map_err(malformed_blob)?;
        Ok(PublicKey {
            blob: blob.to_vec(),
            key,
        })
    }

    /// Parses "ssh-ed25519 AAAA… comment" (no options prefix; that is
    /// handled elsewhere). The stated type must match the blob's.
    pub fn from_openssh(line: &str) -> Result<Self, KeyError> {
        let mut fields = line.split_ascii_whitespace();
        let (Some(key_type), Some(b64)) = (fields.next(), fields.next()) else {
            return Err(KeyError::malformed(
                "public key line",
                "expected \"TYPE BASE64 [COMMENT]\"",
            ));
        };
        let blob = base64::decode(b64.as_bytes())
            .map_err(|_| KeyError::malformed("public key line", "invalid base64"))?;
        let key = PublicKey::from_blob(&blob)?;
        if key.key_type_name() != key_type {
            return Err(KeyError::malformed(
                "public key line",
                format_args!(
                    "type {:?} does not match the encoded {} key",
                    sanitize_name(key_type.as_bytes()),
                    key.key_type_name()
                ),
            ));
        }
        Ok(key)
    }

    pub fn blob(&self) -> &[u8] {
        &self.blob
    }

    /// "ssh-ed25519", "ecdsa-sha2-nistp256", …, "ssh-rsa".
    pub fn key_type_name(&self) -> &'static str {
        match &self.key {
            KeyData::Ed25519(_) => "ssh-ed25519",
            KeyData::Ecdsa { curve, .. } => curve.sig_alg().name(),
            KeyData::Rsa { .. } => "ssh-rsa",
        }
    }

    pub fn kind(&self) -> KeyKind {
        match &self.key {
            KeyData::Ed25519(_) => KeyKind::Ed25519,
            KeyData::Ecdsa { curve, .. } => curve.kind(),
            KeyData::Rsa { n, .. } => KeyKind::Rsa {
                bits: modulus_bits(n),
            },
        }
    }

    /// "SHA256:" and the unpadded base64 of the blob's SHA-256, as
    /// `ssh-keygen -l` prints it.
    pub fn fingerprint_sha256(&self) -> String {
        let hash = digest::digest(&digest::SHA256, &self.blob);
        format!("SHA256:{}", base64::encode(hash.as_ref(), false))
    }

    /// "TYPE BASE64", without a comment.
    pub fn to_openssh(&self) -> String {
        format!(
            "{} {}",
            self.key_type_name(),
            base64::encode(&self.blob, true)
        )
    }

    /// Whether `alg` can be used with this key: an RSA key takes
    /// rsa-sha2-256 and rsa-sha2-512, and ssh-rsa only if `allow_sha1`;
    /// the others take only their own algorithm.
    pub fn accepts_sig_alg(&self, alg: SigAlg, allow_sha1: bool) -> bool {
        match &self.key {
            KeyData::Ed25519(_) => alg == SigAlg::Ed25519,
            KeyData::Ecdsa { curve, .. } => alg == curve.sig_alg(),
            KeyData::Rsa { .. } => match alg {
                SigAlg::RsaSha256 | SigAlg::RsaSha512 => true,
                SigAlg::RsaSha1 => allow_sha1,
                _ => false,
            },
        }
    }

    /// Verifies an SSH signature blob (string alg || string signature)
    /// over `data`, returning the algorithm it used.
    pub fn verify(
        &self,
        sig_blob: &[u8],
        data: &[u8],
        allow_sha1: bool,
    ) -> Result<SigAlg, KeyError> {
        let mut r = Reader::new(sig_blob);
        let name = r.string().map_err(malformed_sig)?;
        let sig = r.string().map_err(malformed_sig)?;
        r.finish().map_err(malformed_sig)?;
        let alg = std::str::from_utf8(name)
            .ok()
            .and_then(SigAlg::from_name)
            .ok_or_else(|| KeyError::UnknownSigAlg(sanitize_name(name)))?;
        if !self.accepts_sig_alg(alg, allow_sha1) {
            return Err(
                if alg == SigAlg::RsaSha1 && matches!(self.key, KeyData::Rsa { .. }) {
                    KeyError::Sha1NotAllowed
                } else {
                    KeyError::SigAlgMismatch {
                        alg: alg.name(),
                        key_type: self.key_type_name(),
                    }
                },
            );
        }
        let verified = match &self.key {
            KeyData::Ed25519(key) => {
                // RFC 8709 §6: the signature is exactly 64 bytes.
                if sig.len() != 64 {
                    return Err(KeyError::BadSignature);
                }
                UnparsedPublicKey::new(&signature::ED25519, key).verify(data, sig)
            }
            KeyData::Ecdsa { curve, point } => {
                let fixed = ecdsa_fixed(*curve, sig)?;
                UnparsedPublicKey::new(curve.verification(), point).verify(data, &fixed)
            }
            KeyData::Rsa { e, n } => {
                check_size(modulus_bits(n))?;
                let params = match alg {
                    SigAlg::RsaSha512 => &signature::RSA_PKCS1_2048_8192_SHA512,
                    SigAlg::RsaSha256 => &signature::RSA_PKCS1_2048_8192_SHA256,
                    _ => &signature::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY,
                };
                let sig = rsa_full_width(n.len(), sig)?;
                PublicKeyComponents {
                    n: &n[..],
                    e: &e[..],
                }
                .verify(params, data, &sig)
            }
        };
        verified.map_err(|_| KeyError::BadSignature)?;
        Ok(alg)
    }
}

/// ECDSA's string(mpint r || mpint s) (RFC 5656 §3.1.2) as the fixed-width
/// r || s aws-lc verifies. Zero and over-long values are refused here;
/// r or s ≥ n are refused by aws-lc (ECDSA_do_verify checks 0 < r, s < n).
fn ecdsa_fixed(curve: Curve, sig: &[u8]) -> Result<Vec<u8>, KeyError> {
    let mut r = Reader::new(sig);
    // Leading zeros are tolerated as OpenSSH does: the value is what is
    // checked, and its range is enforced below and by aws-lc.
    let values = [r.mpint_lenient(), r.mpint_lenient()];
    r.finish().map_err(malformed_sig)?;
    let width = curve.scalar_len();
    let mut fixed = vec![0u8; 2 * width];
    for (value, slot) in values.into_iter().zip(fixed.chunks_exact_mut(width)) {
        let value = value.map_err(malformed_sig)?;
        if value.is_empty() {
            return Err(KeyError::BadSignature);
        }
        let offset = width
            .checked_sub(value.len())
            .ok_or(KeyError::BadSignature)?;
        slot.get_mut(offset..)
            .ok_or(KeyError::BadSignature)?
            .copy_from_slice(value);
    }
    Ok(fixed)
}

/// RSA signatures should be as long as the modulus, but some clients
/// drop leading zero bytes; OpenSSH (ssh-rsa.c) pads them back, and so do
/// we. Longer ones are refused.
fn rsa_full_width(modulus_len: usize, sig: &[u8]) -> Result<Vec<u8>, KeyError> {
    let pad = modulus_len
        .checked_sub(sig.len())
        .ok_or(KeyError::BadSignature)?;
    let mut out = Vec::with_capacity(modulus_len);
    out.resize(pad, 0);
    out.extend_from_slice(sig);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::wire::Writer;
    use super::*;

    fn blob(parts: &[&[u8]]) -> Vec<u8> {
        let mut w = Writer::with_capacity(256);
        for p in parts {
            w.string(p);
        }
        w.into_public()
    }

    #[test]
    fn rejects_malformed_blobs() {
        let ok = blob(&[b"ssh-ed25519", &[7u8; 32]]);
        assert!(PublicKey::from_blob(&ok).is_ok());
        for bad in [
            blob(&[b"ssh-ed25519", &[7u8; 31]]),
            blob(&[b"ssh-ed25519", &[7u8; 33]]),
            blob(&[b"ssh-ed25519"]),
            blob(&[b"ssh-dss", &[1]]),
            blob(&[b"ssh-ed25519-cert-v01@openssh.com", &[7u8; 32]]),
            blob(&[b"ecdsa-sha2-nistp256", b"nistp384", &[4u8; 65]]),
            blob(&[b"ecdsa-sha2-nistp256", b"nistp256", &[4u8; 65]]), // not on the curve
            blob(&[b"ssh-rsa", &[0, 1, 0, 1], &[0xc5; 256]]),         // e non-minimal
            blob(&[b"ssh-rsa", &[1, 0, 1], &[0xc5; 256]]),            // n negative
            blob(&[b"ssh-rsa", &[1, 0, 2], &[0x45; 256]]),            // e even
            Vec::new(),
        ] {
            assert!(PublicKey::from_blob(&bad).is_err(), "{bad:02x?}");
        }
        let mut trailing = ok.clone();
        trailing.push(0);
        assert!(PublicKey::from_blob(&trailing).is_err());
        for cut in 0..ok.len() {
            assert!(PublicKey::from_blob(&ok[..cut]).is_err());
        }
    }

    #[test]
    fn ecdsa_signature_conversion() {
        let mut w = Writer::with_capacity(80);
        w.mpint(&[0x80, 1]);
        w.mpint(&[5]);
        let fixed = ecdsa_fixed(Curve::P256, &w.into_public()).unwrap();
        let mut expected = vec![0u8; 64];
        expected[30] = 0x80;
        expected[31] = 1;
        expected[63] = 5;
        assert_eq!(fixed, expected);
        // r = 0, and r one byte too long.
        let mut w = Writer::with_capacity(80);
        w.mpint(&[]);
        w.mpint(&[5]);
        assert!(matches!(
            ecdsa_fixed(Curve::P256, &w.into_public()),
            Err(KeyError::BadSignature)
        ));
        let mut w = Writer::with_capacity(80);
        w.mpint(&[1; 33]);
        w.mpint(&[5]);
        assert!(matches!(
            ecdsa_fixed(Curve::P256, &w.into_public()),
            Err(KeyError::BadSignature)
        ));
    }

    #[test]
    fn rsa_padding_rule() {
        assert_eq!(rsa_full_width(4, &[9, 9]).unwrap(), [0, 0, 9, 9]);
        assert!(rsa_full_width(2, &[9, 9, 9]).is_err());
    }
}
