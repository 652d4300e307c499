//! The filesystem a Wharf user sees.
//!
//! [`Vfs`] is the one interface SFTP and SCP use; [`LocalFs`] is the backend that jails each
//! user beneath a root directory with the kernel's help (`openat2(RESOLVE_IN_ROOT)`), so that
//! `..`, absolute paths and symlinks behave as they would inside a chroot, without running as
//! root and without string checks.
//!
//! Paths crossing the trait are [`VPath`]s: already normalised, absolute in the user's view.
//! Calls are blocking; an async driver runs them on a blocking pool.
#![forbid(unsafe_code)]
// Network-reachable code never panics; tests may.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]
#![warn(missing_docs)]

mod direct;
mod error;
pub mod glob;
mod local;
mod path;
pub mod policy;
mod types;
mod xattr;

pub use direct::{DirectOutcome, DirectReply};
pub use error::{VfsError, VfsErrorKind};
pub use glob::{Glob, GlobError};
pub use local::LocalFs;
pub use path::VPath;
pub use policy::{PathRule, Permissions, Policy, PolicyFs, Quota, Usage};
pub use types::{
    DirEntry, FileType, FsStats, Metadata, OpenOptions, RenameMode, SetAttrs, Timestamp, XattrMode,
};

/// The largest extended attribute value read or written (Linux's `XATTR_SIZE_MAX`), which
/// also bounds a name list.
pub const XATTR_MAX: usize = 64 * 1024;

/// A user's filesystem.
///
/// Every path argument is a normalised virtual path; backends confine it to the user's view.
/// Operations on a path act on the final component itself where POSIX's `*at()` calls do
/// (`lstat`, `remove`, `rename`, `read_link`, `hard_link`) and follow a final symlink where
/// POSIX does (`open`, `stat`, `set_stat`, `open_dir`, `statvfs`).
pub trait Vfs: Send + Sync {
    /// The user's home directory, against which relative client paths resolve.
    fn home(&self) -> &VPath;

    /// Resolves a client-supplied path (absolute, or relative to [`Vfs::home`]).
    fn resolve(&self, raw: &[u8]) -> VPath {
        VPath::resolve(self.home(), raw)
    }

    /// Opens (and maybe creates) a regular file.
    fn open(&self, path: &VPath, options: &OpenOptions) -> Result<Box<dyn VfsFile>, VfsError>;

    /// Opens a directory for listing.
    fn open_dir(&self, path: &VPath) -> Result<Box<dyn VfsDir>, VfsError>;

    /// Attributes, following a final symlink.
    fn stat(&self, path: &VPath) -> Result<Metadata, VfsError>;

    /// Attributes of the final component itself.
    fn lstat(&self, path: &VPath) -> Result<Metadata, VfsError>;

    /// Changes attributes, following a final symlink.
    fn set_stat(&self, path: &VPath, attrs: &SetAttrs) -> Result<(), VfsError>;

    /// Changes attributes of the final component itself, not following a final symlink (for
    /// SFTP's `lsetstat@openssh.com`). A size is refused (truncating a link means nothing), and
    /// so are permissions on a symlink, which Linux cannot change. Backends without it keep
    /// this default, which reports the operation unsupported.
    fn lset_stat(&self, path: &VPath, attrs: &SetAttrs) -> Result<(), VfsError> {
        let _ = (path, attrs);
        Err(VfsError::Unsupported { op: "lsetstat" })
    }

    /// Removes a file or symlink (not a directory).
    fn remove(&self, path: &VPath) -> Result<(), VfsError>;

    /// Renames `from` to `to`; see [`RenameMode`] for an existing target.
    fn rename(&self, from: &VPath, to: &VPath, mode: RenameMode) -> Result<(), VfsError>;

    /// Creates a directory with permission bits `mode` (before the process umask).
    fn mkdir(&self, path: &VPath, mode: u32) -> Result<(), VfsError>;

    /// Removes an empty directory.
    fn rmdir(&self, path: &VPath) -> Result<(), VfsError>;

