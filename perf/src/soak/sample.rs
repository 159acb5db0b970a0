//! Samples the services from outside every few seconds: RSS and descriptors from /proc (or
//! `/metrics` without a PID), sockets to InfluxDB from /proc/net/tcp, ingest's buffer and
//! counters from `/metrics`, and the load's throughput and p99 from the recorder.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::metrics::{self, Scrape};
use crate::procfs;
use crate::recorder::Recorder;
use crate::stack::Targets;

/// One process at one moment.
#[derive(Clone, Debug, Default)]
pub struct ProcessSample {
    pub name: String,
    pub rss_bytes: Option<u64>,
    pub open_fds: Option<u64>,
}

#[derive(Clone, Debug, Default)]
pub struct Sample {
    /// Seconds since the load started.
    pub elapsed_s: f64,
    pub requests_per_s: f64,
    pub p99_ms: Option<f64>,
    pub failures: u64,
    pub backpressure: u64,
    /// Reactions in requests that got a 202 since the previous sample.
    pub accepted: u64,
    /// The same processes in the same order in every sample.
    pub processes: Vec<ProcessSample>,
    pub store_established: Option<u64>,
    pub store_time_wait: Option<u64>,
    pub buffer_depth: Option<f64>,
    pub buffer_capacity: Option<f64>,
    pub accepted_total: Option<f64>,
    pub written_total: Option<f64>,
    pub dropped_total: Option<f64>,
}

impl Sample {
    pub fn rss_of(&self, name: &str) -> Option<u64> {
        self.processes
            .iter()
            .find(|process| process.name == name)
            .and_then(|process| process.rss_bytes)
    }
}

/// Reads one sample's worth of readings from the targets.
pub struct Sampler {
    targets: Targets,
    client: reqwest::blocking::Client,
    influx_port: Option<u16>,
    /// Process roles sampled, in column order.
    pub roles: Vec<String>,
}

impl Sampler {
    pub fn new(targets: Targets) -> anyhow::Result<Sampler> {
        let influx_port = targets
            .influx_url
            .as_deref()
            .and_then(|url| reqwest::Url::parse(url).ok())
            .and_then(|url| url.port_or_known_default());
        let mut roles: Vec<String> = targets
            .processes
            .iter()
            .map(|(name, _)| name.clone())
            .collect();
        if !roles.iter().any(|role| role == "ingest") {
            // Without a PID, ingest's RSS and descriptors come from its /metrics.
            roles.insert(0, "ingest".to_owned());
        }
        Ok(Sampler {
            targets,
            client: reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()?,
            influx_port,
            roles,
        })
    }

    /// Scrapes ingest's `/metrics`; `None` when it has none (the ceiling server, or an ingest
    /// built before the page existed).
    pub fn scrape(&self) -> Option<Scrape> {
        metrics::scrape(&self.client, &self.targets.ingest_url).ok()
    }

    pub fn read(&self, elapsed_s: f64, recorder: &Recorder, interval_s: f64) -> Sample {
        let window = recorder.take();
        let scrape = self.scrape();
        let metric = |name: &str| scrape.as_ref().and_then(|scrape| scrape.get(name));
        let processes = self
            .roles
            .iter()
            .map(|role| match self.targets.pid(role) {
                Some(pid) => ProcessSample {
                    name: role.clone(),
                    rss_bytes: procfs::rss_bytes(pid).ok(),
                    open_fds: procfs::open_fds(pid).ok(),
                },
                None => ProcessSample {
                    name: role.clone(),
                    rss_bytes: metric(metrics::RESIDENT_MEMORY).map(|bytes| bytes as u64),
                    open_fds: metric(metrics::OPEN_FDS).map(|fds| fds as u64),
                },
            })
            .collect();
        let sockets = self
            .influx_port
            .and_then(|port| procfs::sockets_to_port(port).ok());

        Sample {
            elapsed_s,
            requests_per_s: window.counts.total() as f64 / interval_s,
            p99_ms: window.latency_ms(99.0),
            failures: window.counts.failures(),
            backpressure: window.counts.backpressure,
            accepted: window.accepted_reactions,
            processes,
            store_established: sockets.map(|counts| counts.established),
            store_time_wait: sockets.map(|counts| counts.time_wait),
            buffer_depth: metric(metrics::BUFFER_DEPTH),
            buffer_capacity: metric(metrics::BUFFER_CAPACITY),
            accepted_total: metric(metrics::ACCEPTED),
            written_total: metric(metrics::WRITTEN),
            dropped_total: metric(metrics::DROPPED),
        }
    }
}

/// Samples on a thread until stopped; every sample also goes to `on_sample` at once, so that
/// an interrupted soak still leaves its samples on disk.
pub struct SamplingThread {
    stop: Arc<AtomicBool>,
    handle: JoinHandle<Vec<Sample>>,
}

impl SamplingThread {
    pub fn start(
        sampler: Sampler,
        recorder: Arc<Recorder>,
        interval: Duration,
        mut on_sample: impl FnMut(&Sample) + Send + 'static,
    ) -> SamplingThread {
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let handle = std::thread::spawn(move || {
            let started = Instant::now();
            let mut samples = Vec::new();
            let mut previous = started;
            let mut tick = 1u32;
            while !stopping.load(Ordering::Relaxed) {
                // Sleeps to the next multiple of the interval, so that samples do not drift.
                let next = started + interval * tick;
                tick += 1;
                while Instant::now() < next {
                    if stopping.load(Ordering::Relaxed) {
                        return samples;
                    }
                    std::thread::sleep((next - Instant::now()).min(Duration::from_millis(100)));
                }
                let now = Instant::now();
                let sample = sampler.read(
                    (now - started).as_secs_f64(),
                    &recorder,
                    (now - previous).as_secs_f64(),
                );
                previous = now;
                on_sample(&sample);
                samples.push(sample);
            }
            samples
        });
        SamplingThread { stop, handle }
    }

    /// Stops sampling and returns every sample taken.
    pub fn finish(self) -> Vec<Sample> {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.join().unwrap_or_default()
    }
}
