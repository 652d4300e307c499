//! Algorithm lists in OpenSSH's syntax (sshd_config(5), `Ciphers` et al.):
//!
//! - `a,b,c` replaces the default list;
//! - `+a,b` appends to the defaults, `-a,b` removes from them, `^a,b` puts
//!   the names at the head of the defaults;
//! - every entry may be a pattern with `*` and `?` wildcards, which stands
//!   for every supported name it matches, in the supported order (as
//!   OpenSSH's `kex_assemble_names` does).
//!
//! Unlike OpenSSH, a name that no supported algorithm matches is an error
//! rather than silently dropped: a typo in a security setting should not
//! quietly leave the defaults in force.

/// Applies `spec` to `defaults`, accepting only names in `supported`.
///
/// The result has no duplicates and is never empty. The error names the
/// unknown entry and lists the supported names.
pub fn apply_algorithm_spec(
    defaults: &[&str],
    supported: &[&str],
    spec: &str,
) -> Result<Vec<String>, String> {
    let spec = spec.trim();
    let (op, list) = match spec.chars().next() {
        Some(c @ ('+' | '-' | '^')) => (Some(c), &spec[c.len_utf8()..]),
        _ => (None, spec),
    };
    let entries: Vec<&str> = list.split(',').map(str::trim).collect();
    if entries.iter().any(|e| e.is_empty()) {
        return Err(format!(
            "`{spec}` has an empty entry; write names separated by commas"
        ));
    }

    // Expand every entry against the supported names, failing on entries
    // that match nothing.
    let mut named: Vec<&str> = Vec::new();
    for entry in &entries {
        let matches: Vec<&str> = supported
            .iter()
            .copied()
            .filter(|name| wildcard_match(entry, name))
            .collect();
        if matches.is_empty() {
            let what = if entry.contains(['*', '?']) {
                "pattern matches no supported algorithm"
            } else {
                "unsupported algorithm"
            };
            return Err(format!(
                "{what} `{entry}`; supported: {}",
                supported.join(", ")
            ));
        }
        push_unique(&mut named, &matches);
    }

    let mut result: Vec<&str> = Vec::new();
    match op {
        None => push_unique(&mut result, &named),
        Some('+') => {
            push_unique(&mut result, defaults);
            push_unique(&mut result, &named);
        }
        Some('^') => {
            push_unique(&mut result, &named);
            push_unique(&mut result, defaults);
        }
        Some(_) => {
            let kept: Vec<&str> = defaults
                .iter()
                .copied()
                .filter(|d| !named.contains(d))
                .collect();
            push_unique(&mut result, &kept);
        }
    }
    if result.is_empty() {
        return Err(format!("`{spec}` leaves no algorithm enabled"));
    }
    Ok(result.into_iter().map(str::to_owned).collect())
}

fn push_unique<'a>(out: &mut Vec<&'a str>, names: &[&'a str]) {
    for name in names {
        if !out.contains(name) {
            out.push(name);
        }
    }
}

