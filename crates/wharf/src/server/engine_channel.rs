//! One session channel's file-transfer engine and the traffic around it:
//! client bytes in, replies out as the client's window allows, EOF, the
//! exit status, and where the engine's blocking work runs.
//!
//! Engines run inline on the connection task. Their filesystem calls are
//! blocking, but on a local disk they are page-cache copies of tens of
//! microseconds, and a trip through the blocking pool per batch costs more
//! than the work (two thread wake-ups, each a context switch, per batch:
//! about a quarter of the server's CPU per byte in a bulk transfer). A batch
//! that takes longer than `INLINE_BUDGET` (a slow or remote filesystem,
//! writeback throttling, a large copy-data) moves that channel's work to
//! the blocking pool for `OFFLOAD_FOR`, so a slow disk stalls the transfer
//! that uses it and not the other connections on the same worker thread.

use super::connection::Done;
use super::engine::Engine;
use super::rate::RateLimit;
use std::io::IoSliceMut;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use wharf_sftp::{DirectOutcome, DirectReply};
use wharf_ssh::{ChannelId, Connection};

/// Reply bytes an engine may produce before the channel must drain them;
/// bounds memory per channel whatever the client asks for.
const ENGINE_OUTPUT_LIMIT: usize = 1024 * 1024;
/// An inline batch slower than this sends the channel to the blocking pool.
const INLINE_BUDGET: Duration = Duration::from_millis(5);
/// How long a channel stays on the blocking pool after a slow batch.
const OFFLOAD_FOR: Duration = Duration::from_secs(2);
/// Engine batches per channel before `pump` lets the connection task do
/// socket I/O (and other tasks run).
const MAX_ROUNDS: usize = 4;

pub(super) struct EngineChannel {
    /// None while the engine runs on the blocking pool.
    engine: Option<Box<Engine>>,
    /// Output waiting for the client's window.
    out: Vec<u8>,
    out_pos: usize,
    /// The engine may have work before any input (an SCP sink starts with
    /// its ready byte), or EOF was just delivered to it.
    kick: bool,
    /// The engine stopped at the output limit: more work may be ready.
    more: bool,
    /// The client sent EOF; `eof_delivered` once the engine was told.
    eof: bool,
    eof_delivered: bool,
    /// The engine failed: the channel closes once its output is sent.
    failed: bool,
    closed: bool,
    /// Until when this channel's batches run on the blocking pool.
    offload_until: Option<Instant>,
    /// The user's bandwidth limits, client to server and back.
    upload: Option<RateLimit>,
    download: Option<RateLimit>,
    /// The engine paused before a reply that needs room to go out directly.
    waiting: Option<Wait>,
    /// A wait for the client's window timed out: the next reply goes
    /// through `out`, which sends what the window allows.
    queue_next: bool,
}

/// What a paused direct reply waits for.
#[derive(Debug, Clone, Copy)]
enum Wait {
    /// The connection's unwritten output to drop below `ENGINE_OUTPUT_LIMIT`.
    Output,
    /// The client's window to hold `len` bytes, until `until`: clients
    /// reopen their window once they have used part of it (half, for
    /// OpenSSH), so this normally takes at most a round trip. One that
    /// waits for it to run out entirely would wait for us forever; after
    /// `WINDOW_WAIT` the reply goes through `out` instead.
    Window { len: usize, until: Instant },
}

/// How long a reply waits for the client's window before it is queued and
/// sent piecemeal (see `Wait::Window`); longer than most round trips.
const WINDOW_WAIT: Duration = Duration::from_millis(200);

/// What `EngineChannel::pump` leaves to do.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Pump {
    /// Work is ready that needs no new input or window: come back without
    /// waiting for the socket.
    pub busy: bool,
    /// A bandwidth limit holds data back until then.
    pub wake_at: Option<Instant>,
    /// A reply waits for the connection's unwritten output to drain: come
    /// back once the driver has written it (no client message need come).
    pub waits_for_output: bool,
    /// Data bytes the client is certain to send on this channel before the
    /// engine needs anything else: the rest of a request or file that has
    /// started, within the window the client has.
    pub input_missing: usize,
}

impl EngineChannel {
    pub fn new(engine: Engine) -> Self {
        EngineChannel {
            engine: Some(Box::new(engine)),
            out: Vec::new(),
            out_pos: 0,
            kick: true,
            more: false,
            eof: false,
            eof_delivered: false,
            failed: false,
            closed: false,
            offload_until: None,
            upload: None,
            download: None,
            waiting: None,
            queue_next: false,
        }
    }

