//! The session: the command line, the input buffer, and the call contract in front of the
//! sink and source engines.

use std::fmt;
use std::sync::Arc;

use wharf_vfs::{DirectReply, Vfs};

use crate::command::{Command, Direction};
use crate::io::{Io, Step};
use crate::sink::Sink;
use crate::source::Source;
use crate::{ScpConfig, ScpError};

/// One scp transfer over a byte stream (an SSH session channel after `exec "scp ..."`,
/// stdin/stdout, a test buffer).
///
/// The caller owns the I/O. Call order:
/// 1. [`ScpSession::from_command`] with the command the client asked to exec; on `Err`, refuse
///    the exec.
/// 2. [`ScpSession::process`], then send `out` and reopen the flow-control window by the
///    returned count. Call it at the start too: in sink mode the server speaks first.
/// 3. Feed the client's bytes with [`ScpSession::receive`] (and its EOF with
///    [`ScpSession::receive_eof`]) and call `process` again; also call it whenever
///    [`ScpSession::wants_process`] is true (source mode produces file data without input,
///    and `process` stops once `out` reaches the caller's limit).
/// 4. Once [`ScpSession::finished`] is `Some(status)`, send what `out` holds, then the
///    exit-status, EOF and CLOSE.
///
/// Filesystem calls are blocking; an async driver runs `process` on a blocking pool. Dropping
/// a session in the middle of receiving a file removes that partial file (unless
/// [`ScpConfig::keep_partial`]), which is also a blocking call.
pub struct ScpSession {
    engine: Engine,
    /// Received bytes not yet consumed.
    input: Vec<u8>,
    eof: bool,
    /// The last `process` stopped for want of input, and none has arrived since.
    blocked: bool,
    finished: Option<u32>,
    /// Errors so far, as OpenSSH's `errs`: any makes the exit status 1.
    errors: u32,
    /// `-v` diagnostics not yet taken.
    stderr: Option<Vec<u8>>,
}

enum Engine {
    Sink(Sink),
    Source(Source),
}

impl ScpSession {
    /// Parses the command the client asked to exec, e.g. `"scp -t -- /dir"`,
    /// `"scp -r -p -f file1 file2"`, `"scp -v -d -t dir"`, and prepares the transfer over `fs`.
    ///
    /// Recognised: the program `scp` (or any path ending in `/scp`), options `-t` (sink),
    /// `-f` (source), `-r`, `-p`, `-d`, `-v`, `-q` (ignored), combined or separate, `--`, then
    /// the paths. Words are split with POSIX shell quoting; see the crate docs for `~` and
    /// globs. Returns `Err` for anything that is not an scp source or sink invocation. A sink
    /// with other than one target is accepted and reports "ambiguous target" to the client,
    /// as OpenSSH does.
    pub fn from_command(
        fs: Arc<dyn Vfs>,
        command: &str,
        config: ScpConfig,
    ) -> Result<Self, ScpError> {
        let command = Command::parse(command)?;
        let engine = match command.direction {
            Direction::Sink(targets) => Engine::Sink(Sink::new(
                fs,
                config,
                targets,
                command.recursive,
                command.preserve,
                command.target_must_be_dir,
            )),
            Direction::Source(paths) => {
                Engine::Source(Source::new(fs, paths, command.recursive, command.preserve))
            }
        };
        Ok(Self {
            engine,
            input: Vec::new(),
            eof: false,
            blocked: false,
            finished: None,
            errors: 0,
            stderr: command.verbose.then(Vec::new),
        })
    }

    /// Appends bytes received from the client (the caller bounds them by its flow-control
    /// window). Bytes arriving after the transfer is over are dropped.
    pub fn receive(&mut self, data: &[u8]) {
        if self.finished.is_none() && !self.eof {
            self.input.extend_from_slice(data);
            self.blocked = false;
        }
    }

    /// Like [`ScpSession::receive`], for callers that can hand over their bytes without a
    /// copy: `fill` appends to (or, when it is empty, swaps with) the input buffer.
    pub fn receive_with<R>(&mut self, fill: impl FnOnce(&mut Vec<u8>) -> R) -> R {
        if self.finished.is_none() && !self.eof {
            self.blocked = false;
            fill(&mut self.input)
        } else {
            fill(&mut Vec::new())
        }
    }

