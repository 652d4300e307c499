//! The server side of key exchange (RFC 4253 §7-8, RFC 4419 for group
//! exchange, RFC 5656, RFC 8731, the PQ hybrid drafts), rekeying, strict
//! key exchange and EXT_INFO (RFC 8308).

use crate::connection::{Connection, ProtocolError};
use crate::msg;
use crate::negotiate::{self, ClientFlags, Negotiated};
use crate::wire::{Reader, WriteExt};
use wharf_crypto::hash::{HashAlg, Hasher};
use wharf_crypto::kex::{self as kexalg, DhGroup, KexReply};
use wharf_crypto::packet::{OpeningKey, SealingKey};
use zeroize::Zeroizing;

/// RFC 4419 and RFC 8270 bounds on the group size a client may ask for.
const GEX_MIN_BITS: u32 = 2048;
const GEX_MAX_BITS: u32 = 8192;

pub(crate) enum KexState {
    /// No key exchange in progress.
    Idle,
    /// We sent our KEXINIT and wait for the client's.
    SentInit { server_init: Vec<u8> },
    /// Algorithms agreed; waiting for the client's first method message.
    Negotiated(Box<Exchange>),
    /// Group exchange: we sent the group, waiting for the client's e.
    GexGroupSent(Box<Exchange>, GexParams),
    /// We sent NEWKEYS; the client's NEWKEYS switches its direction.
    AwaitNewKeys { opening: Box<OpeningKey> },
}

pub(crate) struct Exchange {
    server_init: Vec<u8>,
    client_init: Vec<u8>,
    neg: Negotiated,
    flags: ClientFlags,
}

pub(crate) struct GexParams {
    /// None for the old-style request (RFC 4419 §5: only n is hashed).
    min: Option<u32>,
    preferred: u32,
    max: Option<u32>,
    group: DhGroup,
}

impl KexState {
    /// From our KEXINIT until our NEWKEYS only key-exchange messages may be
    /// sent (RFC 4253 §7.1).
    pub(crate) fn blocks_output(&self) -> bool {
        !matches!(self, KexState::Idle | KexState::AwaitNewKeys { .. })
    }
}

impl Connection {
    /// Whether a key exchange is under way (from either side's KEXINIT to
    /// the client's NEWKEYS): the client sends no channel data meanwhile.
    pub fn key_exchange_in_progress(&self) -> bool {
        !matches!(self.kex, KexState::Idle)
    }

    /// Sends our KEXINIT, opening a key exchange.
    pub(crate) fn start_kex(&mut self) {
        let init = negotiate::server_kexinit(&self.config, self.session_id.is_none());
        self.write_payload_now(&init);
        self.kex = KexState::SentInit { server_init: init };
    }

    pub(crate) fn handle_kex_message(&mut self, payload: &[u8]) -> Result<(), ProtocolError> {
        let t = payload[0];
        match std::mem::replace(&mut self.kex, KexState::Idle) {
            KexState::Idle if t == msg::KEXINIT => {
                // The client starts a (re)key exchange: answer with ours.
                let init = negotiate::server_kexinit(&self.config, self.session_id.is_none());
                self.write_payload_now(&init);
                self.on_client_kexinit(init, payload)
            }
            KexState::SentInit { server_init } if t == msg::KEXINIT => {
                self.on_client_kexinit(server_init, payload)
            }
            KexState::Negotiated(mut ex) if t != msg::KEXINIT && t != msg::NEWKEYS => {
                if ex.flags.ignore_guessed_packet {
                    ex.flags.ignore_guessed_packet = false;
                    self.kex = KexState::Negotiated(ex);
                    return Ok(());
                }
                if ex.neg.kex.is_group_exchange() {
                    self.on_gex_request(ex, payload)
                } else if t == msg::KEX_ECDH_INIT {
                    self.on_ecdh_init(ex, payload)
                } else {
                    Err(ProtocolError::new(format!(
                        "unexpected key exchange message {t}"
                    )))
                }
            }
            KexState::GexGroupSent(ex, params) if t == msg::KEX_DH_GEX_INIT => {
                self.on_gex_init(ex, params, payload)
            }
            KexState::AwaitNewKeys { opening } if t == msg::NEWKEYS => {
                Reader::new(&payload[1..]).finish()?;
                self.decoder.set_key(*opening);
                if self.strict_kex {
                    self.decoder.reset_seq();
                }
                self.first_kex_done = true;
                self.last_kex_at = self.now;
                Ok(())
            }
            _ => Err(ProtocolError::new(format!(
                "unexpected key exchange message {t}"
            ))),
        }
    }

