//! SFTP wire primitives: a bounded reader for untrusted input and appenders for replies.
//!
//! The reader is the only way wire data is parsed: every length is checked against what is
//! left before it is used, so a hostile length can neither panic nor allocate.

/// Why a packet could not be decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// A field ran past the end of the packet.
    #[error("{field} runs past the end of the packet")]
    Truncated {
        /// The field being read.
        field: &'static str,
    },
    /// A field has a value the protocol does not allow.
    #[error("invalid {field}")]
    Invalid {
        /// The offending field.
        field: &'static str,
    },
}

/// A cursor over untrusted bytes that never reads past its end.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Self { buf }
    }

    /// Takes exactly `len` bytes, or fails without consuming anything.
    pub(crate) fn take(
        &mut self,
        len: usize,
        field: &'static str,
    ) -> Result<&'a [u8], DecodeError> {
        let (head, tail) = self
            .buf
            .split_at_checked(len)
            .ok_or(DecodeError::Truncated { field })?;
        self.buf = tail;
        Ok(head)
    }

    pub(crate) fn u8(&mut self, field: &'static str) -> Result<u8, DecodeError> {
        let [b] = self.array::<1>(field)?;
        Ok(b)
    }

    pub(crate) fn u32(&mut self, field: &'static str) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array(field)?))
    }

    pub(crate) fn u64(&mut self, field: &'static str) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.array(field)?))
    }

    /// A `string`: a `uint32` length, then that many bytes (borrowed, not copied).
    pub(crate) fn string(&mut self, field: &'static str) -> Result<&'a [u8], DecodeError> {
        let len = self.u32(field)?;
        let len = usize::try_from(len).map_err(|_| DecodeError::Truncated { field })?;
        self.take(len, field)
    }

    /// Whatever is left, consuming it.
    #[cfg(test)]
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.buf)
    }

    /// Whether every byte has been read (trailing optional fields are positional).
    pub(crate) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], DecodeError> {
        let bytes = self.take(N, field)?;
        bytes
            .try_into()
            .map_err(|_| DecodeError::Truncated { field })
    }
}

pub(crate) fn put_u8(out: &mut Vec<u8>, v: u8) {
    out.push(v);
}

pub(crate) fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_be_bytes());
}

pub(crate) fn put_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_be_bytes());
}

/// Appends a `string`. Replies are built from our own bounded data, so a length that does not
/// fit in a `uint32` cannot occur; it is clamped rather than trusted.
pub(crate) fn put_string(out: &mut Vec<u8>, s: &[u8]) {
    let len = u32::try_from(s.len()).unwrap_or(u32::MAX);
    put_u32(out, len);
    out.extend_from_slice(s.get(..len as usize).unwrap_or(s));
}

/// Overwrites a big-endian `uint32` placeholder at `at` (written earlier by the caller).
pub(crate) fn patch_u32(out: &mut [u8], at: usize, v: u32) {
    if let Some(slot) = out.get_mut(at..at.saturating_add(4)) {
        slot.copy_from_slice(&v.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_fields_in_order() {
        let bytes = [
            7, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 3, b'a', b'b', b'c', 9,
        ];
        let mut r = Reader::new(&bytes);
        assert_eq!(r.u8("a"), Ok(7));
        assert_eq!(r.u32("b"), Ok(1));
        assert_eq!(r.u64("c"), Ok(2));
        assert_eq!(r.string("d"), Ok(&b"abc"[..]));
        assert!(!r.is_empty());
        assert_eq!(r.rest(), &[9]);
        assert!(r.is_empty());
    }

    #[test]
    fn never_reads_past_the_end() {
        // A string claiming 4 GiB with three bytes behind it.
        let mut r = Reader::new(&[0xff, 0xff, 0xff, 0xff, 1, 2, 3]);
        assert_eq!(r.string("s"), Err(DecodeError::Truncated { field: "s" }));
        let mut r = Reader::new(&[0, 0, 1]);
        assert_eq!(r.u32("n"), Err(DecodeError::Truncated { field: "n" }));
        // A failed take consumes nothing.
        assert_eq!(r.take(2, "x"), Ok(&[0u8, 0][..]));
        assert_eq!(r.u64("y"), Err(DecodeError::Truncated { field: "y" }));
        assert_eq!(r.u8("z"), Ok(1));
    }

    #[test]
    fn writers_are_big_endian() {
        let mut out = Vec::new();
        put_u8(&mut out, 1);
        put_u32(&mut out, 0x0203_0405);
        put_u64(&mut out, 0x0607_0809_0a0b_0c0d);
        put_string(&mut out, b"hi");
        patch_u32(&mut out, 1, 0xaabb_ccdd);
        assert_eq!(
            out,
            [1, 0xaa, 0xbb, 0xcc, 0xdd, 6, 7, 8, 9, 10, 11, 12, 13, 0, 0, 0, 2, b'h', b'i']
        );
    }
}
