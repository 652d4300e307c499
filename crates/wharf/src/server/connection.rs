//! Drives one client connection: moves bytes between the socket and the
//! sans-IO SSH core, answers its events, and runs each channel's
//! file-transfer engine (SFTP or SCP) on the blocking pool, since
//! filesystem calls block.

use super::directory::UserDirectory;
use super::engine::Engine;
use super::engine_channel::{earliest, EngineChannel};
use super::rcvlowat::LowWater;
use super::user_fs;
use crate::users::UserPolicy;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, OwnedSemaphorePermit};
use wharf_scp::{ScpConfig, ScpSession};
use wharf_sftp::{SftpConfig, SftpSession};
use wharf_ssh::{ChannelId, ChannelRequest, Connection, Event, ServerConfig};

/// Stop reading the socket while this much output waits to be written:
/// a client that does not read cannot make us buffer without bound.
const MAX_UNWRITTEN: usize = 8 * 1024 * 1024;
/// Socket reads per wake-up before the engines get the data.
const MAX_READS_PER_WAKE: usize = 4;
/// Bytes read between two looks at the socket's receive buffer size, which
/// sizes channel windows to the path (`Connection::set_transport_receive_buffer`):
/// one getsockopt per MiB follows Linux's autotuning closely enough, which
/// changes the size at most once a round trip.
const RECEIVE_BUFFER_CHECK_BYTES: usize = 1 << 20;

const REFUSAL: &[u8] = b"This service allows sftp and scp connections only.\r\n";

pub struct Shared {
    pub ssh: Arc<ServerConfig>,
    pub users: Arc<dyn UserDirectory>,
    /// Whether SCP is served to users without a setting of their own.
    pub scp: bool,
    /// The lowest and highest SFTP protocol versions offered.
    pub sftp_versions: (u32, u32),
    /// SFTP extensions switched off (`[sftp] disabled_extensions`).
    pub sftp_disabled_extensions: Vec<String>,
    /// Roots and quota usage per user, shared by their sessions.
    pub user_fs: user_fs::UserFsCache,
}

/// Results of work done off the connection task.
pub(super) enum Done {
    Auth(wharf_ssh::AuthDecision),
    Engine {
        channel: ChannelId,
        engine: Box<Engine>,
        out: Vec<u8>,
        result: Result<usize, String>,
    },
}

