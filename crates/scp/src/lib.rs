//! The SCP protocol engine: the legacy rcp-style protocol that OpenSSH's `scp -O` speaks, run
//! on the server when a client execs `scp -t ...` (sink: the client uploads) or `scp -f ...`
//! (source: the client downloads).
//!
//! [`ScpSession`] takes the client's bytes in and gives the server's bytes out; it owns no
//! socket and no task, so the same engine serves an SSH channel, stdin/stdout (see
//! `examples/scp_stdio.rs`) and tests. Files are reached only through a [`wharf_vfs::Vfs`],
//! which keeps the user inside their jail.
//!
//! # The protocol, as OpenSSH's `scp.c` (`source()`, `sink()`, `response()`) speaks it
//!
//! Records are text lines ending in `\n`:
//! - `C<mode> <size> <name>`: a file follows; `<mode>` is four octal digits, `<size>` decimal,
//!   then exactly `<size>` bytes of data and one status byte from the sender;
//! - `D<mode> 0 <name>`: enter a directory (with `-r`); `E`: leave it;
//! - `T<mtime> <usec> <atime> <usec>`: times for the next `C` or `D` (with `-p`).
//!
//! Every record and every file's data is answered with one status: `\0` (ok), `\x01` plus a
//! message line (a warning: the receiver prints it and the transfer goes on) or `\x02` plus a
//! message line (fatal: the transfer ends). Messages read `scp: <path>: <reason>`, which
//! OpenSSH's client prints to its stderr verbatim.
//!
//! Where this engine deliberately differs from OpenSSH's server-side `scp`:
//! - the command line is not run through a shell: words are split with POSIX quoting
//!   (`'...'`, `"..."`, `\`), a leading `~` is the user's home, and in source mode unquoted
//!   `*`, `?` and `[...]` in the *last* path component are expanded against the directory
//!   (sorted bytewise; a pattern matching nothing stays as written, as in `sh`). Glob
//!   characters in earlier components are literal, bash's `{a,b}` is not expanded, and other
//!   shell syntax (`;`, `|`, `$`, backquotes, redirections) is refused;
//! - set-user-id, set-group-id and sticky bits sent by the client are never applied;
//! - a file whose transfer fails (stream closed early, a write error, a fatal reply, the
//!   client's own read error) is removed unless [`ScpConfig::keep_partial`], so no partial file
//!   is left under the target's name;
//! - fatal conditions are answered with `\x02` (OpenSSH sends `\x01` and exits), which makes
//!   OpenSSH's client stop at once instead of writing into a closed pipe;
//! - nesting is bounded ([`MAX_DEPTH`]), as are record lines ([`MAX_LINE`]) and names
//!   ([`MAX_NAME`]).
#![forbid(unsafe_code)]
// Network-reachable code never panics; tests may.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]
#![warn(missing_docs)]

mod command;
mod glob;
mod io;
mod record;
mod session;
mod sink;
mod source;

pub use session::ScpSession;

/// The longest record line accepted, including its `\n` (OpenSSH's own buffer is 2 KiB).
pub const MAX_LINE: usize = 8 * 1024;
/// The longest file name accepted in a record, in bytes.
pub const MAX_NAME: usize = 4096;
/// How many directories deep a transfer may go, in either direction. Bounds open directory
/// handles in source mode (where a symlink loop would otherwise recurse until the path got too
/// long) and the directory stack in sink mode.
pub const MAX_DEPTH: usize = 128;
/// The longest command line accepted by [`ScpSession::from_command`].
pub const MAX_COMMAND: usize = 64 * 1024;

/// Per-session policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScpConfig {
    /// Permission bits cleared from the mode the client sends for new files and directories
    /// (without `-p`; with `-p` the client's mode is applied as sent, as OpenSSH does). The
    /// local backend's process umask applies on top where the kernel creates the object.
    pub umask: u32,
    /// Keep a partially received file instead of removing it when its transfer fails.
    pub keep_partial: bool,
    /// Refuse (with a warning, the transfer continuing) uploaded files larger than this.
    pub max_file_size: Option<u64>,
}

impl Default for ScpConfig {
    fn default() -> Self {
        Self {
            umask: 0o022,
            keep_partial: false,
            max_file_size: None,
        }
    }
}

/// Why a command is refused, or why a transfer ended early.
///
/// [`ScpSession::from_command`] returns the command-line variants; [`ScpSession::process`]
/// returns the others once the transfer has ended because of the client (the fatal reply for
/// the client, if any, is already in the output).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScpError {
    /// The command is not `scp` (or a path ending in `/scp`).
    #[error("not an scp command")]
    NotScp,
    /// The command line cannot be split into words, or uses shell syntax we do not run.
    #[error("command line: {0}")]
    CommandSyntax(&'static str),
    /// The command line is longer than [`MAX_COMMAND`].
    #[error("command line of {len} bytes exceeds the limit of {max} bytes")]
    CommandTooLong {
        /// The command's length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// An option the server side of scp does not have.
    #[error("unknown scp option -{0}")]
    UnknownOption(char),
    /// Neither `-t` (sink) nor `-f` (source) was given.
    #[error("scp command without -t or -f")]
    NoDirection,
    /// Both `-t` and `-f` were given.
    #[error("scp command with both -t and -f")]
    BothDirections,
    /// The client sent a malformed or unexpected record.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// The client closed its side of the stream in the middle of a record or a file.
    #[error("client closed the stream mid-transfer ({0})")]
    UnexpectedEof(&'static str),
    /// The client reported a fatal error (a `\x02` message, or an unknown status byte).
    #[error("client reported a fatal error: {0}")]
    ClientFatal(String),
}
