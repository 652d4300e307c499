//! Walks the spanned TOML tree of a config file, collecting every problem
//! with its position, and builds the [`Config`] when there are none.

mod auth;
mod section;
mod server;
mod sftp;
mod users;

use std::path::Path;
use std::sync::Arc;

use toml::Spanned;
use wharf_crypto::hostkey::{KeyKind, SigAlg};

use super::tree::{self, LineIndex, Node};
use super::{Config, Diagnostic, Mode, Overrides};
use crate::hostkeys;
use crate::users::UserStore;
use section::{section, Checker};
use server::{server_settings, HostKeyEntry, SERVER_KEYS};
use users::check_users;

const TOP_KEYS: &[&str] = &["server", "users", "auth", "ban", "sftp"];

pub(super) fn check(
    text: &str,
    base: &Path,
    overrides: &Overrides,
    mode: Mode,
) -> Result<Config, Vec<Diagnostic>> {
    let mut ck = Checker {
        index: LineIndex::new(text),
        diags: Vec::new(),
        base,
    };
    let root = match tree::parse(text) {
        Ok(root) => root,
        Err(e) => {
            let message = e.message().trim_end().to_owned();
            match e.span() {
                Some(span) => ck.at(&span, message),
                None => ck.whole_file(message),
            }
            return Err(ck.diags);
        }
    };
    let empty = Spanned::new(0..0, Node::Table(Vec::new()));
    let top = section(&mut ck, &root, "the file", TOP_KEYS);
    let server_node = top.as_ref().and_then(|t| t.get("server")).unwrap_or(&empty);
    let server = section(&mut ck, server_node, "[server]", SERVER_KEYS);
    let users_node = top.as_ref().and_then(|t| t.get("users"));
    let auth_node = top.as_ref().and_then(|t| t.get("auth"));
    let auth_section = auth_node.and_then(|n| section(&mut ck, n, "[auth]", auth::AUTH_KEYS));
    let ban_node = top.as_ref().and_then(|t| t.get("ban"));
    let ban_section = ban_node.and_then(|n| section(&mut ck, n, "[ban]", auth::BAN_KEYS));
    let sftp_node = top.as_ref().and_then(|t| t.get("sftp"));
    let sftp_section = sftp_node.and_then(|n| section(&mut ck, n, "[sftp]", sftp::SFTP_KEYS));
    let sftp_disabled_extensions = sftp::disabled_extensions(&mut ck, sftp_section.as_ref());

    let settings = server.map(|s| server_settings(&mut ck, &s, overrides));
    let mut auth = auth::auth_settings(&mut ck, auth_section.as_ref(), overrides);
    auth.ban = auth::ban_settings(&mut ck, ban_section.as_ref());
    let config_source = auth.sources.contains(&crate::config::SourceSpec::Config);
    if !config_source {
        if let Some(node) = users_node {
            ck.at(
                &node.span(),
                "[[users]] is only read when [auth] `sources` includes \"config\"",
            );
        }
    }
    let only_config = config_source && auth.sources.len() == 1;
    // Users may log in without credentials of their own through a
    // trusted CA's certificates or a trusted host (hostbased).
    let cert_logins = !auth.trusted_user_ca_keys.is_empty() || auth.hostbased.is_some();
    let users = check_users(&mut ck, users_node, only_config, cert_logins);

    // Host keys and their algorithms are checked together, once both are
    // known; in check mode, keys that do not exist yet count by the kind
    // their file name gives them.
    let mut host_keys = Vec::new();
    if let Some(settings) = &settings {
        // What each key can sign with, one entry per key that loaded or
        // is still to be created.
        let mut sig_algs: Vec<Vec<SigAlg>> = Vec::new();
        for entry in &settings.host_keys {
            let exists = std::fs::symlink_metadata(&entry.path).is_ok();
            if exists {
                match hostkeys::load(&entry.path) {
                    Ok(key) => {
                        sig_algs.push(key.sig_algs().to_vec());
                        host_keys.push(Some(Arc::new(key)));
                    }
                    Err(e) => host_key_error(&mut ck, entry, e.to_string()),
                }
            } else {
                let kind = hostkeys::kind_for_path(&entry.path);
                sig_algs.push(sig_algs_of(kind));
                host_keys.push(None);
            }
        }
        if let Some(algs) = &settings.algorithms {
            let usable = sig_algs
                .iter()
                .any(|key_algs| key_algs.iter().any(|a| algs.host_key.contains(a)));
            // Only when every key could be judged: a key that failed to load
            // has its own error already.
            if !usable
                && !settings.host_keys.is_empty()
                && sig_algs.len() == settings.host_keys.len()
            {
                let message = format!(
                    "no host key can sign with any of the host_key_algorithms ({})",
                    algs.host_key
                        .iter()
                        .map(|a| a.name())
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                match &settings.host_key_algorithms_span {
                    Some(span) => ck.at(span, message),
                    None => ck.whole_file(message),
                }
            }
        }
    }

    if !ck.diags.is_empty() {
        return Err(finish(ck.diags));
    }
    // Only a file without errors gets this far, so missing keys are never
    // created for a configuration that will not run.
    let (Some(settings), Some(users)) = (settings, users) else {
        ck.whole_file("internal error: checking produced neither a result nor an error");
        return Err(ck.diags);
    };
    let mut loaded = Vec::new();
    for (entry, key) in settings.host_keys.iter().zip(host_keys) {
        match (key, mode) {
            (Some(key), _) => loaded.push(key),
            (None, Mode::Check) => {}
            (None, Mode::Serve) => {
                match hostkeys::load_or_create(&entry.path, hostkeys::kind_for_path(&entry.path)) {
                    Ok((key, created)) => {
                        if created {
                            tracing::info!(
                                path = %entry.path.display(),
                                fingerprint = %key.fingerprint_sha256(),
                                "created host key"
                            );
                        }
                        loaded.push(Arc::new(key));
                    }
                    Err(e) => host_key_error(&mut ck, entry, e.to_string()),
                }
            }
        }
    }
    if !ck.diags.is_empty() {
        return Err(finish(ck.diags));
    }
    let users = match UserStore::new(users) {
        Ok(store) => Arc::new(store),
        Err(e) => {
            ck.whole_file(e.to_string());
            return Err(ck.diags);
        }
    };
    let Some(algorithms) = settings.algorithms else {
        ck.whole_file("internal error: algorithms missing without an error");
        return Err(ck.diags);
    };
    Ok(Config {
        source: None,
        listen: settings.listen,
        host_keys: loaded,
        algorithms,
        max_auth_tries: settings.max_auth_tries,
        login_grace_time: settings.login_grace_time,
        auth_failure_delay: settings.auth_failure_delay,
        max_startups: settings.max_startups,
        banner: settings.banner,
        moduli: settings.moduli,
        rekey_limit: settings.rekey_limit,
        rekey_interval: settings.rekey_interval,
        client_alive_interval: settings.client_alive_interval,
        client_alive_count_max: settings.client_alive_count_max,
        idle_timeout: settings.idle_timeout,
        scp: settings.scp,
        sftp_versions: settings.sftp_versions,
        sftp_disabled_extensions,
        users,
        auth,
    })
}

fn host_key_error(ck: &mut Checker<'_>, entry: &HostKeyEntry, message: String) {
    let message = format!("host key: {message}");
    match &entry.span {
        Some(span) => ck.at(span, message),
        None => ck.whole_file(message),
    }
}

/// Sorts problems into file order, those without a line last.
fn finish(mut diags: Vec<Diagnostic>) -> Vec<Diagnostic> {
    diags.sort_by_key(|d| (d.line.is_none(), d.line, d.column));
    diags
}

/// What each kind of key can sign with (RSA: all three, as sshd offers
/// rsa-sha2-512/256 and, when enabled, ssh-rsa for one RSA key).
fn sig_algs_of(kind: KeyKind) -> Vec<SigAlg> {
    match kind {
        KeyKind::Ed25519 => vec![SigAlg::Ed25519],
        KeyKind::EcdsaP256 => vec![SigAlg::EcdsaP256],
        KeyKind::EcdsaP384 => vec![SigAlg::EcdsaP384],
        KeyKind::EcdsaP521 => vec![SigAlg::EcdsaP521],
        KeyKind::Rsa { .. } => vec![SigAlg::RsaSha512, SigAlg::RsaSha256, SigAlg::RsaSha1],
    }
}

#[cfg(test)]
mod tests;
