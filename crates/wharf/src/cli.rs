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
    /// Manage the users of the user database (SQLite or PostgreSQL). Works
    /// while the server runs: changes apply at the next login.
    User(Box<UserArgs>),
}

/// Where the user database is: one of --db, --postgres, --config.
#[derive(Debug, clap::Args)]
pub struct UserArgs {
    /// The SQLite user database (created when missing).
    #[arg(long, value_name = "FILE", global = true, conflicts_with_all = ["postgres", "config"])]
    pub db: Option<PathBuf>,
    /// A PostgreSQL connection string (postgresql://USER@HOST:PORT/DB or
    /// "host=... user=... dbname=...").
    #[arg(long, value_name = "URL", global = true, conflicts_with = "config")]
    pub postgres: Option<String>,
    /// The server's config file: its [auth] names the database (the first
    /// sqlite or postgres source).
    #[arg(short, long, value_name = "FILE", global = true)]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: UserCommand,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user. The password, with --password, is read from the
    /// terminal or one line of stdin.
    Add {
        name: String,
        /// The folder the user sees as "/".
        #[arg(long, value_name = "DIR")]
        root: PathBuf,
        /// Read a password (terminal prompt, or stdin).
        #[arg(long, conflicts_with = "no_password")]
        password: bool,
        /// No password: key login only.
        #[arg(long)]
        no_password: bool,
        /// An authorized_keys line (options allowed). Repeatable.
        #[arg(long = "key", value_name = "LINE")]
        keys: Vec<String>,
        #[command(flatten)]
        policy: PolicyArgs,
    },
    /// Change a user's policy settings (the flags given; others stay).
    Set {
        name: String,
        /// A new root folder.
        #[arg(long, value_name = "DIR")]
        root: Option<PathBuf>,
        #[command(flatten)]
        policy: PolicyArgs,
    },
    /// List the users as a table.
    List,
    /// Show one user (never the password hash).
    Show { name: String },
    /// Set a user's password from the terminal or one line of stdin;
    /// --none removes it.
    Passwd {
        name: String,
        #[arg(long)]
        none: bool,
    },
    /// Add or remove authorized keys.
    Key {
        #[command(subcommand)]
        command: KeyCommand,
    },
    /// Refuse the user's logins (the account stays).
    Disable { name: String },
    /// Allow the user's logins again.
    Enable { name: String },
    /// Delete the user and their keys (their files stay).
    Delete { name: String },
    /// Turn a TOTP second factor (RFC 6238) on or off.
    Totp {
        #[command(subcommand)]
        command: TotpCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum TotpCommand {
    /// Generate a new secret for the user and print it once, with the
    /// otpauth:// URI authenticator apps import. From then on the user
    /// logs in with keyboard-interactive, answering the password and a
    /// code; the password method alone is refused.
    Enable { name: String },
    /// Remove the user's second factor.
    Disable { name: String },
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Add an authorized_keys line (options such as from="..." allowed).
    Add { name: String, line: String },
    /// Remove a key, given as its SHA256:... fingerprint or its line.
    Remove { name: String, key: String },
}

/// Per-user policy flags, shared by `add` and `set`.
#[derive(Debug, Default, clap::Args)]
pub struct PolicyArgs {
    /// Starting folder inside the root, such as /incoming.
    #[arg(long, value_name = "PATH")]
    pub home: Option<String>,
    /// Read-only (true or false).
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub read_only: Option<bool>,
    /// Upload-only: no downloads or listings of files (true or false).
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub upload_only: Option<bool>,
    /// Octal umask for created files, such as 027.
    #[arg(long, value_name = "OCTAL")]
    pub umask: Option<String>,
    /// A per-path rule GLOB:+perm,-perm (perms: list, download, upload,
    /// overwrite, delete, rename, mkdir, rmdir, chmod, chown, symlink).
    /// Repeatable; replaces the user's rules.
    #[arg(long = "perm", value_name = "RULE")]
    pub perms: Vec<String>,
    /// A file-name glob names must match. Repeatable; replaces the list.
    #[arg(long = "allow-name", value_name = "GLOB")]
    pub name_allow: Vec<String>,
    /// A file-name glob names must not match. Repeatable; replaces the list.
    #[arg(long = "deny-name", value_name = "GLOB")]
    pub name_deny: Vec<String>,
    /// Byte quota such as 10G (0: none).
    #[arg(long, value_name = "SIZE")]
    pub quota_bytes: Option<String>,
    /// File-count quota (0: none).
    #[arg(long, value_name = "N")]
    pub quota_files: Option<u64>,
    /// Upload limit in bytes per second, such as 1M (0: none).
    #[arg(long, value_name = "SIZE")]
    pub upload_bandwidth: Option<String>,
    /// Download limit in bytes per second, such as 1M (0: none).
    #[arg(long, value_name = "SIZE")]
    pub download_bandwidth: Option<String>,
    /// Concurrent sessions allowed (0: no limit).
    #[arg(long, value_name = "N")]
    pub max_sessions: Option<u32>,
    /// A network logins may come from, such as 10.0.0.0/8. Repeatable;
    /// replaces the list. "any" clears it.
    #[arg(long = "allow-network", value_name = "CIDR")]
    pub allowed_networks: Vec<String>,
    /// Account expiry: YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (UTC); "never"
    /// clears it.
    #[arg(long, value_name = "DATE")]
    pub expires: Option<String>,
    /// Whether SCP is allowed: yes, no or default (the server's setting).
    #[arg(long, value_name = "yes|no|default")]
    pub scp: Option<String>,
    /// Method chains the user must complete, as OpenSSH's
    /// AuthenticationMethods: lists separated by spaces, methods in a list
    /// by commas ("publickey,password publickey,keyboard-interactive");
    /// "default" follows the server's [auth] authentication_methods.
    #[arg(long, value_name = "LISTS")]
    pub auth_methods: Option<String>,
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

    #[test]
    fn user_options_parse() {
        let cli = Cli::try_parse_from([
            "wharf",
            "user",
            "add",
            "carol",
            "--root",
            "/srv/c",
            "--no-password",
            "--key",
            "ssh-ed25519 AAAA",
            "--read-only",
            "--allow-network",
            "10.0.0.0/8",
            "--db",
            "u.db",
        ])
        .unwrap();
        let Command::User(args) = cli.command else {
            panic!("not user");
        };
        assert_eq!(args.db, Some(PathBuf::from("u.db")));
        let UserCommand::Add {
            name,
            no_password,
            keys,
            policy,
            ..
        } = args.command
        else {
            panic!("not add");
        };
        assert_eq!(name, "carol");
        assert!(no_password);
        assert_eq!(keys.len(), 1);
        assert_eq!(policy.read_only, Some(true));
        assert_eq!(policy.allowed_networks, ["10.0.0.0/8"]);
        assert!(
            Cli::try_parse_from(["wharf", "user", "--db", "a", "--postgres", "b", "list"]).is_err()
        );
        assert!(Cli::try_parse_from([
            "wharf",
            "user",
            "add",
            "x",
            "--root",
            "/",
            "--password",
            "--no-password"
        ])
        .is_err());
        let cli = Cli::try_parse_from([
            "wharf", "user", "key", "remove", "carol", "SHA256:x", "--config", "w.toml",
        ])
        .unwrap();
        let Command::User(args) = cli.command else {
            panic!("not user");
        };
        assert!(matches!(
            args.command,
            UserCommand::Key {
                command: KeyCommand::Remove { .. }
            }
        ));
    }
}
