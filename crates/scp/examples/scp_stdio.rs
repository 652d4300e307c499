//! Serves one scp command on stdin/stdout from a directory, standing in for `ssh host cmd`
//! so that OpenSSH's real `scp` client can be run against the engine:
//!
//! ```text
//! WHARF_SCP_ROOT=/path/to/root scp -O -S target/debug/examples/scp_stdio file host:dir/
//! ```
//!
//! `scp -S prog` runs `prog [ssh options...] [--] host command...`; the options and the host
//! are skipped and the rest joined with spaces into the command, as sshd would receive it.
//! The directory becomes the client's `/`. Exits with the transfer's status; `-v`
//! diagnostics go to stderr, and so does the reason a transfer failed if `WHARF_SCP_LOG` is
//! set.

use std::ffi::OsString;
use std::io::{self, Read, Write};
use std::process::ExitCode;
use std::sync::Arc;

use wharf_scp::{ScpConfig, ScpSession};
use wharf_vfs::LocalFs;

/// Output is flushed once this much has accumulated.
const OUT_LIMIT: usize = 256 * 1024;

/// ssh options that take a value as the next argument (ssh(1)'s getopt string).
const OPTIONS_WITH_VALUE: &[u8] = b"BbcDEeFIiJLlmOoPpQRSWw";

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let Some(command) = command_from_args(&args) else {
        eprintln!("usage: WHARF_SCP_ROOT=DIR scp_stdio [ssh options] [--] host command...");
        return ExitCode::from(2);
    };
    let Some(root) = std::env::var_os("WHARF_SCP_ROOT") else {
        eprintln!("scp_stdio: WHARF_SCP_ROOT is not set");
        return ExitCode::from(2);
    };
    let fs = match LocalFs::new(root.into()) {
        Ok(fs) => fs,
        Err(err) => {
            eprintln!("scp_stdio: {err}");
            return ExitCode::FAILURE;
        }
    };
    let session = match ScpSession::from_command(Arc::new(fs), &command, ScpConfig::default()) {
        Ok(session) => session,
        Err(err) => {
            eprintln!("scp_stdio: refusing {command:?}: {err}");
            return ExitCode::from(2);
        }
    };
    match serve(session) {
        Ok(status) => ExitCode::from(u8::try_from(status).unwrap_or(1)),
        Err(err) => {
            eprintln!("scp_stdio: {err}");
            ExitCode::FAILURE
        }
    }
}

/// Skips ssh's options and the host; joins the rest.
fn command_from_args(args: &[OsString]) -> Option<String> {
    let mut rest = args.iter().map(|a| a.to_string_lossy().into_owned());
    loop {
        let arg = rest.next()?;
        if arg == "--" {
            rest.next()?; // the host
            break;
        }
        match arg.strip_prefix('-') {
            Some(flags) if !flags.is_empty() => {
                // "-l user" takes the next argument; "-luser" and "-oX=y" do not.
                let first = flags.as_bytes().first().copied().unwrap_or(0);
                if flags.len() == 1 && OPTIONS_WITH_VALUE.contains(&first) {
                    rest.next()?;
                }
            }
            // The host.
            _ => break,
        }
    }
    let words: Vec<String> = rest.collect();
    (!words.is_empty()).then(|| words.join(" "))
}

fn serve(mut session: ScpSession) -> io::Result<u32> {
    let mut stdin = io::stdin().lock();
    let mut stdout = io::stdout().lock();
    let mut stderr = io::stderr();
    let mut buf = vec![0u8; 64 * 1024];
    let mut out = Vec::with_capacity(OUT_LIMIT + 64 * 1024);
    let mut eof = false;
    loop {
        // Work until the session needs the client.
        loop {
            out.clear();
            let result = session.process(&mut out, OUT_LIMIT);
            stdout.write_all(&out)?;
            stdout.flush()?;
            stderr.write_all(&session.take_stderr())?;
            // The client has been told already (in-band); like sshd's log, the reason is for
            // the operator, so it is printed only on request.
            if let Err(err) = result {
                if std::env::var_os("WHARF_SCP_LOG").is_some() {
                    eprintln!("scp_stdio: {err}");
                }
            }
            if let Some(status) = session.finished() {
                return Ok(status);
            }
            if !session.wants_process() {
                break;
            }
        }
        if eof {
            // The engine always finishes once it has seen EOF; never spin if it did not.
            return Ok(1);
        }
        let n = stdin.read(&mut buf)?;
        if n == 0 {
            eof = true;
            session.receive_eof();
        } else {
            session.receive(buf.get(..n).unwrap_or_default());
        }
    }
}
