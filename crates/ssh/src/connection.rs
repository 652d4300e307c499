//! The server connection: version exchange, packet dispatch, output,
//! timers. Which message is legal when is decided here, in `dispatch`, and
//! nowhere else; the handlers in kex.rs, auth.rs and channel.rs may assume
//! their message arrived in a state that allows it.

use crate::auth::AuthState;
use crate::channel::Channels;
use crate::codec::{CodecError, Decoder, Encoder};
use crate::config::ServerConfig;
use crate::event::Event;
use crate::kex::KexState;
use crate::msg;
use crate::output::Output;
use crate::wire::{Reader, WireError, WriteExt};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

/// The longest identification line accepted, CR LF included (RFC 4253 §4.2).
const MAX_VERSION_LINE: usize = 255;

/// Rekey after this many packets in one direction under one key; RFC 4344
/// §3.1 asks for 2^32 packets at most, we stay well below.
const REKEY_PACKETS: u64 = 1 << 28;

/// How long the transmit buffer keeps its spare bytes after it last
/// drained: long enough to span the replies of a run of small transfers,
/// short enough that an idle session soon holds no transfer-sized buffer.
const OUTPUT_SPARE_KEPT: std::time::Duration = std::time::Duration::from_secs(1);

/// Why the connection ended, for the driver's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisconnectReason {
    pub code: u32,
    pub description: String,
    /// True when the client sent the DISCONNECT (or just went away).
    pub by_peer: bool,
}

pub struct Connection {
    pub(crate) config: Arc<ServerConfig>,
    pub(crate) client_version: Option<Vec<u8>>,
    pub(crate) decoder: Decoder,
    pub(crate) encoder: Encoder,
    pub(crate) tx: Output,
    /// When the transmit buffer's spare bytes are freed, if it stays empty.
    tx_release_at: Option<Instant>,
    pub(crate) kex: KexState,
    pub(crate) session_id: Option<Vec<u8>>,
    /// Strict key exchange was agreed in the first key exchange.
    pub(crate) strict_kex: bool,
    /// The client's first NEWKEYS arrived: the transport is encrypted both ways.
    pub(crate) first_kex_done: bool,
    pub(crate) auth: AuthState,
    pub(crate) channels: Channels,
    pub(crate) events: VecDeque<Event>,
    /// Payloads produced while our key exchange blocks non-kex output,
    /// sent once the new keys are in place.
    pub(crate) deferred: Vec<Vec<u8>>,
    /// Reused copy of the payload being handled; see `process_input`.
    scratch: Vec<u8>,
    closed: Option<DisconnectReason>,
    pub(crate) now: Instant,
    pub(crate) last_kex_at: Instant,
    login_deadline: Option<Instant>,
    /// When the last packet from the client arrived.
    last_received: Instant,
    /// Keepalives sent since then without any packet in return.
    alive_probes: u32,
    /// The transport's receive buffer as the driver last saw it (0:
    /// unknown); see `set_transport_receive_buffer`.
    pub(crate) transport_receive_buffer: usize,
}

impl Connection {
    /// A new server connection; the version line and KEXINIT are queued at
    /// once so the client does not wait a round trip for them.
    pub fn new(config: Arc<ServerConfig>, now: Instant) -> Self {
        let mut conn = Connection {
            login_deadline: config.login_grace_time.map(|t| now + t),
            last_received: now,
            alive_probes: 0,
            transport_receive_buffer: 0,
            config,
            client_version: None,
            decoder: Decoder::new(),
            encoder: Encoder::new(),
            tx: Output::with_capacity(4096),
            tx_release_at: None,
            kex: KexState::Idle,
            session_id: None,
            strict_kex: false,
            first_kex_done: false,
            auth: AuthState::default(),
            channels: Channels::default(),
            events: VecDeque::new(),
            deferred: Vec::new(),
            scratch: Vec::new(),
            closed: None,
            now,
            last_kex_at: now,
        };
        conn.tx.extend_from_slice(conn.config.version.as_bytes());
        conn.tx.extend_from_slice(b"\r\n");
        conn.start_kex();
        conn
    }

