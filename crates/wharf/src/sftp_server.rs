//! `wharf sftp-server`: the SFTP engine on stdin/stdout, as a drop-in for
//! OpenSSH's sftp-server (`Subsystem sftp /usr/bin/wharf sftp-server`, or
//! `sftp -D`). It runs as the user sshd started it as, over the whole
//! filesystem, like sftp-server does; the kernel's permissions apply.

use anyhow::Context;
use std::io::{Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::sync::Arc;
use wharf_sftp::{RequestFilter, SftpConfig, SftpSession};
use wharf_vfs::{LocalFs, VPath};

/// Bytes of replies produced before they are written out.
const OUTPUT_LIMIT: usize = 1024 * 1024;

#[derive(Debug, clap::Args)]
pub struct SftpServerArgs {
    /// Start in this directory instead of the current one (sftp-server's -d;
    /// %d and %u are not expanded: sshd does not pass them here).
    #[arg(short = 'd', value_name = "DIR")]
    pub start_dir: Option<PathBuf>,
    /// Read-only: refuse every request that would change the filesystem.
    #[arg(short = 'R')]
    pub read_only: bool,
    /// Umask (octal) for files and directories the client creates.
    #[arg(short = 'u', value_name = "UMASK", value_parser = parse_octal)]
    pub umask: Option<u32>,
    /// Accepted for compatibility with sftp-server's -e (logs always go to stderr).
    #[arg(short = 'e')]
    pub log_stderr: bool,
    /// Accepted for compatibility with sftp-server's -f (syslog facility); ignored.
    #[arg(short = 'f', value_name = "FACILITY")]
    pub facility: Option<String>,
    /// Refuse these requests with PERMISSION_DENIED: a comma-separated list of the names
    /// `-Q requests` prints (sftp-server's -P).
    #[arg(short = 'P', value_name = "DENIED_REQUESTS")]
    pub deny: Option<String>,
    /// Serve only these requests; others get PERMISSION_DENIED (sftp-server's -p). A request
    /// in both lists is refused.
    #[arg(short = 'p', value_name = "ALLOWED_REQUESTS")]
    pub allow: Option<String>,
    /// Print what the server supports and exit: `requests` lists the request names -P and -p
    /// take (sftp-server's -Q).
    #[arg(short = 'Q', value_name = "FEATURE")]
    pub query: Option<String>,
}

/// The log filter for sftp-server's `-l` levels (QUIET, FATAL, ERROR, INFO, VERBOSE, DEBUG,
/// DEBUG1-3), in any case; anything else is taken as a tracing filter, as `wharf -l` takes.
pub fn log_filter(level: &str) -> String {
    let mapped = match level.to_ascii_uppercase().as_str() {
        "QUIET" => "off",
        "FATAL" | "ERROR" => "error",
        "INFO" => "info",
        "VERBOSE" | "DEBUG" | "DEBUG1" => "debug",
        "DEBUG2" | "DEBUG3" => "trace",
        _ => return level.to_owned(),
    };
    mapped.to_owned()
}

/// A comma-separated request list, as sftp-server's -P and -p take it.
fn request_list(list: &str) -> Vec<String> {
    list.split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(str::to_owned)
        .collect()
}

fn parse_octal(s: &str) -> Result<u32, String> {
    u32::from_str_radix(s, 8)
        .ok()
        .filter(|m| *m <= 0o777)
        .ok_or_else(|| format!("{s:?} is not an octal umask (0 to 777)"))
}

pub fn run(args: &SftpServerArgs) -> anyhow::Result<()> {
    if let Some(feature) = &args.query {
        if feature != "requests" {
            anyhow::bail!("-Q: unknown feature {feature:?}; supported: requests");
        }
        let mut stdout = std::io::stdout().lock();
        for name in wharf_sftp::request_names() {
            writeln!(stdout, "{name}").context("writing stdout")?;
        }
        return Ok(());
    }
    let start = match &args.start_dir {
        Some(dir) => dir.clone(),
        None => std::env::current_dir().context("cannot determine the current directory")?,
    };
    let start = std::fs::canonicalize(&start)
        .with_context(|| format!("start directory {}", start.display()))?;
    let fs = LocalFs::new(PathBuf::from("/"))
        .context("cannot open the filesystem root")?
        .with_home(VPath::from_absolute(start.as_os_str().as_bytes()));
    let mut config = SftpConfig {
        read_only: args.read_only,
        requests: RequestFilter {
            deny: args.deny.as_deref().map(request_list).unwrap_or_default(),
            allow: args.allow.as_deref().map(request_list),
        },
        ..SftpConfig::default()
    };
    if let Some(umask) = args.umask {
        config.umask = umask;
    }
    // A misspelt name must not leave a request the administrator meant to deny allowed.
    config.check().context("-P/-p")?;
    let mut session = SftpSession::new(Arc::new(fs), config);
    let mut stdin = std::io::stdin().lock();
    let mut stdout = std::io::stdout().lock();
    let mut inbuf = vec![0u8; 256 * 1024];
    let mut out = Vec::with_capacity(OUTPUT_LIMIT + 300 * 1024);
    loop {
        let n = match stdin.read(&mut inbuf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e).context("reading stdin"),
        };
        session.receive(&inbuf[..n]);
        loop {
            out.clear();
            let consumed = session.process(&mut out, OUTPUT_LIMIT)?;
            stdout.write_all(&out).context("writing stdout")?;
            if consumed == 0 && out.len() < OUTPUT_LIMIT {
                break;
            }
        }
        stdout.flush().context("writing stdout")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openssh_log_levels_map_to_tracing() {
        assert_eq!(log_filter("QUIET"), "off");
        assert_eq!(log_filter("error"), "error");
        assert_eq!(log_filter("Verbose"), "debug");
        assert_eq!(log_filter("DEBUG3"), "trace");
        // Not an sftp-server level: a tracing filter, passed on.
        assert_eq!(log_filter("wharf_sftp=debug"), "wharf_sftp=debug");
    }

    #[test]
    fn request_lists_split_on_commas() {
        assert_eq!(request_list("open, read,,write"), ["open", "read", "write"]);
        assert!(request_list("").is_empty());
    }
}
