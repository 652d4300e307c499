//! Serves SFTP on stdin/stdout from a directory, for `sftp -D`:
//!
//! ```text
//! sftp -D "target/debug/examples/stdio_server [-R] /path/to/root"
//! ```
//!
//! `-R` makes the session read-only. The directory becomes the client's `/`.

use std::io::{self, Read, Write};
use std::process::ExitCode;
use std::sync::Arc;

use wharf_sftp::{SftpConfig, SftpSession};
use wharf_vfs::LocalFs;

/// Replies are flushed once this much output has accumulated.
const OUT_LIMIT: usize = 1 << 20;

fn main() -> ExitCode {
    let mut config = SftpConfig::default();
    let mut root = None;
    for arg in std::env::args_os().skip(1) {
        if arg == "-R" {
            config.read_only = true;
        } else {
            root = Some(arg);
        }
    }
    let Some(root) = root else {
        eprintln!("usage: stdio_server [-R] ROOT");
        return ExitCode::from(2);
    };
    let fs = match LocalFs::new(root.into()) {
        Ok(fs) => fs,
        Err(err) => {
            eprintln!("stdio_server: {err}");
            return ExitCode::FAILURE;
        }
    };
    match serve(SftpSession::new(Arc::new(fs), config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("stdio_server: {err}");
            ExitCode::FAILURE
        }
    }
}

fn serve(mut session: SftpSession) -> Result<(), Box<dyn std::error::Error>> {
    let mut stdin = io::stdin().lock();
    let mut stdout = io::stdout().lock();
    let mut buf = vec![0u8; 256 * 1024];
    let mut out = Vec::with_capacity(OUT_LIMIT + 512 * 1024);
    loop {
        let n = stdin.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        session.receive(buf.get(..n).unwrap_or_default());
        loop {
            let consumed = session.process(&mut out, OUT_LIMIT)?;
            stdout.write_all(&out)?;
            out.clear();
            if consumed == 0 {
                break;
            }
        }
        stdout.flush()?;
    }
}
