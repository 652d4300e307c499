//! `[auth]` (user sources and the key blacklist) and `[ban]`.

use std::collections::HashSet;
use std::time::Duration;

use super::section::{Checker, Section};
use crate::config::{read_text, AuthSettings, Overrides, SourceSpec};
use crate::users::ban::BanConfig;
use crate::users::chains::{parse_method_list, MethodList};
use crate::users::directory::{blacklist_entry, parse_blacklist};
use crate::users::hostbased::{parse_known_host, parse_known_hosts, TrustedHosts};
use crate::users::postgres::{PgDb, DEFAULT_POOL_SIZE};
use crate::users::system::DEFAULT_MIN_UID;
use wharf_crypto::hostkey::PublicKey;

pub(super) const AUTH_KEYS: &[&str] = &[
    "sources",
    "sqlite_path",
    "postgres_url",
    "postgres_pool_size",
    "system_min_uid",
    "key_blacklist",
    "key_blacklist_file",
    "authentication_methods",
    "trusted_user_ca_keys",
    "trusted_user_ca_keys_file",
    "hostbased",
    "hostbased_known_hosts",
    "hostbased_trusted_hosts",
];

pub(super) const BAN_KEYS: &[&str] = &["max_failures", "window", "duration"];

const SOURCE_NAMES: &[&str] = &["config", "sqlite", "postgres", "system"];
const MAX_BLACKLIST_FILE: u64 = 16 * 1024 * 1024;
pub(super) const DEFAULT_BAN_WINDOW: Duration = Duration::from_secs(600);
pub(super) const DEFAULT_BAN_DURATION: Duration = Duration::from_secs(3600);

/// `[auth]`, checked; absent: the config file's users only.
pub(super) fn auth_settings(
    ck: &mut Checker<'_>,
    s: Option<&Section<'_>>,
    overrides: &Overrides,
) -> AuthSettings {
    let mut settings = AuthSettings::default();
    let Some(s) = s else {
        return settings;
    };
    let mut names: Vec<&str> = Vec::new();
    if let Some((entries, span)) = s.strings(ck, "sources") {
        if entries.is_empty() {
            ck.at(
                &span,
                "`sources` is empty; list at least one of: config, sqlite, postgres, system",
            );
        }
        for (name, span) in entries {
            if !SOURCE_NAMES.contains(&name) {
                ck.at(
                    &span,
                    format!(
                        "`sources`: unknown source `{name}`; expected one of: {}",
                        SOURCE_NAMES.join(", ")
                    ),
                );
            } else if names.contains(&name) {
                ck.at(&span, format!("`sources`: `{name}` is listed twice"));
            } else {
                names.push(name);
            }
        }
    } else if s.get("sources").is_none() {
        names.push("config");
    }
    // A setting for a source that is not used is most likely a mistake.
    for (key, source) in [
        ("sqlite_path", "sqlite"),
        ("postgres_url", "postgres"),
        ("postgres_pool_size", "postgres"),
        ("system_min_uid", "system"),
    ] {
        if let Some(v) = s.get(key) {
            if !names.contains(&source) {
                ck.at(
                    &v.span(),
                    format!("`{key}` is set but `sources` does not include \"{source}\""),
                );
            }
        }
    }
    let mut specs = Vec::new();
    for name in names {
        match name {
            "config" => specs.push(SourceSpec::Config),
            "sqlite" => {
                let path = match s.string(ck, "sqlite_path") {
                    Some((text, span)) => ck.path("sqlite_path", text, &span),
                    None => Some(
                        overrides
                            .state_dir
                            .clone()
                            .unwrap_or_else(|| ck.base.join("state"))
                            .join("users.db"),
                    ),
                };
                if let Some(path) = path {
                    specs.push(SourceSpec::Sqlite(path));
                }
            }
            "postgres" => {
                let pool_size = s
                    .integer(ck, "postgres_pool_size", 1, 64)
                    .and_then(|n| usize::try_from(n).ok())
                    .unwrap_or(DEFAULT_POOL_SIZE);
                match s.string(ck, "postgres_url") {
                    Some((url, span)) => match PgDb::new(url, pool_size) {
                        Ok(_) => specs.push(SourceSpec::Postgres {
                            url: url.to_owned(),
                            pool_size,
                        }),
                        Err(e) => ck.at(&span, format!("`postgres_url`: {e}")),
                    },
                    None if s.get("postgres_url").is_none() => ck.at(
                        &s.span,
                        "`sources` includes \"postgres\" but `postgres_url` is not set",
                    ),
                    None => {}
                }
            }
            _ => {
                let min_uid = s
                    .integer(ck, "system_min_uid", 0, i64::from(u32::MAX))
                    .and_then(|n| u32::try_from(n).ok())
                    .unwrap_or(DEFAULT_MIN_UID);
                specs.push(SourceSpec::System { min_uid });
            }
        }
    }
    settings.sources = specs;

    let mut blacklist = HashSet::new();
    if let Some((entries, _)) = s.strings(ck, "key_blacklist") {
        for (text, span) in entries {
            match blacklist_entry(text) {
                Ok(fp) => {
                    blacklist.insert(fp);
                }
                Err(e) => ck.at(&span, format!("`key_blacklist`: {e}")),
            }
        }
    }
    if let Some((file, span)) = s.string(ck, "key_blacklist_file") {
        if let Some(path) = ck.path("key_blacklist_file", file, &span) {
            match read_text(&path, MAX_BLACKLIST_FILE) {
                Ok(text) => match parse_blacklist(&text) {
                    Ok(fps) => blacklist.extend(fps),
                    Err((line, e)) => ck.at(
                        &span,
                        format!("`key_blacklist_file` {} line {line}: {e}", path.display()),
                    ),
                },
                Err(e) => ck.at(&span, format!("`key_blacklist_file`: {e}")),
            }
        }
    }
    settings.key_blacklist = blacklist;
    settings.authentication_methods = method_lists(ck, s, "[auth]").unwrap_or_default();
    settings.trusted_user_ca_keys = trusted_cas(ck, s);
    settings.hostbased = hostbased(ck, s);
    settings
}

