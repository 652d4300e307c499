//! The local backend: every lookup starts at the user's root directory descriptor and goes
//! through `openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)`, so the kernel treats that
//! directory as `/` for `..`, absolute paths and symlinks alike, exactly as a chroot would, and
//! a concurrent rename cannot trick it out (the kernel retries or fails with `EAGAIN`).
//!
//! Operations on a final component (`unlink`, `rename`, `mkdir`, `lstat`, ...) first resolve the
//! parent directory that way, then call the `*at()` syscall on that descriptor with a single
//! name, which never follows a final symlink. Operations that must follow a final symlink
//! (`stat`, `set_stat`, `statvfs`) open the object itself with `openat2` and then act on the
//! descriptor, never on a path the kernel would resolve again without the jail.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use rustix::fd::{AsRawFd, BorrowedFd, OwnedFd};
use rustix::fs::{self, AtFlags, Mode, OFlags, RenameFlags, ResolveFlags, Stat, Timespec};
use rustix::io::Errno;

use crate::{
    xattr, DirEntry, FileType, FsStats, Metadata, OpenOptions, RenameMode, SetAttrs, Timestamp,
    VPath, Vfs, VfsDir, VfsError, VfsFile, XattrMode,
};

/// `RESOLVE_IN_ROOT` makes the starting directory the root of the lookup; `NO_MAGICLINKS`
/// refuses `/proc/self/fd/...`-style links, which could otherwise jump anywhere.
const RESOLVE: ResolveFlags = ResolveFlags::IN_ROOT.union(ResolveFlags::NO_MAGICLINKS);

/// How often a lookup is retried when the kernel reports a concurrent rename (`EAGAIN`).
const RESOLVE_RETRIES: u32 = 16;

/// The local filesystem, jailed beneath one directory.
pub struct LocalFs {
    root: Arc<Root>,
    home: VPath,
}

/// The jail's root directory, held open for the life of every handle derived from it.
#[derive(Debug)]
struct Root {
    fd: OwnedFd,
}

impl LocalFs {
    /// Jails a user beneath `root`, which becomes their `/`; their home is `/`.
    ///
    /// Fails if `root` cannot be opened as a directory, or if the kernel lacks `openat2`
    /// (Linux < 5.6): there is no safe fallback, so the backend refuses to run.
    pub fn new(root: PathBuf) -> Result<Self, VfsError> {
        let fd = fs::open(
            &root,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| VfsError::os("open root", e))?;
        let root = Root { fd };
        // Probe openat2 once so a kernel without it fails here, not on the first request.
        root.open_at(b"", OFlags::PATH | OFlags::DIRECTORY, Mode::empty())
            .map_err(|e| VfsError::os("openat2", e))?;
        Ok(Self {
            root: Arc::new(root),
            home: VPath::root(),
        })
    }

    /// Sets the home directory that relative client paths resolve against.
    pub fn with_home(mut self, home: VPath) -> Self {
        self.home = home;
        self
    }

    /// Opens the parent of `path` and returns it with the final component's name. The root has
    /// no final component; operations on it fail with `root_errno`.
    fn parent<'p>(
        &self,
        path: &'p VPath,
        op: &'static str,
        root_errno: Errno,
    ) -> Result<(OwnedFd, &'p [u8]), VfsError> {
        let (parent, name) = path.split_last().ok_or(VfsError::os(op, root_errno))?;
        let fd = self
            .root
            .open_at(
                parent.relative(),
                OFlags::PATH | OFlags::DIRECTORY,
                Mode::empty(),
            )
            .map_err(|e| VfsError::os(op, e))?;
        Ok((fd, name))
    }
}

impl Root {
    /// Opens `rel` (relative to the root; empty means the root) with the jail's resolve flags.
    fn open_at(&self, rel: &[u8], flags: OFlags, mode: Mode) -> Result<OwnedFd, Errno> {
        let rel: &[u8] = if rel.is_empty() { b"." } else { rel };
        // openat2 rejects O_PATH combined with anything but these, and a mode without O_CREAT.
        let flags = if flags.contains(OFlags::PATH) {
            flags | OFlags::CLOEXEC
        } else {
            flags | OFlags::CLOEXEC | OFlags::NOCTTY
        };
        let mut tries = 0;
        loop {
            match fs::openat2(&self.fd, rel, flags, mode, RESOLVE) {
                Err(Errno::AGAIN | Errno::INTR) if tries < RESOLVE_RETRIES => tries += 1,
                other => return other,
            }
        }
    }
}

