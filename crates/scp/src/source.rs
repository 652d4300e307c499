//! Source mode (`scp -f path...`): the client downloads. Follows OpenSSH's `source()` and
//! `rsource()`:
//!
//! 1. Wait for the client's first `\0`.
//! 2. For each path (globs in the last component expanded, see [`crate::glob`]): a regular
//!    file is sent as (`-p`: `T` record, reply) `C` record, reply, the data, `\0`, reply; a
//!    directory (`-r` only) as (`-p`: `T`, reply) `D`, reply, its entries in turn, `E`, reply.
//!    A negative reply to a `T`, `C` or `D` skips that item. A path that cannot be sent gets a
//!    warning (`\x01scp: <path>: <reason>`) and the transfer goes on with the next one.
//! 3. A file that cannot be read to the end is padded with zeros to the size announced (so the
//!    stream stays in step) and followed by a warning instead of `\0`.
//!
//! Directory listings are read in batches, so memory stays bounded whatever their size.

use std::collections::VecDeque;
use std::sync::Arc;

use wharf_vfs::{
    DirEntry, DirectOutcome, FileType, Metadata, OpenOptions, VPath, Vfs, VfsDir, VfsFile,
};

use crate::command::Word;
use crate::glob::{self, PatByte};
use crate::io::{reason, Io, Reply, Step};
use crate::record;
use crate::{ScpError, MAX_DEPTH, MAX_NAME};

/// The most file data read into the output per read call.
const CHUNK: usize = 256 * 1024;
/// Directory entries read per batch.
const DIR_BATCH: usize = 64;
/// The longest path (in the client's terms) sent, like OpenSSH's `PATH_MAX` check.
const MAX_PATH: usize = 4096;
/// The most names one glob may expand to.
const MAX_GLOB_MATCHES: usize = 65_536;

pub(crate) struct Source {
    fs: Arc<dyn Vfs>,
    recursive: bool,
    preserve: bool,
    /// Command-line operands not yet expanded.
    args: VecDeque<Word>,
    /// Paths from the last expanded operand.
    pending: VecDeque<Item>,
    /// Directories being sent, innermost last.
    stack: Vec<Frame>,
    state: State,
}

enum State {
    /// Waiting for the client's first `\0`.
    Initial,
    /// Pick the next thing to send.
    Next,
    /// Waiting for the client's reply to what was just sent.
    Await(Then),
    /// Sending a file's bytes.
    Data(Box<Outgoing>),
    Done,
}

/// What follows a positive reply (a negative one skips the item: back to `Next`).
enum Then {
    Next,
    /// `T` was acked: send the file's `C`.
    FileRecord(Box<Outgoing>),
    /// `C` was acked: send the data.
    FileData(Box<Outgoing>),
    /// `T` was acked: send the directory's `D`.
    DirRecord(Box<Opened>),
    /// `D` was acked: send the entries.
    EnterDir(Box<Opened>),
}

/// A path to send.
struct Item {
    path: VPath,
    /// As the client named it (or as found below what it named), for messages.
    display: Vec<u8>,
    /// The name in the `C` or `D` record.
    name: Vec<u8>,
}

struct Outgoing {
    file: Box<dyn VfsFile>,
    item: Item,
    meta: Metadata,
    offset: u64,
    /// The first read error; the rest of the data is sent as zeros.
    error: Option<String>,
}

struct Opened {
    dir: Box<dyn VfsDir>,
    item: Item,
    meta: Metadata,
}

struct Frame {
    dir: Box<dyn VfsDir>,
    path: VPath,
    display: Vec<u8>,
    batch: VecDeque<DirEntry>,
    exhausted: bool,
}

impl Source {
    pub fn new(fs: Arc<dyn Vfs>, args: Vec<Word>, recursive: bool, preserve: bool) -> Self {
        Self {
            fs,
            recursive,
            preserve,
            args: args.into(),
            pending: VecDeque::new(),
            stack: Vec::new(),
            state: State::Initial,
        }
    }

