//! `wharf sftp-server`: the SFTP engine on stdin/stdout, as a drop-in for
//! OpenSSH's sftp-server (`Subsystem sftp /usr/bin/wharf sftp-server`, or
//! `sftp -D`). It runs as the user sshd started it as, over the whole
//! filesystem, like sftp-server does; the kernel's permissions apply.

use anyhow::Context;
use std::io::{Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::sync::Arc;
use wharf_sftp::{SftpConfig, SftpSession};
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
}

fn parse_octal(s: &str) -> Result<u32, String> {
    u32::from_str_radix(s, 8)
        .ok()
        .filter(|m| *m <= 0o777)
        .ok_or_else(|| format!("{s:?} is not an octal umask (0 to 777)"))
}

pub fn run(args: &SftpServerArgs) -> anyhow::Result<()> {
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
        ..SftpConfig::default()
    };
    if let Some(umask) = args.umask {
        config.umask = umask;
    }
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