    /// The client sent EOF: no more input will come.
    pub fn receive_eof(&mut self) {
        self.eof = true;
        self.blocked = false;
    }

    /// Does the work the input allows: parses records, writes file data, reads files and
    /// appends records and data to `out`, stopping when `out.len() >= out_limit` (records may
    /// overshoot it by one line; `out_limit` must be above zero for file data to flow).
    /// Filesystem calls block. Returns the number of input bytes consumed, so the caller can
    /// reopen its receive window by that much.
    ///
    /// Problems with single files are reported to the client in-band and the transfer goes
    /// on. `Err` means the transfer ended because of the client (a malformed record, its EOF
    /// mid-file, its fatal reply); `out` then already holds any fatal reply for the client:
    /// send it, and [`ScpSession::finished`] is `Some(1)`. Once finished, `process` does
    /// nothing and returns `Ok(0)`.
    pub fn process(&mut self, out: &mut Vec<u8>, out_limit: usize) -> Result<usize, ScpError> {
        self.process_with(out, out_limit, None)
    }

    /// Like [`ScpSession::process`], sending file data through `direct` when it can take it
    /// and nothing is queued in `out` before it. Data sent that way does not count towards
    /// `out_limit`; `direct` bounds it itself, and asking to wait stops `process_with` as a full
    /// `out` would.
    pub fn process_with(
        &mut self,
        out: &mut Vec<u8>,
        out_limit: usize,
        mut direct: Option<&mut dyn DirectReply>,
    ) -> Result<usize, ScpError> {
        if self.finished.is_some() {
            return Ok(0);
        }
        let mut io = Io::new(
            &self.input,
            self.eof,
            out,
            out_limit,
            &mut self.errors,
            self.stderr.as_mut(),
            direct.as_mut().map(|d| &mut **d as _),
        );
        let result = match &mut self.engine {
            Engine::Sink(sink) => sink.run(&mut io),
            Engine::Source(source) => source.run(&mut io),
        };
        let consumed = io.pos;
        self.input.drain(..consumed.min(self.input.len()));
        match result {
            Ok(Step::NeedInput) => {
                self.blocked = true;
                Ok(consumed)
            }
            Ok(Step::OutputFull) => {
                self.blocked = false;
                Ok(consumed)
            }
            Ok(Step::Done) => {
                self.finished = Some(u32::from(self.errors > 0));
                self.input = Vec::new();
                Ok(consumed)
            }
            Err(err) => {
                self.finished = Some(1);
                self.input = Vec::new();
                Err(err)
            }
        }
    }

    /// `Some(exit_status)` once the transfer is over: 0 for success, 1 if any error occurred
    /// (scp's exit code). The caller then sends exit-status, EOF and CLOSE.
    pub fn finished(&self) -> Option<u32> {
        self.finished
    }

    /// True when [`ScpSession::process`] can make progress without new input: at the start,
    /// in source mode once the client's reply has been received, or when output was cut at
    /// `out_limit`.
    pub fn wants_process(&self) -> bool {
        self.finished.is_none() && !self.blocked
    }

    /// Bytes of the file being received that have not arrived yet: what the client is certain
    /// to send next. 0 outside a file's data.
    pub fn input_bytes_missing(&self) -> u64 {
        match &self.engine {
            Engine::Sink(sink) => sink
                .data_bytes_missing()
                .saturating_sub(self.input.len() as u64),
            Engine::Source(_) => 0,
        }
    }

    /// Takes the text for the channel's stderr: with `-v`, OpenSSH-style diagnostics
    /// ("Sink: C0644 5 name", "Sending file modes: ..."). Empty without `-v`. Messages for the
    /// client travel in the stream, not here. Pending text is capped at 64 KiB.
    pub fn take_stderr(&mut self) -> Vec<u8> {
        self.stderr.as_mut().map(std::mem::take).unwrap_or_default()
    }
}

impl fmt::Debug for ScpSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mode = match self.engine {
            Engine::Sink(_) => "sink",
            Engine::Source(_) => "source",
        };
        f.debug_struct("ScpSession")
            .field("mode", &mode)
            .field("buffered", &self.input.len())
            .field("eof", &self.eof)
            .field("finished", &self.finished)
            .field("errors", &self.errors)
            .finish_non_exhaustive()
    }
}
