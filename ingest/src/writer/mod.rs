//! Writer threads: take reactions off the buffer, batch them by size and time, and write each
//! batch to the store until it is stored or can never be.

mod retry;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError};
use shared::Reaction;

pub use retry::RetryPolicy;

use crate::buffer::BufferGauge;
use crate::health::Health;
use crate::sink::{Sink, SinkError, SinkFactory};

/// How writers batch and retry.
#[derive(Clone, Copy, Debug)]
pub struct WriterSettings {
    pub batch_size: usize,
    pub flush_interval: Duration,
    pub retry: RetryPolicy,
}

/// Totals of the writer pool, shared with the HTTP side for logs and health.
#[derive(Debug, Default)]
pub struct WriterStats {
    pub written: AtomicU64,
    /// Reactions the store rejected and will never take.
    pub dropped: AtomicU64,
    /// Reactions still unwritten when the drain deadline passed.
    pub abandoned: AtomicU64,
    pub retries: AtomicU64,
}

/// When draining must end. Unset while the service runs, so writers retry without limit.
#[derive(Default)]
pub struct DrainDeadline(OnceLock<Instant>);

impl DrainDeadline {
    pub fn start(&self, timeout: Duration) {
        let _ = self.0.set(Instant::now() + timeout);
    }

    fn passed(&self) -> bool {
        self.0
            .get()
            .is_some_and(|deadline| Instant::now() >= *deadline)
    }

    /// Sleeps for `delay`, or less if the deadline comes first. Returns false if it has passed.
    fn sleep(&self, delay: Duration) -> bool {
        let until = Instant::now() + delay;
        while Instant::now() < until {
            if self.passed() {
                return false;
            }
            std::thread::sleep((until - Instant::now()).min(Duration::from_millis(50)));
        }
        !self.passed()
    }
}

/// What every writer shares.
#[derive(Clone)]
pub struct WriterContext {
    pub settings: WriterSettings,
    pub gauge: Arc<BufferGauge>,
    pub health: Arc<Health>,
    pub stats: Arc<WriterStats>,
    pub deadline: Arc<DrainDeadline>,
}

/// The running writer threads.
pub struct WriterPool {
    handles: Vec<JoinHandle<()>>,
}

impl WriterPool {
    /// Starts `count` writers, each with its own sink from `factory`.
    pub fn spawn(
        count: usize,
        receiver: Receiver<Vec<Reaction>>,
        factory: &SinkFactory,
        context: WriterContext,
    ) -> anyhow::Result<Self> {
        let mut handles = Vec::with_capacity(count);
        for index in 0..count {
            let sink = factory()?;
            let receiver = receiver.clone();
            let context = context.clone();
            let handle = std::thread::Builder::new()
                .name(format!("writer-{index}"))
                .spawn(move || run(receiver, sink, &context))?;
            handles.push(handle);
        }
        Ok(WriterPool { handles })
    }

    /// Waits until every writer has written or given up on everything queued. The channel must
    /// be closed first (every sender dropped).
    pub fn join(self) {
        for handle in self.handles {
            if handle.join().is_err() {
                tracing::error!("a writer thread panicked");
            }
        }
    }
}

/// Collects reactions into a batch and writes it when it reaches the batch size or when its
/// oldest reaction has waited one flush interval, whichever comes first.
fn run(receiver: Receiver<Vec<Reaction>>, mut sink: Box<dyn Sink>, context: &WriterContext) {
    let settings = context.settings;
    let mut batch: Vec<Reaction> = Vec::with_capacity(settings.batch_size);
    let mut flush_at: Option<Instant> = None;

    loop {
        let received = match flush_at {
            Some(at) => receiver.recv_deadline(at),
            None => receiver.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };

        match received {
            Ok(reactions) => {
                if batch.is_empty() {
                    flush_at = Some(Instant::now() + settings.flush_interval);
                }
                batch.extend(reactions);
                if batch.len() >= settings.batch_size {
                    flush(&mut *sink, &mut batch, context);
                    flush_at = None;
                }
            }
            Err(RecvTimeoutError::Timeout) => {
                flush(&mut *sink, &mut batch, context);
                flush_at = None;
            }
            Err(RecvTimeoutError::Disconnected) => {
                flush(&mut *sink, &mut batch, context);
                return;
            }
        }
    }
}

/// Writes everything in `batch`, in chunks of at most the batch size, and frees its room in
/// the buffer.
fn flush(sink: &mut dyn Sink, batch: &mut Vec<Reaction>, context: &WriterContext) {
    for chunk in batch.chunks(context.settings.batch_size) {
        write_chunk(sink, chunk, context);
        let bytes = chunk.iter().map(Reaction::size_bytes).sum();
        context.gauge.release(chunk.len(), bytes);
    }
    batch.clear();
}

/// Writes one chunk, retrying as long as the store may still take it.
fn write_chunk(sink: &mut dyn Sink, chunk: &[Reaction], context: &WriterContext) {
    let mut attempt: u32 = 0;
    let started = Instant::now();

    loop {
        let span = tracing::debug_span!("store_write", batch_size = chunk.len(), attempt);
        let outcome = span.in_scope(|| sink.write(chunk));

        let delay = match outcome {
            Ok(written) => {
                record_written(
                    chunk.len(),
                    written.rejected,
                    written.rejection.as_deref(),
                    context,
                );
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
            Err(error @ (SinkError::TooLarge | SinkError::Rejected(_))) => {
                tracing::error!(batch_size = chunk.len(), error = %error, "dropping a batch the store will never take");
                context
                    .stats
                    .dropped
                    .fetch_add(chunk.len() as u64, Ordering::Relaxed);
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

        context.stats.retries.fetch_add(1, Ordering::Relaxed);
        attempt = attempt.saturating_add(1);

        if !context.deadline.sleep(delay) {
            tracing::error!(
                batch_size = chunk.len(),
                attempt,
                "drain deadline passed; giving up on this batch"
            );
            context
                .stats
                .abandoned
                .fetch_add(chunk.len() as u64, Ordering::Relaxed);
            return;
        }
    }
}

fn record_written(len: usize, rejected: usize, rejection: Option<&str>, context: &WriterContext) {
    context
        .stats
        .written
        .fetch_add((len - rejected) as u64, Ordering::Relaxed);
    if rejected > 0 {
        context
            .stats
            .dropped
            .fetch_add(rejected as u64, Ordering::Relaxed);
        tracing::error!(
            batch_size = len,
            rejected,
            reason = rejection.unwrap_or_default(),
            "store rejected some points"
        );
    }
}
