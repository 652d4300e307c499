//! Sink mode (`scp -t target`): the client uploads. Follows OpenSSH's `sink()`:
//!
//! 1. (`-d`: the target must be a directory, else a fatal error.) Send `\0`.
//! 2. Read records. `T` stores times for the next item and is acked. `C` opens the file
//!    (under the target if it is a directory, else the target itself), acks, takes exactly
//!    `size` bytes, then the client's status byte, applies mode and times, and acks (or sends a
//!    warning naming the file if a write failed; the data is read to the end regardless so the
//!    stream stays in step). `D` (needs `-r`) creates or enters a directory and acks; records
//!    then land inside it until `E`, which applies its times and mode and is acked. `\x01`
//!    lines from the client are counted as errors; `\x02` ends the transfer.
//! 3. The client's EOF between records ends the transfer.
//!
//! Errors opening or creating an item are warnings (`\x01`): OpenSSH's client then skips that
//! item's data. Malformed records end the transfer with a fatal reply (`\x02`).

use std::sync::Arc;

use wharf_vfs::{OpenOptions, SetAttrs, Timestamp, VPath, Vfs, VfsFile};

use crate::command::Word;
use crate::io::{reason, Io, Line, Reply, Step};
use crate::record::{self, Record};
use crate::{ScpConfig, ScpError, MAX_DEPTH};

/// Modes the client sends are limited to permission bits: a remote user never gets
/// set-user-id, set-group-id or sticky bits applied.
const PERMISSION_BITS: u32 = 0o777;
/// `S_IWUSR`: files are created writable by their owner so the data can be written, and
/// directories searchable and writable so their contents can be created; the client's mode is
/// applied afterwards.
const OWNER_WRITE: u32 = 0o200;
const OWNER_ALL: u32 = 0o700;

pub(crate) struct Sink {
    fs: Arc<dyn Vfs>,
    config: ScpConfig,
    recursive: bool,
    preserve: bool,
    target_must_be_dir: bool,
    /// The command's operands; exactly one is valid.
    targets: Vec<Word>,
    state: State,
    /// Where records land at the top level.
    top: Place,
    /// Directories entered with `D` and not yet left with `E`.
    dirs: Vec<EnteredDir>,
    /// Times from a `T` record, for the next `C` or `D`.
    times: Option<Times>,
}

enum State {
    Start,
    Records,
    /// Receiving a file's bytes.
    Data(Box<Incoming>),
    /// All bytes received; waiting for the client's status byte.
    Status(Box<Incoming>),
    Done,
}

/// A place records land in: the target, or a directory entered with `D`.
struct Place {
    path: VPath,
    /// The path as the client named it, for messages.
    display: Vec<u8>,
    is_dir: bool,
}

struct EnteredDir {
    place: Place,
    times: Option<Times>,
    /// The mode to apply on `E` (after the contents are written, as the client's mode may
    /// forbid writing).
    mode: Option<u32>,
}

#[derive(Clone, Copy)]
struct Times {
    mtime: Timestamp,
    atime: Timestamp,
}

/// A file being received.
struct Incoming {
    file: Box<dyn VfsFile>,
    path: VPath,
    display: Vec<u8>,
    size: u64,
    received: u64,
    /// The first write error; later data is read and dropped.
    write_error: Option<String>,
    set_mode: Option<u32>,
    times: Option<Times>,
}

impl Sink {
    pub fn new(
        fs: Arc<dyn Vfs>,
        config: ScpConfig,
        targets: Vec<Word>,
        recursive: bool,
        preserve: bool,
        target_must_be_dir: bool,
    ) -> Self {
        Self {
            fs,
            config,
            recursive,
            preserve,
            target_must_be_dir,
            targets,
            state: State::Start,
            top: Place {
                path: VPath::root(),
                display: Vec::new(),
                is_dir: false,
            },
            dirs: Vec::new(),
            times: None,
        }
    }

    pub fn run(&mut self, io: &mut Io<'_>) -> Result<Step, ScpError> {
        loop {
            if io.out_full() {
                return Ok(Step::OutputFull);
            }
            // Each arm puts the next state back; an early return leaves `Done`.
            match std::mem::replace(&mut self.state, State::Done) {
                State::Start => {
                    if !self.start(io) {
                        return Ok(Step::Done);
                    }
                    self.state = State::Records;
                }
                State::Records => {
                    self.state = State::Records;
                    if let Some(step) = self.record(io)? {
                        return Ok(step);
                    }
                }
                State::Data(incoming) => {
                    if let Some(step) = self.data(io, incoming)? {
                        return Ok(step);
                    }
                }
                State::Status(incoming) => {
                    if let Some(step) = self.status(io, incoming)? {
                        return Ok(step);
                    }
                }
                State::Done => return Ok(Step::Done),
            }
        }
    }