/// Glob matching with `*` (any run, possibly empty) and `?` (one character),
/// as OpenSSH's `match_pattern`. Iterative with single backtracking point,
/// so it is linear-ish and cannot recurse deeply on hostile patterns.
pub fn wildcard_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    let (mut pi, mut ni) = (0usize, 0usize);
    // Where the last `*` was seen, and the name position it currently covers up to.
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ni));
                pi += 1;
            }
            Some(&c) if c == '?' || Some(&c) == n.get(ni) => {
                pi += 1;
                ni += 1;
            }
            _ => match star {
                Some((sp, sn)) => {
                    pi = sp + 1;
                    ni = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            },
        }
    }
    p.get(pi..)
        .is_some_and(|rest| rest.iter().all(|&c| c == '*'))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUPPORTED: &[&str] = &[
        "aes128-ctr",
        "aes256-ctr",
        "aes128-gcm@openssh.com",
        "aes256-gcm@openssh.com",
        "chacha20-poly1305@openssh.com",
        "aes128-cbc",
        "3des-cbc",
    ];
    const DEFAULTS: &[&str] = &[
        "chacha20-poly1305@openssh.com",
        "aes128-gcm@openssh.com",
        "aes256-gcm@openssh.com",
        "aes128-ctr",
        "aes256-ctr",
    ];

    fn apply(spec: &str) -> Result<Vec<String>, String> {
        apply_algorithm_spec(DEFAULTS, SUPPORTED, spec)
    }

    #[test]
    fn full_list_replaces_defaults_in_given_order() {
        assert_eq!(
            apply("aes256-ctr, aes128-cbc").unwrap(),
            ["aes256-ctr", "aes128-cbc"]
        );
    }

    #[test]
    fn plus_appends_without_duplicates() {
        assert_eq!(
            apply("+aes128-cbc,aes128-ctr").unwrap(),
            [DEFAULTS, &["aes128-cbc"]].concat()
        );
    }

    #[test]
    fn minus_removes_including_wildcards() {
        assert_eq!(
            apply("-*-ctr,chacha20-poly1305@openssh.com").unwrap(),
            ["aes128-gcm@openssh.com", "aes256-gcm@openssh.com"]
        );
        // Removing a supported but not default name is allowed and a no-op.
        assert_eq!(apply("-3des-cbc").unwrap(), DEFAULTS);
    }

    #[test]
    fn caret_prepends() {
        assert_eq!(
            apply("^aes256-ctr,aes128-cbc").unwrap(),
            [
                "aes256-ctr",
                "aes128-cbc",
                "chacha20-poly1305@openssh.com",
                "aes128-gcm@openssh.com",
                "aes256-gcm@openssh.com",
                "aes128-ctr",
            ]
        );
    }

    #[test]
    fn wildcards_expand_in_supported_order() {
        assert_eq!(
            apply("aes???-gcm*").unwrap(),
            ["aes128-gcm@openssh.com", "aes256-gcm@openssh.com"]
        );
        assert_eq!(
            apply("+*-cbc").unwrap(),
            [DEFAULTS, &["aes128-cbc", "3des-cbc"]].concat()
        );
    }

    #[test]
    fn unknown_names_are_errors_that_list_the_supported_ones() {
        let err = apply("aes128-ctr,aes512-ctr").unwrap_err();
        assert!(err.contains("unsupported algorithm `aes512-ctr`"), "{err}");
        assert!(err.contains("supported: aes128-ctr, aes256-ctr,"), "{err}");
        let err = apply("-blowfish*").unwrap_err();
        assert!(
            err.contains("pattern matches no supported algorithm `blowfish*`"),
            "{err}"
        );
        // Case matters, as in OpenSSH.
        assert!(apply("AES128-CTR").is_err());
    }

    #[test]
    fn empty_entries_and_empty_results_are_errors() {
        assert!(apply("").unwrap_err().contains("empty entry"));
        assert!(apply("+").unwrap_err().contains("empty entry"));
        assert!(apply("aes128-ctr,,aes256-ctr")
            .unwrap_err()
            .contains("empty entry"));
        assert!(apply("-*").unwrap_err().contains("leaves no algorithm"));
    }

    #[test]
    fn wildcard_matching() {
        assert!(wildcard_match("*", ""));
        assert!(wildcard_match("*", "abc"));
        assert!(wildcard_match("a*c", "abbbc"));
        assert!(wildcard_match("a?c", "abc"));
        assert!(!wildcard_match("a?c", "ac"));
        assert!(wildcard_match("*@openssh.com", "aes128-gcm@openssh.com"));
        assert!(!wildcard_match("*@openssh.com", "aes128-ctr"));
        assert!(wildcard_match("a*b*c", "aXbYbZc"));
        assert!(!wildcard_match("a*b*c", "aXbYbZ"));
        assert!(!wildcard_match("abc", "abcd"));
        assert!(wildcard_match("ab**", "ab"));
    }
}
