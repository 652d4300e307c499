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
    /// v3–v5 SYMLINK (and v6 LINK later).
    Link {
        /// The new link's path.
        link: &'a [u8],
        /// The symlink's target text, or the existing file for a hard link.
        target: &'a [u8],
        symbolic: bool,
    },
    Extended {
        name: &'a [u8],
        body: Reader<'a>,
    },
}

/// How a file is to be opened, whatever version asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct OpenFlags {
    pub(crate) read: bool,
    pub(crate) write: bool,
    pub(crate) append: bool,
    pub(crate) disposition: Disposition,
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
        }
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
            Self::Open { flags, .. } => flags.to_options(0).modifies(),
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
        SSH_FXP_OPEN => Request::Open {
            path: r.string("filename")?,
            flags: OpenFlags::from_v3(r.u32("pflags")?),
            attrs: Attrs::decode(r, version)?,
        },
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
        SSH_FXP_REALPATH => Request::RealPath {
            path: r.string("path")?,
        },
        SSH_FXP_RENAME => Request::Rename {
            from: r.string("oldpath")?,
            to: r.string("newpath")?,
            overwrite: false,
        },
        SSH_FXP_READLINK => Request::ReadLink {
            path: r.string("path")?,
        },
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
}
