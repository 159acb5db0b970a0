use std::process::ExitCode;

use clap::Parser;
use query::config::Args;

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

        tracing::info!(store = %config.store, "query starting");

        match query::serve(config, listener, shared::shutdown::signal()).await {
            Ok(()) => {
                tracing::info!("stopped");
                ExitCode::SUCCESS
            }
            Err(error) => {
                tracing::error!(error = %error, "query failed");
                ExitCode::FAILURE
            }
        }
    })
}