/// `startup` is this connection's place among the unauthenticated ones; it
/// is given back when the user logs in.
pub async fn serve(
    stream: TcpStream,
    peer: SocketAddr,
    shared: Arc<Shared>,
    startup: OwnedSemaphorePermit,
) {
    let mut startup = Some(startup);
    let _ = stream.set_nodelay(true);
    let (rd, mut wr) = stream.into_split();
    let mut conn = Connection::new(shared.ssh.clone(), Instant::now());
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<Done>();
    let mut channels: HashMap<ChannelId, EngineChannel> = HashMap::new();
    let mut user: Option<String> = None;
    let mut low_water = LowWater::new();
    let mut read_since_buffer_check = 0usize;

    'serve: loop {
        while let Some(ev) = conn.poll_event() {
            let mut ctx = Ctx {
                conn: &mut conn,
                shared: &shared,
                done_tx: &done_tx,
                channels: &mut channels,
                user: &mut user,
                peer,
            };
            ctx.handle_event(ev);
        }
        if user.is_some() {
            startup.take();
        }
        let mut busy = false;
        let mut limit_wake: Option<Instant> = None;
        let mut waits_for_output = false;
        let mut input_missing = 0;
        for (&channel, ch) in channels.iter_mut() {
            let pump = ch.pump(&mut conn, channel, &done_tx);
            busy |= pump.busy;
            waits_for_output |= pump.waits_for_output;
            limit_wake = earliest(limit_wake, pump.wake_at);
            input_missing = input_missing.max(pump.input_missing);
        }
        // Written straight from the core's transmit buffer; readiness is
        // waited for only once the socket is full.
        let mut write_blocked = false;
        while !conn.pending_output().is_empty() {
            match wr.try_write(conn.pending_output()) {
                Ok(n) if n > 0 => conn.consume_output(n),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    write_blocked = true;
                    break;
                }
                _ => break 'serve,
            }
        }
        if conn.closed().is_some() && conn.pending_output().is_empty() {
            break;
        }
        // An engine paused until the output drained, and it has: nothing
        // from the client need come (pscp sends nothing while it receives),
        // so come straight back, after giving other tasks a turn.
        busy |= waits_for_output && !write_blocked;
        let timeout = conn.poll_timeout();
        let reading = conn.closed().is_none() && conn.pending_output_len() < MAX_UNWRITTEN;
        // Bytes the client is certain to send, less those already read as
        // part of a packet still arriving (they may be the same bytes).
        // During a key exchange the client sends no channel data until its
        // NEWKEYS, only the exchange's own small messages.
        let certain = if conn.key_exchange_in_progress() {
            0
        } else {
            input_missing.saturating_sub(conn.input_buffered())
        };
        let low_water_patience = if reading && !busy {
            low_water.before_wait(rd.as_ref(), certain, Instant::now())
        } else {
            None
        };
        tokio::select! {
            // Readiness first, then a read straight into the core's receive
            // buffer: no per-connection read buffer while idle, and no copy.
            r = rd.readable(), if reading => {
                low_water.woke(Instant::now());
                match r {
                    Ok(()) => {
                        read_since_buffer_check += read_available(&rd, &mut conn);
                        if read_since_buffer_check >= RECEIVE_BUFFER_CHECK_BYTES {
                            read_since_buffer_check = 0;
                            if let Ok(bytes) = socket2::SockRef::from(rd.as_ref()).recv_buffer_size() {
                                conn.set_transport_receive_buffer(bytes);
                            }
                        }
                    }
                    Err(_) => conn.handle_eof(),
                }
            }
            _ = sleep_until(low_water_patience), if low_water_patience.is_some() => low_water.give_up(),
            w = wr.writable(), if write_blocked => if w.is_err() {
                break;
            },
            Some(done) = done_rx.recv() => apply_done(done, &mut conn, &mut channels),
            _ = sleep_until(timeout), if timeout.is_some() => conn.handle_timeout(Instant::now()),
            // An engine has work left that needs no I/O: come straight back
            // after giving the socket and other tasks a turn.
            _ = tokio::task::yield_now(), if busy => {}
            // A bandwidth limit has tokens again.
            _ = sleep_until(limit_wake), if limit_wake.is_some() => {}
        }
    }
    let _ = wr.shutdown().await;
    // Engines still open (an SCP upload cut off mid-file) clean up when
    // dropped, which may unlink a partial file: a blocking call.
    if !channels.is_empty() {
        tokio::task::spawn_blocking(move || drop(channels));
    }
    if let Some(reason) = conn.closed() {
        tracing::info!(%peer, user = user.as_deref().unwrap_or("-"), reason = %reason.description, "connection closed");
    }
    // Releases the session towards the user's max_sessions.
    if let Some(u) = &user {
        shared.users.session_closed(u);
    }
}

/// Reads what the socket has, a few reads at most, before the engines run:
/// an upload then reaches the engine in larger batches (fewer, larger
/// writes to the file, fewer trips through the loop). Returns the bytes read.
fn read_available(rd: &tokio::net::tcp::OwnedReadHalf, conn: &mut Connection) -> usize {
    let read = read_some(rd, conn);
    if conn.user().is_none() {
        // Until login, acknowledge at once what was read. A client that
        // leaves Nagle's algorithm on (OpenSSH for scp and sftp) holds its
        // SERVICE_REQUEST until its NEWKEYS is acknowledged, and NEWKEYS
        // gets no reply for our ACK to ride on: with delayed ACKs that cost
        // ~90 ms of every connection's set-up on a 50 ms path. A few system
        // calls per connection; after login, ACKs are left to the kernel.
        let _ = socket2::SockRef::from(rd.as_ref()).set_tcp_quickack(true);
    }
    read
}