/// Longest hostbased known_hosts file read.
const MAX_KNOWN_HOSTS_FILE: u64 = 16 * 1024 * 1024;

/// `hostbased` (off by default) with its trusted hosts: the lines of
/// `hostbased_trusted_hosts` and of the `hostbased_known_hosts` file,
/// together. On with no trusted host, or hosts listed while off, is an
/// error: either is a half-done setup.
fn hostbased(ck: &mut Checker<'_>, s: &Section<'_>) -> Option<TrustedHosts> {
    let errors_before = ck.diags.len();
    let on = s.boolean(ck, "hostbased").unwrap_or(false);
    let mut entries = Vec::new();
    if let Some((lines, _)) = s.strings(ck, "hostbased_trusted_hosts") {
        for (text, span) in lines {
            match parse_known_host(text) {
                Ok(e) => entries.push(e),
                Err(e) => ck.at(&span, format!("`hostbased_trusted_hosts`: {e}")),
            }
        }
    }
    if let Some((file, span)) = s.string(ck, "hostbased_known_hosts") {
        if let Some(path) = ck.path("hostbased_known_hosts", file, &span) {
            match read_text(&path, MAX_KNOWN_HOSTS_FILE) {
                Ok(text) => match parse_known_hosts(&text) {
                    Ok(more) => entries.extend(more),
                    Err((line, e)) => ck.at(
                        &span,
                        format!(
                            "`hostbased_known_hosts` {} line {line}: {e}",
                            path.display()
                        ),
                    ),
                },
                Err(e) => ck.at(&span, format!("`hostbased_known_hosts`: {e}")),
            }
        }
    }
    let listed = s
        .get("hostbased_trusted_hosts")
        .or(s.get("hostbased_known_hosts"));
    if !on {
        if let Some(v) = listed {
            ck.at(
                &v.span(),
                "trusted hosts are listed but `hostbased` is not true",
            );
        }
        return None;
    }
    if listed.is_none() {
        if let Some(v) = s.get("hostbased") {
            ck.at(
                &v.span(),
                "`hostbased = true` needs `hostbased_known_hosts` or `hostbased_trusted_hosts`",
            );
        }
        return None;
    }
    let hosts = TrustedHosts::new(entries);
    if hosts.is_empty() {
        // After a bad line, that line is the problem to report.
        if let Some(v) = listed.filter(|_| ck.diags.len() == errors_before) {
            ck.at(
                &v.span(),
                "`hostbased = true` but no trusted host is listed",
            );
        }
        return None;
    }
    Some(hosts)
}

