//! `HostKey`: the server's private signing key.

use std::io::Read;
use std::path::Path;

use aws_lc_rs::encoding::{AsBigEndian, AsDer, Pkcs8V1Der};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize};
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _};
use zeroize::Zeroizing;

use super::alg::{Curve, KeyKind, SigAlg};
use super::openssh::{self, PrivateFields, SecretKey};
use super::public::PublicKey;
use super::rsa::RsaComponents;
use super::wire::Writer;
use super::KeyError;

/// Key files are a few kilobytes; anything far larger is not a key and
/// is not read into memory.
const MAX_KEY_FILE: u64 = 64 * 1024;

/// A server host key (private). Holds the aws-lc-rs key pair and the
/// public key with its cached wire blob (K_S).
pub struct HostKey {
    signer: Signer,
    public: PublicKey,
}

enum Signer {
    Ed25519(Ed25519KeyPair),
    Ecdsa {
        curve: Curve,
        pair: EcdsaKeyPair,
    },
    /// OpenSSH's components are kept (zeroizing) for writing the key
    /// file and for SHA-1 signatures, which aws-lc-rs cannot make.
    Rsa {
        pair: RsaKeyPair,
        parts: RsaComponents,
    },
}

impl std::fmt::Debug for HostKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostKey")
            .field("kind", &self.kind())
            .field("fingerprint", &self.fingerprint_sha256())
            .finish_non_exhaustive()
    }
}

fn crypto(what: &'static str) -> impl FnOnce(aws_lc_rs::error::Unspecified) -> KeyError {
    move |_| KeyError::Crypto(what)
}

impl HostKey {
    /// Parses an unencrypted OpenSSH private key file
    /// ("-----BEGIN OPENSSH PRIVATE KEY-----") as ssh-keygen writes it.
    pub fn from_openssh(text: &str) -> Result<Self, KeyError> {
        let file = openssh::decode(text)?;
        let key = HostKey::from_secret(file.secret)?;
        // The header's public key must be the one the private key gives.
        if key.public_blob() != file.public_blob.as_slice() {
            return Err(KeyError::InconsistentKey(
                "the file's public key is not the private key's",
            ));
        }
        Ok(key)
    }

    /// Reads and parses a key file; errors name the path.
    pub fn load(path: &Path) -> Result<Self, KeyError> {
        let read_error = |error| KeyError::Read {
            path: path.to_path_buf(),
            error,
        };
        let file = std::fs::File::open(path).map_err(read_error)?;
        // Sized from the file's length so the zeroizing buffer is not
        // reallocated (which would leave an unzeroized copy behind).
        let size_hint = file.metadata().map_or(0, |m| m.len()).min(MAX_KEY_FILE);
        let mut bytes = Zeroizing::new(Vec::with_capacity(
            usize::try_from(size_hint).unwrap_or(0) + 1,
        ));
        file.take(MAX_KEY_FILE + 1)
            .read_to_end(&mut bytes)
            .map_err(read_error)?;
        let parsed = if bytes.len() as u64 > MAX_KEY_FILE {
            Err(KeyError::malformed(
                "OpenSSH private key",
                "the file is too large to be a key",
            ))
        } else {
            std::str::from_utf8(&bytes)
                .map_err(|_| KeyError::malformed("OpenSSH private key", "the file is not text"))
                .and_then(HostKey::from_openssh)
        };
        parsed.map_err(|error| KeyError::File {
            path: path.to_path_buf(),
            error: Box::new(error),
        })
    }

    /// Generates a new key. RSA sizes: 2048, 3072, 4096, 8192 bits.
    pub fn generate(kind: KeyKind) -> Result<Self, KeyError> {
        let signer = match kind {
            KeyKind::Ed25519 => Signer::Ed25519(
                Ed25519KeyPair::generate().map_err(crypto("generating an Ed25519 key"))?,
            ),
            KeyKind::EcdsaP256 => generate_ecdsa(Curve::P256)?,
            KeyKind::EcdsaP384 => generate_ecdsa(Curve::P384)?,
            KeyKind::EcdsaP521 => generate_ecdsa(Curve::P521)?,
            KeyKind::Rsa { bits } => {
                let size = match bits {
                    2048 => KeySize::Rsa2048,
                    3072 => KeySize::Rsa3072,
                    4096 => KeySize::Rsa4096,
                    8192 => KeySize::Rsa8192,
                    _ => return Err(KeyError::UnsupportedKeySize(bits)),
                };
                let pair = RsaKeyPair::generate(size).map_err(crypto("generating an RSA key"))?;
                let parts = RsaComponents::from_key_pair(&pair)?;
                Signer::Rsa { pair, parts }
            }
        };
        HostKey::from_signer(signer)
    }

