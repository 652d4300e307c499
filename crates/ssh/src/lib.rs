//! Wharf's SSH2 server protocol core, sans-IO.
//!
//! [`Connection`] is one server-side SSH connection as a state machine: the
//! driver feeds it received bytes and the current time, and takes from it
//! bytes to send, events to act on and the next time it wants to be woken.
//! It owns no socket, task or timer, never blocks and never awaits, which
//! keeps it deterministic to test and to fuzz.
//!
//! ```text
//! loop {
//!     conn.handle_input(now, &bytes_from_socket);
//!     while let Some(ev) = conn.poll_event() { /* decide, answer with commands */ }
//!     socket.write_all(conn.pending_output()); conn.consume_output(n);
//!     sleep until conn.poll_timeout(), then conn.handle_timeout(now);
//! }
//! ```
#![forbid(unsafe_code)]

mod auth;
mod channel;
pub mod codec;
pub mod config;
mod connection;
pub mod event;
mod kex;
pub mod msg;
pub mod negotiate;
mod output;
pub mod wire;

pub use auth::{AuthDecision, InfoRequest, Prompt};
pub use config::{AuthMethod, ServerConfig};
pub use connection::{Connection, DisconnectReason};
pub use event::{AuthAttempt, ChannelId, ChannelRequest, Event};