/// Reads into the core's receive buffer; returns the bytes read.
fn read_some(rd: &tokio::net::tcp::OwnedReadHalf, conn: &mut Connection) -> usize {
    use std::io::{ErrorKind, Read};
    let stream = rd.as_ref();
    let mut total = 0;
    for _ in 0..MAX_READS_PER_WAKE {
        let space = conn.input_space();
        let room = space.len();
        let mut short_read = 0;
        // A read that does not fill the space has drained the socket. It is
        // reported to tokio as WouldBlock so that tokio forgets the
        // readiness now (as its own `AsyncRead` does), rather than after one
        // more read that finds nothing, a system call and a trip through the
        // loop for every request of a small transfer. Data that arrives
        // after the read is not lost: tokio clears readiness only if no
        // newer event has come in since.
        let result = stream.try_io(tokio::io::Interest::READABLE, || {
            let n = (&*socket2::SockRef::from(stream)).read(&mut space[..])?;
            if n > 0 && n < room {
                short_read = n;
                return Err(ErrorKind::WouldBlock.into());
            }
            Ok(n)
        });
        match result {
            Ok(0) => {
                conn.handle_eof();
                return total;
            }
            Ok(n) => {
                conn.handle_input_read(Instant::now(), n);
                total += n;
                if conn.closed().is_some() {
                    return total;
                }
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                if short_read > 0 {
                    conn.handle_input_read(Instant::now(), short_read);
                }
                return total + short_read;
            }
            Err(_) => {
                conn.handle_eof();
                return total;
            }
        }
    }
    total
}

async fn sleep_until(t: Option<Instant>) {
    if let Some(t) = t {
        tokio::time::sleep_until(t.into()).await;
    }
}

/// What handling one event needs from the connection task.
struct Ctx<'a> {
    conn: &'a mut Connection,
    shared: &'a Arc<Shared>,
    done_tx: &'a mpsc::UnboundedSender<Done>,
    channels: &'a mut HashMap<ChannelId, EngineChannel>,
    user: &'a mut Option<String>,
    peer: SocketAddr,
}

