//! Replies that bypass an engine's output buffer.

/// A way for an engine (SFTP, SCP) to send a reply straight to the client instead of through its
/// output buffer: an SSH driver lays it out in the packets that will carry it, so file data is
/// read (with [`crate::VfsFile::read_vectored_at`]) where it will be encrypted.
pub trait DirectReply {
    /// Sends a reply of at most `len` bytes that `fill` writes into `areas` (in order, from the
    /// start) and counts; only the bytes counted are sent. `fill` is called only for `Sent`.
    fn send_with(
        &mut self,
        len: usize,
        fill: &mut dyn FnMut(&mut [std::io::IoSliceMut<'_>]) -> usize,
    ) -> DirectOutcome;
}

/// What a [`DirectReply`] did with a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirectOutcome {
    /// Sent, this many bytes (those `fill` counted).
    Sent(usize),
    /// Not now, but once the client's window reopens or the output drains: the engine stops
    /// before this reply and tries again in a later call.
    Later,
    /// Not this way: the engine queues the reply in its output buffer.
    Refused,
}
