//! `[sftp]`: SFTP extensions switched off.

use super::section::{Checker, Section};

pub(super) const SFTP_KEYS: &[&str] = &["disabled_extensions"];

/// `disabled_extensions`: extension names as announced or requested (`copy-data`,
/// `check-file`, `hardlink@openssh.com`, `xattr@proftpd.org`, ...). An unknown name is an
/// error listing the known ones: a typo must not leave an extension silently on.
pub(super) fn disabled_extensions(ck: &mut Checker<'_>, s: Option<&Section<'_>>) -> Vec<String> {
    let Some((entries, _)) = s.and_then(|s| s.strings(ck, "disabled_extensions")) else {
        return Vec::new();
    };
    let known = wharf_sftp::extension_names();
    let mut names = Vec::new();
    for (name, span) in entries {
        if known.contains(&name) {
            names.push(name.to_owned());
        } else {
            ck.at(
                &span,
                format!(
                    "`disabled_extensions`: unknown SFTP extension `{name}`; known: {}",
                    known.join(", ")
                ),
            );
        }
    }
    names
}