    pub fn run(&mut self, io: &mut Io<'_>) -> Result<Step, ScpError> {
        loop {
            if io.out_full() || io.paused {
                return Ok(Step::OutputFull);
            }
            match std::mem::replace(&mut self.state, State::Done) {
                State::Initial => match reply(io)? {
                    None => {
                        self.state = State::Initial;
                        return Ok(Step::NeedInput);
                    }
                    // OpenSSH ignores what the first reply says, short of a fatal one.
                    Some(_) => self.state = State::Next,
                },
                State::Await(then) => match reply(io)? {
                    None => {
                        self.state = State::Await(then);
                        return Ok(Step::NeedInput);
                    }
                    Some(false) => self.state = State::Next,
                    Some(true) => self.proceed(io, then),
                },
                State::Next => {
                    if !self.next(io) {
                        return Ok(Step::Done);
                    }
                }
                State::Data(outgoing) => self.data(io, outgoing),
                State::Done => return Ok(Step::Done),
            }
        }
    }

    fn proceed(&mut self, io: &mut Io<'_>, then: Then) {
        self.state = match then {
            Then::Next => State::Next,
            Then::FileRecord(outgoing) => {
                self.send_file_record(io, &outgoing);
                State::Await(Then::FileData(outgoing))
            }
            Then::FileData(outgoing) => State::Data(outgoing),
            Then::DirRecord(opened) => {
                self.send_dir_record(io, &opened);
                State::Await(Then::EnterDir(opened))
            }
            Then::EnterDir(opened) => {
                let Opened { dir, item, .. } = *opened;
                self.stack.push(Frame {
                    dir,
                    path: item.path,
                    display: item.display,
                    batch: VecDeque::new(),
                    exhausted: false,
                });
                State::Next
            }
        };
    }

    /// Starts on the next path; false when there is none left.
    fn next(&mut self, io: &mut Io<'_>) -> bool {
        self.state = State::Next;
        if let Some(frame) = self.stack.last_mut() {
            match next_entry(frame, io) {
                Some(entry) => {
                    if entry.name == b"." || entry.name == b".." {
                        return true;
                    }
                    let mut display = frame.display.clone();
                    if display.last() != Some(&b'/') {
                        display.push(b'/');
                    }
                    display.extend_from_slice(&entry.name);
                    if display.len() > MAX_PATH || entry.name.len() > MAX_NAME {
                        io.warn(&display, "name too long");
                        return true;
                    }
                    let item = Item {
                        path: frame.path.join(&entry.name),
                        display,
                        name: entry.name,
                    };
                    self.send_item(io, item);
                }
                None => {
                    self.stack.pop();
                    io.out.extend_from_slice(b"E\n");
                    self.state = State::Await(Then::Next);
                }
            }
            return true;
        }
        if let Some(item) = self.pending.pop_front() {
            self.send_item(io, item);
            return true;
        }
        match self.args.pop_front() {
            Some(word) => {
                let items = self.expand(word);
                self.pending.extend(items);
                true
            }
            None => {
                self.state = State::Done;
                false
            }
        }
    }

    /// Turns an operand into paths: `~` and trailing slashes as the shell and OpenSSH treat
    /// them, then the glob in the last component, if any.
    fn expand(&self, mut word: Word) -> Vec<Item> {
        word.expand_tilde(self.fs.home().as_bytes());
        word.trim_trailing_slashes();
        let split = word.bytes.iter().rposition(|&b| b == b'/');
        let last_start = split.map_or(0, |at| at + 1);
        let pattern: Vec<PatByte> = word
            .bytes
            .iter()
            .copied()
            .zip(word.quoted.iter().copied())
            .skip(last_start)
            .collect();
        if glob::has_magic(&pattern) {
            let parent_display = match split {
                Some(0) => b"/".to_vec(),
                Some(at) => word.bytes.get(..at).unwrap_or_default().to_vec(),
                None => Vec::new(),
            };
            let matches = self.glob(&parent_display, &pattern);
            if !matches.is_empty() {
                return matches;
            }
        }
        // No pattern, or nothing matched: the word names itself, as in `sh`.
        let path = self.fs.resolve(&word.bytes);
        let name = path.file_name().to_vec();
        vec![Item {
            path,
            display: word.bytes,
            name,
        }]
    }

