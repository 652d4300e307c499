//! SSH wire encoding (RFC 4251 §5): a bounded reader, the only way wire
//! data is parsed in this crate, and a writer for building payloads.

use thiserror::Error;

/// A wire field was missing, too long or malformed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("malformed message: {0}")]
pub struct WireError(pub &'static str);

/// Reads SSH wire types from a byte slice, never past its end.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Reader { rest: data }
    }

    /// Takes exactly `len` bytes, or fails without consuming anything.
    pub fn take(&mut self, len: usize) -> Result<&'a [u8], WireError> {
        if len > self.rest.len() {
            return Err(WireError("field runs past the end of the message"));
        }
        let (head, tail) = self.rest.split_at(len);
        self.rest = tail;
        Ok(head)
    }

    pub fn u8(&mut self) -> Result<u8, WireError> {
        Ok(self.take(1)?[0])
    }

    pub fn bool(&mut self) -> Result<bool, WireError> {
        Ok(self.u8()? != 0)
    }

    pub fn u32(&mut self) -> Result<u32, WireError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub fn u64(&mut self) -> Result<u64, WireError> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_be_bytes(a))
    }

    /// A `string`: uint32 length then that many bytes. The length is
    /// checked against what remains before anything is sliced.
    pub fn string(&mut self) -> Result<&'a [u8], WireError> {
        let len = self.u32()? as usize;
        self.take(len)
    }

    /// A `string` that must be UTF-8 (user names, service names, ...).
    pub fn utf8(&mut self) -> Result<&'a str, WireError> {
        std::str::from_utf8(self.string()?).map_err(|_| WireError("string is not UTF-8"))
    }

    /// A `name-list`: comma-separated US-ASCII names.
    pub fn name_list(&mut self) -> Result<NameList<'a>, WireError> {
        let raw = self.string()?;
        if !raw.is_ascii() {
            return Err(WireError("name-list is not US-ASCII"));
        }
        // Checked ASCII above, so this cannot fail.
        let s = std::str::from_utf8(raw).map_err(|_| WireError("name-list is not US-ASCII"))?;
        Ok(NameList(s))
    }

    pub fn remaining(&self) -> usize {
        self.rest.len()
    }

    pub fn rest(&self) -> &'a [u8] {
        self.rest
    }

    /// Fails if any bytes are left: messages are parsed strictly.
    pub fn finish(&self) -> Result<(), WireError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(WireError("trailing bytes after the message"))
        }
    }
}

/// A borrowed, validated name-list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NameList<'a>(pub &'a str);

impl<'a> NameList<'a> {
    pub fn iter(&self) -> impl Iterator<Item = &'a str> {
        let s = self.0;
        s.split(',').filter(|n| !n.is_empty())
    }

    pub fn contains(&self, name: &str) -> bool {
        self.iter().any(|n| n == name)
    }
}

/// Appends SSH wire types to a byte vector.
pub trait WriteExt {
    fn put_u8(&mut self, v: u8);
    fn put_bool(&mut self, v: bool);
    fn put_u32(&mut self, v: u32);
    fn put_u64(&mut self, v: u64);
    fn put_string(&mut self, v: &[u8]);
    /// An `mpint` from unsigned big-endian magnitude bytes.
    fn put_mpint_unsigned(&mut self, magnitude: &[u8]);
    fn put_name_list<S: AsRef<str>>(&mut self, names: &[S]);
}

impl WriteExt for Vec<u8> {
    fn put_u8(&mut self, v: u8) {
        self.push(v);
    }
    fn put_bool(&mut self, v: bool) {
        self.push(v as u8);
    }
    fn put_u32(&mut self, v: u32) {
        self.extend_from_slice(&v.to_be_bytes());
    }
    fn put_u64(&mut self, v: u64) {
        self.extend_from_slice(&v.to_be_bytes());
    }
    fn put_string(&mut self, v: &[u8]) {
        // Every string we write is far below 4 GiB; payloads are bounded
        // by the packet size long before this.
        self.put_u32(v.len() as u32);
        self.extend_from_slice(v);
    }
    fn put_mpint_unsigned(&mut self, magnitude: &[u8]) {
        let first_nonzero = magnitude.iter().position(|&b| b != 0);
        let digits = match first_nonzero {
            Some(i) => &magnitude[i..],
            None => &[][..],
        };
        let pad = digits.first().is_some_and(|&b| b & 0x80 != 0);
        self.put_u32((digits.len() + pad as usize) as u32);
        if pad {
            self.push(0);
        }
        self.extend_from_slice(digits);
    }
    fn put_name_list<S: AsRef<str>>(&mut self, names: &[S]) {
        let len: usize =
            names.iter().map(|n| n.as_ref().len()).sum::<usize>() + names.len().saturating_sub(1);
        self.put_u32(len as u32);
        for (i, n) in names.iter().enumerate() {
            if i > 0 {
                self.push(b',');
            }
            self.extend_from_slice(n.as_ref().as_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_length_is_bounded_by_the_message() {
        let mut r = Reader::new(&[0, 0, 0, 5, b'a', b'b']);
        assert!(r.string().is_err());
        let mut r = Reader::new(&[0xff, 0xff, 0xff, 0xff]);
        assert!(r.string().is_err());
    }

    #[test]
    fn reads_what_the_writer_writes() {
        let mut v = Vec::new();
        v.put_u8(7);
        v.put_bool(true);
        v.put_u32(0xdead_beef);
        v.put_u64(1 << 40);
        v.put_string(b"hello");
        v.put_name_list(&["a", "bc"]);
        let mut r = Reader::new(&v);
        assert_eq!(r.u8().unwrap(), 7);
        assert!(r.bool().unwrap());
        assert_eq!(r.u32().unwrap(), 0xdead_beef);
        assert_eq!(r.u64().unwrap(), 1 << 40);
        assert_eq!(r.string().unwrap(), b"hello");
        let names: Vec<_> = r.name_list().unwrap().iter().collect();
        assert_eq!(names, ["a", "bc"]);
        r.finish().unwrap();
    }

    // RFC 4251 §5 mpint examples.
    #[test]
    fn mpint_encoding_matches_rfc4251_examples() {
        let mut v = Vec::new();
        v.put_mpint_unsigned(&[]);
        assert_eq!(v, [0, 0, 0, 0]);
        let mut v = Vec::new();
        v.put_mpint_unsigned(&hex::decode("09a378f9b2e332a7").unwrap());
        assert_eq!(v, hex::decode("0000000809a378f9b2e332a7").unwrap());
        let mut v = Vec::new();
        v.put_mpint_unsigned(&[0x00, 0x80]);
        assert_eq!(v, hex::decode("000000020080").unwrap());
    }

    #[test]
    fn name_list_rejects_non_ascii() {
        let mut v = Vec::new();
        v.put_string("é".as_bytes());
        assert!(Reader::new(&v).name_list().is_err());
    }
}
