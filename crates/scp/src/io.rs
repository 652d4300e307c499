//! What one [`crate::ScpSession::process`] call works with: the buffered input (read through a
//! cursor, never indexed), the output buffer and its limit, and the replies both directions
//! share (`\0`, warnings, fatal errors).

use std::io::Write as _;

use wharf_vfs::{DirectReply, VfsError};

use crate::MAX_LINE;

/// Why an engine returned from its loop.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// It needs more input (or the end of input) to go on.
    NeedInput,
    /// `out` reached the caller's limit.
    OutputFull,
    /// The transfer is over.
    Done,
}

/// A line read from the input.
pub(crate) enum Line<'a> {
    /// A complete line, without its `\n`.
    Complete(&'a [u8]),
    /// No complete line yet; more input may come.
    Incomplete,
    /// The input ended exactly here, between lines.
    End,
    /// The input ended in the middle of a line.
    Truncated,
    /// No `\n` within [`MAX_LINE`] bytes.
    TooLong,
}

/// What the peer answered to a record or to a file's data.
pub(crate) enum Reply<'a> {
    /// `\0`.
    Ok,
    /// `\x01` and a message: skip this item, carry on.
    Warning(&'a [u8]),
    /// `\x02` or an unknown byte, and a message: the transfer is over.
    Fatal(&'a [u8]),
}

/// The state of one `process` call.
pub(crate) struct Io<'a> {
    input: &'a [u8],
    /// Bytes of `input` consumed so far.
    pub pos: usize,
    /// The client sent EOF; no input beyond `input` will come.
    pub eof: bool,
    pub out: &'a mut Vec<u8>,
    out_limit: usize,
    /// Errors so far in the session (OpenSSH's `errs`), for the exit status.
    pub errors: &'a mut u32,
    /// Diagnostics for stderr (`-v`), or `None` when not verbose.
    pub stderr: Option<&'a mut Vec<u8>>,
    /// Where file data can go without `out` (see [`wharf_vfs::DirectReply`]).
    pub direct: Option<&'a mut dyn DirectReply>,
    /// A direct send asked to wait for room: stop as if `out` were full.
    pub paused: bool,
}

/// Verbose diagnostics are dropped beyond this much pending text, so a client that never lets
/// the driver drain stderr cannot make it grow without bound.
const MAX_STDERR: usize = 64 * 1024;

impl<'a> Io<'a> {
    pub fn new(
        input: &'a [u8],
        eof: bool,
        out: &'a mut Vec<u8>,
        out_limit: usize,
        errors: &'a mut u32,
        stderr: Option<&'a mut Vec<u8>>,
        direct: Option<&'a mut dyn DirectReply>,
    ) -> Self {
        Self {
            input,
            pos: 0,
            eof,
            out,
            out_limit,
            errors,
            stderr,
            direct,
            paused: false,
        }
    }

    /// The unconsumed input.
    pub fn rest(&self) -> &'a [u8] {
        self.input.get(self.pos..).unwrap_or_default()
    }

    /// Marks `n` more input bytes as consumed.
    pub fn consume(&mut self, n: usize) {
        self.pos = self.pos.saturating_add(n).min(self.input.len());
    }

    pub fn out_full(&self) -> bool {
        self.out.len() >= self.out_limit
    }

    /// Room left in `out` before the limit.
    pub fn out_room(&self) -> usize {
        self.out_limit.saturating_sub(self.out.len())
    }

    /// Takes one `\n`-terminated line.
    pub fn line(&mut self) -> Line<'a> {
        let rest = self.rest();
        let window = rest.get(..MAX_LINE).unwrap_or(rest);
        match window.iter().position(|&b| b == b'\n') {
            Some(at) => {
                self.consume(at + 1);
                Line::Complete(window.get(..at).unwrap_or_default())
            }
            None if window.len() >= MAX_LINE => Line::TooLong,
            None if !self.eof => Line::Incomplete,
            None if rest.is_empty() => Line::End,
            None => Line::Truncated,
        }
    }

    /// Reads the peer's answer, as OpenSSH's `response()`: one byte, and for anything but `\0`
    /// a message line. `Ok(None)`: not all of it has arrived yet. `Err`: the input ended or
    /// the line is too long.
    pub fn reply(&mut self) -> Result<Option<Reply<'a>>, &'static str> {
        let rest = self.rest();
        let Some((&first, after)) = rest.split_first() else {
            return if self.eof {
                Err("lost connection")
            } else {
                Ok(None)
            };
        };
        if first == 0 {
            self.consume(1);
            return Ok(Some(Reply::Ok));
        }
        let window = after.get(..MAX_LINE).unwrap_or(after);
        match window.iter().position(|&b| b == b'\n') {
            Some(at) => {
                self.consume(at + 2);
                // An unknown first byte is part of the message, as in OpenSSH.
                let message = if first == 1 || first == 2 {
                    window.get(..at).unwrap_or_default()
                } else {
                    rest.get(..=at).unwrap_or_default()
                };
                Ok(Some(if first == 1 {
                    Reply::Warning(message)
                } else {
                    Reply::Fatal(message)
                }))
            }
            None if window.len() >= MAX_LINE => Err("reply line too long"),
            None if self.eof => Err("lost connection"),
            None => Ok(None),
        }
    }

    /// `\0`: the record or data was accepted.
    pub fn ack(&mut self) {
        self.out.push(0);
    }

    /// `\x01scp: <name>: <reason>\n`: this item failed, the transfer goes on.
    pub fn warn(&mut self, name: &[u8], reason: &str) {
        let mut message = name.to_vec();
        message.extend_from_slice(b": ");
        message.extend_from_slice(reason.as_bytes());
        self.message(1, &message);
    }

    /// `\x02scp: <message>\n`: the transfer ends.
    pub fn fatal(&mut self, message: &[u8]) {
        self.message(2, message);
    }

    fn message(&mut self, code: u8, message: &[u8]) {
        *self.errors = self.errors.saturating_add(1);
        self.out.push(code);
        self.out.extend_from_slice(b"scp: ");
        push_visible(self.out, message);
        // Not copied to stderr: the client prints it already (OpenSSH's server-side scp
        // writes run_err() messages only to the stream).
        self.out.push(b'\n');
    }

    /// Counts an error without telling the client (it told us, or it is gone).
    pub fn count_error(&mut self) {
        *self.errors = self.errors.saturating_add(1);
    }

    /// A `-v` diagnostic line.
    pub fn verbose(&mut self, prefix: &str, text: &[u8]) {
        if let Some(stderr) = self.stderr.as_deref_mut() {
            if stderr.len() < MAX_STDERR {
                stderr.extend_from_slice(prefix.as_bytes());
                push_visible(stderr, text);
                stderr.push(b'\n');
            }
        }
    }
}

