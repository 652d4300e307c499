//! The transmit buffer: sealed packets waiting for the driver to write them.
//!
//! Like the decoder's receive buffer, it keeps the bytes past its end from
//! earlier use instead of truncating them, so laying out a large packet
//! (file data read straight into it) does not zero the space first; only
//! growth beyond the largest size so far is zeroed.
//!
//! The spare bytes are kept until the connection has written nothing for a
//! while (the connection decides when, `release_spare`): a run of small
//! replies laid out in large reservations (an SFTP READ of a 4 KiB file
//! reserves the whole request's length) then reuses them instead of
//! allocating and zeroing them again for every reply.

/// Up to this much is kept even when idle: what a login or an interactive
/// exchange uses.
const KEEP_WHEN_IDLE: usize = 16 * 1024;
/// Written bytes at the front are dropped once they are this many and
/// outnumber the unwritten ones (a slow reader, output still arriving).
const COMPACT_AT: usize = 256 * 1024;

#[derive(Debug, Default)]
pub(crate) struct Output {
    /// Initialized bytes; `start..end` is pending, the rest is spare.
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

impl Output {
    pub(crate) fn with_capacity(n: usize) -> Self {
        Output {
            buf: Vec::with_capacity(n),
            start: 0,
            end: 0,
        }
    }

    /// Bytes waiting to be written.
    pub(crate) fn pending(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    pub(crate) fn pending_len(&self) -> usize {
        self.end - self.start
    }

    /// Where the next byte will be appended.
    pub(crate) fn end(&self) -> usize {
        self.end
    }

    /// Memory held.
    pub(crate) fn capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// Whether releasing the spare bytes would free memory worth freeing.
    pub(crate) fn holds_spare(&self) -> bool {
        self.buf.len() > KEEP_WHEN_IDLE
    }

    /// Frees the buffer if nothing is pending and it is larger than an
    /// idle connection needs.
    pub(crate) fn release_spare(&mut self) {
        if self.start == self.end && self.holds_spare() {
            self.buf = Vec::new();
            self.start = 0;
            self.end = 0;
        }
    }

    /// Marks `n` pending bytes as written; true when that emptied the buffer.
    pub(crate) fn consume(&mut self, n: usize) -> bool {
        self.start = (self.start + n).min(self.end);
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
            return true;
        }
        if self.start >= COMPACT_AT && self.start > self.end - self.start {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        false
    }

    /// Drops everything pending (a fuzzing harness starting mid-protocol).
    #[cfg(feature = "fuzzing")]
    pub(crate) fn clear(&mut self) {
        self.start = 0;
        self.end = 0;
    }

    /// Appends `n` bytes of space and returns it; its contents are whatever
    /// was there (the caller overwrites all of it).
    pub(crate) fn grow(&mut self, n: usize) -> &mut [u8] {
        let begin = self.end;
        let end = begin + n;
        if self.buf.len() < end {
            self.buf.resize(end, 0);
        }
        self.end = end;
        &mut self.buf[begin..end]
    }

    pub(crate) fn extend_from_slice(&mut self, data: &[u8]) {
        self.grow(data.len()).copy_from_slice(data);
    }

    /// The bytes at `range`, which must lie within what was appended.
    pub(crate) fn slice_mut(&mut self, range: std::ops::Range<usize>) -> &mut [u8] {
        assert!(range.end <= self.end, "Output::slice_mut past the end");
        &mut self.buf[range]
    }

    /// Drops appended bytes from `at` on (`at` is at least the pending start).
    pub(crate) fn truncate(&mut self, at: usize) {
        self.end = at.clamp(self.start, self.end);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_consumes_and_reuses_space_without_zeroing_it() {
        let mut out = Output::default();
        out.extend_from_slice(&[7; 40_000]);
        out.consume(40_000);
        assert_eq!(out.pending_len(), 0);
        // A large batch keeps the buffer, and its old bytes, for the next.
        assert!(out.capacity() >= 40_000);
        assert_eq!(out.grow(3), [7, 7, 7]);
        out.truncate(1);
        assert_eq!(out.pending(), [7]);
        out.extend_from_slice(b"ab");
        assert_eq!(out.pending(), b"\x07ab");
        // Draining keeps the spare until it is released.
        assert!(out.consume(3));
        assert!(out.holds_spare());
        assert_eq!(out.grow(2), [7, b'a']);
        // Nothing is freed while bytes are pending.
        out.release_spare();
        assert!(out.capacity() >= 40_000);
        assert!(out.consume(2));
        out.release_spare();
        assert_eq!(out.capacity(), 0);
        assert!(!out.holds_spare());
    }

    #[test]
    fn partial_writes_keep_order_and_compact() {
        let mut out = Output::default();
        let data: Vec<u8> = (0..600_000u32).map(|i| i as u8).collect();
        out.extend_from_slice(&data);
        out.consume(400_000);
        assert_eq!(out.pending(), &data[400_000..]);
        // Compacted: the written front is gone, the rest moved down.
        assert_eq!(out.end(), 200_000);
        out.extend_from_slice(b"xyz");
        let mut want = data[400_000..].to_vec();
        want.extend_from_slice(b"xyz");
        assert_eq!(out.pending(), &want[..]);
    }
}
