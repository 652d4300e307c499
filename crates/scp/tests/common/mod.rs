//! Shared helpers: a jailed LocalFs in a temporary directory, a driver that feeds a byte
//! script to a session the way a channel would, and a Vfs wrapper that injects I/O errors.
#![allow(dead_code)]

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use wharf_scp::{ScpConfig, ScpSession};
use wharf_vfs::{
    FsStats, LocalFs, Metadata, OpenOptions, RenameMode, SetAttrs, VPath, Vfs, VfsDir, VfsError,
    VfsFile,
};

pub fn local_fs(root: &Path) -> Arc<dyn Vfs> {
    Arc::new(LocalFs::new(root.to_path_buf()).unwrap())
}

pub fn session(fs: &Arc<dyn Vfs>, command: &str) -> ScpSession {
    ScpSession::from_command(Arc::clone(fs), command, ScpConfig::default()).unwrap()
}

/// What a scripted run produced.
#[derive(Debug)]
pub struct Outcome {
    pub out: Vec<u8>,
    pub status: Option<u32>,
    pub errors: Vec<String>,
}

/// Feeds `script` in chunks of `chunk` bytes (then EOF if `eof`), calling `process` whenever
/// the session wants it, with an output limit of `out_limit`. Bounded: a session that never
/// settles fails the test instead of hanging it.
pub fn drive(
    s: &mut ScpSession,
    script: &[u8],
    chunk: usize,
    eof: bool,
    out_limit: usize,
) -> Outcome {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    let mut feed = script.chunks(chunk.max(1));
    let mut eof_sent = false;
    for _ in 0..1_000_000 {
        for _ in 0..1_000_000 {
            let mut buf = Vec::new();
            match s.process(&mut buf, out_limit) {
                Ok(_) => {}
                Err(e) => errors.push(e.to_string()),
            }
            assert!(
                buf.len() < out_limit.saturating_add(64 * 1024),
                "output far beyond the limit"
            );
            out.extend_from_slice(&buf);
            if s.finished().is_some() || !s.wants_process() {
                break;
            }
        }
        if s.finished().is_some() {
            break;
        }
        match feed.next() {
            Some(c) => s.receive(c),
            None if eof && !eof_sent => {
                s.receive_eof();
                eof_sent = true;
            }
            None => break,
        }
    }
    Outcome {
        out,
        status: s.finished(),
        errors,
    }
}

/// Runs `command` over `fs` with the whole script, then EOF.
pub fn run(fs: &Arc<dyn Vfs>, command: &str, script: &[u8]) -> Outcome {
    let mut s = session(fs, command);
    drive(&mut s, script, usize::MAX, true, usize::MAX)
}

pub fn run_with(fs: &Arc<dyn Vfs>, command: &str, config: ScpConfig, script: &[u8]) -> Outcome {
    let mut s = ScpSession::from_command(Arc::clone(fs), command, config).unwrap();
    drive(&mut s, script, usize::MAX, true, usize::MAX)
}

/// A Vfs whose files fail writes once `fail_writes_after` bytes have been written, and fail
/// reads at or beyond offset `fail_reads_at`; everything else goes to the inner LocalFs.
pub struct FaultyFs {
    pub inner: LocalFs,
    pub fail_writes_after: u64,
    pub fail_reads_at: u64,
}

#[derive(Debug)]
struct FaultyFile {
    inner: Box<dyn VfsFile>,
    fail_writes_after: u64,
    fail_reads_at: u64,
    written: AtomicU64,
}

fn eio(op: &'static str) -> VfsError {
    VfsError::Os { op, errno: 5 }
}

impl VfsFile for FaultyFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<usize, VfsError> {
        if offset >= self.fail_reads_at {
            return Err(eio("read"));
        }
        let max = usize::try_from(self.fail_reads_at - offset).unwrap_or(usize::MAX);
        let len = buf.len().min(max);
        self.inner.read_at(&mut buf[..len], offset)
    }
    fn write_at(&self, data: &[u8], offset: u64) -> Result<usize, VfsError> {
        let written = self.written.fetch_add(data.len() as u64, Ordering::SeqCst);
        if written + data.len() as u64 > self.fail_writes_after {
            return Err(eio("write"));
        }
        self.inner.write_at(data, offset)
    }
    fn stat(&self) -> Result<Metadata, VfsError> {
        self.inner.stat()
    }
    fn set_stat(&self, attrs: &SetAttrs) -> Result<(), VfsError> {
        self.inner.set_stat(attrs)
    }
    fn sync(&self) -> Result<(), VfsError> {
        self.inner.sync()
    }
    fn statvfs(&self) -> Result<FsStats, VfsError> {
        self.inner.statvfs()
    }
}

impl Vfs for FaultyFs {
    fn home(&self) -> &VPath {
        self.inner.home()
    }
    fn open(&self, path: &VPath, options: &OpenOptions) -> Result<Box<dyn VfsFile>, VfsError> {
        let inner = self.inner.open(path, options)?;
        Ok(Box::new(FaultyFile {
            inner,
            fail_writes_after: self.fail_writes_after,
            fail_reads_at: self.fail_reads_at,
            written: AtomicU64::new(0),
        }))
    }
    fn open_dir(&self, path: &VPath) -> Result<Box<dyn VfsDir>, VfsError> {
        self.inner.open_dir(path)
    }
    fn stat(&self, path: &VPath) -> Result<Metadata, VfsError> {
        self.inner.stat(path)
    }
    fn lstat(&self, path: &VPath) -> Result<Metadata, VfsError> {
        self.inner.lstat(path)
    }
    fn set_stat(&self, path: &VPath, attrs: &SetAttrs) -> Result<(), VfsError> {
        self.inner.set_stat(path, attrs)
    }
    fn remove(&self, path: &VPath) -> Result<(), VfsError> {
        self.inner.remove(path)
    }
    fn rename(&self, from: &VPath, to: &VPath, mode: RenameMode) -> Result<(), VfsError> {
        self.inner.rename(from, to, mode)
    }
    fn mkdir(&self, path: &VPath, mode: u32) -> Result<(), VfsError> {
        self.inner.mkdir(path, mode)
    }
    fn rmdir(&self, path: &VPath) -> Result<(), VfsError> {
        self.inner.rmdir(path)
    }
    fn read_link(&self, path: &VPath) -> Result<Vec<u8>, VfsError> {
        self.inner.read_link(path)
    }
    fn symlink(&self, target: &[u8], link: &VPath) -> Result<(), VfsError> {
        self.inner.symlink(target, link)
    }
    fn hard_link(&self, existing: &VPath, new: &VPath) -> Result<(), VfsError> {
        self.inner.hard_link(existing, new)
    }
    fn realpath(&self, path: &VPath) -> Result<VPath, VfsError> {
        self.inner.realpath(path)
    }
    fn statvfs(&self, path: &VPath) -> Result<FsStats, VfsError> {
        self.inner.statvfs(path)
    }
}

pub fn faulty_fs(root: &Path, fail_writes_after: u64, fail_reads_at: u64) -> Arc<dyn Vfs> {
    Arc::new(FaultyFs {
        inner: LocalFs::new(root.to_path_buf()).unwrap(),
        fail_writes_after,
        fail_reads_at,
    })
}

/// Names in a directory, sorted.
pub fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

pub fn mode_of(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

/// Whether `process` returned an error whose text contains `needle`.
pub fn has_error(outcome: &Outcome, needle: &str) -> bool {
    outcome.errors.iter().any(|e| e.contains(needle))
}