    /// A connection past the version exchange and a (null) key exchange,
    /// with `ssh-userauth` accepted and optionally a user logged in. Only
    /// for fuzzing the later protocol stages through the real dispatch.
    #[cfg(feature = "fuzzing")]
    pub fn new_for_fuzzing(config: Arc<ServerConfig>, now: Instant, user: Option<&str>) -> Self {
        let mut conn = Connection::new(config, now);
        conn.client_version = Some(b"SSH-2.0-fuzz".to_vec());
        conn.kex = KexState::Idle;
        conn.session_id = Some(vec![0; 32]);
        conn.first_kex_done = true;
        conn.auth.service_accepted = true;
        conn.auth.user = user.map(str::to_string);
        conn.tx.clear();
        conn
    }

    // ----- the driver's contract -----

    /// Feeds bytes received from the client (a copy; drivers reading a
    /// socket use `input_space` and `handle_input_read` instead).
    pub fn handle_input(&mut self, now: Instant, data: &[u8]) {
        self.now = now;
        if self.closed.is_some() {
            return;
        }
        self.decoder.push(data);
        self.process_input();
    }

    /// Room for the driver to read socket bytes into, so they are decrypted
    /// where the kernel put them. Then call `handle_input_read`.
    pub fn input_space(&mut self) -> &mut [u8] {
        self.decoder.read_space()
    }

    /// `n` bytes were read into the start of `input_space`.
    pub fn handle_input_read(&mut self, now: Instant, n: usize) {
        self.now = now;
        self.decoder.commit(n);
        if self.closed.is_some() {
            return;
        }
        self.process_input();
    }

    /// Bytes read from the socket that are not yet a whole packet (the start
    /// of one still arriving).
    pub fn input_buffered(&self) -> usize {
        self.decoder.buffered()
    }

    /// Tells the core how large the transport's receive buffer is now
    /// (SO_RCVBUF, which Linux grows to about twice what the path delivers
    /// in a round trip). A channel whose client keeps sending, while we
    /// keep up, gets a window at least this large (up to
    /// `channel_window_max`): the path can then carry as much in flight as
    /// TCP itself would, as in HPN-SSH. Seen from here, a client held back
    /// by its window on a long path looks like one with window to spare,
    /// because most of what it may send is on its way; the buffer size is
    /// the kernel's own measure of the path.
    pub fn set_transport_receive_buffer(&mut self, bytes: usize) {
        self.transport_receive_buffer = bytes;
    }

    /// Memory the connection holds in its buffers, for diagnostics and
    /// memory tests.
    pub fn buffered_capacity(&self) -> usize {
        self.decoder.capacity() + self.tx.capacity() + self.scratch.capacity()
    }

