//! authorized_keys lines with their options, as sshd(8) AUTHORIZED_KEYS
//! FILE FORMAT defines them: `[options] keytype base64-key [comment]`,
//! options comma-separated, values in double quotes with `\"` for a quote.
//!
//! What Wharf does with each option:
//! - `from="pattern-list"`: honoured (CIDR blocks and wildcard patterns
//!   against the client's address; no reverse DNS).
//! - `expiry-time="timespec"`: honoured (read as UTC; write a `Z`).
//! - `command="..."`: only `internal-sftp` or an `sftp-server` path without
//!   arguments is accepted, and SCP is then refused for that login. Any
//!   other command is refused when the line is read: Wharf runs no
//!   programs, so it cannot honour a forced command, and ignoring one would
//!   grant more than the key's owner wrote.
//! - `restrict`, `no-pty`, `no-port-forwarding`, `no-agent-forwarding`,
//!   `no-X11-forwarding`, `no-user-rc`, `permitopen=`, `permitlisten=`,
//!   `tunnel=`, `environment=`: accepted; Wharf never allows a pty,
//!   forwarding, a shell or an environment, so they hold already.
//! - `pty`, `port-forwarding`, `agent-forwarding`, `X11-forwarding`,
//!   `user-rc` (which undo `restrict`): accepted and without effect, for the
//!   same reason.
//! - `cert-authority` and `principals=`: parsed and kept for certificate
//!   logins; such a line never admits the CA key itself.
//! - `no-touch-required`: accepted. `verify-required`: refused (the
//!   security-key flags it needs are not checked).

use wharf_crypto::hostkey::PublicKey;

use super::net::HostPatternList;
use super::when::parse_ssh_timespec;

/// The options of one authorized_keys line that change who may log in.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyOptions {
    pub from: Option<HostPatternList>,
    /// Unix seconds after which the key no longer logs in.
    pub expiry_time: Option<i64>,
    /// A forced command Wharf can honour (an SFTP server): SFTP only.
    pub sftp_only: bool,
    pub cert_authority: bool,
    pub principals: Option<Vec<String>>,
    pub restrict: bool,
}

/// One usable authorized_keys line.
#[derive(Clone, Debug)]
pub struct AuthorizedKey {
    pub key: PublicKey,
    pub options: KeyOptions,
}

/// Longest authorized_keys line read (sshd allows 8 KiB for a line; RSA
/// 16384-bit keys with options fit).
pub const MAX_KEY_LINE: usize = 16 * 1024;

const FLAG_OPTIONS: &[&str] = &[
    "agent-forwarding",
    "no-agent-forwarding",
    "port-forwarding",
    "no-port-forwarding",
    "pty",
    "no-pty",
    "user-rc",
    "no-user-rc",
    "x11-forwarding",
    "no-x11-forwarding",
    "no-touch-required",
];

/// Parses one authorized_keys line. Ok(None) for blank lines and comments.
pub fn parse_authorized_key(line: &str) -> Result<Option<AuthorizedKey>, String> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return Ok(None);
    }
    if line.len() > MAX_KEY_LINE {
        return Err(format!("line is longer than {MAX_KEY_LINE} bytes"));
    }
    let first = line.split_ascii_whitespace().next().unwrap_or("");
    let (options, rest) = if looks_like_key_type(first) {
        (KeyOptions::default(), line)
    } else {
        let (opts, rest) = split_options(line)?;
        (parse_options(opts)?, rest.trim_start())
    };
    if rest.is_empty() {
        return Err("options but no key".into());
    }
    let key = PublicKey::from_openssh(rest).map_err(|e| e.to_string())?;
    Ok(Some(AuthorizedKey { key, options }))
}

fn looks_like_key_type(word: &str) -> bool {
    ["ssh-", "ecdsa-", "sk-"]
        .iter()
        .any(|prefix| word.starts_with(prefix))
}

/// Splits the options field from the key: it ends at the first space or
/// tab outside double quotes.
fn split_options(line: &str) -> Result<(&str, &str), String> {
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ' ' | '\t' if !quoted => return Ok((&line[..i], &line[i..])),
            _ => {}
        }
    }
    if quoted {
        Err("unterminated quoted option value".into())
    } else {
        Err("options but no key".into())
    }
}

