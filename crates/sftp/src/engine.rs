//! Request handling: one version-neutral handler per request, each returning either its reply
//! (already appended) or a [`Refusal`] that becomes a STATUS reply.

use std::sync::Arc;

use wharf_vfs::{RenameMode, VPath, Vfs, VfsError};

use crate::ext;
use crate::handles::{DirHandle, FileHandle, Handle, HandleTable};
use crate::longname;
use crate::proto::attrs::Attrs;
use crate::proto::reply::{self, Data, Names};
use crate::proto::request::{self, OpenFlags, Request};
use crate::proto::status::StatusCode;
use crate::proto::{MAX_VERSION, MIN_VERSION, SSH_FXP_INIT};
use crate::wire::{DecodeError, Reader};
use crate::{SftpConfig, SftpError};

/// Entries per READDIR reply at most, as OpenSSH's sftp-server sends.
const READDIR_BATCH: usize = 100;

/// Why a request gets a STATUS instead of its normal reply.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// The request body did not parse: BAD_MESSAGE.
    Malformed,
    /// The request failed with this status.
    Status(StatusCode),
}

impl From<DecodeError> for Refusal {
    fn from(_: DecodeError) -> Self {
        Self::Malformed
    }
}

impl From<StatusCode> for Refusal {
    fn from(code: StatusCode) -> Self {
        Self::Status(code)
    }
}

impl From<VfsError> for Refusal {
    fn from(err: VfsError) -> Self {
        Self::Status(StatusCode::from(&err))
    }
}

/// Size limits derived from the configuration, as announced by `limits@openssh.com`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    /// The largest packet accepted (the length field's value).
    pub(crate) max_packet_len: u32,
    /// The largest READ served; longer requests get a short read.
    pub(crate) max_read_len: u32,
    /// The largest WRITE a client should send.
    pub(crate) max_write_len: u32,
}

impl Limits {
    /// The drafts require at least 34000-byte packets (32 KiB reads and writes); a smaller
    /// configured maximum is raised to that. 1 KiB of every packet is left for headers, as
    /// OpenSSH does.
    pub(crate) fn new(config: &SftpConfig) -> Self {
        let max_packet_len = config.max_packet_len.max(34_000);
        let payload = max_packet_len - 1024;
        Self {
            max_packet_len,
            max_read_len: payload,
            max_write_len: payload,
        }
    }
}

/// The per-session state every handler works on.
pub(crate) struct Engine {
    /// The negotiated protocol version; `None` until SSH_FXP_INIT.
    version: Option<u32>,
    fs: Arc<dyn Vfs>,
    config: SftpConfig,
    limits: Limits,
    handles: HandleTable,
    /// Reused buffer for READDIR longnames.
    longname: Vec<u8>,
}

impl Engine {
    pub(crate) fn new(fs: Arc<dyn Vfs>, config: SftpConfig) -> Self {
        Self {
            version: None,
            limits: Limits::new(&config),
            fs,
            config,
            handles: HandleTable::default(),
            longname: Vec::new(),
        }
    }

    /// Handles one whole packet (without its length field). Protocol violations that leave no
    /// way to answer are errors; everything else gets exactly one reply.
    pub(crate) fn handle_packet(
        &mut self,
        packet: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), SftpError> {
        let mut r = Reader::new(packet);
        let packet_type = r.u8("type").map_err(|_| SftpError::EmptyPacket)?;
        if packet_type == SSH_FXP_INIT {
            return self.init(&mut r, out);
        }
        let version = self
            .version
            .ok_or(SftpError::NotInitialized { packet_type })?;
        let id = r
            .u32("request id")
            .map_err(|_| SftpError::MissingRequestId { packet_type })?;
        self.dispatch(version, packet_type, id, r, out);
        Ok(())
    }

    /// SSH_FXP_INIT: `uint32 version`, then (v3) extension pairs, which name nothing this server
    /// acts on and are ignored, as OpenSSH does. A repeated INIT is answered again rather than
    /// treated as an attack (some clients send one; spec digest P10).
    fn init(&mut self, r: &mut Reader<'_>, out: &mut Vec<u8>) -> Result<(), SftpError> {
        let client = r.u32("version").map_err(SftpError::MalformedInit)?;
        if client < MIN_VERSION {
            return Err(SftpError::UnsupportedVersion {
                client,
                min: MIN_VERSION,
            });
        }
        let version = client.min(MAX_VERSION);
        self.version = Some(version);
        reply::version(out, version, &ext::announcements(version));
        Ok(())
    }

