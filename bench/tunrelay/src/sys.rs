//! The one system call std and nix do not wrap safely: TUNSETIFF.
//!
//! This is the only module with `unsafe`. Everything else (setns, ppoll,
//! sigwait, reads and writes) goes through nix or std.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;

use nix::libc;

/// `struct ifreq` as TUNSETIFF reads and writes it: the interface name, then
/// a union whose first member for this call is `short ifr_flags`. The kernel
/// copies `sizeof(struct ifreq)` = 40 bytes (16 name + 24 union) in and out,
/// so the struct is exactly that size (checked below).
#[repr(C)]
struct IfReq {
    name: [u8; libc::IFNAMSIZ],
    flags: libc::c_short,
    _pad: [u8; 22],
}

const _: () = assert!(std::mem::size_of::<IfReq>() == 40);

nix::ioctl_readwrite_bad!(tunsetiff_raw, libc::TUNSETIFF, IfReq);

/// Attaches the freshly opened `/dev/net/tun` descriptor to a TUN device named
/// `name` (created in the calling thread's network namespace), layer 3, with
/// no packet-information header: every read and write is one bare IP packet.
pub fn tunsetiff(tun: &File, name: &str) -> io::Result<()> {
    let bytes = name.as_bytes();
    // Room for the terminating NUL the kernel expects.
    if bytes.is_empty() || bytes.len() >= libc::IFNAMSIZ {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("bad interface name {name:?}"),
        ));
    }
    let mut req = IfReq {
        name: [0; libc::IFNAMSIZ],
        flags: (libc::IFF_TUN | libc::IFF_NO_PI) as libc::c_short,
        _pad: [0; 22],
    };
    req.name[..bytes.len()].copy_from_slice(bytes);
    // SAFETY: the descriptor is open for the lifetime of `tun`; `req` is a
    // fully initialised, exclusively borrowed 40-byte `struct ifreq` living
    // on this stack frame until the call returns, which is all TUNSETIFF
    // reads (copy_from_user) and writes back (copy_to_user of the same size).
    // The kernel keeps no pointer to it after the call.
    unsafe { tunsetiff_raw(tun.as_raw_fd(), &mut req) }
        .map_err(|e| io::Error::new(io::Error::from(e).kind(), format!("TUNSETIFF {name}: {e}")))?;
    Ok(())
}
