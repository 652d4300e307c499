//! Requests: decoded from each version's layout into one version-neutral model.
//!
//! Fields borrow from the input buffer; nothing is copied or allocated while decoding.

use wharf_vfs::OpenOptions;

use super::attrs::Attrs;
use super::*;
use crate::wire::{DecodeError, Reader};

/// A decoded request (everything after the request id).
#[derive(Debug)]
pub(crate) enum Request<'a> {
    Open {
        path: &'a [u8],
        flags: OpenFlags,
        attrs: Attrs,
    },
    Close {
        handle: &'a [u8],
    },
    Read {
        handle: &'a [u8],
        offset: u64,
        len: u32,
    },
    Write {
        handle: &'a [u8],
        offset: u64,
        data: &'a [u8],
    },
    /// STAT (`follow`) and LSTAT.
    Stat {
        path: &'a [u8],
        follow: bool,
    },
    Fstat {
        handle: &'a [u8],
    },
    SetStat {
        path: &'a [u8],
        attrs: Attrs,
    },
    FSetStat {
        handle: &'a [u8],
        attrs: Attrs,
    },
    OpenDir {
        path: &'a [u8],
    },
    ReadDir {
        handle: &'a [u8],
    },
    Remove {
        path: &'a [u8],
    },
    Mkdir {
        path: &'a [u8],
        attrs: Attrs,
    },
    Rmdir {
        path: &'a [u8],
    },
    RealPath {
        path: &'a [u8],
        /// v6 control byte; `None` for v3–v5, whose REALPATH canonicalises and follows links.
        control: Option<RealPathControl>,
        /// v6 compose-paths, applied in order to the running result (spec digest P8).
        compose: Vec<&'a [u8]>,
    },
    Rename {
        from: &'a [u8],
        to: &'a [u8],
        /// v3 RENAME never overwrites (draft-02 §6.5); v5+ carries a flag.
        overwrite: bool,
    },
    ReadLink {
        path: &'a [u8],
    },
    /// v3–v5 SYMLINK and v6 LINK.
    Link {
        /// The new link's path.
        link: &'a [u8],
        /// The symlink's target text, or the existing file for a hard link.
        target: &'a [u8],
        symbolic: bool,
    },
    /// v6 BLOCK: an advisory byte-range lock.
    Block {
        handle: &'a [u8],
        offset: u64,
        len: u64,
        mask: u32,
    },
    /// v6 UNBLOCK.
    Unblock {
        handle: &'a [u8],
        offset: u64,
        len: u64,
    },
    Extended {
        name: &'a [u8],
        body: Reader<'a>,
    },
}

/// The v6 REALPATH control byte (-13 §8.9).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RealPathControl {
    /// Lexical only: never fails for a missing path, resolves no symlink, dummy attributes.
    NoCheck,
    /// Stat the result if possible, else report type UNKNOWN.
    StatIf,
    /// Fail if the result cannot be stat'ed.
    StatAlways,
}

/// How a file is to be opened, whatever version asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct OpenFlags {
    pub(crate) read: bool,
    pub(crate) write: bool,
    pub(crate) append: bool,
    pub(crate) disposition: Disposition,
    /// v4 TEXT / v5+ TEXT_MODE. The server announces `newline` = "\n", its own separator, so
    /// text mode is a byte-for-byte copy (-04 §4.3: clients convert to the announced newline).
    pub(crate) text: bool,
    /// v6 NOFOLLOW: a final symlink fails with LINK_LOOP.
    pub(crate) nofollow: bool,
    /// v6 DELETE_ON_CLOSE.
    pub(crate) delete_on_close: bool,
}

/// What to do about an existing or missing file (the v5/v6 dispositions, which v3's pflags map
/// onto).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Disposition {
    CreateNew,
    CreateTruncate,
    OpenExisting,
    OpenOrCreate,
    TruncateExisting,
}

