//! Arbitrary unencrypted packets into a connection waiting for user
//! authentication; pending decisions are answered alternately.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::sync::Arc;
use std::time::Instant;
use wharf_ssh::{Connection, Event, ServerConfig};

fuzz_target!(|data: &[u8]| {
    let now = Instant::now();
    let config = Arc::new(ServerConfig::with_host_keys(Vec::new()));
    let mut conn = Connection::new_for_fuzzing(config, now, None);
    conn.handle_input(now, data);
    let mut accept = false;
    while let Some(ev) = conn.poll_event() {
        if let Event::AuthRequest { .. } = ev {
            conn.auth_decision(accept);
            accept = !accept;
        }
    }
    conn.handle_timeout(now + std::time::Duration::from_secs(5));
});
