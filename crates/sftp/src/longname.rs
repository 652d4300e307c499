//! The v3 `longname`: an `ls -l` line, which OpenSSH's `sftp ls -l` prints verbatim.
//!
//! Layout follows OpenSSH's `ls_file()`: mode string, link count, owner, group, size, date,
//! name. Owner and group are numeric (the jail has no user database to consult), and dates are
//! UTC because the engine has no time zone.

use std::io::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

use wharf_vfs::{FileType, Metadata};

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Seconds in half a year: newer files show the time of day, older ones the year (as `ls`).
const HALF_YEAR: i64 = 365 * 24 * 60 * 60 / 2;

/// Writes the longname of `name` into `out` (cleared first), as of `now` (Unix seconds).
pub(crate) fn format(out: &mut Vec<u8>, name: &[u8], md: &Metadata, now: i64) {
    out.clear();
    push_mode(out, md);
    let mtime = md.mtime.secs;
    let (year, month, day, hour, minute) = civil(mtime);
    let month = MONTHS
        .get(month.saturating_sub(1) as usize)
        .unwrap_or(&"???");
    // Writing to a Vec cannot fail.
    let _ = write!(
        out,
        " {:>3} {:<8} {:<8} {:>8} {} {:>2} ",
        md.nlink, md.uid, md.gid, md.size, month, day
    );
    let _ = if now - HALF_YEAR < mtime && mtime <= now {
        write!(out, "{hour:02}:{minute:02} ")
    } else {
        write!(out, " {year} ")
    };
    out.extend_from_slice(name);
}

/// The current time for [`format`].
pub(crate) fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// `strmode(3)`: type letter, three rwx triplets with set-id and sticky bits, and the trailing
/// space BSD's strmode leaves for an ACL marker.
fn push_mode(out: &mut Vec<u8>, md: &Metadata) {
    out.push(match md.file_type {
        FileType::BlockDevice => b'b',
        FileType::CharDevice => b'c',
        FileType::Directory => b'd',
        FileType::Fifo => b'p',
        FileType::Regular => b'-',
        FileType::Socket => b's',
        FileType::Symlink => b'l',
        FileType::Unknown => b'?',
    });
    let mode = md.permissions;
    let triplet = |out: &mut Vec<u8>, shift: u32, special: u32, set: u8, unset: u8| {
        let bits = (mode >> shift) & 0o7;
        out.push(if bits & 0o4 != 0 { b'r' } else { b'-' });
        out.push(if bits & 0o2 != 0 { b'w' } else { b'-' });
        out.push(match (bits & 0o1 != 0, mode & special != 0) {
            (true, true) => set,
            (false, true) => unset,
            (true, false) => b'x',
            (false, false) => b'-',
        });
    };
    triplet(out, 6, 0o4000, b's', b'S');
    triplet(out, 3, 0o2000, b's', b'S');
    triplet(out, 0, 0o1000, b't', b'T');
    out.push(b' ');
}

/// Splits Unix seconds into a UTC (year, month 1–12, day 1–31, hour, minute), using the
/// proleptic Gregorian calendar's 400-year cycle of 146 097 days.
fn civil(secs: i64) -> (i64, u32, u32, i64, i64) {
    let days = secs.div_euclid(86_400);
    let in_day = secs.rem_euclid(86_400);
    // Shift the epoch to 0000-03-01 so that leap days fall at the end of a year.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153; // 0 = March
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (
        year,
        u32::try_from(month).unwrap_or(1),
        u32::try_from(day).unwrap_or(1),
        in_day / 3600,
        in_day % 3600 / 60,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use wharf_vfs::Timestamp;

    fn md(file_type: FileType, permissions: u32, mtime: i64) -> Metadata {
        Metadata {
            file_type,
            permissions,
            size: 1234,
            uid: 1000,
            gid: 100,
            nlink: 1,
            atime: Timestamp::default(),
            mtime: Timestamp::from_secs(mtime),
            ctime: Timestamp::default(),
            dev: 0,
            ino: 0,
        }
    }

    #[test]
    fn civil_dates() {
        // Reference values from `date -u -d @SECS`.
        assert_eq!(civil(0), (1970, 1, 1, 0, 0));
        assert_eq!(civil(951_782_400), (2000, 2, 29, 0, 0));
        assert_eq!(civil(1_700_000_000), (2023, 11, 14, 22, 13));
        assert_eq!(civil(-1), (1969, 12, 31, 23, 59));
        assert_eq!(civil(4_102_444_800), (2100, 1, 1, 0, 0));
    }

    #[test]
    fn recent_file_shows_time() {
        let mut out = Vec::new();
        let now = 1_700_000_000;
        format(
            &mut out,
            b"notes.txt",
            &md(FileType::Regular, 0o644, now - 60),
            now,
        );
        assert_eq!(
            out,
            b"-rw-r--r--    1 1000     100          1234 Nov 14 22:12 notes.txt"
        );
    }

    #[test]
    fn old_file_shows_year_and_special_bits() {
        let mut out = Vec::new();
        format(
            &mut out,
            b"d",
            &md(FileType::Directory, 0o7755, 0),
            1_700_000_000,
        );
        assert_eq!(
            out,
            b"drwsr-sr-t    1 1000     100          1234 Jan  1  1970 d"
        );
        format(
            &mut out,
            b"l",
            &md(FileType::Symlink, 0o6640, 0),
            1_700_000_000,
        );
        assert!(out.starts_with(b"lrwSr-S--- "), "{out:?}");
    }
}
