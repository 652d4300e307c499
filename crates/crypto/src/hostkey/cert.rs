//! OpenSSH certificates (PROTOCOL.certkeys, "*-cert-v01@openssh.com"):
//! a public key, who it is for and when, signed by a certificate authority.
//!
//! A [`Certificate`] only exists once its CA signature verified, so holding
//! one means "this CA vouched for this". Whether the CA is trusted is the
//! caller's question (TrustedUserCAKeys, cert-authority lines);
//! [`Certificate::check_for_user`] answers the rest as OpenSSH's
//! sshkey_cert_check_authority() and auth-options.c do.

use std::net::IpAddr;

use super::alg::{Curve, SigAlg};
use super::cidr::Cidr;
use super::public::PublicKey;
use super::wire::{Reader, WireError};
use super::{base64, sanitize_name, KeyError};

/// What PROTOCOL.certkeys appends to a key type to name its certificate.
const CERT_SUFFIX: &str = "-cert-v01@openssh.com";
/// OpenSSH's SSHKEY_CERT_MAX_PRINCIPALS.
const MAX_PRINCIPALS: usize = 256;
/// Options or extensions in one certificate; ssh-keygen knows a handful.
const MAX_OPTIONS: usize = 64;
/// Longest principal or option name kept (OpenSSH has no lower bound than
/// the blob's size; real ones are user and host names).
const MAX_NAME_LEN: usize = 1024;

/// User or host certificate (PROTOCOL.certkeys: SSH2_CERT_TYPE_USER = 1,
/// SSH2_CERT_TYPE_HOST = 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertType {
    User,
    Host,
}

/// A critical option or extension: a name and its data, as carried (for
/// force-command and source-address the data is itself an SSH string).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertOption {
    pub name: String,
    pub data: Vec<u8>,
}

/// A parsed certificate whose CA signature verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate {
    blob: Vec<u8>,
    key: PublicKey,
    cert_type: CertType,
    serial: u64,
    key_id: String,
    principals: Vec<String>,
    valid_after: u64,
    valid_before: u64,
    critical_options: Vec<CertOption>,
    extensions: Vec<CertOption>,
    force_command: Option<String>,
    source_address: Option<Vec<Cidr>>,
    verify_required: bool,
    ca_key: PublicKey,
    ca_sig_alg: SigAlg,
}

/// Why a valid certificate may not authenticate a user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertRefusal {
    #[error("a host certificate cannot authenticate a user")]
    NotAUserCertificate,
    #[error("user {user:?} is not a principal of the certificate")]
    PrincipalNotListed { user: String },
    #[error("certificate is not valid before {valid_after} (now {now})")]
    NotYetValid { valid_after: u64, now: u64 },
    #[error("certificate expired at {valid_before} (now {now})")]
    Expired { valid_before: u64, now: u64 },
    #[error("certificate has unknown critical option {0:?}")]
    UnknownCriticalOption(String),
    #[error("source address {peer} is not allowed by the certificate")]
    SourceAddress { peer: IpAddr },
    /// verify-required asks for FIDO user verification; Wharf has no
    /// security-key algorithms, so no signature can show it: refused
    /// rather than silently ignored.
    #[error("certificate requires FIDO user verification, which cannot be checked")]
    VerifyRequired,
}

fn malformed(e: WireError) -> KeyError {
    KeyError::malformed("certificate", e)
}

fn bad(detail: &'static str) -> KeyError {
    KeyError::malformed("certificate", detail)
}

/// A name inside a certificate: UTF-8, no NUL (OpenSSH treats them as C
/// strings, so a NUL would make two different names look equal to it).
fn cert_name(raw: &[u8]) -> Result<String, KeyError> {
    match std::str::from_utf8(raw) {
        Ok(s) if s.len() <= MAX_NAME_LEN && !s.contains('\0') => Ok(s.to_string()),
        _ => Err(bad("a name is not UTF-8, has a NUL or is too long")),
    }
}

/// The (name, data) sequence of critical options or extensions. Names must
/// be unique (PROTOCOL.certkeys: "each named option may only appear
/// once"), so no option can be given twice with different values.
fn option_list(raw: &[u8]) -> Result<Vec<CertOption>, KeyError> {
    let mut r = Reader::new(raw);
    let mut out: Vec<CertOption> = Vec::new();
    while r.remaining() > 0 {
        let name = cert_name(r.string().map_err(malformed)?)?;
        let data = r.string().map_err(malformed)?.to_vec();
        if out.iter().any(|o| o.name == name) {
            return Err(bad("an option appears twice"));
        }
        if out.len() >= MAX_OPTIONS {
            return Err(bad("too many options"));
        }
        out.push(CertOption { name, data });
    }
    Ok(out)
}

/// An option's data that must be exactly one string (force-command,
/// source-address).
fn option_string(data: &[u8]) -> Result<String, KeyError> {
    let mut r = Reader::new(data);
    let value = r.string().map_err(malformed)?;
    r.finish().map_err(malformed)?;
    std::str::from_utf8(value)
        .map(str::to_string)
        .map_err(|_| bad("an option's value is not UTF-8"))
}

