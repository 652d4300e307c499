//! The SFTP server engine: SFTP protocol versions 1 to 6 over any byte stream. Version 3
//! (draft-ietf-secsh-filexfer-02, with OpenSSH's behaviour as the interoperability reference);
//! 4 (-04), 5 (-05) and 6 (-13); 1 and 2 are served with v3's layouts.
//!
//! [`SftpSession`] takes the client's bytes in and gives replies out; it owns no socket and no
//! task, so the same engine serves an SSH channel, `wharf sftp-server` on stdin/stdout, and
//! tests. Files are reached only through a [`wharf_vfs::Vfs`].
//!
//! Layout:
//! - `proto`: the codec. Requests of any version decode into one version-neutral model, replies
//!   encode per version, and one function maps a status code down to what a client knows.
//! - `ext`: one table of extensions driving dispatch, the VERSION announcement, the on/off
//!   switches and read-only mode; `filter`: the request names of `-P`/`-p`/`-Q`.
//! - `engine`: version-neutral handlers; `session`: framing.
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

mod engine;
mod ext;
mod filter;
mod handles;
mod longname;
mod proto;
mod session;
mod users;
mod wire;

pub use filter::{request_names, RequestFilter};
pub use proto::status::StatusCode;
pub use session::SftpSession;
/// Where READ replies can go without the output buffer (see [`SftpSession::process_with`]).
pub use wharf_vfs::{DirectOutcome, DirectReply};
pub use wire::DecodeError;

/// Per-session policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SftpConfig {
    /// Refuse every request that could modify the filesystem with PERMISSION_DENIED.
    pub read_only: bool,
    /// Bits cleared from the permissions of files and directories the client creates (on top
    /// of the process umask the local backend's kernel applies).
    pub umask: u32,
    /// The largest packet accepted, counted as the length field counts (everything after it).
    /// Longer packets end the session. Reads and writes are announced 1 KiB smaller to leave
    /// room for headers. Values below 34000, the drafts' minimum, are raised to it.
    pub max_packet_len: u32,
    /// The highest protocol version offered (clamped to 1..=6). A client asking for more gets
    /// this; one asking for less gets its own.
    pub max_version: u32,
    /// The lowest protocol version accepted; an older client's INIT ends the session.
    pub min_version: u32,
    /// Extensions switched off: neither announced (VERSION, `supported`, `supported2`) nor
    /// served (OP_UNSUPPORTED). A name is a request name (`check-file-name`) or an announced
    /// one, which covers every request announced under it (`check-file`,
    /// `xattr@proftpd.org`); [`extension_names`] lists them all.
    pub disabled_extensions: Vec<String>,
    /// Which requests are served, by OpenSSH sftp-server's names (`-P`/`-p`); a refused
    /// request gets PERMISSION_DENIED.
    pub requests: RequestFilter,
}

impl SftpConfig {
    /// Checks that every name in `disabled_extensions` and the request filter is known, so a
    /// typo cannot silently leave something on.
    pub fn check(&self) -> Result<(), ConfigError> {
        let switches = extension_names();
        if let Some(name) = self
            .disabled_extensions
            .iter()
            .find(|name| !switches.contains(&name.as_str()))
        {
            return Err(ConfigError::UnknownExtension {
                name: name.clone(),
                known: switches.join(", "),
            });
        }
        let requests = request_names();
        let listed = self
            .requests
            .deny
            .iter()
            .chain(self.requests.allow.iter().flatten());
        if let Some(name) = listed
            .into_iter()
            .find(|name| !requests.contains(&name.as_str()))
        {
            return Err(ConfigError::UnknownRequest {
                name: name.clone(),
                known: requests.join(","),
            });
        }
        Ok(())
    }
}

/// Every name [`SftpConfig::disabled_extensions`] accepts, in announcement order: each
/// extension request's name and the names they are announced under (`check-file`,
/// `xattr@proftpd.org`, `versions`, `vendor-id`).
pub fn extension_names() -> Vec<&'static str> {
    ext::switch_names()
}

/// A name in an [`SftpConfig`] that matches nothing.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// Not an extension this server has.
    #[error("unknown SFTP extension {name:?}; known: {known}")]
    UnknownExtension {
        /// The name given.
        name: String,
        /// Every known name, comma-separated.
        known: String,
    },
    /// Not a request name this server has.
    #[error("unknown SFTP request {name:?}; known: {known}")]
    UnknownRequest {
        /// The name given.
        name: String,
        /// Every known name, comma-separated.
        known: String,
    },
}

impl Default for SftpConfig {
    fn default() -> Self {
        Self {
            read_only: false,
            umask: 0o022,
            // 256 KiB, OpenSSH's SFTP_MAX_MSG_LENGTH: reads and writes are
            // then announced as 255 KiB, so a full DATA reply still fits the
            // 256 KiB message limit of OpenSSH's client (a larger one makes it
            // fail with "Received message too long").
            max_packet_len: 256 * 1024,
            max_version: 6,
            min_version: 1,
            disabled_extensions: Vec::new(),
            requests: RequestFilter::default(),
        }
    }
}

/// A protocol violation after which the session cannot continue; the caller closes the
/// channel.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SftpError {
    /// A packet announced more bytes than the configured maximum.
    #[error("packet of {len} bytes exceeds the limit of {max} bytes")]
    PacketTooLong {
        /// The announced length.
        len: u32,
        /// The configured maximum.
        max: u32,
    },
    /// A packet of length zero, which has no type.
    #[error("empty packet")]
    EmptyPacket,
    /// A request arrived before SSH_FXP_INIT.
    #[error("packet type {packet_type} received before SSH_FXP_INIT")]
    NotInitialized {
        /// The packet's type byte.
        packet_type: u8,
    },
    /// A request too short to hold its request id, so it cannot be answered.
    #[error("packet type {packet_type} is too short to carry a request id")]
    MissingRequestId {
        /// The packet's type byte.
        packet_type: u8,
    },
    /// SSH_FXP_INIT without a version number.
    #[error("malformed SSH_FXP_INIT")]
    MalformedInit(#[source] DecodeError),
    /// The client speaks only versions older than this engine supports.
    #[error("client protocol version {client} is below the minimum supported version {min}")]
    UnsupportedVersion {
        /// The client's version.
        client: u32,
        /// The lowest version this engine speaks.
        min: u32,
    },
    /// A `version-select` request that was not the first request, named a version that was
    /// not offered, or was malformed; the drafts require closing the channel (-13 §5.5).
    /// Its STATUS reply has already been appended to the output.
    #[error("invalid version-select: {reason}")]
    InvalidVersionSelect {
        /// What was wrong.
        reason: &'static str,
    },
}