impl Vfs for LocalFs {
    fn home(&self) -> &VPath {
        &self.home
    }

    fn open(&self, path: &VPath, options: &OpenOptions) -> Result<Box<dyn VfsFile>, VfsError> {
        const OP: &str = "open";
        let mut flags = match (options.read, options.write) {
            (true, true) => OFlags::RDWR,
            (false, true) => OFlags::WRONLY,
            _ => OFlags::RDONLY,
        };
        if options.append {
            flags |= OFlags::APPEND;
        }
        if options.truncate {
            flags |= OFlags::TRUNC;
        }
        let mut mode = Mode::empty();
        if options.create {
            flags |= OFlags::CREATE;
            if options.exclusive {
                flags |= OFlags::EXCL;
            }
            mode = Mode::from_raw_mode(options.mode & 0o7777);
        }
        // O_NONBLOCK so that opening a FIFO cannot hang the session. It stays set on the regular
        // files we accept, where it has no effect (open(2): regular files ignore it), which
        // spares two fcntl calls per open: small-file transfers open a file per request or two.
        let fd = self
            .root
            .open_at(path.relative(), flags | OFlags::NONBLOCK, mode)
            .map_err(|e| VfsError::os(OP, e))?;
        let st = fs::fstat(&fd).map_err(|e| VfsError::os(OP, e))?;
        match FileType::from_mode(st.st_mode) {
            FileType::Regular => {}
            FileType::Directory => return Err(VfsError::os(OP, Errno::ISDIR)),
            _ => return Err(VfsError::NotRegularFile { op: OP }),
        }
        Ok(Box::new(LocalFile { fd }))
    }

    fn open_dir(&self, path: &VPath) -> Result<Box<dyn VfsDir>, VfsError> {
        const OP: &str = "opendir";
        let fd = self
            .root
            .open_at(
                path.relative(),
                OFlags::RDONLY | OFlags::DIRECTORY,
                Mode::empty(),
            )
            .map_err(|e| VfsError::os(OP, e))?;
        // `..` of the jail's root must describe the root itself, as in a chroot; compare inodes
        // rather than paths because a symlink may lead back to the root under another name.
        let here = fs::fstat(&fd).map_err(|e| VfsError::os(OP, e))?;
        let top = fs::fstat(&self.root.fd).map_err(|e| VfsError::os(OP, e))?;
        let is_root = here.st_dev == top.st_dev && here.st_ino == top.st_ino;
        let dir = fs::Dir::new(fd).map_err(|e| VfsError::os(OP, e))?;
        Ok(Box::new(LocalDir {
            dir,
            root: Arc::clone(&self.root),
            is_root,
        }))
    }

    fn stat(&self, path: &VPath) -> Result<Metadata, VfsError> {
        let fd = self
            .root
            .open_at(path.relative(), OFlags::PATH, Mode::empty())
            .map_err(|e| VfsError::os("stat", e))?;
        fs::fstat(&fd)
            .map(|st| metadata(&st))
            .map_err(|e| VfsError::os("stat", e))
    }

    fn lstat(&self, path: &VPath) -> Result<Metadata, VfsError> {
        if path.is_root() {
            return fs::fstat(&self.root.fd)
                .map(|st| metadata(&st))
                .map_err(|e| VfsError::os("lstat", e));
        }
        let (dir, name) = self.parent(path, "lstat", Errno::INVAL)?;
        fs::statat(&dir, name, AtFlags::SYMLINK_NOFOLLOW)
            .map(|st| metadata(&st))
            .map_err(|e| VfsError::os("lstat", e))
    }