    /// Handles one request (its type, id and body are already split off) and appends exactly
    /// one reply.
    fn dispatch(
        &mut self,
        version: u32,
        packet_type: u8,
        id: u32,
        mut body: Reader<'_>,
        out: &mut Vec<u8>,
    ) {
        let result = match request::decode(version, packet_type, &mut body) {
            Ok(Some(request)) => self.handle(version, id, request, out),
            Ok(None) => Err(Refusal::Status(StatusCode::OpUnsupported)),
            Err(_) => Err(Refusal::Malformed),
        };
        match result {
            Ok(()) => {}
            Err(Refusal::Malformed) => reply::status(out, version, id, StatusCode::BadMessage),
            Err(Refusal::Status(code)) => reply::status(out, version, id, code),
        }
    }

    pub(crate) fn limits(&self) -> Limits {
        self.limits
    }

    pub(crate) fn fs(&self) -> &dyn Vfs {
        &*self.fs
    }

    pub(crate) fn read_only(&self) -> bool {
        self.config.read_only
    }

    pub(crate) fn resolve(&self, raw: &[u8]) -> VPath {
        self.fs.resolve(raw)
    }

    /// Appends an OK status.
    pub(crate) fn ok(&self, out: &mut Vec<u8>, id: u32) {
        // Handlers only run after INIT set the version.
        let version = self.version.unwrap_or(MAX_VERSION);
        reply::status(out, version, id, StatusCode::Ok);
    }

    /// The open file behind `handle`; a directory or unknown handle is INVALID_HANDLE.
    pub(crate) fn file(&mut self, handle: &[u8]) -> Result<&FileHandle, Refusal> {
        match self.handles.get_mut(handle) {
            Some(Handle::File(file)) => Ok(file),
            _ => Err(StatusCode::InvalidHandle.into()),
        }
    }

    fn handle(
        &mut self,
        version: u32,
        id: u32,
        request: Request<'_>,
        out: &mut Vec<u8>,
    ) -> Result<(), Refusal> {
        if self.config.read_only && request.does_write() {
            return Err(StatusCode::PermissionDenied.into());
        }
        match request {
            Request::Open { path, flags, attrs } => self.open(id, path, flags, &attrs, out),
            Request::Close { handle } => {
                self.handles
                    .remove(handle)
                    .ok_or(StatusCode::InvalidHandle)?;
                self.ok(out, id);
                Ok(())
            }
            Request::Read {
                handle,
                offset,
                len,
            } => self.read(id, handle, offset, len, out),
            Request::Write {
                handle,
                offset,
                data,
            } => {
                let file = self.file(handle)?;
                if !file.writable {
                    return Err(StatusCode::PermissionDenied.into());
                }
                file.file.write_all_at(data, offset)?;
                self.ok(out, id);
                Ok(())
            }
            Request::Stat { path, follow } => {
                let path = self.resolve(path);
                let md = if follow {
                    self.fs.stat(&path)?
                } else {
                    self.fs.lstat(&path)?
                };
                reply::attrs(out, version, id, &Attrs::from_metadata(&md));
                Ok(())
            }
            Request::Fstat { handle } => {
                let md = self.file(handle)?.file.stat()?;
                reply::attrs(out, version, id, &Attrs::from_metadata(&md));
                Ok(())
            }
            Request::SetStat { path, attrs } => {
                let path = self.resolve(path);
                self.fs.set_stat(&path, &attrs.to_set_attrs())?;
                self.ok(out, id);
                Ok(())
            }
            Request::FSetStat { handle, attrs } => {
                self.file(handle)?.file.set_stat(&attrs.to_set_attrs())?;
                self.ok(out, id);
                Ok(())
            }
            Request::OpenDir { path } => {
                let path = self.resolve(path);
                let dir = self.fs.open_dir(&path)?;
                let handle = Handle::Dir(DirHandle {
                    dir,
                    pending: Vec::new(),
                });
                self.reply_handle(id, handle, out)
            }
            Request::ReadDir { handle } => self.read_dir(version, id, handle, out),
            Request::Remove { path } => {
                self.fs.remove(&self.resolve(path))?;
                self.ok(out, id);
                Ok(())
            }
            Request::Mkdir { path, attrs } => {
                let mode = attrs.permissions.unwrap_or(0o777) & !self.config.umask & 0o7777;
                self.fs.mkdir(&self.resolve(path), mode)?;
                self.ok(out, id);
                Ok(())
            }
            Request::Rmdir { path } => {
                self.fs.rmdir(&self.resolve(path))?;
                self.ok(out, id);
                Ok(())
            }
            Request::RealPath { path } => {
                let path = self.fs.realpath(&self.resolve(path))?;
                reply::single_name(out, version, id, path.as_bytes());
                Ok(())
            }
            Request::Rename {
                from,
                to,
                overwrite,
            } => {
                let mode = if overwrite {
                    RenameMode::Overwrite
                } else {
                    RenameMode::NoReplace
                };
                self.fs
                    .rename(&self.resolve(from), &self.resolve(to), mode)?;
                self.ok(out, id);
                Ok(())
            }
            Request::ReadLink { path } => {
                let target = self.fs.read_link(&self.resolve(path))?;
                reply::single_name(out, version, id, &target);
                Ok(())
            }
            Request::Link {
                link,
                target,
                symbolic,
            } => {
                let link = self.resolve(link);
                if symbolic {
                    // The target text is stored as sent; lookups through it stay in the jail.
                    self.fs.symlink(target, &link)?;
                } else {
                    self.fs.hard_link(&self.resolve(target), &link)?;
                }
                self.ok(out, id);
                Ok(())
            }
            Request::Extended { name, mut body } => {
                let ext = ext::find(name, version).ok_or(StatusCode::OpUnsupported)?;
                if self.config.read_only && ext.does_write {
                    return Err(StatusCode::PermissionDenied.into());
                }
                (ext.handler)(self, id, &mut body, out)
            }
        }
    }

