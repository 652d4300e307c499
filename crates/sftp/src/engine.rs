//! Request handling: one version-neutral handler per request, each returning either its reply
//! (already appended) or a [`Refusal`] that becomes a STATUS reply.

use std::cell::OnceCell;
use std::sync::Arc;

use wharf_vfs::{FileType, RenameMode, VPath, Vfs, VfsError, VfsErrorKind};

use crate::ext::{self, Enabled, Offer};
use crate::handles::{DirHandle, FileHandle, Handle, HandleTable};
use crate::longname;
use crate::proto::attrs::Attrs;
use crate::proto::reply::{self, Data, Names, DATA_HEADER_LEN};
use crate::proto::request::{self, OpenFlags, RealPathControl, Request};
use crate::proto::status::StatusCode;
use crate::proto::{MAX_VERSION, MIN_CODEC_VERSION, MIN_VERSION, SSH_FXP_INIT};
use crate::users::Users;
use crate::wire::{DecodeError, Reader};
use crate::{DirectOutcome, DirectReply, SftpConfig, SftpError};

/// Entries per READDIR reply at most, as OpenSSH's sftp-server sends.
const READDIR_BATCH: usize = 100;

/// Why a request gets a STATUS instead of its normal reply.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// The request body did not parse: BAD_MESSAGE.
    Malformed,
    /// The request failed with this status.
    Status(StatusCode),
    /// The request gets this status and then the session ends (a bad `version-select`).
    Fatal(StatusCode, &'static str),
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
    /// The protocol version whose layouts are used (the negotiated one, or 3 for clients at 1
    /// and 2); `None` until SSH_FXP_INIT.
    version: Option<u32>,
    /// Whether no request has arrived since INIT (`version-select` must be the first).
    first_request: bool,
    /// Whether the request being handled is that first one.
    handling_first: bool,
    /// The extensions switched on.
    enabled: Enabled,
    /// The versions announced in `versions` (empty if it was not announced).
    selectable: Vec<u32>,
    /// Owner and group names, loaded on first use by a v4+ session.
    users: OnceCell<Users>,
    fs: Arc<dyn Vfs>,
    config: SftpConfig,
    limits: Limits,
    handles: HandleTable,
    /// Reused buffer for READDIR longnames.
    longname: Vec<u8>,
    /// The request just handled got no reply: it waits for room (a direct reply said Later).
    paused: bool,
}

impl Engine {
    pub(crate) fn new(fs: Arc<dyn Vfs>, config: SftpConfig) -> Self {
        Self {
            version: None,
            first_request: false,
            handling_first: false,
            enabled: Enabled::new(&config.disabled_extensions),
            selectable: Vec::new(),
            users: OnceCell::new(),
            limits: Limits::new(&config),
            fs,
            config,
            handles: HandleTable::default(),
            longname: Vec::new(),
            paused: false,
        }
    }

    /// Whether the last request was left unanswered to wait for room to reply (see
    /// [`DirectOutcome::Later`]); clears the flag.
    pub(crate) fn take_paused(&mut self) -> bool {
        std::mem::replace(&mut self.paused, false)
    }

    /// Handles one whole packet (without its length field). Protocol violations that leave no
    /// way to answer are errors; everything else gets exactly one reply.
    pub(crate) fn handle_packet(
        &mut self,
        packet: &[u8],
        out: &mut Vec<u8>,
        direct: Option<&mut dyn DirectReply>,
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
        self.handling_first = std::mem::replace(&mut self.first_request, false);
        self.dispatch(version, packet_type, id, r, out, direct)
    }