impl Ctx<'_> {
    fn handle_event(&mut self, ev: Event) {
        let peer = self.peer;
        match ev {
            Event::AuthRequest { user, attempt } => {
                let completed = self.conn.auth_methods_completed().to_vec();
                super::auth::decide(
                    &self.shared.users,
                    peer,
                    user,
                    attempt,
                    completed,
                    self.done_tx,
                )
            }
            Event::Authenticated { user } => {
                tracing::info!(%peer, %user, "logged in");
                self.shared.users.session_opened(&user);
                *self.user = Some(user);
            }
            Event::ChannelOpened { .. } => {}
            Event::ChannelRequest { channel, request } => self.on_channel_request(channel, request),
            // The data waits in the core until `pump_channels` moves it
            // into an engine; a channel that never gets one (its request
            // refused) holds at most the window we granted.
            Event::ChannelData { .. } => {}
            Event::ChannelEof { channel } => match self.channels.get_mut(&channel) {
                Some(ch) => ch.client_eof(),
                None => self.conn.channel_close(channel),
            },
            Event::ChannelClosed { channel } => {
                // Dropping an SCP sink mid-file removes the partial file: a
                // blocking unlink, so drop it on the pool.
                if let Some(ch) = self.channels.remove(&channel) {
                    tokio::task::spawn_blocking(move || drop(ch));
                }
            }
            Event::ChannelWritable { .. } => {}
        }
    }

    fn on_channel_request(&mut self, channel: ChannelId, request: ChannelRequest) {
        if self.channels.contains_key(&channel) {
            // One program per channel (RFC 4254 §6.5).
            self.conn.channel_request_reply(channel, false);
            return;
        }
        match request {
            ChannelRequest::Subsystem(name) if name == "sftp" => {
                let Some((fs, policy)) = self.user_fs() else {
                    self.conn.channel_request_reply(channel, false);
                    return;
                };
                let (min_version, max_version) = self.shared.sftp_versions;
                let mut config = SftpConfig {
                    min_version,
                    max_version,
                    disabled_extensions: self.shared.sftp_disabled_extensions.clone(),
                    ..SftpConfig::default()
                };
                // A read-only user whose path rules grant writes somewhere
                // is enforced by the policy layer alone.
                config.read_only |= policy.read_only && policy.permissions.is_empty();
                config.umask = policy.umask.unwrap_or(config.umask);
                let engine = Engine::Sftp(SftpSession::new(fs, config));
                self.channels
                    .insert(channel, engine_channel(engine, &policy));
                self.conn.channel_request_reply(channel, true);
            }
            ChannelRequest::Subsystem(name) => {
                tracing::info!(subsystem = %name, "subsystem refused");
                self.conn.channel_request_reply(channel, false);
            }
            ChannelRequest::Exec(command) if is_scp(&command) => {
                let allowed = self
                    .user
                    .as_deref()
                    .and_then(|u| self.shared.users.scp_allowed(u));
                if !allowed.unwrap_or(self.shared.scp) {
                    tracing::info!(command = %command, "scp refused: disabled");
                    self.refuse_program(
                        channel,
                        b"scp: SCP is disabled on this server; use sftp instead\n",
                    );
                    return;
                }
                let Some((fs, policy)) = self.user_fs() else {
                    self.conn.channel_request_reply(channel, false);
                    return;
                };
                let mut config = ScpConfig::default();
                config.umask = policy.umask.unwrap_or(config.umask);
                match ScpSession::from_command(fs, &command, config) {
                    Ok(scp) => {
                        tracing::info!(command = %command, "scp");
                        self.channels
                            .insert(channel, engine_channel(Engine::Scp(scp), &policy));
                        self.conn.channel_request_reply(channel, true);
                    }
                    Err(e) => {
                        let msg = format!("scp: {e}\n");
                        self.refuse_program(channel, msg.as_bytes());
                    }
                }
            }
            ChannelRequest::Exec(_) | ChannelRequest::Shell => {
                self.refuse_program(channel, REFUSAL)
            }
        }
    }

    /// The logged-in user's filesystem (jailed, behind their policy) and
    /// policy as of their login; None, logged, when it cannot be had.
    fn user_fs(&self) -> Option<(Arc<dyn wharf_vfs::Vfs>, Arc<UserPolicy>)> {
        let user = self.user.as_deref()?;
        let policy = self.shared.users.policy(user)?;
        match user_fs::open(user, &policy, &self.shared.user_fs) {
            Ok(fs) => Some((fs, policy)),
            Err(e) => {
                tracing::error!(%user, error = %e, "cannot open the user's filesystem");
                None
            }
        }
    }

    /// Accepts the request, explains on stderr and exits 1: OpenSSH's
    /// client shows the text, which a bare failure reply would not give.
    fn refuse_program(&mut self, channel: ChannelId, message: &[u8]) {
        self.conn.channel_request_reply(channel, true);
        self.conn.channel_send_stderr(channel, message);
        self.conn.channel_exit_status(channel, 1);
        self.conn.channel_eof(channel);
        self.conn.channel_close(channel);
    }
}

fn is_scp(command: &str) -> bool {
    let first = command.split_ascii_whitespace().next().unwrap_or("");
    first == "scp" || first.ends_with("/scp")
}

/// A channel for `engine` under the user's bandwidth limits.
fn engine_channel(engine: Engine, policy: &UserPolicy) -> EngineChannel {
    EngineChannel::new(engine).with_limits(policy.upload_bandwidth, policy.download_bandwidth)
}

fn apply_done(done: Done, conn: &mut Connection, channels: &mut HashMap<ChannelId, EngineChannel>) {
    match done {
        Done::Auth(ok) => conn.auth_decision(ok),
        Done::Engine {
            channel,
            engine,
            out,
            result,
        } => match channels.get_mut(&channel) {
            Some(ch) => ch.engine_done(conn, channel, engine, out, result),
            // The channel closed while the engine worked; dropping it may
            // remove a partial upload, so not on this thread.
            None => drop(tokio::task::spawn_blocking(move || drop(engine))),
        },
    }
}
