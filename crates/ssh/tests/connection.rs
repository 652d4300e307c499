//! The server core driven end to end by an in-process client: key
//! exchange with each protection mode, strict kex, authentication limits
//! and delays, channels and flow control, rekeying, and hostile input.

mod support;

use std::time::Duration;
use support::{config, Client};
use wharf_crypto::hostkey::{HostKey, KeyKind, SigAlg};
use wharf_crypto::packet::{CipherAlg, MacAlg};
use wharf_ssh::wire::{Reader, WriteExt};
use wharf_ssh::{msg, AuthAttempt, ChannelId, Event};

fn disconnect_reason(c: &mut Client) -> u32 {
    assert!(c.is_disconnected(), "server should have disconnected");
    c.conn.closed().unwrap().code
}

#[test]
fn login_works_with_every_protection_mode() {
    let modes = [
        (CipherAlg::Aes128Gcm, None),
        (CipherAlg::Aes256Gcm, None),
        (CipherAlg::Chacha20Poly1305, None),
        (CipherAlg::Aes128Ctr, Some(MacAlg::HmacSha256)),
        (CipherAlg::Aes256Ctr, Some(MacAlg::HmacSha512Etm)),
        (CipherAlg::Aes192Ctr, Some(MacAlg::HmacSha1)),
    ];
    for (cipher, mac) in modes {
        let mut c = Client::new(config());
        c.cipher = cipher;
        c.mac = mac;
        c.login();
        let id = c.open_session(1 << 20, 32768);
        let mut req = vec![msg::CHANNEL_REQUEST];
        req.put_u32(id);
        req.put_string(b"subsystem");
        req.put_bool(true);
        req.put_string(b"sftp");
        c.send(&req);
        assert!(
            c.events
                .iter()
                .any(|e| matches!(e, Event::ChannelRequest { .. })),
            "{cipher:?}"
        );
        assert!(!c.is_disconnected());
    }
}

#[test]
fn ext_info_lists_server_sig_algs_after_first_newkeys() {
    let mut c = Client::new(config());
    c.handshake();
    let p = c.recv().expect("EXT_INFO follows NEWKEYS");
    assert_eq!(p[0], msg::EXT_INFO);
    let mut r = Reader::new(&p[1..]);
    assert_eq!(r.u32().unwrap(), 1);
    assert_eq!(r.string().unwrap(), b"server-sig-algs");
    let algs = r.name_list().unwrap();
    assert!(algs.contains("ssh-ed25519") && algs.contains("rsa-sha2-512"));
    assert!(
        !algs.contains("ssh-rsa"),
        "SHA-1 signatures are off by default"
    );
}

#[test]
fn strict_kex_refuses_a_packet_before_kexinit() {
    // Terrapin: an IGNORE slipped in before KEXINIT shifts sequence numbers.
    let mut c = Client::new(config());
    c.send_raw(format!("{}\r\n", support::CLIENT_VERSION).as_bytes());
    c.send(&[msg::IGNORE, 0, 0, 0, 0]);
    let init = c.kexinit();
    c.send(&init);
    assert_eq!(disconnect_reason(&mut c), msg::reason::PROTOCOL_ERROR);
}

#[test]
fn without_strict_kex_an_early_ignore_is_fine() {
    let mut c = Client::new(config());
    c.strict = false;
    c.send_raw(format!("{}\r\n", support::CLIENT_VERSION).as_bytes());
    let server_init = c.expect(msg::KEXINIT);
    c.send(&[msg::IGNORE, 0, 0, 0, 0]);
    let init = c.kexinit();
    c.send(&init);
    c.key_exchange(init, server_init);
    c.request_userauth_service();
}

