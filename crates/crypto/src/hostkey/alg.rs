//! Algorithm names and the per-curve parameters of ECDSA.

use aws_lc_rs::signature::{self, EcdsaSigningAlgorithm, EcdsaVerificationAlgorithm};

/// A public-key signature algorithm as negotiated in SSH (host key
/// algorithms, user authentication), by its wire name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SigAlg {
    Ed25519,
    EcdsaP256,
    EcdsaP384,
    EcdsaP521,
    RsaSha512,
    RsaSha256,
    /// Legacy "ssh-rsa" (SHA-1): off by default, for old clients only.
    RsaSha1,
}

impl SigAlg {
    /// Every algorithm, in order of preference.
    pub const ALL: &'static [SigAlg] = &[
        SigAlg::Ed25519,
        SigAlg::EcdsaP256,
        SigAlg::EcdsaP384,
        SigAlg::EcdsaP521,
        SigAlg::RsaSha512,
        SigAlg::RsaSha256,
        SigAlg::RsaSha1,
    ];

    pub fn name(self) -> &'static str {
        match self {
            SigAlg::Ed25519 => "ssh-ed25519",
            SigAlg::EcdsaP256 => "ecdsa-sha2-nistp256",
            SigAlg::EcdsaP384 => "ecdsa-sha2-nistp384",
            SigAlg::EcdsaP521 => "ecdsa-sha2-nistp521",
            SigAlg::RsaSha512 => "rsa-sha2-512",
            SigAlg::RsaSha256 => "rsa-sha2-256",
            SigAlg::RsaSha1 => "ssh-rsa",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        SigAlg::ALL.iter().copied().find(|a| a.name() == name)
    }

    /// Whether the algorithm is only for old peers (SHA-1) and so off
    /// unless configured.
    pub fn is_legacy(self) -> bool {
        self == SigAlg::RsaSha1
    }

    /// The key type ("ssh-rsa" for all three RSA algorithms).
    pub fn key_type_name(self) -> &'static str {
        match self {
            SigAlg::RsaSha512 | SigAlg::RsaSha256 | SigAlg::RsaSha1 => "ssh-rsa",
            other => other.name(),
        }
    }

    /// The algorithm's OpenSSH certificate form (PROTOCOL.certkeys), as
    /// publickey authentication and server-sig-algs name it.
    pub fn cert_name(self) -> &'static str {
        match self {
            SigAlg::Ed25519 => "ssh-ed25519-cert-v01@openssh.com",
            SigAlg::EcdsaP256 => "ecdsa-sha2-nistp256-cert-v01@openssh.com",
            SigAlg::EcdsaP384 => "ecdsa-sha2-nistp384-cert-v01@openssh.com",
            SigAlg::EcdsaP521 => "ecdsa-sha2-nistp521-cert-v01@openssh.com",
            SigAlg::RsaSha512 => "rsa-sha2-512-cert-v01@openssh.com",
            SigAlg::RsaSha256 => "rsa-sha2-256-cert-v01@openssh.com",
            SigAlg::RsaSha1 => "ssh-rsa-cert-v01@openssh.com",
        }
    }

    /// The plain algorithm of a certificate algorithm name.
    pub fn from_cert_name(name: &str) -> Option<Self> {
        SigAlg::ALL.iter().copied().find(|a| a.cert_name() == name)
    }

    /// The key type inside a certificate blob of this algorithm
    /// ("ssh-rsa-cert-v01@openssh.com" for all three RSA algorithms).
    pub fn cert_key_type_name(self) -> &'static str {
        match self {
            SigAlg::RsaSha512 | SigAlg::RsaSha256 | SigAlg::RsaSha1 => {
                "ssh-rsa-cert-v01@openssh.com"
            }
            other => other.cert_name(),
        }
    }
}

/// What a key is, for messages, configuration and key generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Ed25519,
    EcdsaP256,
    EcdsaP384,
    EcdsaP521,
    Rsa { bits: u32 },
}