/// Appends `text` with control bytes shown as `\ooo` (as OpenSSH's `strnvis` does), so a name
/// cannot end a message line early or drive the client's terminal. Other bytes, UTF-8
/// included, pass unchanged.
pub(crate) fn push_visible(out: &mut Vec<u8>, text: &[u8]) {
    for &b in text {
        if b < 0x20 || b == 0x7f {
            let _ = write!(out, "\\{b:03o}");
        } else {
            out.push(b);
        }
    }
}

/// The reason for a filesystem error as `strerror()` words it, which is what OpenSSH's scp
/// puts in its messages: "No such file or directory", not "open: ... (os error 2)".
pub(crate) fn reason(err: &VfsError) -> String {
    match err {
        VfsError::Os { errno, .. } => {
            let text = std::io::Error::from_raw_os_error(*errno).to_string();
            let suffix = format!(" (os error {errno})");
            text.strip_suffix(&suffix).unwrap_or(&text).to_owned()
        }
        VfsError::InvalidPath { reason, .. } => format!("invalid path: {reason}"),
        VfsError::NotRegularFile { .. } => "not a regular file".to_owned(),
        VfsError::Unsupported { .. } => "Operation not supported".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_strerror() {
        let err = VfsError::Os {
            op: "open",
            errno: 2,
        };
        assert_eq!(reason(&err), "No such file or directory");
        let err = VfsError::Os {
            op: "open",
            errno: 20,
        };
        assert_eq!(reason(&err), "Not a directory");
        assert_eq!(
            reason(&VfsError::NotRegularFile { op: "open" }),
            "not a regular file"
        );
    }

    #[test]
    fn control_bytes_are_escaped() {
        let mut out = Vec::new();
        push_visible(&mut out, "a\nb\x01\x7fé".as_bytes());
        assert_eq!(out, "a\\012b\\001\\177é".as_bytes());
    }

    #[test]
    fn lines_and_replies() {
        let mut out = Vec::new();
        let mut errors = 0;
        let input = b"C0644 1 x\n\0\x01scp: warn\n\x02bad\nx";
        let mut io = Io::new(input, false, &mut out, 100, &mut errors, None, None);
        assert!(matches!(io.line(), Line::Complete(b"C0644 1 x")));
        assert!(matches!(io.reply(), Ok(Some(Reply::Ok))));
        assert!(matches!(io.reply(), Ok(Some(Reply::Warning(b"scp: warn")))));
        assert!(matches!(io.reply(), Ok(Some(Reply::Fatal(b"bad")))));
        assert!(matches!(io.line(), Line::Incomplete));
        assert!(matches!(io.reply(), Ok(None)));
        io.eof = true;
        assert!(matches!(io.line(), Line::Truncated));
        assert!(matches!(io.reply(), Err("lost connection")));
        io.consume(1);
        assert!(matches!(io.line(), Line::End));

        // An unknown status byte is fatal and part of the message.
        let mut io = Io::new(b"Xoops\n", false, &mut out, 100, &mut errors, None, None);
        assert!(matches!(io.reply(), Ok(Some(Reply::Fatal(b"Xoops")))));

        let long = vec![b'a'; MAX_LINE];
        let mut io = Io::new(&long, false, &mut out, 100, &mut errors, None, None);
        assert!(matches!(io.line(), Line::TooLong));
        let mut long_reply = vec![1u8];
        long_reply.extend_from_slice(&long);
        let mut io = Io::new(&long_reply, false, &mut out, 100, &mut errors, None, None);
        assert!(matches!(io.reply(), Err("reply line too long")));
    }

    #[test]
    fn messages_count_errors() {
        let mut out = Vec::new();
        let mut errors = 0;
        let mut stderr = Vec::new();
        let mut io = Io::new(
            b"",
            false,
            &mut out,
            100,
            &mut errors,
            Some(&mut stderr),
            None,
        );
        io.verbose("Sink: ", b"C0644 1 a\nb");
        io.warn(b"/x", "No such file or directory");
        io.fatal(b"protocol error: bad\nmode");
        io.ack();
        assert_eq!(
            out,
            b"\x01scp: /x: No such file or directory\n\x02scp: protocol error: bad\\012mode\n\0"
        );
        assert_eq!(errors, 2);
        assert_eq!(stderr, b"Sink: C0644 1 a\\012b\n");
    }
}
