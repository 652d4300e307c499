//! The command line a client execs: `scp [-rpdvq] -t|-f [--] path...`.
//!
//! OpenSSH's server hands the line to the user's shell, so clients quote names with spaces
//! (`scp -f 'my file'`) and rely on the shell for `~` and globs. We do not run a shell: the line
//! is split into words with POSIX quoting, and each byte remembers whether it was quoted so
//! that glob expansion (source mode, see [`crate::glob`]) treats quoted `*` literally.

use crate::{ScpError, MAX_COMMAND};

/// One word of the command line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Word {
    /// The word with quotes removed.
    pub bytes: Vec<u8>,
    /// For each byte, whether it was quoted or escaped (and so never special).
    pub quoted: Vec<bool>,
}

impl Word {
    fn push(&mut self, byte: u8, quoted: bool) {
        self.bytes.push(byte);
        self.quoted.push(quoted);
    }

    /// Whether the word is exactly `text`, quoted or not.
    fn is(&self, text: &[u8]) -> bool {
        self.bytes == text
    }

    /// Strips trailing slashes (keeping a lone `/`), as OpenSSH's `source()` does.
    pub fn trim_trailing_slashes(&mut self) {
        while self.bytes.len() > 1 && self.bytes.last() == Some(&b'/') {
            self.bytes.pop();
            self.quoted.pop();
        }
    }

    /// Replaces an unquoted leading `~` (alone or before `/`) with `home`, as the shell does.
    /// `~user` is left alone: there are no other users in a jail.
    pub fn expand_tilde(&mut self, home: &[u8]) {
        let leading_tilde =
            self.bytes.first() == Some(&b'~') && self.quoted.first() == Some(&false);
        let then_slash_or_end = matches!(self.bytes.get(1), None | Some(b'/'));
        if !(leading_tilde && then_slash_or_end) {
            return;
        }
        // "~/x" with home "/" must give "/x", not "//x".
        let home = if home == b"/" && self.bytes.len() > 1 {
            &[][..]
        } else {
            home
        };
        let mut bytes = home.to_vec();
        let mut quoted = vec![true; home.len()];
        bytes.extend_from_slice(self.bytes.get(1..).unwrap_or_default());
        quoted.extend_from_slice(self.quoted.get(1..).unwrap_or_default());
        self.bytes = bytes;
        self.quoted = quoted;
    }
}

/// Which way the files go, seen from the server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    /// `-t`: receive files into the targets (exactly one is valid; others are reported to the
    /// client as "ambiguous target", as OpenSSH does).
    Sink(Vec<Word>),
    /// `-f`: send these files.
    Source(Vec<Word>),
}

/// A parsed scp command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Command {
    pub direction: Direction,
    /// `-r`
    pub recursive: bool,
    /// `-p`
    pub preserve: bool,
    /// `-d`
    pub target_must_be_dir: bool,
    /// `-v`
    pub verbose: bool,
}

impl Command {
    pub fn parse(line: &str) -> Result<Self, ScpError> {
        if line.len() > MAX_COMMAND {
            return Err(ScpError::CommandTooLong {
                len: line.len(),
                max: MAX_COMMAND,
            });
        }
        let words = split_words(line.as_bytes())?;
        let mut words = words.into_iter();
        let program = words.next().ok_or(ScpError::NotScp)?;
        if !(program.is(b"scp") || program.bytes.ends_with(b"/scp")) {
            return Err(ScpError::NotScp);
        }
        let (mut sink, mut source) = (false, false);
        let mut command = Command {
            direction: Direction::Sink(Vec::new()),
            recursive: false,
            preserve: false,
            target_must_be_dir: false,
            verbose: false,
        };
        let mut operands = Vec::new();
        // POSIX getopt: options until `--` or the first operand.
        for word in words.by_ref() {
            if word.is(b"--") {
                break;
            }
            let Some(flags) = word.bytes.strip_prefix(b"-").filter(|f| !f.is_empty()) else {
                operands.push(word);
                break;
            };
            for &flag in flags {
                match flag {
                    b't' => sink = true,
                    b'f' => source = true,
                    b'r' => command.recursive = true,
                    b'p' => command.preserve = true,
                    b'd' => command.target_must_be_dir = true,
                    b'v' => command.verbose = true,
                    // Quiet (no progress meter) means nothing on the server side.
                    b'q' => {}
                    other => return Err(ScpError::UnknownOption(char::from(other))),
                }
            }
        }
        operands.extend(words);
        command.direction = match (sink, source) {
            (true, true) => return Err(ScpError::BothDirections),
            (false, false) => return Err(ScpError::NoDirection),
            (true, false) => Direction::Sink(operands),
            (false, true) => Direction::Source(operands),
        };
        Ok(command)
    }
}

