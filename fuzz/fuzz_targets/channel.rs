//! Arbitrary unencrypted packets into an authenticated connection:
//! channel opens, requests, data, window adjusts, EOF and close, with the
//! driver's commands issued in response.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::sync::Arc;
use std::time::Instant;
use wharf_ssh::{Connection, Event, ServerConfig};

fuzz_target!(|data: &[u8]| {
    let now = Instant::now();
    let config = Arc::new(ServerConfig::with_host_keys(Vec::new()));
    let mut conn = Connection::new_for_fuzzing(config, now, Some("fuzz"));
    conn.handle_input(now, data);
    while let Some(ev) = conn.poll_event() {
        match ev {
            Event::ChannelRequest { channel, .. } => {
                conn.channel_request_reply(channel, true);
                conn.channel_send(channel, b"reply");
            }
            Event::ChannelData { channel } => {
                let mut data = Vec::new();
                let n = conn.channel_take_data(channel, &mut data);
                conn.channel_consumed(channel, n);
                conn.channel_send_stderr(channel, &data);
            }
            Event::ChannelEof { channel } => {
                conn.channel_exit_status(channel, 0);
                conn.channel_eof(channel);
                conn.channel_close(channel);
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    conn.take_output(&mut out);
});
