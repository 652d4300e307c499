//! A minimal in-process SSH client for driving `Connection` in tests:
//! curve25519-sha256 key exchange, the negotiated packet protection from
//! wharf-crypto, and raw message helpers. It checks the server's host key
//! signature, so a wrong exchange hash fails the tests.

#![allow(dead_code)]

use aws_lc_rs::agreement::{self, EphemeralPrivateKey, UnparsedPublicKey};
use aws_lc_rs::rand::SystemRandom;
use std::sync::Arc;
use std::time::{Duration, Instant};
use wharf_crypto::hash::{HashAlg, Hasher};
use wharf_crypto::hostkey::{HostKey, KeyKind, PublicKey};
use wharf_crypto::packet::{CipherAlg, MacAlg, OpeningKey, SealingKey};
use wharf_ssh::codec::{Decoder, Encoder};
use wharf_ssh::wire::{Reader, WriteExt};
use wharf_ssh::{msg, Connection, Event, ServerConfig};

pub const CLIENT_VERSION: &str = "SSH-2.0-WharfTestClient";

pub fn host_key() -> Arc<HostKey> {
    Arc::new(HostKey::generate(KeyKind::Ed25519).unwrap())
}

pub fn config() -> ServerConfig {
    let mut c = ServerConfig::with_host_keys(vec![host_key()]);
    c.auth_failure_delay = Duration::from_millis(500);
    c
}

pub struct Client {
    pub conn: Connection,
    pub now: Instant,
    enc: Encoder,
    dec: Decoder,
    /// Server bytes not yet decoded.
    pub server_version: Option<Vec<u8>>,
    pub session_id: Vec<u8>,
    pub events: Vec<Event>,
    pub strict: bool,
    pub ext_info: bool,
    pub cipher: CipherAlg,
    pub mac: Option<MacAlg>,
}

impl Client {
    pub fn new(config: ServerConfig) -> Self {
        let now = Instant::now();
        Client {
            conn: Connection::new(Arc::new(config), now),
            now,
            enc: Encoder::new(),
            dec: Decoder::new(),
            server_version: None,
            session_id: Vec::new(),
            events: Vec::new(),
            strict: true,
            ext_info: true,
            cipher: CipherAlg::Aes128Gcm,
            mac: None,
        }
    }