    fn from_secret(secret: SecretKey) -> Result<Self, KeyError> {
        let signer = match secret {
            SecretKey::Ed25519 { seed, public } => Signer::Ed25519(
                Ed25519KeyPair::from_seed_and_public_key(&seed[..], &public)
                    .map_err(|_| KeyError::InconsistentKey("Ed25519 seed and public key"))?,
            ),
            SecretKey::Ecdsa {
                curve,
                scalar,
                point,
            } => Signer::Ecdsa {
                curve,
                pair: EcdsaKeyPair::from_private_key_and_public_key(
                    curve.signing(),
                    &scalar,
                    &point,
                )
                .map_err(|_| KeyError::InconsistentKey("ECDSA private scalar and public point"))?,
            },
            SecretKey::Rsa(parts) => Signer::Rsa {
                pair: parts.key_pair()?,
                parts,
            },
        };
        HostKey::from_signer(signer)
    }

    /// Builds the public key blob from what aws-lc computed, and parses
    /// it back through `PublicKey` so both types agree by construction.
    fn from_signer(signer: Signer) -> Result<Self, KeyError> {
        let mut w = Writer::with_capacity(64);
        match &signer {
            Signer::Ed25519(pair) => {
                w.string(b"ssh-ed25519");
                w.string(pair.public_key().as_ref());
            }
            Signer::Ecdsa { curve, pair } => {
                w.string(curve.sig_alg().name().as_bytes());
                w.string(curve.identifier());
                w.string(pair.public_key().as_ref());
            }
            Signer::Rsa { parts, .. } => {
                w.string(b"ssh-rsa");
                w.mpint(&parts.e);
                w.mpint(&parts.n);
            }
        }
        let public = PublicKey::from_blob(&w.into_public())?;
        Ok(HostKey { signer, public })
    }

    /// The key as an unencrypted OpenSSH private key file. Writing it
    /// with mode 0600 is the caller's job.
    pub fn to_openssh(&self, comment: &str) -> Result<Zeroizing<String>, KeyError> {
        let blob = self.public_blob();
        let text = match &self.signer {
            Signer::Ed25519(pair) => {
                // Through PKCS#8 rather than `seed()`, whose buffer is not
                // zeroized when dropped; this one is.
                let der: Pkcs8V1Der<'static> =
                    pair.as_der().map_err(crypto("exporting the Ed25519 key"))?;
                let fields = PrivateFields::Ed25519 {
                    seed: ed25519_seed_from_pkcs8(der.as_ref())?,
                    public: pair.public_key().as_ref(),
                };
                openssh::encode(blob, &fields, comment)
            }
            Signer::Ecdsa { curve, pair } => {
                let scalar = pair
                    .private_key()
                    .as_be_bytes()
                    .map_err(crypto("exporting the ECDSA key"))?;
                let fields = PrivateFields::Ecdsa {
                    curve: *curve,
                    scalar: scalar.as_ref(),
                    point: pair.public_key().as_ref(),
                };
                openssh::encode(blob, &fields, comment)
            }
            Signer::Rsa { parts, .. } => openssh::encode(blob, &PrivateFields::Rsa(parts), comment),
        };
        Ok(text)
    }

    pub fn kind(&self) -> KeyKind {
        self.public.kind()
    }

    /// K_S: the public key's SSH wire blob.
    pub fn public_blob(&self) -> &[u8] {
        self.public.blob()
    }

    /// The public key.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// "ssh-ed25519 AAAA…", without a comment.
    pub fn public_openssh(&self) -> String {
        self.public.to_openssh()
    }

    /// "SHA256:…" as `ssh-keygen -l` prints it.
    pub fn fingerprint_sha256(&self) -> String {
        self.public.fingerprint_sha256()
    }

