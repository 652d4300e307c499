//! Drives one client connection: moves bytes between the socket and the
//! sans-IO SSH core, answers its events, and runs each SFTP channel's
//! engine on the blocking pool (filesystem calls block).

use super::directory::UserDirectory;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, OwnedSemaphorePermit};
use wharf_sftp::{SftpConfig, SftpSession};
use wharf_ssh::{AuthAttempt, ChannelId, ChannelRequest, Connection, Event, ServerConfig};

/// Reply bytes an SFTP engine may produce before the channel must drain
/// them; bounds memory per channel independent of what the client asks.
const SFTP_OUTPUT_LIMIT: usize = 1024 * 1024;
/// Stop reading the socket while this much output waits to be written:
/// a client that does not read cannot make us buffer without bound.
const MAX_UNWRITTEN: usize = 8 * 1024 * 1024;
const READ_BUF: usize = 64 * 1024;

const REFUSAL: &[u8] = b"This service allows sftp connections only.\r\n";

pub struct Shared {
    pub ssh: Arc<ServerConfig>,
    pub users: Arc<dyn UserDirectory>,
}

/// Results of work done off the connection task.
enum Done {
    Auth(bool),
    Sftp {
        channel: ChannelId,
        session: Box<SftpSession>,
        out: Vec<u8>,
        result: Result<usize, wharf_sftp::SftpError>,
    },
}

struct SftpChannel {
    /// None while the engine runs on the blocking pool.
    session: Option<Box<SftpSession>>,
    /// Replies waiting for the client's window.
    out: Vec<u8>,
    out_pos: usize,
    /// Input that arrived while the engine was on the pool.
    stash: Vec<u8>,
    /// Input arrived that the engine has not looked at yet.
    input_pending: bool,
    /// The engine stopped at the output limit: more requests may be ready.
    more: bool,
    eof: bool,
    finished: bool,
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
    let mut channels: HashMap<ChannelId, SftpChannel> = HashMap::new();
    let mut user: Option<String> = None;
    let mut rbuf = vec![0u8; READ_BUF];
    let mut wbuf: Vec<u8> = Vec::new();
    let mut wpos = 0usize;

