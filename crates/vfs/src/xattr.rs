//! Extended attributes on descriptors the local backend opened inside the jail.
//!
//! Only the `user.` namespace is reachable. The others are either meaningless to a remote user
//! or dangerous when the server runs as root: `security.capability` on an executable grants
//! privileges to whoever runs it, `trusted.*` and `system.posix_acl_*` change who may do what.
//! A name outside `user.` is therefore refused with `EPERM`, which is also what the kernel
//! answers an unprivileged process for most of them, and lists show only `user.` names.

use rustix::fd::AsFd;
use rustix::fs::{self, XattrFlags};
use rustix::io::Errno;

use crate::{VfsError, XattrMode, XATTR_MAX};

const NAMESPACE: &[u8] = b"user.";

/// Linux's `XATTR_NAME_MAX`.
const NAME_MAX: usize = 255;

/// `name` if it is a usable `user.` attribute name.
fn user_name<'n>(op: &'static str, name: &'n [u8]) -> Result<&'n [u8], VfsError> {
    if name.contains(&0) || name.len() > NAME_MAX {
        return Err(VfsError::os(op, Errno::INVAL));
    }
    if !name.starts_with(NAMESPACE) || name.len() == NAMESPACE.len() {
        return Err(VfsError::os(op, Errno::PERM));
    }
    Ok(name)
}

pub(crate) fn get(fd: impl AsFd, name: &[u8]) -> Result<Vec<u8>, VfsError> {
    const OP: &str = "getxattr";
    let name = user_name(OP, name)?;
    // One bounded buffer rather than a size query and a second call, which could race with a
    // concurrent change of the value.
    let mut buf = vec![0u8; XATTR_MAX];
    let n = fs::fgetxattr(fd, name, buf.as_mut_slice()).map_err(|e| VfsError::os(OP, e))?;
    buf.truncate(n);
    Ok(buf)
}

pub(crate) fn list(fd: impl AsFd) -> Result<Vec<Vec<u8>>, VfsError> {
    let mut buf = vec![0u8; XATTR_MAX];
    let n = fs::flistxattr(fd, buf.as_mut_slice()).map_err(|e| VfsError::os("listxattr", e))?;
    buf.truncate(n);
    // NUL-terminated names, one after another.
    Ok(buf
        .split(|&b| b == 0)
        .filter(|name| name.starts_with(NAMESPACE) && name.len() > NAMESPACE.len())
        .map(<[u8]>::to_vec)
        .collect())
}

pub(crate) fn set(
    fd: impl AsFd,
    name: &[u8],
    value: &[u8],
    mode: XattrMode,
) -> Result<(), VfsError> {
    const OP: &str = "setxattr";
    let name = user_name(OP, name)?;
    if value.len() > XATTR_MAX {
        return Err(VfsError::os(OP, Errno::TOOBIG));
    }
    let flags = match mode {
        XattrMode::Any => XattrFlags::empty(),
        XattrMode::Create => XattrFlags::CREATE,
        XattrMode::Replace => XattrFlags::REPLACE,
    };
    fs::fsetxattr(fd, name, value, flags).map_err(|e| VfsError::os(OP, e))
}

pub(crate) fn remove(fd: impl AsFd, name: &[u8]) -> Result<(), VfsError> {
    const OP: &str = "removexattr";
    let name = user_name(OP, name)?;
    fs::fremovexattr(fd, name).map_err(|e| VfsError::os(OP, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_user_names_pass() {
        assert!(user_name("t", b"user.x").is_ok());
        for name in [
            &b"security.capability"[..],
            b"trusted.x",
            b"system.posix_acl_access",
        ] {
            assert_eq!(
                user_name("t", name).unwrap_err().raw_os_error(),
                Some(1),
                "EPERM"
            );
        }
        assert!(user_name("t", b"user.").is_err());
        assert!(user_name("t", b"user.a\0b").is_err());
        assert!(user_name("t", &[b'u'; 256]).is_err());
    }
}
