//! The session's framing: protocol violations, malformed requests, pipelining, packets split
//! across `receive` calls, the output limit, and random input.

mod common;

use std::fs;

use common::*;
use wharf_sftp::{SftpConfig, SftpError};

fn violation(bytes: &[u8]) -> SftpError {
    let (_tmp, mut s) = fresh();
    s.receive(bytes);
    s.process(&mut Vec::new(), usize::MAX).unwrap_err()
}

#[test]
fn protocol_violations_end_the_session() {
    assert!(matches!(
        violation(&req(STAT, 1, B::default().s("/"))),
        SftpError::NotInitialized { packet_type: STAT }
    ));
    assert!(matches!(
        violation(&packet(INIT, &[0, 0])),
        SftpError::MalformedInit(_)
    ));
    // Versions 1 and 2 are served (with v3 layouts); 0 is below every version.
    assert!(matches!(
        violation(&packet(INIT, &0u32.to_be_bytes())),
        SftpError::UnsupportedVersion { client: 0, min: 1 }
    ));
    // A configured minimum of 3 refuses a v2 client.
    let tmp = tempfile::tempdir().unwrap();
    let fs = wharf_vfs::LocalFs::new(tmp.path().to_path_buf()).unwrap();
    let config = SftpConfig {
        min_version: 3,
        ..SftpConfig::default()
    };
    let mut s = wharf_sftp::SftpSession::new(std::sync::Arc::new(fs), config);
    s.receive(&packet(INIT, &2u32.to_be_bytes()));
    assert!(matches!(
        s.process(&mut Vec::new(), usize::MAX).unwrap_err(),
        SftpError::UnsupportedVersion { client: 2, min: 3 }
    ));
    assert!(matches!(violation(&[0, 0, 0, 0]), SftpError::EmptyPacket));
    let mut short = init();
    short.extend_from_slice(&packet(STAT, &[0, 0]));
    assert!(matches!(
        violation(&short),
        SftpError::MissingRequestId { packet_type: STAT }
    ));
    // An oversize length is refused from its four header bytes alone, before any body arrives.
    let max = SftpConfig::default().max_packet_len;
    assert!(matches!(
        violation(&(max + 1).to_be_bytes()),
        SftpError::PacketTooLong { len, max: m } if len == max + 1 && m == max
    ));
    // Exactly the maximum is accepted (here: a WRITE to an unknown handle).
    let mut t = session();
    let body = vec![0u8; max as usize - 1 - 4 - (4 + 8) - 8 - 4];
    let write = req(WRITE, 9, B::default().s(b"nohandle").u64(0).s(&body));
    assert_eq!(write.len(), max as usize + 4);
    assert_eq!(t.status(&write), FX_FAILURE);
}

/// A small request sequence covering several packet types, each with a distinct id.
fn script() -> Vec<u8> {
    let handle = {
        // The first handle of a fresh session: slot 0, generation 1.
        let mut h = vec![0, 0, 0, 0];
        h.extend_from_slice(&1u32.to_be_bytes());
        h
    };
    [
        init(),
        req(
            OPEN,
            1,
            B::default()
                .s("s.txt")
                .u32(PF_READ | PF_WRITE | PF_CREAT | PF_TRUNC)
                .no_attrs(),
        ),
        req(WRITE, 2, B::default().s(&handle).u64(0).s("split me")),
        req(READ, 3, B::default().s(&handle).u64(0).u32(64)),
        req(REALPATH, 4, B::default().s("x/../s.txt")),
        req(READ, 5, B::default().s(&handle).u64(100).u32(64)),
        req(CLOSE, 6, B::default().s(&handle)),
        req(STAT, 7, B::default().s("missing")),
    ]
    .concat()
}

fn run_split(bytes: &[u8], cuts: &[usize]) -> Vec<u8> {
    let (_tmp, mut s) = fresh();
    let mut out = Vec::new();
    let mut from = 0;
    let mut consumed_total = 0;
    for &cut in cuts.iter().chain(std::iter::once(&bytes.len())) {
        s.receive(&bytes[from..cut]);
        let consumed = s.process(&mut out, usize::MAX).unwrap();
        consumed_total += consumed;
        assert_eq!(s.buffered(), cut - consumed_total);
        from = cut;
    }
    assert_eq!(consumed_total, bytes.len());
    out
}

