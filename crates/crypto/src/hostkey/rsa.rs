//! RSA private keys: OpenSSH's components turned into aws-lc key pairs
//! and back, and the one RSA signature aws-lc-rs cannot make (SHA-1).

use aws_lc_rs::digest;
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeyPairComponents, PublicKeyComponents};
use aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY;
use crypto_bigint::modular::{BoxedMontyForm, BoxedMontyParams};
use crypto_bigint::{BoxedUint, NonZero, Odd};
use zeroize::Zeroizing;

use super::wire::{strip_leading_zeros, Reader};
use super::{KeyError, RSA_MAX_BITS, RSA_MIN_BITS};

type Secret = Zeroizing<Vec<u8>>;

/// An RSA private key as OpenSSH stores it (sshkey.c): big-endian
/// magnitudes without leading zeros. OpenSSH keeps no dP/dQ; aws-lc
/// needs them, so `key_pair` derives them.
pub(crate) struct RsaComponents {
    pub(crate) n: Vec<u8>,
    pub(crate) e: Vec<u8>,
    pub(crate) d: Secret,
    /// q⁻¹ mod p, the CRT coefficient (PKCS#1's qInv).
    pub(crate) iqmp: Secret,
    pub(crate) p: Secret,
    pub(crate) q: Secret,
}

/// Bit length of a big-endian magnitude.
pub(crate) fn modulus_bits(n: &[u8]) -> u32 {
    let n = strip_leading_zeros(n);
    let top = n.first().map_or(0, |b| 8 - b.leading_zeros());
    let rest = u32::try_from(n.len().saturating_sub(1)).unwrap_or(u32::MAX / 16);
    rest.saturating_mul(8).saturating_add(top)
}

pub(crate) fn check_size(bits: u32) -> Result<(), KeyError> {
    if bits < RSA_MIN_BITS {
        Err(KeyError::RsaKeyTooSmall { bits })
    } else if bits > RSA_MAX_BITS {
        Err(KeyError::RsaKeyTooLarge { bits })
    } else {
        Ok(())
    }
}

fn bigint_error<E>(_: E) -> KeyError {
    KeyError::malformed("RSA key", "a component is out of range")
}

/// d mod (prime − 1), a CRT exponent. Runs once per key load; crypto-bigint's
/// `rem` is constant-time in the values (only the divisor's bit length,
/// public for a balanced key, shows in its timing).
fn crt_exponent(d: &[u8], prime: &[u8]) -> Result<Secret, KeyError> {
    let bits = u32::try_from(d.len().max(prime.len()).saturating_mul(8)).map_err(bigint_error)?;
    let d = Zeroizing::new(BoxedUint::from_be_slice(d, bits).map_err(bigint_error)?);
    let p = Zeroizing::new(BoxedUint::from_be_slice(prime, bits).map_err(bigint_error)?);
    let p_minus_1 = p.wrapping_sub(&BoxedUint::one_with_precision(bits));
    let modulus = Zeroizing::new(
        Option::<NonZero<BoxedUint>>::from(NonZero::new(p_minus_1))
            .ok_or_else(|| KeyError::malformed("RSA key", "a prime factor is 1"))?,
    );
    let r = Zeroizing::new(d.rem(&modulus));
    Ok(Zeroizing::new(r.to_be_bytes().into_vec()))
}

impl RsaComponents {
    pub(crate) fn bits(&self) -> u32 {
        modulus_bits(&self.n)
    }

    /// The aws-lc key pair. `from_components` checks every component
    /// against the others (n = pq, ed ≡ 1, the CRT values), so a corrupt
    /// or mismatched key file is refused here.
    pub(crate) fn key_pair(&self) -> Result<KeyPair, KeyError> {
        check_size(self.bits())?;
        let dp = crt_exponent(&self.d, &self.p)?;
        let dq = crt_exponent(&self.d, &self.q)?;
        let components = KeyPairComponents {
            public_key: PublicKeyComponents {
                n: &self.n[..],
                e: &self.e[..],
            },
            d: &self.d[..],
            p: &self.p[..],
            q: &self.q[..],
            dP: &dp[..],
            dQ: &dq[..],
            qInv: &self.iqmp[..],
        };
        KeyPair::from_components(&components)
            .map_err(|_| KeyError::InconsistentKey("the RSA components do not form a valid key"))
    }

