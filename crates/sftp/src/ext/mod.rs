//! The extension table: one row per EXTENDED request, as OpenSSH's sftp-server keeps its
//! handler table. The same rows drive dispatch, what SSH_FXP_VERSION (and v5 `supported`, v6
//! `supported2`) announces, what can be switched off ([`crate::SftpConfig::disabled_extensions`]),
//! the request filter's names and read-only mode, so an extension cannot be announced without
//! a handler, served while switched off, or dispatched past a policy.

mod check_file;
mod draft;
mod openssh;
mod xattr;

use crate::engine::{Engine, Refusal};
use crate::proto::attrs::supported_mask;
use crate::proto::request::{supported_open_flags, SUPPORTED_ACCESS_MASK};
use crate::wire::{put_string, put_u32, put_u64, Reader};

/// What a row announces in SSH_FXP_VERSION.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Announce {
    /// This data under the row's announced name (OpenSSH announces each extension's version).
    Data(&'static [u8]),
    /// `versions` (-13 §5.5): the selectable versions, announced only to a v3 session when
    /// there is a choice.
    Versions,
    /// `vendor-id` (-09 §4.4): this server's name and version.
    VendorId,
}

/// One extension.
pub(crate) struct Extension {
    /// The request name.
    pub(crate) name: &'static str,
    /// The name the request filter (`wharf sftp-server -P/-p/-Q`) knows it by: OpenSSH's
    /// sftp-server names for its own extensions (`posix-rename`, `statvfs`, ...), the request
    /// name for the others.
    pub(crate) request: &'static str,
    /// The name announced instead of `name`, where one announcement covers several requests
    /// (`check-file` for `check-file-handle` and `check-file-name`, extensions-00 §3;
    /// `xattr@proftpd.org` for its eight requests); rows sharing it are announced once, with
    /// the first enabled row's data.
    pub(crate) announced_as: Option<&'static str>,
    /// The data announced.
    pub(crate) announce: Announce,
    /// The lowest protocol version the extension is offered to.
    pub(crate) min_version: u32,
    /// Whether it can modify the filesystem; refused in read-only mode.
    pub(crate) does_write: bool,
    /// Handles the request body (after the name) and appends the reply.
    pub(crate) handler: fn(&mut Engine, u32, &mut Reader<'_>, &mut Vec<u8>) -> Result<(), Refusal>,
}

impl Extension {
    pub(crate) fn announced_name(&self) -> &'static str {
        self.announced_as.unwrap_or(self.name)
    }
}

/// Which rows of [`EXTENSIONS`] are switched on: bit `i` for row `i`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Enabled(u64);

// One bit per row.
const _: () = assert!(EXTENSIONS.len() <= 64);

impl Enabled {
    /// Every row except those named in `disabled`, by request name or announced name (so
    /// `check-file` switches off all three check-file requests, `check-file-name` only that
    /// one). Names matching no row are ignored here; [`crate::SftpConfig::check`] reports them.
    pub(crate) fn new(disabled: &[String]) -> Self {
        let mut bits = 0u64;
        for (i, ext) in EXTENSIONS.iter().enumerate() {
            let off = disabled
                .iter()
                .any(|d| d == ext.name || d == ext.announced_name());
            if !off {
                bits |= 1 << i;
            }
        }
        Self(bits)
    }

    fn has(self, index: usize) -> bool {
        self.0 & (1u64 << index) != 0
    }

    /// The enabled rows offered to `version`.
    fn rows(self, version: u32) -> impl Iterator<Item = &'static Extension> {
        EXTENSIONS
            .iter()
            .enumerate()
            .filter(move |(i, ext)| self.has(*i) && version >= ext.min_version)
            .map(|(_, ext)| ext)
    }
}

