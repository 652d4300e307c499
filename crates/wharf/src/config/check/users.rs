//! `[[users]]`: names, password hashes, authorized keys, roots and the
//! per-user policy (see `users::record`).

use std::collections::HashMap;

use toml::Spanned;
use wharf_crypto::totp::{Totp, TotpAlg};

use super::section::{section, Checker, Section};
use crate::config::read_text;
use crate::config::tree::Node;
use crate::users::record::{check_glob, check_home, parse_umask, PathRule, Perm};
use crate::users::when::parse_expiry;
use crate::users::{
    check_user_name, parse_authorized_key, parse_authorized_keys, HashKind, StoredHash, User,
    UserPolicy,
};

pub(super) const USER_KEYS: &[&str] = &[
    "name",
    "password_hash",
    "authorized_keys",
    "authorized_keys_file",
    "root",
    "home",
    "scp",
    "read_only",
    "upload_only",
    "umask",
    "permissions",
    "name_allow",
    "name_deny",
    "quota_bytes",
    "quota_files",
    "upload_bandwidth",
    "download_bandwidth",
    "max_sessions",
    "allowed_networks",
    "expires_at",
    "disabled",
    "authentication_methods",
    "totp_secret",
];

const RULE_KEYS: &[&str] = &["path", "allow", "deny"];

const MAX_AUTHORIZED_KEYS_FILE: u64 = 4 * 1024 * 1024;

/// `[[users]]`, checked. None when any user had an error.
/// `[[users]]`, checked. None when any user had an error. `required`:
/// the config file is the only user source, so it must list someone.
/// `cert_logins`: `[auth] trusted_user_ca_keys` or `hostbased` is set, so
/// a user without a password or key may still log in with a certificate
/// or from a trusted host.
pub(super) fn check_users(
    ck: &mut Checker<'_>,
    node: Option<&Spanned<Node>>,
    required: bool,
    cert_logins: bool,
) -> Option<Vec<User>> {
    let Some(node) = node else {
        if required {
            ck.whole_file(
                "no [[users]]: add at least one user, or another source in [auth] sources",
            );
            return None;
        }
        return Some(Vec::new());
    };
    let Node::Array(items) = node.get_ref() else {
        ck.at(
            &node.span(),
            format!(
                "`users` must be an array of tables ([[users]]), found {}",
                node.get_ref().kind()
            ),
        );
        return None;
    };
    if items.is_empty() {
        ck.at(&node.span(), "`users` is empty: add at least one user");
        return None;
    }
    let errors_before = ck.diags.len();
    let mut users = Vec::new();
    let mut first_seen: HashMap<String, usize> = HashMap::new();
    for item in items {
        let Some(s) = section(ck, item, "[[users]]", USER_KEYS) else {
            continue;
        };
        if let Some(user) = check_user(ck, &s, &mut first_seen, cert_logins) {
            users.push(user);
        }
    }
    (ck.diags.len() == errors_before).then_some(users)
}

