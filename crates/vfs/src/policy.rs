//! Per-user rights over a filesystem: what may be listed, downloaded,
//! uploaded, overwritten, deleted, renamed, created, changed or linked,
//! where (glob rules over the user's paths), under which names, and within
//! which quota.
//!
//! [`PolicyFs`] wraps any [`Vfs`] and checks every call before passing it
//! on, so SFTP and SCP enforce the same rules without knowing them. A
//! refusal is `EACCES` (the client sees "permission denied"), a quota hit
//! `EDQUOT` (SSH_FX_QUOTA_EXCEEDED from SFTP v5 on, a failure with that
//! message before).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use rustix::io::Errno;

use crate::glob::Glob;
use crate::{
    FileType, FsStats, Metadata, OpenOptions, RenameMode, SetAttrs, VPath, Vfs, VfsDir, VfsError,
    VfsFile, XattrMode,
};

/// A set of rights.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Permissions(u16);

impl Permissions {
    /// List directories.
    pub const LIST: Self = Self(1 << 0);
    /// Read files.
    pub const DOWNLOAD: Self = Self(1 << 1);
    /// Create new files and write to them.
    pub const UPLOAD: Self = Self(1 << 2);
    /// Write to, truncate or replace existing files.
    pub const OVERWRITE: Self = Self(1 << 3);
    /// Remove files.
    pub const DELETE: Self = Self(1 << 4);
    /// Rename or move files and directories.
    pub const RENAME: Self = Self(1 << 5);
    /// Create directories.
    pub const MKDIR: Self = Self(1 << 6);
    /// Remove directories.
    pub const RMDIR: Self = Self(1 << 7);
    /// Change permission bits.
    pub const CHMOD: Self = Self(1 << 8);
    /// Change owner or group.
    pub const CHOWN: Self = Self(1 << 9);
    /// Create symbolic and hard links.
    pub const SYMLINK: Self = Self(1 << 10);
    /// No rights.
    pub const NONE: Self = Self(0);
    /// Every right.
    pub const ALL: Self = Self((1 << 11) - 1);
    /// A read-only user: list and download.
    pub const READ_ONLY: Self = Self(Self::LIST.0 | Self::DOWNLOAD.0);
    /// An upload-only user ("drop box"): list, upload new files, make
    /// directories; no download, overwrite or delete.
    pub const UPLOAD_ONLY: Self = Self(Self::LIST.0 | Self::UPLOAD.0 | Self::MKDIR.0);

    const NAMES: [(&'static str, Permissions); 11] = [
        ("list", Self::LIST),
        ("download", Self::DOWNLOAD),
        ("upload", Self::UPLOAD),
        ("overwrite", Self::OVERWRITE),
        ("delete", Self::DELETE),
        ("rename", Self::RENAME),
        ("mkdir", Self::MKDIR),
        ("rmdir", Self::RMDIR),
        ("chmod", Self::CHMOD),
        ("chown", Self::CHOWN),
        ("symlink", Self::SYMLINK),
    ];

    /// The names `parse` accepts, for error messages and documentation.
    pub fn names() -> impl Iterator<Item = &'static str> {
        Self::NAMES
            .iter()
            .map(|(n, _)| *n)
            .chain(["all", "read-only", "upload-only"])
    }

    /// One right (or preset) by name: `list`, `download`, `upload`,
    /// `overwrite`, `delete`, `rename`, `mkdir`, `rmdir`, `chmod`, `chown`,
    /// `symlink`, or `all`, `read-only`, `upload-only`.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "all" | "*" => Some(Self::ALL),
            "read-only" => Some(Self::READ_ONLY),
            "upload-only" => Some(Self::UPLOAD_ONLY),
            _ => Self::NAMES
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, p)| *p),
        }
    }

    /// The union of several names; the first unknown name is the error.
    pub fn parse_list<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<Self, String> {
        let mut all = Self::NONE;
        for name in names {
            all = all | Self::parse(name).ok_or_else(|| name.to_string())?;
        }
        Ok(all)
    }

    /// Whether every right in `other` is in `self`.
    pub fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether any right in `other` is in `self`.
    pub fn intersects(self, other: Self) -> bool {
        self.0 & other.0 != 0
    }

    /// The rights' names, for logs and `wharf user show`.
    pub fn to_names(self) -> Vec<&'static str> {
        Self::NAMES
            .iter()
            .filter(|(_, p)| self.contains(*p))
            .map(|(n, _)| *n)
            .collect()
    }
}

