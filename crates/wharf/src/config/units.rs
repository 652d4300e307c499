//! Durations and byte sizes as written in the config file.
//!
//! Durations follow OpenSSH's sshd_config TIME FORMAT, plus milliseconds:
//! a bare number is seconds, otherwise a sequence of `<number><unit>` with
//! units `ms`, `s`, `m`, `h`, `d`, `w` (so `1h30m`). Sizes follow RekeyLimit:
//! a number of bytes with an optional `K`, `M`, `G` or `T` suffix (powers of
//! 1024, case-insensitive).

use std::time::Duration;

/// Parses a duration such as `120`, `120s`, `2m`, `1h30m` or `500ms`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("empty duration".into());
    }
    let mut total_ms: u64 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(format!(
                "bad duration `{text}`: expected a number, then optionally a unit ms, s, m, h, d or w"
            ));
        }
        let (number, after) = rest.split_at(digits);
        let unit_len = after.bytes().take_while(u8::is_ascii_alphabetic).count();
        let (unit, after) = after.split_at(unit_len);
        let unit_ms: u64 = match unit.to_ascii_lowercase().as_str() {
            // A bare number is seconds only when it is the whole value, as in
            // OpenSSH; "1h30" would be ambiguous.
            "" if rest.len() == text.len() && after.is_empty() => 1000,
            "ms" => 1,
            "s" => 1000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "w" => 604_800_000,
            "" => match after.chars().next() {
                Some(c) => return Err(format!("bad duration `{text}`: unexpected `{c}`")),
                None => return Err(format!("bad duration `{text}`: `{number}` has no unit")),
            },
            other => {
                return Err(format!(
                    "bad duration `{text}`: unknown unit `{other}` (use ms, s, m, h, d or w)"
                ))
            }
        };
        let n: u64 = number
            .parse()
            .map_err(|_| format!("bad duration `{text}`: number too large"))?;
        total_ms = n
            .checked_mul(unit_ms)
            .and_then(|ms| total_ms.checked_add(ms))
            .ok_or_else(|| format!("bad duration `{text}`: too large"))?;
        rest = after;
    }
    Ok(Duration::from_millis(total_ms))
}

/// Parses a byte count such as `1G`, `512M`, `64k` or `1000000`.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    let (number, suffix) = text.split_at(digits);
    if number.is_empty() {
        return Err(format!(
            "bad size `{text}`: expected a number of bytes with an optional K, M, G or T suffix"
        ));
    }
    let shift = match suffix.to_ascii_uppercase().as_str() {
        "" => 0,
        "K" => 10,
        "M" => 20,
        "G" => 30,
        "T" => 40,
        _ => {
            return Err(format!(
                "bad size `{text}`: unknown suffix `{suffix}` (use K, M, G or T)"
            ))
        }
    };
    let n: u64 = number
        .parse()
        .map_err(|_| format!("bad size `{text}`: number too large"))?;
    n.checked_mul(1u64 << shift)
        .ok_or_else(|| format!("bad size `{text}`: too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        let cases: &[(&str, u64)] = &[
            ("0", 0),
            ("120", 120_000),
            ("120s", 120_000),
            ("2m", 120_000),
            ("1h", 3_600_000),
            ("500ms", 500),
            ("1h30m", 5_400_000),
            ("1d", 86_400_000),
            ("2W", 1_209_600_000),
            ("1m30s250ms", 90_250),
            (" 10s ", 10_000),
        ];
        for &(text, ms) in cases {
            assert_eq!(
                parse_duration(text),
                Ok(Duration::from_millis(ms)),
                "{text}"
            );
        }
    }

    #[test]
    fn bad_durations() {
        for text in [
            "",
            "s",
            "-1",
            "1.5s",
            "10x",
            "1h30",
            "1 h",
            "99999999999999999999",
            "18446744073709551615w",
        ] {
            let err = parse_duration(text).unwrap_err();
            assert!(err.contains("duration"), "{text}: {err}");
        }
    }

    #[test]
    fn sizes() {
        let cases: &[(&str, u64)] = &[
            ("0", 0),
            ("1000", 1000),
            ("1K", 1024),
            ("64k", 65_536),
            ("512M", 512 << 20),
            ("1G", 1 << 30),
            ("2t", 2 << 40),
        ];
        for &(text, n) in cases {
            assert_eq!(parse_size(text), Ok(n), "{text}");
        }
    }

    #[test]
    fn bad_sizes() {
        for text in ["", "G", "1.5G", "1KB", "-1", "1P", "17179869184G"] {
            let err = parse_size(text).unwrap_err();
            assert!(err.contains("size"), "{text}: {err}");
        }
    }
}