    fn on_client_kexinit(
        &mut self,
        server_init: Vec<u8>,
        client_init: &[u8],
    ) -> Result<(), ProtocolError> {
        let (neg, flags) = negotiate::negotiate(&self.config, client_init).map_err(|e| {
            tracing::info!(error = %e, "key exchange negotiation failed");
            ProtocolError::new(e.to_string())
        })?;
        if self.session_id.is_none() {
            self.strict_kex = flags.strict_kex;
            // Strict kex requires KEXINIT to have been the client's very
            // first packet (Terrapin, CVE-2023-48795).
            if self.strict_kex && self.decoder.seq() != 1 {
                return Err(ProtocolError::new(
                    "strict key exchange: KEXINIT was not the first packet",
                ));
            }
            self.auth.client_wants_ext_info = flags.ext_info;
        }
        tracing::debug!(
            kex = neg.kex.name(),
            host_key = neg.host_key.name(),
            cipher = neg.cipher_s2c.name(),
            "negotiated"
        );
        self.kex = KexState::Negotiated(Box::new(Exchange {
            server_init,
            client_init: client_init.to_vec(),
            neg,
            flags,
        }));
        Ok(())
    }

    /// The common start of the exchange hash: V_C, V_S, I_C, I_S, K_S.
    fn exchange_hasher(&self, ex: &Exchange, host_key_blob: &[u8]) -> Hasher {
        let mut h = Hasher::new(ex.neg.kex.hash());
        let mut buf = Vec::with_capacity(2048);
        buf.put_string(self.client_version.as_deref().unwrap_or_default());
        buf.put_string(self.config.version.as_bytes());
        buf.put_string(&ex.client_init);
        buf.put_string(&ex.server_init);
        buf.put_string(host_key_blob);
        h.update(&buf);
        h
    }

    fn on_ecdh_init(&mut self, ex: Box<Exchange>, payload: &[u8]) -> Result<(), ProtocolError> {
        let mut r = Reader::new(&payload[1..]);
        let client_public = r.string()?;
        r.finish()?;
        let reply = kexalg::server_exchange(ex.neg.kex, client_public)
            .map_err(|e| ProtocolError::new(format!("key exchange failed: {e}")))?;
        // RFC 5656 §4: the exchange hash covers Q_C and Q_S.
        let mut fields = Vec::with_capacity(client_public.len() + reply.server_public.len() + 8);
        fields.put_string(client_public);
        fields.put_string(&reply.server_public);
        self.reply_and_finish(&ex, msg::KEX_ECDH_REPLY, &reply, &fields)
    }

    /// Computes the exchange hash over the common fields, the method's own
    /// `fields` and K; signs it; sends the reply (K_S, server public value,
    /// signature) as `reply_type`; then switches keys.
    fn reply_and_finish(
        &mut self,
        ex: &Exchange,
        reply_type: u8,
        reply: &KexReply,
        fields: &[u8],
    ) -> Result<(), ProtocolError> {
        let host_key = self.host_key(ex)?;
        let mut h = self.exchange_hasher(ex, host_key.public_blob());
        h.update(fields);
        h.update(reply.shared_secret.encoded());
        let hash = h.finish();
        let sig = host_key
            .sign(ex.neg.host_key, hash.as_ref())
            .map_err(|e| ProtocolError::new(format!("host key signing failed: {e}")))?;
        let mut p = Vec::with_capacity(
            64 + host_key.public_blob().len() + reply.server_public.len() + sig.len(),
        );
        p.put_u8(reply_type);
        p.put_string(host_key.public_blob());
        p.put_string(&reply.server_public);
        p.put_string(&sig);
        self.write_payload_now(&p);
        self.finish_exchange(ex, reply, hash.as_ref())
    }

    fn on_gex_request(&mut self, ex: Box<Exchange>, payload: &[u8]) -> Result<(), ProtocolError> {
        let mut r = Reader::new(&payload[1..]);
        let (min, preferred, max) = match payload[0] {
            msg::KEX_DH_GEX_REQUEST => (Some(r.u32()?), r.u32()?, Some(r.u32()?)),
            msg::KEX_DH_GEX_REQUEST_OLD => (None, r.u32()?, None),
            t => {
                return Err(ProtocolError::new(format!(
                    "unexpected group exchange message {t}"
                )))
            }
        };
        r.finish()?;
        let lo = min.unwrap_or(GEX_MIN_BITS).max(GEX_MIN_BITS);
        let hi = max.unwrap_or(GEX_MAX_BITS).min(GEX_MAX_BITS);
        if lo > hi || preferred > hi {
            return Err(ProtocolError::new("group exchange request out of range"));
        }
        let group = self
            .config
            .moduli
            .choose(lo, preferred.clamp(lo, hi), hi)
            .ok_or_else(|| ProtocolError::new("no Diffie-Hellman group of the requested size"))?
            .clone();
        let mut p = Vec::with_capacity(group.p_mpint().len() + 16);
        p.put_u8(msg::KEX_DH_GEX_GROUP);
        p.put_string(group.p_mpint());
        p.put_string(group.g_mpint());
        self.write_payload_now(&p);
        self.kex = KexState::GexGroupSent(
            ex,
            GexParams {
                min,
                preferred,
                max,
                group,
            },
        );
        Ok(())
    }

