//! KEXINIT construction and algorithm negotiation (RFC 4253 §7.1).

use crate::config::ServerConfig;
use crate::msg;
use crate::wire::{Reader, WireError, WriteExt};
use wharf_crypto::hostkey::SigAlg;
use wharf_crypto::kex::KexAlg;
use wharf_crypto::packet::{CipherAlg, MacAlg};

pub const STRICT_KEX_SERVER: &str = "kex-strict-s-v00@openssh.com";
pub const STRICT_KEX_CLIENT: &str = "kex-strict-c-v00@openssh.com";
pub const EXT_INFO_CLIENT: &str = "ext-info-c";

/// What both sides agreed on for one key exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Negotiated {
    pub kex: KexAlg,
    pub host_key: SigAlg,
    pub cipher_c2s: CipherAlg,
    pub cipher_s2c: CipherAlg,
    /// None when the cipher is an AEAD.
    pub mac_c2s: Option<MacAlg>,
    pub mac_s2c: Option<MacAlg>,
}

/// What the client's KEXINIT told us besides the algorithms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientFlags {
    pub strict_kex: bool,
    pub ext_info: bool,
    /// first_kex_packet_follows was set and the guess was wrong, so the
    /// next key-exchange packet must be ignored.
    pub ignore_guessed_packet: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum NegotiationError {
    #[error("no matching {0} algorithm (client offered: {1})")]
    NoMatch(&'static str, String),
    #[error(transparent)]
    Wire(#[from] WireError),
}

/// Builds the server's KEXINIT payload. `first` adds the strict-kex marker,
/// which is only meaningful in the first key exchange.
pub fn server_kexinit(config: &ServerConfig, first: bool) -> Vec<u8> {
    let mut p = Vec::with_capacity(512);
    p.put_u8(msg::KEXINIT);
    let mut cookie = [0u8; 16];
    wharf_crypto::random::fill(&mut cookie);
    p.extend_from_slice(&cookie);
    let mut kex: Vec<&str> = config.kex_algorithms.iter().map(|a| a.name()).collect();
    // RFC 8308: a server may advertise "ext-info-s"; OpenSSH clients send
    // ext-info-c regardless. We advertise strict kex in every KEXINIT as
    // OpenSSH does; it only takes effect in the first.
    let _ = first;
    kex.push(STRICT_KEX_SERVER);
    p.put_name_list(&kex);
    let host_keys: Vec<&str> = offered_host_key_algs(config).map(|a| a.name()).collect();
    p.put_name_list(&host_keys);
    let ciphers: Vec<&str> = config.ciphers.iter().map(|a| a.name()).collect();
    p.put_name_list(&ciphers);
    p.put_name_list(&ciphers);
    let macs: Vec<&str> = config.macs.iter().map(|a| a.name()).collect();
    p.put_name_list(&macs);
    p.put_name_list(&macs);
    p.put_name_list(&["none"]);
    p.put_name_list(&["none"]);
    p.put_name_list::<&str>(&[]);
    p.put_name_list::<&str>(&[]);
    p.put_bool(false);
    p.put_u32(0);
    p
}

fn offered_host_key_algs(config: &ServerConfig) -> impl Iterator<Item = SigAlg> + '_ {
    config
        .host_key_algorithms
        .iter()
        .copied()
        .filter(|&a| config.host_key_for(a).is_some())
}

/// Negotiates from the client's KEXINIT payload (including the message
/// number byte).
pub fn negotiate(
    config: &ServerConfig,
    client_kexinit: &[u8],
) -> Result<(Negotiated, ClientFlags), NegotiationError> {
    let mut r = Reader::new(client_kexinit);
    r.u8()?;
    r.take(16)?;
    let kex = r.name_list()?;
    let host_key = r.name_list()?;
    let enc_c2s = r.name_list()?;
    let enc_s2c = r.name_list()?;
    let mac_c2s = r.name_list()?;
    let mac_s2c = r.name_list()?;
    let comp_c2s = r.name_list()?;
    let comp_s2c = r.name_list()?;
    let _lang_c2s = r.name_list()?;
    let _lang_s2c = r.name_list()?;
    let first_kex_packet_follows = r.bool()?;
    let _reserved = r.u32()?;
    // Trailing bytes after KEXINIT are tolerated, as OpenSSH does.

    let pick = |what: &'static str,
                client: crate::wire::NameList<'_>,
                server: &mut dyn Iterator<Item = &'static str>|
     -> Result<&'static str, NegotiationError> {
        let server: Vec<&'static str> = server.collect();
        client
            .iter()
            .find_map(|c| server.iter().find(|&&s| s == c).copied())
            .ok_or_else(|| NegotiationError::NoMatch(what, client.0.to_string()))
    };

    let kex_name = pick(
        "key exchange",
        kex,
        &mut config.kex_algorithms.iter().map(|a| a.name()),
    )?;
    let kex_alg = KexAlg::from_name(kex_name)
        .ok_or_else(|| NegotiationError::NoMatch("key exchange", kex.0.into()))?;
    let hk_name = pick(
        "host key",
        host_key,
        &mut offered_host_key_algs(config).map(|a| a.name()),
    )?;
    let hk_alg = SigAlg::from_name(hk_name)
        .ok_or_else(|| NegotiationError::NoMatch("host key", host_key.0.into()))?;
    let cipher = |list| -> Result<CipherAlg, NegotiationError> {
        let n = pick("cipher", list, &mut config.ciphers.iter().map(|a| a.name()))?;
        CipherAlg::from_name(n).ok_or_else(|| NegotiationError::NoMatch("cipher", n.into()))
    };
    let cipher_c2s = cipher(enc_c2s)?;
    let cipher_s2c = cipher(enc_s2c)?;
    let mac = |list, cipher: CipherAlg| -> Result<Option<MacAlg>, NegotiationError> {
        if cipher.is_aead() {
            return Ok(None);
        }
        let n = pick("MAC", list, &mut config.macs.iter().map(|a| a.name()))?;
        Ok(Some(MacAlg::from_name(n).ok_or_else(|| {
            NegotiationError::NoMatch("MAC", n.into())
        })?))
    };
    let mac_c2s = mac(mac_c2s, cipher_c2s)?;
    let mac_s2c = mac(mac_s2c, cipher_s2c)?;
    pick("compression", comp_c2s, &mut ["none"].into_iter())?;
    pick("compression", comp_s2c, &mut ["none"].into_iter())?;

    // RFC 4253 §7: the guess is right if the first kex and host key
    // algorithms on the client's lists are the ones negotiated.
    let guess_right =
        kex.iter().next() == Some(kex_name) && host_key.iter().next() == Some(hk_name);
    let flags = ClientFlags {
        strict_kex: kex.contains(STRICT_KEX_CLIENT),
        ext_info: kex.contains(EXT_INFO_CLIENT),
        ignore_guessed_packet: first_kex_packet_follows && !guess_right,
    };
    Ok((
        Negotiated {
            kex: kex_alg,
            host_key: hk_alg,
            cipher_c2s,
            cipher_s2c,
            mac_c2s,
            mac_s2c,
        },
        flags,
    ))
}
