//! The network side of `wharf serve`: listeners and connection tasks.

mod connection;
pub mod directory;

pub use connection::Shared;

use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// Binds every address first, so a bad one fails before anything serves,
/// then accepts until interrupted.
pub async fn serve(
    addrs: &[SocketAddr],
    shared: Arc<Shared>,
    max_connections: usize,
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
    let limit = Arc::new(Semaphore::new(max_connections));
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
        let Ok(permit) = limit.clone().try_acquire_owned() else {
            tracing::warn!(%peer, "connection limit reached, refusing");
            drop(stream);
            continue;
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            connection::serve(stream, peer, shared).await;
            drop(permit);
        });
    }
}