    /// Checks the target and sends the first `\0`; false if the transfer cannot start.
    fn start(&mut self, io: &mut Io<'_>) -> bool {
        let mut target = match self.targets.as_slice() {
            [one] => one.clone(),
            _ => {
                io.fatal(b"ambiguous target");
                return false;
            }
        };
        target.expand_tilde(self.fs.home().as_bytes());
        target.trim_trailing_slashes();
        let path = self.fs.resolve(&target.bytes);
        let stat = self.fs.stat(&path);
        if self.target_must_be_dir {
            let problem = match &stat {
                Ok(meta) if meta.is_dir() => None,
                Ok(_) => Some("Not a directory".to_owned()),
                Err(e) => Some(reason(e)),
            };
            if let Some(problem) = problem {
                let mut message = target.bytes.clone();
                message.extend_from_slice(b": ");
                message.extend_from_slice(problem.as_bytes());
                io.fatal(&message);
                return false;
            }
        }
        self.top = Place {
            path,
            display: target.bytes,
            is_dir: stat.is_ok_and(|meta| meta.is_dir()),
        };
        io.ack();
        true
    }

    /// Handles one record; `Some(step)` to return from `run`.
    fn record(&mut self, io: &mut Io<'_>) -> Result<Option<Step>, ScpError> {
        let line = match io.line() {
            Line::Complete(line) => line,
            Line::Incomplete => return Ok(Some(Step::NeedInput)),
            Line::End => {
                self.end_of_input(io);
                self.state = State::Done;
                return Ok(Some(Step::Done));
            }
            Line::Truncated => {
                self.state = State::Done;
                io.fatal(b"lost connection");
                return Err(ScpError::UnexpectedEof("in a record"));
            }
            Line::TooLong => {
                self.state = State::Done;
                io.fatal(b"protocol error: record too long");
                return Err(ScpError::Protocol("record too long".into()));
            }
        };
        io.verbose("Sink: ", line);
        let record = match record::parse(line) {
            Ok(record) => record,
            Err(err) => {
                self.state = State::Done;
                let message = err.message();
                io.fatal(&message);
                return Err(ScpError::Protocol(
                    String::from_utf8_lossy(&message).into_owned(),
                ));
            }
        };
        match record {
            Record::Warning(message) => {
                io.verbose("client: ", message);
                io.count_error();
            }
            Record::Fatal(message) => {
                self.state = State::Done;
                io.count_error();
                return Err(ScpError::ClientFatal(
                    String::from_utf8_lossy(message).into_owned(),
                ));
            }
            Record::Times { mtime, atime } => {
                self.times = Some(Times { mtime, atime });
                io.ack();
            }
            Record::End => {
                self.times = None;
                io.ack();
                match self.dirs.pop() {
                    Some(dir) => self.leave_dir(io, dir),
                    // OpenSSH's sink returns on an `E` at the top level, ending the transfer.
                    None => {
                        self.state = State::Done;
                        return Ok(Some(Step::Done));
                    }
                }
            }
            Record::Dir { mode, name } => {
                if !self.recursive {
                    self.state = State::Done;
                    io.fatal(b"protocol error: received directory without -r");
                    return Err(ScpError::Protocol("received directory without -r".into()));
                }
                self.enter_dir(io, mode, name);
            }
            Record::File { mode, size, name } => self.open_file(io, mode, size, name),
        }
        Ok(None)
    }

    /// The path a record named `name` lands on: inside the current directory, or the target
    /// itself when the target is not a directory (`scp file host:newname`).
    fn place_for(&self, name: &[u8]) -> (VPath, Vec<u8>) {
        let here = self.dirs.last().map_or(&self.top, |dir| &dir.place);
        if !here.is_dir {
            return (here.path.clone(), here.display.clone());
        }
        let mut display = here.display.clone();
        if display.last() != Some(&b'/') {
            display.push(b'/');
        }
        display.extend_from_slice(name);
        (here.path.join(name), display)
    }

