//! OpenSSH private key files: "-----BEGIN OPENSSH PRIVATE KEY-----", the
//! "openssh-key-v1" format of OpenSSH's PROTOCOL.key, unencrypted. Reads
//! what ssh-keygen writes and writes what ssh-keygen reads.
//!
//! ```text
//! "openssh-key-v1\0" string cipher ("none") string kdf ("none")
//! string kdfoptions ("") uint32 nkeys (1) string public-key-blob
//! string private-section:
//!     uint32 checkint, uint32 checkint (equal), string key-type,
//!     key fields (sshkey_private_serialize), string comment, padding 1, 2, 3…
//! ```

use zeroize::Zeroizing;

use super::alg::Curve;
use super::rsa::RsaComponents;
use super::wire::{mpint_len, string_len, Reader, WireError, Writer};
use super::{base64, sanitize_name, KeyError};

const BEGIN: &str = "-----BEGIN OPENSSH PRIVATE KEY-----";
const END: &str = "-----END OPENSSH PRIVATE KEY-----";
const MAGIC: &[u8] = b"openssh-key-v1\0";
/// The private section is padded to the cipher's block size; "none" has 8.
const BLOCK: usize = 8;
/// ssh-keygen's line width.
const COLUMNS: usize = 70;

/// The private half of a key, as read from a file.
pub(crate) enum SecretKey {
    Ed25519 {
        seed: Zeroizing<[u8; 32]>,
        public: [u8; 32],
    },
    Ecdsa {
        curve: Curve,
        /// Fixed width: `curve.scalar_len()` bytes.
        scalar: Zeroizing<Vec<u8>>,
        point: Vec<u8>,
    },
    Rsa(RsaComponents),
}

/// A decoded key file.
pub(crate) struct KeyFile {
    /// The public key as the file's header states it.
    pub(crate) public_blob: Vec<u8>,
    pub(crate) secret: SecretKey,
}

/// The private fields to write, borrowed from wherever they live.
pub(crate) enum PrivateFields<'a> {
    Ed25519 {
        seed: &'a [u8],
        public: &'a [u8],
    },
    Ecdsa {
        curve: Curve,
        scalar: &'a [u8],
        point: &'a [u8],
    },
    Rsa(&'a RsaComponents),
}

fn malformed(detail: impl std::fmt::Display) -> KeyError {
    KeyError::malformed("OpenSSH private key", detail)
}

fn wire(e: WireError) -> KeyError {
    malformed(e)
}

pub(crate) fn decode(text: &str) -> Result<KeyFile, KeyError> {
    let body = pem_body(text)?;
    let binary = base64::decode(&body).map_err(|_| malformed("invalid base64"))?;
    parse_binary(&binary)
}

/// The base64 between the armour lines, without whitespace.
fn pem_body(text: &str) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    let text = text.trim_start();
    let rest = text
        .strip_prefix(BEGIN)
        .ok_or_else(|| foreign_format(text))?;
    let (inner, tail) = rest
        .split_once(END)
        .ok_or_else(|| malformed(format_args!("no {END} line")))?;
    if !tail.trim().is_empty() {
        return Err(malformed(format_args!("text after the {END} line")));
    }
    // Sized up front: a zeroizing buffer must not reallocate.
    let mut body = Zeroizing::new(Vec::with_capacity(inner.len()));
    body.extend(inner.bytes().filter(|b| !b.is_ascii_whitespace()));
    Ok(body)
}

/// Names the formats people are likely to hand us instead, and how to
/// convert them.
fn foreign_format(text: &str) -> KeyError {
    const PEM: &str = "a PEM (PKCS#1, PKCS#8 or SEC1) key; convert it with \
                       `ssh-keygen -p -f FILE`, which rewrites it in OpenSSH format";
    let pem_markers = [
        "-----BEGIN RSA PRIVATE KEY-----",
        "-----BEGIN EC PRIVATE KEY-----",
        "-----BEGIN PRIVATE KEY-----",
        "-----BEGIN DSA PRIVATE KEY-----",
    ];
    if text.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----") {
        KeyError::Encrypted
    } else if pem_markers.iter().any(|m| text.starts_with(m)) {
        if text.contains("Proc-Type: 4,ENCRYPTED") {
            KeyError::Encrypted
        } else {
            KeyError::UnsupportedFormat(PEM)
        }
    } else if text.starts_with("PuTTY-User-Key-File-") {
        KeyError::UnsupportedFormat(
            "a PuTTY key; export it with `puttygen KEY -O private-openssh -o FILE`",
        )
    } else if text.starts_with("ssh-") || text.starts_with("ecdsa-") {
        KeyError::UnsupportedFormat("a public key; the private key file is needed")
    } else {
        malformed(format_args!("no {BEGIN} line"))
    }
}

