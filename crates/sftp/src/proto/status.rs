//! Status codes: the v6 superset internally, mapped down to what the session's version knows.

use wharf_vfs::{VfsError, VfsErrorKind};

/// An SFTP status code (draft-ietf-secsh-filexfer-13 §9.1 numbering, which extends the earlier
/// drafts' lists without renumbering).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum StatusCode {
    /// 0.
    Ok = 0,
    /// 1.
    Eof = 1,
    /// 2.
    NoSuchFile = 2,
    /// 3.
    PermissionDenied = 3,
    /// 4.
    Failure = 4,
    /// 5.
    BadMessage = 5,
    /// 6 (client-local; never sent).
    NoConnection = 6,
    /// 7 (client-local; never sent).
    ConnectionLost = 7,
    /// 8.
    OpUnsupported = 8,
    /// 9, since v4.
    InvalidHandle = 9,
    /// 10, since v4.
    NoSuchPath = 10,
    /// 11, since v4.
    FileAlreadyExists = 11,
    /// 12, since v4.
    WriteProtect = 12,
    /// 13, since v4.
    NoMedia = 13,
    /// 14, since v5.
    NoSpaceOnFilesystem = 14,
    /// 15, since v5.
    QuotaExceeded = 15,
    /// 16, since v5.
    UnknownPrincipal = 16,
    /// 17, since v5.
    LockConflict = 17,
    /// 18, since v6.
    DirNotEmpty = 18,
    /// 19, since v6.
    NotADirectory = 19,
    /// 20, since v6.
    InvalidFilename = 20,
    /// 21, since v6.
    LinkLoop = 21,
    /// 22, since v6.
    CannotDelete = 22,
    /// 23, since v6.
    InvalidParameter = 23,
    /// 24, since v6.
    FileIsADirectory = 24,
    /// 25, since v6.
    ByteRangeLockConflict = 25,
    /// 26, since v6.
    ByteRangeLockRefused = 26,
    /// 27, since v6.
    DeletePending = 27,
    /// 28, since v6.
    FileCorrupt = 28,
    /// 29, since v6.
    OwnerInvalid = 29,
    /// 30, since v6.
    GroupInvalid = 30,
    /// 31, since v6.
    NoMatchingByteRangeLock = 31,
}

impl StatusCode {
    /// The number to send to a client speaking `version`: the code itself if that version
    /// defines it, else the nearest older code (the table in the spec digest §6.2).
    pub fn for_version(self, version: u32) -> u32 {
        use StatusCode::*;
        let code = self as u32;
        let known = match version {
            0..=3 => 8,
            4 => 13,
            5 => 17,
            _ => 31,
        };
        if code <= known {
            return code;
        }
        let nearer = match self {
            NoSuchPath | NotADirectory if version >= 4 => NoSuchPath,
            NoSuchPath | NotADirectory | LinkLoop => NoSuchFile,
            WriteProtect | CannotDelete => PermissionDenied,
            OwnerInvalid | GroupInvalid if version == 5 => UnknownPrincipal,
            _ => Failure,
        };
        nearer as u32
    }

    /// The message sent with the code; it names the precise condition even when the number is
    /// mapped down for an older client.
    pub fn message(self) -> &'static str {
        use StatusCode::*;
        match self {
            Ok => "Success",
            Eof => "End of file",
            NoSuchFile => "No such file",
            PermissionDenied => "Permission denied",
            Failure => "Failure",
            BadMessage => "Bad message",
            NoConnection => "No connection",
            ConnectionLost => "Connection lost",
            OpUnsupported => "Operation unsupported",
            InvalidHandle => "Invalid handle",
            NoSuchPath => "No such path",
            FileAlreadyExists => "File already exists",
            WriteProtect => "Write protected",
            NoMedia => "No media",
            NoSpaceOnFilesystem => "No space left on filesystem",
            QuotaExceeded => "Quota exceeded",
            UnknownPrincipal => "Unknown principal",
            LockConflict => "Lock conflict",
            DirNotEmpty => "Directory not empty",
            NotADirectory => "Not a directory",
            InvalidFilename => "Invalid filename",
            LinkLoop => "Too many symbolic links",
            CannotDelete => "Cannot delete",
            InvalidParameter => "Invalid parameter",
            FileIsADirectory => "Is a directory",
            ByteRangeLockConflict => "Byte-range lock conflict",
            ByteRangeLockRefused => "Byte-range lock refused",
            DeletePending => "Delete pending",
            FileCorrupt => "File corrupt",
            OwnerInvalid => "Invalid owner",
            GroupInvalid => "Invalid group",
            NoMatchingByteRangeLock => "No matching byte-range lock",
        }
    }
}

