use std::process::ExitCode;

use clap::Parser;
use ingest::config::Args;

fn main() -> ExitCode {
    let args = Args::parse();
    shared::telemetry::init(&args.log_format);
    let listen = args.listen;

    let config = match args.into_config() {
        Ok(config) => config,
        Err(message) => {
            tracing::error!("{message}");
            return ExitCode::from(2);
        }
    };

    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            tracing::error!(error = %error, "cannot start the async runtime");
            return ExitCode::FAILURE;
        }
    };

    runtime.block_on(async move {
        let listener = match tokio::net::TcpListener::bind(listen).await {
            Ok(listener) => listener,
            Err(error) => {
                tracing::error!(address = %listen, error = %error, "cannot listen");
                return ExitCode::FAILURE;
            }
        };

        tracing::info!(
            store = %config.store,
            batch_size = config.batch_size,
            writers = config.writers,
            buffer_reactions = config.buffer_reactions,
            buffer_bytes = config.buffer_bytes,
            max_inflight_bytes = config.max_inflight_bytes,
            memory_limit = config.memory_limit,
            "ingest starting"
        );

        match ingest::serve(config, listener, shared::shutdown::signal()).await {
            Ok(report) if report.abandoned == 0 => {
                tracing::info!(
                    accepted = report.accepted,
                    written = report.written,
                    dropped = report.dropped,
                    "stopped after writing every queued reaction"
                );
                ExitCode::SUCCESS
            }
            Ok(report) => {
                tracing::error!(
                    accepted = report.accepted,
                    written = report.written,
                    dropped = report.dropped,
                    abandoned = report.abandoned,
                    "stopped with reactions still unwritten at the drain deadline"
                );
                ExitCode::FAILURE
            }
            Err(error) => {
                tracing::error!(error = %error, "ingest failed");
                ExitCode::FAILURE
            }
        }
    })
}
