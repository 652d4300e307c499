//! Reading a password from stdin: from a terminal with a prompt on stderr
//! and echo off (asking twice), or else one line from a pipe.

use std::io::{BufRead, IsTerminal, Write};

use rustix::termios::{self, LocalModes, OptionalActions};
use zeroize::Zeroizing;

use crate::users::password::MAX_PASSWORD_LEN;

#[derive(Debug, thiserror::Error)]
pub enum ReadPasswordError {
    #[error("reading the password: {0}")]
    Io(#[from] std::io::Error),
    #[error("the password is empty")]
    Empty,
    #[error("the password is longer than {MAX_PASSWORD_LEN} bytes")]
    TooLong,
    #[error("the passwords do not match")]
    Mismatch,
}

/// Turns terminal echo off for its lifetime, restoring the previous
/// settings on drop (also on error and panic; not on a fatal signal).
struct EchoOff {
    saved: termios::Termios,
}

impl EchoOff {
    fn new() -> Option<EchoOff> {
        let stdin = std::io::stdin();
        let saved = termios::tcgetattr(&stdin).ok()?;
        let mut quiet = saved.clone();
        quiet.local_modes.remove(LocalModes::ECHO);
        // Keep the newline visible so the prompt's line still ends.
        quiet.local_modes.insert(LocalModes::ECHONL);
        termios::tcsetattr(&stdin, OptionalActions::Flush, &quiet).ok()?;
        Some(EchoOff { saved })
    }
}

impl Drop for EchoOff {
    fn drop(&mut self) {
        let _ = termios::tcsetattr(std::io::stdin(), OptionalActions::Flush, &self.saved);
    }
}

/// Reads one line of at most MAX_PASSWORD_LEN bytes, without its line end.
fn read_line(input: &mut impl BufRead) -> Result<Zeroizing<Vec<u8>>, ReadPasswordError> {
    let mut line = Zeroizing::new(Vec::with_capacity(MAX_PASSWORD_LEN + 2));
    let limit = (MAX_PASSWORD_LEN + 2) as u64;
    std::io::Read::take(&mut *input, limit).read_until(b'\n', &mut line)?;
    if line.last() == Some(&b'\n') {
        line.pop();
        if line.last() == Some(&b'\r') {
            line.pop();
        }
    } else if line.len() as u64 >= limit {
        return Err(ReadPasswordError::TooLong);
    }
    if line.is_empty() {
        return Err(ReadPasswordError::Empty);
    }
    if line.len() > MAX_PASSWORD_LEN {
        return Err(ReadPasswordError::TooLong);
    }
    Ok(line)
}

/// Reads the password for `hash-password`.
pub fn read_password() -> Result<Zeroizing<Vec<u8>>, ReadPasswordError> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return read_line(&mut stdin.lock());
    }
    let _echo = EchoOff::new();
    let prompt = |text: &str| {
        let mut err = std::io::stderr();
        let _ = err.write_all(text.as_bytes());
        let _ = err.flush();
    };
    prompt("Password: ");
    let first = read_line(&mut stdin.lock())?;
    prompt("Again: ");
    let second = read_line(&mut stdin.lock())?;
    if *first != *second {
        return Err(ReadPasswordError::Mismatch);
    }
    Ok(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(bytes: &[u8]) -> Result<Vec<u8>, ReadPasswordError> {
        read_line(&mut &bytes[..]).map(|z| z.to_vec())
    }

    #[test]
    fn one_line_without_its_end() {
        assert_eq!(read(b"hunter2\n").unwrap(), b"hunter2");
        assert_eq!(read(b"hunter2\r\nrest\n").unwrap(), b"hunter2");
        assert_eq!(read(b"no newline").unwrap(), b"no newline");
        assert_eq!(read(b" spaces kept \n").unwrap(), b" spaces kept ");
    }

    #[test]
    fn empty_and_overlong_are_refused() {
        assert!(matches!(read(b"\n"), Err(ReadPasswordError::Empty)));
        assert!(matches!(read(b""), Err(ReadPasswordError::Empty)));
        let mut long = vec![b'a'; MAX_PASSWORD_LEN];
        assert_eq!(read(&long).unwrap().len(), MAX_PASSWORD_LEN);
        long.push(b'a');
        assert!(matches!(read(&long), Err(ReadPasswordError::TooLong)));
        long.extend_from_slice(&[b'a'; 100]);
        long.push(b'\n');
        assert!(matches!(read(&long), Err(ReadPasswordError::TooLong)));
    }
}
