//! Command-line interface: the subcommands and their options.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "wharf",
    version,
    about = "An SFTP and SCP server with its own SSH transport",
    propagate_version = true
)]
pub struct Cli {
    /// Log filter for stderr: a level (error, warn, info, debug, trace) or
    /// tracing directives like "wharf=debug". Overrides RUST_LOG.
    #[arg(short = 'l', long, global = true, value_name = "LEVEL")]
    pub log_level: Option<String>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server. Without --config: one user (you) rooted at the data
    /// folder, with a one-time password, on 127.0.0.1:2222.
    Serve(ServeArgs),
    /// Check a config file: prints "FILE: OK", or every problem as
    /// FILE:LINE:COL: message and exits with status 1.
    CheckConfig {
        /// The config file.
        file: PathBuf,
    },
    /// Read a password (one line) on stdin and print its argon2id hash for
    /// the config's `password_hash`.
    HashPassword,
    /// Generate a key pair: FILE (OpenSSH private key, mode 0600) and FILE.pub.
    Keygen(KeygenArgs),
    /// Speak SFTP on stdin/stdout, as a drop-in for OpenSSH's sftp-server
    /// (`Subsystem sftp /path/to/wharf sftp-server`, or `sftp -D`).
    SftpServer(crate::sftp_server::SftpServerArgs),
}

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Config file (TOML). Without it, wharf runs in zero-config mode.
    #[arg(short, long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Address to listen on, such as 127.0.0.1:2222 or [::]:22 (port 0: any
    /// free port). Repeatable; replaces the config's `listen`.
    #[arg(long = "listen", value_name = "ADDR")]
    pub listen: Vec<SocketAddr>,

    /// Folder for host keys. Zero-config default: ./wharf-state. With
    /// --config: used when the file has no `host_keys`.
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,

    /// Zero-config mode: the folder the user sees as "/" (default ./wharf-data).
    #[arg(long, value_name = "DIR", conflicts_with = "config")]
    pub data_dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KeyType {
    Ed25519,
    Ecdsa,
    Rsa,
}

#[derive(Debug, clap::Args)]
pub struct KeygenArgs {
    /// Key type.
    #[arg(short = 't', long = "type", value_enum, default_value = "ed25519")]
    pub key_type: KeyType,

    /// Key size: ECDSA 256, 384 or 521 (default 256); RSA 2048, 3072, 4096
    /// or 8192 (default 3072). Ed25519 has one size.
    #[arg(short, long)]
    pub bits: Option<u32>,

    /// Output file; the public key goes to FILE.pub.
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: PathBuf,

    /// Comment stored in the key files.
    #[arg(short = 'C', long, default_value = "wharf")]
    pub comment: String,

    /// Overwrite existing files.
    #[arg(long)]
    pub force: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn serve_options_parse() {
        let cli = Cli::try_parse_from([
            "wharf",
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--listen",
            "[::1]:22",
            "-l",
            "debug",
        ])
        .unwrap();
        assert_eq!(cli.log_level.as_deref(), Some("debug"));
        let Command::Serve(args) = cli.command else {
            panic!("not serve");
        };
        assert_eq!(args.listen.len(), 2);
        assert!(args.config.is_none());
        assert!(Cli::try_parse_from(["wharf", "serve", "--listen", "nonsense"]).is_err());
        assert!(
            Cli::try_parse_from(["wharf", "serve", "-c", "x.toml", "--data-dir", "d"]).is_err()
        );
    }

    #[test]
    fn keygen_options_parse() {
        let cli =
            Cli::try_parse_from(["wharf", "keygen", "-t", "rsa", "-b", "4096", "-f", "k"]).unwrap();
        let Command::Keygen(args) = cli.command else {
            panic!("not keygen");
        };
        assert_eq!(args.key_type, KeyType::Rsa);
        assert_eq!(args.bits, Some(4096));
        assert_eq!(args.file, PathBuf::from("k"));
        assert!(Cli::try_parse_from(["wharf", "keygen", "-t", "dsa", "-f", "k"]).is_err());
    }
}
