//! `wharf`: an SFTP and SCP server with its own SSH transport.
//!
//! This file only dispatches subcommands; see `cli` for the interface,
//! `config` and `zeroconf` for how `serve` is configured, and `server` for
//! the network driver.

mod cli;
mod config;
mod console;
mod hostkeys;
mod server;
mod sftp_server;
#[cfg(test)]
mod testutil;
mod tty;
mod usercmd;
mod users;
mod zeroconf;

use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

use cli::{Cli, Command, KeyType, KeygenArgs, ServeArgs};
pub use console::announce_listening;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // A subsystem's stderr reaches the client's terminal: sftp-server stays
    // quiet unless asked, as OpenSSH's (which logs to syslog) does.
    let default_level = match cli.command {
        Command::SftpServer(_) => "error",
        _ => "info",
    };
    // sftp-server's -l takes OpenSSH's level names (DEBUG3, VERBOSE, ...).
    let log_level = match cli.command {
        Command::SftpServer(_) => cli.log_level.as_deref().map(sftp_server::log_filter),
        _ => cli.log_level.clone(),
    };
    if let Err(e) = init_logging(log_level.as_deref(), default_level) {
        eprintln!("wharf: {e}");
        return ExitCode::from(2);
    }
    let result = match cli.command {
        Command::Serve(args) => serve(args),
        Command::CheckConfig { file } => return check_config(&file),
        Command::HashPassword => hash_password(),
        Command::Keygen(args) => keygen(&args),
        Command::SftpServer(args) => sftp_server::run(&args),
        Command::User(args) => usercmd::run(*args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("wharf: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Logs go to stderr: stdout carries what scripts read (the listening
/// lines, hashes). `-l` wins over RUST_LOG; the default is `info`.
fn init_logging(level: Option<&str>, default_level: &str) -> anyhow::Result<()> {
    let filter = match level {
        Some(level) => EnvFilter::try_new(level)
            .map_err(|e| anyhow::anyhow!("bad --log-level {level:?}: {e}"))?,
        None => EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level)),
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    Ok(())
}

fn serve(args: ServeArgs) -> anyhow::Result<()> {
    // Everything that can be wrong with the configuration is found here,
    // before the runtime starts or any socket is bound.
    let config = match &args.config {
        Some(path) => {
            let overrides = config::Overrides {
                listen: args.listen.clone(),
                state_dir: args.state_dir.clone(),
            };
            config::load(path, &overrides, config::Mode::Serve).map_err(|errors| {
                // Print each problem on its own line, as check-config does.
                eprintln!("{errors}");
                anyhow::anyhow!(
                    "{} has {} problem(s); not starting",
                    path.display(),
                    errors.diagnostics.len()
                )
            })?
        }
        None => {
            let zc = zeroconf::ZeroConfig::new(args.state_dir, args.data_dir, args.listen);
            let (config, welcome) = zeroconf::build(&zc)?;
            console::set_welcome(welcome);
            config
        }
    };
    tracing::info!(
        users = config.users.len(),
        host_keys = config.host_keys.len(),
        "configuration loaded"
    );
    tracing::debug!(?config, "configuration");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(server::run(config))
}

fn check_config(file: &Path) -> ExitCode {
    match config::load(file, &config::Overrides::default(), config::Mode::Check) {
        Ok(_) => {
            println!("{}: OK", file.display());
            ExitCode::SUCCESS
        }
        Err(errors) => {
            eprintln!("{errors}");
            ExitCode::FAILURE
        }
    }
}

fn hash_password() -> anyhow::Result<()> {
    let password = tty::read_password()?;
    let hash = users::hash_password(&password)?;
    println!("{hash}");
    Ok(())
}

fn keygen(args: &KeygenArgs) -> anyhow::Result<()> {
    use wharf_crypto::hostkey::{HostKey, KeyKind};
    let kind = match (args.key_type, args.bits) {
        (KeyType::Ed25519, None) => KeyKind::Ed25519,
        (KeyType::Ed25519, Some(bits)) => {
            anyhow::bail!("Ed25519 keys have a fixed size; drop --bits {bits}")
        }
        (KeyType::Ecdsa, None | Some(256)) => KeyKind::EcdsaP256,
        (KeyType::Ecdsa, Some(384)) => KeyKind::EcdsaP384,
        (KeyType::Ecdsa, Some(521)) => KeyKind::EcdsaP521,
        (KeyType::Ecdsa, Some(bits)) => {
            anyhow::bail!("ECDSA keys are 256, 384 or 521 bits, not {bits}")
        }
        (KeyType::Rsa, bits) => KeyKind::Rsa {
            bits: bits.unwrap_or(3072),
        },
    };
    let key = HostKey::generate(kind)?;
    hostkeys::write_private(&args.file, &key, &args.comment, args.force)?;
    let pub_path = hostkeys::write_public(&args.file, &key, &args.comment)?;
    println!(
        "wrote {} and {}: {} {}",
        args.file.display(),
        pub_path.display(),
        hostkeys::kind_label(key.kind()),
        key.fingerprint_sha256()
    );
    Ok(())
}