/// The enabled rows announced to `version`, one per announced name. `with_specials` includes
/// the rows whose announcement is not a plain extension (`versions`, `vendor-id`), which the
/// `supported`/`supported2` name lists leave out.
fn announced(version: u32, enabled: Enabled, with_specials: bool) -> Vec<&'static Extension> {
    let mut rows: Vec<&'static Extension> = Vec::new();
    for ext in enabled.rows(version) {
        if !with_specials && !matches!(ext.announce, Announce::Data(_)) {
            continue;
        }
        if rows
            .iter()
            .all(|seen| seen.announced_name() != ext.announced_name())
        {
            rows.push(ext);
        }
    }
    rows
}

/// A row whose announcement is plain data, with the usual defaults.
const fn row(
    name: &'static str,
    request: &'static str,
    does_write: bool,
    handler: fn(&mut Engine, u32, &mut Reader<'_>, &mut Vec<u8>) -> Result<(), Refusal>,
) -> Extension {
    Extension {
        name,
        request,
        announced_as: None,
        announce: Announce::Data(b"1"),
        min_version: 3,
        does_write,
        handler,
    }
}

/// A row announced under a shared name.
const fn shared(
    name: &'static str,
    announced_as: &'static str,
    announce: &'static [u8],
    does_write: bool,
    handler: fn(&mut Engine, u32, &mut Reader<'_>, &mut Vec<u8>) -> Result<(), Refusal>,
) -> Extension {
    Extension {
        name,
        request: name,
        announced_as: Some(announced_as),
        announce: Announce::Data(announce),
        min_version: 3,
        does_write,
        handler,
    }
}

/// Every extension, in announcement order.
pub(crate) const EXTENSIONS: &[Extension] = &[
    row(
        "posix-rename@openssh.com",
        "posix-rename",
        true,
        openssh::posix_rename,
    ),
    Extension {
        announce: Announce::Data(b"2"),
        ..row("statvfs@openssh.com", "statvfs", false, openssh::statvfs)
    },
    Extension {
        announce: Announce::Data(b"2"),
        ..row("fstatvfs@openssh.com", "fstatvfs", false, openssh::fstatvfs)
    },
    row("hardlink@openssh.com", "hardlink", true, openssh::hardlink),
    row("fsync@openssh.com", "fsync", true, openssh::fsync),
    row("limits@openssh.com", "limits", false, openssh::limits),
    row("copy-data", "copy-data", true, draft::copy_data),
    row(
        "expand-path@openssh.com",
        "expand-path",
        false,
        openssh::expand_path,
    ),
    row(
        "home-directory",
        "home-directory",
        false,
        openssh::home_directory,
    ),
    row(
        "users-groups-by-id@openssh.com",
        "users-groups-by-id",
        false,
        openssh::users_groups_by_id,
    ),
    row("lsetstat@openssh.com", "lsetstat", true, openssh::lsetstat),
    row("copy-file", "copy-file", true, draft::copy_file),
    row(
        "space-available",
        "space-available",
        false,
        draft::space_available,
    ),
    shared(
        "check-file-handle",
        "check-file",
        check_file::ALGORITHMS,
        false,
        check_file::check_file_handle,
    ),
    shared(
        "check-file-name",
        "check-file",
        check_file::ALGORITHMS,
        false,
        check_file::check_file_name,
    ),
    // Paramiko's client sends the announced name itself, with a handle (spec digest §9.1).
    shared(
        "check-file",
        "check-file",
        check_file::ALGORITHMS,
        false,
        check_file::check_file_paramiko,
    ),
    // ProFTPD's xattr extension (spec digest §9.3).
    shared(
        "getxattr@proftpd.org",
        "xattr@proftpd.org",
        b"1",
        false,
        xattr::get,
    ),
    shared(
        "fgetxattr@proftpd.org",
        "xattr@proftpd.org",
        b"1",
        false,
        xattr::fget,
    ),
    shared(
        "listxattr@proftpd.org",
        "xattr@proftpd.org",
        b"1",
        false,
        xattr::list,
    ),
    shared(
        "flistxattr@proftpd.org",
        "xattr@proftpd.org",
        b"1",
        false,
        xattr::flist,
    ),
    shared(
        "setxattr@proftpd.org",
        "xattr@proftpd.org",
        b"1",
        true,
        xattr::set,
    ),
    shared(
        "fsetxattr@proftpd.org",
        "xattr@proftpd.org",
        b"1",
        true,
        xattr::fset,
    ),
    shared(
        "removexattr@proftpd.org",
        "xattr@proftpd.org",
        b"1",
        true,
        xattr::remove,
    ),
    shared(
        "fremovexattr@proftpd.org",
        "xattr@proftpd.org",
        b"1",
        true,
        xattr::fremove,
    ),
    // `version-select` is answered by the engine, which knows whether it is the first request.
    Extension {
        announced_as: Some("versions"),
        announce: Announce::Versions,
        ..row("version-select", "version-select", false, version_select)
    },
    // A client may announce itself with the same structure (WinSCP does); it is accepted.
    Extension {
        announce: Announce::VendorId,
        min_version: 4,
        ..row("vendor-id", "vendor-id", false, vendor_id)
    },
];

fn version_select(
    engine: &mut Engine,
    id: u32,
    r: &mut Reader<'_>,
    out: &mut Vec<u8>,
) -> Result<(), Refusal> {
    engine.version_select(id, r, out)
}

/// `vendor-id` from the client (-09 §4.4): `string vendor-name, string product-name, string
/// product-version, int64 product-build-number` → OK. Nothing acts on it.
fn vendor_id(
    engine: &mut Engine,
    id: u32,
    r: &mut Reader<'_>,
    out: &mut Vec<u8>,
) -> Result<(), Refusal> {
    r.string("vendor-name")?;
    r.string("product-name")?;
    r.string("product-version")?;
    r.u64("product-build-number")?;
    engine.ok(out, id);
    Ok(())
}

/// Every name [`crate::SftpConfig::disabled_extensions`] accepts: each row's request name and
/// announced name, in table order, without repeats.
pub(crate) fn switch_names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = Vec::new();
    for ext in EXTENSIONS {
        for name in [ext.announced_name(), ext.name] {
            if !names.contains(&name) {
                names.push(name);
            }
        }
    }
    names
}

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
    /// The extensions switched on.
    pub(crate) enabled: Enabled,
}