/// Splits a command line into words as a POSIX shell would, without expansions.
fn split_words(line: &[u8]) -> Result<Vec<Word>, ScpError> {
    let mut words = Vec::new();
    let mut current: Option<Word> = None;
    let mut bytes = line.iter().copied();
    while let Some(b) = bytes.next() {
        match b {
            b' ' | b'\t' | b'\n' => {
                if let Some(word) = current.take() {
                    words.push(word);
                }
            }
            b'\'' => {
                let word = current.get_or_insert_with(Word::default);
                loop {
                    match bytes.next() {
                        None => return Err(ScpError::CommandSyntax("unterminated single quote")),
                        Some(b'\'') => break,
                        Some(c) => word.push(c, true),
                    }
                }
            }
            b'"' => {
                let word = current.get_or_insert_with(Word::default);
                loop {
                    match bytes.next() {
                        None => return Err(ScpError::CommandSyntax("unterminated double quote")),
                        Some(b'"') => break,
                        // Inside double quotes a backslash escapes only these (POSIX 2.2.3).
                        Some(b'\\') => match bytes.next() {
                            None => {
                                return Err(ScpError::CommandSyntax("unterminated double quote"))
                            }
                            Some(b'\n') => {}
                            Some(c @ (b'$' | b'`' | b'"' | b'\\')) => word.push(c, true),
                            Some(c) => {
                                word.push(b'\\', true);
                                word.push(c, true);
                            }
                        },
                        Some(b'$' | b'`') => {
                            return Err(ScpError::CommandSyntax(
                                "shell expansions ($, `) are not supported",
                            ))
                        }
                        Some(c) => word.push(c, true),
                    }
                }
            }
            b'\\' => match bytes.next() {
                None => return Err(ScpError::CommandSyntax("trailing backslash")),
                // Line continuation.
                Some(b'\n') => {}
                Some(c) => current.get_or_insert_with(Word::default).push(c, true),
            },
            b'|' | b'&' | b';' | b'<' | b'>' | b'(' | b')' | b'$' | b'`' => {
                return Err(ScpError::CommandSyntax(
                    "shell operators and expansions are not supported",
                ))
            }
            b'#' if current.is_none() => {
                return Err(ScpError::CommandSyntax("shell comments are not supported"))
            }
            b'\0' => return Err(ScpError::CommandSyntax("NUL byte in command")),
            c => current.get_or_insert_with(Word::default).push(c, false),
        }
    }
    if let Some(word) = current {
        words.push(word);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(words: &[Word]) -> Vec<String> {
        words
            .iter()
            .map(|w| String::from_utf8_lossy(&w.bytes).into_owned())
            .collect()
    }

    fn parse(line: &str) -> Command {
        Command::parse(line).unwrap()
    }

    #[test]
    fn splits_with_posix_quoting() {
        let words = split_words(br#"scp -f 'a b' "c \"d\" \x" e\ f g''h "" x"#).unwrap();
        assert_eq!(
            texts(&words),
            ["scp", "-f", "a b", r#"c "d" \x"#, "e f", "gh", "", "x"]
        );
        let star = split_words(b"a* 'b*' \\c*").unwrap();
        assert_eq!(star[0].quoted, [false, false]);
        assert_eq!(star[1].quoted, [true, true]);
        assert_eq!(star[2].quoted, [true, false]);
    }

    #[test]
    fn refuses_shell_syntax() {
        for line in [
            "scp -f a; rm x",
            "scp -f a | b",
            "scp -f $HOME",
            "scp -f `id`",
            "scp -f \"$HOME\"",
            "scp -f a > b",
            "scp -f 'a",
            "scp -f \"a",
            "scp -f a\\",
            "scp -f #x",
        ] {
            assert!(
                matches!(Command::parse(line), Err(ScpError::CommandSyntax(_))),
                "{line}"
            );
        }
    }

    #[test]
    fn parses_openssh_command_lines() {
        let c = parse("scp -t -- /dir");
        assert_eq!(c.direction, Direction::Sink(split_words(b"/dir").unwrap()));
        assert!(!c.recursive && !c.preserve && !c.target_must_be_dir && !c.verbose);

        let c = parse("scp -r -p -f file1 file2");
        assert!(c.recursive && c.preserve);
        let Direction::Source(files) = &c.direction else {
            panic!("{c:?}")
        };
        assert_eq!(texts(files), ["file1", "file2"]);

        let c = parse("scp -v -d -t dir");
        assert!(c.verbose && c.target_must_be_dir);
        let c = parse("/usr/bin/scp -rpt -- -dash");
        assert!(c.recursive && c.preserve);
        assert_eq!(c.direction, Direction::Sink(split_words(b"-dash").unwrap()));
        // Options stop at the first operand, as POSIX getopt does.
        let c = parse("scp -f a -r");
        let Direction::Source(files) = &c.direction else {
            panic!("{c:?}")
        };
        assert_eq!(texts(files), ["a", "-r"]);
        assert!(!c.recursive);
    }

    #[test]
    fn refuses_non_scp_commands() {
        assert!(matches!(Command::parse(""), Err(ScpError::NotScp)));
        assert!(matches!(Command::parse("ls -l"), Err(ScpError::NotScp)));
        assert!(matches!(Command::parse("scpx -t ."), Err(ScpError::NotScp)));
        assert!(matches!(
            Command::parse("scp a b"),
            Err(ScpError::NoDirection)
        ));
        assert!(matches!(
            Command::parse("scp -t -f a"),
            Err(ScpError::BothDirections)
        ));
        assert!(matches!(
            Command::parse("scp -x -t a"),
            Err(ScpError::UnknownOption('x'))
        ));
        let long = format!("scp -t {}", "a".repeat(MAX_COMMAND));
        assert!(matches!(
            Command::parse(&long),
            Err(ScpError::CommandTooLong { .. })
        ));
    }

    #[test]
    fn tilde_and_slashes() {
        let mut w = split_words(b"~/x//").unwrap().remove(0);
        w.expand_tilde(b"/home/u");
        w.trim_trailing_slashes();
        assert_eq!(w.bytes, b"/home/u/x");
        assert_eq!(w.bytes.len(), w.quoted.len());
        let mut w = split_words(b"~/x").unwrap().remove(0);
        w.expand_tilde(b"/");
        assert_eq!(w.bytes, b"/x");
        let mut w = split_words(b"~").unwrap().remove(0);
        w.expand_tilde(b"/");
        assert_eq!(w.bytes, b"/");
        let mut w = split_words(b"'~'/x ~user").unwrap();
        w[0].expand_tilde(b"/h");
        w[1].expand_tilde(b"/h");
        assert_eq!(w[0].bytes, b"~/x");
        assert_eq!(w[1].bytes, b"~user");
        let mut w = split_words(b"/").unwrap().remove(0);
        w.trim_trailing_slashes();
        assert_eq!(w.bytes, b"/");
    }
}