impl std::ops::BitOr for Permissions {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

impl std::ops::Sub for Permissions {
    type Output = Self;
    fn sub(self, rhs: Self) -> Self {
        Self(self.0 & !rhs.0)
    }
}

/// Rights granted and taken away under paths matching a glob.
#[derive(Clone, Debug)]
pub struct PathRule {
    /// Matched against the whole path as the user sees it ("/in/a.txt").
    pub glob: Glob,
    /// Rights added.
    pub allow: Permissions,
    /// Rights removed (after adding).
    pub deny: Permissions,
}

/// Byte and file limits with the usage counted against them. Shared by all
/// of a user's sessions in one server process.
#[derive(Debug, Default)]
pub struct Quota {
    /// Most bytes the user's files may hold; None: no limit.
    pub max_bytes: Option<u64>,
    /// Most files (not directories) the user may have; None: no limit.
    pub max_files: Option<u64>,
    used_bytes: AtomicU64,
    used_files: AtomicU64,
}

impl Quota {
    /// Limits with the current usage.
    pub fn new(max_bytes: Option<u64>, max_files: Option<u64>, used: Usage) -> Self {
        Quota {
            max_bytes,
            max_files,
            used_bytes: AtomicU64::new(used.bytes),
            used_files: AtomicU64::new(used.files),
        }
    }

    /// What is in use now.
    pub fn usage(&self) -> Usage {
        Usage {
            bytes: self.used_bytes.load(Ordering::Relaxed),
            files: self.used_files.load(Ordering::Relaxed),
        }
    }

    /// Takes `n` bytes off the remaining quota, or fails without taking any.
    fn reserve_bytes(&self, n: u64) -> Result<(), VfsError> {
        reserve(&self.used_bytes, self.max_bytes, n, "write")
    }

    fn reserve_file(&self) -> Result<(), VfsError> {
        reserve(&self.used_files, self.max_files, 1, "create")
    }

    fn release_bytes(&self, n: u64) {
        release(&self.used_bytes, n);
    }

    fn release_file(&self) {
        release(&self.used_files, 1);
    }
}

fn reserve(
    counter: &AtomicU64,
    max: Option<u64>,
    n: u64,
    op: &'static str,
) -> Result<(), VfsError> {
    let Some(max) = max else {
        counter.fetch_add(n, Ordering::Relaxed);
        return Ok(());
    };
    counter
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
            used.checked_add(n).filter(|&total| total <= max)
        })
        .map(|_| ())
        .map_err(|_| VfsError::os(op, Errno::DQUOT))
}

fn release(counter: &AtomicU64, n: u64) {
    let _ = counter.fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
        Some(used.saturating_sub(n))
    });
}

/// Bytes and files in use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// Sum of regular files' sizes.
    pub bytes: u64,
    /// Number of regular files.
    pub files: u64,
}

/// Walks the whole tree under `/` of `fs` and counts its regular files and
/// their bytes: the starting point of a quota. Stops at `max_entries`
/// entries (a bound on the work a login may cause) and reports what it
/// counted.
pub fn measure_usage(fs: &dyn Vfs, max_entries: usize) -> Result<Usage, VfsError> {
    let mut usage = Usage::default();
    let mut pending = vec![VPath::root()];
    let mut seen = 0usize;
    let mut batch = Vec::new();
    while let Some(dir) = pending.pop() {
        let mut handle = match fs.open_dir(&dir) {
            Ok(h) => h,
            // A directory removed or made unreadable while walking.
            Err(_) => continue,
        };
        loop {
            batch.clear();
            handle.read_batch(&mut batch, 256)?;
            if batch.is_empty() {
                break;
            }
            for entry in &batch {
                seen += 1;
                if seen > max_entries {
                    return Ok(usage);
                }
                if entry.name == b"." || entry.name == b".." {
                    continue;
                }
                match entry.metadata.file_type {
                    FileType::Regular => {
                        usage.files += 1;
                        usage.bytes = usage.bytes.saturating_add(entry.metadata.size);
                    }
                    FileType::Directory => pending.push(dir.join(&entry.name)),
                    _ => {}
                }
            }
        }
    }
    Ok(usage)
}

