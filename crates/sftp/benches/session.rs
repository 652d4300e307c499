//! The SFTP engine without a network: request decode and reply encode for
//! cheap requests, and a whole 64 MiB download through `SftpSession`
//! against the local `Vfs` over a temp file, pipelined as OpenSSH's sftp
//! client does (64 reads of 32 KiB in flight, and the 255 KiB reads the
//! server announces). A regression in framing, dispatch or the DATA path
//! shows here before it shows in the end-to-end benchmark (bench/run).
//!
//! Run: `cargo bench -p wharf-sftp --bench session`.

use std::fs;
use std::hint::black_box;
use std::io::Write;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use wharf_sftp::{SftpConfig, SftpSession};
use wharf_vfs::LocalFs;

// Packet types and flags of draft-ietf-secsh-filexfer-02 §3, §6.3.
const INIT: u8 = 1;
const VERSION: u8 = 2;
const OPEN: u8 = 3;
const READ: u8 = 5;
const WRITE: u8 = 6;
const REALPATH: u8 = 16;
const STATUS: u8 = 101;
const HANDLE: u8 = 102;
const DATA: u8 = 103;
const NAME: u8 = 104;
const PF_READ: u32 = 1;

const FILE_LEN: usize = 64 << 20;

fn packet(ptype: u8, body: &[u8]) -> Vec<u8> {
    let mut p = ((body.len() + 1) as u32).to_be_bytes().to_vec();
    p.push(ptype);
    p.extend_from_slice(body);
    p
}

fn put_string(b: &mut Vec<u8>, s: &[u8]) {
    b.extend_from_slice(&(s.len() as u32).to_be_bytes());
    b.extend_from_slice(s);
}

fn read_req(id: u32, handle: &[u8], offset: u64, len: u32) -> Vec<u8> {
    let mut b = id.to_be_bytes().to_vec();
    put_string(&mut b, handle);
    b.extend_from_slice(&offset.to_be_bytes());
    b.extend_from_slice(&len.to_be_bytes());
    packet(READ, &b)
}

/// Splits a reply stream into (type, id, rest-of-body) triples; the
/// benchmark's own client, so a malformed reply is a bug worth a panic.
fn replies(mut out: &[u8]) -> Vec<(u8, u32, &[u8])> {
    let mut v = Vec::new();
    while !out.is_empty() {
        let len = u32::from_be_bytes(out[..4].try_into().unwrap()) as usize;
        let body = &out[4..4 + len];
        let id = if body.len() >= 5 {
            u32::from_be_bytes(body[1..5].try_into().unwrap())
        } else {
            0
        };
        v.push((body[0], id, body.get(5..).unwrap_or_default()));
        out = &out[4 + len..];
    }
    v
}

/// Runs every complete request, as a driver does, and returns the replies.
fn run(s: &mut SftpSession, input: &[u8], out: &mut Vec<u8>) {
    s.receive(input);
    while s.process(out, usize::MAX).expect("session continues") > 0 {}
}

/// A session past INIT (version 3, as OpenSSH's client asks).
fn session(root: &std::path::Path) -> SftpSession {
    let fs = Arc::new(LocalFs::new(root.to_path_buf()).expect("local fs"));
    let mut s = SftpSession::new(fs, SftpConfig::default());
    let mut out = Vec::new();
    run(&mut s, &packet(INIT, &3u32.to_be_bytes()), &mut out);
    assert_eq!(replies(&out)[0].0, VERSION);
    s
}

fn open(s: &mut SftpSession, name: &[u8]) -> Vec<u8> {
    let mut b = 1u32.to_be_bytes().to_vec();
    put_string(&mut b, name);
    b.extend_from_slice(&PF_READ.to_be_bytes());
    b.extend_from_slice(&0u32.to_be_bytes()); // empty ATTRS
    let mut out = Vec::new();
    run(s, &packet(OPEN, &b), &mut out);
    let r = replies(&out);
    assert_eq!(r[0].0, HANDLE, "OPEN answered with a handle");
    let h = r[0].2;
    let n = u32::from_be_bytes(h[..4].try_into().unwrap()) as usize;
    h[4..4 + n].to_vec()
}

