//! Drives one client connection: moves bytes between the socket and the
//! sans-IO SSH core, answers its events, and runs each channel's
//! file-transfer engine (SFTP or SCP) on the blocking pool, since
//! filesystem calls block.

use super::directory::UserDirectory;
use super::engine::Engine;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, OwnedSemaphorePermit};
use wharf_scp::{ScpConfig, ScpSession};
use wharf_sftp::{SftpConfig, SftpSession};
use wharf_ssh::{ChannelId, ChannelRequest, Connection, Event, ServerConfig};

/// Reply bytes an engine may produce before the channel must drain them;
/// bounds memory per channel whatever the client asks for.
const ENGINE_OUTPUT_LIMIT: usize = 1024 * 1024;
/// Stop reading the socket while this much output waits to be written:
/// a client that does not read cannot make us buffer without bound.
const MAX_UNWRITTEN: usize = 8 * 1024 * 1024;
const READ_BUF: usize = 64 * 1024;

const REFUSAL: &[u8] = b"This service allows sftp and scp connections only.\r\n";

pub struct Shared {
    pub ssh: Arc<ServerConfig>,
    pub users: Arc<dyn UserDirectory>,
    /// Whether SCP is served to users without a setting of their own.
    pub scp: bool,
    /// The lowest and highest SFTP protocol versions offered.
    pub sftp_versions: (u32, u32),
}

/// Results of work done off the connection task.
pub(super) enum Done {
    Auth(bool),
    Engine {
        channel: ChannelId,
        engine: Box<Engine>,
        out: Vec<u8>,
        result: Result<usize, String>,
    },
}

struct EngineChannel {
    /// None while the engine runs on the blocking pool.
    engine: Option<Box<Engine>>,
    /// Output waiting for the client's window.
    out: Vec<u8>,
    out_pos: usize,
    /// Input that arrived while the engine was on the pool.
    stash: Vec<u8>,
    /// Input (or EOF) arrived that the engine has not looked at yet.
    input_pending: bool,
    /// The engine stopped at the output limit: more work may be ready.
    more: bool,
    /// The client sent EOF; `eof_delivered` once the engine was told.
    eof: bool,
    eof_delivered: bool,
    /// The engine failed: the channel closes once its output is sent.
    failed: bool,
    closed: bool,
}

impl EngineChannel {
    fn new(engine: Engine) -> Self {
        EngineChannel {
            engine: Some(Box::new(engine)),
            out: Vec::new(),
            out_pos: 0,
            stash: Vec::new(),
            // Both engines may have something to say before any input
            // (an SCP sink starts with its ready byte).
            input_pending: true,
            more: false,
            eof: false,
            eof_delivered: false,
            failed: false,
            closed: false,
        }
    }
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
    let (mut rd, mut wr) = stream.into_split();
    let mut conn = Connection::new(shared.ssh.clone(), Instant::now());
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<Done>();
    let mut channels: HashMap<ChannelId, EngineChannel> = HashMap::new();
    let mut user: Option<String> = None;
    let mut rbuf = vec![0u8; READ_BUF];
    let mut wbuf: Vec<u8> = Vec::new();
    let mut wpos = 0usize;

