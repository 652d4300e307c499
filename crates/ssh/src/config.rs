//! What a server connection is configured with. Built once by the binary
//! and shared by every connection.

use std::sync::Arc;
use std::time::Duration;
use wharf_crypto::hostkey::{HostKey, SigAlg};
use wharf_crypto::kex::{KexAlg, Moduli};
use wharf_crypto::packet::{CipherAlg, MacAlg};

/// The authentication methods a server offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthMethod {
    Password,
    PublicKey,
    KeyboardInteractive,
    /// RFC 4252 §9; off unless configured.
    Hostbased,
}

impl AuthMethod {
    pub const ALL: &'static [AuthMethod] = &[
        AuthMethod::PublicKey,
        AuthMethod::Password,
        AuthMethod::KeyboardInteractive,
        AuthMethod::Hostbased,
    ];

    /// The method's wire name (RFC 4252, RFC 4256).
    pub fn name(self) -> &'static str {
        match self {
            AuthMethod::Password => "password",
            AuthMethod::PublicKey => "publickey",
            AuthMethod::KeyboardInteractive => "keyboard-interactive",
            AuthMethod::Hostbased => "hostbased",
        }
    }

    /// The method by its wire name, as OpenSSH's AuthenticationMethods
    /// spells it.
    pub fn from_name(name: &str) -> Option<Self> {
        AuthMethod::ALL.iter().copied().find(|m| m.name() == name)
    }
}

pub struct ServerConfig {
    /// The identification string, without the trailing CR LF.
    pub version: String,
    pub kex_algorithms: Vec<KexAlg>,
    /// Host key signature algorithms in preference order; only those a
    /// loaded host key can produce are offered.
    pub host_key_algorithms: Vec<SigAlg>,
    pub ciphers: Vec<CipherAlg>,
    pub macs: Vec<MacAlg>,
    /// Signature algorithms accepted for user public keys (server-sig-algs),
    /// and for hostbased authentication.
    pub pubkey_algorithms: Vec<SigAlg>,
    /// Algorithms whose OpenSSH certificate form is accepted for user
    /// authentication ("rsa-sha2-256-cert-v01@openssh.com" for
    /// `SigAlg::RsaSha256`, …); empty refuses certificates.
    pub pubkey_cert_algorithms: Vec<SigAlg>,
    /// Algorithms a certificate authority may sign certificates with
    /// (OpenSSH's CASignatureAlgorithms); ssh-rsa (SHA-1) only if listed.
    pub ca_signature_algorithms: Vec<SigAlg>,
    pub host_keys: Vec<Arc<HostKey>>,
    pub moduli: Arc<Moduli>,
    pub auth_methods: Vec<AuthMethod>,
    pub banner: Option<String>,
    pub max_auth_tries: u32,
    /// Time from connect to successful authentication; None: no limit.
    pub login_grace_time: Option<Duration>,
    pub auth_failure_delay: Duration,
    /// Rekey after this many bytes in either direction.
    pub rekey_limit: u64,
    pub rekey_interval: Option<Duration>,
    /// After this long without a packet from an authenticated client, send
    /// keepalive@openssh.com; after `client_alive_count_max` unanswered,
    /// disconnect (OpenSSH's ClientAliveInterval/CountMax).
    pub client_alive_interval: Option<Duration>,
    pub client_alive_count_max: u32,
    /// Disconnect after this long without any packet from the client.
    pub idle_timeout: Option<Duration>,
    /// Initial receive window and maximum packet we advertise per channel.
    pub channel_window: u32,
    /// The receive window grows, doubling, up to this for a client that
    /// keeps it full while the server keeps up: a path with a large
    /// bandwidth-delay product, sized as HPN-SSH does. Data waits in memory
    /// only while the server is slower than the client, so the cap bounds
    /// what one channel can make the server hold.
    pub channel_window_max: u32,
    pub channel_max_packet: u32,
    pub max_channels: usize,
}

impl ServerConfig {
    /// A configuration with every default, serving with `host_keys`.
    pub fn with_host_keys(host_keys: Vec<Arc<HostKey>>) -> Self {
        ServerConfig {
            version: format!("SSH-2.0-Wharf_{}", env!("CARGO_PKG_VERSION")),
            kex_algorithms: wharf_crypto::enabled_by_default(KexAlg::ALL, KexAlg::is_legacy),
            host_key_algorithms: wharf_crypto::enabled_by_default(SigAlg::ALL, SigAlg::is_legacy),
            ciphers: wharf_crypto::enabled_by_default(CipherAlg::ALL, CipherAlg::is_legacy),
            macs: wharf_crypto::enabled_by_default(MacAlg::ALL, MacAlg::is_legacy),
            pubkey_algorithms: wharf_crypto::enabled_by_default(SigAlg::ALL, SigAlg::is_legacy),
            pubkey_cert_algorithms: wharf_crypto::enabled_by_default(
                SigAlg::ALL,
                SigAlg::is_legacy,
            ),
            ca_signature_algorithms: wharf_crypto::enabled_by_default(
                SigAlg::ALL,
                SigAlg::is_legacy,
            ),
            host_keys,
            moduli: Arc::new(Moduli::builtin()),
            auth_methods: vec![
                AuthMethod::PublicKey,
                AuthMethod::Password,
                AuthMethod::KeyboardInteractive,
            ],
            banner: None,
            max_auth_tries: 6,
            login_grace_time: Some(Duration::from_secs(120)),
            auth_failure_delay: Duration::from_millis(300),
            rekey_limit: 1 << 30,
            rekey_interval: Some(Duration::from_secs(3600)),
            client_alive_interval: None,
            client_alive_count_max: 3,
            idle_timeout: None,
            channel_window: 16 * 1024 * 1024,
            channel_window_max: 64 * 1024 * 1024,
            channel_max_packet: 256 * 1024,
            max_channels: 16,
        }
    }

    /// What EXT_INFO's server-sig-algs lists (RFC 8308 §3.1): the plain
    /// algorithms, then the certificate ones accepted.
    pub fn server_sig_algs(&self) -> Vec<&'static str> {
        let plain = self.pubkey_algorithms.iter().map(|a| a.name());
        let certs = self.pubkey_cert_algorithms.iter().map(|a| a.cert_name());
        plain.chain(certs).collect()
    }

    /// The host key that signs with `alg`, if one is loaded.
    pub fn host_key_for(&self, alg: SigAlg) -> Option<&Arc<HostKey>> {
        self.host_keys.iter().find(|k| k.sig_algs().contains(&alg))
    }
}