/// `authentication_methods` of `[auth]` or of a user: one chain per
/// string, as OpenSSH's AuthenticationMethods ("publickey,password").
/// None when absent or wrong.
pub(super) fn method_lists(
    ck: &mut Checker<'_>,
    s: &Section<'_>,
    who: &str,
) -> Option<Vec<MethodList>> {
    let (entries, span) = s.strings(ck, "authentication_methods")?;
    if entries.is_empty() {
        ck.at(
            &span,
            format!("{who}: `authentication_methods` is empty; remove it to allow any one method"),
        );
        return None;
    }
    let mut lists = Vec::new();
    for (text, span) in entries {
        match parse_method_list(text) {
            Ok(l) => lists.push(l),
            Err(e) => ck.at(&span, format!("{who}: `authentication_methods`: {e}")),
        }
    }
    Some(lists)
}

/// Longest trusted CA file read.
const MAX_CA_FILE: u64 = 4 * 1024 * 1024;

/// `trusted_user_ca_keys` (public key lines) and
/// `trusted_user_ca_keys_file` (one a line, `#` comments), together.
fn trusted_cas(ck: &mut Checker<'_>, s: &Section<'_>) -> Vec<PublicKey> {
    let mut cas = Vec::new();
    if let Some((entries, _)) = s.strings(ck, "trusted_user_ca_keys") {
        for (text, span) in entries {
            match PublicKey::from_openssh(text.trim()) {
                Ok(k) => cas.push(k),
                Err(e) => ck.at(&span, format!("`trusted_user_ca_keys`: {e}")),
            }
        }
    }
    if let Some((file, span)) = s.string(ck, "trusted_user_ca_keys_file") {
        if let Some(path) = ck.path("trusted_user_ca_keys_file", file, &span) {
            match read_text(&path, MAX_CA_FILE) {
                Ok(text) => {
                    for (i, line) in text.lines().enumerate() {
                        let line = line.trim();
                        if line.is_empty() || line.starts_with('#') {
                            continue;
                        }
                        match PublicKey::from_openssh(line) {
                            Ok(k) => cas.push(k),
                            Err(e) => ck.at(
                                &span,
                                format!(
                                    "`trusted_user_ca_keys_file` {} line {}: {e}",
                                    path.display(),
                                    i + 1
                                ),
                            ),
                        }
                    }
                }
                Err(e) => ck.at(&span, format!("`trusted_user_ca_keys_file`: {e}")),
            }
        }
    }
    cas
}

/// `[ban]`, checked; absent, or `max_failures = 0`: off.
pub(super) fn ban_settings(ck: &mut Checker<'_>, s: Option<&Section<'_>>) -> BanConfig {
    let Some(s) = s else {
        return BanConfig::OFF;
    };
    let max_failures = s
        .integer(ck, "max_failures", 0, 10_000)
        .and_then(|n| u32::try_from(n).ok())
        .unwrap_or(0);
    let window = s
        .duration(ck, "window")
        .flatten()
        .unwrap_or(DEFAULT_BAN_WINDOW);
    let duration = s
        .duration(ck, "duration")
        .flatten()
        .unwrap_or(DEFAULT_BAN_DURATION);
    for (key, d) in [("window", window), ("duration", duration)] {
        if d.is_zero() {
            if let Some(v) = s.get(key) {
                ck.at(&v.span(), format!("`{key}` must be longer than zero"));
            }
        }
    }
    BanConfig {
        max_failures,
        window,
        duration,
    }
}