/// Everything a user may do, where.
#[derive(Clone, Debug, Default)]
pub struct Policy {
    /// Rights everywhere no rule changes.
    pub default: Permissions,
    /// Applied in order to paths they match; later rules win.
    pub rules: Vec<PathRule>,
    /// If not empty, names of new files, directories and links must match
    /// one of these.
    pub allowed_names: Vec<Glob>,
    /// Names of new files, directories and links must match none of these.
    pub denied_names: Vec<Glob>,
    /// Byte and file limits; None: unlimited.
    pub quota: Option<Arc<Quota>>,
}

impl Policy {
    /// Every right, no name rules, no quota: what a user without a policy
    /// of their own gets.
    pub fn unrestricted() -> Self {
        Policy {
            default: Permissions::ALL,
            ..Policy::default()
        }
    }

    /// The rights that apply at `path`.
    pub fn rights_at(&self, path: &VPath) -> Permissions {
        let mut rights = self.default;
        for rule in &self.rules {
            if rule.glob.matches(path.as_bytes()) {
                rights = (rights | rule.allow) - rule.deny;
            }
        }
        rights
    }

    fn check(&self, path: &VPath, needed: Permissions, op: &'static str) -> Result<(), VfsError> {
        if self.rights_at(path).contains(needed) {
            Ok(())
        } else {
            Err(VfsError::os(op, Errno::ACCESS))
        }
    }

    /// Whether a new entry may be called `path`'s last component.
    fn check_name(&self, path: &VPath, op: &'static str) -> Result<(), VfsError> {
        let name = path.file_name();
        let allowed =
            self.allowed_names.is_empty() || self.allowed_names.iter().any(|g| g.matches(name));
        if allowed && !self.denied_names.iter().any(|g| g.matches(name)) {
            Ok(())
        } else {
            Err(VfsError::os(op, Errno::ACCESS))
        }
    }
}

/// A [`Vfs`] that enforces a [`Policy`] in front of another.
pub struct PolicyFs {
    inner: Arc<dyn Vfs>,
    policy: Arc<Policy>,
}

impl PolicyFs {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn Vfs>, policy: Arc<Policy>) -> Self {
        PolicyFs { inner, policy }
    }

    fn quota(&self) -> Option<&Arc<Quota>> {
        self.policy.quota.as_ref()
    }

    /// Size of the regular file at `path`, if there is one.
    fn regular_size(&self, path: &VPath) -> Option<u64> {
        match self.inner.lstat(path) {
            Ok(m) if m.file_type == FileType::Regular => Some(m.size),
            _ => None,
        }
    }
}

impl Vfs for PolicyFs {
    fn home(&self) -> &VPath {
        self.inner.home()
    }

    fn open(&self, path: &VPath, options: &OpenOptions) -> Result<Box<dyn VfsFile>, VfsError> {
        let writes = options.write || options.append || options.truncate || options.create;
        if options.read {
            self.policy.check(path, Permissions::DOWNLOAD, "open")?;
        }
        if !writes {
            let file = self.inner.open(path, options)?;
            return Ok(Box::new(PolicyFile {
                inner: file,
                rights: self.policy.rights_at(path),
                quota: None,
                size: AtomicU64::new(0),
            }));
        }
        let existing = self.inner.stat(path).ok();
        let mut created = false;
        match &existing {
            Some(_) => self.policy.check(path, Permissions::OVERWRITE, "open")?,
            None => {
                self.policy.check(path, Permissions::UPLOAD, "open")?;
                self.policy.check_name(path, "open")?;
                if options.create {
                    if let Some(q) = self.quota() {
                        q.reserve_file()?;
                        created = true;
                    }
                }
            }
        }
        let file = match self.inner.open(path, options) {
            Ok(f) => f,
            Err(e) => {
                if created {
                    if let Some(q) = self.quota() {
                        q.release_file();
                    }
                }
                return Err(e);
            }
        };
        if options.truncate {
            if let (Some(q), Some(old)) = (self.quota(), existing.as_ref().map(|m| m.size)) {
                q.release_bytes(old);
            }
        }
        let size = file.stat().map(|m| m.size).unwrap_or(0);
        Ok(Box::new(PolicyFile {
            inner: file,
            rights: self.policy.rights_at(path),
            quota: self.quota().cloned(),
            size: AtomicU64::new(size),
        }))
    }

