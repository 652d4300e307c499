//! The extension table: one row per EXTENDED request, as OpenSSH's sftp-server keeps its
//! handler table. The same rows drive dispatch, what SSH_FXP_VERSION announces, and read-only
//! mode, so an extension cannot be announced without a handler or dispatched past a policy.

mod openssh;

use crate::engine::{Engine, Refusal};
use crate::wire::Reader;

/// One extension.
pub(crate) struct Extension {
    /// The request name, which is also the announced name.
    pub(crate) name: &'static str,
    /// The data announced in SSH_FXP_VERSION (OpenSSH announces each extension's version).
    pub(crate) announce: &'static [u8],
    /// The lowest protocol version the extension is offered to.
    pub(crate) min_version: u32,
    /// Whether it can modify the filesystem; refused in read-only mode.
    pub(crate) does_write: bool,
    /// Handles the request body (after the name) and appends the reply.
    pub(crate) handler: fn(&mut Engine, u32, &mut Reader<'_>, &mut Vec<u8>) -> Result<(), Refusal>,
}

/// Every extension, in announcement order.
pub(crate) static EXTENSIONS: &[Extension] = &[
    Extension {
        name: "posix-rename@openssh.com",
        announce: b"1",
        min_version: 3,
        does_write: true,
        handler: openssh::posix_rename,
    },
    Extension {
        name: "statvfs@openssh.com",
        announce: b"2",
        min_version: 3,
        does_write: false,
        handler: openssh::statvfs,
    },
    Extension {
        name: "fstatvfs@openssh.com",
        announce: b"2",
        min_version: 3,
        does_write: false,
        handler: openssh::fstatvfs,
    },
    Extension {
        name: "hardlink@openssh.com",
        announce: b"1",
        min_version: 3,
        does_write: true,
        handler: openssh::hardlink,
    },
    Extension {
        name: "fsync@openssh.com",
        announce: b"1",
        min_version: 3,
        does_write: true,
        handler: openssh::fsync,
    },
    Extension {
        name: "limits@openssh.com",
        announce: b"1",
        min_version: 3,
        does_write: false,
        handler: openssh::limits,
    },
];

/// The (name, data) pairs to announce to a client speaking `version`.
pub(crate) fn announcements(version: u32) -> Vec<(&'static str, &'static [u8])> {
    EXTENSIONS
        .iter()
        .filter(|ext| version >= ext.min_version)
        .map(|ext| (ext.name, ext.announce))
        .collect()
}

/// The extension a client speaking `version` may call by `name`.
pub(crate) fn find(name: &[u8], version: u32) -> Option<&'static Extension> {
    EXTENSIONS
        .iter()
        .find(|ext| ext.name.as_bytes() == name && version >= ext.min_version)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_findable() {
        for (i, ext) in EXTENSIONS.iter().enumerate() {
            assert!(EXTENSIONS[..i].iter().all(|other| other.name != ext.name));
            assert!(std::ptr::eq(find(ext.name.as_bytes(), 3).unwrap(), ext));
        }
        assert!(find(b"nope@example.com", 3).is_none());
        assert_eq!(announcements(3).len(), EXTENSIONS.len());
    }
}