    fn open(
        &mut self,
        id: u32,
        path: &[u8],
        flags: OpenFlags,
        attrs: &Attrs,
        out: &mut Vec<u8>,
    ) -> Result<(), Refusal> {
        let mode = attrs.permissions.unwrap_or(0o666) & !self.config.umask & 0o7777;
        let options = flags.to_options(mode);
        let file = self.fs.open(&self.resolve(path), &options)?;
        // The backend opens read-write, write-only or (otherwise) read-only.
        let handle = Handle::File(FileHandle {
            file,
            readable: options.read || !options.write,
            writable: options.write,
        });
        self.reply_handle(id, handle, out)
    }

    /// Stores a new handle and answers with its wire form; a full table is FAILURE, as when
    /// OpenSSH's sftp-server runs out of handles (the object is closed again on drop).
    fn reply_handle(&mut self, id: u32, handle: Handle, out: &mut Vec<u8>) -> Result<(), Refusal> {
        let wire = self
            .handles
            .insert(handle)
            .map_err(|_| StatusCode::Failure)?;
        reply::handle(out, id, &wire);
        Ok(())
    }

    /// READ: the DATA reply's header is reserved in `out` and the file is read straight into the
    /// space behind it. Reads are capped at the announced maximum and otherwise filled
    /// completely unless the file ends, so clients never mistake a short read for EOF.
    fn read(
        &mut self,
        id: u32,
        handle: &[u8],
        offset: u64,
        len: u32,
        out: &mut Vec<u8>,
    ) -> Result<(), Refusal> {
        let want = len.min(self.limits.max_read_len) as usize;
        let file = self.file(handle)?;
        if !file.readable {
            return Err(StatusCode::PermissionDenied.into());
        }
        let data = Data::begin(out, id, want);
        let start = data.data_at();
        let mut filled = 0;
        while filled < want {
            let position = offset.checked_add(filled as u64);
            let buf = out.get_mut(start + filled..start + want);
            let (Some(position), Some(buf)) = (position, buf) else {
                break;
            };
            match file.file.read_at(buf, position) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(err) if filled == 0 => {
                    data.abandon(out);
                    return Err(err.into());
                }
                // Part of the range was read: send it; the client asks again for the rest and
                // then gets the error.
                Err(_) => break,
            }
        }
        if filled == 0 && want > 0 {
            data.abandon(out);
            return Err(StatusCode::Eof.into());
        }
        data.finish(out, filled);
        Ok(())
    }

    /// READDIR: up to [`READDIR_BATCH`] entries with v3 longnames, never more than fits in a
    /// reply; entries that do not fit wait in the handle for the next READDIR.
    fn read_dir(
        &mut self,
        version: u32,
        id: u32,
        handle: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), Refusal> {
        let budget = self.limits.max_read_len as usize;
        let now = longname::now();
        let longname_buf = &mut self.longname;
        let Some(Handle::Dir(dir)) = self.handles.get_mut(handle) else {
            return Err(StatusCode::InvalidHandle.into());
        };
        if dir.pending.is_empty() {
            dir.dir.read_batch(&mut dir.pending, READDIR_BATCH)?;
            // Hand entries out in listing order by popping from the end.
            dir.pending.reverse();
        }
        if dir.pending.is_empty() {
            return Err(StatusCode::Eof.into());
        }
        let start = out.len();
        let mut names = Names::begin(out, id);
        let mut sent = 0;
        while let Some(entry) = dir.pending.pop() {
            longname::format(longname_buf, &entry.name, &entry.metadata, now);
            // name, longname, and at most 32 bytes of v3 attributes.
            let size = 4 + entry.name.len() + 4 + longname_buf.len() + 32;
            if sent > 0 && out.len() - start + size > budget {
                dir.pending.push(entry);
                break;
            }
            let attrs = Attrs::from_metadata(&entry.metadata);
            names.push(out, version, &entry.name, longname_buf, &attrs);
            sent += 1;
            if sent == READDIR_BATCH {
                break;
            }
        }
        names.finish(out);
        Ok(())
    }
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("config", &self.config)
            .field("limits", &self.limits)
            .field("open_handles", &self.handles.len())
            .finish()
    }
}