    fn set_stat(&self, path: &VPath, attrs: &SetAttrs) -> Result<(), VfsError> {
        const OP: &str = "setstat";
        if let Some(size) = attrs.size {
            let fd = self
                .root
                .open_at(
                    path.relative(),
                    OFlags::WRONLY | OFlags::NONBLOCK,
                    Mode::empty(),
                )
                .map_err(|e| VfsError::os(OP, e))?;
            fs::ftruncate(&fd, size).map_err(|e| VfsError::os(OP, e))?;
        }
        let rest = SetAttrs {
            size: None,
            ..attrs.clone()
        };
        if rest.is_empty() {
            return Ok(());
        }
        // An O_PATH descriptor needs no read or write permission (the owner may chmod a 0000
        // file) and opens nothing, so FIFOs and devices are harmless.
        let fd = self
            .root
            .open_at(path.relative(), OFlags::PATH, Mode::empty())
            .map_err(|e| VfsError::os(OP, e))?;
        if let Some(permissions) = rest.permissions {
            self.chmod_opath(&fd, path, permissions)
                .map_err(|e| VfsError::os(OP, e))?;
        }
        if let Some(times) = timestamps(&rest) {
            fs::utimensat(&fd, "", &times, AtFlags::EMPTY_PATH).map_err(|e| VfsError::os(OP, e))?;
        }
        if rest.uid.is_some() || rest.gid.is_some() {
            fs::chownat(&fd, "", uid(rest.uid), gid(rest.gid), AtFlags::EMPTY_PATH)
                .map_err(|e| VfsError::os(OP, e))?;
        }
        Ok(())
    }

