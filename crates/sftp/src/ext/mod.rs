//! The extension table: one row per EXTENDED request, as OpenSSH's sftp-server keeps its
//! handler table. The same rows drive dispatch, what SSH_FXP_VERSION announces, and read-only
//! mode, so an extension cannot be announced without a handler or dispatched past a policy.

mod check_file;
mod draft;
mod openssh;

use crate::engine::{Engine, Refusal};
use crate::proto::attrs::supported_mask;
use crate::proto::request::{supported_open_flags, SUPPORTED_ACCESS_MASK};
use crate::wire::{put_string, put_u32, put_u64, Reader};

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
    /// The name announced instead of `name`, where one announcement covers several requests
    /// (`check-file` for `check-file-handle` and `check-file-name`, extensions-00 §3); rows
    /// sharing it are announced once, with the first row's data.
    pub(crate) announced_as: Option<&'static str>,
}

impl Extension {
    fn announced_name(&self) -> &'static str {
        self.announced_as.unwrap_or(self.name)
    }
}

/// The rows announced to `version`, one per announced name.
fn announced(version: u32) -> Vec<&'static Extension> {
    let mut rows: Vec<&'static Extension> = Vec::new();
    for ext in EXTENSIONS.iter().filter(|ext| version >= ext.min_version) {
        if rows
            .iter()
            .all(|seen| seen.announced_name() != ext.announced_name())
        {
            rows.push(ext);
        }
    }
    rows
}

/// Every extension, in announcement order.
pub(crate) static EXTENSIONS: &[Extension] = &[
    Extension {
        name: "posix-rename@openssh.com",
        announce: b"1",
        min_version: 3,
        does_write: true,
        handler: openssh::posix_rename,
        announced_as: None,
    },
    Extension {
        name: "statvfs@openssh.com",
        announce: b"2",
        min_version: 3,
        does_write: false,
        handler: openssh::statvfs,
        announced_as: None,
    },
    Extension {
        name: "fstatvfs@openssh.com",
        announce: b"2",
        min_version: 3,
        does_write: false,
        handler: openssh::fstatvfs,
        announced_as: None,
    },
    Extension {
        name: "hardlink@openssh.com",
        announce: b"1",
        min_version: 3,
        does_write: true,
        handler: openssh::hardlink,
        announced_as: None,
    },
    Extension {
        name: "fsync@openssh.com",
        announce: b"1",
        min_version: 3,
        does_write: true,
        handler: openssh::fsync,
        announced_as: None,
    },
    Extension {
        name: "limits@openssh.com",
        announce: b"1",
        min_version: 3,
        does_write: false,
        handler: openssh::limits,
        announced_as: None,
    },
    Extension {
        name: "copy-data",
        announce: b"1",
        min_version: 3,
        does_write: true,
        handler: draft::copy_data,
        announced_as: None,
    },
    Extension {
        name: "expand-path@openssh.com",
        announce: b"1",
        min_version: 3,
        does_write: false,
        handler: openssh::expand_path,
        announced_as: None,
    },
    Extension {
        name: "home-directory",
        announce: b"1",
        min_version: 3,
        does_write: false,
        handler: openssh::home_directory,
        announced_as: None,
    },
    Extension {
        name: "users-groups-by-id@openssh.com",
        announce: b"1",
        min_version: 3,
        does_write: false,
        handler: openssh::users_groups_by_id,
        announced_as: None,
    },
    Extension {
        name: "lsetstat@openssh.com",
        announce: b"1",
        min_version: 3,
        does_write: true,
        handler: openssh::lsetstat,
        announced_as: None,
    },
    Extension {
        name: "copy-file",
        announce: b"1",
        min_version: 3,
        does_write: true,
        handler: draft::copy_file,
        announced_as: None,
    },
    Extension {
        name: "space-available",
        announce: b"1",
        min_version: 3,
        does_write: false,
        handler: draft::space_available,
        announced_as: None,
    },
    Extension {
        name: "check-file-handle",
        announce: check_file::ALGORITHMS,
        min_version: 3,
        does_write: false,
        handler: check_file::check_file_handle,
        announced_as: Some("check-file"),
    },
    Extension {
        name: "check-file-name",
        announce: check_file::ALGORITHMS,
        min_version: 3,
        does_write: false,
        handler: check_file::check_file_name,
        announced_as: Some("check-file"),
    },
];