/// The plain key type of a certificate key type, or None if it is not one
/// we support.
fn plain_type(cert_type: &[u8]) -> Option<&'static str> {
    let name = std::str::from_utf8(cert_type).ok()?;
    let plain = name.strip_suffix(CERT_SUFFIX)?;
    SigAlg::ALL
        .iter()
        .map(|a| a.key_type_name())
        .find(|t| *t == plain)
}

impl Certificate {
    /// Parses a certificate blob and verifies its CA signature. The CA may
    /// sign with ssh-rsa (SHA-1) only if `allow_sha1_ca`; callers that have
    /// an algorithm list check `ca_sig_alg()` against it as well.
    pub fn from_blob(blob: &[u8], allow_sha1_ca: bool) -> Result<Self, KeyError> {
        let mut r = Reader::new(blob);
        let type_name = r.string().map_err(malformed)?;
        let plain = plain_type(type_name)
            .ok_or_else(|| KeyError::UnsupportedKeyType(sanitize_name(type_name)))?;
        let _nonce = r.string().map_err(malformed)?;
        // The certified key's fields come next, as in the plain key's blob
        // after its type name; rebuild that blob and let PublicKey parse
        // it with all its strictness.
        let fields_start = blob.len() - r.remaining();
        match plain {
            "ssh-ed25519" => {
                r.string().map_err(malformed)?;
            }
            "ssh-rsa" => {
                r.string().map_err(malformed)?; // e
                r.string().map_err(malformed)?; // n
            }
            other => {
                Curve::from_key_type(other.as_bytes()).ok_or(bad("unknown key type"))?;
                r.string().map_err(malformed)?; // curve
                r.string().map_err(malformed)?; // point
            }
        }
        let fields_end = blob.len() - r.remaining();
        let fields = blob
            .get(fields_start..fields_end)
            .ok_or(bad("key fields"))?;
        let mut plain_blob = Vec::with_capacity(4 + plain.len() + fields.len());
        plain_blob.extend_from_slice(&u32::try_from(plain.len()).unwrap_or(0).to_be_bytes());
        plain_blob.extend_from_slice(plain.as_bytes());
        plain_blob.extend_from_slice(fields);
        let key = PublicKey::from_blob(&plain_blob)?;

        let serial = r.u64().map_err(malformed)?;
        let cert_type = match r.u32().map_err(malformed)? {
            1 => CertType::User,
            2 => CertType::Host,
            _ => return Err(bad("certificate type is neither user nor host")),
        };
        let key_id = String::from_utf8_lossy(r.string().map_err(malformed)?).into_owned();
        let mut principals = Vec::new();
        let mut pr = Reader::new(r.string().map_err(malformed)?);
        while pr.remaining() > 0 {
            if principals.len() >= MAX_PRINCIPALS {
                return Err(bad("too many principals"));
            }
            principals.push(cert_name(pr.string().map_err(malformed)?)?);
        }
        let valid_after = r.u64().map_err(malformed)?;
        let valid_before = r.u64().map_err(malformed)?;
        let critical_options = option_list(r.string().map_err(malformed)?)?;
        let extensions = option_list(r.string().map_err(malformed)?)?;
        let _reserved = r.string().map_err(malformed)?;
        let ca_blob = r.string().map_err(malformed)?;
        let signed_len = blob.len() - r.remaining();
        let signature = r.string().map_err(malformed)?;
        r.finish().map_err(malformed)?;

        // PROTOCOL.certkeys: the signature key is a plain key ("MUST NOT
        // be a certificate"); PublicKey refuses certificate types.
        let ca_key = PublicKey::from_blob(ca_blob)?;
        let signed = blob.get(..signed_len).ok_or(bad("signed part"))?;
        let ca_sig_alg = ca_key.verify(signature, signed, allow_sha1_ca)?;

        let mut force_command = None;
        let mut source_address = None;
        let mut verify_required = false;
        for opt in &critical_options {
            match opt.name.as_str() {
                "force-command" => force_command = Some(option_string(&opt.data)?),
                "source-address" => {
                    let list = option_string(&opt.data)?;
                    let blocks = Cidr::parse_list(&list)
                        .map_err(|e| KeyError::malformed("certificate source-address", e))?;
                    source_address = Some(blocks);
                }
                "verify-required" => verify_required = true,
                // Unknown ones are kept: refusing them is check_for_user's
                // job, so that a caller can say why.
                _ => {}
            }
        }
        Ok(Certificate {
            blob: blob.to_vec(),
            key,
            cert_type,
            serial,
            key_id,
            principals,
            valid_after,
            valid_before,
            critical_options,
            extensions,
            force_command,
            source_address,
            verify_required,
            ca_key,
            ca_sig_alg,
        })
    }

