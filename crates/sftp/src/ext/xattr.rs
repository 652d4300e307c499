//! ProFTPD's `xattr@proftpd.org` extension (spec digest §9.3): extended attributes by path or
//! by handle, through the Vfs, whose local backend reaches only the `user.` namespace.
//!
//! - `getxattr@proftpd.org`: `string path, string name, uint32 max-size` → EXTENDED_REPLY
//!   `string value`; `fgetxattr@proftpd.org` takes a handle instead of the path.
//! - `listxattr@proftpd.org`: `string path` → EXTENDED_REPLY `uint32 count, string name...`;
//!   `flistxattr@proftpd.org` with a handle.
//! - `setxattr@proftpd.org`: `string path, string name, string value, uint32 flags` (CREATE
//!   0x1, REPLACE 0x2) → STATUS; `fsetxattr@proftpd.org` with a handle.
//! - `removexattr@proftpd.org`: `string path, string name` → STATUS; `fremovexattr@...`.
//!
//! A missing attribute is NO_SUCH_FILE (ENODATA, as ProFTPD maps it); a value longer than a
//! non-zero `max-size` is INVALID_PARAMETER (getxattr(2)'s ERANGE); a backend without
//! extended attributes answers OP_UNSUPPORTED.

use wharf_vfs::XattrMode;

use crate::engine::{Engine, Refusal};
use crate::proto::reply;
use crate::proto::status::StatusCode;
use crate::wire::{put_string, put_u32, Reader};

const XATTR_CREATE: u32 = 0x1;
const XATTR_REPLACE: u32 = 0x2;

/// The flags word as a mode; both bits, or unknown ones, are INVALID_PARAMETER.
fn mode(flags: u32) -> Result<XattrMode, Refusal> {
    match flags {
        0 => Ok(XattrMode::Any),
        XATTR_CREATE => Ok(XattrMode::Create),
        XATTR_REPLACE => Ok(XattrMode::Replace),
        _ => Err(StatusCode::InvalidParameter.into()),
    }
}

fn reply_value(value: &[u8], max_size: u32, id: u32, out: &mut Vec<u8>) -> Result<(), Refusal> {
    if max_size != 0 && value.len() > max_size as usize {
        return Err(StatusCode::InvalidParameter.into());
    }
    let packet = reply::extended(out, id);
    put_string(out, value);
    packet.finish(out);
    Ok(())
}

fn reply_names(names: &[Vec<u8>], id: u32, out: &mut Vec<u8>) {
    let packet = reply::extended(out, id);
    // At most 64 KiB of names, so the count fits.
    put_u32(out, u32::try_from(names.len()).unwrap_or(u32::MAX));
    for name in names {
        put_string(out, name);
    }
    packet.finish(out);
}

pub(super) fn get(
    engine: &mut Engine,
    id: u32,
    r: &mut Reader<'_>,
    out: &mut Vec<u8>,
) -> Result<(), Refusal> {
    let path = engine.resolve(r.string("path")?);
    let name = r.string("name")?;
    let max_size = r.u32("max-size")?;
    let value = engine.fs().get_xattr(&path, name)?;
    reply_value(&value, max_size, id, out)
}

pub(super) fn fget(
    engine: &mut Engine,
    id: u32,
    r: &mut Reader<'_>,
    out: &mut Vec<u8>,
) -> Result<(), Refusal> {
    let handle = r.string("handle")?;
    let name = r.string("name")?;
    let max_size = r.u32("max-size")?;
    let value = engine.file_ref(handle)?.file.get_xattr(name)?;
    reply_value(&value, max_size, id, out)
}

pub(super) fn list(
    engine: &mut Engine,
    id: u32,
    r: &mut Reader<'_>,
    out: &mut Vec<u8>,
) -> Result<(), Refusal> {
    let path = engine.resolve(r.string("path")?);
    let names = engine.fs().list_xattr(&path)?;
    reply_names(&names, id, out);
    Ok(())
}

pub(super) fn flist(
    engine: &mut Engine,
    id: u32,
    r: &mut Reader<'_>,
    out: &mut Vec<u8>,
) -> Result<(), Refusal> {
    let handle = r.string("handle")?;
    let names = engine.file_ref(handle)?.file.list_xattr()?;
    reply_names(&names, id, out);
    Ok(())
}

pub(super) fn set(
    engine: &mut Engine,
    id: u32,
    r: &mut Reader<'_>,
    out: &mut Vec<u8>,
) -> Result<(), Refusal> {
    let path = engine.resolve(r.string("path")?);
    let name = r.string("name")?;
    let value = r.string("value")?;
    let mode = mode(r.u32("flags")?)?;
    engine.fs().set_xattr(&path, name, value, mode)?;
    engine.ok(out, id);
    Ok(())
}

/// Setting an attribute changes the file, so it needs a handle opened for writing, as
/// FSETSTAT's changes effectively do on other servers; this keeps a read-only handle
/// read-only.
pub(super) fn fset(
    engine: &mut Engine,
    id: u32,
    r: &mut Reader<'_>,
    out: &mut Vec<u8>,
) -> Result<(), Refusal> {
    let handle = r.string("handle")?;
    let name = r.string("name")?;
    let value = r.string("value")?;
    let mode = mode(r.u32("flags")?)?;
    let file = engine.file_ref(handle)?;
    if !file.writable {
        return Err(StatusCode::PermissionDenied.into());
    }
    file.file.set_xattr(name, value, mode)?;
    engine.ok(out, id);
    Ok(())
}

pub(super) fn remove(
    engine: &mut Engine,
    id: u32,
    r: &mut Reader<'_>,
    out: &mut Vec<u8>,
) -> Result<(), Refusal> {
    let path = engine.resolve(r.string("path")?);
    let name = r.string("name")?;
    engine.fs().remove_xattr(&path, name)?;
    engine.ok(out, id);
    Ok(())
}

/// As [`fset`], a handle opened for writing is needed.
pub(super) fn fremove(
    engine: &mut Engine,
    id: u32,
    r: &mut Reader<'_>,
    out: &mut Vec<u8>,
) -> Result<(), Refusal> {
    let handle = r.string("handle")?;
    let name = r.string("name")?;
    let file = engine.file_ref(handle)?;
    if !file.writable {
        return Err(StatusCode::PermissionDenied.into());
    }
    file.file.remove_xattr(name)?;
    engine.ok(out, id);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_map_to_modes() {
        assert_eq!(mode(0).unwrap(), XattrMode::Any);
        assert_eq!(mode(XATTR_CREATE).unwrap(), XattrMode::Create);
        assert_eq!(mode(XATTR_REPLACE).unwrap(), XattrMode::Replace);
        assert!(mode(3).is_err());
        assert!(mode(4).is_err());
    }
}