#[test]
fn pipelined_requests_in_one_receive() {
    let bytes = script();
    let replies = parse(&run_split(&bytes, &[]));
    let ids: Vec<_> = replies
        .iter()
        .map(|r| match r {
            Reply::Version(..) => 0,
            Reply::Status(id, ..)
            | Reply::Handle(id, _)
            | Reply::Data(id, _)
            | Reply::Name(id, _) => *id,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(ids, [0, 1, 2, 3, 4, 5, 6, 7]);
    assert_eq!(replies[3], Reply::Data(3, b"split me".to_vec()));
    assert!(matches!(&replies[4], Reply::Name(4, e) if e[0].0 == b"/s.txt"));
    assert!(matches!(replies[5], Reply::Status(5, FX_EOF, _)));
    assert!(matches!(replies[7], Reply::Status(7, FX_NO_SUCH_FILE, _)));
}

#[test]
fn requests_split_at_every_byte_boundary() {
    let bytes = script();
    let whole = run_split(&bytes, &[]);
    for cut in 1..bytes.len() {
        assert_eq!(run_split(&bytes, &[cut]), whole, "split at {cut}");
    }
    // And one byte at a time.
    let cuts: Vec<_> = (1..bytes.len()).collect();
    assert_eq!(run_split(&bytes, &cuts), whole);
}

#[test]
fn bytes_missing_counts_the_rest_of_a_started_request() {
    let (_tmp, mut s) = fresh();
    assert_eq!(s.request_bytes_missing(), 0);
    let request = req(REALPATH, 1, B::default().s("."));
    // Not even the length yet.
    s.receive(&request[..3]);
    assert_eq!(s.request_bytes_missing(), 0);
    s.receive(&request[3..5]);
    assert_eq!(s.request_bytes_missing(), request.len() - 5);
    s.receive(&request[5..]);
    assert_eq!(s.request_bytes_missing(), 0);
    // A length over the maximum will be refused, not waited for.
    let (_tmp, mut s) = fresh();
    s.receive(&(SftpConfig::default().max_packet_len + 1).to_be_bytes());
    assert_eq!(s.request_bytes_missing(), 0);
}

#[test]
fn output_limit_stops_processing_early() {
    let (_tmp, mut s) = fresh();
    let mut bytes = init();
    for id in 1..=3 {
        bytes.extend_from_slice(&req(REALPATH, id, B::default().s(".")));
    }
    s.receive(&bytes);
    let mut out = Vec::new();
    // Each call handles one packet because the output already exceeds a 1-byte limit after it.
    let first = s.process(&mut out, 1).unwrap();
    assert_eq!(first, init().len());
    assert_eq!(s.buffered(), bytes.len() - first);
    assert_eq!(
        s.process(&mut out, 1).unwrap(),
        0,
        "out is already over the limit"
    );
    out.clear();
    let mut total = first;
    while s.buffered() > 0 {
        let n = s.process(&mut out, 1).unwrap();
        assert!(n > 0);
        total += n;
        out.clear();
    }
    assert_eq!(total, bytes.len());
}

/// Random request bodies of every type never panic the engine and each get exactly one reply
/// carrying their id. Deterministic (xorshift64 with a fixed seed) and bounded.
#[test]
fn random_requests_each_get_one_reply() {
    let mut t = session();
    fs::write(t.path("f"), "data").unwrap();
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let names: [&[u8]; 6] = [
        b"f",
        b"/",
        b"..",
        b"x/y",
        b"limits@openssh.com",
        b"fsync@openssh.com",
    ];
    for id in 0..3000u32 {
        // Any type but INIT (whose handling is covered above and may end the session).
        let ptype = match (next() % 255) as u8 {
            INIT => 0,
            t => t,
        };
        let mut body = B::default();
        for _ in 0..next() % 6 {
            body = match next() % 4 {
                0 => body.s(names[(next() % names.len() as u64) as usize]),
                1 => body.u32(next() as u32 % 64),
                2 => body.u64(next() % 100),
                _ => body.raw(&[next() as u8]),
            };
        }
        match &t.call(&req(ptype, id, body))[..] {
            [Reply::Status(r, ..)
            | Reply::Handle(r, _)
            | Reply::Data(r, _)
            | Reply::Name(r, _)
            | Reply::Attrs(r, _)
            | Reply::Extended(r, _)] => assert_eq!(*r, id),
            other => panic!("type {ptype}: {other:?}"),
        }
    }
}