#[test]
fn a_failed_password_is_answered_only_after_the_delay() {
    let mut c = Client::new(config());
    c.handshake();
    c.request_userauth_service();
    c.send(&Client::password_request("alice", "wrong"));
    match c.take_auth_request() {
        Some((user, AuthAttempt::Password(pw))) => {
            assert_eq!(user, "alice");
            assert_eq!(pw.as_str(), "wrong");
        }
        other => panic!("{other:?}"),
    }
    c.conn.auth_decision(false);
    assert!(c.recv().is_none(), "failure must be held back");
    // Input during the delay is not processed yet either.
    c.send(&Client::password_request("alice", "again"));
    assert!(c.take_auth_request().is_none());
    c.advance(Duration::from_millis(499));
    assert!(c.recv().is_none());
    c.advance(Duration::from_millis(1));
    let f = c.expect(msg::USERAUTH_FAILURE);
    let mut r = Reader::new(&f[1..]);
    assert!(r.name_list().unwrap().contains("password"));
    // Now the second attempt is processed.
    assert!(c.take_auth_request().is_some());
}

#[test]
fn too_many_failures_disconnect() {
    let mut cfg = config();
    cfg.max_auth_tries = 3;
    cfg.auth_failure_delay = Duration::ZERO;
    let mut c = Client::new(cfg);
    c.handshake();
    c.request_userauth_service();
    for i in 0..3 {
        c.send(&Client::password_request("alice", "wrong"));
        assert!(c.take_auth_request().is_some(), "attempt {i}");
        c.conn.auth_decision(false);
        if i < 2 {
            c.expect(msg::USERAUTH_FAILURE);
        }
    }
    assert_eq!(
        disconnect_reason(&mut c),
        msg::reason::NO_MORE_AUTH_METHODS_AVAILABLE
    );
}

#[test]
fn login_grace_time_ends_an_unauthenticated_connection() {
    let mut cfg = config();
    cfg.login_grace_time = Some(Duration::from_secs(10));
    let mut c = Client::new(cfg);
    c.handshake();
    assert!(c.conn.poll_timeout().is_some());
    c.advance(Duration::from_secs(9));
    assert!(!c.is_disconnected());
    c.advance(Duration::from_secs(1));
    assert!(c.is_disconnected());
}

#[test]
fn changing_the_user_name_mid_authentication_is_refused() {
    let mut cfg = config();
    cfg.auth_failure_delay = Duration::ZERO;
    let mut c = Client::new(cfg);
    c.handshake();
    c.request_userauth_service();
    c.send(&Client::password_request("alice", "x"));
    c.take_auth_request().unwrap();
    c.conn.auth_decision(false);
    c.expect(msg::USERAUTH_FAILURE);
    c.send(&Client::password_request("root", "x"));
    assert_eq!(disconnect_reason(&mut c), msg::reason::PROTOCOL_ERROR);
}

#[test]
fn publickey_query_then_signed_request() {
    let user_key = HostKey::generate(KeyKind::Ed25519).unwrap();
    let mut c = Client::new(config());
    c.handshake();
    c.request_userauth_service();
    let blob = user_key.public_blob().to_vec();
    let mut q = vec![msg::USERAUTH_REQUEST];
    q.put_string(b"bob");
    q.put_string(b"ssh-connection");
    q.put_string(b"publickey");
    q.put_bool(false);
    q.put_string(b"ssh-ed25519");
    q.put_string(&blob);
    c.send(&q);
    match c.take_auth_request() {
        Some((
            _,
            AuthAttempt::PublicKey {
                signed: false, alg, ..
            },
        )) => assert_eq!(alg, SigAlg::Ed25519),
        other => panic!("{other:?}"),
    }
    c.conn.auth_decision(true);
    let ok = c.expect(msg::USERAUTH_PK_OK);
    assert!(ok.ends_with(&blob));

    let mut signed_data = Vec::new();
    signed_data.put_string(&c.session_id);
    signed_data.put_u8(msg::USERAUTH_REQUEST);
    signed_data.put_string(b"bob");
    signed_data.put_string(b"ssh-connection");
    signed_data.put_string(b"publickey");
    signed_data.put_bool(true);
    signed_data.put_string(b"ssh-ed25519");
    signed_data.put_string(&blob);
    let sig = user_key.sign(SigAlg::Ed25519, &signed_data).unwrap();
    let mut s = signed_data[4 + c.session_id.len()..].to_vec();
    s.put_string(&sig);
    c.send(&s);
    match c.take_auth_request() {
        Some((user, AuthAttempt::PublicKey { signed: true, .. })) => assert_eq!(user, "bob"),
        other => panic!("{other:?}"),
    }
    c.conn.auth_decision(true);
    c.expect(msg::USERAUTH_SUCCESS);
    assert_eq!(c.conn.user(), Some("bob"));
}

