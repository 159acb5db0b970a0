//! The ceiling server: parses and validates reactions exactly as ingest does and returns 202
//! without storing anything, so its throughput is the HTTP ceiling of the machine. Reads get a
//! fixed body. With `--leak-bytes-per-request` it keeps that many bytes per POST forever, a
//! deliberate leak that the soak's memory gate must catch.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use shared::server::ServerLimits;
use shared::timestamp::TimeWindow;
use shared::validate::{Stamp, validate_all, validate_item};

#[derive(Debug, clap::Args)]
pub struct CeilingArgs {
    /// Address to listen on; port 0 picks a free port, which is logged.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// Bytes kept in memory for every POST and never freed: a deliberate leak for testing the
    /// soak's RSS gate. 0 keeps nothing.
    #[arg(long, default_value_t = 0)]
    pub leak_bytes_per_request: usize,
}

#[derive(Default)]
struct CeilingState {
    leak_bytes_per_request: usize,
    leaked: Mutex<Vec<Box<[u8]>>>,
    sequence: AtomicU64,
}

/// Serves until SIGTERM or SIGINT.
pub fn run(args: CeilingArgs) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the Tokio runtime")?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        let state = Arc::new(CeilingState {
            leak_bytes_per_request: args.leak_bytes_per_request,
            ..CeilingState::default()
        });
        let limits = ServerLimits {
            header_read_timeout: Duration::from_secs(10),
            shutdown_timeout: Duration::from_secs(5),
        };
        shared::server::serve(
            "ceiling",
            listener,
            router(state),
            limits,
            shared::shutdown::signal(),
        )
        .await;
        Ok(())
    })
}

fn router(state: Arc<CeilingState>) -> Router {
    Router::new()
        .route("/v1/reactions", post(accept))
        .route("/v1/users/{id}/reactions/summary", get(fixed_read))
        .route("/v1/users/{id}/reactions", get(fixed_read))
        .route("/v1/articles/{id}/reactions/summary", get(fixed_read))
        .route("/v1/articles/{id}/reactions", get(fixed_read))
        .route("/healthz", get(|| async { "ok" }))
        .with_state(state)
}

async fn accept(State(state): State<Arc<CeilingState>>, body: Bytes) -> Response {
    if state.leak_bytes_per_request > 0 {
        // Filled with a non-zero byte so that every page is touched and counts in RSS.
        let leaked = vec![0xA5u8; state.leak_bytes_per_request].into_boxed_slice();
        state
            .leaked
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(leaked);
    }

    let value: Value = match serde_json::from_slice(&body) {
        Ok(value) => value,
        Err(error) => {
            let message = json!({"error": format!("invalid JSON: {error}"), "details": []});
            return (StatusCode::BAD_REQUEST, axum::Json(message)).into_response();
        }
    };
    let next_sequence = || state.sequence.fetch_add(1, Ordering::Relaxed);
    let stamp = Stamp {
        now: shared::Timestamp::now(),
        window: TimeWindow::default(),
        next_sequence: &next_sequence,
    };
    let validated = match &value {
        Value::Array(items) => validate_all(items, &stamp),
        item => validate_item(0, item, &stamp).map(|reaction| vec![reaction]),
    };
    match validated {
        Ok(reactions) => {
            let body = json!({"accepted": reactions.len()});
            (StatusCode::ACCEPTED, axum::Json(body)).into_response()
        }
        Err(errors) => {
            let body = json!({"error": "invalid reactions", "details": errors});
            (StatusCode::UNPROCESSABLE_ENTITY, axum::Json(body)).into_response()
        }
    }
}

/// Returns a summary-sized body, so that reads measure HTTP and JSON cost without a store.
async fn fixed_read() -> axum::Json<Value> {
    let counts = json!({"love": 1, "like": 2, "angry": 0, "cry": 0});
    axum::Json(json!({"reactions": counts, "articles": counts}))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    async fn post_body(state: Arc<CeilingState>, body: &str) -> StatusCode {
        let request = Request::post("/v1/reactions")
            .header("content-type", "application/json")
            .body(Body::from(body.to_owned()))
            .unwrap();
        router(state).oneshot(request).await.unwrap().status()
    }

    #[tokio::test]
    async fn valid_reactions_get_202() {
        let state = Arc::new(CeilingState::default());
        let single = r#"{"user_id":"u-1","article_id":"a-1","behavior":"like"}"#;
        assert_eq!(post_body(state.clone(), single).await, StatusCode::ACCEPTED);
        let batch = format!("[{single},{single}]");
        assert_eq!(post_body(state, &batch).await, StatusCode::ACCEPTED);
    }

    #[tokio::test]
    async fn invalid_reactions_are_rejected() {
        let state = Arc::new(CeilingState::default());
        assert_eq!(post_body(state.clone(), "{").await, StatusCode::BAD_REQUEST);
        let unknown = r#"{"user_id":"u-1","article_id":"a-1","behavior":"meh"}"#;
        assert_eq!(
            post_body(state, unknown).await,
            StatusCode::UNPROCESSABLE_ENTITY
        );
    }

    #[tokio::test]
    async fn leak_keeps_bytes_per_request() {
        let state = Arc::new(CeilingState {
            leak_bytes_per_request: 1000,
            ..CeilingState::default()
        });
        for _ in 0..3 {
            post_body(state.clone(), "{").await;
        }
        let leaked = state.leaked.lock().unwrap();
        assert_eq!(leaked.iter().map(|chunk| chunk.len()).sum::<usize>(), 3000);
    }
}