/// Downloads the whole file with `in_flight` reads of `chunk` bytes
/// outstanding, refilling one request per DATA reply; returns bytes read.
fn get(s: &mut SftpSession, handle: &[u8], chunk: u32, in_flight: usize) -> usize {
    let mut next_offset = 0u64;
    let mut next_id = 10u32;
    let mut outstanding = 0usize;
    let mut got = 0usize;
    let mut input = Vec::new();
    let mut out = Vec::with_capacity(4 << 20);
    let mut done = false;
    loop {
        while !done && outstanding < in_flight {
            input.extend_from_slice(&read_req(next_id, handle, next_offset, chunk));
            next_id = next_id.wrapping_add(1);
            next_offset += u64::from(chunk);
            outstanding += 1;
        }
        if outstanding == 0 {
            return got;
        }
        out.clear();
        // One driver round: feed what the client sent, collect replies up
        // to a 1 MiB output batch (as a channel's send window would).
        s.receive(&input);
        input.clear();
        s.process(&mut out, 1 << 20).expect("session continues");
        for (ty, _, body) in replies(&out) {
            outstanding -= 1;
            match ty {
                DATA => {
                    let n = u32::from_be_bytes(body[..4].try_into().unwrap()) as usize;
                    got += n;
                    black_box(&body[4..4 + n]);
                }
                STATUS => done = true, // EOF past the end
                other => panic!("unexpected reply {other}"),
            }
        }
    }
}

fn download(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut f = fs::File::create(dir.path().join("big")).expect("create");
    let block: Vec<u8> = (0..1 << 20).map(|i: u32| (i * 7 + 3) as u8).collect();
    for _ in 0..FILE_LEN >> 20 {
        f.write_all(&block).expect("write");
    }
    drop(f);
    let mut group = c.benchmark_group("sftp_get_64MiB");
    group.throughput(Throughput::Bytes(FILE_LEN as u64));
    group.sample_size(10);
    for (label, chunk, in_flight) in [("32KiB_x64", 32 * 1024, 64), ("255KiB_x16", 255 * 1024, 16)]
    {
        group.bench_function(label, |b| {
            b.iter_batched_ref(
                || {
                    let mut s = session(dir.path());
                    let h = open(&mut s, b"big");
                    (s, h)
                },
                |(s, h)| assert_eq!(get(s, h, chunk, in_flight), FILE_LEN),
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

/// Decode of a request and encode of its reply, without file I/O: READ and
/// a 32 KiB WRITE on a handle that does not exist (answered with a STATUS),
/// and REALPATH of "." (answered with a NAME).
fn codec(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    const BATCH: u32 = 1000;
    let reads: Vec<u8> = (0..BATCH)
        .flat_map(|i| read_req(i, b"nohandle", u64::from(i) * 32768, 32768))
        .collect();
    let writes: Vec<u8> = (0..BATCH)
        .flat_map(|i| {
            let mut b = i.to_be_bytes().to_vec();
            put_string(&mut b, b"nohandle");
            b.extend_from_slice(&(u64::from(i) * 32768).to_be_bytes());
            put_string(&mut b, &[0x42; 32768]);
            packet(WRITE, &b)
        })
        .collect();
    let realpaths: Vec<u8> = (0..BATCH)
        .flat_map(|i| {
            let mut b = i.to_be_bytes().to_vec();
            put_string(&mut b, b".");
            packet(REALPATH, &b)
        })
        .collect();
    let mut group = c.benchmark_group("sftp_request_x1000");
    group.throughput(Throughput::Elements(u64::from(BATCH)));
    for (label, input, want) in [
        ("read_bad_handle", &reads, STATUS),
        ("write_32KiB_bad_handle", &writes, STATUS),
        ("realpath_dot", &realpaths, NAME),
    ] {
        let mut s = session(dir.path());
        let mut out = Vec::with_capacity(1 << 20);
        // Checked once outside the timing: the replies are what we think.
        run(&mut s, input, &mut out);
        let r = replies(&out);
        assert_eq!(r.len(), BATCH as usize);
        assert!(r.iter().all(|(t, _, _)| *t == want), "{label}");
        group.bench_function(label, |b| {
            b.iter(|| {
                out.clear();
                run(&mut s, input, &mut out);
                black_box(&out);
            })
        });
    }
    group.finish();
}

criterion_group!(benches, codec, download);
criterion_main!(benches);
