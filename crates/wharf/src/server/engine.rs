//! The file-transfer engines a session channel can run, behind one face
//! so the driver moves bytes and applies flow control the same way for
//! both. Both are blocking (filesystem calls); see engine_channel.rs for
//! where they run.

use wharf_scp::ScpSession;
use wharf_sftp::{DirectReply, SftpSession};
use wharf_ssh::{ChannelId, Connection};

pub enum Engine {
    Sftp(SftpSession),
    Scp(ScpSession),
}

impl Engine {
    /// Moves the client's bytes waiting in the connection into the engine,
    /// without a copy when the engine's input is empty. Returns how many.
    /// At most `max` bytes are taken (a bandwidth limit).
    pub fn take_input(&mut self, conn: &mut Connection, channel: ChannelId, max: usize) -> usize {
        // Checked first: handing an engine nothing still counts as input
        // (SCP would wake up to find none).
        if conn.channel_pending_data(channel) == 0 || max == 0 {
            return 0;
        }
        let take = |buf: &mut Vec<u8>| conn.channel_take_data_up_to(channel, buf, max);
        match self {
            Engine::Sftp(s) => s.receive_with(take),
            Engine::Scp(s) => s.receive_with(take),
        }
    }

    /// Hands the start of a request still arriving back to the connection,
    /// where the rest is appended to it as it is decrypted: the next
    /// `take_input` is then a buffer swap, not a copy of every upload byte
    /// onto the leftover.
    pub fn return_unparsed(&mut self, conn: &mut Connection, channel: ChannelId) {
        if let Engine::Sftp(s) = self {
            if s.buffered() > 0 {
                s.receive_with(|buf| conn.channel_unread(channel, buf));
            }
        }
    }

    /// Input bytes the client is certain to send next: the rest of an SFTP
    /// request that has started to arrive, or of the file an SCP upload is
    /// in. The driver may wait for that much before waking up.
    pub fn input_missing(&self) -> usize {
        match self {
            Engine::Sftp(s) => s.request_bytes_missing(),
            Engine::Scp(s) => usize::try_from(s.input_bytes_missing()).unwrap_or(usize::MAX),
        }
    }

    /// Whether the buffered input gives `process` something to do. SFTP
    /// waits for a whole request; SCP can use any bytes (file data).
    pub fn has_input_work(&self) -> bool {
        match self {
            Engine::Sftp(s) => s.has_request(),
            Engine::Scp(s) => s.wants_process(),
        }
    }

    /// The client sent EOF. SFTP ends when its input is used up; SCP has
    /// to know, to tell a finished upload from a truncated one.
    pub fn receive_eof(&mut self) {
        if let Engine::Scp(s) = self {
            s.receive_eof();
        }
    }

    /// Does what work the buffered input allows; returns input consumed.
    pub fn process(&mut self, out: &mut Vec<u8>, out_limit: usize) -> Result<usize, String> {
        self.process_with(out, out_limit, None)
    }

    /// Like `process`; SFTP READ replies and SCP file data go through
    /// `direct` when it can take them (see `SftpSession::process_with`).
    pub fn process_with(
        &mut self,
        out: &mut Vec<u8>,
        out_limit: usize,
        direct: Option<&mut dyn DirectReply>,
    ) -> Result<usize, String> {
        match self {
            Engine::Sftp(s) => s
                .process_with(out, out_limit, direct)
                .map_err(|e| e.to_string()),
            Engine::Scp(s) => s
                .process_with(out, out_limit, direct)
                .map_err(|e| e.to_string()),
        }
    }

    /// The exit status once the engine has finished by itself (SCP).
    pub fn finished(&self) -> Option<u32> {
        match self {
            Engine::Sftp(_) => None,
            Engine::Scp(s) => s.finished(),
        }
    }

    /// Whether `process` can make progress without new input.
    pub fn wants_process(&self) -> bool {
        match self {
            Engine::Sftp(_) => false,
            Engine::Scp(s) => s.wants_process(),
        }
    }

    /// Diagnostics for the client's stderr (scp -v).
    pub fn take_stderr(&mut self) -> Vec<u8> {
        match self {
            Engine::Sftp(_) => Vec::new(),
            Engine::Scp(s) => s.take_stderr(),
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Engine::Sftp(_) => "sftp",
            Engine::Scp(_) => "scp",
        }
    }
}