    fn on_gex_init(
        &mut self,
        ex: Box<Exchange>,
        params: GexParams,
        payload: &[u8],
    ) -> Result<(), ProtocolError> {
        let mut r = Reader::new(&payload[1..]);
        let e = r.string()?;
        r.finish()?;
        let reply = kexalg::gex_server_exchange(&params.group, e)
            .map_err(|err| ProtocolError::new(format!("key exchange failed: {err}")))?;
        // RFC 4419 §3: min, n, max (only n for the old request), p, g, e, f.
        let mut fields = Vec::with_capacity(2 * params.group.p_mpint().len() + 64);
        if let Some(min) = params.min {
            fields.put_u32(min);
        }
        fields.put_u32(params.preferred);
        if let Some(max) = params.max {
            fields.put_u32(max);
        }
        fields.put_string(params.group.p_mpint());
        fields.put_string(params.group.g_mpint());
        fields.put_string(e);
        fields.put_string(&reply.server_public);
        self.reply_and_finish(&ex, msg::KEX_DH_GEX_REPLY, &reply, &fields)
    }

    fn host_key(
        &self,
        ex: &Exchange,
    ) -> Result<std::sync::Arc<wharf_crypto::hostkey::HostKey>, ProtocolError> {
        self.config
            .host_key_for(ex.neg.host_key)
            .cloned()
            .ok_or_else(|| ProtocolError::new("negotiated host key is not loaded"))
    }

    /// Sends NEWKEYS, switches our direction to the new keys, and waits
    /// for the client's NEWKEYS to switch the other.
    fn finish_exchange(
        &mut self,
        ex: &Exchange,
        reply: &KexReply,
        hash: &[u8],
    ) -> Result<(), ProtocolError> {
        let first = self.session_id.is_none();
        let session_id = self.session_id.get_or_insert_with(|| hash.to_vec()).clone();
        let k = reply.shared_secret.encoded();
        let alg = ex.neg.kex.hash();
        let derive = |letter: u8, len: usize| derive_key(alg, k, hash, letter, &session_id, len);
        let n = &ex.neg;
        let iv_c2s = derive(b'A', n.cipher_c2s.iv_len());
        let iv_s2c = derive(b'B', n.cipher_s2c.iv_len());
        let key_c2s = derive(b'C', n.cipher_c2s.key_len());
        let key_s2c = derive(b'D', n.cipher_s2c.key_len());
        let mac_c2s = n.mac_c2s.map(|m| (m, derive(b'E', m.key_len())));
        let mac_s2c = n.mac_s2c.map(|m| (m, derive(b'F', m.key_len())));
        let opening = OpeningKey::new(
            n.cipher_c2s,
            &key_c2s,
            &iv_c2s,
            mac_c2s.as_ref().map(|(m, k)| (*m, &k[..])),
        )
        .map_err(|e| ProtocolError::new(format!("key setup failed: {e}")))?;
        let sealing = SealingKey::new(
            n.cipher_s2c,
            &key_s2c,
            &iv_s2c,
            mac_s2c.as_ref().map(|(m, k)| (*m, &k[..])),
        )
        .map_err(|e| ProtocolError::new(format!("key setup failed: {e}")))?;

        self.write_payload_now(&[msg::NEWKEYS]);
        self.encoder.set_key(sealing);
        if self.strict_kex {
            self.encoder.reset_seq();
        }
        if first && self.auth.client_wants_ext_info {
            self.send_ext_info();
        }
        self.kex = KexState::AwaitNewKeys {
            opening: Box::new(opening),
        };
        self.flush_deferred();
        Ok(())
    }

    /// RFC 8308: tells the client which signature algorithms we accept for
    /// user keys, so it signs RSA keys with SHA-2.
    fn send_ext_info(&mut self) {
        let algs = self.config.server_sig_algs();
        let mut p = Vec::with_capacity(128);
        p.put_u8(msg::EXT_INFO);
        p.put_u32(1);
        p.put_string(b"server-sig-algs");
        p.put_name_list(&algs);
        self.write_payload_now(&p);
    }
}

/// RFC 4253 §7.2: HASH(K || H || X || session_id), extended with
/// HASH(K || H || K1 || ...) until `len` bytes.
fn derive_key(
    alg: HashAlg,
    k: &[u8],
    h: &[u8],
    letter: u8,
    session_id: &[u8],
    len: usize,
) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::with_capacity(len + alg.output_len()));
    let mut first = Hasher::new(alg);
    first.update(k);
    first.update(h);
    first.update(&[letter]);
    first.update(session_id);
    out.extend_from_slice(first.finish().as_ref());
    while out.len() < len {
        let mut more = Hasher::new(alg);
        more.update(k);
        more.update(h);
        more.update(&out);
        out.extend_from_slice(more.finish().as_ref());
    }
    out.truncate(len);
    out
}