    fn lset_stat(&self, path: &VPath, attrs: &SetAttrs) -> Result<(), VfsError> {
        const OP: &str = "lsetstat";
        if attrs.size.is_some() {
            return Err(VfsError::os(OP, Errno::INVAL));
        }
        if path.is_root() {
            // The jail root is a directory, never a symlink.
            return self.set_stat(path, attrs);
        }
        let (dir, name) = self.parent(path, OP, Errno::INVAL)?;
        // Every step below names `name` inside `dir` without following it, so a symlink
        // swapped in meanwhile is acted on itself and cannot lead out of the jail.
        if let Some(permissions) = attrs.permissions {
            let fd = fs::openat(
                &dir,
                name,
                OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .map_err(|e| VfsError::os(OP, e))?;
            let st = fs::fstat(&fd).map_err(|e| VfsError::os(OP, e))?;
            // Linux has no symlink modes: OpenSSH's fchmodat(AT_SYMLINK_NOFOLLOW) fails with
            // EOPNOTSUPP here, and so does this.
            if FileType::from_mode(st.st_mode) == FileType::Symlink {
                return Err(VfsError::os(OP, Errno::OPNOTSUPP));
            }
            self.chmod_opath(&fd, path, permissions)
                .map_err(|e| VfsError::os(OP, e))?;
        }
        if let Some(times) = timestamps(attrs) {
            fs::utimensat(&dir, name, &times, AtFlags::SYMLINK_NOFOLLOW)
                .map_err(|e| VfsError::os(OP, e))?;
        }
        if attrs.uid.is_some() || attrs.gid.is_some() {
            fs::chownat(
                &dir,
                name,
                uid(attrs.uid),
                gid(attrs.gid),
                AtFlags::SYMLINK_NOFOLLOW,
            )
            .map_err(|e| VfsError::os(OP, e))?;
        }
        Ok(())
    }

    fn remove(&self, path: &VPath) -> Result<(), VfsError> {
        let (dir, name) = self.parent(path, "remove", Errno::BUSY)?;
        fs::unlinkat(&dir, name, AtFlags::empty()).map_err(|e| VfsError::os("remove", e))
    }

    fn rename(&self, from: &VPath, to: &VPath, mode: RenameMode) -> Result<(), VfsError> {
        const OP: &str = "rename";
        let (from_dir, from_name) = self.parent(from, OP, Errno::BUSY)?;
        let (to_dir, to_name) = self.parent(to, OP, Errno::BUSY)?;
        let result = match mode {
            RenameMode::Overwrite => fs::renameat(&from_dir, from_name, &to_dir, to_name),
            RenameMode::NoReplace => match fs::renameat_with(
                &from_dir,
                from_name,
                &to_dir,
                to_name,
                RenameFlags::NOREPLACE,
            ) {
                // A filesystem without RENAME_NOREPLACE: check, then rename. The window between
                // the two is the same one OpenSSH's fallback has; both names stay in the jail.
                Err(Errno::INVAL | Errno::NOSYS) => {
                    match fs::statat(&to_dir, to_name, AtFlags::SYMLINK_NOFOLLOW) {
                        Ok(_) => Err(Errno::EXIST),
                        Err(Errno::NOENT) => fs::renameat(&from_dir, from_name, &to_dir, to_name),
                        Err(e) => Err(e),
                    }
                }
                other => other,
            },
        };
        result.map_err(|e| VfsError::os(OP, e))
    }

    fn mkdir(&self, path: &VPath, mode: u32) -> Result<(), VfsError> {
        let (dir, name) = self.parent(path, "mkdir", Errno::EXIST)?;
        fs::mkdirat(&dir, name, Mode::from_raw_mode(mode & 0o7777))
            .map_err(|e| VfsError::os("mkdir", e))
    }

    fn rmdir(&self, path: &VPath) -> Result<(), VfsError> {
        let (dir, name) = self.parent(path, "rmdir", Errno::BUSY)?;
        fs::unlinkat(&dir, name, AtFlags::REMOVEDIR).map_err(|e| VfsError::os("rmdir", e))
    }

    fn read_link(&self, path: &VPath) -> Result<Vec<u8>, VfsError> {
        let (dir, name) = self.parent(path, "readlink", Errno::INVAL)?;
        fs::readlinkat(&dir, name, Vec::new())
            .map(|target| target.into_bytes())
            .map_err(|e| VfsError::os("readlink", e))
    }

    fn symlink(&self, target: &[u8], link: &VPath) -> Result<(), VfsError> {
        let (dir, name) = self.parent(link, "symlink", Errno::EXIST)?;
        fs::symlinkat(target, &dir, name).map_err(|e| VfsError::os("symlink", e))
    }

    fn hard_link(&self, existing: &VPath, new: &VPath) -> Result<(), VfsError> {
        const OP: &str = "link";
        let (old_dir, old_name) = self.parent(existing, OP, Errno::PERM)?;
        let (new_dir, new_name) = self.parent(new, OP, Errno::EXIST)?;
        fs::linkat(&old_dir, old_name, &new_dir, new_name, AtFlags::empty())
            .map_err(|e| VfsError::os(OP, e))
    }

    fn realpath(&self, path: &VPath) -> Result<VPath, VfsError> {
        // Lexical: a VPath is already canonical in the user's view (see VPath's docs).
        Ok(path.clone())
    }

    fn statvfs(&self, path: &VPath) -> Result<FsStats, VfsError> {
        let fd = self
            .root
            .open_at(path.relative(), OFlags::PATH, Mode::empty())
            .map_err(|e| VfsError::os("statvfs", e))?;
        fs::fstatvfs(&fd)
            .map(|st| fs_stats(&st))
            .map_err(|e| VfsError::os("statvfs", e))
    }

    fn get_xattr(&self, path: &VPath, name: &[u8]) -> Result<Vec<u8>, VfsError> {
        xattr::get(self.xattr_fd(path, "getxattr")?, name)
    }

    fn list_xattr(&self, path: &VPath) -> Result<Vec<Vec<u8>>, VfsError> {
        xattr::list(self.xattr_fd(path, "listxattr")?)
    }

    fn set_xattr(
        &self,
        path: &VPath,
        name: &[u8],
        value: &[u8],
        mode: XattrMode,
    ) -> Result<(), VfsError> {
        xattr::set(self.xattr_fd(path, "setxattr")?, name, value, mode)
    }

    fn remove_xattr(&self, path: &VPath, name: &[u8]) -> Result<(), VfsError> {
        xattr::remove(self.xattr_fd(path, "removexattr")?, name)
    }
}

impl LocalFs {
    /// A descriptor for the extended-attribute calls, opened inside the jail following a
    /// final symlink (as `getxattr(2)` would). The `f*xattr` calls refuse `O_PATH`
    /// descriptors, so it is opened for reading (non-blocking, so a FIFO cannot hang the
    /// session); user attributes exist only on regular files and directories, so anything
    /// else is refused. Reading user attributes needs read permission anyway; setting them on
    /// a file the user can write but not read is therefore refused too.
    fn xattr_fd(&self, path: &VPath, op: &'static str) -> Result<OwnedFd, VfsError> {
        let fd = self
            .root
            .open_at(
                path.relative(),
                OFlags::RDONLY | OFlags::NONBLOCK,
                Mode::empty(),
            )
            .map_err(|e| VfsError::os(op, e))?;
        let st = fs::fstat(&fd).map_err(|e| VfsError::os(op, e))?;
        match FileType::from_mode(st.st_mode) {
            FileType::Regular | FileType::Directory => Ok(fd),
            _ => Err(VfsError::NotRegularFile { op }),
        }
    }