fn parse_binary(binary: &[u8]) -> Result<KeyFile, KeyError> {
    let mut r = Reader::new(binary);
    if r.take(MAGIC.len()).map_err(wire)? != MAGIC {
        return Err(malformed("not an openssh-key-v1 key"));
    }
    let cipher = r.string().map_err(wire)?;
    let kdf = r.string().map_err(wire)?;
    let _kdf_options = r.string().map_err(wire)?;
    if cipher != b"none" || kdf != b"none" {
        return Err(KeyError::Encrypted);
    }
    let count = r.u32().map_err(wire)?;
    if count != 1 {
        return Err(malformed(format_args!(
            "the file holds {count} keys; one is expected"
        )));
    }
    let public_blob = r.string().map_err(wire)?.to_vec();
    let section = r.string().map_err(wire)?;
    r.finish().map_err(wire)?;
    let secret = parse_private_section(section)?;
    Ok(KeyFile {
        public_blob,
        secret,
    })
}

fn parse_private_section(section: &[u8]) -> Result<SecretKey, KeyError> {
    // OpenSSH refuses sections that are not whole blocks, and so do we.
    if !section.len().is_multiple_of(BLOCK) {
        return Err(malformed(
            "the private section is not padded to the block size",
        ));
    }
    let mut r = Reader::new(section);
    // With no cipher, differing check integers can only mean corruption.
    if r.u32().map_err(wire)? != r.u32().map_err(wire)? {
        return Err(malformed("the check integers differ (corrupt file)"));
    }
    let key_type = r.string().map_err(wire)?;
    let secret = match key_type {
        b"ssh-ed25519" => parse_ed25519(&mut r)?,
        b"ssh-rsa" => parse_rsa(&mut r)?,
        other => match Curve::from_key_type(other) {
            Some(curve) => parse_ecdsa(&mut r, curve)?,
            None => return Err(KeyError::UnsupportedKeyType(sanitize_name(other))),
        },
    };
    let _comment = r.string().map_err(wire)?;
    let padding = r.take(r.remaining()).map_err(wire)?;
    // (1..=255 cannot overflow, and longer padding is refused first.)
    if padding.len() > 255 || padding.iter().zip(1..=255u8).any(|(&b, i)| b != i) {
        return Err(malformed("bad padding after the key (corrupt file)"));
    }
    Ok(secret)
}

fn parse_ed25519(r: &mut Reader<'_>) -> Result<SecretKey, KeyError> {
    let public: [u8; 32] = r
        .string()
        .map_err(wire)?
        .try_into()
        .map_err(|_| malformed("the Ed25519 public key is not 32 bytes"))?;
    // The private key is stored as seed || public key, 64 bytes.
    let both = r.string().map_err(wire)?;
    let (seed, copy) = both
        .split_at_checked(32)
        .filter(|(_, copy)| copy.len() == 32)
        .ok_or_else(|| malformed("the Ed25519 private key is not 64 bytes"))?;
    if copy != public {
        return Err(KeyError::InconsistentKey(
            "the two Ed25519 public key copies differ",
        ));
    }
    let mut out = Zeroizing::new([0u8; 32]);
    out.copy_from_slice(seed);
    Ok(SecretKey::Ed25519 { seed: out, public })
}

fn parse_ecdsa(r: &mut Reader<'_>, curve: Curve) -> Result<SecretKey, KeyError> {
    if r.string().map_err(wire)? != curve.identifier() {
        return Err(malformed("the curve name does not match the key type"));
    }
    let point = r.string().map_err(wire)?.to_vec();
    // OpenSSH writes the scalar as a minimal mpint, so it may be shorter
    // than the curve's width; left-pad it.
    let d = r.mpint_lenient().map_err(wire)?;
    let mut scalar = Zeroizing::new(vec![0u8; curve.scalar_len()]);
    let offset = curve
        .scalar_len()
        .checked_sub(d.len())
        .ok_or_else(|| malformed("the ECDSA private key is too long"))?;
    scalar
        .get_mut(offset..)
        .ok_or_else(|| malformed("the ECDSA private key is too long"))?
        .copy_from_slice(d);
    Ok(SecretKey::Ecdsa {
        curve,
        scalar,
        point,
    })
}

