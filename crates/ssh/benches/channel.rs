//! A 64 MiB channel transfer through the sans-IO `Connection`, each way,
//! with the in-process test client (tests/support) on the other end: the
//! whole transport path (packet codec, sealing and opening, channel
//! windows) without a socket. The client's own work is included, so the
//! figure is both ends of one connection; the client uses OpenSSH's
//! channel parameters (2 MiB window refilled at half, 32 KiB packets).
//!
//! Run: `cargo bench -p wharf-ssh --bench channel`.

#[path = "../tests/support/mod.rs"]
mod support;

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use support::{config, Client};
use wharf_crypto::packet::{CipherAlg, MacAlg};
use wharf_ssh::wire::{Reader, WriteExt};
use wharf_ssh::{msg, ChannelId};

const TOTAL: usize = 64 << 20;
/// OpenSSH's client: CHAN_SES_WINDOW_DEFAULT and CHAN_SES_PACKET_DEFAULT.
const CLIENT_WINDOW: u32 = 2 * 1024 * 1024;
const CLIENT_PACKET: u32 = 32 * 1024;

const MODES: [(&str, CipherAlg, Option<MacAlg>); 3] = [
    ("aes128-gcm", CipherAlg::Aes128Gcm, None),
    ("chacha20-poly1305", CipherAlg::Chacha20Poly1305, None),
    (
        "aes128-ctr+hmac-sha2-256-etm",
        CipherAlg::Aes128Ctr,
        Some(MacAlg::HmacSha256Etm),
    ),
];

/// A logged-in client with one session channel open; returns it and the
/// server's channel number.
fn connected(cipher: CipherAlg, mac: Option<MacAlg>) -> (Client, u32) {
    let mut c = Client::new(config());
    c.cipher = cipher;
    c.mac = mac;
    c.login();
    let id = c.open_session(CLIENT_WINDOW, CLIENT_PACKET);
    (c, id)
}

fn window_adjust(server_channel: u32, n: u32) -> Vec<u8> {
    let mut p = vec![msg::CHANNEL_WINDOW_ADJUST];
    p.put_u32(server_channel);
    p.put_u32(n);
    p
}

/// Server to client (an SFTP or SCP download): the server offers data as
/// its window allows; the client reads it and refills the window at half.
fn download(c: &mut Client, id: u32) -> usize {
    let ch = ChannelId(id);
    let data = vec![0x61u8; 256 * 1024];
    let (mut sent, mut received, mut unacked) = (0usize, 0usize, 0u32);
    while received < TOTAL {
        if sent < TOTAL {
            sent += c
                .conn
                .channel_send(ch, &data[..data.len().min(TOTAL - sent)]);
        }
        while let Some(p) = c.recv() {
            if p[0] == msg::CHANNEL_DATA {
                let mut r = Reader::new(&p[1..]);
                r.u32().expect("recipient channel");
                let n = r.string().expect("data").len();
                received += n;
                unacked += n as u32;
            }
        }
        c.events.clear();
        if unacked >= CLIENT_WINDOW / 2 {
            c.send(&window_adjust(id, unacked));
            unacked = 0;
        }
    }
    received
}

/// Client to server (an upload): the client sends 32 KiB CHANNEL_DATA as
/// the server's window allows; the driver consumes each at once.
fn upload(c: &mut Client, id: u32, server_window: u32) -> usize {
    let ch = ChannelId(id);
    let chunk = vec![0x62u8; CLIENT_PACKET as usize];
    let mut packet = vec![msg::CHANNEL_DATA];
    packet.put_u32(id);
    packet.put_string(&chunk);
    let (mut sent, mut delivered) = (0usize, 0usize);
    let mut window = server_window as usize;
    let mut inbox = Vec::new();
    while delivered < TOTAL {
        while sent < TOTAL && window >= chunk.len() {
            c.send(&packet);
            sent += chunk.len();
            window -= chunk.len();
        }
        // The driver's part: take what arrived and report it used at once.
        c.events.clear();
        let n = c.conn.channel_take_data(ch, &mut inbox);
        black_box(&inbox);
        inbox.clear();
        delivered += n;
        c.conn.channel_consumed(ch, n);
        while let Some(p) = c.recv() {
            if p[0] == msg::CHANNEL_WINDOW_ADJUST {
                let mut r = Reader::new(&p[1..]);
                r.u32().expect("recipient channel");
                window += r.u32().expect("increment") as usize;
            }
        }
    }
    delivered
}

fn transfer(crit: &mut Criterion) {
    let server_window = config().channel_window;
    let mut group = crit.benchmark_group("channel_64MiB");
    group.throughput(Throughput::Bytes(TOTAL as u64));
    group.sample_size(10);
    for (label, cipher, mac) in MODES {
        group.bench_function(format!("download/{label}"), |b| {
            b.iter_batched_ref(
                || connected(cipher, mac),
                |(c, id)| assert_eq!(black_box(download(c, *id)), TOTAL),
                BatchSize::PerIteration,
            )
        });
        group.bench_function(format!("upload/{label}"), |b| {
            b.iter_batched_ref(
                || connected(cipher, mac),
                |(c, id)| assert_eq!(black_box(upload(c, *id, server_window)), TOTAL),
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, transfer);
criterion_main!(benches);