#[test]
fn a_bad_signature_is_a_failed_attempt_without_asking_the_driver() {
    let user_key = HostKey::generate(KeyKind::Ed25519).unwrap();
    let mut cfg = config();
    cfg.auth_failure_delay = Duration::ZERO;
    let mut c = Client::new(cfg);
    c.handshake();
    c.request_userauth_service();
    let mut s = vec![msg::USERAUTH_REQUEST];
    s.put_string(b"bob");
    s.put_string(b"ssh-connection");
    s.put_string(b"publickey");
    s.put_bool(true);
    s.put_string(b"ssh-ed25519");
    s.put_string(user_key.public_blob());
    // Signed over the wrong data.
    s.put_string(&user_key.sign(SigAlg::Ed25519, b"not the session").unwrap());
    c.send(&s);
    assert!(c.take_auth_request().is_none());
    c.expect(msg::USERAUTH_FAILURE);
}

#[test]
fn connection_messages_before_authentication_are_a_protocol_error() {
    let mut c = Client::new(config());
    c.handshake();
    c.request_userauth_service();
    let mut p = vec![msg::CHANNEL_OPEN];
    p.put_string(b"session");
    p.put_u32(0);
    p.put_u32(1000);
    p.put_u32(1000);
    c.send(&p);
    assert_eq!(disconnect_reason(&mut c), msg::reason::PROTOCOL_ERROR);
}

#[test]
fn a_corrupted_packet_is_a_mac_error() {
    let mut c = Client::new(config());
    c.handshake();
    let mut wire = Vec::new();
    let mut enc = wharf_ssh::codec::Encoder::new();
    // A packet sealed with no keys is garbage under the real keys.
    enc.write_packet(&mut wire, |o| {
        o.extend_from_slice(&[msg::IGNORE, 0, 0, 0, 0, 0, 0, 0])
    });
    wire[0] = 0;
    wire[1] = 0;
    wire[2] = 0;
    wire[3] = 12;
    c.send_raw(&wire);
    c.send_raw(&[0u8; 64]);
    assert!(c.is_disconnected());
}

#[test]
fn oversize_lengths_and_garbage_versions_disconnect() {
    let mut c = Client::new(config());
    c.send_raw(b"SSH-2.0-x\r\n");
    c.send_raw(&[0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0]);
    assert!(c.is_disconnected());

    let mut c = Client::new(config());
    c.send_raw(b"GET / HTTP/1.1\r\n\r\n");
    assert!(c.is_disconnected());

    let mut c = Client::new(config());
    c.send_raw(&[b'A'; 300]);
    assert!(c.is_disconnected());

    let mut c = Client::new(config());
    c.send_raw(b"SSH-1.5-old\r\n");
    assert!(c.is_disconnected());
}

#[test]
fn unknown_messages_get_unimplemented_and_keepalives_a_failure() {
    let mut c = Client::new(config());
    c.login();
    c.send(&[200, 1, 2, 3]);
    let u = c.expect(msg::UNIMPLEMENTED);
    assert_eq!(u.len(), 5);
    let mut g = vec![msg::GLOBAL_REQUEST];
    g.put_string(b"keepalive@openssh.com");
    g.put_bool(true);
    c.send(&g);
    c.expect(msg::REQUEST_FAILURE);
    assert!(!c.is_disconnected());
}