    /// The mode to give a new object: with `-p` the client's, else the client's under the
    /// umask (OpenSSH: `mode &= ~mask`).
    fn mode_for(&self, mode: u32) -> u32 {
        if self.preserve {
            mode & PERMISSION_BITS
        } else {
            mode & PERMISSION_BITS & !self.config.umask
        }
    }

    fn enter_dir(&mut self, io: &mut Io<'_>, mode: u32, name: &[u8]) {
        let (path, display) = self.place_for(name);
        let times = self.times.take();
        if self.dirs.len() >= MAX_DEPTH {
            io.warn(&display, "directory nesting too deep");
            return;
        }
        let mode = self.mode_for(mode);
        let apply_mode = match self.fs.stat(&path) {
            Ok(meta) if meta.is_dir() => {
                if self.preserve {
                    // As OpenSSH: set now and again on `E`; a failure here is not reported.
                    let _ = self.fs.set_stat(&path, &permissions(mode));
                }
                self.preserve.then_some(mode)
            }
            Ok(_) => {
                io.warn(&display, "Not a directory");
                return;
            }
            Err(_) => match self.fs.mkdir(&path, mode | OWNER_ALL) {
                Ok(()) => Some(mode),
                Err(e) => {
                    io.warn(&display, &reason(&e));
                    return;
                }
            },
        };
        self.dirs.push(EnteredDir {
            place: Place {
                path,
                display,
                is_dir: true,
            },
            times,
            mode: apply_mode,
        });
        io.ack();
    }

    /// Applies a directory's times and mode once its contents are written. Failures are not
    /// reported to the client (the `E` is already acked, as in OpenSSH).
    fn leave_dir(&self, io: &mut Io<'_>, dir: EnteredDir) {
        let attrs = SetAttrs {
            permissions: dir.mode,
            mtime: dir.times.map(|t| t.mtime),
            atime: dir.times.map(|t| t.atime),
            ..SetAttrs::default()
        };
        if attrs.is_empty() {
            return;
        }
        if let Err(e) = self.fs.set_stat(&dir.place.path, &attrs) {
            let mut text = dir.place.display;
            text.extend_from_slice(b": ");
            text.extend_from_slice(reason(&e).as_bytes());
            io.verbose("set directory attributes: ", &text);
        }
    }

    fn open_file(&mut self, io: &mut Io<'_>, mode: u32, size: u64, name: &[u8]) {
        let (path, display) = self.place_for(name);
        let times = self.times.take();
        if self.config.max_file_size.is_some_and(|max| size > max) {
            io.warn(&display, "File too large");
            return;
        }
        let mode = self.mode_for(mode);
        let create_mode = mode | OWNER_WRITE;
        let existed = self.fs.stat(&path).is_ok();
        let options = OpenOptions {
            read: false,
            write: true,
            create: true,
            truncate: true,
            mode: create_mode,
            ..OpenOptions::default()
        };
        let file = match self.fs.open(&path, &options) {
            Ok(file) => file,
            Err(e) => {
                io.warn(&display, &reason(&e));
                return;
            }
        };
        // With -p the client's mode is set exactly (OpenSSH runs with umask 0 then). Without,
        // a new file keeps its creation mode unless that added the owner-write bit; an existing
        // file keeps its mode (OpenSSH's rules).
        let set_mode = if self.preserve || (!existed && mode != create_mode) {
            Some(mode)
        } else {
            None
        };
        io.ack();
        self.state = State::Data(Box::new(Incoming {
            file,
            path,
            display,
            size,
            received: 0,
            write_error: None,
            set_mode,
            times,
        }));
    }

    /// Bytes of the current file not received yet (0 outside a file's data).
    pub(crate) fn data_bytes_missing(&self) -> u64 {
        match &self.state {
            State::Data(incoming) => incoming.size.saturating_sub(incoming.received),
            _ => 0,
        }
    }

