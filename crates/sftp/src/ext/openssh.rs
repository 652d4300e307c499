//! OpenSSH's extensions (openssh-portable `PROTOCOL` §4.3–4.8).

use wharf_vfs::{FsStats, RenameMode};

use crate::engine::{Engine, Refusal};
use crate::handles::MAX_HANDLES;
use crate::proto::reply;
use crate::wire::{put_u64, Reader};

/// `posix-rename@openssh.com`: `string oldpath, string newpath`; POSIX rename, which replaces
/// an existing target atomically.
pub(super) fn posix_rename(
    engine: &mut Engine,
    id: u32,
    r: &mut Reader<'_>,
    out: &mut Vec<u8>,
) -> Result<(), Refusal> {
    let from = engine.resolve(r.string("oldpath")?);
    let to = engine.resolve(r.string("newpath")?);
    engine.fs().rename(&from, &to, RenameMode::Overwrite)?;
    engine.ok(out, id);
    Ok(())
}

/// `statvfs@openssh.com`: `string path` → EXTENDED_REPLY with 11 × uint64.
pub(super) fn statvfs(
    engine: &mut Engine,
    id: u32,
    r: &mut Reader<'_>,
    out: &mut Vec<u8>,
) -> Result<(), Refusal> {
    let path = engine.resolve(r.string("path")?);
    let stats = engine.fs().statvfs(&path)?;
    put_statvfs(engine, id, &stats, out);
    Ok(())
}

/// `fstatvfs@openssh.com`: `string handle` → as `statvfs@openssh.com`.
pub(super) fn fstatvfs(
    engine: &mut Engine,
    id: u32,
    r: &mut Reader<'_>,
    out: &mut Vec<u8>,
) -> Result<(), Refusal> {
    let handle = r.string("handle")?;
    let stats = engine.file(handle)?.file.statvfs()?;
    put_statvfs(engine, id, &stats, out);
    Ok(())
}

/// `hardlink@openssh.com`: `string oldpath (existing), string newpath (the new link)`.
pub(super) fn hardlink(
    engine: &mut Engine,
    id: u32,
    r: &mut Reader<'_>,
    out: &mut Vec<u8>,
) -> Result<(), Refusal> {
    let existing = engine.resolve(r.string("oldpath")?);
    let new = engine.resolve(r.string("newpath")?);
    engine.fs().hard_link(&existing, &new)?;
    engine.ok(out, id);
    Ok(())
}

/// `fsync@openssh.com`: `string handle`.
pub(super) fn fsync(
    engine: &mut Engine,
    id: u32,
    r: &mut Reader<'_>,
    out: &mut Vec<u8>,
) -> Result<(), Refusal> {
    let handle = r.string("handle")?;
    engine.file(handle)?.file.sync()?;
    engine.ok(out, id);
    Ok(())
}

/// `limits@openssh.com`: no arguments → EXTENDED_REPLY `uint64 max-packet-length,
/// max-read-length, max-write-length, max-open-handles`.
pub(super) fn limits(
    engine: &mut Engine,
    id: u32,
    _: &mut Reader<'_>,
    out: &mut Vec<u8>,
) -> Result<(), Refusal> {
    let limits = engine.limits();
    let packet = reply::extended(out, id);
    put_u64(out, u64::from(limits.max_packet_len));
    put_u64(out, u64::from(limits.max_read_len));
    put_u64(out, u64::from(limits.max_write_len));
    put_u64(out, MAX_HANDLES as u64);
    packet.finish(out);
    Ok(())
}

/// statvfs's `f_flag` bits in OpenSSH's portable encoding.
const SSH_FXE_STATVFS_ST_RDONLY: u64 = 0x1;
const SSH_FXE_STATVFS_ST_NOSUID: u64 = 0x2;

fn put_statvfs(engine: &Engine, id: u32, st: &FsStats, out: &mut Vec<u8>) {
    let mut flags = 0;
    // A read-only session reports the filesystem read-only, which is what the user can do.
    if st.read_only || engine.read_only() {
        flags |= SSH_FXE_STATVFS_ST_RDONLY;
    }
    if st.no_suid {
        flags |= SSH_FXE_STATVFS_ST_NOSUID;
    }
    let packet = reply::extended(out, id);
    for v in [
        st.block_size,
        st.fragment_size,
        st.blocks,
        st.blocks_free,
        st.blocks_available,
        st.files,
        st.files_free,
        st.files_available,
        st.fsid,
        flags,
        st.name_max,
    ] {
        put_u64(out, v);
    }
    packet.finish(out);
}
