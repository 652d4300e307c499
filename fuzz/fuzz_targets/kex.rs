//! A fresh server connection fed arbitrary bytes after a valid version
//! line: exercises KEXINIT parsing, negotiation and the key-exchange
//! method messages (in the clear, as in the first exchange).
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::sync::{Arc, OnceLock};
use std::time::Instant;
use wharf_crypto::hostkey::{HostKey, KeyKind};
use wharf_ssh::{Connection, ServerConfig};

fn config() -> Arc<ServerConfig> {
    static CONFIG: OnceLock<Arc<ServerConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let key = HostKey::generate(KeyKind::Ed25519).expect("generate host key");
            Arc::new(ServerConfig::with_host_keys(vec![Arc::new(key)]))
        })
        .clone()
}

fuzz_target!(|data: &[u8]| {
    let now = Instant::now();
    let mut conn = Connection::new(config(), now);
    conn.handle_input(now, b"SSH-2.0-fuzz\r\n");
    conn.handle_input(now, data);
    while conn.poll_event().is_some() {}
});
