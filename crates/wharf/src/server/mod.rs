//! The network side of `wharf serve`: listeners and connection tasks.

mod auth;
mod connection;
pub mod directory;
mod engine;
mod engine_channel;
mod rate;
mod rcvlowat;
pub mod user_fs;

pub use connection::Shared;

use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use wharf_crypto::kex::Moduli;
use wharf_ssh::ServerConfig;

/// Serves `config` until interrupted.
pub async fn run(config: crate::config::Config) -> anyhow::Result<()> {
    wharf_crypto::random::warm_up();
    let ssh = ssh_config(&config);
    let users: Arc<dyn directory::UserDirectory> = Arc::new(crate::users::open_directory(&config)?);
    let shared = Arc::new(Shared {
        ssh: Arc::new(ssh),
        users,
        scp: config.scp,
        sftp_versions: config.sftp_versions,
        sftp_disabled_extensions: config.sftp_disabled_extensions.clone(),
        user_fs: Default::default(),
    });
    serve(
        &config.listen,
        shared,
        config.max_startups,
        crate::announce_listening,
    )
    .await
}

/// The protocol core's configuration from the validated config file.
fn ssh_config(config: &crate::config::Config) -> ServerConfig {
    let mut ssh = ServerConfig::with_host_keys(config.host_keys.clone());
    let a = &config.algorithms;
    ssh.kex_algorithms = a.kex.clone();
    ssh.ciphers = a.ciphers.clone();
    ssh.macs = a.macs.clone();
    ssh.host_key_algorithms = a.host_key.clone();
    ssh.pubkey_algorithms = a.pubkey_accepted.clone();
    ssh.moduli = Arc::new(config.moduli.clone().unwrap_or_else(Moduli::builtin));
    ssh.banner = config.banner.clone();
    ssh.max_auth_tries = config.max_auth_tries;
    ssh.login_grace_time = config.login_grace_time;
    ssh.auth_failure_delay = config.auth_failure_delay;
    ssh.auth_methods = offered_methods(config);
    if let Some(limit) = config.rekey_limit {
        ssh.rekey_limit = limit;
    }
    ssh.rekey_interval = config.rekey_interval;
    ssh.client_alive_interval = config.client_alive_interval;
    ssh.client_alive_count_max = config.client_alive_count_max;
    ssh.idle_timeout = config.idle_timeout;
    ssh
}

/// The methods offered before any succeeds: with server-wide chains, only
/// those that start one (sshd offers "only methods that are next in one or
/// more lists"), plus those starting a config user's own chains, so that
/// user can begin. Without server-wide chains, the core's defaults plus
/// any method a user's chain starts with.
fn offered_methods(config: &crate::config::Config) -> Vec<wharf_ssh::AuthMethod> {
    use crate::users::chains::first_methods;
    let server = &config.auth.authentication_methods;
    let mut offered = if server.is_empty() {
        let mut all = ServerConfig::with_host_keys(Vec::new()).auth_methods;
        // Hostbased only when turned on: offering it otherwise would make
        // clients sign with their host keys for nothing.
        let hostbased = wharf_ssh::AuthMethod::Hostbased;
        all.retain(|m| *m != hostbased);
        if config.auth.hostbased.is_some() {
            all.push(hostbased);
        }
        all
    } else {
        first_methods(server)
    };
    for user in config.users.iter() {
        if let Some(lists) = &user.policy.authentication_methods {
            for m in first_methods(lists) {
                if !offered.contains(&m) {
                    offered.push(m);
                }
            }
        }
    }
    offered
}

/// Binds every address first, so a bad one fails before anything serves,
/// then accepts until interrupted. At most `max_startups` connections may
/// be unauthenticated at once (sshd's MaxStartups); more are dropped at
/// accept.
pub async fn serve(
    addrs: &[SocketAddr],
    shared: Arc<Shared>,
    max_startups: usize,
    on_bound: impl Fn(SocketAddr),
) -> anyhow::Result<()> {
    let mut listeners = Vec::new();
    for addr in addrs {
        let l = TcpListener::bind(addr)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
        listeners.push(l);
    }
    for l in &listeners {
        on_bound(l.local_addr()?);
    }
    let limit = Arc::new(Semaphore::new(max_startups));
    let mut tasks = Vec::new();
    for l in listeners {
        let shared = shared.clone();
        let limit = limit.clone();
        tasks.push(tokio::spawn(accept_loop(l, shared, limit)));
    }
    tokio::select! {
        _ = tokio::signal::ctrl_c() => tracing::info!("interrupted, shutting down"),
        _ = terminate() => tracing::info!("terminated, shutting down"),
    }
    for t in tasks {
        t.abort();
    }
    Ok(())
}

async fn terminate() {
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut s) => {
            s.recv().await;
        }
        Err(_) => std::future::pending::<()>().await,
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, limit: Arc<Semaphore>) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                // EMFILE and friends: back off instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        if shared.users.is_banned(peer.ip()) {
            tracing::warn!(%peer, "banned address: connection dropped");
            drop(stream);
            continue;
        }
        let Ok(permit) = limit.clone().try_acquire_owned() else {
            tracing::warn!(%peer, "too many unauthenticated connections, refusing");
            drop(stream);
            continue;
        };
        let shared = shared.clone();
        tokio::spawn(connection::serve(stream, peer, shared, permit));
    }
}