#[test]
fn pty_and_forwarding_are_refused_but_the_channel_stays() {
    let mut c = Client::new(config());
    c.login();
    let id = c.open_session(1 << 20, 32768);
    let mut pty = vec![msg::CHANNEL_REQUEST];
    pty.put_u32(id);
    pty.put_string(b"pty-req");
    pty.put_bool(true);
    pty.put_string(b"xterm");
    pty.put_u32(80);
    pty.put_u32(24);
    pty.put_u32(0);
    pty.put_u32(0);
    pty.put_string(b"");
    c.send(&pty);
    c.expect(msg::CHANNEL_FAILURE);
    let mut fwd = vec![msg::CHANNEL_OPEN];
    fwd.put_string(b"direct-tcpip");
    fwd.put_u32(9);
    fwd.put_u32(1000);
    fwd.put_u32(1000);
    fwd.put_string(b"127.0.0.1");
    fwd.put_u32(22);
    fwd.put_string(b"127.0.0.1");
    fwd.put_u32(5555);
    c.send(&fwd);
    let f = c.expect(msg::CHANNEL_OPEN_FAILURE);
    let mut r = Reader::new(&f[1..]);
    assert_eq!(r.u32().unwrap(), 9);
    assert_eq!(
        r.u32().unwrap(),
        msg::open_failure::ADMINISTRATIVELY_PROHIBITED
    );
    assert!(std::str::from_utf8(r.string().unwrap())
        .unwrap()
        .contains("forwarding"));
}

#[test]
fn channel_output_respects_the_client_window_and_max_packet() {
    let mut c = Client::new(config());
    c.login();
    let id = c.open_session(10_000, 4096);
    let ch = ChannelId(id);
    let data = vec![0xabu8; 25_000];
    let sent = c.conn.channel_send(ch, &data);
    assert_eq!(sent, 10_000);
    assert_eq!(received_data(&mut c, 7, 4096).len(), 10_000);
    assert_eq!(c.conn.channel_send(ch, &data[sent..]), 0);
    let mut adj = vec![msg::CHANNEL_WINDOW_ADJUST];
    adj.put_u32(id);
    adj.put_u32(20_000);
    c.send(&adj);
    assert!(c
        .events
        .iter()
        .any(|e| matches!(e, Event::ChannelWritable { .. })));
    assert_eq!(c.conn.channel_send(ch, &data[sent..]), 15_000);
}

/// Reads every CHANNEL_DATA packet the client has, checking each against
/// the maximum packet size, and returns the data.
fn received_data(c: &mut Client, id: u32, max_packet: usize) -> Vec<u8> {
    let mut got = Vec::new();
    while let Some(p) = c.recv() {
        assert_eq!(p[0], msg::CHANNEL_DATA);
        let mut r = Reader::new(&p[1..]);
        assert_eq!(r.u32().unwrap(), id);
        let d = r.string().unwrap();
        assert!(d.len() <= max_packet);
        got.extend_from_slice(d);
    }
    got
}