    /// Wakes the connection at or after the time `poll_timeout` asked for.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = now;
        if self.closed.is_some() {
            return;
        }
        if self.tx_release_at.is_some_and(|t| now >= t) {
            self.tx_release_at = None;
            self.tx.release_spare();
        }
        if self.auth.user.is_none() && self.login_deadline.is_some_and(|d| now >= d) {
            self.disconnect(msg::reason::BY_APPLICATION, "login grace time exceeded");
            return;
        }
        if self
            .config
            .idle_timeout
            .is_some_and(|t| now >= self.last_received + t)
        {
            self.disconnect(msg::reason::BY_APPLICATION, "idle timeout");
            return;
        }
        if let Some(due) = self.next_alive_probe() {
            if now >= due {
                if self.alive_probes >= self.config.client_alive_count_max {
                    self.disconnect(
                        msg::reason::BY_APPLICATION,
                        "client not responding to keepalives",
                    );
                    return;
                }
                self.alive_probes += 1;
                let mut p = Vec::with_capacity(32);
                p.put_u8(msg::GLOBAL_REQUEST);
                p.put_string(b"keepalive@openssh.com");
                p.put_bool(true);
                self.send_payload(p);
            }
        }
        if self.auth.release_delayed_failure(now) {
            self.send_delayed_auth_failure();
            // Input held back during the delay may now be processed.
            self.process_input();
        }
        self.maybe_rekey();
    }

    /// When the connection next wants `handle_timeout`.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.closed.is_some() {
            return None;
        }
        let mut t: Option<Instant> = None;
        let mut consider = |x: Instant| t = Some(t.map_or(x, |t| t.min(x)));
        if let (None, Some(d)) = (&self.auth.user, self.login_deadline) {
            consider(d);
        }
        if let Some(t) = self.config.idle_timeout {
            consider(self.last_received + t);
        }
        if let Some(at) = self.next_alive_probe() {
            consider(at);
        }
        if let Some(at) = self.auth.delayed_failure_at() {
            consider(at);
        }
        if let Some(at) = self.tx_release_at {
            consider(at);
        }
        if let (Some(interval), true) = (self.config.rekey_interval, self.session_id.is_some()) {
            consider(self.last_kex_at + interval);
        }
        t
    }

    /// When the next keepalive is due: one interval after the last packet
    /// from the client, then one interval after each unanswered probe.
    fn next_alive_probe(&self) -> Option<Instant> {
        let interval = self.config.client_alive_interval?;
        self.auth.user.as_ref()?;
        Some(self.last_received + interval * (self.alive_probes + 1))
    }

    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Bytes to write to the client.
    pub fn pending_output(&self) -> &[u8] {
        self.tx.pending()
    }

    /// Marks `n` bytes of `pending_output` as written.
    pub fn consume_output(&mut self, n: usize) {
        if self.tx.consume(n) && self.tx.holds_spare() {
            // `now` is when input or a timeout last came, possibly long
            // ago during a download the client is silent in; then the
            // release comes early, once, and the next drain sets a fresh
            // deadline from the timeout's `now`.
            self.tx_release_at = Some(self.now + OUTPUT_SPARE_KEPT);
        }
    }

    /// Appends all pending output to `buf` and marks it written (a copy:
    /// for tests and harnesses; a socket driver writes `pending_output`
    /// and calls `consume_output`).
    pub fn take_output(&mut self, buf: &mut Vec<u8>) {
        buf.extend_from_slice(self.tx.pending());
        self.consume_output(self.tx.pending_len());
    }

    /// Set once the connection is over; the driver flushes
    /// `pending_output` (a DISCONNECT may be in it) and closes the socket.
    pub fn closed(&self) -> Option<&DisconnectReason> {
        self.closed.as_ref()
    }

    /// The client closed the TCP connection.
    pub fn handle_eof(&mut self) {
        if self.closed.is_none() {
            self.closed = Some(DisconnectReason {
                code: 0,
                description: "connection closed by client".into(),
                by_peer: true,
            });
        }
    }

    /// Ends the connection with a DISCONNECT message.
    pub fn disconnect(&mut self, code: u32, description: &str) {
        if self.closed.is_some() {
            return;
        }
        let mut p = Vec::with_capacity(16 + description.len());
        p.put_u8(msg::DISCONNECT);
        p.put_u32(code);
        p.put_string(description.as_bytes());
        p.put_string(b"");
        // A DISCONNECT may be sent at any time, even mid key exchange.
        self.write_payload_now(&p);
        self.closed = Some(DisconnectReason {
            code,
            description: description.to_string(),
            by_peer: false,
        });
    }

    /// The client's identification string, once received.
    pub fn client_version(&self) -> Option<&[u8]> {
        self.client_version.as_deref()
    }

    /// The authenticated user, once authentication succeeded.
    pub fn user(&self) -> Option<&str> {
        self.auth.user.as_deref()
    }

    // ----- input -----

    fn process_input(&mut self) {
        if self.client_version.is_none() && !self.read_version_line() {
            return;
        }
        // Payloads other than channel data are copied here before their
        // handler runs (handlers need all of `self`); one buffer serves the
        // whole connection.
        let mut scratch = std::mem::take(&mut self.scratch);
        while self.closed.is_none() && !self.auth.blocks_input() {
            let state = self.route_state();
            let payload = match self.decoder.next_packet() {
                Ok(Some(p)) => p,
                Ok(None) => break,
                Err(e) => {
                    let code = match e {
                        CodecError::Mac => msg::reason::MAC_ERROR,
                        _ => msg::reason::PROTOCOL_ERROR,
                    };
                    tracing::debug!(error = %e, "bad packet from client");
                    self.disconnect(code, &e.to_string());
                    break;
                }
            };
            self.last_received = self.now;
            self.alive_probes = 0;
            let result = match route(state, payload[0]) {
                // The bulk of every upload: handled while the payload still
                // sits in the receive buffer, where it was decrypted.
                Ok(Route::ChannelData) => {
                    self.channels
                        .on_data(payload, self.config.channel_max_packet, &mut self.events)
                }
                Ok(route) => {
                    scratch.clear();
                    scratch.extend_from_slice(payload);
                    self.handle_routed(route, &scratch)
                }
                Err(e) => Err(e),
            };
            if let Err(e) = result {
                tracing::debug!(error = %e, "protocol error");
                self.disconnect(msg::reason::PROTOCOL_ERROR, &e.to_string());
                break;
            }
            self.maybe_rekey();
        }
        if scratch.capacity() > 64 * 1024 {
            // A large non-data message (a big key exchange) was seen; do not
            // keep its buffer for the life of the connection.
            scratch = Vec::new();
        }
        self.scratch = scratch;
        self.decoder.release_if_idle();
    }

    fn route_state(&self) -> RouteState {
        RouteState {
            strict_first_kex: self.strict_kex && !self.first_kex_done,
            first_kex_done: self.first_kex_done,
            service_accepted: self.auth.service_accepted,
            authenticated: self.auth.user.is_some(),
        }
    }

    /// Returns true once the client's identification line has been read.
    fn read_version_line(&mut self) -> bool {
        let raw = self.decoder.raw();
        let Some(nl) = raw.iter().take(MAX_VERSION_LINE).position(|&b| b == b'\n') else {
            if raw.len() >= MAX_VERSION_LINE {
                self.fail_version("identification line too long");
            }
            return false;
        };
        let mut line = &raw[..nl];
        if let Some(stripped) = line.strip_suffix(b"\r") {
            line = stripped;
        }
        // A server accepts no lines before the identification (RFC 4253
        // §4.2 allows them only from servers), and only protocol 2.0
        // (1.99 means "2.0 and 1.x").
        if !(line.starts_with(b"SSH-2.0-") || line.starts_with(b"SSH-1.99-")) {
            let msg = if line.starts_with(b"SSH-") {
                "protocol version not supported"
            } else {
                "invalid identification line"
            };
            self.fail_version(msg);
            return false;
        }
        if line.iter().any(|&b| !(0x20..0x7f).contains(&b)) {
            self.fail_version("identification line has control characters");
            return false;
        }
        self.client_version = Some(line.to_vec());
        self.decoder.consume_raw(nl + 1);
        true
    }

    fn fail_version(&mut self, why: &str) {
        // Before the version exchange completes there is no packet layer
        // the client would understand; OpenSSH answers with a plain line.
        self.tx
            .extend_from_slice(b"Invalid SSH identification string.\r\n");
        self.closed = Some(DisconnectReason {
            code: msg::reason::PROTOCOL_VERSION_NOT_SUPPORTED,
            description: why.to_string(),
            by_peer: false,
        });
    }

    fn handle_routed(&mut self, route: Route, payload: &[u8]) -> Result<(), ProtocolError> {
        match route {
            Route::Disconnect => {
                let mut r = Reader::new(&payload[1..]);
                let code = r.u32().unwrap_or(0);
                let desc = r
                    .string()
                    .map(|d| String::from_utf8_lossy(d).into_owned())
                    .unwrap_or_default();
                self.closed = Some(DisconnectReason {
                    code,
                    description: desc,
                    by_peer: true,
                });
                Ok(())
            }
            Route::Ignore => Ok(()),
            Route::Kex => self.handle_kex_message(payload),
            Route::ServiceRequest => self.handle_service_request(payload),
            Route::Auth => self.handle_auth_message(payload),
            Route::ChannelData | Route::Connection => self.handle_connection_message(payload),
            Route::Unimplemented => {
                let mut p = Vec::with_capacity(5);
                p.put_u8(msg::UNIMPLEMENTED);
                p.put_u32(self.decoder.seq().wrapping_sub(1));
                self.send_payload(p);
                Ok(())
            }
        }
    }

    fn handle_service_request(&mut self, payload: &[u8]) -> Result<(), ProtocolError> {
        let mut r = Reader::new(&payload[1..]);
        let service = r.string()?;
        // Repeats are fine until authentication succeeds: paramiko asks
        // again before every attempt, and OpenSSH's sshd accepts that.
        if service == b"ssh-userauth" && self.auth.user.is_none() {
            self.auth.service_accepted = true;
            let mut p = Vec::with_capacity(20);
            p.put_u8(msg::SERVICE_ACCEPT);
            p.put_string(b"ssh-userauth");
            self.send_payload(p);
            Ok(())
        } else {
            self.disconnect(msg::reason::SERVICE_NOT_AVAILABLE, "service not available");
            Ok(())
        }
    }

    // ----- output -----

    /// Sends a payload now, or after the key exchange in progress if that
    /// blocks non-kex messages.
    pub(crate) fn send_payload(&mut self, payload: Vec<u8>) {
        if self.closed.is_some() {
            return;
        }
        if self.kex.blocks_output() {
            self.deferred.push(payload);
        } else {
            self.write_payload_now(&payload);
        }
    }

    pub(crate) fn write_payload_now(&mut self, payload: &[u8]) {
        self.encoder.write_payload(&mut self.tx, payload);
    }

    pub(crate) fn flush_deferred(&mut self) {
        for p in std::mem::take(&mut self.deferred) {
            self.write_payload_now(&p);
        }
    }

    fn maybe_rekey(&mut self) {
        if self.closed.is_some() || !self.first_kex_done || !matches!(self.kex, KexState::Idle) {
            return;
        }
        let limit = self.config.rekey_limit;
        let by_bytes = self.encoder.bytes > limit || self.decoder.bytes > limit;
        let by_packets =
            self.encoder.packets > REKEY_PACKETS || self.decoder.packets > REKEY_PACKETS;
        let by_time = self
            .config
            .rekey_interval
            .is_some_and(|i| self.now >= self.last_kex_at + i);
        if by_bytes || by_packets || by_time {
            tracing::debug!(by_bytes, by_packets, by_time, "starting rekey");
            self.start_kex();
        }
    }
}

