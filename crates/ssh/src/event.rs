//! What the protocol core reports to its driver.

use wharf_crypto::hostkey::{Certificate, PublicKey, SigAlg};
use zeroize::Zeroizing;

/// A channel, as the driver names it: the server's local channel number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChannelId(pub u32);

#[derive(Debug)]
pub enum Event {
    /// A user authentication attempt the driver must decide with
    /// `Connection::auth_decision` (an `AuthDecision`, or a bool). Input is
    /// not processed until it does.
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
    /// RFC 4252 §8. Valid UTF-8 and at most 1024 bytes.
    Password(Zeroizing<String>),
    /// A public key offered; `signed` is true when the client proved
    /// possession (the core verified the signature already), false for a
    /// query ("would this key be accepted?").
    PublicKey {
        key: PublicKey,
        alg: SigAlg,
        signed: bool,
    },
    /// publickey with an OpenSSH user certificate. The core parsed it,
    /// verified the CA's signature over it (with an algorithm from
    /// `ca_signature_algorithms`) and, when `signed`, the user's signature
    /// with the certified key (`alg` is that signature's algorithm). Trust
    /// is the driver's: the CA (`cert.ca_key()`) must be a trusted one,
    /// and `cert.check_for_user(user, now, peer_ip)` checks the rest
    /// (type, principal, validity, critical options).
    Certificate {
        cert: Box<Certificate>,
        alg: SigAlg,
        signed: bool,
    },
    /// The client asks for keyboard-interactive (RFC 4256 §3.1). The
    /// driver answers with `Connection::auth_info_request` (or
    /// `AuthDecision::InfoRequest(InfoRequest::password())` for a plain
    /// password prompt), or with a decision. `submethods` is the client's
    /// hint, at most 256 bytes, usually empty.
    KeyboardInteractiveStart { submethods: String },
    /// The answers to the last `InfoRequest`, one per prompt, in order
    /// (the core checked their number; each is UTF-8, at most 1024
    /// bytes). The driver decides, or asks another round.
    KeyboardInteractiveResponse(Vec<Zeroizing<String>>),
    /// RFC 4252 §9: the core verified the client host's signature. The
    /// driver checks `key` against its trusted host keys for
    /// `client_host` (a name as the client sent it, OpenSSH adds a
    /// trailing dot) and whether `client_user` there may log in as the
    /// user.
    Hostbased {
        key: PublicKey,
        alg: SigAlg,
        client_host: String,
        client_user: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChannelRequest {
    Subsystem(String),
    Exec(String),
    Shell,
}
