//! The request filter: requests allowed or denied by name, as OpenSSH's sftp-server does with
//! `-p` and `-P`, and the names `-Q requests` prints.

use crate::ext::EXTENSIONS;
use crate::proto::request::Request;

/// The base requests by OpenSSH sftp-server's names (its handler table), then v6's.
const BASE: &[&str] = &[
    "open", "close", "read", "write", "lstat", "fstat", "setstat", "fsetstat", "opendir",
    "readdir", "remove", "mkdir", "rmdir", "realpath", "stat", "rename", "readlink", "symlink",
    "link", "block", "unblock",
];

/// Every request name the filter knows: the base requests, then each extension's (OpenSSH's
/// short names for its own: `posix-rename`, `statvfs`, ...).
pub fn request_names() -> Vec<&'static str> {
    BASE.iter()
        .copied()
        .chain(EXTENSIONS.iter().map(|ext| ext.request))
        .collect()
}

/// Which requests a session serves, by the names of [`request_names`]. As in OpenSSH's
/// sftp-server, the deny list is checked first, then the allow list if there is one; a
/// refused request gets PERMISSION_DENIED. Read-only mode applies as well, separately.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RequestFilter {
    /// Requests always refused (`-P`).
    pub deny: Vec<String>,
    /// When set, only these requests are served (`-p`).
    pub allow: Option<Vec<String>>,
}

impl RequestFilter {
    /// Whether the request called `name` may run.
    pub fn permits(&self, name: &str) -> bool {
        if self.deny.iter().any(|d| d == name) {
            return false;
        }
        match &self.allow {
            Some(allow) => allow.iter().any(|a| a == name),
            None => true,
        }
    }

    /// Whether the filter lets everything through (the common case, checked once).
    pub(crate) fn is_open(&self) -> bool {
        self.deny.is_empty() && self.allow.is_none()
    }
}

impl Request<'_> {
    /// The base request's filter name; EXTENDED requests are named by their table row.
    pub(crate) fn filter_name(&self) -> &'static str {
        match self {
            Self::Open { .. } => "open",
            Self::Close { .. } => "close",
            Self::Read { .. } => "read",
            Self::Write { .. } => "write",
            Self::Stat { follow: false, .. } => "lstat",
            Self::Stat { follow: true, .. } => "stat",
            Self::Fstat { .. } => "fstat",
            Self::SetStat { .. } => "setstat",
            Self::FSetStat { .. } => "fsetstat",
            Self::OpenDir { .. } => "opendir",
            Self::ReadDir { .. } => "readdir",
            Self::Remove { .. } => "remove",
            Self::Mkdir { .. } => "mkdir",
            Self::Rmdir { .. } => "rmdir",
            Self::RealPath { .. } => "realpath",
            Self::Rename { .. } => "rename",
            Self::ReadLink { .. } => "readlink",
            // v3–v5 SYMLINK and a v6 symbolic LINK are the same operation.
            Self::Link { symbolic: true, .. } => "symlink",
            Self::Link {
                symbolic: false, ..
            } => "link",
            Self::Block { .. } => "block",
            Self::Unblock { .. } => "unblock",
            Self::Extended { .. } => "extended",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn deny_then_allow() {
        let open = RequestFilter::default();
        assert!(open.is_open() && open.permits("write"));
        let deny = RequestFilter {
            deny: names(&["write", "remove"]),
            allow: None,
        };
        assert!(!deny.permits("write") && !deny.permits("remove") && deny.permits("read"));
        let allow = RequestFilter {
            deny: names(&["read"]),
            allow: Some(names(&["open", "read", "close"])),
        };
        assert!(allow.permits("open") && allow.permits("close"));
        // Denied wins over allowed; anything unlisted is refused.
        assert!(!allow.permits("read") && !allow.permits("write"));
    }

    #[test]
    fn names_include_openssh_short_names_once() {
        let all = request_names();
        for name in [
            "open",
            "symlink",
            "posix-rename",
            "statvfs",
            "hardlink",
            "copy-data",
            "users-groups-by-id",
            "check-file-name",
            "getxattr@proftpd.org",
        ] {
            assert!(all.contains(&name), "{name}");
        }
        for (i, name) in all.iter().enumerate() {
            assert!(!all[..i].contains(name), "{name} listed twice");
        }
    }
}