    /// SSH_FXP_INIT: `uint32 version`, then (v3) extension pairs, which name nothing this server
    /// acts on and are ignored, as OpenSSH does. A repeated INIT is answered again rather than
    /// treated as an attack (some clients send one; spec digest P10).
    ///
    /// The answer is min(client, configured max), never above what the client asked
    /// (proftpd#1200); clients at 1 and 2 are then served with v3's layouts.
    fn init(&mut self, r: &mut Reader<'_>, out: &mut Vec<u8>) -> Result<(), SftpError> {
        let client = r.u32("version").map_err(SftpError::MalformedInit)?;
        let (min, max) = self.version_range();
        let version = client.min(max);
        if client < min || version < min {
            return Err(SftpError::UnsupportedVersion { client, min });
        }
        self.version = Some(version.max(MIN_CODEC_VERSION));
        self.first_request = true;
        // `version-select` can pick any configured version the codec has a layout of.
        self.selectable = if version >= 3 {
            (min.max(MIN_CODEC_VERSION)..=max).collect()
        } else {
            Vec::new()
        };
        let offer = Offer {
            version,
            selectable: self.selectable.clone(),
            max_read_len: self.limits.max_read_len,
            enabled: self.enabled,
        };
        reply::version(out, version, &ext::announcements(&offer));
        if version != 3 || self.selectable.len() < 2 {
            // `versions` was not announced, so no selection is allowed.
            self.selectable.clear();
        }
        Ok(())
    }

    /// The configured versions, clamped to what this engine has.
    fn version_range(&self) -> (u32, u32) {
        let max = self.config.max_version.clamp(MIN_VERSION, MAX_VERSION);
        let min = self.config.min_version.clamp(MIN_VERSION, MAX_VERSION);
        (min, max)
    }

    /// `version-select` (-13 §5.5): `string version-from-list`, valid only as the first request
    /// after a VERSION that announced `versions`, and only for a listed version. Success
    /// switches the session's layouts and answers OK; anything else answers a status and ends
    /// the session, as the draft requires.
    pub(crate) fn version_select(
        &mut self,
        id: u32,
        body: &mut Reader<'_>,
        out: &mut Vec<u8>,
    ) -> Result<(), Refusal> {
        if !self.handling_first {
            return Err(Refusal::Fatal(
                StatusCode::Failure,
                "not the first request after SSH_FXP_VERSION",
            ));
        }
        let Ok(text) = body.string("version-from-list") else {
            return Err(Refusal::Fatal(StatusCode::BadMessage, "malformed request"));
        };
        let chosen = std::str::from_utf8(text)
            .ok()
            .and_then(|t| t.parse::<u32>().ok())
            .filter(|v| self.selectable.contains(v));
        let Some(chosen) = chosen else {
            return Err(Refusal::Fatal(
                StatusCode::InvalidParameter,
                "version not offered in `versions`",
            ));
        };
        self.version = Some(chosen);
        self.selectable.clear();
        self.ok(out, id);
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
        direct: Option<&mut dyn DirectReply>,
    ) -> Result<(), SftpError> {
        let result = match request::decode(version, packet_type, &mut body) {
            Ok(Some(request)) => self.handle(version, id, request, out, direct),
            Ok(None) => Err(Refusal::Status(StatusCode::OpUnsupported)),
            // A field that parsed but holds an undefined value (an OPEN disposition, a
            // REALPATH control byte) is INVALID_PARAMETER (FAILURE before v6), as ProFTPD
            // answers; a truncated packet is BAD_MESSAGE.
            Err(DecodeError::Invalid { .. }) => Err(Refusal::Status(StatusCode::InvalidParameter)),
            Err(DecodeError::Truncated { .. }) => Err(Refusal::Malformed),
        };
        match result {
            Ok(()) => {}
            Err(Refusal::Malformed) => reply::status(out, version, id, StatusCode::BadMessage),
            Err(Refusal::Status(code)) => reply::status(out, version, id, code),
            Err(Refusal::Fatal(code, reason)) => {
                reply::status(out, version, id, code);
                return Err(SftpError::InvalidVersionSelect { reason });
            }
        }
        Ok(())
    }

    pub(crate) fn limits(&self) -> Limits {
        self.limits
    }

    pub(crate) fn fs(&self) -> &dyn Vfs {
        &*self.fs
    }