#[test]
fn data_filled_in_place_spans_packets_and_respects_the_window() {
    let mut c = Client::new(config());
    c.login();
    let id = c.open_session(20_000, 4096);
    let ch = ChannelId(id);
    // More than the window: refused without calling the filler.
    assert_eq!(
        c.conn
            .channel_send_in_place(ch, 20_001, |_| unreachable!("refused sends do not fill")),
        None
    );
    assert_eq!(c.conn.channel_window_peak(ch), 20_000);
    let pattern: Vec<u8> = (0..10_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let sent = c.conn.channel_send_in_place(ch, 10_000, |areas| {
        assert!(areas.len() >= 3, "10,000 bytes in packets of at most 4096");
        let mut at = 0;
        for area in areas.iter_mut() {
            let n = area.len();
            assert!(n <= 4096);
            area.copy_from_slice(&pattern[at..at + n]);
            at += n;
        }
        at
    });
    assert_eq!(sent, Some(10_000));
    assert_eq!(received_data(&mut c, 7, 4096), pattern);
    // A filler that writes less than it was offered: only that is sent,
    // and only that leaves the window.
    let sent = c.conn.channel_send_in_place(ch, 9_000, |areas| {
        areas[0][..100].fill(1);
        100
    });
    assert_eq!(sent, Some(100));
    assert_eq!(received_data(&mut c, 7, 4096), vec![1u8; 100]);
    assert_eq!(c.conn.channel_send_capacity(ch), 9_900);
    // Nothing written: nothing sent, not even an empty packet.
    assert_eq!(c.conn.channel_send_in_place(ch, 500, |_| 0), Some(0));
    assert!(c.recv().is_none());
    // Packets sent in place and by copy interleave in order.
    c.conn.channel_send(ch, b"abc");
    c.conn.channel_send_in_place(ch, 3, |areas| {
        areas[0].copy_from_slice(b"def");
        3
    });
    c.conn.channel_send(ch, b"ghi");
    assert_eq!(received_data(&mut c, 7, 4096), b"abcdefghi");
}

#[test]
fn a_key_exchange_is_in_progress_from_kexinit_until_it_completes() {
    let mut c = Client::new(config());
    assert!(c.conn.key_exchange_in_progress(), "the first one");
    c.login();
    assert!(!c.conn.key_exchange_in_progress());
    let init = c.kexinit();
    c.send(&init);
    assert!(c.conn.key_exchange_in_progress());
}

#[test]
fn the_transmit_buffer_is_reused_for_a_while_then_freed() {
    let mut c = Client::new(config());
    c.login();
    let id = c.open_session(1 << 20, 32_768);
    let ch = ChannelId(id);
    // A large reservation used for a small reply (a READ of a small file).
    let sent = c.conn.channel_send_in_place(ch, 200_000, |areas| {
        areas[0][..10].fill(3);
        10
    });
    assert_eq!(sent, Some(10));
    assert_eq!(received_data(&mut c, 7, 32_768), vec![3u8; 10]);
    let held = c.conn.buffered_capacity();
    assert!(held >= 200_000, "the reservation's bytes are kept: {held}");
    // The next one within the keep time reuses them.
    c.advance(Duration::from_millis(500));
    c.conn.channel_send_in_place(ch, 200_000, |_| 0);
    c.conn.channel_send(ch, b"x");
    assert_eq!(received_data(&mut c, 7, 32_768), b"x");
    assert_eq!(c.conn.buffered_capacity(), held);
    // A second after the last drain, an idle connection lets them go.
    let wake = c.conn.poll_timeout().expect("a release is scheduled");
    assert!(wake <= c.now + Duration::from_secs(1));
    c.advance(wake - c.now);
    assert!(
        c.conn.buffered_capacity() < 64 * 1024,
        "{}",
        c.conn.buffered_capacity()
    );
}

#[test]
fn client_data_beyond_the_window_is_a_protocol_error() {
    let mut cfg = config();
    cfg.channel_window = 1000;
    cfg.channel_max_packet = 1000;
    let mut c = Client::new(cfg);
    c.login();
    let id = c.open_session(1 << 20, 32768);
    let mut d = vec![msg::CHANNEL_DATA];
    d.put_u32(id);
    d.put_string(&[1u8; 600]);
    c.send(&d);
    assert!(!c.is_disconnected());
    c.send(&d);
    assert_eq!(disconnect_reason(&mut c), msg::reason::PROTOCOL_ERROR);
}

#[test]
fn consuming_input_reopens_the_window() {
    let mut cfg = config();
    cfg.channel_window = 1000;
    cfg.channel_max_packet = 1000;
    let mut c = Client::new(cfg);
    c.login();
    let id = c.open_session(1 << 20, 32768);
    let mut d = vec![msg::CHANNEL_DATA];
    d.put_u32(id);
    d.put_string(&[1u8; 600]);
    c.send(&d);
    c.conn.channel_consumed(ChannelId(id), 600);
    let adj = c.expect(msg::CHANNEL_WINDOW_ADJUST);
    let mut r = Reader::new(&adj[1..]);
    assert_eq!(r.u32().unwrap(), 7);
    assert_eq!(r.u32().unwrap(), 600);
    c.send(&d);
    assert!(!c.is_disconnected());
}

/// A logged-in client with a session channel whose window starts at 8000
/// bytes and may grow to `window_max`; returns it with the channel's id.
fn window_test_client(window_max: u32) -> (Client, u32) {
    let mut cfg = config();
    cfg.channel_window = 8000;
    cfg.channel_window_max = window_max;
    cfg.channel_max_packet = 8000;
    let mut c = Client::new(cfg);
    c.login();
    let id = c.open_session(1 << 20, 32768);
    (c, id)
}

/// Sends `n` bytes of CHANNEL_DATA on channel `id`.
fn send_channel_data(c: &mut Client, id: u32, n: usize) {
    let mut d = vec![msg::CHANNEL_DATA];
    d.put_u32(id);
    d.put_string(&vec![1u8; n]);
    c.send(&d);
}

/// The bytes added by the WINDOW_ADJUST the server must have sent (to the
/// client's channel 7).
fn expect_window_adjust(c: &mut Client) -> u32 {
    let adj = c.expect(msg::CHANNEL_WINDOW_ADJUST);
    let mut r = Reader::new(&adj[1..]);
    assert_eq!(r.u32().unwrap(), 7);
    r.u32().unwrap()
}

#[test]
fn the_window_grows_for_a_client_held_back_by_it_and_only_then() {
    let (mut c, id) = window_test_client(20_000);
    let ch = ChannelId(id);
    let data = |c: &mut Client, n: usize| send_channel_data(c, id, n);
    let adjust = expect_window_adjust;
    let mut buf = Vec::new();
    // A client that used a little of its window: given back, not grown.
    data(&mut c, 1000);
    c.conn.channel_take_data(ch, &mut buf);
    c.conn.channel_consumed(ch, 1000);
    assert_eq!(adjust(&mut c), 1000);
    // One that used nearly all of it, all taken: 8000 -> 16,000.
    data(&mut c, 7000);
    c.conn.channel_take_data(ch, &mut buf);
    c.conn.channel_consumed(ch, 7000);
    assert_eq!(adjust(&mut c), 7000 + 8000);
    // The whole of the new window can be sent.
    data(&mut c, 8000);
    data(&mut c, 7500);
    assert!(!c.is_disconnected());
    // Held back, but we are behind (most of it still waits in the inbox):
    // given back without growing.
    c.conn.channel_consumed(ch, 2000);
    assert_eq!(adjust(&mut c), 2000);
    // Caught up: grows again, to the cap of 20,000 (not 32,000).
    c.conn.channel_take_data(ch, &mut buf);
    c.conn.channel_consumed(ch, 13_500);
    assert_eq!(adjust(&mut c), 13_500 + 4000);
}

#[test]
fn the_window_grows_to_the_transport_receive_buffer_while_we_keep_up() {
    let (mut c, id) = window_test_client(30_000);
    let ch = ChannelId(id);
    let data = |c: &mut Client, n: usize| send_channel_data(c, id, n);
    let adjust = expect_window_adjust;
    let mut buf = Vec::new();
    // A buffer smaller than the window changes nothing.
    c.conn.set_transport_receive_buffer(5000);
    data(&mut c, 1000);
    c.conn.channel_take_data(ch, &mut buf);
    c.conn.channel_consumed(ch, 1000);
    assert_eq!(adjust(&mut c), 1000);
    // The kernel grew the buffer: the window follows, though the client
    // used only an eighth of it (on a long path the rest is in flight).
    c.conn.set_transport_receive_buffer(12_000);
    data(&mut c, 1000);
    c.conn.channel_take_data(ch, &mut buf);
    c.conn.channel_consumed(ch, 1000);
    assert_eq!(adjust(&mut c), 1000 + 4000);
    // The client may now have 12,000 outstanding.
    data(&mut c, 8000);
    data(&mut c, 4000);
    assert!(!c.is_disconnected());
    // Behind (the data still waits): no growth, whatever the buffer.
    c.conn.set_transport_receive_buffer(100_000);
    c.conn.channel_consumed(ch, 1500);
    assert_eq!(adjust(&mut c), 1500);
    // Caught up: grows to the buffer, but not past the cap.
    c.conn.channel_take_data(ch, &mut buf);
    c.conn.channel_consumed(ch, 10_500);
    assert_eq!(adjust(&mut c), 10_500 + 18_000);
}

#[test]
fn channel_data_waits_in_the_inbox_until_taken_in_order() {
    let mut c = Client::new(config());
    c.login();
    let id = c.open_session(1 << 20, 32768);
    c.events.clear();
    let send = |c: &mut Client, bytes: &[u8]| {
        let mut d = vec![msg::CHANNEL_DATA];
        d.put_u32(id);
        d.put_string(bytes);
        c.send(&d);
    };
    send(&mut c, b"first ");
    send(&mut c, b"second ");
    // One event for the first data into an empty inbox, none for the rest.
    let events = std::mem::take(&mut c.events);
    assert_eq!(events.len(), 1, "{events:?}");
    assert!(matches!(events[0], Event::ChannelData { channel } if channel == ChannelId(id)));
    assert_eq!(c.conn.channel_pending_data(ChannelId(id)), 13);
    // Taken into an empty buffer (a swap), then appended to a non-empty one.
    let mut buf = Vec::new();
    assert_eq!(c.conn.channel_take_data(ChannelId(id), &mut buf), 13);
    send(&mut c, b"third");
    let events = std::mem::take(&mut c.events);
    assert!(
        matches!(events[..], [Event::ChannelData { .. }]),
        "{events:?}"
    );
    assert_eq!(c.conn.channel_take_data(ChannelId(id), &mut buf), 5);
    assert_eq!(buf, b"first second third");
    assert_eq!(c.conn.channel_pending_data(ChannelId(id)), 0);
    assert_eq!(c.conn.channel_take_data(ChannelId(id), &mut buf), 0);
    // Unknown channels give nothing.
    assert_eq!(c.conn.channel_take_data(ChannelId(9), &mut buf), 0);
    // A limited take leaves the rest, in order.
    send(&mut c, b"0123456789");
    let mut part = Vec::new();
    assert_eq!(
        c.conn.channel_take_data_up_to(ChannelId(id), &mut part, 4),
        4
    );
    assert_eq!(c.conn.channel_pending_data(ChannelId(id)), 6);
    assert_eq!(
        c.conn
            .channel_take_data_up_to(ChannelId(id), &mut part, 100),
        6
    );
    assert_eq!(part, b"0123456789");
    // Bytes given back come first, with new data appended to them.
    let mut partial = b"head-".to_vec();
    assert!(c.conn.channel_unread(ChannelId(id), &mut partial));
    assert!(partial.is_empty());
    assert_eq!(c.conn.channel_pending_data(ChannelId(id)), 5);
    send(&mut c, b"tail");
    // Not while data is pending: that would put it out of order.
    let mut late = b"late".to_vec();
    assert!(!c.conn.channel_unread(ChannelId(id), &mut late));
    assert_eq!(late, b"late");
    let mut all = Vec::new();
    assert_eq!(c.conn.channel_take_data(ChannelId(id), &mut all), 9);
    assert_eq!(all, b"head-tail");
}

/// The server starts a rekey once its byte limit is passed; data flows
/// again under the new keys, and the session id stays the first hash.
#[test]
fn server_rekeys_after_its_byte_limit() {
    let mut cfg = config();
    cfg.rekey_limit = 64 * 1024;
    let mut c = Client::new(cfg);
    c.login();
    let id = c.open_session(u32::MAX, 32768);
    let ch = ChannelId(id);
    let first_session_id = c.session_id.clone();
    let chunk = vec![7u8; 32 * 1024];
    let mut server_init = None;
    for _ in 0..4 {
        c.conn.channel_send(ch, &chunk);
        // Any input lets the server check its limits.
        c.send(&[msg::IGNORE, 0, 0, 0, 0]);
        while let Some(p) = c.recv() {
            if p[0] == msg::KEXINIT {
                server_init = Some(p);
                break;
            }
        }
        if server_init.is_some() {
            break;
        }
    }
    let server_init = server_init.expect("server started a rekey");
    // While its exchange runs, the server sends no channel data.
    assert_eq!(c.conn.channel_send_capacity(ch), 0);
    let init = c.kexinit();
    c.send(&init);
    c.key_exchange(init, server_init);
    assert_eq!(c.session_id, first_session_id);
    assert_eq!(c.conn.channel_send(ch, b"after rekey"), 11);
    let p = c.expect(msg::CHANNEL_DATA);
    assert!(p.ends_with(b"after rekey"));
}

#[test]
fn client_initiated_rekey_keeps_the_session() {
    let mut c = Client::new(config());
    c.login();
    let id = c.open_session(1 << 20, 32768);
    let init = c.kexinit();
    c.send(&init);
    let server_init = c.expect(msg::KEXINIT);
    c.key_exchange(init, server_init);
    assert_eq!(c.conn.channel_send(ChannelId(id), b"still here"), 10);
    let p = c.expect(msg::CHANNEL_DATA);
    assert!(p.ends_with(b"still here"));
}

#[test]
fn unanswered_keepalives_end_the_connection() {
    let mut cfg = config();
    cfg.client_alive_interval = Some(Duration::from_secs(15));
    cfg.client_alive_count_max = 2;
    let mut c = Client::new(cfg);
    c.login();
    c.advance(Duration::from_secs(15));
    let g = c.expect(msg::GLOBAL_REQUEST);
    assert!(g.windows(21).any(|w| w == b"keepalive@openssh.com"));
    // Any answer resets the count.
    c.send(&[msg::REQUEST_FAILURE]);
    c.advance(Duration::from_secs(15));
    c.expect(msg::GLOBAL_REQUEST);
    c.advance(Duration::from_secs(15));
    c.expect(msg::GLOBAL_REQUEST);
    assert!(!c.is_disconnected());
    c.advance(Duration::from_secs(15));
    assert!(c.is_disconnected());
}

#[test]
fn idle_timeout_disconnects_a_silent_client() {
    let mut cfg = config();
    cfg.idle_timeout = Some(Duration::from_secs(60));
    let mut c = Client::new(cfg);
    c.login();
    c.advance(Duration::from_secs(59));
    c.send(&[msg::IGNORE, 0, 0, 0, 0]);
    c.advance(Duration::from_secs(59));
    assert!(!c.is_disconnected());
    c.advance(Duration::from_secs(1));
    assert!(c.is_disconnected());
}

#[test]
fn the_userauth_service_may_be_requested_again_before_login() {
    let mut c = Client::new(config());
    c.handshake();
    c.request_userauth_service();
    c.request_userauth_service();
    assert!(!c.is_disconnected());
    c.send(&Client::password_request("alice", "pw"));
    c.take_auth_request().unwrap();
    c.conn.auth_decision(true);
    c.expect(msg::USERAUTH_SUCCESS);
    // After login it is no longer available.
    let mut p = vec![msg::SERVICE_REQUEST];
    p.put_string(b"ssh-userauth");
    c.send(&p);
    assert_eq!(
        disconnect_reason(&mut c),
        msg::reason::SERVICE_NOT_AVAILABLE
    );
}

#[test]
fn refused_key_queries_count_towards_the_limit_without_delay() {
    let mut cfg = config();
    cfg.max_auth_tries = 3;
    let mut c = Client::new(cfg);
    c.handshake();
    c.request_userauth_service();
    for i in 0..3 {
        let key = HostKey::generate(KeyKind::Ed25519).unwrap();
        let mut q = vec![msg::USERAUTH_REQUEST];
        q.put_string(b"bob");
        q.put_string(b"ssh-connection");
        q.put_string(b"publickey");
        q.put_bool(false);
        q.put_string(b"ssh-ed25519");
        q.put_string(key.public_blob());
        c.send(&q);
        assert!(c.take_auth_request().is_some(), "query {i}");
        c.conn.auth_decision(false);
        if i < 2 {
            // Answered at once: no failure delay for key queries.
            c.expect(msg::USERAUTH_FAILURE);
        }
    }
    assert_eq!(
        disconnect_reason(&mut c),
        msg::reason::NO_MORE_AUTH_METHODS_AVAILABLE
    );
}

#[test]
fn none_is_free_but_unknown_methods_count() {
    let mut cfg = config();
    cfg.max_auth_tries = 2;
    let mut c = Client::new(cfg);
    c.handshake();
    c.request_userauth_service();
    let request = |method: &[u8]| {
        let mut p = vec![msg::USERAUTH_REQUEST];
        p.put_string(b"alice");
        p.put_string(b"ssh-connection");
        p.put_string(method);
        p
    };
    for _ in 0..5 {
        c.send(&request(b"none"));
        c.expect(msg::USERAUTH_FAILURE);
    }
    c.send(&request(b"hostbased-nonsense"));
    c.expect(msg::USERAUTH_FAILURE);
    c.send(&request(b"gssapi-with-mic"));
    assert!(c.is_disconnected());
}