impl From<&VfsError> for StatusCode {
    fn from(err: &VfsError) -> Self {
        match err.kind() {
            VfsErrorKind::AlreadyExists => Self::FileAlreadyExists,
            VfsErrorKind::DirectoryNotEmpty => Self::DirNotEmpty,
            VfsErrorKind::InvalidInput => Self::InvalidParameter,
            VfsErrorKind::InvalidPath | VfsErrorKind::NameTooLong => Self::InvalidFilename,
            VfsErrorKind::IsADirectory => Self::FileIsADirectory,
            VfsErrorKind::LinkLoop => Self::LinkLoop,
            VfsErrorKind::NoSpace => Self::NoSpaceOnFilesystem,
            VfsErrorKind::NotADirectory => Self::NotADirectory,
            VfsErrorKind::NotFound => Self::NoSuchFile,
            VfsErrorKind::PermissionDenied => Self::PermissionDenied,
            VfsErrorKind::QuotaExceeded => Self::QuotaExceeded,
            VfsErrorKind::ReadOnlyFilesystem => Self::WriteProtect,
            VfsErrorKind::Unsupported => Self::OpUnsupported,
            _ => Self::Failure,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::StatusCode::*;
    use super::*;

    #[test]
    fn v3_knows_only_codes_up_to_op_unsupported() {
        // Expected values: the down-mapping table of the spec digest §6.2, v3 column.
        let cases = [
            (Ok, 0),
            (Eof, 1),
            (NoSuchFile, 2),
            (PermissionDenied, 3),
            (Failure, 4),
            (BadMessage, 5),
            (OpUnsupported, 8),
            (InvalidHandle, 4),
            (NoSuchPath, 2),
            (FileAlreadyExists, 4),
            (WriteProtect, 3),
            (NoMedia, 4),
            (NoSpaceOnFilesystem, 4),
            (QuotaExceeded, 4),
            (UnknownPrincipal, 4),
            (LockConflict, 4),
            (DirNotEmpty, 4),
            (NotADirectory, 2),
            (InvalidFilename, 4),
            (LinkLoop, 2),
            (CannotDelete, 3),
            (InvalidParameter, 4),
            (FileIsADirectory, 4),
            (OwnerInvalid, 4),
        ];
        for (code, v3) in cases {
            assert_eq!(code.for_version(3), v3, "{code:?}");
        }
    }

    #[test]
    fn later_versions_keep_their_codes() {
        assert_eq!(InvalidHandle.for_version(4), 9);
        assert_eq!(NotADirectory.for_version(4), 10);
        assert_eq!(NoSpaceOnFilesystem.for_version(4), 4);
        assert_eq!(NoSpaceOnFilesystem.for_version(5), 14);
        assert_eq!(OwnerInvalid.for_version(5), 16);
        assert_eq!(DirNotEmpty.for_version(5), 4);
        assert_eq!(NoMatchingByteRangeLock.for_version(6), 31);
    }

    #[test]
    fn vfs_errors_map_to_codes() {
        // Linux errno numbers: ENOENT, EACCES, EEXIST, ENOTEMPTY, ENOSPC, EDQUOT, ELOOP, EXDEV.
        let cases = [
            (2, NoSuchFile),
            (13, PermissionDenied),
            (17, FileAlreadyExists),
            (39, DirNotEmpty),
            (28, NoSpaceOnFilesystem),
            (122, QuotaExceeded),
            (40, LinkLoop),
            (18, Failure),
        ];
        for (errno, code) in cases {
            let err = VfsError::Os { op: "t", errno };
            assert_eq!(StatusCode::from(&err), code, "errno {errno}");
        }
    }

    #[test]
    fn v4_and_v5_down_mapping() {
        // Expected values: the spec digest §6.2 table, v4 and v5 columns.
        let cases = [
            (InvalidHandle, 9, 9),
            (NoSuchPath, 10, 10),
            (FileAlreadyExists, 11, 11),
            (WriteProtect, 12, 12),
            (NoMedia, 13, 13),
            (NoSpaceOnFilesystem, 4, 14),
            (QuotaExceeded, 4, 15),
            (UnknownPrincipal, 4, 16),
            (LockConflict, 4, 17),
            (DirNotEmpty, 4, 4),
            (NotADirectory, 10, 10),
            (InvalidFilename, 4, 4),
            (LinkLoop, 2, 2),
            (CannotDelete, 3, 3),
            (InvalidParameter, 4, 4),
            (FileIsADirectory, 4, 4),
            (ByteRangeLockConflict, 4, 4),
            (ByteRangeLockRefused, 4, 4),
            (DeletePending, 4, 4),
            (FileCorrupt, 4, 4),
            (OwnerInvalid, 4, 16),
            (GroupInvalid, 4, 16),
            (NoMatchingByteRangeLock, 4, 4),
        ];
        for (code, v4, v5) in cases {
            assert_eq!(code.for_version(4), v4, "{code:?} v4");
            assert_eq!(code.for_version(5), v5, "{code:?} v5");
            // v6 knows every code.
            assert_eq!(code.for_version(6), code as u32, "{code:?} v6");
        }
    }

    #[test]
    fn more_vfs_errors_map_to_v6_codes() {
        // Linux errno numbers: ENOTDIR, EISDIR, EROFS, ENAMETOOLONG, EINVAL, ENOSYS, EFBIG.
        let cases = [
            (20, NotADirectory),
            (21, FileIsADirectory),
            (30, WriteProtect),
            (36, InvalidFilename),
            (22, InvalidParameter),
            (38, OpUnsupported),
            (27, NoSpaceOnFilesystem),
        ];
        for (errno, code) in cases {
            let err = VfsError::Os { op: "t", errno };
            assert_eq!(StatusCode::from(&err), code, "errno {errno}");
        }
    }
}