    fn data(
        &mut self,
        io: &mut Io<'_>,
        mut incoming: Box<Incoming>,
    ) -> Result<Option<Step>, ScpError> {
        loop {
            let remaining = incoming.size.saturating_sub(incoming.received);
            if remaining == 0 {
                self.state = State::Status(incoming);
                return Ok(None);
            }
            let rest = io.rest();
            if rest.is_empty() {
                if io.eof {
                    self.discard(incoming);
                    io.fatal(b"lost connection");
                    return Err(ScpError::UnexpectedEof("in a file's data"));
                }
                self.state = State::Data(incoming);
                return Ok(Some(Step::NeedInput));
            }
            let take = usize::try_from(remaining).map_or(rest.len(), |r| r.min(rest.len()));
            let chunk = rest.get(..take).unwrap_or_default();
            if incoming.write_error.is_none() {
                if let Err(e) = incoming.file.write_all_at(chunk, incoming.received) {
                    incoming.write_error = Some(reason(&e));
                }
            }
            io.consume(take);
            incoming.received = incoming.received.saturating_add(take as u64);
        }
    }

    fn status(
        &mut self,
        io: &mut Io<'_>,
        incoming: Box<Incoming>,
    ) -> Result<Option<Step>, ScpError> {
        match io.reply() {
            Ok(None) => {
                self.state = State::Status(incoming);
                Ok(Some(Step::NeedInput))
            }
            Err(why) => {
                self.discard(incoming);
                if io.eof {
                    io.fatal(why.as_bytes());
                } else {
                    io.fatal(format!("protocol error: {why}").as_bytes());
                }
                Err(if io.eof {
                    ScpError::UnexpectedEof("before a file's status byte")
                } else {
                    ScpError::Protocol(why.into())
                })
            }
            Ok(Some(Reply::Fatal(message))) => {
                self.discard(incoming);
                io.count_error();
                Err(ScpError::ClientFatal(
                    String::from_utf8_lossy(message).into_owned(),
                ))
            }
            Ok(Some(Reply::Warning(message))) => {
                io.verbose("client: ", message);
                // The client could not read its own file and padded the data: drop it. The
                // client has already reported the error, so ours is just the ack.
                io.count_error();
                self.discard(incoming);
                io.ack();
                self.state = State::Records;
                Ok(None)
            }
            Ok(Some(Reply::Ok)) => {
                self.finish_file(io, *incoming);
                self.state = State::Records;
                Ok(None)
            }
        }
    }

    /// Completes a fully received file: mode, times, then the ack or the noted error.
    fn finish_file(&self, io: &mut Io<'_>, incoming: Incoming) {
        let Incoming {
            file,
            path,
            display,
            write_error,
            set_mode,
            times,
            ..
        } = incoming;
        if let Some(error) = write_error {
            drop(file);
            self.remove_partial(&path);
            io.warn(&display, &error);
            return;
        }
        let mut noted = None;
        if let Some(mode) = set_mode {
            if let Err(e) = file.set_stat(&permissions(mode)) {
                noted = Some(format!("set mode: {}", reason(&e)));
            }
        }
        if let Some(times) = times {
            let attrs = SetAttrs {
                atime: Some(times.atime),
                mtime: Some(times.mtime),
                ..SetAttrs::default()
            };
            if let Err(e) = file.set_stat(&attrs) {
                noted.get_or_insert_with(|| format!("set times: {}", reason(&e)));
            }
        }
        match noted {
            Some(error) => io.warn(&display, &error),
            None => io.ack(),
        }
    }

    /// Drops a file whose transfer failed, removing it unless configured to keep it.
    fn discard(&self, incoming: Box<Incoming>) {
        let path = incoming.path.clone();
        drop(incoming);
        self.remove_partial(&path);
    }

    fn remove_partial(&self, path: &VPath) {
        if !self.config.keep_partial {
            // Nothing more can be done if this fails; the transfer is already reported failed.
            let _ = self.fs.remove(path);
        }
    }

    /// The client's EOF between records. Directories still open get their attributes (as
    /// OpenSSH's unwinding recursion does), but the transfer was cut short: that is an error.
    fn end_of_input(&mut self, io: &mut Io<'_>) {
        if !self.dirs.is_empty() {
            io.count_error();
        }
        while let Some(dir) = self.dirs.pop() {
            self.leave_dir(io, dir);
        }
    }
}

impl Drop for Sink {
    /// A session dropped mid-file (the connection went away) removes the partial file too.
    fn drop(&mut self) {
        if let State::Data(incoming) | State::Status(incoming) =
            std::mem::replace(&mut self.state, State::Done)
        {
            self.discard(incoming);
        }
    }
}

fn permissions(mode: u32) -> SetAttrs {
    SetAttrs {
        permissions: Some(mode),
        ..SetAttrs::default()
    }
}