// v3 pflags (draft-02 §6.3).
const FXF_READ: u32 = 0x01;
const FXF_WRITE: u32 = 0x02;
const FXF_APPEND: u32 = 0x04;
const FXF_CREAT: u32 = 0x08;
const FXF_TRUNC: u32 = 0x10;
const FXF_EXCL: u32 = 0x20;
/// v4 (-04 §6.3).
const FXF_TEXT: u32 = 0x40;

// v5/v6 OPEN flags (-05 §6.3.1, -13 §8.1.1).
const FXF_ACCESS_DISPOSITION: u32 = 0x07;
const FXF_APPEND_DATA: u32 = 0x08;
const FXF_APPEND_DATA_ATOMIC: u32 = 0x10;
const FXF_TEXT_MODE: u32 = 0x20;
const FXF_NOFOLLOW: u32 = 0x400;
const FXF_DELETE_ON_CLOSE: u32 = 0x800;

/// The v5/v6 OPEN flags this server acts on, announced in `supported`/`supported2`. The lock
/// flags (v5 ACCESS_*_LOCK, v6 BLOCK_*: 0x40–0x200) are accepted as advisory and not enforced,
/// so they are not announced; the audit/backup/override bits (0x1000–0x8000) are ignored.
pub(crate) fn supported_open_flags(version: u32) -> u32 {
    let v5 = FXF_APPEND_DATA | FXF_APPEND_DATA_ATOMIC | FXF_TEXT_MODE;
    if version >= 6 {
        v5 | FXF_NOFOLLOW | FXF_DELETE_ON_CLOSE
    } else {
        v5
    }
}

// ACE4 desired-access bits (-05 §5.7).
const ACE4_READ_DATA: u32 = 0x01;
const ACE4_WRITE_DATA: u32 = 0x02;
const ACE4_APPEND_DATA: u32 = 0x04;
/// The desired-access bits honoured: data access and attribute access (which any open grants).
pub(crate) const SUPPORTED_ACCESS_MASK: u32 = 0x0000_0187;

// v5+ RENAME flags (-05 §6.5, -13 §8.3).
const FXF_RENAME_OVERWRITE: u32 = 0x1;
// ATOMIC (0x2) without OVERWRITE is an atomic no-replace rename, which is what happens anyway.
const FXF_RENAME_NATIVE: u32 = 0x4;

// v6 REALPATH control bytes (-13 §8.9).
const FXRP_NO_CHECK: u8 = 1;
const FXRP_STAT_IF: u8 = 2;
const FXRP_STAT_ALWAYS: u8 = 3;

impl OpenFlags {
    /// Maps v3 pflags as the v5 draft's table does: CREAT|EXCL → CREATE_NEW, CREAT|TRUNC →
    /// CREATE_TRUNCATE, CREAT → OPEN_OR_CREATE, TRUNC → TRUNCATE_EXISTING, else OPEN_EXISTING.
    /// TRUNC without CREAT is accepted, as OpenSSH does.
    pub(crate) fn from_v3(pflags: u32) -> Self {
        let has = |bit| pflags & bit != 0;
        let disposition = match (has(FXF_CREAT), has(FXF_EXCL), has(FXF_TRUNC)) {
            (true, true, _) => Disposition::CreateNew,
            (true, false, true) => Disposition::CreateTruncate,
            (true, false, false) => Disposition::OpenOrCreate,
            (false, _, true) => Disposition::TruncateExisting,
            (false, _, false) => Disposition::OpenExisting,
        };
        Self {
            read: has(FXF_READ),
            write: has(FXF_WRITE),
            append: has(FXF_APPEND),
            disposition,
            text: has(FXF_TEXT),
            nofollow: false,
            delete_on_close: false,
        }
    }