/// What the VERSION reply is built from.
#[derive(Clone, Debug)]
pub(crate) struct Offer {
    /// The version being answered (1 or 2 get no extensions: pairs exist since v3).
    pub(crate) version: u32,
    /// The versions a `version-select` may pick; `versions` is announced to a v3 session when
    /// there is more than one.
    pub(crate) selectable: Vec<u32>,
    /// Reads up to this size are never short except at EOF (`max-read-size`).
    pub(crate) max_read_len: u32,
}

/// The `vendor-id` product (-09 §4.4).
const VENDOR: &str = "Wharf";
const PRODUCT_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The (name, data) pairs of the VERSION reply: the table's extensions, then the
/// draft-defined ones of the version (-04 §4.3 `newline`, -05 §4.4 `supported`, -13 §5.4
/// `supported2` and `acl-supported`, -13 §5.5 `versions`, -09 §4.4 `vendor-id`).
pub(crate) fn announcements(offer: &Offer) -> Vec<(&'static str, Vec<u8>)> {
    let version = offer.version;
    if version < 3 {
        return Vec::new();
    }
    let mut pairs: Vec<(&'static str, Vec<u8>)> = announced(version)
        .into_iter()
        .map(|ext| (ext.announced_name(), ext.announce.to_vec()))
        .collect();
    if version == 3 && offer.selectable.len() > 1 {
        let list: Vec<String> = offer.selectable.iter().map(u32::to_string).collect();
        pairs.push(("versions", list.join(",").into_bytes()));
    }
    if version >= 4 {
        // The server's own separator: text mode is then a byte-for-byte copy.
        pairs.push(("newline", b"\n".to_vec()));
    }
    if version == 5 {
        pairs.push(("supported", supported(offer, false)));
    }
    if version >= 6 {
        pairs.push(("supported2", supported(offer, true)));
        // No ACL support: capabilities 0, as AsyncSSH sends.
        pairs.push(("acl-supported", 0u32.to_be_bytes().to_vec()));
    }
    if version >= 4 {
        let mut data = Vec::new();
        put_string(&mut data, VENDOR.as_bytes());
        put_string(&mut data, VENDOR.as_bytes());
        put_string(&mut data, PRODUCT_VERSION.as_bytes());
        put_u64(&mut data, 0);
        pairs.push(("vendor-id", data));
    }
    pairs
}

/// `supported` (v5) or `supported2` (v6). v5's extension names run to the end of the data
/// with no count; v6 has block vectors and counted lists (spec digest P7).
fn supported(offer: &Offer, v6: bool) -> Vec<u8> {
    let version = offer.version;
    let mut data = Vec::new();
    put_u32(&mut data, supported_mask(version));
    // No attrib-bits are reported or settable.
    put_u32(&mut data, 0);
    put_u32(&mut data, supported_open_flags(version));
    put_u32(&mut data, SUPPORTED_ACCESS_MASK);
    put_u32(&mut data, offer.max_read_len);
    let names: Vec<&str> = announced(version)
        .into_iter()
        .map(Extension::announced_name)
        .collect();
    if v6 {
        // Block vectors: bit n = the lock combination (flags >> 6) & 0xf == n. OPEN's lock
        // flags are not enforced, so only "no locking" (bit 0). BLOCK keeps session-local
        // advisory ranges, so every combination with BLOCK_ADVISORY (n = 8..15) is offered.
        data.extend_from_slice(&0x0001u16.to_be_bytes());
        data.extend_from_slice(&0xff01u16.to_be_bytes());
        put_u32(&mut data, 0);
        put_u32(&mut data, u32::try_from(names.len()).unwrap_or(0));
    }
    for name in names {
        put_string(&mut data, name.as_bytes());
    }
    data
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
        let offer = |version| Offer {
            version,
            selectable: vec![3],
            max_read_len: 1000,
        };
        assert_eq!(announcements(&offer(3)).len(), announced(3).len());
        // check-file-handle and check-file-name share one announcement.
        assert_eq!(announced(3).len(), EXTENSIONS.len() - 1);
        assert!(announcements(&offer(2)).is_empty());
    }

    fn find_pair(pairs: &[(&'static str, Vec<u8>)], name: &str) -> Option<Vec<u8>> {
        pairs
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, d)| d.clone())
    }

    #[test]
    fn version_specific_announcements() {
        let offer = |version| Offer {
            version,
            selectable: vec![3, 4, 5, 6],
            max_read_len: 0x1234,
        };
        let v3 = announcements(&offer(3));
        assert_eq!(find_pair(&v3, "versions").unwrap(), b"3,4,5,6");
        assert!(find_pair(&v3, "newline").is_none());
        let v4 = announcements(&offer(4));
        assert!(find_pair(&v4, "versions").is_none());
        assert_eq!(find_pair(&v4, "newline").unwrap(), b"\n");
        assert!(find_pair(&v4, "supported").is_none());
        let vendor = find_pair(&v4, "vendor-id").unwrap();
        let mut r = Reader::new(&vendor);
        assert_eq!(r.string("v").unwrap(), b"Wharf");
        assert_eq!(r.string("p").unwrap(), b"Wharf");
        r.string("version").unwrap();
        assert_eq!(r.u64("build").unwrap(), 0);
        assert!(r.is_empty());

        // v5 `supported` (-05 §4.4): five uint32, then names to the end with no count.
        let data = find_pair(&announcements(&offer(5)), "supported").unwrap();
        let mut r = Reader::new(&data);
        assert_eq!(r.u32("attrs").unwrap(), 0x1ad);
        assert_eq!(r.u32("bits").unwrap(), 0);
        assert_eq!(r.u32("open").unwrap(), 0x38);
        assert_eq!(r.u32("access").unwrap(), 0x187);
        assert_eq!(r.u32("max-read").unwrap(), 0x1234);
        let mut names = Vec::new();
        while !r.is_empty() {
            names.push(r.string("name").unwrap().to_vec());
        }
        assert_eq!(names.len(), announced(5).len());
        assert_eq!(names[0], b"posix-rename@openssh.com");

        // v6 `supported2` (-13 §5.4): block vectors and counted lists.
        let v6 = announcements(&offer(6));
        let data = find_pair(&v6, "supported2").unwrap();
        let mut r = Reader::new(&data);
        assert_eq!(r.u32("attrs").unwrap(), 0xa1ad);
        assert_eq!(r.u32("bits").unwrap(), 0);
        assert_eq!(r.u32("open").unwrap(), 0xc38);
        assert_eq!(r.u32("access").unwrap(), 0x187);
        assert_eq!(r.u32("max-read").unwrap(), 0x1234);
        assert_eq!(r.take(2, "open-block").unwrap(), [0x00, 0x01]);
        assert_eq!(r.take(2, "block").unwrap(), [0xff, 0x01]);
        assert_eq!(r.u32("attrib-ext count").unwrap(), 0);
        let count = r.u32("ext count").unwrap();
        assert_eq!(count as usize, announced(6).len());
        for _ in 0..count {
            r.string("name").unwrap();
        }
        assert!(r.is_empty());
        assert_eq!(find_pair(&v6, "acl-supported").unwrap(), [0, 0, 0, 0]);
        assert!(find_pair(&v6, "supported").is_none());
    }
}