    /// Moves the server's output into our decoder and collects events.
    fn pump(&mut self) {
        let mut out = Vec::new();
        self.conn.take_output(&mut out);
        self.dec.push(&out);
        while let Some(ev) = self.conn.poll_event() {
            self.events.push(ev);
        }
    }

    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.conn.handle_input(self.now, bytes);
        self.pump();
    }

    pub fn send(&mut self, payload: &[u8]) {
        let mut wire = Vec::new();
        self.enc
            .write_packet(&mut wire, |o| o.extend_from_slice(payload));
        self.send_raw(&wire);
    }

    pub fn advance(&mut self, d: Duration) {
        self.now += d;
        self.conn.handle_timeout(self.now);
        self.pump();
    }

    /// Reads the server's version line (once) and then the next packet.
    pub fn recv(&mut self) -> Option<Vec<u8>> {
        self.pump();
        if self.server_version.is_none() {
            let raw = self.dec.raw();
            let nl = raw.iter().position(|&b| b == b'\n')?;
            self.server_version = Some(raw[..nl - 1].to_vec());
            self.dec.consume_raw(nl + 1);
        }
        self.dec
            .next_packet()
            .expect("server packet decodes")
            .map(|p| p.to_vec())
    }

    /// The next packet that is not IGNORE/DEBUG/EXT_INFO.
    pub fn expect(&mut self, t: u8) -> Vec<u8> {
        loop {
            let p = self
                .recv()
                .unwrap_or_else(|| panic!("expected message {t}, got nothing"));
            if p[0] == t {
                return p;
            }
            if p[0] == msg::EXT_INFO && t != msg::EXT_INFO {
                continue;
            }
            panic!("expected message {t}, got {}", p[0]);
        }
    }

    pub fn kexinit(&self) -> Vec<u8> {
        let mut p = vec![msg::KEXINIT];
        p.extend_from_slice(&[0x42; 16]);
        let mut kex = vec!["curve25519-sha256"];
        if self.strict {
            kex.push("kex-strict-c-v00@openssh.com");
        }
        if self.ext_info {
            kex.push("ext-info-c");
        }
        p.put_name_list(&kex);
        p.put_name_list(&["ssh-ed25519"]);
        p.put_name_list(&[self.cipher.name()]);
        p.put_name_list(&[self.cipher.name()]);
        let macs: Vec<&str> = self
            .mac
            .iter()
            .map(|m| m.name())
            .chain(["hmac-sha2-256"])
            .collect();
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

    /// Version exchange and a full key exchange.
    pub fn handshake(&mut self) {
        self.send_raw(format!("{CLIENT_VERSION}\r\n").as_bytes());
        let server_init = self.expect(msg::KEXINIT);
        let client_init = self.kexinit();
        self.send(&client_init);
        self.key_exchange(client_init, server_init);
    }

    /// The method part of a key exchange, after both KEXINITs.
    pub fn key_exchange(&mut self, client_init: Vec<u8>, server_init: Vec<u8>) {
        let rng = SystemRandom::new();
        let eph = EphemeralPrivateKey::generate(&agreement::X25519, &rng).unwrap();
        let q_c = eph.compute_public_key().unwrap().as_ref().to_vec();
        let mut init = vec![msg::KEX_ECDH_INIT];
        init.put_string(&q_c);
        self.send(&init);
        let reply = self.expect(msg::KEX_ECDH_REPLY);
        let mut r = Reader::new(&reply[1..]);
        let k_s = r.string().unwrap().to_vec();
        let q_s = r.string().unwrap().to_vec();
        let sig = r.string().unwrap().to_vec();
        let k = agreement::agree_ephemeral(
            eph,
            UnparsedPublicKey::new(&agreement::X25519, &q_s),
            (),
            |k| {
                let mut v = Vec::new();
                v.put_mpint_unsigned(k);
                Ok(v)
            },
        )
        .unwrap();
        let mut h = Hasher::new(HashAlg::Sha256);
        let mut buf = Vec::new();
        buf.put_string(CLIENT_VERSION.as_bytes());
        buf.put_string(self.server_version.as_ref().unwrap());
        buf.put_string(&client_init);
        buf.put_string(&server_init);
        buf.put_string(&k_s);
        buf.put_string(&q_c);
        buf.put_string(&q_s);
        buf.extend_from_slice(&k);
        h.update(&buf);
        let hash = h.finish().as_ref().to_vec();
        PublicKey::from_blob(&k_s)
            .unwrap()
            .verify(&sig, &hash, false)
            .expect("host key signature verifies");
        if self.session_id.is_empty() {
            self.session_id = hash.clone();
        }
        let derive = |letter: u8, len: usize| -> Vec<u8> {
            let mut out = Vec::new();
            let mut first = Hasher::new(HashAlg::Sha256);
            first.update(&k);
            first.update(&hash);
            first.update(&[letter]);
            first.update(&self.session_id);
            out.extend_from_slice(first.finish().as_ref());
            while out.len() < len {
                let mut more = Hasher::new(HashAlg::Sha256);
                more.update(&k);
                more.update(&hash);
                more.update(&out);
                out.extend_from_slice(more.finish().as_ref());
            }
            out.truncate(len);
            out
        };
        let c = self.cipher;
        let mac = if c.is_aead() {
            None
        } else {
            Some(self.mac.unwrap_or(MacAlg::HmacSha256))
        };
        let mac_c2s = mac.map(|m| (m, derive(b'E', m.key_len())));
        let mac_s2c = mac.map(|m| (m, derive(b'F', m.key_len())));
        let sealing = SealingKey::new(
            c,
            &derive(b'C', c.key_len()),
            &derive(b'A', c.iv_len()),
            mac_c2s.as_ref().map(|(m, k)| (*m, &k[..])),
        )
        .unwrap();
        let opening = OpeningKey::new(
            c,
            &derive(b'D', c.key_len()),
            &derive(b'B', c.iv_len()),
            mac_s2c.as_ref().map(|(m, k)| (*m, &k[..])),
        )
        .unwrap();
        // The server's NEWKEYS is the last packet under the old keys.
        let nk = self.expect(msg::NEWKEYS);
        assert_eq!(nk, [msg::NEWKEYS]);
        self.dec.set_key(opening);
        if self.strict {
            self.dec.reset_seq();
        }
        self.send(&[msg::NEWKEYS]);
        self.enc.set_key(sealing);
        if self.strict {
            self.enc.reset_seq();
        }
    }

    pub fn request_userauth_service(&mut self) {
        let mut p = vec![msg::SERVICE_REQUEST];
        p.put_string(b"ssh-userauth");
        self.send(&p);
        let accept = self.expect(msg::SERVICE_ACCEPT);
        assert_eq!(&accept[5..], b"ssh-userauth");
    }

    pub fn password_request(user: &str, password: &str) -> Vec<u8> {
        let mut p = vec![msg::USERAUTH_REQUEST];
        p.put_string(user.as_bytes());
        p.put_string(b"ssh-connection");
        p.put_string(b"password");
        p.put_bool(false);
        p.put_string(password.as_bytes());
        p
    }

    /// Takes the pending auth request event, if any.
    pub fn take_auth_request(&mut self) -> Option<(String, wharf_ssh::AuthAttempt)> {
        let i = self
            .events
            .iter()
            .position(|e| matches!(e, Event::AuthRequest { .. }))?;
        match self.events.remove(i) {
            Event::AuthRequest { user, attempt } => Some((user, attempt)),
            _ => unreachable!(),
        }
    }

    /// Handshake, service request and a password login answered yes.
    pub fn login(&mut self) {
        self.handshake();
        self.request_userauth_service();
        self.send(&Self::password_request("alice", "pw"));
        self.take_auth_request().expect("auth request event");
        self.conn.auth_decision(true);
        self.pump();
        self.expect(msg::USERAUTH_SUCCESS);
    }

    /// Opens a session channel with the given window and max packet;
    /// returns the server's channel number.
    pub fn open_session(&mut self, window: u32, max_packet: u32) -> u32 {
        let mut p = vec![msg::CHANNEL_OPEN];
        p.put_string(b"session");
        p.put_u32(7);
        p.put_u32(window);
        p.put_u32(max_packet);
        self.send(&p);
        let c = self.expect(msg::CHANNEL_OPEN_CONFIRMATION);
        let mut r = Reader::new(&c[1..]);
        assert_eq!(r.u32().unwrap(), 7);
        r.u32().unwrap()
    }

    pub fn is_disconnected(&mut self) -> bool {
        self.pump();
        self.conn.closed().is_some()
    }
}
