//! OpenSSH's extensions (openssh-portable `PROTOCOL` §4.3–4.8).

use wharf_vfs::{FsStats, RenameMode, VPath};

use crate::engine::{Engine, Refusal};
use crate::handles::MAX_HANDLES;
use crate::proto::attrs::Attrs;
use crate::proto::reply;
use crate::proto::status::StatusCode;
use crate::wire::{put_string, put_u64, Reader};

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

/// `expand-path@openssh.com`: `string path` → NAME with one entry, like REALPATH but with a
/// leading `~` or `~/` meaning the user's home (the Vfs home). `~user` forms name another
/// user's home, which this session cannot reach: NO_SUCH_FILE.
pub(super) fn expand_path(
    engine: &mut Engine,
    id: u32,
    r: &mut Reader<'_>,
    out: &mut Vec<u8>,
) -> Result<(), Refusal> {
    let raw = r.string("path")?;
    let path = match raw.strip_prefix(b"~") {
        None => engine.resolve(raw),
        Some([]) => engine.fs().home().clone(),
        Some(rest) => match rest.strip_prefix(b"/") {
            Some(rest) => VPath::resolve(engine.fs().home(), rest),
            None => return Err(StatusCode::NoSuchFile.into()),
        },
    };
    let path = engine.fs().realpath(&path)?;
    reply::single_name(out, engine.version(), id, path.as_bytes());
    Ok(())
}

/// `home-directory`: `string username` → NAME with one entry. An empty name or the session's
/// own user name gets the Vfs home; any other user gets FAILURE, which is what OpenSSH answers
/// for an unknown user, so the reply does not reveal which accounts exist.
pub(super) fn home_directory(
    engine: &mut Engine,
    id: u32,
    r: &mut Reader<'_>,
    out: &mut Vec<u8>,
) -> Result<(), Refusal> {
    let user = r.string("username")?;
    if !user.is_empty() && own_user_name(engine) != Some(user) {
        return Err(StatusCode::Failure.into());
    }
    let home = engine.fs().home().clone();
    reply::single_name(out, engine.version(), id, home.as_bytes());
    Ok(())
}

/// The name of the user this server process runs as: `/proc/self` is owned by the process's
/// uid, which avoids an `unsafe` getuid call.
fn own_user_name(engine: &Engine) -> Option<&[u8]> {
    use std::os::unix::fs::MetadataExt;
    let uid = std::fs::metadata("/proc/self").ok()?.uid();
    engine.users().user_name(uid)
}

/// `users-groups-by-id@openssh.com`: `string uids, string gids`, each a packed list of
/// uint32 → EXTENDED_REPLY `string usernames, string groupnames`, each a packed list of
/// strings in request order, an empty string for an unknown id (PROTOCOL §4.12).
pub(super) fn users_groups_by_id(
    engine: &mut Engine,
    id: u32,
    r: &mut Reader<'_>,
    out: &mut Vec<u8>,
) -> Result<(), Refusal> {
    let uids = r.string("uids")?;
    let gids = r.string("gids")?;
    // A list must be whole uint32s; a ragged one is a malformed request.
    if uids.len() % 4 != 0 || gids.len() % 4 != 0 {
        return Err(Refusal::Malformed);
    }
    let users = engine.users();
    let user_list = packed_names(uids, |uid| users.user_name(uid));
    let group_list = packed_names(gids, |gid| users.group_name(gid));
    let packet = reply::extended(out, id);
    put_string(out, &user_list);
    put_string(out, &group_list);
    packet.finish(out);
    Ok(())
}

/// The names of the packed uint32 `ids`, each as a string (empty when unknown).
fn packed_names<'a>(ids: &[u8], lookup: impl Fn(u32) -> Option<&'a [u8]>) -> Vec<u8> {
    let mut list = Vec::new();
    let mut ids = Reader::new(ids);
    while let Ok(id) = ids.u32("id") {
        put_string(&mut list, lookup(id).unwrap_or_default());
    }
    list
}

/// `lsetstat@openssh.com`: `string path, ATTRS attrs`; SETSTAT without following a final
/// symlink. As in OpenSSH, a size is refused and so are permissions on a symlink (Linux has
/// none: OP_UNSUPPORTED); times and owner apply to the link itself.
pub(super) fn lsetstat(
    engine: &mut Engine,
    id: u32,
    r: &mut Reader<'_>,
    out: &mut Vec<u8>,
) -> Result<(), Refusal> {
    let path = engine.resolve(r.string("path")?);
    let mut attrs = Attrs::decode(r, engine.version())?;
    if attrs.size.is_some() {
        return Err(StatusCode::InvalidParameter.into());
    }
    engine.resolve_owner(&mut attrs)?;
    engine.fs().lset_stat(&path, &attrs.to_set_attrs())?;
    engine.ok(out, id);
    Ok(())
}
