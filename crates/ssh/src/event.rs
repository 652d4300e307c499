//! What the protocol core reports to its driver.

use wharf_crypto::hostkey::{PublicKey, SigAlg};
use zeroize::Zeroizing;

/// A channel, as the driver names it: the server's local channel number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChannelId(pub u32);

#[derive(Debug)]
pub enum Event {
    /// A user authentication attempt the driver must decide with
    /// `Connection::auth_decision`. Input is not processed until it does.
    AuthRequest {
        user: String,
        attempt: AuthAttempt,
    },
    /// Authentication succeeded; the connection protocol is now open.
    Authenticated {
        user: String,
    },
    /// The client opened a session channel (accepted by the core).
    ChannelOpened {
        channel: ChannelId,
    },
    /// A request on a session channel the driver must answer with
    /// `Connection::channel_request_reply` (even if no reply is wanted, so
    /// the driver's decision stays explicit).
    ChannelRequest {
        channel: ChannelId,
        request: ChannelRequest,
    },
    /// Data from the client arrived on a channel whose inbox was empty. The
    /// driver takes it with `Connection::channel_take_data` (all of it, or
    /// later: it waits in the core) and reports with
    /// `Connection::channel_consumed` once it has used it, which reopens
    /// the client's window: that is the flow control back to the client.
    ChannelData {
        channel: ChannelId,
    },
    ChannelEof {
        channel: ChannelId,
    },
    /// The channel is gone (both sides closed); the driver drops its state.
    ChannelClosed {
        channel: ChannelId,
    },
    /// The client's window grew: pending output may be sent now.
    ChannelWritable {
        channel: ChannelId,
    },
}

#[derive(Debug)]
pub enum AuthAttempt {
    Password(Zeroizing<String>),
    /// A public key offered; `signed` is true when the client proved
    /// possession (the core verified the signature already), false for a
    /// query ("would this key be accepted?").
    PublicKey {
        key: PublicKey,
        alg: SigAlg,
        signed: bool,
    },
    /// The answer to keyboard-interactive's password prompt.
    KeyboardInteractive(Zeroizing<String>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChannelRequest {
    Subsystem(String),
    Exec(String),
    Shell,
}
