//! Writer threads: take reactions off the buffer, batch them by size and time, and write each
//! batch to the store until it is stored or can never be.

mod retry;
mod store_write;

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError};
use shared::Reaction;

pub use retry::RetryPolicy;

use crate::buffer::BufferGauge;
use crate::health::Health;
use crate::sink::{Sink, SinkFactory};
use store_write::{DropLog, write_chunk};

/// Batching and retry settings of the writers.
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

/// Settings and shared state of every writer.
#[derive(Clone)]
pub struct WriterContext {
    pub settings: WriterSettings,
    pub gauge: Arc<BufferGauge>,
    pub health: Arc<Health>,
    pub stats: Arc<WriterStats>,
    pub deadline: Arc<DrainDeadline>,
    pub drop_log: Arc<DropLog>,
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
