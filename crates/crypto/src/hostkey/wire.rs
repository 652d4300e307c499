//! The few SSH wire types (RFC 4251 §5) that key blobs, signature blobs
//! and OpenSSH key files are made of: a bounded reader, the only way this
//! module parses bytes, and a writer.

use zeroize::Zeroizing;

/// Why a field could not be read. The caller adds what was being parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WireError {
    Truncated,
    Trailing(usize),
    NegativeMpint,
    NonMinimalMpint,
}

impl std::fmt::Display for WireError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WireError::Truncated => f.write_str("a field runs past the end of the data"),
            WireError::Trailing(n) => write!(f, "{n} unexpected trailing bytes"),
            WireError::NegativeMpint => f.write_str("an mpint is negative"),
            WireError::NonMinimalMpint => f.write_str("an mpint has an unnecessary leading zero"),
        }
    }
}

/// Reads SSH wire types from a slice, never past its end.
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        Reader { rest: data }
    }

    /// Takes exactly `len` bytes, or fails without consuming anything.
    pub(crate) fn take(&mut self, len: usize) -> Result<&'a [u8], WireError> {
        let (head, tail) = self
            .rest
            .split_at_checked(len)
            .ok_or(WireError::Truncated)?;
        self.rest = tail;
        Ok(head)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, WireError> {
        let [b] = self.array::<1>()?;
        Ok(b)
    }

    pub(crate) fn u32(&mut self) -> Result<u32, WireError> {
        Ok(u32::from_be_bytes(self.array::<4>()?))
    }

    pub(crate) fn u64(&mut self) -> Result<u64, WireError> {
        Ok(u64::from_be_bytes(self.array::<8>()?))
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], WireError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    /// A `string`: uint32 length, then that many bytes. The length is
    /// checked against what remains before anything is sliced.
    pub(crate) fn string(&mut self) -> Result<&'a [u8], WireError> {
        let len = usize::try_from(self.u32()?).map_err(|_| WireError::Truncated)?;
        self.take(len)
    }

    /// A non-negative `mpint` in canonical form (RFC 4251 §5: no
    /// unnecessary leading zero byte), returned as its magnitude without
    /// the sign byte. Public key blobs are read this way so that one key
    /// has exactly one encoding, and comparing blobs compares keys.
    pub(crate) fn mpint_canonical(&mut self) -> Result<&'a [u8], WireError> {
        let raw = self.string()?;
        match raw {
            [] => Ok(raw),
            [first, ..] if first & 0x80 != 0 => Err(WireError::NegativeMpint),
            [0, second, ..] if second & 0x80 != 0 => Ok(raw.get(1..).unwrap_or_default()),
            [0, ..] => Err(WireError::NonMinimalMpint),
            _ => Ok(raw),
        }
    }

    /// A non-negative `mpint`, tolerating extra leading zeros as OpenSSH's
    /// sshbuf_get_bignum2_bytes_direct() does. Used for signature values
    /// and key files, where the number matters and not its spelling.
    pub(crate) fn mpint_lenient(&mut self) -> Result<&'a [u8], WireError> {
        let raw = self.string()?;
        if raw.first().is_some_and(|b| b & 0x80 != 0) {
            return Err(WireError::NegativeMpint);
        }
        Ok(strip_leading_zeros(raw))
    }

    pub(crate) fn remaining(&self) -> usize {
        self.rest.len()
    }

    /// Succeeds only if everything has been read.
    pub(crate) fn finish(self) -> Result<(), WireError> {
        match self.rest.len() {
            0 => Ok(()),
            n => Err(WireError::Trailing(n)),
        }
    }
}

pub(crate) fn strip_leading_zeros(mut bytes: &[u8]) -> &[u8] {
    while let [0, rest @ ..] = bytes {
        bytes = rest;
    }
    bytes
}

/// Builds SSH wire data. Backed by a zeroizing vector because it also
/// writes private key files; callers size it up front (`with_capacity`)
/// so that it never reallocates and leaves a stale copy behind.
pub(crate) struct Writer {
    buf: Zeroizing<Vec<u8>>,
}