    /// The negotiated version whose layouts replies use (handlers only run after INIT).
    pub(crate) fn version(&self) -> u32 {
        self.version.unwrap_or(MAX_VERSION)
    }

    /// The owner and group names, loaded on first use.
    pub(crate) fn users(&self) -> &Users {
        self.users.get_or_init(Users::load)
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
    pub(crate) fn file(&mut self, handle: &[u8]) -> Result<&mut FileHandle, Refusal> {
        match self.handles.get_mut(handle) {
            Some(Handle::File(file)) => Ok(file),
            _ => Err(StatusCode::InvalidHandle.into()),
        }
    }

    /// As [`Engine::file`], shared: file I/O takes `&self`, so several open files can be used
    /// at once (`copy-data` reads one and writes another).
    pub(crate) fn file_ref(&self, handle: &[u8]) -> Result<&FileHandle, Refusal> {
        match self.handles.get(handle) {
            Some(Handle::File(file)) => Ok(file),
            _ => Err(StatusCode::InvalidHandle.into()),
        }
    }

    /// The attributes to report for `md`: v4+ sessions get owner and group names where the
    /// user database has them (else the encoder sends the numeric ids as strings).
    fn attrs_of(&self, version: u32, md: &wharf_vfs::Metadata) -> Attrs {
        let mut attrs = Attrs::from_metadata(md);
        if version >= 4 {
            name_attrs(self.users.get_or_init(Users::load), &mut attrs);
        }
        attrs
    }

    /// A client's v4+ owner and group names as ids for SETSTAT; an unknown name is
    /// OWNER_INVALID / GROUP_INVALID (UNKNOWN_PRINCIPAL in v5, FAILURE in v4).
    pub(crate) fn resolve_owner(&self, attrs: &mut Attrs) -> Result<(), Refusal> {
        if attrs.owner.is_none() && attrs.group.is_none() {
            return Ok(());
        }
        let users = self.users.get_or_init(Users::load);
        if let Some(owner) = &attrs.owner {
            attrs.uid = Some(users.uid(owner).ok_or(StatusCode::OwnerInvalid)?);
        }
        if let Some(group) = &attrs.group {
            attrs.gid = Some(users.gid(group).ok_or(StatusCode::GroupInvalid)?);
        }
        Ok(())
    }

    /// For v4+, a missing file whose parent directory is missing too is NO_SUCH_PATH
    /// (-04 §7); everything else maps as [`StatusCode::from`] does.
    fn path_error(&self, version: u32, path: &VPath, err: &VfsError) -> Refusal {
        let code = StatusCode::from(err);
        if version >= 4
            && err.kind() == VfsErrorKind::NotFound
            && self.fs.stat(&path.parent()).is_err()
        {
            return StatusCode::NoSuchPath.into();
        }
        code.into()
    }

    fn handle(
        &mut self,
        version: u32,
        id: u32,
        request: Request<'_>,
        out: &mut Vec<u8>,
        direct: Option<&mut dyn DirectReply>,
    ) -> Result<(), Refusal> {
        if self.config.read_only && request.does_write() {
            return Err(StatusCode::PermissionDenied.into());
        }
        // EXTENDED requests are filtered by their own name below.
        if !self.config.requests.is_open()
            && !matches!(request, Request::Extended { .. })
            && !self.config.requests.permits(request.filter_name())
        {
            return Err(StatusCode::PermissionDenied.into());
        }
        match request {
            Request::Open { path, flags, attrs } => {
                self.open(version, id, path, flags, &attrs, out)
            }
            Request::Close { handle } => {
                let handle = self
                    .handles
                    .remove(handle)
                    .ok_or(StatusCode::InvalidHandle)?;
                if let Handle::File(FileHandle {
                    delete_on_close: Some(path),
                    file,
                    ..
                }) = handle
                {
                    // Closed before the removal, so nothing can be written after it.
                    drop(file);
                    self.fs.remove(&path)?;
                }
                self.ok(out, id);
                Ok(())
            }
            Request::Read {
                handle,
                offset,
                len,
            } => self.read(id, handle, offset, len, out, direct),
            Request::Write {
                handle,
                offset,
                data,
            } => {
                let file = self.file(handle)?;
                if !file.writable {
                    return Err(StatusCode::PermissionDenied.into());
                }
                // Text mode ignores the offset (-13 §8.1.1.1): writes follow one another.
                let offset = file.text_pos.unwrap_or(offset);
                file.file.write_all_at(data, offset)?;
                if let Some(pos) = &mut file.text_pos {
                    *pos = pos.saturating_add(data.len() as u64);
                }
                self.ok(out, id);
                Ok(())
            }
            Request::Stat { path, follow } => {
                let path = self.resolve(path);
                let md = if follow {
                    self.fs.stat(&path)
                } else {
                    self.fs.lstat(&path)
                };
                let md = md.map_err(|err| self.path_error(version, &path, &err))?;
                reply::attrs(out, version, id, &self.attrs_of(version, &md));
                Ok(())
            }
            Request::Fstat { handle } => {
                let md = self.file(handle)?.file.stat()?;
                reply::attrs(out, version, id, &self.attrs_of(version, &md));
                Ok(())
            }
            Request::SetStat { path, mut attrs } => {
                let path = self.resolve(path);
                self.resolve_owner(&mut attrs)?;
                self.fs
                    .set_stat(&path, &attrs.to_set_attrs())
                    .map_err(|err| self.path_error(version, &path, &err))?;
                self.ok(out, id);
                Ok(())
            }
            Request::FSetStat { handle, mut attrs } => {
                self.resolve_owner(&mut attrs)?;
                self.file(handle)?.file.set_stat(&attrs.to_set_attrs())?;
                self.ok(out, id);
                Ok(())
            }
            Request::OpenDir { path } => {
                let path = self.resolve(path);
                let dir = self
                    .fs
                    .open_dir(&path)
                    .map_err(|err| self.path_error(version, &path, &err))?;
                let handle = Handle::Dir(DirHandle {
                    dir,
                    pending: Vec::new(),
                });
                self.reply_handle(id, handle, out)
            }
            Request::ReadDir { handle } => self.read_dir(version, id, handle, out),
            Request::Remove { path } => {
                let path = self.resolve(path);
                self.fs
                    .remove(&path)
                    .map_err(|err| self.path_error(version, &path, &err))?;
                self.ok(out, id);
                Ok(())
            }
            Request::Mkdir { path, attrs } => {
                let mode = attrs.permissions.unwrap_or(0o777) & !self.config.umask & 0o7777;
                let path = self.resolve(path);
                self.fs
                    .mkdir(&path, mode)
                    .map_err(|err| self.path_error(version, &path, &err))?;
                self.ok(out, id);
                Ok(())
            }
            Request::Rmdir { path } => {
                self.fs.rmdir(&self.resolve(path))?;
                self.ok(out, id);
                Ok(())
            }
            Request::RealPath {
                path,
                control: None,
                ..
            } => {
                let path = self.fs.realpath(&self.resolve(path))?;
                reply::single_name(out, version, id, path.as_bytes());
                Ok(())
            }
            Request::RealPath {
                path,
                control: Some(control),
                compose,
            } => self.realpath_v6(version, id, path, control, &compose, out),
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
                let from = self.resolve(from);
                self.fs
                    .rename(&from, &self.resolve(to), mode)
                    .map_err(|err| self.path_error(version, &from, &err))?;
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
            Request::Block {
                handle,
                offset,
                len,
                mask,
            } => {
                // uLockMask holds only BLOCK_READ/WRITE/DELETE/ADVISORY (0x40–0x200).
                if mask & !0x3c0 != 0 {
                    return Err(StatusCode::InvalidParameter.into());
                }
                // Advisory ranges kept per handle, so they only ever conflict with this
                // session's own BLOCKs: the mask's access kinds are not enforced against
                // READ/WRITE, which the `supported2` block vector says (advisory only).
                let file = self.file(handle)?;
                let end = range_end(offset, len);
                let overlaps = file
                    .locks
                    .iter()
                    .any(|&(o, l)| offset < range_end(o, l) && o < end);
                if overlaps {
                    return Err(StatusCode::ByteRangeLockRefused.into());
                }
                file.locks.push((offset, len));
                self.ok(out, id);
                Ok(())
            }
            Request::Unblock {
                handle,
                offset,
                len,
            } => {
                let file = self.file(handle)?;
                let at = file
                    .locks
                    .iter()
                    .position(|&range| range == (offset, len))
                    .ok_or(StatusCode::NoMatchingByteRangeLock)?;
                file.locks.swap_remove(at);
                self.ok(out, id);
                Ok(())
            }
            Request::Extended { name, mut body } => {
                let ext =
                    ext::find(name, version, self.enabled).ok_or(StatusCode::OpUnsupported)?;
                if self.config.read_only && ext.does_write
                    || !self.config.requests.permits(ext.request)
                {
                    return Err(StatusCode::PermissionDenied.into());
                }
                (ext.handler)(self, id, &mut body, out)
            }
        }
    }

    fn open(
        &mut self,
        version: u32,
        id: u32,
        path: &[u8],
        flags: OpenFlags,
        attrs: &Attrs,
        out: &mut Vec<u8>,
    ) -> Result<(), Refusal> {
        let mode = attrs.permissions.unwrap_or(0o666) & !self.config.umask & 0o7777;
        let options = flags.to_options(mode);
        let path = self.resolve(path);
        if flags.nofollow {
            // NOFOLLOW: a final symlink is LINK_LOOP (-13 §8.1.1). Checked before the open
            // rather than atomically: the backend has no O_NOFOLLOW option, and a link swapped
            // in between is still resolved inside the jail, so the race costs only the flag's
            // semantics, never confinement.
            if let Ok(md) = self.fs.lstat(&path) {
                if md.file_type == FileType::Symlink {
                    return Err(StatusCode::LinkLoop.into());
                }
            }
        }
        if version >= 6 {
            // v6: opening a directory is FILE_IS_A_DIRECTORY (-13 §8.1.1).
            if let Ok(md) = self.fs.stat(&path) {
                if md.is_dir() {
                    return Err(StatusCode::FileIsADirectory.into());
                }
            }
        }
        let file = self
            .fs
            .open(&path, &options)
            .map_err(|err| self.path_error(version, &path, &err))?;
        // The backend opens read-write, write-only or (otherwise) read-only.
        let handle = Handle::File(FileHandle {
            file,
            readable: options.read || !options.write,
            writable: options.write,
            delete_on_close: flags.delete_on_close.then_some(path),
            locks: Vec::new(),
            // Text mode reads from the start; an appending handle's writes still go to the end
            // (O_APPEND), whatever the cursor says.
            text_pos: flags.text.then_some(0),
        });
        self.reply_handle(id, handle, out)
    }

    /// v6 REALPATH (-13 §8.9): the original path with each compose-path applied in turn (an
    /// absolute one replaces the result so far), then checked as `control` asks. NO_CHECK is
    /// purely lexical and never fails; STAT_IF and STAT_ALWAYS canonicalise through the
    /// backend's `realpath` (LocalFs's is lexical too, by design) and report the attributes
    /// that `stat` (following symlinks) gives.
    fn realpath_v6(
        &mut self,
        version: u32,
        id: u32,
        path: &[u8],
        control: RealPathControl,
        compose: &[&[u8]],
        out: &mut Vec<u8>,
    ) -> Result<(), Refusal> {
        let mut result = self.resolve(path);
        for part in compose {
            result = VPath::resolve(&result, part);
        }
        let (name, attrs) = match control {
            RealPathControl::NoCheck => (result, Attrs::default()),
            RealPathControl::StatIf => {
                match self.fs.realpath(&result).and_then(|p| {
                    let md = self.fs.stat(&p)?;
                    Ok((p, md))
                }) {
                    Ok((p, md)) => (p, self.attrs_of(version, &md)),
                    // Type UNKNOWN: the encoder sends it for attributes without a type.
                    Err(_) => (result, Attrs::default()),
                }
            }
            RealPathControl::StatAlways => {
                let canonical = self
                    .fs
                    .realpath(&result)
                    .map_err(|err| self.path_error(version, &result, &err))?;
                let md = self.fs.stat(&canonical)?;
                let attrs = self.attrs_of(version, &md);
                (canonical, attrs)
            }
        };
        let mut names = Names::begin(out, id);
        names.push(out, version, name.as_bytes(), name.as_bytes(), &attrs);
        names.finish(out);
        Ok(())
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

    /// READ: the reply goes straight into the SSH packets through `direct` when it can (see
    /// [`read_into_reply`]); otherwise the DATA reply's header is reserved in `out` and the file is read straight into the
    /// space behind it. Reads are capped at the announced maximum and otherwise filled
    /// completely unless the file ends, so clients never mistake a short read for EOF.
    fn read(
        &mut self,
        id: u32,
        handle: &[u8],
        offset: u64,
        len: u32,
        out: &mut Vec<u8>,
        direct: Option<&mut dyn DirectReply>,
    ) -> Result<(), Refusal> {
        let want = len.min(self.limits.max_read_len) as usize;
        let version = self.version();
        let file = self.file(handle)?;
        if !file.readable {
            return Err(StatusCode::PermissionDenied.into());
        }
        // Text mode ignores the offset (-13 §8.1.1.1): reads follow one another. The server's
        // newline is the announced one, so the bytes need no conversion.
        let offset = file.text_pos.unwrap_or(offset);
        // Straight into the SSH packets when nothing waits in `out` ahead of this reply. v6 ends
        // a DATA reply with a flag after the data and confirms short reads, so it takes the
        // buffered way below.
        if let Some(direct) = direct.filter(|_| out.is_empty() && version < 6 && want > 0) {
            let mut outcome = Ok(0);
            let source = &*file.file;
            let sent = direct.send_with(DATA_HEADER_LEN + want, &mut |areas| {
                outcome = read_into_reply(source, areas, offset, id);
                match outcome {
                    Ok(filled) if filled > 0 => DATA_HEADER_LEN + filled,
                    _ => 0,
                }
            });
            if sent == DirectOutcome::Later {
                self.paused = true;
                return Ok(());
            }
            if let DirectOutcome::Sent(_) = sent {
                let filled = match outcome {
                    Ok(0) => return Err(StatusCode::Eof.into()),
                    Ok(filled) => filled,
                    Err(err) => return Err(err.into()),
                };
                if let Some(pos) = &mut file.text_pos {
                    *pos = pos.saturating_add(filled as u64);
                }
                return Ok(());
            }
        }
        let data = Data::begin(out, id, want);
        let start = data.data_at();
        let mut filled = 0;
        let mut at_eof = false;
        while filled < want {
            let position = offset.checked_add(filled as u64);
            let buf = out.get_mut(start + filled..start + want);
            let (Some(position), Some(buf)) = (position, buf) else {
                break;
            };
            let asked = buf.len();
            match file.file.read_at(buf, position) {
                Ok(0) => {
                    at_eof = true;
                    break;
                }
                // A regular file reads short only at its end (or on a signal): stop without
                // the extra read that would confirm it; at worst the client asks again. v6
                // confirms, since its end-of-file flag must be true only at the end.
                Ok(n) if n < asked && version < 6 => {
                    filled += n;
                    break;
                }
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
        if let Some(pos) = &mut file.text_pos {
            *pos = pos.saturating_add(filled as u64);
        }
        // v6 tells the client when the data reaches the end of the file (-13 §9.3), sparing
        // it the READ that would only get EOF. Only a read that met the end says so: learning
        // it otherwise would cost an fstat per READ.
        data.finish(out, filled, (version >= 6).then_some(at_eof));
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
        let users = (version >= 4).then(|| self.users.get_or_init(Users::load));
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
            let mut attrs = Attrs::from_metadata(&entry.metadata);
            let size = if let Some(users) = users {
                // v4+ has no longname (-04 §7). Name, and at most 81 bytes of v6 attributes
                // besides the owner and group strings (decimal ids are at most 10 bytes).
                name_attrs(users, &mut attrs);
                let names = [&attrs.owner, &attrs.group]
                    .iter()
                    .map(|n| n.as_ref().map_or(10, Vec::len))
                    .sum::<usize>();
                longname_buf.clear();
                4 + entry.name.len() + 81 + 8 + names
            } else {
                longname::format(longname_buf, &entry.name, &entry.metadata, now);
                // name, longname, and at most 32 bytes of v3 attributes.
                4 + entry.name.len() + 4 + longname_buf.len() + 32
            };
            if sent > 0 && out.len() - start + size > budget {
                dir.pending.push(entry);
                break;
            }
            names.push(out, version, &entry.name, longname_buf, &attrs);
            sent += 1;
            if sent == READDIR_BATCH {
                break;
            }
        }
        // v6 says when the listing is done (-13 §9.4), sparing the READDIR that would only get
        // EOF. Knowing it takes looking ahead: the next batch is read now instead of on the
        // next READDIR, so no extra work is done.
        let end_of_list = if version >= 6 {
            if dir.pending.is_empty() {
                // A failure here must not spoil the reply already built: "not known to be the
                // end", and the next READDIR meets the error.
                if dir.dir.read_batch(&mut dir.pending, READDIR_BATCH).is_err() {
                    dir.pending.clear();
                    names.finish_list(out, Some(false));
                    return Ok(());
                }
                dir.pending.reverse();
            }
            Some(dir.pending.is_empty())
        } else {
            None
        };
        names.finish_list(out, end_of_list);
        Ok(())
    }
}

/// Fills owner and group names for the ids `users` knows.
fn name_attrs(users: &Users, attrs: &mut Attrs) {
    attrs.owner = attrs
        .uid
        .and_then(|uid| users.user_name(uid))
        .map(<[u8]>::to_vec);
    attrs.group = attrs
        .gid
        .and_then(|gid| users.group_name(gid))
        .map(<[u8]>::to_vec);
}

/// The end of a BLOCK range; length 0 means "to the end of the file", whatever it becomes,
/// so it is treated as reaching the end of the offset space.
fn range_end(offset: u64, len: u64) -> u64 {
    if len == 0 {
        u64::MAX
    } else {
        offset.saturating_add(len)
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

/// Fills a DATA reply laid out in `areas` (v3–v5): the header in the first bytes, then one read
/// of the file at `offset` into the rest, which may span several areas. Returns the data bytes
/// read, 0 at end of file. As in the buffered path, a short read is sent as it is.
fn read_into_reply(
    file: &dyn wharf_vfs::VfsFile,
    areas: &mut [std::io::IoSliceMut<'_>],
    offset: u64,
    id: u32,
) -> Result<usize, VfsError> {
    let Some((first, others)) = areas.split_first_mut() else {
        return Ok(0);
    };
    let Some((header, first_data)) = first.split_at_mut_checked(DATA_HEADER_LEN) else {
        return Ok(0);
    };
    let mut data: Vec<std::io::IoSliceMut<'_>> = Vec::with_capacity(1 + others.len());
    data.push(std::io::IoSliceMut::new(first_data));
    data.extend(others.iter_mut().map(|a| std::io::IoSliceMut::new(a)));
    let filled = file.read_vectored_at(&mut data, offset)?;
    header.copy_from_slice(&reply::data_header(
        id,
        u32::try_from(filled).unwrap_or(u32::MAX),
    ));
    Ok(filled)
}