    loop {
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
        pump_channels(&mut conn, &mut channels, &done_tx);
        if wpos == wbuf.len() {
            wbuf.clear();
            wpos = 0;
        }
        conn.take_output(&mut wbuf);
        if conn.closed().is_some() && wpos == wbuf.len() {
            break;
        }
        let timeout = conn.poll_timeout();
        let reading = conn.closed().is_none() && wbuf.len() - wpos < MAX_UNWRITTEN;
        tokio::select! {
            r = rd.read(&mut rbuf), if reading => match r {
                Ok(0) | Err(_) => conn.handle_eof(),
                Ok(n) => conn.handle_input(Instant::now(), &rbuf[..n]),
            },
            w = wr.write(&wbuf[wpos..]), if wpos < wbuf.len() => match w {
                Ok(n) if n > 0 => wpos += n,
                _ => break,
            },
            Some(done) = done_rx.recv() => apply_done(done, &mut conn, &mut channels),
            _ = sleep_until(timeout), if timeout.is_some() => conn.handle_timeout(Instant::now()),
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
                super::auth::decide(&self.shared.users, peer, user, attempt, self.done_tx)
            }
            Event::Authenticated { user } => {
                tracing::info!(%peer, %user, "logged in");
                *self.user = Some(user);
            }
            Event::ChannelOpened { .. } => {}
            Event::ChannelRequest { channel, request } => self.on_channel_request(channel, request),
            Event::ChannelData { channel, data } => match self.channels.get_mut(&channel) {
                Some(ch) => {
                    match ch.engine.as_mut() {
                        Some(e) => e.receive(&data),
                        // The engine is on the pool with its buffer; keep
                        // the bytes until it returns.
                        None => ch.stash.extend_from_slice(&data),
                    }
                    ch.input_pending = true;
                }
                None => self.conn.channel_consumed(channel, data.len()),
            },
            Event::ChannelEof { channel } => match self.channels.get_mut(&channel) {
                Some(ch) => {
                    ch.eof = true;
                    ch.input_pending = true;
                }
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
        let root = self.user.as_deref().and_then(|u| self.shared.users.root(u));
        if self.channels.contains_key(&channel) {
            // One program per channel (RFC 4254 §6.5).
            self.conn.channel_request_reply(channel, false);
            return;
        }
        match request {
            ChannelRequest::Subsystem(name) if name == "sftp" => {
                let Some(fs) = root.and_then(open_root) else {
                    self.conn.channel_request_reply(channel, false);
                    return;
                };
                let (min_version, max_version) = self.shared.sftp_versions;
                let config = SftpConfig {
                    min_version,
                    max_version,
                    ..SftpConfig::default()
                };
                let engine = Engine::Sftp(SftpSession::new(fs, config));
                self.channels.insert(channel, EngineChannel::new(engine));
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
                let Some(fs) = root.and_then(open_root) else {
                    self.conn.channel_request_reply(channel, false);
                    return;
                };
                match ScpSession::from_command(fs, &command, ScpConfig::default()) {
                    Ok(scp) => {
                        tracing::info!(command = %command, "scp");
                        self.channels
                            .insert(channel, EngineChannel::new(Engine::Scp(scp)));
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

fn open_root(root: std::path::PathBuf) -> Option<Arc<dyn wharf_vfs::Vfs>> {
    match wharf_vfs::LocalFs::new(root.clone()) {
        Ok(fs) => Some(Arc::new(fs)),
        Err(e) => {
            tracing::error!(root = %root.display(), error = %e, "cannot open the user's root");
            None
        }
    }
}

fn apply_done(done: Done, conn: &mut Connection, channels: &mut HashMap<ChannelId, EngineChannel>) {
    match done {
        Done::Auth(ok) => conn.auth_decision(ok),
        Done::Engine {
            channel,
            mut engine,
            out,
            result,
        } => {
            let Some(ch) = channels.get_mut(&channel) else {
                // The channel closed while the engine worked; dropping it
                // may remove a partial upload, so not on this thread.
                tokio::task::spawn_blocking(move || drop(engine));
                return;
            };
            if !ch.stash.is_empty() {
                engine.receive(&ch.stash);
                ch.stash.clear();
            }
            let stderr = engine.take_stderr();
            if !stderr.is_empty() {
                conn.channel_send_stderr(channel, &stderr);
            }
            ch.more = out.len() >= ENGINE_OUTPUT_LIMIT;
            ch.out = out;
            match result {
                Ok(consumed) => conn.channel_consumed(channel, consumed),
                Err(e) => {
                    tracing::info!(engine = engine.name(), error = %e, "transfer ended by error");
                    ch.failed = true;
                }
            }
            ch.engine = Some(engine);
        }
    }
}

/// Moves engine output into the connection as the client's window allows,
/// closes channels whose engine is done, and starts engines again where
/// input waits and output has room.
fn pump_channels(
    conn: &mut Connection,
    channels: &mut HashMap<ChannelId, EngineChannel>,
    done_tx: &mpsc::UnboundedSender<Done>,
) {
    for (&channel, ch) in channels.iter_mut() {
        let Some(engine) = ch.engine.as_mut() else {
            continue;
        };
        if ch.closed {
            continue;
        }
        if ch.out_pos < ch.out.len() {
            ch.out_pos += conn.channel_send(channel, &ch.out[ch.out_pos..]);
            if ch.out_pos < ch.out.len() {
                continue;
            }
        }
        ch.out.clear();
        ch.out_pos = 0;
        if ch.eof && !ch.eof_delivered && !ch.more {
            engine.receive_eof();
            ch.eof_delivered = true;
            ch.input_pending = true;
        }
        let work = ch.input_pending || ch.more || engine.wants_process();
        let status = if ch.failed {
            Some(engine.finished().unwrap_or(1))
        } else if let Some(status) = engine.finished() {
            Some(status)
        } else if ch.eof_delivered && !work && matches!(**engine, Engine::Sftp(_)) {
            // SFTP ends when the client closes its side and every request
            // it sent has been answered.
            Some(0)
        } else {
            None
        };
        if let Some(status) = status {
            conn.channel_exit_status(channel, status);
            conn.channel_eof(channel);
            conn.channel_close(channel);
            ch.closed = true;
            continue;
        }
        if work {
            ch.input_pending = false;
            ch.more = false;
            let Some(mut engine) = ch.engine.take() else {
                continue;
            };
            let mut out = std::mem::take(&mut ch.out);
            let tx = done_tx.clone();
            tokio::task::spawn_blocking(move || {
                let result = engine.process(&mut out, ENGINE_OUTPUT_LIMIT);
                let _ = tx.send(Done::Engine {
                    channel,
                    engine,
                    out,
                    result,
                });
            });
        }
    }
}
