//! The HTTP server loop both binaries run: axum routing on hyper connections, with a header
//! read timeout and a graceful shutdown that waits, within a bound, for open connections.

use std::future::Future;
use std::pin::pin;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::task::JoinSet;

/// Time limits of the server itself; the request timeout is a router layer.
#[derive(Clone, Copy, Debug)]
pub struct ServerLimits {
    /// Time a client has to send a request's headers; slower clients are disconnected.
    pub header_read_timeout: Duration,
    /// Time open connections get to finish after shutdown starts.
    pub shutdown_timeout: Duration,
}

/// Logs the address `service` listens on, then serves `router` on `listener` until `shutdown` completes, then stops accepting, lets
/// in-flight requests finish (closing idle keep-alive connections), and returns once every
/// connection is closed, aborting those still open at `shutdown_timeout`. When it returns, no
/// connection task and no clone of `router` is left.
pub async fn serve(
    service: &str,
    listener: TcpListener,
    router: Router,
    limits: ServerLimits,
    shutdown: impl Future<Output = ()>,
) {
    // With port 0 the system picks the port, so the bound address is logged. Tests read this
    // line to find the port.
    match listener.local_addr() {
        Ok(address) => tracing::info!(%address, "{service} listening on http://{address}"),
        Err(error) => tracing::warn!(error = %error, "{service} listening on an unknown address"),
    }

    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);

    let graceful = GracefulShutdown::new();
    let mut connections = JoinSet::new();
    let mut shutdown = pin!(shutdown);

    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _peer)) => stream,
                    Err(error) => {
                        // Running out of file descriptors is the usual cause; back off briefly
                        // instead of spinning.
                        tracing::warn!(error = %error, "accepting a connection failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let service = TowerToHyperService::new(router.clone());
                let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service).into_owned();
                let connection = graceful.watch(connection);
                connections.spawn(async move {
                    if let Err(error) = connection.await {
                        tracing::debug!(error = %error, "connection ended with an error");
                    }
                });
            }
            // Reaps finished connections so that the set does not grow with every one served.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            () = &mut shutdown => break,
        }
    }

    drop(listener);
    if tokio::time::timeout(limits.shutdown_timeout, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            open = connections.len(),
            timeout_ms = limits.shutdown_timeout.as_millis() as u64,
            "connections still open at the shutdown timeout; closing them"
        );
    }
    connections.shutdown().await;
}