fn check_user(
    ck: &mut Checker<'_>,
    s: &Section<'_>,
    first_seen: &mut HashMap<String, usize>,
    cert_logins: bool,
) -> Option<User> {
    let errors_before = ck.diags.len();
    let name = match s.string(ck, "name") {
        Some((name, span)) => {
            if let Err(e) = check_user_name(name) {
                ck.at(&span, e);
            } else if let Some(first) = first_seen.get(name) {
                ck.at(
                    &span,
                    format!("duplicate user `{name}` (first defined on line {first})"),
                );
            } else {
                first_seen.insert(name.to_owned(), ck.line_of(&span));
            }
            name.to_owned()
        }
        None => {
            if s.get("name").is_none() {
                ck.at(&s.span, "[[users]] entry without a `name`");
            }
            String::from("?")
        }
    };
    let who = format!("user `{name}`");

    let password_hash = s.string(ck, "password_hash").and_then(|(text, span)| {
        StoredHash::parse(text)
            .map_err(|e| ck.at(&span, format!("{who}: `password_hash`: {e}")))
            .ok()
    });
    if let Some(kind) = password_hash.as_ref().map(StoredHash::kind) {
        if kind != HashKind::Argon2 {
            // Accepted for migration, but weaker than argon2id.
            tracing::info!(user = %name, ?kind, "password hash is not argon2; consider `wharf hash-password`");
        }
    }

    let mut keys = Vec::new();
    // Set when a key source had an error: that error is reported, and the
    // "no way to log in" message would only repeat it.
    let mut key_problem = false;
    if let Some((entries, _)) = s.strings(ck, "authorized_keys") {
        for (i, (line, span)) in entries.into_iter().enumerate() {
            match parse_authorized_key(line) {
                Ok(Some(key)) => keys.push(key),
                Ok(None) => {}
                Err(e) => {
                    key_problem = true;
                    ck.at(
                        &span,
                        format!("{who}: `authorized_keys` entry {}: {e}", i + 1),
                    );
                }
            }
        }
    }
    if let Some((file, span)) = s.string(ck, "authorized_keys_file") {
        match ck.path("authorized_keys_file", file, &span) {
            Some(path) => match read_text(&path, MAX_AUTHORIZED_KEYS_FILE) {
                Ok(text) => {
                    let (found, errors) = parse_authorized_keys(&text);
                    keys.extend(found);
                    key_problem |= !errors.is_empty();
                    for (line, e) in errors {
                        ck.at(
                            &span,
                            format!(
                                "{who}: `authorized_keys_file` {} line {line}: {e}",
                                path.display()
                            ),
                        );
                    }
                }
                Err(e) => {
                    key_problem = true;
                    ck.at(&span, format!("{who}: `authorized_keys_file`: {e}"));
                }
            },
            None => key_problem = true,
        }
    }

    let root = match s.string(ck, "root") {
        Some((text, span)) => {
            ck.path("root", text, &span)
                .and_then(|root| match std::fs::metadata(&root) {
                    Ok(m) if m.is_dir() => Some(root),
                    Ok(_) => {
                        ck.at(
                            &span,
                            format!("{who}: `root` {} is not a folder", root.display()),
                        );
                        None
                    }
                    Err(e) => {
                        ck.at(&span, format!("{who}: `root` {}: {e}", root.display()));
                        None
                    }
                })
        }
        None => {
            if s.get("root").is_none() {
                ck.at(
                    &s.span,
                    format!("{who} has no `root` (the folder they see as /)"),
                );
            }
            None
        }
    };

    let has_password = s.get("password_hash").is_some();
    let has_keys = !keys.is_empty() || key_problem;
    if !has_password && !has_keys && !cert_logins {
        ck.at(
            &s.span,
            format!("{who} has neither a `password_hash` nor any authorized key, so cannot log in"),
        );
    }

    if ck.diags.len() > errors_before {
        return None;
    }
    // RFC 6238 with what authenticator apps assume: HMAC-SHA-1, 6
    // digits, 30 s. A second factor needs a first: without a password the
    // keyboard-interactive dialogue could never succeed.
    let totp = match s.string(ck, "totp_secret") {
        Some((secret, span)) => match Totp::from_base32(secret.trim(), TotpAlg::Sha1, 6, 30) {
            Ok(t) => {
                if !has_password {
                    ck.at(
                        &span,
                        format!("{who}: `totp_secret` needs a `password_hash` (both are asked)"),
                    );
                }
                Some(t)
            }
            Err(e) => {
                ck.at(&span, format!("{who}: `totp_secret`: {e}"));
                None
            }
        },
        None => None,
    };
    if ck.diags.len() > errors_before {
        return None;
    }
    let policy = check_policy(ck, s, &who, root?)?;
    Some(User {
        name,
        password_hash,
        authorized_keys: keys,
        policy,
        totp,
    })
}

