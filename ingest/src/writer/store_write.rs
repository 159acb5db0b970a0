//! Writing one chunk to the store: retries, splitting, and accounting for every reaction as
//! written or dropped.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use shared::Reaction;

use super::WriterContext;
use crate::metrics::{
    BATCH_SIZE, DropReason, REACTIONS_DROPPED, REACTIONS_WRITTEN, STORE_WRITE_DURATION,
    STORE_WRITE_RETRIES, STORE_WRITES,
};
use crate::sink::{Sink, SinkError, Written};

/// Shortest time between two error lines for the same drop reason; the lines in between are
/// counted and reported with the next one.
const DROP_LOG_INTERVAL: Duration = Duration::from_secs(60);

/// Writes one chunk, retrying as long as the store may still take it.
pub(super) fn write_chunk(sink: &mut dyn Sink, chunk: &[Reaction], context: &WriterContext) {
    let mut attempt: u32 = 0;
    let started = Instant::now();
    metrics::histogram!(BATCH_SIZE).record(chunk.len() as f64);

    loop {
        let span = tracing::debug_span!("store_write", batch_size = chunk.len(), attempt);
        let attempt_started = Instant::now();
        let outcome = span.in_scope(|| sink.write(chunk));
        metrics::histogram!(STORE_WRITE_DURATION).record(attempt_started.elapsed().as_secs_f64());
        metrics::counter!(STORE_WRITES, "outcome" => outcome_label(&outcome)).increment(1);

        let delay = match outcome {
            Ok(written) => {
                record_written(chunk.len(), written, context);
                context.health.store_succeeded();
                return;
            }
            Err(SinkError::TooLarge) if chunk.len() > 1 => {
                let (first, second) = chunk.split_at(chunk.len() / 2);
                tracing::warn!(
                    batch_size = chunk.len(),
                    "store rejected the batch as too large; splitting it"
                );
                write_chunk(sink, first, context);
                write_chunk(sink, second, context);
                return;
            }
            Err(SinkError::TooLarge) => {
                record_dropped(
                    context,
                    1,
                    DropReason::TooLarge,
                    "a single reaction is larger than the store accepts",
                );
                return;
            }
            Err(SinkError::Rejected(message)) => {
                let reason = DropReason::of_store_message(&message);
                record_dropped(context, chunk.len(), reason, &message);
                return;
            }
            Err(SinkError::Unauthorized(reason)) => {
                context
                    .health
                    .store_failed(format!("store rejected the credentials: {reason}"));
                context.settings.retry.max
            }
            Err(SinkError::Unavailable {
                reason,
                retry_after,
            }) => {
                context
                    .health
                    .store_failed(format!("store unavailable: {reason}"));
                context.settings.retry.delay(attempt, retry_after)
            }
        };

        // Every attempt is counted; the log gets the first and then every power of two.
        if attempt == 0 || attempt.is_power_of_two() {
            tracing::warn!(
                batch_size = chunk.len(),
                attempt,
                retry_in_ms = delay.as_millis() as u64,
                failing_for_s = started.elapsed().as_secs(),
                reason = context.health.store_problem().unwrap_or_default(),
                "store write failed; retrying"
            );
        }
        metrics::counter!(STORE_WRITE_RETRIES).increment(1);
        context.stats.retries.fetch_add(1, Ordering::Relaxed);
        attempt = attempt.saturating_add(1);

        if !context.deadline.sleep(delay) {
            record_dropped(
                context,
                chunk.len(),
                DropReason::DrainTimeout,
                "drain deadline passed with the store still failing",
            );
            return;
        }
    }
}

fn outcome_label(outcome: &Result<Written, SinkError>) -> &'static str {
    match outcome {
        Ok(written) if written.rejected > 0 => "partial",
        Ok(_) => "success",
        Err(SinkError::Unavailable { .. }) => "unavailable",
        Err(SinkError::TooLarge) => "too_large",
        Err(SinkError::Unauthorized(_)) => "unauthorized",
        Err(SinkError::Rejected(_)) => "rejected",
    }
}

fn record_written(len: usize, written: Written, context: &WriterContext) {
    let stored = len.saturating_sub(written.rejected + written.overwritten);
    context
        .stats
        .written
        .fetch_add(stored as u64, Ordering::Relaxed);
    metrics::counter!(REACTIONS_WRITTEN).increment(stored as u64);

    if written.rejected > 0 {
        let message = written.rejection.unwrap_or_default();
        let reason = DropReason::of_store_message(&message);
        record_dropped(context, written.rejected, reason, &message);
    }
    if written.overwritten > 0 {
        let message = "a different reaction in the same batch had the same user or article, behavior and store time";
        record_dropped(
            context,
            written.overwritten,
            DropReason::Overwritten,
            message,
        );
    }
}

/// Counts reactions that will never be stored, and logs it within the rate limit.
fn record_dropped(context: &WriterContext, count: usize, reason: DropReason, message: &str) {
    let counter = match reason {
        DropReason::DrainTimeout => &context.stats.abandoned,
        _ => &context.stats.dropped,
    };
    counter.fetch_add(count as u64, Ordering::Relaxed);
    metrics::counter!(REACTIONS_DROPPED, "reason" => reason.as_str()).increment(count as u64);

    if let Some(suppressed) = context.drop_log.permit(reason) {
        tracing::error!(
            reason = reason.as_str(),
            dropped = count,
            similar_since_last_log = suppressed,
            error = message,
            "dropping reactions the store will never take"
        );
    }
}

/// Rate limit for drop log lines: the first of each reason, then one per interval.
#[derive(Default)]
pub struct DropLog {
    last: Mutex<HashMap<DropReason, (Instant, u64)>>,
}

impl DropLog {
    /// Returns how many lines of this reason were suppressed since the last one, if this one
    /// may be logged.
    fn permit(&self, reason: DropReason) -> Option<u64> {
        let mut last = self.last.lock().ok()?;
        match last.get_mut(&reason) {
            None => {
                last.insert(reason, (Instant::now(), 0));
                Some(0)
            }
            Some((at, suppressed)) if at.elapsed() >= DROP_LOG_INTERVAL => {
                let count = *suppressed;
                *at = Instant::now();
                *suppressed = 0;
                Some(count)
            }
            Some((_, suppressed)) => {
                *suppressed += 1;
                None
            }
        }
    }
}
