//! Prometheus exposition shared by both binaries: the recorder, process metrics, and HTTP
//! request metrics labelled by route template, method and status class.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Buckets in seconds for HTTP request and store latencies: 1 ms to 30 s.
pub const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The process-wide exporter. Clones share one recorder.
#[derive(Clone)]
pub struct Exporter {
    handle: PrometheusHandle,
}

static EXPORTER: OnceLock<Result<Exporter, String>> = OnceLock::new();

/// Installs the global recorder once per process, with `histograms` (metric name and bucket
/// bounds) exported as Prometheus histograms; later calls return the same exporter.
pub fn install(histograms: &[(&str, &[f64])]) -> Result<Exporter, String> {
    EXPORTER
        .get_or_init(|| {
            let mut builder = PrometheusBuilder::new();
            for (name, buckets) in histograms {
                builder = builder
                    .set_buckets_for_metric(Matcher::Full((*name).to_owned()), buckets)
                    .map_err(|error| format!("invalid buckets for {name}: {error}"))?;
            }
            let handle = builder
                .install_recorder()
                .map_err(|error| format!("cannot install the metrics recorder: {error}"))?;
            metrics_process::Collector::default().describe();
            Ok(Exporter { handle })
        })
        .clone()
}

impl Exporter {
    /// Renders every metric in the Prometheus text format, with fresh process metrics.
    pub fn render(&self) -> String {
        metrics_process::Collector::default().collect();
        self.handle.render()
    }

    /// Returns the `/metrics` response.
    pub fn response(&self) -> Response {
        let body = self.render();
        (
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            body,
        )
            .into_response()
    }
}

/// Names of the two HTTP metrics of one service.
#[derive(Clone, Copy)]
pub struct HttpMetricNames {
    /// Counter with labels `route`, `method`, `status`.
    pub requests: &'static str,
    /// Histogram in seconds with labels `route`, `method`.
    pub duration: &'static str,
}

/// Middleware that counts and times every request. Labels come from fixed sets only: the
/// matched route template (`unmatched` for any other path), the method (`other` outside the
/// common ones) and the status class, so junk paths and ids add no series.
pub async fn track_http(
    State(names): State<HttpMetricNames>,
    request: Request,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = method_label(request.method());
    let started = Instant::now();

    let response = next.run(request).await;

    let status = status_class(response.status());
    metrics::counter!(names.requests, "route" => route.clone(), "method" => method, "status" => status).increment(1);
    metrics::histogram!(names.duration, "route" => route, "method" => method)
        .record(started.elapsed().as_secs_f64());
    response
}

fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::HEAD => "HEAD",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        _ => "other",
    }
}

fn status_class(status: StatusCode) -> &'static str {
    match status.as_u16() {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}