    fn open_dir(&self, path: &VPath) -> Result<Box<dyn VfsDir>, VfsError> {
        self.policy.check(path, Permissions::LIST, "opendir")?;
        self.inner.open_dir(path)
    }

    fn stat(&self, path: &VPath) -> Result<Metadata, VfsError> {
        self.inner.stat(path)
    }

    fn lstat(&self, path: &VPath) -> Result<Metadata, VfsError> {
        self.inner.lstat(path)
    }

    fn set_stat(&self, path: &VPath, attrs: &SetAttrs) -> Result<(), VfsError> {
        self.check_set_stat(path, attrs)?;
        self.resize_quota(path, attrs, |p, a| self.inner.set_stat(p, a))
    }

    fn lset_stat(&self, path: &VPath, attrs: &SetAttrs) -> Result<(), VfsError> {
        self.check_set_stat(path, attrs)?;
        self.inner.lset_stat(path, attrs)
    }

    fn remove(&self, path: &VPath) -> Result<(), VfsError> {
        self.policy.check(path, Permissions::DELETE, "remove")?;
        let size = self.quota().and_then(|_| self.regular_size(path));
        self.inner.remove(path)?;
        if let (Some(q), Some(size)) = (self.quota(), size) {
            q.release_bytes(size);
            q.release_file();
        }
        Ok(())
    }

    fn rename(&self, from: &VPath, to: &VPath, mode: RenameMode) -> Result<(), VfsError> {
        self.policy.check(from, Permissions::RENAME, "rename")?;
        self.policy.check(to, Permissions::RENAME, "rename")?;
        self.policy.check_name(to, "rename")?;
        let replaced = self.regular_size(to);
        if replaced.is_some() {
            self.policy.check(to, Permissions::OVERWRITE, "rename")?;
        }
        self.inner.rename(from, to, mode)?;
        if let (Some(q), Some(size)) = (self.quota(), replaced) {
            q.release_bytes(size);
            q.release_file();
        }
        Ok(())
    }

    fn mkdir(&self, path: &VPath, mode: u32) -> Result<(), VfsError> {
        self.policy.check(path, Permissions::MKDIR, "mkdir")?;
        self.policy.check_name(path, "mkdir")?;
        self.inner.mkdir(path, mode)
    }

    fn rmdir(&self, path: &VPath) -> Result<(), VfsError> {
        self.policy.check(path, Permissions::RMDIR, "rmdir")?;
        self.inner.rmdir(path)
    }

    fn read_link(&self, path: &VPath) -> Result<Vec<u8>, VfsError> {
        self.inner.read_link(path)
    }

    fn symlink(&self, target: &[u8], link: &VPath) -> Result<(), VfsError> {
        self.policy.check(link, Permissions::SYMLINK, "symlink")?;
        self.policy.check_name(link, "symlink")?;
        self.inner.symlink(target, link)
    }

    fn hard_link(&self, existing: &VPath, new: &VPath) -> Result<(), VfsError> {
        self.policy.check(new, Permissions::SYMLINK, "link")?;
        self.policy.check_name(new, "link")?;
        // A hard link adds a name, not bytes; it counts as a file.
        if let Some(q) = self.quota() {
            q.reserve_file()?;
        }
        self.inner.hard_link(existing, new).inspect_err(|_| {
            if let Some(q) = self.quota() {
                q.release_file();
            }
        })
    }

    fn realpath(&self, path: &VPath) -> Result<VPath, VfsError> {
        self.inner.realpath(path)
    }

    fn statvfs(&self, path: &VPath) -> Result<FsStats, VfsError> {
        self.inner.statvfs(path)
    }