    /// v5/v6 `desired-access` and `flags`. Data access comes from the ACE4 mask; an append
    /// flag means writing. An undefined disposition (5–7) is invalid.
    pub(crate) fn from_v5(access: u32, flags: u32) -> Result<Self, DecodeError> {
        let has = |bit| flags & bit != 0;
        let disposition = match flags & FXF_ACCESS_DISPOSITION {
            0 => Disposition::CreateNew,
            1 => Disposition::CreateTruncate,
            2 => Disposition::OpenExisting,
            3 => Disposition::OpenOrCreate,
            4 => Disposition::TruncateExisting,
            _ => {
                return Err(DecodeError::Invalid {
                    field: "open disposition",
                })
            }
        };
        let append = has(FXF_APPEND_DATA) || has(FXF_APPEND_DATA_ATOMIC);
        Ok(Self {
            read: access & ACE4_READ_DATA != 0,
            write: access & (ACE4_WRITE_DATA | ACE4_APPEND_DATA) != 0,
            append,
            disposition,
            text: has(FXF_TEXT_MODE),
            nofollow: has(FXF_NOFOLLOW),
            delete_on_close: has(FXF_DELETE_ON_CLOSE),
        })
    }

    /// The backend's options, creating with permission bits `mode`.
    pub(crate) fn to_options(self, mode: u32) -> OpenOptions {
        let (create, exclusive, truncate) = match self.disposition {
            Disposition::CreateNew => (true, true, false),
            Disposition::CreateTruncate => (true, false, true),
            Disposition::OpenExisting => (false, false, false),
            Disposition::OpenOrCreate => (true, false, false),
            Disposition::TruncateExisting => (false, false, true),
        };
        OpenOptions {
            read: self.read,
            // Appending is writing (the v5 draft maps O_APPEND to WRITE_DATA|APPEND_DATA); a
            // v3 client sending APPEND without WRITE still means to write.
            write: self.write || self.append,
            append: self.append,
            create,
            exclusive,
            truncate,
            mode,
        }
    }
}

impl Request<'_> {
    /// Whether the request could modify the filesystem (refused in read-only mode).
    /// EXTENDED requests answer this through the extension table.
    pub(crate) fn does_write(&self) -> bool {
        match self {
            // A delete-on-close open removes the file even when it only reads it.
            Self::Open { flags, .. } => flags.to_options(0).modifies() || flags.delete_on_close,
            Self::Write { .. }
            | Self::SetStat { .. }
            | Self::FSetStat { .. }
            | Self::Remove { .. }
            | Self::Mkdir { .. }
            | Self::Rmdir { .. }
            | Self::Rename { .. }
            | Self::Link { .. } => true,
            _ => false,
        }
    }
}