fn parse_rsa(r: &mut Reader<'_>) -> Result<SecretKey, KeyError> {
    let mut next = || r.mpint_lenient().map_err(wire);
    // sshkey_private_deserialize order: n, e, d, iqmp, p, q.
    let n = next()?.to_vec();
    let e = next()?.to_vec();
    let d = Zeroizing::new(next()?.to_vec());
    let iqmp = Zeroizing::new(next()?.to_vec());
    let p = Zeroizing::new(next()?.to_vec());
    let q = Zeroizing::new(next()?.to_vec());
    Ok(SecretKey::Rsa(RsaComponents {
        n,
        e,
        d,
        iqmp,
        p,
        q,
    }))
}

impl PrivateFields<'_> {
    fn key_type(&self) -> &'static str {
        match self {
            PrivateFields::Ed25519 { .. } => "ssh-ed25519",
            PrivateFields::Ecdsa { curve, .. } => curve.sig_alg().name(),
            PrivateFields::Rsa(_) => "ssh-rsa",
        }
    }

    /// An upper bound on the encoded fields, to size buffers exactly once.
    fn max_len(&self) -> usize {
        match self {
            PrivateFields::Ed25519 { seed, public } => {
                string_len(public.len()) + string_len(seed.len() + public.len())
            }
            PrivateFields::Ecdsa {
                curve,
                scalar,
                point,
            } => {
                string_len(curve.identifier().len())
                    + string_len(point.len())
                    + mpint_len(scalar.len())
            }
            PrivateFields::Rsa(c) => [&c.n[..], &c.e, &c.d, &c.iqmp, &c.p, &c.q]
                .iter()
                .map(|v| mpint_len(v.len()))
                .sum(),
        }
    }

    fn write(&self, w: &mut Writer) {
        match self {
            PrivateFields::Ed25519 { seed, public } => {
                w.string(public);
                w.u32(u32::try_from(seed.len() + public.len()).unwrap_or(u32::MAX));
                w.raw(seed);
                w.raw(public);
            }
            PrivateFields::Ecdsa {
                curve,
                scalar,
                point,
            } => {
                w.string(curve.identifier());
                w.string(point);
                w.mpint(scalar);
            }
            PrivateFields::Rsa(c) => {
                for v in [&c.n[..], &c.e, &c.d, &c.iqmp, &c.p, &c.q] {
                    w.mpint(v);
                }
            }
        }
    }
}

/// Writes an unencrypted OpenSSH private key file.
pub(crate) fn encode(
    public_blob: &[u8],
    fields: &PrivateFields<'_>,
    comment: &str,
) -> Zeroizing<String> {
    let key_type = fields.key_type().as_bytes();
    let section_cap =
        8 + string_len(key_type.len()) + fields.max_len() + string_len(comment.len()) + BLOCK;
    let mut section = Writer::with_capacity(section_cap);
    // Random check integers, as ssh-keygen writes: with a cipher they
    // detect a wrong passphrase; here they only have to be equal.
    let mut check = [0u8; 4];
    crate::random::fill(&mut check);
    section.raw(&check);
    section.raw(&check);
    section.string(key_type);
    fields.write(&mut section);
    section.string(comment.as_bytes());
    for pad in 1..=255u8 {
        if section.len().is_multiple_of(BLOCK) {
            break;
        }
        section.raw(&[pad]);
    }
    let section = section.into_zeroizing();

    let file_cap = MAGIC.len()
        + 3 * string_len(4)
        + 4
        + string_len(public_blob.len())
        + string_len(section.len());
    let mut file = Writer::with_capacity(file_cap);
    file.raw(MAGIC);
    file.string(b"none");
    file.string(b"none");
    file.string(b"");
    file.u32(1);
    file.string(public_blob);
    file.string(&section);
    let binary = file.into_zeroizing();

    let b64_len = base64::encoded_len(binary.len());
    let mut b64 = Zeroizing::new(String::with_capacity(b64_len));
    base64::encode_into(&binary, true, &mut b64);
    let mut out = Zeroizing::new(String::with_capacity(
        BEGIN.len() + END.len() + b64_len + b64_len / COLUMNS + 4,
    ));
    out.push_str(BEGIN);
    out.push('\n');
    for line in b64.as_bytes().chunks(COLUMNS) {
        // Base64 is ASCII, so every chunk is valid UTF-8.
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(END);
    out.push('\n');
    out
}
