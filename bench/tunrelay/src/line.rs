//! A constant-delay FIFO of packets held in one preallocated byte ring.
//!
//! Every packet waits the same time, so release order is arrival order and a
//! ring is enough: no sorting, no reordering, and no allocation per packet
//! (packets are read straight into the ring, written straight out of it).

use std::collections::VecDeque;
use std::time::Instant;

struct Slot {
    due: Instant,
    start: usize,
    len: usize,
}

pub struct DelayLine {
    buf: Box<[u8]>,
    queue: VecDeque<Slot>,
    max_packets: usize,
    max_pkt: usize,
    /// Start of the oldest packet held (meaningful while `queue` is non-empty).
    head: usize,
    /// Where the next packet goes. `tail > head`: held bytes are
    /// `head..tail`; `tail < head`: they are `head..(end of the last slot
    /// before the wrap)` then `0..tail`. The two never meet while non-empty.
    tail: usize,
}

impl DelayLine {
    /// `bytes` of ring, at most `max_packets` packets of at most `max_pkt` bytes.
    pub fn new(bytes: usize, max_packets: usize, max_pkt: usize) -> Self {
        assert!(
            bytes > 2 * max_pkt && max_packets > 0,
            "ring too small for its packets"
        );
        // vec![0; n] comes from calloc: pages are only touched when used.
        Self {
            buf: vec![0u8; bytes].into_boxed_slice(),
            queue: VecDeque::with_capacity(max_packets),
            max_packets,
            max_pkt,
            head: 0,
            tail: 0,
        }
    }

    /// Offset of a free region of `max_pkt` bytes, or None when the line is full.
    fn free_at(&mut self) -> Option<usize> {
        if self.queue.is_empty() {
            self.head = 0;
            self.tail = 0;
            return Some(0);
        }
        if self.queue.len() >= self.max_packets {
            return None;
        }
        if self.tail > self.head {
            if self.buf.len() - self.tail >= self.max_pkt {
                Some(self.tail)
            } else if self.head > self.max_pkt {
                // Wrap; strictly greater so the new tail stays below head.
                Some(0)
            } else {
                None
            }
        } else if self.head - self.tail > self.max_pkt {
            Some(self.tail)
        } else {
            None
        }
    }

    /// Fills the next packet with `fill` (which returns its length, or None
    /// for "nothing read") and holds it until `due`. Returns Err(()) if the
    /// line is full (the caller must then drain and drop the packet itself).
    pub fn push<E>(
        &mut self,
        due: Instant,
        fill: impl FnOnce(&mut [u8]) -> Result<Option<usize>, E>,
    ) -> Result<Result<Option<usize>, E>, ()> {
        let start = self.free_at().ok_or(())?;
        let got = fill(&mut self.buf[start..start + self.max_pkt]);
        if let Ok(Some(len)) = got {
            if len > 0 {
                let len = len.min(self.max_pkt);
                self.queue.push_back(Slot { due, start, len });
                if self.queue.len() == 1 {
                    self.head = start;
                }
                self.tail = start + len;
            }
        }
        Ok(got)
    }

    /// When the oldest packet is due, if any.
    pub fn next_due(&self) -> Option<Instant> {
        self.queue.front().map(|s| s.due)
    }

    /// Hands every packet due by `now` to `out`, oldest first. Returns how many.
    pub fn release(&mut self, now: Instant, mut out: impl FnMut(&[u8])) -> usize {
        let mut n = 0;
        while let Some(s) = self.queue.front() {
            if s.due > now {
                break;
            }
            out(&self.buf[s.start..s.start + s.len]);
            self.queue.pop_front();
            n += 1;
        }
        if let Some(s) = self.queue.front() {
            self.head = s.start;
        }
        n
    }

