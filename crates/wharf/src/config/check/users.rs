//! `[[users]]`: names, password hashes, authorized keys, roots.

use std::collections::HashMap;

use toml::Spanned;

use super::section::{section, Checker, Section};
use crate::config::read_text;
use crate::config::tree::Node;
use crate::users::{
    check_user_name, parse_authorized_key, parse_authorized_keys, HashKind, StoredHash, User,
};

const USER_KEYS: &[&str] = &[
    "name",
    "password_hash",
    "authorized_keys",
    "authorized_keys_file",
    "root",
    "scp",
];

const MAX_AUTHORIZED_KEYS_FILE: u64 = 4 * 1024 * 1024;

/// `[[users]]`, checked. None when any user had an error.
pub(super) fn check_users(ck: &mut Checker<'_>, node: Option<&Spanned<Node>>) -> Option<Vec<User>> {
    let Some(node) = node else {
        ck.whole_file("no [[users]]: add at least one user");
        return None;
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
        if let Some(user) = check_user(ck, &s, &mut first_seen) {
            users.push(user);
        }
    }
    (ck.diags.len() == errors_before).then_some(users)
}

fn check_user(
    ck: &mut Checker<'_>,
    s: &Section<'_>,
    first_seen: &mut HashMap<String, usize>,
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
    if !has_password && !has_keys {
        ck.at(
            &s.span,
            format!("{who} has neither a `password_hash` nor any authorized key, so cannot log in"),
        );
    }

    if ck.diags.len() > errors_before {
        return None;
    }
    let scp = s.boolean(ck, "scp");
    Some(User {
        name,
        root: root?,
        password_hash,
        authorized_keys: keys,
        scp,
    })
}