    loop {
        while let Some(ev) = conn.poll_event() {
            handle_event(
                ev,
                &mut conn,
                &shared,
                &done_tx,
                &mut channels,
                &mut user,
                peer,
            );
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
    if let Some(reason) = conn.closed() {
        tracing::info!(%peer, user = user.as_deref().unwrap_or("-"), reason = %reason.description, "connection closed");
    }
}

async fn sleep_until(t: Option<Instant>) {
    if let Some(t) = t {
        tokio::time::sleep_until(t.into()).await;
    }
}

fn handle_event(
    ev: Event,
    conn: &mut Connection,
    shared: &Arc<Shared>,
    done_tx: &mpsc::UnboundedSender<Done>,
    channels: &mut HashMap<ChannelId, SftpChannel>,
    user: &mut Option<String>,
    peer: SocketAddr,
) {
    match ev {
        Event::AuthRequest {
            user: name,
            attempt,
        } => match attempt {
            AuthAttempt::Password(pw) | AuthAttempt::KeyboardInteractive(pw) => {
                let users = shared.users.clone();
                let tx = done_tx.clone();
                tokio::task::spawn_blocking(move || {
                    let ok = users.verify_password(&name, &pw);
                    if !ok {
                        tracing::info!(%peer, user = %name, "password refused");
                    }
                    let _ = tx.send(Done::Auth(ok));
                });
            }
            AuthAttempt::PublicKey { key, signed, .. } => {
                let ok = shared.users.key_allowed(&name, &key);
                if signed && !ok {
                    tracing::info!(%peer, user = %name, key = %key.fingerprint_sha256(), "public key refused");
                }
                conn.auth_decision(ok);
            }
        },
        Event::Authenticated { user: name } => {
            tracing::info!(%peer, user = %name, "logged in");
            *user = Some(name);
        }
        Event::ChannelOpened { .. } => {}
        Event::ChannelRequest { channel, request } => {
            let root = user.as_deref().and_then(|u| shared.users.root(u));
            match (request, root) {
                (ChannelRequest::Subsystem(name), Some(root)) if name == "sftp" => {
                    match wharf_vfs::LocalFs::new(root.clone()) {
                        Ok(fs) => {
                            let session = SftpSession::new(Arc::new(fs), SftpConfig::default());
                            channels.insert(
                                channel,
                                SftpChannel {
                                    session: Some(Box::new(session)),
                                    out: Vec::new(),
                                    out_pos: 0,
                                    stash: Vec::new(),
                                    input_pending: false,
                                    more: false,
                                    eof: false,
                                    finished: false,
                                },
                            );
                            conn.channel_request_reply(channel, true);
                        }
                        Err(e) => {
                            tracing::error!(root = %root.display(), error = %e, "cannot open the user's root");
                            conn.channel_request_reply(channel, false);
                        }
                    }
                }
                (ChannelRequest::Subsystem(name), _) => {
                    tracing::info!(subsystem = %name, "subsystem refused");
                    conn.channel_request_reply(channel, false);
                }
                (ChannelRequest::Exec(_) | ChannelRequest::Shell, _) => {
                    // Accept, explain on stderr, exit 1: OpenSSH's client
                    // shows the text, which a bare failure would not give.
                    conn.channel_request_reply(channel, true);
                    conn.channel_send_stderr(channel, REFUSAL);
                    conn.channel_exit_status(channel, 1);
                    conn.channel_eof(channel);
                    conn.channel_close(channel);
                }
            }
        }
        Event::ChannelData { channel, data } => match channels.get_mut(&channel) {
            Some(ch) => {
                match ch.session.as_mut() {
                    Some(s) => s.receive(&data),
                    // The engine is busy on the pool with its buffer; keep
                    // the bytes until it returns.
                    None => ch.stash.extend_from_slice(&data),
                }
                ch.input_pending = true;
            }
            None => conn.channel_consumed(channel, data.len()),
        },
        Event::ChannelEof { channel } => {
            if let Some(ch) = channels.get_mut(&channel) {
                ch.eof = true;
            } else {
                conn.channel_close(channel);
            }
        }
        Event::ChannelClosed { channel } => {
            channels.remove(&channel);
        }
        Event::ChannelWritable { .. } => {}
    }
}

fn apply_done(done: Done, conn: &mut Connection, channels: &mut HashMap<ChannelId, SftpChannel>) {
    match done {
        Done::Auth(ok) => conn.auth_decision(ok),
        Done::Sftp {
            channel,
            session,
            out,
            result,
        } => {
            let Some(ch) = channels.get_mut(&channel) else {
                return;
            };
            let mut session = session;
            if !ch.stash.is_empty() {
                session.receive(&ch.stash);
                ch.stash.clear();
            }
            ch.session = Some(session);
            ch.more = out.len() >= SFTP_OUTPUT_LIMIT;
            ch.out = out;
            match result {
                Ok(consumed) => conn.channel_consumed(channel, consumed),
                Err(e) => {
                    tracing::info!(error = %e, "sftp session ended by protocol error");
                    ch.finished = true;
                }
            }
        }
    }
}

/// Moves SFTP replies into the connection as the client's window allows,
/// and starts the engine again where input waits and output has room.
fn pump_channels(
    conn: &mut Connection,
    channels: &mut HashMap<ChannelId, SftpChannel>,
    done_tx: &mpsc::UnboundedSender<Done>,
) {
    for (&channel, ch) in channels.iter_mut() {
        if ch.session.is_none() {
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
        let work = ch.input_pending || ch.more;
        if ch.finished || (ch.eof && !work) {
            if !ch.finished {
                conn.channel_exit_status(channel, 0);
            }
            ch.finished = true;
            conn.channel_eof(channel);
            conn.channel_close(channel);
            continue;
        }
        if work {
            ch.input_pending = false;
            ch.more = false;
            let Some(mut session) = ch.session.take() else {
                continue;
            };
            let mut out = std::mem::take(&mut ch.out);
            let tx = done_tx.clone();
            tokio::task::spawn_blocking(move || {
                let result = session.process(&mut out, SFTP_OUTPUT_LIMIT);
                let _ = tx.send(Done::Sftp {
                    channel,
                    session,
                    out,
                    result,
                });
            });
        }
    }
}