/// What `route` needs to know about the connection.
#[derive(Clone, Copy)]
struct RouteState {
    /// Strict key exchange was agreed and the first one is still running.
    strict_first_kex: bool,
    first_kex_done: bool,
    service_accepted: bool,
    authenticated: bool,
}

/// Which handler a message goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Route {
    Disconnect,
    Ignore,
    Kex,
    ServiceRequest,
    Auth,
    ChannelData,
    Connection,
    Unimplemented,
}

/// The one place that decides whether a message is legal now, from the
/// state alone (OpenSSH's packet.c does the same); the handlers may assume
/// their message arrived in a state that allows it.
fn route(state: RouteState, msg_type: u8) -> Result<Route, ProtocolError> {
    // Strict key exchange: during the first key exchange only its own
    // messages may arrive (OpenSSH PROTOCOL, kex-strict).
    if state.strict_first_kex && !is_kex_message(msg_type) {
        return Err(ProtocolError::new(
            "unexpected message during strict key exchange",
        ));
    }
    Ok(match msg_type {
        msg::DISCONNECT => Route::Disconnect,
        msg::IGNORE | msg::DEBUG | msg::UNIMPLEMENTED => Route::Ignore,
        msg::KEXINIT | msg::NEWKEYS | 30..=49 => Route::Kex,
        _ if !state.first_kex_done => {
            return Err(ProtocolError::new(
                "message before the first key exchange completed",
            ))
        }
        msg::SERVICE_REQUEST => Route::ServiceRequest,
        msg::EXT_INFO => Route::Ignore,
        50..=79 if !state.service_accepted => {
            return Err(ProtocolError::new("authentication before service request"))
        }
        50..=79 => Route::Auth,
        80..=127 if !state.authenticated => {
            return Err(ProtocolError::new(
                "connection protocol message before authentication",
            ))
        }
        msg::CHANNEL_DATA => Route::ChannelData,
        80..=127 => Route::Connection,
        _ => Route::Unimplemented,
    })
}

fn is_kex_message(t: u8) -> bool {
    matches!(t, msg::KEXINIT | msg::NEWKEYS | 30..=49)
}

/// A violation of the protocol by the client; it ends the connection.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ProtocolError(pub String);

impl ProtocolError {
    pub fn new(s: impl Into<String>) -> Self {
        ProtocolError(s.into())
    }
}

impl From<WireError> for ProtocolError {
    fn from(e: WireError) -> Self {
        ProtocolError(e.to_string())
    }
}
