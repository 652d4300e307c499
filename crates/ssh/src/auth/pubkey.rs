//! Signature-based methods: publickey (RFC 4252 §7) with plain keys and
//! OpenSSH certificates (PROTOCOL.certkeys), and hostbased (RFC 4252 §9).
//!
//! The core verifies every signature, and a certificate's CA signature,
//! before the driver hears of the attempt; whether the key, the CA or the
//! client host is trusted is the driver's decision.

use super::{Pending, MAX_USER_LEN};
use crate::connection::{Connection, ProtocolError};
use crate::event::AuthAttempt;
use crate::msg;
use crate::wire::{Reader, WriteExt};
use wharf_crypto::hostkey::{Certificate, PublicKey, SigAlg};

/// Longest client host name in a hostbased request: a DNS name (253) and
/// OpenSSH's trailing dot, with room to spare.
const MAX_HOST_NAME_LEN: usize = 255;

/// The key a publickey request offers: a plain key, or a certificate
/// whose CA signature verified.
enum Offered {
    Plain(PublicKey),
    Cert(Box<Certificate>),
}

impl Offered {
    fn key(&self) -> &PublicKey {
        match self {
            Offered::Plain(k) => k,
            Offered::Cert(c) => c.key(),
        }
    }

    fn into_attempt(self, alg: SigAlg, signed: bool) -> AuthAttempt {
        match self {
            Offered::Plain(key) => AuthAttempt::PublicKey { key, alg, signed },
            Offered::Cert(cert) => AuthAttempt::Certificate { cert, alg, signed },
        }
    }
}

impl Connection {
    /// The algorithm a publickey request names, if it is accepted: a plain
    /// one from `pubkey_algorithms` or a certificate one from
    /// `pubkey_cert_algorithms`. Returns the algorithm the user's own
    /// signature is made with, the wire name, and whether it is a
    /// certificate.
    fn accepted_pubkey_alg(&self, name: &[u8]) -> Option<(SigAlg, &'static str, bool)> {
        let name = std::str::from_utf8(name).ok()?;
        if let Some(alg) = SigAlg::from_name(name) {
            return self
                .config
                .pubkey_algorithms
                .contains(&alg)
                .then(|| (alg, alg.name(), false));
        }
        let alg = SigAlg::from_cert_name(name)?;
        self.config
            .pubkey_cert_algorithms
            .contains(&alg)
            .then(|| (alg, alg.cert_name(), true))
    }

    /// Parses the offered key; for a certificate also checks the CA's
    /// signature, with an algorithm from `ca_signature_algorithms`.
    fn parse_offered(&self, blob: &[u8], cert: bool) -> Option<Offered> {
        if !cert {
            return PublicKey::from_blob(blob).ok().map(Offered::Plain);
        }
        let allowed = &self.config.ca_signature_algorithms;
        match Certificate::from_blob(blob, allowed.contains(&SigAlg::RsaSha1)) {
            Ok(c) if allowed.contains(&c.ca_sig_alg()) => Some(Offered::Cert(Box::new(c))),
            Ok(c) => {
                tracing::info!(
                    ca_alg = c.ca_sig_alg().name(),
                    "certificate signed with a refused algorithm"
                );
                None
            }
            Err(e) => {
                tracing::info!(error = %e, "certificate refused");
                None
            }
        }
    }

    pub(super) fn on_publickey(
        &mut self,
        r: &mut Reader<'_>,
        user: String,
    ) -> Result<(), ProtocolError> {
        let signed = r.bool()?;
        let alg_name = r.string()?;
        let blob = r.string()?;
        let accepted = self.accepted_pubkey_alg(alg_name);
        let offered = accepted.and_then(|(_, _, cert)| self.parse_offered(blob, cert));
        let (Some((alg, static_name, _)), Some(offered)) = (accepted, offered) else {
            self.count_failure_now();
            return Ok(());
        };
        // The algorithm was checked against the configuration above, so
        // SHA-1 is allowed here exactly when the client asked for it.
        let allow_sha1 = alg == SigAlg::RsaSha1;
        if !offered.key().accepts_sig_alg(alg, allow_sha1) {
            self.count_failure_now();
            return Ok(());
        }
        if !signed {
            r.finish()?;
            let pending = Pending::PublicKeyQuery {
                alg_name: static_name,
                blob: blob.to_vec(),
            };
            self.ask_driver(pending, user, offered.into_attempt(alg, false));
            return Ok(());
        }
        let signature = r.string()?;
        r.finish()?;
        // RFC 4252 §7: what the client signed.
        let session_id = self.session_id.clone().unwrap_or_default();
        let mut data = Vec::with_capacity(session_id.len() + user.len() + blob.len() + 96);
        data.put_string(&session_id);
        data.put_u8(msg::USERAUTH_REQUEST);
        data.put_string(user.as_bytes());
        data.put_string(b"ssh-connection");
        data.put_string(b"publickey");
        data.put_bool(true);
        data.put_string(alg_name);
        data.put_string(blob);
        // A certificate's user signature is made by the certified key with
        // the plain algorithm (PROTOCOL.certkeys).
        match offered.key().verify(signature, &data, allow_sha1) {
            Ok(used) if used == alg => self.ask_driver(
                Pending::PublicKeySigned,
                user,
                offered.into_attempt(alg, true),
            ),
            _ => {
                tracing::info!(user = %user, "public key signature did not verify");
                self.count_failure();
            }
        }
        Ok(())
    }

    /// RFC 4252 §9: the client host signs for its user with its host key.
    pub(super) fn on_hostbased(
        &mut self,
        r: &mut Reader<'_>,
        user: String,
    ) -> Result<(), ProtocolError> {
        let alg_name = r.string()?;
        let blob = r.string()?;
        let client_host = r.string()?;
        let client_user = r.string()?;
        let signature = r.string()?;
        r.finish()?;
        let alg = std::str::from_utf8(alg_name)
            .ok()
            .and_then(SigAlg::from_name)
            .filter(|a| self.config.pubkey_algorithms.contains(a));
        let key = PublicKey::from_blob(blob).ok();
        let host = std::str::from_utf8(client_host)
            .ok()
            .filter(|h| h.len() <= MAX_HOST_NAME_LEN && !h.contains('\0'));
        let cuser = std::str::from_utf8(client_user)
            .ok()
            .filter(|u| u.len() <= MAX_USER_LEN && !u.contains('\0'));
        let (Some(alg), Some(key), Some(host), Some(cuser)) = (alg, key, host, cuser) else {
            self.count_failure_now();
            return Ok(());
        };
        let allow_sha1 = alg == SigAlg::RsaSha1;
        let session_id = self.session_id.clone().unwrap_or_default();
        let mut data = Vec::with_capacity(session_id.len() + blob.len() + 128);
        data.put_string(&session_id);
        data.put_u8(msg::USERAUTH_REQUEST);
        data.put_string(user.as_bytes());
        data.put_string(b"ssh-connection");
        data.put_string(b"hostbased");
        data.put_string(alg_name);
        data.put_string(blob);
        data.put_string(client_host);
        data.put_string(client_user);
        match key.verify(signature, &data, allow_sha1) {
            Ok(used) if used == alg => {
                let attempt = AuthAttempt::Hostbased {
                    key,
                    alg,
                    client_host: host.to_string(),
                    client_user: cuser.to_string(),
                };
                self.ask_driver(Pending::Hostbased, user, attempt);
            }
            _ => {
                tracing::info!(user = %user, client_host = %host, "hostbased signature did not verify");
                self.count_failure();
            }
        }
        Ok(())
    }
}
