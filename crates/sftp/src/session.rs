//! The session: framing of the byte stream into packets, in front of the engine.

use std::sync::Arc;

use wharf_vfs::Vfs;

use crate::engine::{Engine, Limits};
use crate::DirectReply;
use crate::{SftpConfig, SftpError};

/// One SFTP session over a byte stream (an SSH channel, stdin/stdout, a test buffer).
///
/// The caller owns the I/O. Call order:
/// 1. [`SftpSession::receive`] with bytes from the client, as they arrive;
/// 2. [`SftpSession::process`] to handle every complete request and collect the replies, then
///    send `out` and reopen the flow-control window by the returned count;
/// 3. repeat [`SftpSession::process`] while it returns non-zero and the caller has room for more
///    output, since it stops early once `out` reaches the caller's limit.
///
/// Filesystem calls are blocking; an async driver runs `process` on a blocking pool.
/// Requests are answered in arrival order, which the protocol permits (replies may be
/// reordered, never must be).
#[derive(Debug)]
pub struct SftpSession {
    /// Received bytes not yet consumed: at most one partial packet after `process` returns,
    /// plus whatever `receive` appended since.
    input: Vec<u8>,
    max_packet_len: u32,
    engine: Engine,
}

impl SftpSession {
    /// A session serving `fs` under `config`, waiting for the client's SSH_FXP_INIT.
    pub fn new(fs: Arc<dyn Vfs>, config: SftpConfig) -> Self {
        let max_packet_len = Limits::new(&config).max_packet_len;
        Self {
            input: Vec::new(),
            max_packet_len,
            engine: Engine::new(fs, config),
        }
    }

    /// Appends bytes received from the client (the caller bounds them by its flow-control
    /// window).
    pub fn receive(&mut self, data: &[u8]) {
        self.input.extend_from_slice(data);
    }

    /// Like [`SftpSession::receive`], for callers that can hand over their bytes without a
    /// copy: `fill` appends to (or, when it is empty, swaps with) the input buffer.
    pub fn receive_with<R>(&mut self, fill: impl FnOnce(&mut Vec<u8>) -> R) -> R {
        fill(&mut self.input)
    }

    /// Whether `process` has something to do: a complete request is buffered, or a length
    /// that `process` will refuse. A driver that runs `process` on another thread skips the
    /// trip while only part of a request has arrived.
    pub fn has_request(&self) -> bool {
        let Some(&[a, b, c, d]) = self.input.get(..4) else {
            return false;
        };
        let len = u32::from_be_bytes([a, b, c, d]);
        len > self.max_packet_len || self.input.len() >= 4 + len as usize
    }

    /// Bytes still to come before the request at the front of the input is whole: what the
    /// client is certain to send next. 0 when no request is started, its length has not
    /// arrived, or it is whole (or over the maximum, which `process` refuses).
    pub fn request_bytes_missing(&self) -> usize {
        let Some(&[a, b, c, d]) = self.input.get(..4) else {
            return 0;
        };
        let len = u32::from_be_bytes([a, b, c, d]);
        if len > self.max_packet_len {
            return 0;
        }
        (4 + len as usize).saturating_sub(self.input.len())
    }

    /// Handles complete requests from the input buffer (blocking filesystem calls) and appends
    /// the replies to `out`, stopping when `out.len() >= out_limit` or no complete request
    /// remains. Returns the number of input bytes consumed, so the caller can reopen its receive
    /// window by that much.
    ///
    /// A protocol violation (a packet length over the maximum, a request before INIT, a
    /// malformed INIT) returns `Err` and the caller closes the channel; a malformed individual
    /// request gets SSH_FX_BAD_MESSAGE and the session continues.
    pub fn process(&mut self, out: &mut Vec<u8>, out_limit: usize) -> Result<usize, SftpError> {
        self.process_with(out, out_limit, None)
    }

    /// Like [`SftpSession::process`], sending READ replies through `direct` when it can take
    /// them and nothing is queued in `out` before them (replies keep their order). Replies sent
    /// that way do not count towards `out_limit`; `direct` bounds them itself.
    pub fn process_with(
        &mut self,
        out: &mut Vec<u8>,
        out_limit: usize,
        mut direct: Option<&mut dyn DirectReply>,
    ) -> Result<usize, SftpError> {
        let mut consumed = 0;
        let result = loop {
            if out.len() >= out_limit {
                break Ok(());
            }
            let rest = self.input.get(consumed..).unwrap_or_default();
            let Some(&[a, b, c, d]) = rest.get(..4) else {
                break Ok(());
            };
            let len = u32::from_be_bytes([a, b, c, d]);
            // Checked before waiting for the body, so a hostile length never makes us buffer it.
            if len > self.max_packet_len {
                break Err(SftpError::PacketTooLong {
                    len,
                    max: self.max_packet_len,
                });
            }
            let total = 4 + len as usize;
            let Some(packet) = rest.get(4..total) else {
                break Ok(());
            };
            if let Err(err) =
                self.engine
                    .handle_packet(packet, out, direct.as_mut().map(|d| &mut **d as _))
            {
                consumed += total;
                break Err(err);
            }
            if self.engine.take_paused() {
                // A reply waits for room: this request is handled again next time.
                break Ok(());
            }
            consumed += total;
        };
        self.input.drain(..consumed.min(self.input.len()));
        result.map(|()| consumed)
    }

    /// Bytes buffered but not yet consumed.
    pub fn buffered(&self) -> usize {
        self.input.len()
    }
}