    /// `chmod` on an `O_PATH` descriptor. `fchmod` refuses such descriptors and rustix does not
    /// expose `fchmodat2(AT_EMPTY_PATH)`, so go through the descriptor's `/proc` link: it names
    /// exactly the inode already resolved inside the jail, with no second path lookup. Without
    /// `/proc`, reopen the object (inside the jail again) for reading and use `fchmod`.
    fn chmod_opath(&self, fd: &OwnedFd, path: &VPath, permissions: u32) -> Result<(), Errno> {
        let mode = Mode::from_raw_mode(permissions & 0o7777);
        let proc_link = format!("/proc/self/fd/{}", fd.as_raw_fd());
        match fs::chmod(proc_link.as_str(), mode) {
            Err(Errno::NOENT) => {
                let fd = self.root.open_at(
                    path.relative(),
                    OFlags::RDONLY | OFlags::NONBLOCK,
                    Mode::empty(),
                )?;
                fs::fchmod(&fd, mode)
            }
            other => other,
        }
    }
}

impl fmt::Debug for LocalFs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalFs")
            .field("root_fd", &self.root.fd.as_raw_fd())
            .field("home", &self.home)
            .finish()
    }
}

/// An open regular file of the local backend.
#[derive(Debug)]
struct LocalFile {
    fd: OwnedFd,
}

impl VfsFile for LocalFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<usize, VfsError> {
        retry_intr(|| rustix::io::pread(&self.fd, &mut *buf, offset))
            .map_err(|e| VfsError::os("read", e))
    }

    fn read_vectored_at(
        &self,
        bufs: &mut [std::io::IoSliceMut<'_>],
        offset: u64,
    ) -> Result<usize, VfsError> {
        retry_intr(|| rustix::io::preadv(&self.fd, bufs, offset))
            .map_err(|e| VfsError::os("read", e))
    }

    fn write_at(&self, data: &[u8], offset: u64) -> Result<usize, VfsError> {
        // With O_APPEND, Linux's pwrite appends whatever the offset, which is what SFTP wants.
        retry_intr(|| rustix::io::pwrite(&self.fd, data, offset))
            .map_err(|e| VfsError::os("write", e))
    }

    fn stat(&self) -> Result<Metadata, VfsError> {
        fs::fstat(&self.fd)
            .map(|st| metadata(&st))
            .map_err(|e| VfsError::os("fstat", e))
    }

    fn set_stat(&self, attrs: &SetAttrs) -> Result<(), VfsError> {
        const OP: &str = "fsetstat";
        if let Some(size) = attrs.size {
            fs::ftruncate(&self.fd, size).map_err(|e| VfsError::os(OP, e))?;
        }
        if let Some(permissions) = attrs.permissions {
            fs::fchmod(&self.fd, Mode::from_raw_mode(permissions & 0o7777))
                .map_err(|e| VfsError::os(OP, e))?;
        }
        if let Some(times) = timestamps(attrs) {
            fs::futimens(&self.fd, &times).map_err(|e| VfsError::os(OP, e))?;
        }
        if attrs.uid.is_some() || attrs.gid.is_some() {
            fs::fchown(&self.fd, uid(attrs.uid), gid(attrs.gid))
                .map_err(|e| VfsError::os(OP, e))?;
        }
        Ok(())
    }

    fn sync(&self) -> Result<(), VfsError> {
        fs::fsync(&self.fd).map_err(|e| VfsError::os("fsync", e))
    }

    fn statvfs(&self) -> Result<FsStats, VfsError> {
        fs::fstatvfs(&self.fd)
            .map(|st| fs_stats(&st))
            .map_err(|e| VfsError::os("fstatvfs", e))
    }

    fn get_xattr(&self, name: &[u8]) -> Result<Vec<u8>, VfsError> {
        xattr::get(&self.fd, name)
    }

    fn list_xattr(&self) -> Result<Vec<Vec<u8>>, VfsError> {
        xattr::list(&self.fd)
    }

    fn set_xattr(&self, name: &[u8], value: &[u8], mode: XattrMode) -> Result<(), VfsError> {
        xattr::set(&self.fd, name, value, mode)
    }

    fn remove_xattr(&self, name: &[u8]) -> Result<(), VfsError> {
        xattr::remove(&self.fd, name)
    }
}

/// A directory listing of the local backend.
#[derive(Debug)]
struct LocalDir {
    dir: fs::Dir,
    root: Arc<Root>,
    /// This directory is the jail's root, so its `..` is itself.
    is_root: bool,
}