/// Decodes the body of a request of `packet_type` (after its id) as `version` lays it out.
/// `Ok(None)` means the version has no such request.
pub(crate) fn decode<'a>(
    version: u32,
    packet_type: u8,
    r: &mut Reader<'a>,
) -> Result<Option<Request<'a>>, DecodeError> {
    let request = match packet_type {
        SSH_FXP_OPEN => {
            let path = r.string("filename")?;
            let flags = if version >= 5 {
                let access = r.u32("desired-access")?;
                OpenFlags::from_v5(access, r.u32("flags")?)?
            } else {
                OpenFlags::from_v3(r.u32("pflags")?)
            };
            Request::Open {
                path,
                flags,
                attrs: Attrs::decode(r, version)?,
            }
        }
        SSH_FXP_CLOSE => Request::Close {
            handle: r.string("handle")?,
        },
        SSH_FXP_READ => Request::Read {
            handle: r.string("handle")?,
            offset: r.u64("offset")?,
            len: r.u32("length")?,
        },
        SSH_FXP_WRITE => Request::Write {
            handle: r.string("handle")?,
            offset: r.u64("offset")?,
            data: r.string("data")?,
        },
        // v4+ append `uint32 flags`, a hint of the attributes wanted (-04 §6.8); every
        // attribute is cheap here, so it is read if present and otherwise ignored.
        SSH_FXP_LSTAT | SSH_FXP_STAT => Request::Stat {
            path: r.string("path")?,
            follow: packet_type == SSH_FXP_STAT,
        },
        SSH_FXP_FSTAT => Request::Fstat {
            handle: r.string("handle")?,
        },
        SSH_FXP_SETSTAT => Request::SetStat {
            path: r.string("path")?,
            attrs: Attrs::decode(r, version)?,
        },
        SSH_FXP_FSETSTAT => Request::FSetStat {
            handle: r.string("handle")?,
            attrs: Attrs::decode(r, version)?,
        },
        SSH_FXP_OPENDIR => Request::OpenDir {
            path: r.string("path")?,
        },
        SSH_FXP_READDIR => Request::ReadDir {
            handle: r.string("handle")?,
        },
        SSH_FXP_REMOVE => Request::Remove {
            path: r.string("filename")?,
        },
        SSH_FXP_MKDIR => Request::Mkdir {
            path: r.string("path")?,
            attrs: Attrs::decode(r, version)?,
        },
        SSH_FXP_RMDIR => Request::Rmdir {
            path: r.string("path")?,
        },
        SSH_FXP_REALPATH if version >= 6 => {
            let path = r.string("original-path")?;
            // Both trailing fields are optional (-13 §4.3: positional, send 1..i).
            let control = match r.u8("control-byte").ok() {
                None | Some(FXRP_NO_CHECK) => RealPathControl::NoCheck,
                Some(FXRP_STAT_IF) => RealPathControl::StatIf,
                Some(FXRP_STAT_ALWAYS) => RealPathControl::StatAlways,
                Some(_) => {
                    return Err(DecodeError::Invalid {
                        field: "control-byte",
                    })
                }
            };
            // compose-paths run to the end of the packet, with no count (P8). Each takes at
            // least four bytes, so the list is bounded by the packet length.
            let mut compose = Vec::new();
            while !r.is_empty() {
                compose.push(r.string("compose-path")?);
            }
            Request::RealPath {
                path,
                control: Some(control),
                compose,
            }
        }
        SSH_FXP_REALPATH => Request::RealPath {
            path: r.string("path")?,
            control: None,
            compose: Vec::new(),
        },
        SSH_FXP_RENAME => {
            let from = r.string("oldpath")?;
            let to = r.string("newpath")?;
            // v2–v4 RENAME never overwrites (draft-02 §6.5). v5+ flags: OVERWRITE replaces;
            // ATOMIC alone is an atomic no-replace rename (the backend's NoReplace is
            // renameat2(RENAME_NOREPLACE)); NATIVE asks for the native rename, which on POSIX
            // replaces, the other flags becoming hints (-13 §8.3).
            let overwrite = if version >= 5 {
                r.u32("flags")? & (FXF_RENAME_OVERWRITE | FXF_RENAME_NATIVE) != 0
            } else {
                false
            };
            Request::Rename {
                from,
                to,
                overwrite,
            }
        }
        SSH_FXP_READLINK => Request::ReadLink {
            path: r.string("path")?,
        },
        // v6 replaced SYMLINK by LINK (-13 §8.7): unknown there, so OP_UNSUPPORTED.
        SSH_FXP_SYMLINK if version >= 6 => return Ok(None),
        SSH_FXP_SYMLINK if version >= 4 => {
            // v4/v5 clients (AsyncSSH, lftp, WinSCP) follow the draft's order, (linkpath,
            // targetpath): OpenSSH's reversal is a v3 quirk and OpenSSH never speaks v4+.
            let link = r.string("linkpath")?;
            let target = r.string("targetpath")?;
            Request::Link {
                link,
                target,
                symbolic: true,
            }
        }
        SSH_FXP_SYMLINK => {
            // The draft says (linkpath, targetpath); OpenSSH's client sends (targetpath,
            // linkpath) and every widely used client copied it (PROTOCOL §4.1), so that is
            // what the server reads.
            let target = r.string("targetpath")?;
            let link = r.string("linkpath")?;
            Request::Link {
                link,
                target,
                symbolic: true,
            }
        }
        SSH_FXP_LINK if version >= 6 => {
            let link = r.string("new-link-path")?;
            let target = r.string("existing-path")?;
            let symbolic = r.u8("sym-link")? != 0;
            Request::Link {
                link,
                target,
                symbolic,
            }
        }
        SSH_FXP_BLOCK if version >= 6 => Request::Block {
            handle: r.string("handle")?,
            offset: r.u64("offset")?,
            len: r.u64("length")?,
            mask: r.u32("uLockMask")?,
        },
        SSH_FXP_UNBLOCK if version >= 6 => Request::Unblock {
            handle: r.string("handle")?,
            offset: r.u64("offset")?,
            len: r.u64("length")?,
        },
        SSH_FXP_EXTENDED => Request::Extended {
            name: r.string("extended-request")?,
            body: *r,
        },
        _ => return Ok(None),
    };
    Ok(Some(request))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v3_pflags_map_to_dispositions() {
        let cases = [
            (FXF_READ, Disposition::OpenExisting),
            (FXF_WRITE | FXF_CREAT, Disposition::OpenOrCreate),
            (
                FXF_WRITE | FXF_CREAT | FXF_TRUNC,
                Disposition::CreateTruncate,
            ),
            (FXF_WRITE | FXF_CREAT | FXF_EXCL, Disposition::CreateNew),
            (
                FXF_WRITE | FXF_CREAT | FXF_EXCL | FXF_TRUNC,
                Disposition::CreateNew,
            ),
            (FXF_WRITE | FXF_TRUNC, Disposition::TruncateExisting),
            (FXF_WRITE | FXF_EXCL, Disposition::OpenExisting),
        ];
        for (pflags, disposition) in cases {
            assert_eq!(
                OpenFlags::from_v3(pflags).disposition,
                disposition,
                "{pflags:#x}"
            );
        }
        let flags = OpenFlags::from_v3(FXF_READ | FXF_WRITE | FXF_APPEND);
        assert!(flags.read && flags.write && flags.append);
        let options = OpenFlags::from_v3(FXF_WRITE | FXF_CREAT | FXF_EXCL).to_options(0o600);
        assert!(options.create && options.exclusive && !options.truncate);
        assert_eq!(options.mode, 0o600);
        assert!(!OpenFlags::from_v3(FXF_READ).to_options(0).modifies());
        let append_only = OpenFlags::from_v3(FXF_APPEND).to_options(0);
        assert!(append_only.write && append_only.append && !append_only.read);
    }

    #[test]
    fn symlink_reads_openssh_order() {
        let body = [0, 0, 0, 1, b't', 0, 0, 0, 1, b'l'];
        let mut r = Reader::new(&body);
        match decode(3, SSH_FXP_SYMLINK, &mut r) {
            Ok(Some(Request::Link {
                link,
                target,
                symbolic: true,
            })) => {
                assert_eq!((link, target), (&b"l"[..], &b"t"[..]));
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn unknown_types_and_truncation() {
        let mut r = Reader::new(&[]);
        assert!(matches!(decode(3, 99, &mut r), Ok(None)));
        let mut r = Reader::new(&[0, 0, 0, 4, b'a']);
        assert!(decode(3, SSH_FXP_STAT, &mut r).is_err());
        let mut r = Reader::new(&[0, 0, 0, 1, b'h', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        assert!(decode(3, SSH_FXP_READ, &mut r).is_err());
    }

    #[test]
    fn v5_open_flags() {
        let f = OpenFlags::from_v5(ACE4_READ_DATA, 2).unwrap();
        assert_eq!(f.disposition, Disposition::OpenExisting);
        assert!(f.read && !f.write && !f.append && !f.text);
        let f = OpenFlags::from_v5(ACE4_WRITE_DATA, 3 | FXF_APPEND_DATA_ATOMIC | FXF_TEXT_MODE)
            .unwrap();
        assert_eq!(f.disposition, Disposition::OpenOrCreate);
        assert!(f.write && f.append && f.text && !f.read);
        let f = OpenFlags::from_v5(ACE4_APPEND_DATA, FXF_NOFOLLOW | FXF_DELETE_ON_CLOSE).unwrap();
        assert_eq!(f.disposition, Disposition::CreateNew);
        assert!(f.write && f.nofollow && f.delete_on_close);
        assert_eq!(
            OpenFlags::from_v5(0, 1).unwrap().disposition,
            Disposition::CreateTruncate
        );
        assert_eq!(
            OpenFlags::from_v5(0, 4).unwrap().disposition,
            Disposition::TruncateExisting
        );
        for bad in 5..8 {
            assert!(OpenFlags::from_v5(0, bad).is_err());
        }
        // A delete-on-close read is a modification (refused in read-only mode).
        let body = [
            &[0, 0, 0, 1, b'f'][..],
            &ACE4_READ_DATA.to_be_bytes(),
            &(2 | FXF_DELETE_ON_CLOSE).to_be_bytes(),
            &[0, 0, 0, 0, 5],
        ]
        .concat();
        let request = decode(6, SSH_FXP_OPEN, &mut Reader::new(&body))
            .unwrap()
            .unwrap();
        assert!(request.does_write());
        let body = [
            &[0, 0, 0, 1, b'f'][..],
            &1u32.to_be_bytes(),
            &[0, 0, 0, 0, 5],
        ]
        .concat();
        let request = decode(4, SSH_FXP_OPEN, &mut Reader::new(&body))
            .unwrap()
            .unwrap();
        assert!(!request.does_write());
    }

    #[test]
    fn v5_rename_flags_and_v6_realpath() {
        let names = [0, 0, 0, 1, b'a', 0, 0, 0, 1, b'b'];
        let overwrite = |version, flags: Option<u32>| {
            let mut body = names.to_vec();
            if let Some(flags) = flags {
                body.extend_from_slice(&flags.to_be_bytes());
            }
            match decode(version, SSH_FXP_RENAME, &mut Reader::new(&body)) {
                Ok(Some(Request::Rename { overwrite, .. })) => Some(overwrite),
                _ => None,
            }
        };
        assert_eq!(overwrite(4, None), Some(false));
        assert_eq!(overwrite(5, Some(0)), Some(false));
        assert_eq!(overwrite(5, Some(FXF_RENAME_OVERWRITE)), Some(true));
        assert_eq!(overwrite(6, Some(0x2)), Some(false));
        assert_eq!(overwrite(6, Some(FXF_RENAME_NATIVE)), Some(true));
        // v5 requires the flags.
        assert_eq!(overwrite(5, None), None);

        let body = [0, 0, 0, 1, b'p', 3, 0, 0, 0, 1, b'x', 0, 0, 0, 0];
        match decode(6, SSH_FXP_REALPATH, &mut Reader::new(&body)) {
            Ok(Some(Request::RealPath {
                control: Some(RealPathControl::StatAlways),
                compose,
                ..
            })) => assert_eq!(compose, [&b"x"[..], b""]),
            other => panic!("{other:?}"),
        }
        // A compose-path cut short is malformed.
        let body = [0, 0, 0, 1, b'p', 1, 0, 0, 0, 9];
        assert!(decode(6, SSH_FXP_REALPATH, &mut Reader::new(&body)).is_err());
        // v3–v5 ignore trailing bytes after the path.
        match decode(5, SSH_FXP_REALPATH, &mut Reader::new(&body)) {
            Ok(Some(Request::RealPath { control: None, .. })) => {}
            other => panic!("{other:?}"),
        }
    }
}
