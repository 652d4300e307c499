//! The protocol's text records: parsing what a client sends in sink mode, formatting what the
//! server sends in source mode. Checks and their messages follow OpenSSH's `sink()` (the
//! `SCREWUP` reasons), so a client sees the words it would see from OpenSSH.

use std::io::Write as _;

use wharf_vfs::Timestamp;

use crate::MAX_NAME;

/// The permission bits scp puts in `C` and `D` records: `S_ISUID | S_ISGID | 0777`, OpenSSH's
/// `FILEMODEMASK` (no sticky bit).
pub(crate) const FILE_MODE_MASK: u32 = 0o6777;

/// A record line from the client, without its `\n`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Record<'a> {
    /// `T`: times for the next `C` or `D`.
    Times { mtime: Timestamp, atime: Timestamp },
    /// `C`: a file of `size` bytes follows.
    File {
        mode: u32,
        size: u64,
        name: &'a [u8],
    },
    /// `D`: a directory follows, up to the matching `E`.
    Dir { mode: u32, name: &'a [u8] },
    /// `E`: end of the current directory.
    End,
    /// `\x01`: a warning from the client; the transfer continues.
    Warning(&'a [u8]),
    /// `\x02`: a fatal error from the client.
    Fatal(&'a [u8]),
}

/// Why a record is refused; every case ends the transfer.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum RecordError {
    /// Malformed: `protocol error: <reason>`.
    Malformed(&'static str),
    /// A name that is not a single path component: `error: unexpected filename: <name>`.
    BadName(Vec<u8>),
}

impl RecordError {
    /// The message for the client, without the `scp: ` prefix.
    pub fn message(&self) -> Vec<u8> {
        match self {
            Self::Malformed(why) => format!("protocol error: {why}").into_bytes(),
            Self::BadName(name) => {
                let mut m = b"error: unexpected filename: ".to_vec();
                m.extend_from_slice(name);
                m
            }
        }
    }
}

/// Parses one record line (without its `\n`).
pub(crate) fn parse(line: &[u8]) -> Result<Record<'_>, RecordError> {
    let Some((&kind, rest)) = line.split_first() else {
        return Err(RecordError::Malformed("unexpected <newline>"));
    };
    match kind {
        b'\x01' => Ok(Record::Warning(rest)),
        b'\x02' => Ok(Record::Fatal(rest)),
        b'E' if rest.is_empty() => Ok(Record::End),
        b'E' => Err(RecordError::Malformed("E record not terminated")),
        b'T' => parse_times(rest),
        b'C' | b'D' => {
            let mut c = Cursor(rest);
            let mode = c.mode().ok_or(RecordError::Malformed("bad mode"))?;
            c.delimiter()
                .ok_or(RecordError::Malformed("mode not delimited"))?;
            let size = c
                .number()
                .ok_or(RecordError::Malformed("size not present"))?
                .filter(|&s| i64::try_from(s).is_ok())
                .ok_or(RecordError::Malformed("size out of range"))?;
            c.delimiter()
                .ok_or(RecordError::Malformed("size not delimited"))?;
            let name = check_name(c.0)?;
            Ok(if kind == b'C' {
                Record::File { mode, size, name }
            } else {
                Record::Dir { mode, name }
            })
        }
        _ => Err(RecordError::Malformed("expected control record")),
    }
}

/// `T<mtime.sec> <mtime.usec> <atime.sec> <atime.usec>`.
fn parse_times(rest: &[u8]) -> Result<Record<'_>, RecordError> {
    let mut c = Cursor(rest);
    let mtime_secs = c.seconds("mtime.sec not present", "mtime.sec out of range")?;
    c.delimiter()
        .ok_or(RecordError::Malformed("mtime.sec not delimited"))?;
    let mtime_usec = c
        .micros()
        .ok_or(RecordError::Malformed("mtime.usec not delimited"))?;
    c.delimiter()
        .ok_or(RecordError::Malformed("mtime.usec not delimited"))?;
    let atime_secs = c.seconds("atime.sec not present", "atime.sec out of range")?;
    c.delimiter()
        .ok_or(RecordError::Malformed("atime.sec not delimited"))?;
    let atime_usec = c
        .micros()
        .filter(|_| c.0.is_empty())
        .ok_or(RecordError::Malformed("atime.usec not delimited"))?;
    let ts = |secs, usec: u32| Timestamp {
        secs,
        nanos: usec * 1000,
    };
    Ok(Record::Times {
        mtime: ts(mtime_secs, mtime_usec),
        atime: ts(atime_secs, atime_usec),
    })
}