impl LocalDir {
    fn entry_stat(&self, dir: BorrowedFd<'_>, name: &[u8]) -> Result<Stat, Errno> {
        match name {
            b"." => fs::fstat(dir),
            b".." if self.is_root => fs::fstat(&self.root.fd),
            // A single component relative to the directory, not followed: cannot leave the jail
            // except via `..` of the root, handled above.
            _ => fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW),
        }
    }
}

impl VfsDir for LocalDir {
    fn read_batch(&mut self, out: &mut Vec<DirEntry>, max: usize) -> Result<(), VfsError> {
        let mut added = 0;
        while added < max {
            let entry = match self.dir.read() {
                None => break,
                Some(entry) => entry.map_err(|e| VfsError::os("readdir", e))?,
            };
            let name = entry.file_name().to_bytes();
            let dir = self.dir.fd().map_err(|e| VfsError::os("readdir", e))?;
            // Entries removed since the listing was read are skipped, as OpenSSH does.
            let Ok(st) = self.entry_stat(dir, name) else {
                continue;
            };
            out.push(DirEntry {
                name: name.to_vec(),
                metadata: metadata(&st),
            });
            added += 1;
        }
        Ok(())
    }
}

fn retry_intr<T>(mut f: impl FnMut() -> Result<T, Errno>) -> Result<T, Errno> {
    loop {
        match f() {
            Err(Errno::INTR) => continue,
            other => return other,
        }
    }
}

/// Converts the kernel's `stat`; field widths differ between architectures, hence the casts
/// (all widening or same-width on 64-bit Linux).
#[allow(clippy::unnecessary_cast, clippy::useless_conversion)]
fn metadata(st: &Stat) -> Metadata {
    let ts = |secs, nanos| Timestamp {
        secs: secs as i64,
        nanos: u32::try_from(nanos).unwrap_or(0),
    };
    let mode = st.st_mode as u32;
    Metadata {
        file_type: FileType::from_mode(mode),
        permissions: mode & 0o7777,
        size: u64::try_from(st.st_size).unwrap_or(0),
        uid: st.st_uid,
        gid: st.st_gid,
        nlink: st.st_nlink as u64,
        atime: ts(st.st_atime, st.st_atime_nsec),
        mtime: ts(st.st_mtime, st.st_mtime_nsec),
        ctime: ts(st.st_ctime, st.st_ctime_nsec),
        dev: st.st_dev as u64,
        ino: st.st_ino as u64,
    }
}

fn fs_stats(st: &fs::StatVfs) -> FsStats {
    FsStats {
        block_size: st.f_bsize,
        fragment_size: st.f_frsize,
        blocks: st.f_blocks,
        blocks_free: st.f_bfree,
        blocks_available: st.f_bavail,
        files: st.f_files,
        files_free: st.f_ffree,
        files_available: st.f_favail,
        fsid: st.f_fsid,
        read_only: st.f_flag.contains(fs::StatVfsMountFlags::RDONLY),
        no_suid: st.f_flag.contains(fs::StatVfsMountFlags::NOSUID),
        name_max: st.f_namemax,
    }
}

/// The `utimensat` argument for `attrs`, with `UTIME_OMIT` for a time left alone; `None` if
/// neither time changes.
fn timestamps(attrs: &SetAttrs) -> Option<fs::Timestamps> {
    if attrs.atime.is_none() && attrs.mtime.is_none() {
        return None;
    }
    let spec = |t: Option<Timestamp>| match t {
        Some(t) => Timespec {
            tv_sec: t.secs,
            tv_nsec: i64::from(t.nanos.min(999_999_999)),
        },
        None => Timespec {
            tv_sec: 0,
            tv_nsec: fs::UTIME_OMIT,
        },
    };
    Some(fs::Timestamps {
        last_access: spec(attrs.atime),
        last_modification: spec(attrs.mtime),
    })
}

/// `u32::MAX` is chown's "leave alone" value (-1), so it is never passed as an id.
fn uid(id: Option<u32>) -> Option<fs::Uid> {
    id.filter(|&id| id != u32::MAX).map(fs::Uid::from_raw)
}

fn gid(id: Option<u32>) -> Option<fs::Gid> {
    id.filter(|&id| id != u32::MAX).map(fs::Gid::from_raw)
}
