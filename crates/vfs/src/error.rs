//! One error type for every backend, precise enough for SFTP status codes and SCP messages.

use std::io;

/// Why a filesystem operation failed.
///
/// Messages name the operation, never a host path: they may be shown to the remote user.
#[derive(Debug, thiserror::Error)]
pub enum VfsError {
    /// The operating system refused the operation with `errno`.
    #[error("{op}: {}", io::Error::from_raw_os_error(*errno))]
    Os {
        /// The operation that failed, e.g. `"open"`.
        op: &'static str,
        /// The raw OS error number.
        errno: i32,
    },
    /// The path cannot name a file (for example it contains a NUL byte, or the operation needs
    /// a final component and the path is the root).
    #[error("{op}: invalid path: {reason}")]
    InvalidPath {
        /// The operation that failed.
        op: &'static str,
        /// What is wrong with the path.
        reason: &'static str,
    },
    /// The object exists but is neither a regular file nor a directory where one was needed.
    #[error("{op}: not a regular file")]
    NotRegularFile {
        /// The operation that failed.
        op: &'static str,
    },
    /// The backend cannot do this at all.
    #[error("{op}: not supported by this filesystem")]
    Unsupported {
        /// The operation that failed.
        op: &'static str,
    },
}

/// A coarse classification of [`VfsError`], the part protocol code maps to status codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum VfsErrorKind {
    /// `EEXIST`.
    AlreadyExists,
    /// `EBUSY`: for example removing or renaming the root.
    Busy,
    /// `EXDEV`: the operation would cross filesystems.
    CrossDevice,
    /// `ENOTEMPTY`.
    DirectoryNotEmpty,
    /// `EINVAL` and friends.
    InvalidInput,
    /// The path is unusable (NUL byte, no final component).
    InvalidPath,
    /// `EISDIR`.
    IsADirectory,
    /// `ELOOP`: too many symlinks.
    LinkLoop,
    /// `ENAMETOOLONG`.
    NameTooLong,
    /// `ENOSPC`, `EFBIG`.
    NoSpace,
    /// `ENOTDIR`.
    NotADirectory,
    /// `ENOENT`.
    NotFound,
    /// A special file where a regular file was needed.
    NotRegularFile,
    /// Anything else.
    Other,
    /// `EACCES`, `EPERM`.
    PermissionDenied,
    /// `EDQUOT`.
    QuotaExceeded,
    /// `EROFS`.
    ReadOnlyFilesystem,
    /// `ENOSYS`, `EOPNOTSUPP`, or the backend lacks the operation.
    Unsupported,
}

impl VfsError {
    /// Wraps an errno from rustix (crate-internal so rustix stays out of the public API;
    /// other backends build [`VfsError::Os`] directly).
    pub(crate) fn os(op: &'static str, errno: rustix::io::Errno) -> Self {
        Self::Os {
            op,
            errno: errno.raw_os_error(),
        }
    }

    /// Wraps a `std::io::Error`; errors without an OS code become `EIO`.
    pub fn from_io(op: &'static str, err: &io::Error) -> Self {
        Self::Os {
            op,
            errno: err
                .raw_os_error()
                .unwrap_or(rustix::io::Errno::IO.raw_os_error()),
        }
    }

    /// The raw OS error number, when the OS reported the failure.
    pub fn raw_os_error(&self) -> Option<i32> {
        match self {
            Self::Os { errno, .. } => Some(*errno),
            _ => None,
        }
    }

    /// The `std::io::ErrorKind` for this error.
    pub fn io_error_kind(&self) -> io::ErrorKind {
        match self {
            Self::Os { errno, .. } => io::Error::from_raw_os_error(*errno).kind(),
            Self::InvalidPath { .. } => io::ErrorKind::InvalidInput,
            Self::NotRegularFile { .. } => io::ErrorKind::InvalidInput,
            Self::Unsupported { .. } => io::ErrorKind::Unsupported,
        }
    }

