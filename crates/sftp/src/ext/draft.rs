//! Extensions from draft-ietf-secsh-filexfer-extensions-00.

use wharf_vfs::{FileType, OpenOptions, VfsFile};

use crate::engine::{Engine, Refusal};
use crate::proto::reply;
use crate::proto::status::StatusCode;
use crate::wire::{put_u32, put_u64, Reader};

/// Bytes moved per read/write round of a copy.
const COPY_CHUNK: usize = 64 * 1024;

/// Copies `len` bytes (`None`: to the end of the source) from `from` at `from_offset` to `to`
/// at `to_offset`, in bounded chunks, stopping early where the source ends (not an error, as
/// in OpenSSH). Returns the bytes copied. Both `copy-data` and `copy-file` use it.
fn copy_range(
    from: &dyn VfsFile,
    from_offset: u64,
    to: &dyn VfsFile,
    to_offset: u64,
    len: Option<u64>,
) -> Result<u64, Refusal> {
    let mut buf = vec![0u8; COPY_CHUNK];
    let mut done: u64 = 0;
    loop {
        let want = match len {
            None => COPY_CHUNK,
            Some(len) if len == done => break,
            Some(len) => usize::try_from(len - done).map_or(COPY_CHUNK, |l| l.min(COPY_CHUNK)),
        };
        let (Some(read_at), Some(write_at)) =
            (from_offset.checked_add(done), to_offset.checked_add(done))
        else {
            return Err(StatusCode::Failure.into());
        };
        let chunk = buf.get_mut(..want).ok_or(StatusCode::Failure)?;
        let n = from.read_at(chunk, read_at)?;
        if n == 0 {
            break;
        }
        to.write_all_at(chunk.get(..n).ok_or(StatusCode::Failure)?, write_at)?;
        done += n as u64;
    }
    Ok(done)
}

/// `copy-data` (extensions-00 §7): `string read-from-handle, uint64 read-from-offset, uint64
/// read-length (0 = to EOF), string write-to-handle, uint64 write-to-offset`. Copies until the
/// length is done or the source ends (reaching EOF early is not an error, as in OpenSSH). The
/// same handle on both sides is INVALID_PARAMETER, as extensions-00 and OpenSSH say.
///
/// The copy runs inside the request, so a long copy holds up the session's other requests,
/// as in OpenSSH's sftp-server.
pub(super) fn copy_data(
    engine: &mut Engine,
    id: u32,
    r: &mut Reader<'_>,
    out: &mut Vec<u8>,
) -> Result<(), Refusal> {
    let read_handle = r.string("read-from-handle")?;
    let read_offset = r.u64("read-from-offset")?;
    let read_len = r.u64("read-length")?;
    let write_handle = r.string("write-to-handle")?;
    let write_offset = r.u64("write-to-offset")?;

    let from = engine.file_ref(read_handle)?;
    if !from.readable {
        return Err(StatusCode::PermissionDenied.into());
    }
    let to = engine.file_ref(write_handle)?;
    if !to.writable {
        return Err(StatusCode::PermissionDenied.into());
    }
    if read_handle == write_handle {
        return Err(StatusCode::InvalidParameter.into());
    }
    let len = (read_len != 0).then_some(read_len);
    copy_range(&*from.file, read_offset, &*to.file, write_offset, len)?;
    engine.ok(out, id);
    Ok(())
}

/// `copy-file` (extensions-00 §6): `string source, string destination, bool
/// overwrite-destination` → STATUS. The source is opened following symlinks, like a client's
/// READs; an existing target without the overwrite flag is FILE_ALREADY_EXISTS (FAILURE
/// before v6). The copy gets the source's permission bits (less the process umask) and runs
/// inside the request, like `copy-data`.
pub(super) fn copy_file(
    engine: &mut Engine,
    id: u32,
    r: &mut Reader<'_>,
    out: &mut Vec<u8>,
) -> Result<(), Refusal> {
    let source = engine.resolve(r.string("source")?);
    let dest = engine.resolve(r.string("destination")?);
    let overwrite = r.u8("overwrite-destination")? != 0;
    let fs = engine.fs();
    let from = fs.open(
        &source,
        &OpenOptions {
            read: true,
            ..OpenOptions::default()
        },
    )?;
    let md = from.stat()?;
    if md.file_type != FileType::Regular {
        return Err(StatusCode::Failure.into());
    }
    // Overwriting the source itself (the same path, or a link to it) would truncate it before
    // it is read.
    if let Ok(existing) = fs.stat(&dest) {
        if existing.dev == md.dev && existing.ino == md.ino {
            return Err(StatusCode::InvalidParameter.into());
        }
    }
    let to = fs.open(
        &dest,
        &OpenOptions {
            write: true,
            create: true,
            exclusive: !overwrite,
            truncate: overwrite,
            mode: md.permissions & 0o777,
            ..OpenOptions::default()
        },
    )?;
    copy_range(&*from, 0, &*to, 0, None)?;
    engine.ok(out, id);
    Ok(())
}

/// `space-available` (filexfer-09 §9.3): `string path` → EXTENDED_REPLY `uint64
/// bytes-on-device, uint64 unused-bytes-on-device, uint64 bytes-available-to-user, uint64
/// unused-bytes-available-to-user, uint32 bytes-per-allocation-unit`, from statvfs. The
/// user's share leaves out the blocks reserved for root (`f_bfree - f_bavail`); quotas are
/// not consulted.
pub(super) fn space_available(
    engine: &mut Engine,
    id: u32,
    r: &mut Reader<'_>,
    out: &mut Vec<u8>,
) -> Result<(), Refusal> {
    let path = engine.resolve(r.string("path")?);
    let st = engine.fs().statvfs(&path)?;
    // statvfs counts in f_frsize units; some filesystems leave it 0 and mean f_bsize.
    let unit = if st.fragment_size != 0 {
        st.fragment_size
    } else {
        st.block_size
    };
    let reserved = st.blocks_free.saturating_sub(st.blocks_available);
    let packet = reply::extended(out, id);
    put_u64(out, st.blocks.saturating_mul(unit));
    put_u64(out, st.blocks_free.saturating_mul(unit));
    put_u64(out, st.blocks.saturating_sub(reserved).saturating_mul(unit));
    put_u64(out, st.blocks_available.saturating_mul(unit));
    // 0 means unknown, which is also the answer for a unit beyond uint32.
    put_u32(out, u32::try_from(unit).unwrap_or(0));
    packet.finish(out);
    Ok(())
}