    fn get_xattr(&self, path: &VPath, name: &[u8]) -> Result<Vec<u8>, VfsError> {
        self.inner.get_xattr(path, name)
    }

    fn list_xattr(&self, path: &VPath) -> Result<Vec<Vec<u8>>, VfsError> {
        self.inner.list_xattr(path)
    }

    // Extended attributes are metadata, like permission bits.
    fn set_xattr(
        &self,
        path: &VPath,
        name: &[u8],
        value: &[u8],
        mode: XattrMode,
    ) -> Result<(), VfsError> {
        self.policy.check(path, Permissions::CHMOD, "setxattr")?;
        self.inner.set_xattr(path, name, value, mode)
    }

    fn remove_xattr(&self, path: &VPath, name: &[u8]) -> Result<(), VfsError> {
        self.policy.check(path, Permissions::CHMOD, "removexattr")?;
        self.inner.remove_xattr(path, name)
    }
}

impl PolicyFs {
    fn check_set_stat(&self, path: &VPath, attrs: &SetAttrs) -> Result<(), VfsError> {
        set_stat_allowed(self.policy.rights_at(path), attrs)
    }

    /// Runs a size change with the quota adjusted by the difference.
    fn resize_quota(
        &self,
        path: &VPath,
        attrs: &SetAttrs,
        apply: impl FnOnce(&VPath, &SetAttrs) -> Result<(), VfsError>,
    ) -> Result<(), VfsError> {
        let (Some(q), Some(new)) = (self.quota(), attrs.size) else {
            return apply(path, attrs);
        };
        let old = self.regular_size(path).unwrap_or(0);
        if new > old {
            q.reserve_bytes(new - old)?;
        }
        match apply(path, attrs) {
            Ok(()) => {
                if new < old {
                    q.release_bytes(old - new);
                }
                Ok(())
            }
            Err(e) => {
                if new > old {
                    q.release_bytes(new - old);
                }
                Err(e)
            }
        }
    }
}

/// Which attribute changes `rights` allow.
fn set_stat_allowed(rights: Permissions, attrs: &SetAttrs) -> Result<(), VfsError> {
    let mut needed = Permissions::NONE;
    if attrs.permissions.is_some() {
        needed = needed | Permissions::CHMOD;
    }
    if attrs.uid.is_some() || attrs.gid.is_some() {
        needed = needed | Permissions::CHOWN;
    }
    if attrs.size.is_some() {
        needed = needed | Permissions::OVERWRITE;
    }
    // Times are set right after an upload (`put -p`), so either right to
    // write the file allows them.
    let times_ok = (attrs.atime.is_none() && attrs.mtime.is_none())
        || rights.intersects(Permissions::UPLOAD | Permissions::OVERWRITE);
    if rights.contains(needed) && times_ok {
        Ok(())
    } else {
        Err(VfsError::os("setstat", Errno::ACCESS))
    }
}

/// An open file under the policy: attribute changes through the handle are
/// checked against the rights at its path, and growth is counted against
/// the quota.
#[derive(Debug)]
struct PolicyFile {
    inner: Box<dyn VfsFile>,
    /// The rights at the file's path when it was opened.
    rights: Permissions,
    quota: Option<Arc<Quota>>,
    /// The size as far as writes through this handle know it.
    size: AtomicU64,
}

impl PolicyFile {
    fn may_change_metadata(&self) -> bool {
        self.rights.contains(Permissions::CHMOD)
    }
}

