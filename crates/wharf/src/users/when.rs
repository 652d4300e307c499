//! Dates for account expiry and authorized_keys `expiry-time=`, as Unix
//! seconds in UTC. Hand-written (a few lines of calendar arithmetic) rather
//! than a date crate: only parsing and printing of fixed shapes is needed.

use std::time::{SystemTime, UNIX_EPOCH};

/// Days from 1970-01-01 to the given civil date (proleptic Gregorian),
/// Howard Hinnant's `days_from_civil`
/// (https://howardhinnant.github.io/date_algorithms.html).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse, `civil_from_days`, from the same page.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

fn digits(s: &str) -> Option<i64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn to_unix(parts: [i64; 6]) -> Option<i64> {
    let [y, mo, d, h, mi, s] = parts;
    let valid = (1970..=9999).contains(&y)
        && (1..=12).contains(&mo)
        && (1..=days_in_month(y, mo)).contains(&d)
        && (0..24).contains(&h)
        && (0..60).contains(&mi)
        && (0..61).contains(&s);
    valid.then(|| days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s)
}

/// sshd's `expiry-time="timespec"`: YYYYMMDD or YYYYMMDDHHMM[SS], with an
/// optional trailing `Z`. sshd reads a time without `Z` in the system's
/// time zone; Wharf reads every time as UTC (documented), so write `Z`.
pub fn parse_ssh_timespec(text: &str) -> Result<i64, String> {
    let bad = || format!("bad time `{text}`: expected YYYYMMDD[Z] or YYYYMMDDHHMM[SS][Z]");
    let s = text.strip_suffix(['Z', 'z']).unwrap_or(text);
    if !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let field = |r: std::ops::Range<usize>| s.get(r).and_then(digits);
    let (h, mi, sec) = match s.len() {
        8 => (0, 0, 0),
        12 => (
            field(8..10).ok_or_else(bad)?,
            field(10..12).ok_or_else(bad)?,
            0,
        ),
        14 => (
            field(8..10).ok_or_else(bad)?,
            field(10..12).ok_or_else(bad)?,
            field(12..14).ok_or_else(bad)?,
        ),
        _ => return Err(bad()),
    };
    let y = field(0..4).ok_or_else(bad)?;
    let mo = field(4..6).ok_or_else(bad)?;
    let d = field(6..8).ok_or_else(bad)?;
    to_unix([y, mo, d, h, mi, sec]).ok_or_else(bad)
}

/// An account expiry: `YYYY-MM-DD` (the account works through that day,
/// UTC, and expires at the next midnight) or `YYYY-MM-DDTHH:MM:SSZ` (the
/// exact instant; a space may replace the `T`).
pub fn parse_expiry(text: &str) -> Result<i64, String> {
    let bad = || format!("bad date `{text}`: expected YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (UTC)");
    let text = text.trim();
    let (date, time) = match text.split_once(['T', 't', ' ']) {
        Some((d, t)) => (d, Some(t)),
        None => (text, None),
    };
    let mut ymd = date.split('-');
    let (Some(y), Some(mo), Some(d), None) = (ymd.next(), ymd.next(), ymd.next(), ymd.next())
    else {
        return Err(bad());
    };
    if y.len() != 4 || mo.len() != 2 || d.len() != 2 {
        return Err(bad());
    }
    let (y, mo, d) = (
        digits(y).ok_or_else(bad)?,
        digits(mo).ok_or_else(bad)?,
        digits(d).ok_or_else(bad)?,
    );
    match time {
        None => to_unix([y, mo, d, 0, 0, 0])
            .map(|t| t + 86_400)
            .ok_or_else(bad),
        Some(t) => {
            let t = t
                .strip_suffix(['Z', 'z'])
                .or_else(|| t.strip_suffix("+00:00"))
                .ok_or_else(bad)?;
            let mut hms = t.split(':');
            let (Some(h), Some(mi), Some(s), None) =
                (hms.next(), hms.next(), hms.next(), hms.next())
            else {
                return Err(bad());
            };
            if h.len() != 2 || mi.len() != 2 || s.len() != 2 {
                return Err(bad());
            }
            let (h, mi, s) = (
                digits(h).ok_or_else(bad)?,
                digits(mi).ok_or_else(bad)?,
                digits(s).ok_or_else(bad)?,
            );
            to_unix([y, mo, d, h, mi, s]).ok_or_else(bad)
        }
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` (RFC 3339, UTC).
pub fn format_utc(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// Seconds since the Unix epoch; 0 if the clock is before it.
pub fn unix_now(now: SystemTime) -> i64 {
    now.duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Reference points: 2000-03-01 is day 11017 and 2038-01-19T03:14:07Z is
    // 2^31-1 seconds, the well-known 32-bit time_t limit.
    #[test]
    fn known_instants() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(parse_ssh_timespec("20380119031407Z"), Ok(2_147_483_647));
        assert_eq!(format_utc(2_147_483_647), "2038-01-19T03:14:07Z");
        assert_eq!(format_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(parse_expiry("2038-01-19T03:14:07Z"), Ok(2_147_483_647));
        assert_eq!(parse_expiry("2038-01-19 03:14:07Z"), Ok(2_147_483_647));
        // A bare date lasts through its day.
        assert_eq!(parse_expiry("1970-01-01"), Ok(86_400));
        for t in [0, 951_782_400, 1_709_164_800, 4_102_444_800] {
            assert_eq!(parse_expiry(&format_utc(t)), Ok(t), "{t}");
        }
    }

    #[test]
    fn ssh_timespecs() {
        assert_eq!(parse_ssh_timespec("19700102"), Ok(86_400));
        assert_eq!(parse_ssh_timespec("197001020001"), Ok(86_460));
        assert_eq!(parse_ssh_timespec("19700102000101z"), Ok(86_461));
        for bad in [
            "1970010",
            "2024023012",
            "20240230",
            "20241301",
            "2024010125",
            "x",
            "",
            "2024-01-01",
            "202401010000000",
        ] {
            assert!(parse_ssh_timespec(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn bad_expiry_dates() {
        for bad in [
            "2023-02-29",
            "2024-13-01",
            "24-01-01",
            "2024-01-01T10:00:00",
            "2024-1-1",
            "2024-01-01T24:00:00Z",
            "tomorrow",
        ] {
            assert!(parse_expiry(bad).is_err(), "{bad}");
        }
        assert!(parse_expiry("2024-02-29").is_ok());
    }
}