    /// The algorithms this key can sign with, most preferred first.
    pub fn sig_algs(&self) -> &'static [SigAlg] {
        match &self.signer {
            Signer::Ed25519(_) => &[SigAlg::Ed25519],
            Signer::Ecdsa {
                curve: Curve::P256, ..
            } => &[SigAlg::EcdsaP256],
            Signer::Ecdsa {
                curve: Curve::P384, ..
            } => &[SigAlg::EcdsaP384],
            Signer::Ecdsa {
                curve: Curve::P521, ..
            } => &[SigAlg::EcdsaP521],
            Signer::Rsa { .. } => &[SigAlg::RsaSha512, SigAlg::RsaSha256, SigAlg::RsaSha1],
        }
    }

    /// Signs `data` and returns the SSH signature blob: string alg-name ||
    /// string signature (RFC 4253 §6.6, RFC 5656 §3.1.2, RFC 8332,
    /// RFC 8709).
    pub fn sign(&self, alg: SigAlg, data: &[u8]) -> Result<Vec<u8>, KeyError> {
        if !self.sig_algs().contains(&alg) {
            return Err(KeyError::SigAlgMismatch {
                alg: alg.name(),
                key_type: self.public.key_type_name(),
            });
        }
        let mut w;
        match &self.signer {
            Signer::Ed25519(pair) => {
                let sig = pair.try_sign(data).map_err(crypto("Ed25519 signing"))?;
                w = Writer::with_capacity(32 + sig.as_ref().len());
                w.string(alg.name().as_bytes());
                w.string(sig.as_ref());
            }
            Signer::Ecdsa { curve, pair } => {
                // aws-lc gives r || s at fixed width; SSH wants
                // string(mpint r || mpint s) (RFC 5656 §3.1.2).
                let sig = pair
                    .sign(&SystemRandom::new(), data)
                    .map_err(crypto("ECDSA signing"))?;
                let (r, s) = sig
                    .as_ref()
                    .split_at_checked(curve.scalar_len())
                    .ok_or(KeyError::Crypto("ECDSA signature length"))?;
                let mut inner = Writer::with_capacity(2 * (curve.scalar_len() + 5));
                inner.mpint(r);
                inner.mpint(s);
                let inner = inner.into_public();
                w = Writer::with_capacity(32 + inner.len());
                w.string(alg.name().as_bytes());
                w.string(&inner);
            }
            Signer::Rsa { pair, parts } => {
                let sig = match alg {
                    SigAlg::RsaSha1 => parts.sign_sha1(data)?,
                    _ => {
                        let encoding = if alg == SigAlg::RsaSha512 {
                            &signature::RSA_PKCS1_SHA512
                        } else {
                            &signature::RSA_PKCS1_SHA256
                        };
                        let mut sig = vec![0u8; pair.public_modulus_len()];
                        pair.sign(encoding, &SystemRandom::new(), data, &mut sig)
                            .map_err(crypto("RSA signing"))?;
                        sig
                    }
                };
                w = Writer::with_capacity(32 + sig.len());
                w.string(alg.name().as_bytes());
                w.string(&sig);
            }
        }
        Ok(w.into_public())
    }
}

fn generate_ecdsa(curve: Curve) -> Result<Signer, KeyError> {
    let pair =
        EcdsaKeyPair::generate(curve.signing()).map_err(crypto("generating an ECDSA key"))?;
    Ok(Signer::Ecdsa { curve, pair })
}

/// The seed inside aws-lc's PKCS#8 v1 Ed25519 export, which is always
/// this fixed 48-byte structure (RFC 8410 §7): SEQUENCE { INTEGER 0,
/// SEQUENCE { OID 1.3.101.112 }, OCTET STRING { OCTET STRING seed } }.
fn ed25519_seed_from_pkcs8(der: &[u8]) -> Result<&[u8], KeyError> {
    const PREFIX: [u8; 16] = [
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    match der.split_at_checked(PREFIX.len()) {
        Some((prefix, seed)) if prefix == PREFIX && seed.len() == 32 => Ok(seed),
        _ => Err(KeyError::Crypto("unexpected Ed25519 PKCS#8 export")),
    }
}