/// The policy keys of one user; None after any error.
fn check_policy(
    ck: &mut Checker<'_>,
    s: &Section<'_>,
    who: &str,
    root: std::path::PathBuf,
) -> Option<UserPolicy> {
    let errors_before = ck.diags.len();
    let mut p = UserPolicy::new(root);
    if let Some((home, span)) = s.string(ck, "home") {
        match check_home(home) {
            Ok(()) => p.home = Some(home.to_owned()),
            Err(e) => ck.at(&span, format!("{who}: `home`: {e}")),
        }
    }
    p.scp = s.boolean(ck, "scp");
    p.authentication_methods = super::auth::method_lists(ck, s, who);
    p.read_only = s.boolean(ck, "read_only").unwrap_or(false);
    p.upload_only = s.boolean(ck, "upload_only").unwrap_or(false);
    p.disabled = s.boolean(ck, "disabled").unwrap_or(false);
    if p.read_only && p.upload_only {
        if let Some(v) = s.get("upload_only") {
            ck.at(
                &v.span(),
                format!("{who}: `read_only` and `upload_only` exclude each other"),
            );
        }
    }
    if let Some(v) = s.get("umask") {
        let parsed = match v.get_ref() {
            // TOML writes octal as 0o027; a plain 27 would be decimal, so
            // integers are taken as their octal digits only via 0o.
            Node::Integer(n) => u32::try_from(*n)
                .ok()
                .filter(|n| *n <= 0o777)
                .ok_or_else(|| format!("umask {n} is out of range (write 0o022 or \"022\")")),
            Node::String(text) => parse_umask(text),
            _ => Err(format!(
                "`umask` must be an octal string such as \"027\", found {}",
                v.get_ref().kind()
            )),
        };
        match parsed {
            Ok(u) => p.umask = Some(u),
            Err(e) => ck.at(&v.span(), format!("{who}: {e}")),
        }
    }
    if let Some(v) = s.get("permissions") {
        match v.get_ref() {
            Node::Array(items) => {
                for item in items {
                    let Some(r) = section(ck, item, "a `permissions` entry", RULE_KEYS) else {
                        continue;
                    };
                    let mut rule = PathRule::default();
                    match r.string(ck, "path") {
                        Some((path, span)) => {
                            rule.path = path.to_owned();
                            if let Err(e) = rule.check() {
                                ck.at(&span, format!("{who}: `permissions`: {e}"));
                            }
                        }
                        None if r.get("path").is_none() => ck.at(
                            &r.span,
                            format!("{who}: a `permissions` entry needs a `path`"),
                        ),
                        None => {}
                    }
                    for (key, list) in [("allow", &mut rule.allow), ("deny", &mut rule.deny)] {
                        if let Some((names, _)) = r.strings(ck, key) {
                            for (name, span) in names {
                                match name.parse::<Perm>() {
                                    Ok(perm) => list.push(perm),
                                    Err(e) => ck.at(&span, format!("{who}: `{key}`: {e}")),
                                }
                            }
                        }
                    }
                    p.permissions.push(rule);
                }
            }
            _ => s.wrong_type(
                ck,
                "permissions",
                v,
                "an array of tables such as [{ path = \"/in/**\", allow = [\"upload\"] }]",
            ),
        }
    }
    for (key, list) in [
        ("name_allow", &mut p.name_allow),
        ("name_deny", &mut p.name_deny),
    ] {
        if let Some((patterns, _)) = s.strings(ck, key) {
            for (pattern, span) in patterns {
                match check_glob(pattern) {
                    Ok(()) => list.push(pattern.to_owned()),
                    Err(e) => ck.at(&span, format!("{who}: `{key}`: {e}")),
                }
            }
        }
    }
    p.quota_bytes = s.size(ck, "quota_bytes").flatten();
    p.quota_files = s
        .integer(ck, "quota_files", 0, i64::MAX)
        .and_then(|n| u64::try_from(n).ok());
    p.upload_bandwidth = s.size(ck, "upload_bandwidth").flatten();
    p.download_bandwidth = s.size(ck, "download_bandwidth").flatten();
    p.max_sessions = s
        .integer(ck, "max_sessions", 1, 100_000)
        .and_then(|n| u32::try_from(n).ok());
    if let Some((nets, _)) = s.strings(ck, "allowed_networks") {
        for (net, span) in nets {
            match net.trim().parse() {
                Ok(c) => p.allowed_networks.push(c),
                Err(e) => ck.at(&span, format!("{who}: `allowed_networks`: {e}")),
            }
        }
    }
    if let Some(v) = s.get("expires_at") {
        let parsed = match v.get_ref() {
            Node::String(text) | Node::Datetime(text) => parse_expiry(text),
            other => Err(format!(
                "`expires_at` must be a date such as 2025-12-31 or \"2025-12-31T18:00:00Z\", found {}",
                other.kind()
            )),
        };
        match parsed {
            Ok(t) => p.expires_at = Some(t),
            Err(e) => ck.at(&v.span(), format!("{who}: {e}")),
        }
    }
    (ck.diags.len() == errors_before).then_some(p)
}