/// The NIST curves of RFC 5656, each bound to the hash RFC 5656 §6.2.1
/// assigns it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Curve {
    P256,
    P384,
    P521,
}

impl Curve {
    pub(crate) fn from_key_type(name: &[u8]) -> Option<Self> {
        [Curve::P256, Curve::P384, Curve::P521]
            .into_iter()
            .find(|c| c.sig_alg().name().as_bytes() == name)
    }

    pub(crate) fn sig_alg(self) -> SigAlg {
        match self {
            Curve::P256 => SigAlg::EcdsaP256,
            Curve::P384 => SigAlg::EcdsaP384,
            Curve::P521 => SigAlg::EcdsaP521,
        }
    }

    pub(crate) fn kind(self) -> KeyKind {
        match self {
            Curve::P256 => KeyKind::EcdsaP256,
            Curve::P384 => KeyKind::EcdsaP384,
            Curve::P521 => KeyKind::EcdsaP521,
        }
    }

    /// The curve identifier inside key blobs (RFC 5656 §6.1).
    pub(crate) fn identifier(self) -> &'static [u8] {
        match self {
            Curve::P256 => b"nistp256",
            Curve::P384 => b"nistp384",
            Curve::P521 => b"nistp521",
        }
    }

    /// Bytes in a scalar or field element (r, s, the private key).
    pub(crate) fn scalar_len(self) -> usize {
        match self {
            Curve::P256 => 32,
            Curve::P384 => 48,
            Curve::P521 => 66,
        }
    }

    /// Bytes in an uncompressed point: 0x04 || x || y.
    pub(crate) fn point_len(self) -> usize {
        1 + 2 * self.scalar_len()
    }

    pub(crate) fn signing(self) -> &'static EcdsaSigningAlgorithm {
        match self {
            Curve::P256 => &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            Curve::P384 => &signature::ECDSA_P384_SHA384_FIXED_SIGNING,
            Curve::P521 => &signature::ECDSA_P521_SHA512_FIXED_SIGNING,
        }
    }

    pub(crate) fn verification(self) -> &'static EcdsaVerificationAlgorithm {
        match self {
            Curve::P256 => &signature::ECDSA_P256_SHA256_FIXED,
            Curve::P384 => &signature::ECDSA_P384_SHA384_FIXED,
            Curve::P521 => &signature::ECDSA_P521_SHA512_FIXED,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for &alg in SigAlg::ALL {
            assert_eq!(SigAlg::from_name(alg.name()), Some(alg));
        }
        assert_eq!(SigAlg::from_name("ssh-dss"), None);
        assert_eq!(SigAlg::from_name("SSH-ED25519"), None);
        assert_eq!(SigAlg::ALL.iter().filter(|a| a.is_legacy()).count(), 1);
        assert!(SigAlg::RsaSha1.is_legacy());
        assert_eq!(SigAlg::RsaSha256.key_type_name(), "ssh-rsa");
        assert_eq!(
            Curve::from_key_type(b"ecdsa-sha2-nistp384"),
            Some(Curve::P384)
        );
        assert_eq!(Curve::from_key_type(b"ecdsa-sha2-nistp192"), None);
    }

    #[test]
    fn certificate_names_round_trip() {
        for &alg in SigAlg::ALL {
            assert_eq!(SigAlg::from_cert_name(alg.cert_name()), Some(alg));
            assert_eq!(SigAlg::from_cert_name(alg.name()), None);
            assert!(alg.cert_key_type_name().starts_with(alg.key_type_name()));
        }
        // PROTOCOL.certkeys: RSA certificates keep one key type whatever
        // the signature hash.
        assert_eq!(
            SigAlg::RsaSha256.cert_name(),
            "rsa-sha2-256-cert-v01@openssh.com"
        );
        assert_eq!(
            SigAlg::RsaSha512.cert_key_type_name(),
            "ssh-rsa-cert-v01@openssh.com"
        );
    }
}