/// The `vendor-id` product (-09 §4.4).
const VENDOR: &str = "Wharf";
const PRODUCT_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The (name, data) pairs of the VERSION reply: the table's enabled extensions, then the
/// draft-defined ones of the version that are not requests and cannot be switched off (-04
/// §4.3 `newline`, -05 §4.4 `supported`, -13 §5.4 `supported2` and `acl-supported`: they
/// describe the server rather than offer something).
pub(crate) fn announcements(offer: &Offer) -> Vec<(&'static str, Vec<u8>)> {
    let version = offer.version;
    if version < 3 {
        return Vec::new();
    }
    let mut pairs: Vec<(&'static str, Vec<u8>)> = Vec::new();
    for ext in announced(version, offer.enabled, true) {
        match ext.announce {
            Announce::Data(data) => pairs.push((ext.announced_name(), data.to_vec())),
            Announce::Versions => {
                if version == 3 && offer.selectable.len() > 1 {
                    let list: Vec<String> = offer.selectable.iter().map(u32::to_string).collect();
                    pairs.push(("versions", list.join(",").into_bytes()));
                }
            }
            Announce::VendorId => {
                let mut data = Vec::new();
                put_string(&mut data, VENDOR.as_bytes());
                put_string(&mut data, VENDOR.as_bytes());
                put_string(&mut data, PRODUCT_VERSION.as_bytes());
                put_u64(&mut data, 0);
                pairs.push(("vendor-id", data));
            }
        }
    }
    if version >= 4 {
        // The server's own separator: text mode is then a byte-for-byte copy (the drafts
        // make converting to the announced newline the client's job, -04 §4.3).
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
    let names: Vec<&str> = announced(version, offer.enabled, false)
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

/// The enabled extension a client speaking `version` may call by `name`.
pub(crate) fn find(name: &[u8], version: u32, enabled: Enabled) -> Option<&'static Extension> {
    enabled
        .rows(version)
        .find(|ext| ext.name.as_bytes() == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_findable() {
        let all = Enabled::new(&[]);
        for (i, ext) in EXTENSIONS.iter().enumerate() {
            assert!(EXTENSIONS[..i].iter().all(|other| other.name != ext.name));
            assert!(EXTENSIONS[..i]
                .iter()
                .all(|other| other.request != ext.request));
            assert_eq!(find(ext.name.as_bytes(), 6, all).unwrap().name, ext.name);
        }
        assert!(find(b"nope@example.com", 3, all).is_none());
        // vendor-id is a v4+ request.
        assert!(find(b"vendor-id", 3, all).is_none());
        let offer = |version| Offer {
            version,
            selectable: vec![3],
            max_read_len: 1000,
            enabled: all,
        };
        // One selectable version: no `versions` pair.
        let v3 = announcements(&offer(3));
        assert_eq!(v3.len(), announced(3, all, false).len());
        // The three check-file requests share one announcement, the eight xattr ones another.
        assert_eq!(announced(3, all, false).len(), EXTENSIONS.len() - 2 - 7 - 2);
        assert!(announcements(&offer(2)).is_empty());
    }

    #[test]
    fn switched_off_extensions_are_neither_announced_nor_found() {
        let names = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let some = Enabled::new(&names(&[
            "copy-data",
            "check-file-name",
            "xattr@proftpd.org",
        ]));
        assert!(find(b"copy-data", 3, some).is_none());
        assert!(find(b"check-file-name", 3, some).is_none());
        assert!(find(b"check-file-handle", 3, some).is_some());
        for ext in EXTENSIONS
            .iter()
            .filter(|e| e.name.ends_with("xattr@proftpd.org"))
        {
            assert!(find(ext.name.as_bytes(), 3, some).is_none(), "{}", ext.name);
        }
        let offer = |version, enabled| Offer {
            version,
            selectable: vec![3, 4, 5, 6],
            max_read_len: 1000,
            enabled,
        };
        let v3 = announcements(&offer(3, some));
        assert!(find_pair(&v3, "copy-data").is_none());
        assert!(find_pair(&v3, "xattr@proftpd.org").is_none());
        // check-file-handle still serves the announcement.
        assert!(find_pair(&v3, "check-file").is_some());
        assert!(find_pair(&v3, "versions").is_some());
        let none = Enabled::new(&names(&["check-file", "versions", "vendor-id"]));
        let v3 = announcements(&offer(3, none));
        assert!(find_pair(&v3, "check-file").is_none());
        assert!(find_pair(&v3, "versions").is_none());
        assert!(find(b"check-file", 3, none).is_none());
        assert!(find(b"version-select", 3, none).is_none());
        let v6 = announcements(&offer(6, none));
        assert!(find_pair(&v6, "vendor-id").is_none());
        // supported2 lists only what is switched on.
        let data = find_pair(&v6, "supported2").unwrap();
        assert!(!data.windows(10).any(|w| w == b"check-file"));
        let data = find_pair(&announcements(&offer(6, Enabled::new(&[]))), "supported2").unwrap();
        assert!(data.windows(10).any(|w| w == b"check-file"));
        // Every switch name is a row's request or announced name.
        for name in switch_names() {
            let off = Enabled::new(&[name.to_string()]);
            assert_ne!(off, Enabled::new(&[]), "{name} switches nothing off");
        }
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
            enabled: Enabled::new(&[]),
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
        assert_eq!(names.len(), announced(5, Enabled::new(&[]), false).len());
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
        assert_eq!(count as usize, announced(6, Enabled::new(&[]), false).len());
        for _ in 0..count {
            r.string("name").unwrap();
        }
        assert!(r.is_empty());
        assert_eq!(find_pair(&v6, "acl-supported").unwrap(), [0, 0, 0, 0]);
        assert!(find_pair(&v6, "supported").is_none());
    }
}