/// A name must be one path component: not empty, `.` or `..`, without `/` (OpenSSH's checks),
/// and without NUL (which could not reach the filesystem intact).
fn check_name(name: &[u8]) -> Result<&[u8], RecordError> {
    if name.len() > MAX_NAME {
        return Err(RecordError::Malformed("file name too long"));
    }
    if name.is_empty() || name == b"." || name == b".." || name.contains(&b'/') || name.contains(&0)
    {
        return Err(RecordError::BadName(name.to_vec()));
    }
    Ok(name)
}

/// A bounded reader over a record's bytes.
struct Cursor<'a>(&'a [u8]);

impl Cursor<'_> {
    /// Exactly four octal digits.
    fn mode(&mut self) -> Option<u32> {
        let (digits, rest) = self.0.split_at_checked(4)?;
        let mut mode = 0u32;
        for &d in digits {
            if !(b'0'..=b'7').contains(&d) {
                return None;
            }
            mode = (mode << 3) | u32::from(d - b'0');
        }
        self.0 = rest;
        Some(mode)
    }

    fn delimiter(&mut self) -> Option<()> {
        self.0 = self.0.strip_prefix(b" ")?;
        Some(())
    }

    /// A run of decimal digits: `None` if there is none, `Some(None)` if it overflows `u64`.
    fn number(&mut self) -> Option<Option<u64>> {
        let len = self.0.iter().take_while(|b| b.is_ascii_digit()).count();
        if len == 0 {
            return None;
        }
        let (digits, rest) = self.0.split_at_checked(len)?;
        self.0 = rest;
        Some(digits.iter().try_fold(0u64, |acc, &d| {
            acc.checked_mul(10)?.checked_add(u64::from(d - b'0'))
        }))
    }

    /// Seconds that fit a signed 64-bit `time_t`.
    fn seconds(
        &mut self,
        missing: &'static str,
        out_of_range: &'static str,
    ) -> Result<i64, RecordError> {
        let n = self.number().ok_or(RecordError::Malformed(missing))?;
        n.and_then(|n| i64::try_from(n).ok())
            .ok_or(RecordError::Malformed(out_of_range))
    }

    /// Microseconds, `0..=999_999`.
    fn micros(&mut self) -> Option<u32> {
        self.number()?
            .filter(|&u| u <= 999_999)
            .and_then(|u| u32::try_from(u).ok())
    }
}

/// `T<mtime> 0 <atime> 0\n`, as OpenSSH's `do_times()` writes it (negative times as 0, no
/// microseconds).
pub(crate) fn write_times(out: &mut Vec<u8>, mtime: Timestamp, atime: Timestamp) {
    let _ = writeln!(out, "T{} 0 {} 0", mtime.secs.max(0), atime.secs.max(0));
}

/// `C<mode> <size> <name>\n`.
pub(crate) fn write_file(out: &mut Vec<u8>, mode: u32, size: u64, name: &[u8]) {
    let _ = write!(out, "C{:04o} {size} ", mode & FILE_MODE_MASK);
    out.extend_from_slice(name);
    out.push(b'\n');
}

