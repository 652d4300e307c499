//! Values passed across the [`crate::Vfs`] trait.

/// What kind of object a path names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FileType {
    /// A block device.
    BlockDevice,
    /// A character device.
    CharDevice,
    /// A directory.
    Directory,
    /// A named pipe.
    Fifo,
    /// A regular file.
    Regular,
    /// A Unix-domain socket.
    Socket,
    /// A symbolic link.
    Symlink,
    /// Something the backend cannot classify.
    Unknown,
}

impl FileType {
    /// Classifies a POSIX `st_mode` by its `S_IFMT` bits.
    pub fn from_mode(mode: u32) -> Self {
        match mode & 0o170_000 {
            0o060_000 => Self::BlockDevice,
            0o020_000 => Self::CharDevice,
            0o040_000 => Self::Directory,
            0o010_000 => Self::Fifo,
            0o100_000 => Self::Regular,
            0o140_000 => Self::Socket,
            0o120_000 => Self::Symlink,
            _ => Self::Unknown,
        }
    }

    /// The POSIX `S_IFMT` bits for this type (0 for [`FileType::Unknown`]).
    pub fn mode_bits(self) -> u32 {
        match self {
            Self::BlockDevice => 0o060_000,
            Self::CharDevice => 0o020_000,
            Self::Directory => 0o040_000,
            Self::Fifo => 0o010_000,
            Self::Regular => 0o100_000,
            Self::Socket => 0o140_000,
            Self::Symlink => 0o120_000,
            Self::Unknown => 0,
        }
    }
}

/// A point in time: seconds since the Unix epoch (negative before 1970) and nanoseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    /// Whole seconds since 1970-01-01T00:00:00Z.
    pub secs: i64,
    /// Nanoseconds, `0..1_000_000_000`.
    pub nanos: u32,
}

impl Timestamp {
    /// A timestamp with whole seconds.
    pub fn from_secs(secs: i64) -> Self {
        Self { secs, nanos: 0 }
    }
}

/// What `stat` reports about an object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Metadata {
    /// The object's type.
    pub file_type: FileType,
    /// Permission bits (`0o7777`), without the type bits.
    pub permissions: u32,
    /// Size in bytes.
    pub size: u64,
    /// Owner id.
    pub uid: u32,
    /// Group id.
    pub gid: u32,
    /// Number of hard links.
    pub nlink: u64,
    /// Last access.
    pub atime: Timestamp,
    /// Last modification of the contents.
    pub mtime: Timestamp,
    /// Last change of the attributes.
    pub ctime: Timestamp,
    /// Device and inode number, identifying the object within the backend (0 if unknown).
    pub dev: u64,
    /// See `dev`.
    pub ino: u64,
}

impl Metadata {
    /// The full POSIX `st_mode`: type bits and permission bits.
    pub fn mode(&self) -> u32 {
        self.file_type.mode_bits() | (self.permissions & 0o7777)
    }

    /// Whether this describes a directory.
    pub fn is_dir(&self) -> bool {
        self.file_type == FileType::Directory
    }
}

/// Attributes to change; `None` leaves one alone.
///
/// Applied in the order size, permissions, times, owner (as OpenSSH's sftp-server does), and
/// the first failure stops the rest.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SetAttrs {
    /// Truncate or extend (with zeros) to this size.
    pub size: Option<u64>,
    /// New permission bits (`0o7777`).
    pub permissions: Option<u32>,
    /// New access time.
    pub atime: Option<Timestamp>,
    /// New modification time.
    pub mtime: Option<Timestamp>,
    /// New owner id.
    pub uid: Option<u32>,
    /// New group id.
    pub gid: Option<u32>,
}

impl SetAttrs {
    /// Whether nothing would change.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// How to open a file; mirrors `open(2)`'s flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpenOptions {
    /// Open for reading.
    pub read: bool,
    /// Open for writing.
    pub write: bool,
    /// Every write goes to the end of the file, whatever its offset.
    pub append: bool,
    /// Create the file if it is missing.
    pub create: bool,
    /// Fail if the file exists (with `create`).
    pub exclusive: bool,
    /// Truncate an existing file to zero length.
    pub truncate: bool,
    /// Permission bits for a created file, before the process umask.
    pub mode: u32,
}

impl Default for OpenOptions {
    fn default() -> Self {
        Self {
            read: true,
            write: false,
            append: false,
            create: false,
            exclusive: false,
            truncate: false,
            mode: 0o666,
        }
    }
}

impl OpenOptions {
    /// Whether opening with these options could modify the filesystem.
    pub fn modifies(&self) -> bool {
        self.write || self.append || self.create || self.truncate
    }
}

/// What `rename` does when the target exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RenameMode {
    /// Fail with `EEXIST` (SFTP v3 RENAME); atomic where the filesystem allows.
    NoReplace,
    /// Atomically replace the target, as POSIX `rename(2)` does.
    Overwrite,
}

/// One directory entry, with the `lstat` of the entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirEntry {
    /// The entry's name (one component).
    pub name: Vec<u8>,
    /// Its attributes, not following a final symlink.
    pub metadata: Metadata,
}

/// Filesystem statistics, as `statvfs(3)` reports them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FsStats {
    /// Filesystem block size.
    pub block_size: u64,
    /// Fundamental block size (the unit of the block counts).
    pub fragment_size: u64,
    /// Total blocks.
    pub blocks: u64,
    /// Free blocks.
    pub blocks_free: u64,
    /// Free blocks available to unprivileged users.
    pub blocks_available: u64,
    /// Total inodes.
    pub files: u64,
    /// Free inodes.
    pub files_free: u64,
    /// Free inodes available to unprivileged users.
    pub files_available: u64,
    /// Filesystem id.
    pub fsid: u64,
    /// Mounted read-only.
    pub read_only: bool,
    /// Mounted without set-uid.
    pub no_suid: bool,
    /// Maximum file name length.
    pub name_max: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mode_roundtrip() {
        for t in [
            FileType::BlockDevice,
            FileType::CharDevice,
            FileType::Directory,
            FileType::Fifo,
            FileType::Regular,
            FileType::Socket,
            FileType::Symlink,
        ] {
            assert_eq!(FileType::from_mode(t.mode_bits() | 0o755), t);
        }
        assert_eq!(FileType::from_mode(0o644), FileType::Unknown);
    }
}

/// What `set_xattr` does about an attribute that does or does not exist yet (`setxattr(2)`'s
/// flags).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum XattrMode {
    /// Create it or replace it.
    #[default]
    Any,
    /// Fail with `EEXIST` if it exists.
    Create,
    /// Fail with `ENODATA` if it does not exist.
    Replace,
}
