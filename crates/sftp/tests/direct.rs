//! READ replies sent through a `DirectReply` (straight into the SSH packets) carry the same bytes
//! as buffered ones, keep their order with other replies, and wait when there is no room.

mod common;

use std::io::IoSliceMut;

use common::*;
use wharf_sftp::{DirectOutcome, DirectReply};

/// A direct sink with `areas` of the given sizes, taking replies until `room` runs out; what
/// it sends is appended to `sent`.
struct Sink {
    area_sizes: Vec<usize>,
    room: usize,
    /// When out of room: answer Later (true) or Refused (false).
    wait: bool,
    sent: Vec<u8>,
    calls: usize,
}

impl Sink {
    fn new(area_sizes: Vec<usize>, room: usize, wait: bool) -> Self {
        Sink {
            area_sizes,
            room,
            wait,
            sent: Vec::new(),
            calls: 0,
        }
    }
}

impl DirectReply for Sink {
    fn send_with(
        &mut self,
        len: usize,
        fill: &mut dyn FnMut(&mut [IoSliceMut<'_>]) -> usize,
    ) -> DirectOutcome {
        if len > self.room {
            return if self.wait {
                DirectOutcome::Later
            } else {
                DirectOutcome::Refused
            };
        }
        self.calls += 1;
        // Areas as the SSH layer lays them out: fixed sizes, the last one short.
        let mut bufs: Vec<Vec<u8>> = Vec::new();
        let mut left = len;
        for &size in self.area_sizes.iter().cycle() {
            if left == 0 {
                break;
            }
            let n = size.min(left);
            bufs.push(vec![0xee; n]);
            left -= n;
        }
        let mut areas: Vec<IoSliceMut<'_>> = bufs.iter_mut().map(|b| IoSliceMut::new(b)).collect();
        let n = fill(&mut areas);
        assert!(n <= len);
        let flat: Vec<u8> = bufs.concat();
        self.sent.extend_from_slice(&flat[..n]);
        self.room -= n;
        DirectOutcome::Sent(n)
    }
}

/// Runs `bytes` through a session with `sink`; returns the buffered output.
fn run(t: &mut T, bytes: &[u8], sink: &mut Sink) -> (usize, Vec<u8>) {
    t.s.receive(bytes);
    let mut out = Vec::new();
    let consumed =
        t.s.process_with(&mut out, usize::MAX, Some(sink as &mut dyn DirectReply))
            .unwrap();
    (consumed, out)
}

fn file_of(t: &T, name: &str, len: usize) -> Vec<u8> {
    let data: Vec<u8> = (0..len).map(|i| (i * 13 % 256) as u8).collect();
    std::fs::write(t.path(name), &data).unwrap();
    data
}

#[test]
fn direct_reads_match_buffered_reads_byte_for_byte() {
    let mut t = session();
    let data = file_of(&t, "f", 100_000);
    let h = t.open("f", PF_READ);
    let reads: Vec<u8> = [
        (0u64, 40_000u32),
        (40_000, 40_000),
        (80_000, 40_000),
        (100_000, 10),
    ]
    .iter()
    .enumerate()
    .flat_map(|(i, &(off, len))| req(READ, 10 + i as u32, B::default().s(&h).u64(off).u32(len)))
    .collect();
    // Buffered, for reference.
    t.s.receive(&reads);
    let mut buffered = Vec::new();
    t.s.process(&mut buffered, usize::MAX).unwrap();
    // Direct, with areas smaller than a reply so replies span several.
    let mut sink = Sink::new(vec![4032], usize::MAX, true);
    let (consumed, out) = run(&mut t, &reads, &mut sink);
    assert_eq!(consumed, reads.len());
    // Three DATA replies went direct; the EOF status has nothing to read, so it is buffered.
    assert_eq!(sink.calls, 4);
    let mut both = sink.sent.clone();
    both.extend_from_slice(&out);
    assert_eq!(both, buffered);
    match &parse(&sink.sent)[..] {
        [Reply::Data(10, a), Reply::Data(11, b), Reply::Data(12, c)] => {
            assert_eq!([&a[..], &b[..], &c[..]].concat(), data);
        }
        other => panic!("unexpected replies {other:?}"),
    }
    assert!(matches!(&parse(&out)[..], [Reply::Status(13, 1, _)]));
}

#[test]
fn replies_keep_their_order_once_one_is_buffered() {
    let mut t = session();
    file_of(&t, "f", 1000);
    let h = t.open("f", PF_READ);
    // A STAT (buffered) before a READ: the READ must not overtake it.
    let mut bytes = req(STAT, 1, B::default().s("f"));
    bytes.extend(req(READ, 2, B::default().s(&h).u64(0).u32(1000)));
    let mut sink = Sink::new(vec![4032], usize::MAX, true);
    let (_, out) = run(&mut t, &bytes, &mut sink);
    assert!(sink.sent.is_empty());
    assert!(matches!(
        &parse(&out)[..],
        [Reply::Attrs(1, _), Reply::Data(2, _)]
    ));
}

#[test]
fn a_reply_without_room_waits_and_is_answered_later() {
    let mut t = session();
    let data = file_of(&t, "f", 5000);
    let h = t.open("f", PF_READ);
    let read = req(READ, 3, B::default().s(&h).u64(0).u32(5000));
    let mut sink = Sink::new(vec![4032], 100, true);
    let (consumed, out) = run(&mut t, &read, &mut sink);
    // Nothing answered, nothing consumed: the request is still buffered.
    assert_eq!((consumed, out.len(), sink.sent.len()), (0, 0, 0));
    assert_eq!(t.s.buffered(), read.len());
    // Room now: the same request is answered.
    sink.room = usize::MAX;
    let mut out = Vec::new();
    let consumed =
        t.s.process_with(
            &mut out,
            usize::MAX,
            Some(&mut sink as &mut dyn DirectReply),
        )
        .unwrap();
    assert_eq!(consumed, read.len());
    assert!(out.is_empty());
    match &parse(&sink.sent)[..] {
        [Reply::Data(3, d)] => assert_eq!(d, &data),
        other => panic!("unexpected replies {other:?}"),
    }
}

#[test]
fn a_refused_direct_reply_is_buffered() {
    let mut t = session();
    let data = file_of(&t, "f", 5000);
    let h = t.open("f", PF_READ);
    let mut sink = Sink::new(vec![4032], 100, false);
    let (_, out) = run(
        &mut t,
        &req(READ, 4, B::default().s(&h).u64(0).u32(5000)),
        &mut sink,
    );
    assert!(sink.sent.is_empty());
    match &parse(&out)[..] {
        [Reply::Data(4, d)] => assert_eq!(d, &data),
        other => panic!("unexpected replies {other:?}"),
    }
}

#[test]
fn a_failed_direct_read_sends_nothing_and_answers_a_status() {
    let mut t = session();
    // A handle open for writing only: the read is refused before any room is asked for.
    let h = t.open("w", PF_WRITE | PF_CREAT);
    let mut sink = Sink::new(vec![4032], usize::MAX, true);
    let (_, out) = run(
        &mut t,
        &req(READ, 5, B::default().s(&h).u64(0).u32(10)),
        &mut sink,
    );
    assert_eq!(sink.calls, 0);
    assert!(matches!(&parse(&out)[..], [Reply::Status(5, _, _)]));
    // Reading past the end: the sink is asked, nothing is sent, EOF is buffered.
    file_of(&t, "g", 10);
    let h = t.open("g", PF_READ);
    let (_, out) = run(
        &mut t,
        &req(READ, 6, B::default().s(&h).u64(10).u32(10)),
        &mut sink,
    );
    assert!(sink.sent.is_empty());
    assert!(matches!(&parse(&out)[..], [Reply::Status(6, 1, _)]));
}