/// Splits `name[="value"],...` into (name, value) pairs, unescaping `\"`.
/// Other backslashes stay, as sshd keeps them.
fn option_pairs(text: &str) -> Result<Vec<(String, Option<String>)>, String> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        let mut name = String::new();
        while let Some(&c) = chars.peek() {
            if c == ',' || c == '=' {
                break;
            }
            name.push(c);
            chars.next();
        }
        if name.is_empty() {
            return Err(format!("empty option in `{}`", clip(text)));
        }
        let mut value = None;
        if chars.peek() == Some(&'=') {
            chars.next();
            if chars.next() != Some('"') {
                return Err(format!(
                    "option `{name}`: the value must be in double quotes"
                ));
            }
            let mut v = String::new();
            let mut closed = false;
            while let Some(c) = chars.next() {
                match c {
                    '\\' if chars.peek() == Some(&'"') => {
                        v.push('"');
                        chars.next();
                    }
                    '"' => {
                        closed = true;
                        break;
                    }
                    c => v.push(c),
                }
            }
            if !closed {
                return Err(format!("option `{name}`: unterminated quoted value"));
            }
            value = Some(v);
        }
        out.push((name, value));
        match chars.next() {
            None => return Ok(out),
            Some(',') => {}
            Some(c) => {
                return Err(format!(
                    "unexpected `{c}` after option `{}`",
                    out.last().map_or("", |p| p.0.as_str())
                ))
            }
        }
    }
}

fn clip(s: &str) -> String {
    s.chars().take(40).collect()
}

fn parse_options(text: &str) -> Result<KeyOptions, String> {
    let mut o = KeyOptions::default();
    let mut seen_command = false;
    let mut seen_expiry = false;
    for (name, value) in option_pairs(text)? {
        let lower = name.to_ascii_lowercase();
        let need = |v: Option<String>| v.ok_or_else(|| format!("option `{name}` needs a value"));
        let flag = |v: &Option<String>| match v {
            Some(_) => Err(format!("option `{name}` takes no value")),
            None => Ok(()),
        };
        match lower.as_str() {
            "restrict" => {
                flag(&value)?;
                o.restrict = true;
            }
            "cert-authority" => {
                flag(&value)?;
                o.cert_authority = true;
            }
            f if FLAG_OPTIONS.contains(&f) => flag(&value)?,
            "verify-required" => {
                return Err(
                    "option `verify-required` is not supported (security-key user verification is not checked)"
                        .into(),
                )
            }
            "from" => {
                if o.from.is_some() {
                    return Err("option `from` given twice".into());
                }
                let v = need(value)?;
                o.from = Some(HostPatternList::parse(&v).map_err(|e| format!("from=: {e}"))?);
            }
            "expiry-time" => {
                if seen_expiry {
                    return Err("option `expiry-time` given twice".into());
                }
                seen_expiry = true;
                o.expiry_time = Some(parse_ssh_timespec(&need(value)?).map_err(|e| format!("expiry-time=: {e}"))?);
            }
            "command" => {
                if seen_command {
                    return Err("option `command` given twice".into());
                }
                seen_command = true;
                let v = need(value)?;
                if !is_sftp_command(&v) {
                    return Err(format!(
                        "command=\"{}\" cannot be honoured: wharf runs no programs; only \
                         command=\"internal-sftp\" (or an sftp-server path) is accepted",
                        clip(&v)
                    ));
                }
                o.sftp_only = true;
            }
            "principals" => {
                let v = need(value)?;
                o.principals = Some(v.split(',').map(|p| p.trim().to_owned()).collect());
            }
            "environment" | "permitopen" | "permitlisten" | "tunnel" => {
                need(value)?;
            }
            _ => return Err(format!("unknown key option `{}`", clip(&name))),
        }
    }
    if o.principals.is_some() && !o.cert_authority {
        return Err("option `principals` is only valid with `cert-authority`".into());
    }
    Ok(o)
}

/// `internal-sftp`, or a path to OpenSSH's sftp-server, with no arguments.
pub(crate) fn is_sftp_command(command: &str) -> bool {
    let c = command.trim();
    c == "internal-sftp"
        || c == "sftp-server"
        || (c.ends_with("/sftp-server") && !c.contains(char::is_whitespace))
}

/// Parses an authorized_keys file: the keys, and each bad line's 1-based
/// number with the reason.
pub fn parse_authorized_keys(text: &str) -> (Vec<AuthorizedKey>, Vec<(usize, String)>) {
    let mut keys = Vec::new();
    let mut errors = Vec::new();
    for (index, line) in text.lines().enumerate() {
        match parse_authorized_key(line) {
            Ok(Some(key)) => keys.push(key),
            Ok(None) => {}
            Err(e) => errors.push((index + 1, e)),
        }
    }
    (keys, errors)
}