impl VfsFile for PolicyFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<usize, VfsError> {
        self.inner.read_at(buf, offset)
    }

    fn read_vectored_at(
        &self,
        bufs: &mut [std::io::IoSliceMut<'_>],
        offset: u64,
    ) -> Result<usize, VfsError> {
        self.inner.read_vectored_at(bufs, offset)
    }

    fn write_at(&self, data: &[u8], offset: u64) -> Result<usize, VfsError> {
        let Some(quota) = &self.quota else {
            return self.inner.write_at(data, offset);
        };
        let end = offset.saturating_add(data.len() as u64);
        let size = self.size.load(Ordering::Acquire);
        let growth = end.saturating_sub(size);
        if growth > 0 {
            quota.reserve_bytes(growth)?;
        }
        match self.inner.write_at(data, offset) {
            Ok(n) => {
                let written_end = offset.saturating_add(n as u64);
                let unused = end.saturating_sub(written_end.max(size));
                if unused > 0 {
                    quota.release_bytes(unused.min(growth));
                }
                self.size.fetch_max(written_end, Ordering::AcqRel);
                Ok(n)
            }
            Err(e) => {
                quota.release_bytes(growth);
                Err(e)
            }
        }
    }

    fn stat(&self) -> Result<Metadata, VfsError> {
        self.inner.stat()
    }

    fn set_stat(&self, attrs: &SetAttrs) -> Result<(), VfsError> {
        set_stat_allowed(self.rights, attrs)?;
        let (Some(quota), Some(new)) = (&self.quota, attrs.size) else {
            return self.inner.set_stat(attrs);
        };
        let old = self.size.load(Ordering::Acquire);
        if new > old {
            quota.reserve_bytes(new - old)?;
        }
        match self.inner.set_stat(attrs) {
            Ok(()) => {
                if new < old {
                    quota.release_bytes(old - new);
                }
                self.size.store(new, Ordering::Release);
                Ok(())
            }
            Err(e) => {
                if new > old {
                    quota.release_bytes(new - old);
                }
                Err(e)
            }
        }
    }

    fn sync(&self) -> Result<(), VfsError> {
        self.inner.sync()
    }

    fn statvfs(&self) -> Result<FsStats, VfsError> {
        self.inner.statvfs()
    }

    fn get_xattr(&self, name: &[u8]) -> Result<Vec<u8>, VfsError> {
        self.inner.get_xattr(name)
    }

    fn list_xattr(&self) -> Result<Vec<Vec<u8>>, VfsError> {
        self.inner.list_xattr()
    }

    // The handle was opened under the policy; changing attributes through it
    // needs the same right as by path.
    fn set_xattr(&self, name: &[u8], value: &[u8], mode: XattrMode) -> Result<(), VfsError> {
        if !self.may_change_metadata() {
            return Err(VfsError::os("fsetxattr", Errno::ACCESS));
        }
        self.inner.set_xattr(name, value, mode)
    }

    fn remove_xattr(&self, name: &[u8]) -> Result<(), VfsError> {
        if !self.may_change_metadata() {
            return Err(VfsError::os("fremovexattr", Errno::ACCESS));
        }
        self.inner.remove_xattr(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{LocalFs, VfsErrorKind};

    fn fs_with(policy: Policy) -> (tempfile::TempDir, PolicyFs) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("existing.txt"), b"hello").unwrap();
        std::fs::create_dir(dir.path().join("in")).unwrap();
        let local: Arc<dyn Vfs> = Arc::new(LocalFs::new(dir.path().to_path_buf()).unwrap());
        (dir, PolicyFs::new(local, Arc::new(policy)))
    }

    fn p(s: &str) -> VPath {
        VPath::from_absolute(s.as_bytes())
    }

    fn write_new() -> OpenOptions {
        OpenOptions {
            read: false,
            write: true,
            create: true,
            truncate: true,
            mode: 0o644,
            ..OpenOptions::default()
        }
    }

    fn kind<T>(r: Result<T, VfsError>) -> VfsErrorKind {
        match r {
            Ok(_) => panic!("expected an error"),
            Err(e) => e.kind(),
        }
    }

    fn policy(default: Permissions) -> Policy {
        Policy {
            default,
            ..Policy::default()
        }
    }

    #[test]
    fn permission_names_parse_and_print() {
        assert_eq!(
            Permissions::parse_list(["list", "download"]),
            Ok(Permissions::READ_ONLY)
        );
        assert_eq!(Permissions::parse("all"), Some(Permissions::ALL));
        assert_eq!(
            Permissions::parse_list(["list", "fly"]),
            Err("fly".to_string())
        );
        assert_eq!(
            Permissions::UPLOAD_ONLY.to_names(),
            ["list", "upload", "mkdir"]
        );
        assert_eq!(Permissions::ALL.to_names().len(), 11);
    }

    #[test]
    fn a_read_only_user_reads_and_lists_only() {
        let (_d, fs) = fs_with(policy(Permissions::READ_ONLY));
        assert!(fs
            .open(&p("/existing.txt"), &OpenOptions::default())
            .is_ok());
        assert!(fs.open_dir(&p("/")).is_ok());
        let denied = VfsErrorKind::PermissionDenied;
        assert_eq!(kind(fs.open(&p("/new.txt"), &write_new())), denied);
        assert_eq!(kind(fs.open(&p("/existing.txt"), &write_new())), denied);
        assert_eq!(kind(fs.mkdir(&p("/d"), 0o755)), denied);
        assert_eq!(kind(fs.remove(&p("/existing.txt"))), denied);
        assert_eq!(kind(fs.rmdir(&p("/in"))), denied);
        assert_eq!(
            kind(fs.rename(&p("/existing.txt"), &p("/x"), RenameMode::NoReplace)),
            denied
        );
        assert_eq!(kind(fs.symlink(b"existing.txt", &p("/l"))), denied);
        let chmod = SetAttrs {
            permissions: Some(0o600),
            ..SetAttrs::default()
        };
        assert_eq!(kind(fs.set_stat(&p("/existing.txt"), &chmod)), denied);
        // Nor through a handle opened for reading.
        let f = fs
            .open(&p("/existing.txt"), &OpenOptions::default())
            .unwrap();
        assert_eq!(kind(f.set_stat(&chmod)), denied);
        assert_eq!(kind(f.set_xattr(b"user.x", b"1", XattrMode::Any)), denied);
    }

    #[test]
    fn an_upload_only_user_creates_but_cannot_read_or_replace() {
        let (dir, fs) = fs_with(policy(Permissions::UPLOAD_ONLY));
        let f = fs.open(&p("/in/drop.bin"), &write_new()).unwrap();
        f.write_all_at(b"payload", 0).unwrap();
        assert_eq!(
            std::fs::read(dir.path().join("in/drop.bin")).unwrap(),
            b"payload"
        );
        let denied = VfsErrorKind::PermissionDenied;
        assert_eq!(
            kind(fs.open(&p("/in/drop.bin"), &OpenOptions::default())),
            denied
        );
        assert_eq!(kind(fs.open(&p("/existing.txt"), &write_new())), denied);
        assert_eq!(kind(fs.remove(&p("/in/drop.bin"))), denied);
        assert!(fs.mkdir(&p("/in/sub"), 0o755).is_ok());
        assert!(fs.open_dir(&p("/in")).is_ok());
    }

    #[test]
    fn later_path_rules_win() {
        let mut pol = policy(Permissions::READ_ONLY);
        pol.rules.push(PathRule {
            glob: Glob::new("/in/**").unwrap(),
            allow: Permissions::UPLOAD | Permissions::DELETE,
            deny: Permissions::NONE,
        });
        pol.rules.push(PathRule {
            glob: Glob::new("/in/locked/**").unwrap(),
            allow: Permissions::NONE,
            deny: Permissions::ALL,
        });
        let (_d, fs) = fs_with(pol);
        assert!(fs.open(&p("/in/a.txt"), &write_new()).is_ok());
        assert!(fs.remove(&p("/in/a.txt")).is_ok());
        assert_eq!(
            kind(fs.open(&p("/a.txt"), &write_new())),
            VfsErrorKind::PermissionDenied
        );
        assert_eq!(
            kind(fs.open(&p("/in/locked/a.txt"), &write_new())),
            VfsErrorKind::PermissionDenied
        );
        assert_eq!(fs.policy.rights_at(&p("/in/locked/x")), Permissions::NONE);
    }

    #[test]
    fn file_name_patterns_apply_to_new_names() {
        let mut pol = policy(Permissions::ALL);
        pol.denied_names.push(Glob::new("*.exe").unwrap());
        pol.denied_names.push(Glob::new(".*").unwrap());
        let (_d, fs) = fs_with(pol);
        let denied = VfsErrorKind::PermissionDenied;
        assert_eq!(kind(fs.open(&p("/in/tool.exe"), &write_new())), denied);
        assert_eq!(kind(fs.mkdir(&p("/.hidden"), 0o755)), denied);
        assert_eq!(
            kind(fs.rename(&p("/existing.txt"), &p("/x.exe"), RenameMode::NoReplace)),
            denied
        );
        assert!(fs.open(&p("/in/tool.txt"), &write_new()).is_ok());

        let mut pol = policy(Permissions::ALL);
        pol.allowed_names.push(Glob::new("*.csv").unwrap());
        let (_d, fs) = fs_with(pol);
        assert!(fs.open(&p("/in/data.csv"), &write_new()).is_ok());
        assert_eq!(kind(fs.open(&p("/in/data.txt"), &write_new())), denied);
    }

    #[test]
    fn byte_quota_refuses_growth_and_frees_on_remove_and_truncate() {
        let quota = Arc::new(Quota::new(Some(1000), None, Usage { bytes: 5, files: 1 }));
        let mut pol = policy(Permissions::ALL);
        pol.quota = Some(quota.clone());
        let (_d, fs) = fs_with(pol);
        let f = fs.open(&p("/a"), &write_new()).unwrap();
        f.write_all_at(&[1; 600], 0).unwrap();
        // Rewriting the same bytes does not count twice.
        f.write_all_at(&[2; 600], 0).unwrap();
        assert_eq!(
            quota.usage(),
            Usage {
                bytes: 605,
                files: 2
            }
        );
        let g = fs.open(&p("/b"), &write_new()).unwrap();
        assert_eq!(
            kind(g.write_all_at(&[1; 600], 0)),
            VfsErrorKind::QuotaExceeded
        );
        assert!(g.write_all_at(&[1; 395], 0).is_ok());
        assert_eq!(kind(g.write_all_at(&[1], 395)), VfsErrorKind::QuotaExceeded);
        fs.remove(&p("/a")).unwrap();
        assert_eq!(
            quota.usage(),
            Usage {
                bytes: 400,
                files: 2
            }
        );
        // Truncating on open gives the old bytes back.
        let g = fs.open(&p("/b"), &write_new()).unwrap();
        assert_eq!(quota.usage().bytes, 5);
        // Extending by setstat counts, shrinking frees.
        let grow = SetAttrs {
            size: Some(2000),
            ..SetAttrs::default()
        };
        assert_eq!(kind(g.set_stat(&grow)), VfsErrorKind::QuotaExceeded);
        assert_eq!(
            kind(fs.set_stat(&p("/b"), &grow)),
            VfsErrorKind::QuotaExceeded
        );
        let some = SetAttrs {
            size: Some(100),
            ..SetAttrs::default()
        };
        fs.set_stat(&p("/b"), &some).unwrap();
        assert_eq!(quota.usage().bytes, 105);
    }

    #[test]
    fn file_quota_counts_creations_only() {
        let quota = Arc::new(Quota::new(None, Some(2), Usage { bytes: 5, files: 1 }));
        let mut pol = policy(Permissions::ALL);
        pol.quota = Some(quota.clone());
        let (_d, fs) = fs_with(pol);
        assert!(fs.open(&p("/a"), &write_new()).is_ok());
        // Opening an existing file again is not a new file.
        assert!(fs.open(&p("/a"), &write_new()).is_ok());
        assert_eq!(
            kind(fs.open(&p("/b"), &write_new())),
            VfsErrorKind::QuotaExceeded
        );
        assert!(fs.mkdir(&p("/dirs-do-not-count"), 0o755).is_ok());
        fs.remove(&p("/a")).unwrap();
        assert!(fs.open(&p("/b"), &write_new()).is_ok());
        assert_eq!(quota.usage().files, 2);
    }

    #[test]
    fn usage_is_measured_over_the_whole_tree() {
        let (dir, fs) = fs_with(Policy::unrestricted());
        std::fs::write(dir.path().join("in/a"), [0u8; 100]).unwrap();
        std::fs::create_dir(dir.path().join("in/deep")).unwrap();
        std::fs::write(dir.path().join("in/deep/b"), [0u8; 20]).unwrap();
        let usage = measure_usage(&fs, 10_000).unwrap();
        assert_eq!(
            usage,
            Usage {
                bytes: 125,
                files: 3
            }
        );
        // The bound stops the walk early.
        assert!(measure_usage(&fs, 2).unwrap().files < 3);
    }
}