    /// The classification protocol code maps to status codes.
    pub fn kind(&self) -> VfsErrorKind {
        use rustix::io::Errno;
        let errno = match self {
            Self::Os { errno, .. } => Errno::from_raw_os_error(*errno),
            Self::InvalidPath { .. } => return VfsErrorKind::InvalidPath,
            Self::NotRegularFile { .. } => return VfsErrorKind::NotRegularFile,
            Self::Unsupported { .. } => return VfsErrorKind::Unsupported,
        };
        match errno {
            // ENODATA: no extended attribute of that name.
            Errno::NOENT | Errno::NODATA => VfsErrorKind::NotFound,
            Errno::ACCESS | Errno::PERM => VfsErrorKind::PermissionDenied,
            Errno::EXIST => VfsErrorKind::AlreadyExists,
            Errno::NOTDIR => VfsErrorKind::NotADirectory,
            Errno::ISDIR => VfsErrorKind::IsADirectory,
            Errno::NOTEMPTY => VfsErrorKind::DirectoryNotEmpty,
            Errno::NOSPC | Errno::FBIG => VfsErrorKind::NoSpace,
            Errno::DQUOT => VfsErrorKind::QuotaExceeded,
            Errno::LOOP => VfsErrorKind::LinkLoop,
            Errno::XDEV => VfsErrorKind::CrossDevice,
            Errno::ROFS => VfsErrorKind::ReadOnlyFilesystem,
            Errno::INVAL => VfsErrorKind::InvalidInput,
            Errno::NAMETOOLONG => VfsErrorKind::NameTooLong,
            Errno::NOSYS | Errno::OPNOTSUPP => VfsErrorKind::Unsupported,
            Errno::BUSY => VfsErrorKind::Busy,
            _ => VfsErrorKind::Other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustix::io::Errno;

    #[test]
    fn kinds_follow_errno() {
        let cases = [
            (
                Errno::NOENT,
                VfsErrorKind::NotFound,
                io::ErrorKind::NotFound,
            ),
            (
                Errno::ACCESS,
                VfsErrorKind::PermissionDenied,
                io::ErrorKind::PermissionDenied,
            ),
            (
                Errno::PERM,
                VfsErrorKind::PermissionDenied,
                io::ErrorKind::PermissionDenied,
            ),
            (
                Errno::EXIST,
                VfsErrorKind::AlreadyExists,
                io::ErrorKind::AlreadyExists,
            ),
            (
                Errno::NOTEMPTY,
                VfsErrorKind::DirectoryNotEmpty,
                io::ErrorKind::DirectoryNotEmpty,
            ),
            (
                Errno::NOSPC,
                VfsErrorKind::NoSpace,
                io::ErrorKind::StorageFull,
            ),
            (
                Errno::DQUOT,
                VfsErrorKind::QuotaExceeded,
                io::ErrorKind::QuotaExceeded,
            ),
            (
                Errno::XDEV,
                VfsErrorKind::CrossDevice,
                io::ErrorKind::CrossesDevices,
            ),
        ];
        for (errno, kind, io_kind) in cases {
            let err = VfsError::os("test", errno);
            assert_eq!(err.kind(), kind, "{errno:?}");
            assert_eq!(err.io_error_kind(), io_kind, "{errno:?}");
            assert_eq!(err.raw_os_error(), Some(errno.raw_os_error()));
        }
    }

    #[test]
    fn missing_xattr_is_not_found() {
        // ENODATA: getxattr(2) on a name the file does not have.
        assert_eq!(
            VfsError::os("getxattr", Errno::NODATA).kind(),
            VfsErrorKind::NotFound
        );
    }

    #[test]
    fn message_names_the_operation() {
        let err = VfsError::os("mkdir", Errno::EXIST);
        assert!(err.to_string().starts_with("mkdir: "), "{err}");
    }
}