    /// Limits the channel to `upload` and `download` bytes per second.
    pub fn with_limits(mut self, upload: Option<u64>, download: Option<u64>) -> Self {
        let now = Instant::now();
        self.upload = upload.map(|r| RateLimit::new(r, now));
        self.download = download.map(|r| RateLimit::new(r, now));
        self
    }

    /// The client sent EOF; the engine hears of it once its input is used.
    pub fn client_eof(&mut self) {
        self.eof = true;
    }

    /// Moves output to the client and input to the engine, closes the
    /// channel when the engine is done, and runs the engine while it has
    /// work.
    pub fn pump(
        &mut self,
        conn: &mut Connection,
        channel: ChannelId,
        done_tx: &mpsc::UnboundedSender<Done>,
    ) -> Pump {
        let idle = Pump::default();
        for _ in 0..MAX_ROUNDS {
            if self.closed {
                return idle;
            }
            let Some(engine) = self.engine.as_mut() else {
                // On the blocking pool; `Done::Engine` brings it back.
                return idle;
            };
            if self.out_pos < self.out.len() {
                let rest = &self.out[self.out_pos..];
                let allowed = match &mut self.download {
                    Some(limit) => rest.len().min(limit.available(Instant::now())),
                    None => rest.len(),
                };
                let sent = conn.channel_send(channel, &rest[..allowed]);
                if let Some(limit) = &mut self.download {
                    limit.consume(sent);
                }
                self.out_pos += sent;
                if self.out_pos < self.out.len() {
                    // The client's window is full (wait for it to reopen) or
                    // the download limit is reached (wait for the bucket).
                    let wake_at = match &self.download {
                        Some(limit) if sent == allowed => Some(limit.ready_at()),
                        _ => None,
                    };
                    return Pump {
                        wake_at,
                        ..Pump::default()
                    };
                }
            }
            self.out.clear();
            self.out_pos = 0;
            let mut input_wake = None;
            match &mut self.upload {
                None => {
                    engine.take_input(conn, channel, usize::MAX);
                }
                Some(limit) => {
                    let allowed = limit.available(Instant::now());
                    let taken = engine.take_input(conn, channel, allowed);
                    limit.consume(taken);
                    if conn.channel_pending_data(channel) > 0 {
                        input_wake = Some(limit.ready_at());
                    }
                }
            }
            let input_left = conn.channel_pending_data(channel) > 0;
            if self.eof && !self.eof_delivered && !self.more && !input_left {
                engine.receive_eof();
                self.eof_delivered = true;
                self.kick = true;
            }
            let work = self.kick || self.more || engine.has_input_work() || engine.wants_process();
            let status = if self.failed {
                Some(engine.finished().unwrap_or(1))
            } else if let Some(status) = engine.finished() {
                Some(status)
            } else if self.eof_delivered && !work && matches!(**engine, Engine::Sftp(_)) {
                // SFTP ends when the client closes its side and every
                // request it sent has been answered.
                Some(0)
            } else {
                None
            };
            if let Some(status) = status {
                conn.channel_exit_status(channel, status);
                conn.channel_eof(channel);
                conn.channel_close(channel);
                self.closed = true;
                return idle;
            }
            let room = if work {
                has_room(&mut self.waiting, &mut self.queue_next, conn, channel)
            } else {
                Ok(())
            };
            if !work || room.is_err() {
                // Under an upload limit input waits for tokens, not bytes,
                // and bytes given back would be counted twice.
                let mut input_missing = 0;
                if self.upload.is_none() {
                    if !work {
                        input_missing = engine
                            .input_missing()
                            .min(conn.channel_receive_window(channel));
                    }
                    // A request still arriving waits where the rest of it
                    // will be decrypted (see `Engine::return_unparsed`).
                    engine.return_unparsed(conn, channel);
                }
                let window_wake = room.err().flatten();
                return Pump {
                    busy: false,
                    wake_at: earliest(input_wake, window_wake),
                    waits_for_output: matches!(self.waiting, Some(Wait::Output)),
                    input_missing,
                };
            }
            self.kick = false;
            self.more = false;
            let Some(mut engine) = self.engine.take() else {
                return idle;
            };
            let mut out = std::mem::take(&mut self.out);
            let started = Instant::now();
            if self.offload_until.is_some_and(|until| started < until) {
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
                return idle;
            }
            // Inline, READ replies go straight into the connection's packets
            // (no copy of the file data); a download limit needs them to
            // wait in `out` instead.
            let mut direct = DirectToChannel {
                conn,
                channel,
                waiting: &mut self.waiting,
                queue_next: &mut self.queue_next,
            };
            let direct = match self.download {
                None => Some(&mut direct as &mut dyn DirectReply),
                Some(_) => None,
            };
            let result = engine.process_with(&mut out, ENGINE_OUTPUT_LIMIT, direct);
            let took = started.elapsed();
            if took > INLINE_BUDGET {
                tracing::debug!(
                    ?took,
                    engine = engine.name(),
                    "slow filesystem batch; running this channel on the blocking pool"
                );
                self.offload_until = Some(Instant::now() + OFFLOAD_FOR);
            }
            self.engine_done(conn, channel, engine, out, result);
        }
        Pump {
            busy: true,
            ..Pump::default()
        }
    }