    /// The components of an aws-lc key pair (a generated one), read back
    /// from its PKCS#8 export, the only way aws-lc-rs hands them out.
    pub(crate) fn from_key_pair(pair: &KeyPair) -> Result<Self, KeyError> {
        // The DER buffer zeroizes itself when dropped.
        let der = pair
            .as_der()
            .map_err(|_| KeyError::Crypto("exporting the RSA key"))?;
        parse_pkcs8(der.as_ref())
    }

    /// An RSASSA-PKCS1-v1_5 signature with SHA-1 (RFC 8017 §8.2.1), for
    /// the legacy "ssh-rsa" algorithm. aws-lc-rs signs only with SHA-2,
    /// so this computes s = m^d mod n itself, with crypto-bigint's
    /// constant-time Montgomery exponentiation (no CRT, so no fault
    /// attack on the CRT halves), then has aws-lc verify the result
    /// before it leaves: a wrong signature is never sent.
    pub(crate) fn sign_sha1(&self, data: &[u8]) -> Result<Vec<u8>, KeyError> {
        let k = self.n.len();
        let em = emsa_pkcs1_v1_5_sha1(data, k)?;
        let bits = u32::try_from(k.saturating_mul(8)).map_err(bigint_error)?;
        let n = BoxedUint::from_be_slice(&self.n, bits).map_err(bigint_error)?;
        let n = Option::<Odd<BoxedUint>>::from(Odd::new(n))
            .ok_or_else(|| KeyError::malformed("RSA key", "the modulus is even"))?;
        let params = BoxedMontyParams::new(n);
        let m = BoxedUint::from_be_slice(&em, bits).map_err(bigint_error)?;
        let d = Zeroizing::new(BoxedUint::from_be_slice(&self.d, bits).map_err(bigint_error)?);
        let s = BoxedMontyForm::new(m, params)
            .pow(&d)
            .retrieve()
            .to_be_bytes();
        // `s` is a whole number of limbs; s < n, so the extra leading
        // bytes are zero and the last k bytes are the signature (I2OSP).
        let sig = s
            .get(s.len().saturating_sub(k)..)
            .ok_or(KeyError::Crypto("RSA signature length"))?;
        PublicKeyComponents {
            n: &self.n[..],
            e: &self.e[..],
        }
        .verify(&RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY, data, sig)
        .map_err(|_| KeyError::Crypto("RSA/SHA-1 signature failed its self-check"))?;
        Ok(sig.to_vec())
    }
}

/// DigestInfo prefix for SHA-1 (RFC 8017 §9.2, note 1).
const SHA1_DIGEST_INFO: [u8; 15] = [
    0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14,
];

/// EM = 0x00 || 0x01 || PS (0xff…, at least 8) || 0x00 || DigestInfo || H
/// (RFC 8017 §9.2), `k` bytes long.
fn emsa_pkcs1_v1_5_sha1(data: &[u8], k: usize) -> Result<Vec<u8>, KeyError> {
    let hash = digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, data);
    let t_len = SHA1_DIGEST_INFO.len() + hash.as_ref().len();
    let ps_len = k
        .checked_sub(t_len + 3)
        .filter(|&len| len >= 8)
        .ok_or(KeyError::Crypto("RSA modulus too short for PKCS#1 v1.5"))?;
    let mut em = Vec::with_capacity(k);
    em.extend_from_slice(&[0x00, 0x01]);
    em.resize(2 + ps_len, 0xff);
    em.push(0x00);
    em.extend_from_slice(&SHA1_DIGEST_INFO);
    em.extend_from_slice(hash.as_ref());
    Ok(em)
}

/// rsaEncryption, 1.2.840.113549.1.1.1, as a DER OID body.
const RSA_ENCRYPTION_OID: [u8; 9] = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];

/// A minimal DER reader for the one structure aws-lc exports: PKCS#8
/// PrivateKeyInfo (RFC 5208) wrapping an RSAPrivateKey (RFC 8017 A.1.2).
struct Der<'a>(Reader<'a>);

fn der_error(detail: &'static str) -> KeyError {
    KeyError::malformed("PKCS#8 RSA key", detail)
}