    /// The entries of `parent` whose names match `pattern`, sorted.
    fn glob(&self, parent_display: &[u8], pattern: &[PatByte]) -> Vec<Item> {
        let parent = self.fs.resolve(parent_display);
        let Ok(mut dir) = self.fs.open_dir(&parent) else {
            return Vec::new();
        };
        let mut names = Vec::new();
        let mut batch = Vec::new();
        loop {
            batch.clear();
            if dir.read_batch(&mut batch, DIR_BATCH).is_err() || batch.is_empty() {
                break;
            }
            for entry in batch.drain(..) {
                if entry.name != b"." && entry.name != b".." && glob::matches(pattern, &entry.name)
                {
                    names.push(entry.name);
                }
            }
            if names.len() > MAX_GLOB_MATCHES {
                names.truncate(MAX_GLOB_MATCHES);
                break;
            }
        }
        names.sort_unstable();
        names
            .into_iter()
            .map(|name| {
                let mut display = parent_display.to_vec();
                if !display.is_empty() && display.last() != Some(&b'/') {
                    display.push(b'/');
                }
                display.extend_from_slice(&name);
                Item {
                    path: parent.join(&name),
                    display,
                    name,
                }
            })
            .collect()
    }

    /// Sends the first record for a path, or a warning saying why it cannot be sent.
    fn send_item(&mut self, io: &mut Io<'_>, item: Item) {
        if item.name.contains(&b'\n') {
            io.warn(&item.display, "skipping, filename contains a newline");
            return;
        }
        if item.name.is_empty() {
            io.warn(&item.display, "cannot copy the root directory by name");
            return;
        }
        let meta = match self.fs.stat(&item.path) {
            Ok(meta) => meta,
            Err(e) => return io.warn(&item.display, &reason(&e)),
        };
        match meta.file_type {
            FileType::Directory if self.recursive => self.send_dir(io, item, meta),
            FileType::Regular => self.send_file(io, item),
            _ => io.warn(&item.display, "not a regular file"),
        }
    }

    fn send_file(&mut self, io: &mut Io<'_>, item: Item) {
        let file = match self.fs.open(&item.path, &OpenOptions::default()) {
            Ok(file) => file,
            Err(e) => return io.warn(&item.display, &reason(&e)),
        };
        // The size and mode sent are those of the file opened, not of the path looked up.
        let meta = match file.stat() {
            Ok(meta) if meta.file_type == FileType::Regular => meta,
            Ok(_) => return io.warn(&item.display, "not a regular file"),
            Err(e) => return io.warn(&item.display, &reason(&e)),
        };
        let outgoing = Box::new(Outgoing {
            file,
            item,
            meta,
            offset: 0,
            error: None,
        });
        if self.preserve {
            self.send_times(io, &outgoing.meta);
            self.state = State::Await(Then::FileRecord(outgoing));
        } else {
            self.send_file_record(io, &outgoing);
            self.state = State::Await(Then::FileData(outgoing));
        }
    }

    fn send_dir(&mut self, io: &mut Io<'_>, item: Item, meta: Metadata) {
        if self.stack.len() >= MAX_DEPTH {
            return io.warn(&item.display, "directory nesting too deep");
        }
        let dir = match self.fs.open_dir(&item.path) {
            Ok(dir) => dir,
            Err(e) => return io.warn(&item.display, &reason(&e)),
        };
        let opened = Box::new(Opened { dir, item, meta });
        if self.preserve {
            self.send_times(io, &opened.meta);
            self.state = State::Await(Then::DirRecord(opened));
        } else {
            self.send_dir_record(io, &opened);
            self.state = State::Await(Then::EnterDir(opened));
        }
    }

    fn send_times(&self, io: &mut Io<'_>, meta: &Metadata) {
        let start = io.out.len();
        record::write_times(io.out, meta.mtime, meta.atime);
        log_record(io, "Sending file timestamps: ", start);
    }

    fn send_file_record(&self, io: &mut Io<'_>, outgoing: &Outgoing) {
        let start = io.out.len();
        record::write_file(
            io.out,
            outgoing.meta.permissions,
            outgoing.meta.size,
            &outgoing.item.name,
        );
        log_record(io, "Sending file modes: ", start);
    }

    fn send_dir_record(&self, io: &mut Io<'_>, opened: &Opened) {
        let start = io.out.len();
        record::write_dir(io.out, opened.meta.permissions, &opened.item.name);
        log_record(io, "Entering directory: ", start);
    }