    /// Parses "TYPE-cert-v01@openssh.com BASE64 [COMMENT]" (an
    /// ssh-keygen `-cert.pub` file's line) and verifies it as `from_blob`.
    pub fn from_openssh(line: &str, allow_sha1_ca: bool) -> Result<Self, KeyError> {
        let mut fields = line.split_ascii_whitespace();
        let (Some(type_name), Some(b64)) = (fields.next(), fields.next()) else {
            return Err(KeyError::malformed(
                "certificate line",
                "expected \"TYPE BASE64 [COMMENT]\"",
            ));
        };
        let blob = base64::decode(b64.as_bytes())
            .map_err(|_| KeyError::malformed("certificate line", "invalid base64"))?;
        let cert = Certificate::from_blob(&blob, allow_sha1_ca)?;
        if cert.type_name() != type_name {
            return Err(KeyError::malformed(
                "certificate line",
                "the stated type does not match the certificate",
            ));
        }
        Ok(cert)
    }

    pub fn blob(&self) -> &[u8] {
        &self.blob
    }

    /// The certified key: user signatures are verified with it.
    pub fn key(&self) -> &PublicKey {
        &self.key
    }

    /// "ssh-ed25519-cert-v01@openssh.com", …, "ssh-rsa-cert-v01@openssh.com".
    pub fn type_name(&self) -> String {
        format!("{}{CERT_SUFFIX}", self.key.key_type_name())
    }

    pub fn cert_type(&self) -> CertType {
        self.cert_type
    }

    pub fn serial(&self) -> u64 {
        self.serial
    }

    /// The CA's free-form identifier, for logs (lossily UTF-8).
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The user (or host) names the certificate is valid for.
    pub fn principals(&self) -> &[String] {
        &self.principals
    }

    /// Seconds since the Unix epoch from which the certificate is valid.
    pub fn valid_after(&self) -> u64 {
        self.valid_after
    }

    /// Seconds since the Unix epoch from which it is no longer valid
    /// (u64::MAX: forever).
    pub fn valid_before(&self) -> u64 {
        self.valid_before
    }

    pub fn critical_options(&self) -> &[CertOption] {
        &self.critical_options
    }

    /// permit-pty, permit-port-forwarding, …: permissions, not
    /// requirements, so unknown ones are ignored.
    pub fn extensions(&self) -> &[CertOption] {
        &self.extensions
    }

    pub fn has_extension(&self, name: &str) -> bool {
        self.extensions.iter().any(|e| e.name == name)
    }

    /// The force-command critical option: the only command the session
    /// may run. The caller must honour it or refuse the certificate.
    pub fn force_command(&self) -> Option<&str> {
        self.force_command.as_deref()
    }

    /// The source-address critical option, parsed.
    pub fn source_address(&self) -> Option<&[Cidr]> {
        self.source_address.as_deref()
    }

    pub fn verify_required(&self) -> bool {
        self.verify_required
    }

    /// The key of the CA that signed it; the caller decides whether it
    /// trusts that CA.
    pub fn ca_key(&self) -> &PublicKey {
        &self.ca_key
    }

    /// The algorithm the CA signed with.
    pub fn ca_sig_alg(&self) -> SigAlg {
        self.ca_sig_alg
    }

    /// Whether this (CA-verified) certificate lets `user` log in from
    /// `peer_ip` at `now_unix`: a user certificate, `user` among the
    /// principals (an empty list matches nobody, as in OpenSSH when a name
    /// is required), inside its validity window, every critical option
    /// known and satisfied. The CA's trust is not checked here.
    pub fn check_for_user(
        &self,
        user: &str,
        now_unix: u64,
        peer_ip: IpAddr,
    ) -> Result<(), CertRefusal> {
        if self.cert_type != CertType::User {
            return Err(CertRefusal::NotAUserCertificate);
        }
        if now_unix < self.valid_after {
            return Err(CertRefusal::NotYetValid {
                valid_after: self.valid_after,
                now: now_unix,
            });
        }
        if now_unix >= self.valid_before {
            return Err(CertRefusal::Expired {
                valid_before: self.valid_before,
                now: now_unix,
            });
        }
        if !self.principals.iter().any(|p| p == user) {
            return Err(CertRefusal::PrincipalNotListed {
                user: user.chars().take(64).collect(),
            });
        }
        for opt in &self.critical_options {
            match opt.name.as_str() {
                "force-command" => {}
                "source-address" => {
                    let allowed = self
                        .source_address
                        .as_deref()
                        .is_some_and(|blocks| blocks.iter().any(|b| b.contains(peer_ip)));
                    if !allowed {
                        return Err(CertRefusal::SourceAddress { peer: peer_ip });
                    }
                }
                "verify-required" => return Err(CertRefusal::VerifyRequired),
                other => {
                    return Err(CertRefusal::UnknownCriticalOption(
                        other.chars().take(64).collect(),
                    ))
                }
            }
        }
        Ok(())
    }
}