impl<'a> Der<'a> {
    fn element(&mut self, tag: u8) -> Result<&'a [u8], KeyError> {
        let r = &mut self.0;
        if r.u8().map_err(|_| der_error("truncated"))? != tag {
            return Err(der_error("unexpected element"));
        }
        let first = r.u8().map_err(|_| der_error("truncated"))?;
        let len = match first {
            0..=0x7f => usize::from(first),
            0x81..=0x83 => {
                let mut len = 0usize;
                for _ in 0..(first & 0x7f) {
                    len = (len << 8) | usize::from(r.u8().map_err(|_| der_error("truncated"))?);
                }
                len
            }
            _ => return Err(der_error("unsupported length")),
        };
        r.take(len).map_err(|_| der_error("truncated"))
    }

    /// A non-negative INTEGER's magnitude.
    fn uint(&mut self) -> Result<&'a [u8], KeyError> {
        let raw = self.element(0x02)?;
        if raw.first().is_none_or(|b| b & 0x80 != 0) {
            return Err(der_error("negative or empty integer"));
        }
        Ok(strip_leading_zeros(raw))
    }

    fn finish(self) -> Result<(), KeyError> {
        self.0.finish().map_err(|_| der_error("trailing data"))
    }
}

fn parse_pkcs8(der: &[u8]) -> Result<RsaComponents, KeyError> {
    let mut outer = Der(Reader::new(der));
    let mut info = Der(Reader::new(outer.element(0x30)?));
    outer.finish()?;
    if !info.uint()?.is_empty() {
        return Err(der_error("unknown PrivateKeyInfo version"));
    }
    let mut algorithm = Der(Reader::new(info.element(0x30)?));
    if algorithm.element(0x06)? != RSA_ENCRYPTION_OID {
        return Err(der_error("not an RSA key"));
    }
    let mut octets = Der(Reader::new(info.element(0x04)?));
    let mut key = Der(Reader::new(octets.element(0x30)?));
    octets.finish()?;
    if !key.uint()?.is_empty() {
        return Err(der_error("multi-prime RSA keys are not supported"));
    }
    let n = key.uint()?.to_vec();
    let e = key.uint()?.to_vec();
    let mut secret = || -> Result<Secret, KeyError> { Ok(Zeroizing::new(key.uint()?.to_vec())) };
    let d = secret()?;
    let p = secret()?;
    let q = secret()?;
    let _dp = secret()?;
    let _dq = secret()?;
    let iqmp = secret()?;
    key.finish()?;
    Ok(RsaComponents {
        n,
        e,
        d,
        iqmp,
        p,
        q,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 8017 §9.2 note 1 spells out the SHA-1 DigestInfo prefix; the
    // full encoding of SHA-1("abc") (FIPS 180-1 appendix A:
    // a9993e36 4706816a ba3e2571 7850c26c 9cd0d89d) follows from it.
    #[test]
    fn emsa_encoding_of_abc() {
        let em = emsa_pkcs1_v1_5_sha1(b"abc", 64).unwrap();
        let mut expected = vec![0x00, 0x01];
        expected.resize(64 - 35 - 1, 0xff);
        expected.push(0);
        expected.extend_from_slice(&SHA1_DIGEST_INFO);
        expected
            .extend_from_slice(&hex::decode("a9993e364706816aba3e25717850c26c9cd0d89d").unwrap());
        assert_eq!(em, expected);
        assert_eq!(em.len(), 64);
        assert!(emsa_pkcs1_v1_5_sha1(b"abc", 45).is_err());
    }

    #[test]
    fn crt_exponent_small_numbers() {
        // 1000 mod (11 - 1) = 0; 1001 mod (7 - 1) = 5; 0x10000 mod (0x101 - 1) = 0.
        assert!(crt_exponent(&[0x03, 0xe8], &[11])
            .unwrap()
            .iter()
            .all(|&b| b == 0));
        assert_eq!(
            strip_leading_zeros(&crt_exponent(&[0x03, 0xe9], &[7]).unwrap()),
            [5]
        );
        assert!(crt_exponent(&[0x01, 0x00, 0x00], &[0x01, 0x01])
            .unwrap()
            .iter()
            .all(|&b| b == 0));
        assert!(crt_exponent(&[5], &[1]).is_err());
    }

    #[test]
    fn bit_lengths() {
        assert_eq!(modulus_bits(&[]), 0);
        assert_eq!(modulus_bits(&[0x01]), 1);
        assert_eq!(modulus_bits(&[0x00, 0x80, 0x00]), 16);
        assert!(matches!(
            check_size(2047),
            Err(KeyError::RsaKeyTooSmall { bits: 2047 })
        ));
        assert!(check_size(2048).is_ok());
        assert!(matches!(
            check_size(8193),
            Err(KeyError::RsaKeyTooLarge { .. })
        ));
    }
}