impl Writer {
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Writer {
            buf: Zeroizing::new(Vec::with_capacity(capacity)),
        }
    }

    pub(crate) fn raw(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    pub(crate) fn u32(&mut self, v: u32) {
        self.raw(&v.to_be_bytes());
    }

    pub(crate) fn string(&mut self, bytes: &[u8]) {
        // Everything written here is a key or signature far below 4 GiB;
        // saturating keeps the writer total without a panic path.
        self.u32(u32::try_from(bytes.len()).unwrap_or(u32::MAX));
        self.raw(bytes);
    }

    /// Writes a non-negative integer given as big-endian magnitude (extra
    /// leading zeros allowed) as a minimal `mpint`.
    pub(crate) fn mpint(&mut self, magnitude: &[u8]) {
        let m = strip_leading_zeros(magnitude);
        let sign_byte = m.first().is_some_and(|b| b & 0x80 != 0);
        let len = m.len() + usize::from(sign_byte);
        self.u32(u32::try_from(len).unwrap_or(u32::MAX));
        if sign_byte {
            self.raw(&[0]);
        }
        self.raw(m);
    }

    pub(crate) fn len(&self) -> usize {
        self.buf.len()
    }

    /// The bytes written, still zeroizing.
    pub(crate) fn into_zeroizing(self) -> Zeroizing<Vec<u8>> {
        self.buf
    }

    /// The bytes written, for public data (blobs, signatures).
    pub(crate) fn into_public(mut self) -> Vec<u8> {
        std::mem::take(&mut *self.buf)
    }
}

/// Bytes a `string` holding `len` bytes takes on the wire.
pub(crate) const fn string_len(len: usize) -> usize {
    4 + len
}

/// Bytes an `mpint` of a `len`-byte magnitude takes at most on the wire.
pub(crate) const fn mpint_len(len: usize) -> usize {
    5 + len
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 4251 §5 gives these mpint encodings as examples.
    #[test]
    fn mpint_examples_from_rfc4251() {
        let cases: [(&[u8], &[u8]); 3] = [
            (&[], &[0, 0, 0, 0]),
            (
                &[0x09, 0xa3, 0x78, 0xf9, 0xb2, 0xe3, 0x32, 0xa7],
                &[0, 0, 0, 8, 0x09, 0xa3, 0x78, 0xf9, 0xb2, 0xe3, 0x32, 0xa7],
            ),
            (&[0x80], &[0, 0, 0, 2, 0x00, 0x80]),
        ];
        for (magnitude, wire) in cases {
            let mut w = Writer::with_capacity(16);
            w.mpint(magnitude);
            assert_eq!(w.into_public(), wire);
            let mut r = Reader::new(wire);
            assert_eq!(r.mpint_canonical().unwrap(), magnitude);
            r.finish().unwrap();
        }
        // Leading zeros in the input magnitude are dropped when writing.
        let mut w = Writer::with_capacity(16);
        w.mpint(&[0, 0, 0x80]);
        assert_eq!(w.into_public(), [0, 0, 0, 2, 0x00, 0x80]);
    }

    #[test]
    fn mpint_strictness() {
        // -1234 from RFC 4251 §5 is negative: refused.
        let neg = [0, 0, 0, 2, 0xed, 0xcc];
        assert_eq!(
            Reader::new(&neg).mpint_canonical(),
            Err(WireError::NegativeMpint)
        );
        assert_eq!(
            Reader::new(&neg).mpint_lenient(),
            Err(WireError::NegativeMpint)
        );
        // An unnecessary leading zero: canonical refuses, lenient strips.
        let padded = [0, 0, 0, 3, 0x00, 0x00, 0x7f];
        assert_eq!(
            Reader::new(&padded).mpint_canonical(),
            Err(WireError::NonMinimalMpint)
        );
        assert_eq!(Reader::new(&padded).mpint_lenient(), Ok(&[0x7f][..]));
        assert_eq!(
            Reader::new(&[0, 0, 0, 1, 0]).mpint_canonical(),
            Err(WireError::NonMinimalMpint)
        );
    }

    #[test]
    fn reader_bounds() {
        let mut r = Reader::new(&[0, 0, 0, 5, 1, 2]);
        assert_eq!(r.string(), Err(WireError::Truncated));
        let mut r = Reader::new(&[0xff, 0xff, 0xff, 0xff]);
        assert_eq!(r.string(), Err(WireError::Truncated));
        let mut r = Reader::new(&[0, 0, 0, 1, 7, 9]);
        assert_eq!(r.string(), Ok(&[7][..]));
        assert_eq!(r.remaining(), 1);
        assert_eq!(r.finish(), Err(WireError::Trailing(1)));
        assert_eq!(Reader::new(&[1, 2, 3]).u32(), Err(WireError::Truncated));
    }
}
