//! Writing a generated dataset with several writer threads.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::generate::{Generator, Tally};
use super::sink::Sink;

/// The outcome of a load.
pub struct Loaded {
    pub tally: Tally,
    pub elapsed: Duration,
}

/// Generates every chunk and writes it to `sink`, with `writers` threads taking the next
/// chunk number from a shared counter. Prints progress to stderr every 5% of the chunks.
/// The first failed write stops every thread.
pub fn load(generator: &Generator, sink: &Sink, writers: usize) -> anyhow::Result<Loaded> {
    let started = Instant::now();
    let next = AtomicU64::new(0);
    let total = Mutex::new(Tally::new(generator.spec()));
    let chunks = generator.spec().chunk_count();
    let progress = (chunks / 20).max(1);

    std::thread::scope(|scope| {
        let threads: Vec<_> = (0..writers)
            .map(|_| {
                scope.spawn(|| -> anyhow::Result<()> {
                    let mut tally = Tally::new(generator.spec());
                    loop {
                        let index = next.fetch_add(1, Ordering::Relaxed);
                        if index >= chunks {
                            break;
                        }
                        let reactions = generator.chunk(index, &mut tally);
                        if let Err(error) = sink.write(&reactions) {
                            next.store(chunks, Ordering::Relaxed);
                            return Err(error.context(format!("writing chunk {index} failed")));
                        }
                        if (index + 1).is_multiple_of(progress) {
                            eprintln!(
                                "dataset: {} of {chunks} chunks written after {:.0?}",
                                index + 1,
                                started.elapsed()
                            );
                        }
                    }
                    total
                        .lock()
                        .map_err(|_| anyhow::anyhow!("another writer thread panicked"))?
                        .merge(&tally);
                    Ok(())
                })
            })
            .collect();
        threads
            .into_iter()
            .try_for_each(|thread| thread.join().expect("a writer thread panicked"))
    })?;

    Ok(Loaded {
        tally: total
            .into_inner()
            .map_err(|_| anyhow::anyhow!("a writer thread panicked"))?,
        elapsed: started.elapsed(),
    })
}