impl AuthorizedKey {
    /// Why this line does not admit a login from `ip` at `now` (Unix
    /// seconds), if it does not.
    pub fn refusal(&self, ip: std::net::IpAddr, now: i64) -> Option<&'static str> {
        if self.options.cert_authority {
            return Some("the line is a cert-authority line");
        }
        if let Some(from) = &self.options.from {
            if !from.allows(ip) {
                return Some("from= does not match the client's address");
            }
        }
        if let Some(t) = self.options.expiry_time {
            if now >= t {
                return Some("expiry-time= has passed");
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 8032 §7.1 TEST 1's public key (d75a9801...) as an OpenSSH line.
    const KEY: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINdamAGCsQq31Uv+08lkBzoO4XLz2qYjJa8CGmj3B1Ea test@example";

    fn opts(prefix: &str) -> Result<KeyOptions, String> {
        parse_authorized_key(&format!("{prefix} {KEY}")).map(|k| k.unwrap().options)
    }

    fn ip(s: &str) -> std::net::IpAddr {
        s.parse().unwrap()
    }

    // The example lines of sshd(8) AUTHORIZED_KEYS FILE FORMAT, with our key.
    #[test]
    fn sshd_manual_examples() {
        let o = opts(r#"from="*.sales.example.net,!pc.sales.example.net""#).unwrap();
        assert!(o.from.is_some());
        assert!(opts(r#"command="dump /home",no-pty,no-port-forwarding"#)
            .unwrap_err()
            .contains("cannot be honoured"));
        assert!(opts(r#"permitopen="192.0.2.1:80",permitopen="192.0.2.2:25""#).is_ok());
        assert!(opts(r#"permitlisten="localhost:8080",permitopen="localhost:22000""#).is_ok());
        assert!(opts(r#"tunnel="0",command="sh /etc/netstart tun0""#).is_err());
        let o = opts(r#"restrict,command="internal-sftp""#).unwrap();
        assert!(o.restrict && o.sftp_only);
        assert!(opts("restrict,pty,command=\"nethack\"").is_err());
        let o = opts(r#"no-touch-required"#).unwrap();
        assert!(!o.restrict);
        let o = opts(r#"cert-authority,principals="alice,bob""#).unwrap();
        assert!(o.cert_authority);
        assert_eq!(o.principals.unwrap(), ["alice", "bob"]);
    }

    #[test]
    fn quoting() {
        // A quoted value may hold spaces, commas and escaped quotes.
        let o = opts(r#"environment="A=b c,\"d\"",from="127.0.0.1""#).unwrap();
        assert!(o.from.unwrap().allows(ip("127.0.0.1")));
        assert!(opts(r#"from="127.0.0.1"#)
            .unwrap_err()
            .contains("unterminated"));
        assert!(opts(r#"from=127.0.0.1"#)
            .unwrap_err()
            .contains("double quotes"));
        assert!(opts("no-pty,,restrict")
            .unwrap_err()
            .contains("empty option"));
        assert!(opts("no-pty=\"x\"").unwrap_err().contains("takes no value"));
        assert!(opts("from").unwrap_err().contains("needs a value"));
        assert!(opts("frobnicate")
            .unwrap_err()
            .contains("unknown key option"));
        assert!(opts("verify-required")
            .unwrap_err()
            .contains("not supported"));
        assert!(opts(r#"principals="a""#).is_err());
        assert!(opts(r#"from="1.2.3.4",from="5.6.7.8""#)
            .unwrap_err()
            .contains("twice"));
        // Option names are case-insensitive, as in sshd.
        assert!(opts("No-Pty,RESTRICT").unwrap().restrict);
        assert!(parse_authorized_key("restrict")
            .unwrap_err()
            .contains("no key"));
    }

    #[test]
    fn sftp_commands() {
        for ok in [
            "internal-sftp",
            "/usr/lib/openssh/sftp-server",
            "sftp-server",
        ] {
            assert!(is_sftp_command(ok), "{ok}");
        }
        for bad in [
            "/bin/sh",
            "internal-sftp -R",
            "/usr/lib/openssh/sftp-server -R",
            "sftp-server2",
            "",
        ] {
            assert!(!is_sftp_command(bad), "{bad}");
        }
    }

    #[test]
    fn refusals() {
        let k = parse_authorized_key(&format!(
            r#"from="10.0.0.0/8",expiry-time="20300101Z" {KEY}"#
        ))
        .unwrap()
        .unwrap();
        let jan_2030 = 1_893_456_000;
        assert_eq!(k.refusal(ip("10.1.1.1"), jan_2030 - 1), None);
        assert!(k.refusal(ip("10.1.1.1"), jan_2030).is_some());
        assert!(k.refusal(ip("127.0.0.1"), 0).is_some());
        let ca = parse_authorized_key(&format!("cert-authority {KEY}"))
            .unwrap()
            .unwrap();
        assert!(ca.refusal(ip("127.0.0.1"), 0).is_some());
        let plain = parse_authorized_key(KEY).unwrap().unwrap();
        assert_eq!(plain.refusal(ip("::1"), i64::MAX), None);
    }

    #[test]
    fn files() {
        let text = format!(
            "# comment\n\n{KEY}\nfrom=\"10.0.0.1\" {KEY}\nssh-ed25519 AAAA!!!\nssh-rsa\ncommand=\"ls\" {KEY}\n"
        );
        let (keys, errors) = parse_authorized_keys(&text);
        assert_eq!(keys.len(), 2);
        let lines: Vec<usize> = errors.iter().map(|(n, _)| *n).collect();
        assert_eq!(lines, [5, 6, 7]);
        assert!(errors[0].1.contains("base64"), "{}", errors[0].1);
    }
}