    /// The target text of a symlink, as stored.
    fn read_link(&self, path: &VPath) -> Result<Vec<u8>, VfsError>;

    /// Creates a symlink at `link` whose target text is `target`.
    ///
    /// The text is stored as given; following it later is confined like any other lookup.
    fn symlink(&self, target: &[u8], link: &VPath) -> Result<(), VfsError>;

    /// Creates a hard link `new` to the existing object `existing` (a final symlink is linked
    /// itself, not followed).
    fn hard_link(&self, existing: &VPath, new: &VPath) -> Result<(), VfsError>;

    /// The canonical form of `path` in the user's view.
    fn realpath(&self, path: &VPath) -> Result<VPath, VfsError>;

    /// Statistics of the filesystem holding `path`.
    fn statvfs(&self, path: &VPath) -> Result<FsStats, VfsError>;

    /// The value of extended attribute `name` of `path` (a final symlink is followed), at
    /// most [`XATTR_MAX`] bytes. Backends without extended attributes keep these defaults,
    /// which report the operation unsupported.
    fn get_xattr(&self, path: &VPath, name: &[u8]) -> Result<Vec<u8>, VfsError> {
        let _ = (path, name);
        Err(VfsError::Unsupported { op: "getxattr" })
    }

    /// The names of the extended attributes of `path` the user may use.
    fn list_xattr(&self, path: &VPath) -> Result<Vec<Vec<u8>>, VfsError> {
        let _ = path;
        Err(VfsError::Unsupported { op: "listxattr" })
    }

    /// Sets extended attribute `name` of `path` to `value`.
    fn set_xattr(
        &self,
        path: &VPath,
        name: &[u8],
        value: &[u8],
        mode: XattrMode,
    ) -> Result<(), VfsError> {
        let _ = (path, name, value, mode);
        Err(VfsError::Unsupported { op: "setxattr" })
    }

    /// Removes extended attribute `name` of `path`.
    fn remove_xattr(&self, path: &VPath, name: &[u8]) -> Result<(), VfsError> {
        let _ = (path, name);
        Err(VfsError::Unsupported { op: "removexattr" })
    }
}

/// An open regular file.
///
/// Methods take `&self` so that several reads and writes of one handle can be in flight at
/// once (positional I/O has no shared cursor).
pub trait VfsFile: Send + Sync + std::fmt::Debug {
    /// Reads at `offset` straight into `buf`; returns the byte count, 0 at end of file. May
    /// return fewer bytes than asked before the end of file.
    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<usize, VfsError>;