    pub fn len(&self) -> usize {
        self.queue.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn put(l: &mut DelayLine, due: Instant, data: &[u8]) -> bool {
        l.push::<()>(due, |b| {
            b[..data.len()].copy_from_slice(data);
            Ok(Some(data.len()))
        })
        .is_ok()
    }

    #[test]
    fn fifo_order_and_due_times() {
        let t0 = Instant::now();
        let mut l = DelayLine::new(1000, 100, 100);
        for i in 0..5u8 {
            assert!(put(&mut l, t0 + Duration::from_millis(i as u64), &[i; 7]));
        }
        let mut got = Vec::new();
        assert_eq!(
            l.release(t0 + Duration::from_millis(2), |p| got.push(p.to_vec())),
            3
        );
        assert_eq!(got, vec![vec![0; 7], vec![1; 7], vec![2; 7]]);
        assert_eq!(l.next_due(), Some(t0 + Duration::from_millis(3)));
        assert_eq!(l.release(t0 + Duration::from_secs(1), |_| {}), 2);
        assert_eq!(l.next_due(), None);
    }

    #[test]
    fn random_traffic_matches_a_plain_queue() {
        // Random packet sizes and random partial releases against a model
        // queue: every packet must come back whole, in order, and the ring
        // must refuse (not overwrite) when it has no room.
        let t0 = Instant::now();
        let at = |seq: u64| t0 + Duration::from_micros(seq);
        let mut l = DelayLine::new(1000, 64, 100);
        let mut model: VecDeque<(u64, usize)> = VecDeque::new();
        let (mut seq, mut released, mut refused) = (0u64, 0u64, 0u32);
        let mut rng = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..20_000 {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            if !rng.is_multiple_of(3) {
                let len = 1 + (rng >> 8) as usize % 100;
                let fill = (seq % 251) as u8;
                if put(&mut l, at(seq), &vec![fill; len]) {
                    model.push_back((seq, len));
                    seq += 1;
                } else {
                    refused += 1;
                }
            } else {
                let upto = released + (rng >> 8) % 4;
                l.release(at(upto), |p| {
                    let (s, len) = model.pop_front().expect("released more than was held");
                    assert_eq!(p.len(), len);
                    assert!(
                        p.iter().all(|&b| b == (s % 251) as u8),
                        "packet {s} corrupted"
                    );
                    released = s + 1;
                });
                assert_eq!(l.len(), model.len());
            }
        }
        assert!(
            refused > 0 && seq > 5000,
            "test should exercise both full and wrapped states"
        );
    }

    #[test]
    fn wrap_then_partial_release_keeps_data() {
        let t0 = Instant::now();
        let later = t0 + Duration::from_secs(1);
        let mut l = DelayLine::new(350, 100, 100);
        assert!(put(&mut l, t0, &[1; 100])); // 0..100
        assert!(put(&mut l, t0, &[2; 100])); // 100..200
        assert!(put(&mut l, later, &[3; 100])); // 200..300
        assert!(!put(&mut l, later, &[9; 10]), "no 100-byte region left");
        assert_eq!(l.release(t0, |_| {}), 2); // head = 200
        assert!(put(&mut l, later, &[4; 100])); // wraps to 0..100
        assert!(
            !put(&mut l, later, &[9; 10]),
            "100..200 is only 100 bytes: must stay below head"
        );
        let mut got = Vec::new();
        l.release(later, |p| got.push((p[0], p.len())));
        assert_eq!(got, vec![(3, 100), (4, 100)]);
    }

    #[test]
    fn packet_count_limit() {
        let t0 = Instant::now();
        let mut l = DelayLine::new(10_000, 3, 100);
        for _ in 0..3 {
            assert!(put(&mut l, t0, &[0; 1]));
        }
        assert!(!put(&mut l, t0, &[0; 1]));
    }

    #[test]
    fn empty_reads_hold_nothing() {
        let t0 = Instant::now();
        let mut l = DelayLine::new(1000, 10, 100);
        assert!(l.push::<()>(t0, |_| Ok(None)).is_ok());
        assert!(l.push::<()>(t0, |_| Ok(Some(0))).is_ok());
        assert_eq!(l.len(), 0);
    }
}