    /// Takes back the engine after a batch, inline or from the pool.
    pub fn engine_done(
        &mut self,
        conn: &mut Connection,
        channel: ChannelId,
        mut engine: Box<Engine>,
        out: Vec<u8>,
        result: Result<usize, String>,
    ) {
        let stderr = engine.take_stderr();
        if !stderr.is_empty() {
            conn.channel_send_stderr(channel, &stderr);
        }
        self.more = out.len() >= ENGINE_OUTPUT_LIMIT;
        self.out = out;
        // With an upload limit, bytes given back would be counted twice.
        if self.upload.is_none() {
            engine.return_unparsed(conn, channel);
        }
        match result {
            Ok(consumed) => conn.channel_consumed(channel, consumed),
            Err(e) => {
                tracing::info!(engine = engine.name(), error = %e, "transfer ended by error");
                self.failed = true;
            }
        }
        self.engine = Some(engine);
    }
}

/// Sends engine replies into the connection's packets in place. A reply
/// that does not fit the client's window now, or would take the output not
/// yet written to the socket past `ENGINE_OUTPUT_LIMIT` (the same bound on
/// memory per channel as replies queued in `out`), pauses the engine until
/// there is room rather than being copied through `out` (see `Wait` for how
/// long); one larger than any window the client has given is queued in
/// `out` and sent in pieces.
struct DirectToChannel<'a> {
    conn: &'a mut Connection,
    channel: ChannelId,
    waiting: &'a mut Option<Wait>,
    queue_next: &'a mut bool,
}

impl DirectReply for DirectToChannel<'_> {
    fn send_with(
        &mut self,
        len: usize,
        fill: &mut dyn FnMut(&mut [IoSliceMut<'_>]) -> usize,
    ) -> DirectOutcome {
        if std::mem::take(self.queue_next) {
            return DirectOutcome::Refused;
        }
        if self.conn.pending_output_len() >= ENGINE_OUTPUT_LIMIT {
            *self.waiting = Some(Wait::Output);
            return DirectOutcome::Later;
        }
        if len > self.conn.channel_send_capacity(self.channel) {
            if len <= self.conn.channel_window_peak(self.channel) {
                *self.waiting = Some(Wait::Window {
                    len,
                    until: Instant::now() + WINDOW_WAIT,
                });
                return DirectOutcome::Later;
            }
            return DirectOutcome::Refused;
        }
        match self.conn.channel_send_in_place(self.channel, len, fill) {
            Some(sent) => DirectOutcome::Sent(sent),
            None => DirectOutcome::Refused,
        }
    }
}

/// Whether the room a paused reply waits for is there (see `Wait`), which
/// clears `waiting`; otherwise when to look again if not woken by I/O. A
/// window wait that timed out counts as room, with `queue_next` set.
fn has_room(
    waiting: &mut Option<Wait>,
    queue_next: &mut bool,
    conn: &mut Connection,
    channel: ChannelId,
) -> Result<(), Option<Instant>> {
    match *waiting {
        None => return Ok(()),
        Some(Wait::Output) if conn.pending_output_len() >= ENGINE_OUTPUT_LIMIT => return Err(None),
        Some(Wait::Window { len, until }) if conn.channel_send_capacity(channel) < len => {
            if Instant::now() < until {
                return Err(Some(until));
            }
            *queue_next = true;
        }
        Some(_) => {}
    }
    *waiting = None;
    Ok(())
}

/// The earlier of two optional wake-up times.
pub(super) fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}