    /// Reads at `offset` into `bufs` in order, as one read (preadv where the file has it), so
    /// data can land in several separate places (the SSH packets that will carry it) at the cost
    /// of one call. Returns the byte count; short reads as for [`VfsFile::read_at`].
    fn read_vectored_at(
        &self,
        bufs: &mut [std::io::IoSliceMut<'_>],
        offset: u64,
    ) -> Result<usize, VfsError> {
        let mut total = 0usize;
        for buf in bufs.iter_mut() {
            // An error after some bytes were read returns those bytes, as one
            // short read would; the caller meets the error on its next read.
            let n = match self.read_at(buf, offset.saturating_add(total as u64)) {
                Ok(n) => n,
                Err(_) if total > 0 => break,
                Err(e) => return Err(e),
            };
            total += n;
            if n < buf.len() {
                break;
            }
        }
        Ok(total)
    }

    /// Writes `data` at `offset` (at the end of file if opened for append); returns the
    /// byte count, which may be short.
    fn write_at(&self, data: &[u8], offset: u64) -> Result<usize, VfsError>;

    /// Writes all of `data` at `offset`.
    fn write_all_at(&self, mut data: &[u8], mut offset: u64) -> Result<(), VfsError> {
        while !data.is_empty() {
            let n = self.write_at(data, offset)?;
            if n == 0 {
                return Err(VfsError::os("write", rustix::io::Errno::NOSPC));
            }
            data = data.get(n..).unwrap_or_default();
            offset = offset.saturating_add(n as u64);
        }
        Ok(())
    }

    /// Attributes of the open file.
    fn stat(&self) -> Result<Metadata, VfsError>;

    /// Changes attributes of the open file.
    fn set_stat(&self, attrs: &SetAttrs) -> Result<(), VfsError>;

    /// Flushes data and metadata to stable storage.
    fn sync(&self) -> Result<(), VfsError>;

    /// Statistics of the filesystem holding the file.
    fn statvfs(&self) -> Result<FsStats, VfsError>;

    /// [`Vfs::get_xattr`] on the open file.
    fn get_xattr(&self, name: &[u8]) -> Result<Vec<u8>, VfsError> {
        let _ = name;
        Err(VfsError::Unsupported { op: "fgetxattr" })
    }

    /// [`Vfs::list_xattr`] on the open file.
    fn list_xattr(&self) -> Result<Vec<Vec<u8>>, VfsError> {
        Err(VfsError::Unsupported { op: "flistxattr" })
    }

    /// [`Vfs::set_xattr`] on the open file.
    fn set_xattr(&self, name: &[u8], value: &[u8], mode: XattrMode) -> Result<(), VfsError> {
        let _ = (name, value, mode);
        Err(VfsError::Unsupported { op: "fsetxattr" })
    }

    /// [`Vfs::remove_xattr`] on the open file.
    fn remove_xattr(&self, name: &[u8]) -> Result<(), VfsError> {
        let _ = name;
        Err(VfsError::Unsupported { op: "fremovexattr" })
    }
}

/// An open directory being listed.
pub trait VfsDir: Send + std::fmt::Debug {
    /// Appends up to `max` entries to `out`; appends none once the listing is exhausted.
    ///
    /// Entries that vanish between listing and `lstat` are skipped.
    fn read_batch(&mut self, out: &mut Vec<DirEntry>, max: usize) -> Result<(), VfsError>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::IoSliceMut;

    /// A file of `len` bytes of 7 whose reads fail from `fail_at` on.
    #[derive(Debug)]
    struct Flaky {
        len: u64,
        fail_at: u64,
    }

    impl VfsFile for Flaky {
        fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<usize, VfsError> {
            if offset >= self.fail_at {
                return Err(VfsError::os("read", rustix::io::Errno::IO));
            }
            let n = (self.len.saturating_sub(offset) as usize).min(buf.len());
            buf[..n].fill(7);
            Ok(n)
        }
        fn write_at(&self, _: &[u8], _: u64) -> Result<usize, VfsError> {
            unreachable!()
        }
        fn stat(&self) -> Result<Metadata, VfsError> {
            unreachable!()
        }
        fn set_stat(&self, _: &SetAttrs) -> Result<(), VfsError> {
            unreachable!()
        }
        fn sync(&self) -> Result<(), VfsError> {
            unreachable!()
        }
        fn statvfs(&self) -> Result<FsStats, VfsError> {
            unreachable!()
        }
    }

    /// A vectored read into two 4-byte areas, at `offset` of a file of
    /// `len` bytes whose reads fail from `fail_at` on.
    fn read(len: u64, fail_at: u64, offset: u64) -> Result<usize, VfsError> {
        let (mut a, mut b) = ([0u8; 4], [0u8; 4]);
        let mut bufs = [IoSliceMut::new(&mut a), IoSliceMut::new(&mut b)];
        Flaky { len, fail_at }.read_vectored_at(&mut bufs, offset)
    }

    #[test]
    fn vectored_reads_fill_in_order_and_stop_short_like_one_read() {
        assert_eq!(read(100, 100, 0).unwrap(), 8);
        assert_eq!(read(6, 100, 0).unwrap(), 6);
        assert_eq!(read(6, 100, 6).unwrap(), 0);
        // An error after some bytes gives those bytes; before any, the error.
        assert_eq!(read(100, 4, 0).unwrap(), 4);
        assert!(read(100, 0, 0).is_err());
    }
}