    /// Sends file bytes up to the output limit; after the last one, `\0` or the read error.
    fn data(&mut self, io: &mut Io<'_>, mut outgoing: Box<Outgoing>) {
        loop {
            let remaining = outgoing.meta.size.saturating_sub(outgoing.offset);
            if remaining == 0 {
                match outgoing.error.take() {
                    Some(error) => io.warn(&outgoing.item.display, &error),
                    None => io.ack(),
                }
                self.state = State::Await(Then::Next);
                return;
            }
            // Straight into the SSH packets while nothing waits in `out` before the data. After
            // a read error the rest is sent as zeros from `out`, as OpenSSH's scp does.
            if outgoing.error.is_none() && io.out.is_empty() {
                if let Some(direct) = io.direct.as_deref_mut() {
                    let want = usize::try_from(remaining).map_or(CHUNK, |r| r.min(CHUNK));
                    let mut read = Ok(0);
                    let (file, offset) = (&outgoing.file, outgoing.offset);
                    let outcome = direct.send_with(want, &mut |areas| {
                        read = file.read_vectored_at(areas, offset);
                        *read.as_ref().unwrap_or(&0)
                    });
                    match (outcome, read) {
                        (DirectOutcome::Sent(n), _) if n > 0 => {
                            outgoing.offset = outgoing.offset.saturating_add(n as u64);
                            continue;
                        }
                        (DirectOutcome::Sent(_), Ok(_)) => {
                            outgoing.error = Some("file shrank while being sent".into());
                            continue;
                        }
                        (DirectOutcome::Sent(_), Err(e)) => {
                            outgoing.error = Some(reason(&e));
                            continue;
                        }
                        (DirectOutcome::Later, _) => {
                            io.paused = true;
                            self.state = State::Data(outgoing);
                            return;
                        }
                        (DirectOutcome::Refused, _) => {}
                    }
                }
            }
            let room = io.out_room();
            if room == 0 {
                self.state = State::Data(outgoing);
                return;
            }
            let want = usize::try_from(remaining)
                .map_or(room, |r| r.min(room))
                .min(CHUNK);
            let start = io.out.len();
            io.out.resize(start.saturating_add(want), 0);
            let mut sent = want;
            if outgoing.error.is_none() {
                let buf = io.out.get_mut(start..).unwrap_or_default();
                match outgoing.file.read_at(buf, outgoing.offset) {
                    // Shorter than announced: the file shrank while being sent.
                    Ok(0) => outgoing.error = Some("file shrank while being sent".into()),
                    Ok(n) => {
                        sent = n.min(want);
                        io.out.truncate(start.saturating_add(sent));
                    }
                    Err(e) => outgoing.error = Some(reason(&e)),
                }
            }
            outgoing.offset = outgoing.offset.saturating_add(sent as u64);
        }
    }
}

/// The client's reply: `Some(true)` for `\0`, `Some(false)` for a warning (counted), `None`
/// if it has not arrived; a fatal reply or the end of input ends the transfer.
fn reply(io: &mut Io<'_>) -> Result<Option<bool>, ScpError> {
    match io.reply() {
        Ok(None) => Ok(None),
        Ok(Some(Reply::Ok)) => Ok(Some(true)),
        Ok(Some(Reply::Warning(message))) => {
            io.verbose("client: ", message);
            io.count_error();
            Ok(Some(false))
        }
        Ok(Some(Reply::Fatal(message))) => {
            io.count_error();
            Err(ScpError::ClientFatal(
                String::from_utf8_lossy(message).into_owned(),
            ))
        }
        Err(why) if io.eof => {
            io.count_error();
            Err(ScpError::UnexpectedEof(why))
        }
        Err(why) => {
            io.fatal(format!("protocol error: {why}").as_bytes());
            Err(ScpError::Protocol(why.into()))
        }
    }
}

/// The next entry of a directory being sent; `None` once it is exhausted (a listing error
/// is reported and ends the listing).
fn next_entry(frame: &mut Frame, io: &mut Io<'_>) -> Option<DirEntry> {
    if frame.batch.is_empty() && !frame.exhausted {
        let mut batch = Vec::new();
        match frame.dir.read_batch(&mut batch, DIR_BATCH) {
            Ok(()) if batch.is_empty() => frame.exhausted = true,
            Ok(()) => frame.batch.extend(batch),
            Err(e) => {
                io.warn(&frame.display, &reason(&e));
                frame.exhausted = true;
            }
        }
    }
    frame.batch.pop_front()
}

/// `-v`: the record just written, without its `\n`.
fn log_record(io: &mut Io<'_>, prefix: &str, start: usize) {
    if io.stderr.is_some() {
        let line = io.out.get(start..).unwrap_or_default();
        let line = line.strip_suffix(b"\n").unwrap_or(line).to_vec();
        io.verbose(prefix, &line);
    }
}