/// `D<mode> 0 <name>\n`.
pub(crate) fn write_dir(out: &mut Vec<u8>, mode: u32, name: &[u8]) {
    let _ = write!(out, "D{:04o} 0 ", mode & FILE_MODE_MASK);
    out.extend_from_slice(name);
    out.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn malformed(line: &[u8]) -> &'static str {
        match parse(line) {
            Err(RecordError::Malformed(why)) => why,
            other => panic!("{:?}: {other:?}", String::from_utf8_lossy(line)),
        }
    }

    #[test]
    fn file_records() {
        assert_eq!(
            parse(b"C0644 12 hello world.txt"),
            Ok(Record::File {
                mode: 0o644,
                size: 12,
                name: b"hello world.txt"
            })
        );
        assert_eq!(
            parse("C0755 0 café ☕".as_bytes()),
            Ok(Record::File {
                mode: 0o755,
                size: 0,
                name: "café ☕".as_bytes()
            })
        );
        assert_eq!(
            parse(b"D0700 0 sub"),
            Ok(Record::Dir {
                mode: 0o700,
                name: b"sub"
            })
        );
        assert_eq!(parse(b"E"), Ok(Record::End));
        assert_eq!(
            parse(b"\x01scp: x: oops"),
            Ok(Record::Warning(b"scp: x: oops"))
        );
        assert_eq!(parse(b"\x02fatal"), Ok(Record::Fatal(b"fatal")));
    }

    #[test]
    fn sizes_beyond_4_gib() {
        // 2^32 + 1 and 2^63 - 1 (the largest off_t) parse without truncation.
        assert_eq!(
            parse(b"C0644 4294967297 big"),
            Ok(Record::File {
                mode: 0o644,
                size: 4_294_967_297,
                name: b"big"
            })
        );
        assert_eq!(
            parse(b"C0644 9223372036854775807 big"),
            Ok(Record::File {
                mode: 0o644,
                size: i64::MAX as u64,
                name: b"big"
            })
        );
        assert_eq!(
            malformed(b"C0644 9223372036854775808 big"),
            "size out of range"
        );
        assert_eq!(
            malformed(b"C0644 18446744073709551616 big"),
            "size out of range"
        );
        assert_eq!(
            malformed(b"C0644 99999999999999999999999 big"),
            "size out of range"
        );
    }

    #[test]
    fn malformed_records() {
        assert_eq!(malformed(b""), "unexpected <newline>");
        assert_eq!(malformed(b"C0648 1 x"), "bad mode");
        assert_eq!(malformed(b"C644 1 x"), "bad mode");
        assert_eq!(malformed(b"C06a4 1 x"), "bad mode");
        assert_eq!(malformed(b"C06"), "bad mode");
        assert_eq!(malformed(b"C06444 1 x"), "mode not delimited");
        assert_eq!(malformed(b"C0644 x"), "size not present");
        assert_eq!(malformed(b"C0644 -1 x"), "size not present");
        assert_eq!(malformed(b"C0644 12x y"), "size not delimited");
        assert_eq!(malformed(b"C0644 12"), "size not delimited");
        assert_eq!(malformed(b"X"), "expected control record");
        assert_eq!(malformed(b"Ex"), "E record not terminated");
        assert_eq!(malformed(b"c0644 1 x"), "expected control record");
    }

    #[test]
    fn bad_names() {
        for name in [&b""[..], b".", b"..", b"../x", b"a/b", b"/", b"x\0y"] {
            let mut line = b"C0644 1 ".to_vec();
            line.extend_from_slice(name);
            assert_eq!(parse(&line), Err(RecordError::BadName(name.to_vec())));
            line[0] = b'D';
            assert_eq!(parse(&line), Err(RecordError::BadName(name.to_vec())));
        }
        let long = [b"C0644 1 ".to_vec(), vec![b'a'; MAX_NAME + 1]].concat();
        assert_eq!(malformed(&long), "file name too long");
        let max = [b"C0644 1 ".to_vec(), vec![b'a'; MAX_NAME]].concat();
        assert!(parse(&max).is_ok());
        assert_eq!(
            RecordError::BadName(b"../x".to_vec()).message(),
            b"error: unexpected filename: ../x"
        );
    }

    #[test]
    fn time_records() {
        assert_eq!(
            parse(b"T1700000000 123456 1600000000 999999"),
            Ok(Record::Times {
                mtime: Timestamp {
                    secs: 1_700_000_000,
                    nanos: 123_456_000
                },
                atime: Timestamp {
                    secs: 1_600_000_000,
                    nanos: 999_999_000
                },
            })
        );
        assert_eq!(malformed(b"T"), "mtime.sec not present");
        assert_eq!(malformed(b"Tx 0 0 0"), "mtime.sec not present");
        assert_eq!(malformed(b"T1"), "mtime.sec not delimited");
        assert_eq!(malformed(b"T1 1000000 0 0"), "mtime.usec not delimited");
        assert_eq!(malformed(b"T1 -1 0 0"), "mtime.usec not delimited");
        assert_eq!(malformed(b"T1 0"), "mtime.usec not delimited");
        assert_eq!(malformed(b"T1 0 "), "atime.sec not present");
        assert_eq!(malformed(b"T1 0 2"), "atime.sec not delimited");
        assert_eq!(malformed(b"T1 0 2 "), "atime.usec not delimited");
        assert_eq!(malformed(b"T1 0 2 0 "), "atime.usec not delimited");
        assert_eq!(malformed(b"T1 0 2 1000000"), "atime.usec not delimited");
        assert_eq!(
            malformed(b"T9223372036854775808 0 0 0"),
            "mtime.sec out of range"
        );
        assert_eq!(
            malformed(b"T0 0 99999999999999999999 0"),
            "atime.sec out of range"
        );
    }

    #[test]
    fn formats_like_openssh() {
        let mut out = Vec::new();
        write_times(
            &mut out,
            Timestamp {
                secs: 1_700_000_000,
                nanos: 5,
            },
            Timestamp::from_secs(-5),
        );
        write_file(&mut out, 0o100_644, 4_294_967_297, b"a b");
        write_file(&mut out, 0o7755, 0, b"s");
        write_dir(&mut out, 0o40_755, "dé".as_bytes());
        assert_eq!(
            out,
            "T1700000000 0 0 0\nC0644 4294967297 a b\nC6755 0 s\nD0755 0 dé\n".as_bytes()
        );
    }
}
