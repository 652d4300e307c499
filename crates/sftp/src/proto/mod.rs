//! The SFTP codec: everything that depends on the protocol version lives here. Handlers see
//! version-neutral requests and hand back version-neutral replies.

pub(crate) mod attrs;
pub(crate) mod reply;
pub(crate) mod request;
pub(crate) mod status;

/// Lowest and highest protocol versions this engine negotiates. Versions 1 and 2 are answered
/// with their own number and served with v3's layouts (which only add fields and requests).
pub(crate) const MIN_VERSION: u32 = 1;
pub(crate) const MAX_VERSION: u32 = 6;
/// The oldest layout the codec has: versions below it are served with it.
pub(crate) const MIN_CODEC_VERSION: u32 = 3;

// Packet types (draft-ietf-secsh-filexfer-02 §3; the same numbers in every later draft).
pub(crate) const SSH_FXP_INIT: u8 = 1;
pub(crate) const SSH_FXP_VERSION: u8 = 2;
pub(crate) const SSH_FXP_OPEN: u8 = 3;
pub(crate) const SSH_FXP_CLOSE: u8 = 4;
pub(crate) const SSH_FXP_READ: u8 = 5;
pub(crate) const SSH_FXP_WRITE: u8 = 6;
pub(crate) const SSH_FXP_LSTAT: u8 = 7;
pub(crate) const SSH_FXP_FSTAT: u8 = 8;
pub(crate) const SSH_FXP_SETSTAT: u8 = 9;
pub(crate) const SSH_FXP_FSETSTAT: u8 = 10;
pub(crate) const SSH_FXP_OPENDIR: u8 = 11;
pub(crate) const SSH_FXP_READDIR: u8 = 12;
pub(crate) const SSH_FXP_REMOVE: u8 = 13;
pub(crate) const SSH_FXP_MKDIR: u8 = 14;
pub(crate) const SSH_FXP_RMDIR: u8 = 15;
pub(crate) const SSH_FXP_REALPATH: u8 = 16;
pub(crate) const SSH_FXP_STAT: u8 = 17;
pub(crate) const SSH_FXP_RENAME: u8 = 18;
pub(crate) const SSH_FXP_READLINK: u8 = 19;
pub(crate) const SSH_FXP_SYMLINK: u8 = 20;
// v6 only (-13 §4.3).
pub(crate) const SSH_FXP_LINK: u8 = 21;
pub(crate) const SSH_FXP_BLOCK: u8 = 22;
pub(crate) const SSH_FXP_UNBLOCK: u8 = 23;
pub(crate) const SSH_FXP_STATUS: u8 = 101;
pub(crate) const SSH_FXP_HANDLE: u8 = 102;
pub(crate) const SSH_FXP_DATA: u8 = 103;
pub(crate) const SSH_FXP_NAME: u8 = 104;
pub(crate) const SSH_FXP_ATTRS: u8 = 105;
pub(crate) const SSH_FXP_EXTENDED: u8 = 200;
pub(crate) const SSH_FXP_EXTENDED_REPLY: u8 = 201;
