//! Arbitrary unencrypted packets into a connection waiting for user
//! authentication. Pending decisions cycle through every kind of answer:
//! reject, accept, a partial success (a method chain), and a
//! keyboard-interactive prompt, so the INFO_RESPONSE parser is reached.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::sync::Arc;
use std::time::Instant;
use wharf_ssh::{AuthAttempt, AuthDecision, AuthMethod, Connection, Event, InfoRequest, ServerConfig};

fuzz_target!(|data: &[u8]| {
    let now = Instant::now();
    let mut config = ServerConfig::with_host_keys(Vec::new());
    config.auth_methods.push(AuthMethod::Hostbased);
    let mut conn = Connection::new_for_fuzzing(Arc::new(config), now, None);
    conn.handle_input(now, data);
    let mut turn = 0u32;
    while let Some(ev) = conn.poll_event() {
        if let Event::AuthRequest { attempt, .. } = ev {
            let decision = match (attempt, turn % 4) {
                (AuthAttempt::KeyboardInteractiveStart { .. }, _) => {
                    AuthDecision::InfoRequest(InfoRequest::password())
                }
                (_, 0) => AuthDecision::Reject,
                (_, 1) => AuthDecision::Partial {
                    next: vec![AuthMethod::Password, AuthMethod::KeyboardInteractive],
                },
                (_, 2) => AuthDecision::Reject,
                _ => AuthDecision::Accept,
            };
            conn.auth_decision(decision);
            turn += 1;
        }
    }
    conn.handle_timeout(now + std::time::Duration::from_secs(5));
});
