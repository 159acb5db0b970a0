//! Counts every response the load generator gets, by outcome, with its latency, in windows
//! that the step runner and the soak sampler take in turn.

use std::sync::Mutex;

/// Class of a response. Only `Success` is a success. A 503 is backpressure, which is reported
/// apart from errors but is still a failed request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Backpressure,
    ClientError,
    ServerError,
    /// No HTTP status: a timeout, a refused or reset connection.
    Transport,
}

impl Outcome {
    /// Classifies a status code as Goose reports it (0 when no response arrived).
    pub fn from_status(status: u16) -> Outcome {
        match status {
            0 => Outcome::Transport,
            200..=299 => Outcome::Success,
            503 => Outcome::Backpressure,
            400..=499 => Outcome::ClientError,
            _ => Outcome::ServerError,
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct OutcomeCounts {
    pub success: u64,
    pub backpressure: u64,
    pub client_error: u64,
    pub server_error: u64,
    pub transport_error: u64,
}

impl OutcomeCounts {
    pub fn total(&self) -> u64 {
        self.success + self.failures()
    }

    /// Counts every request that did not succeed, backpressure included.
    pub fn failures(&self) -> u64 {
        self.backpressure + self.errors()
    }

    /// Failures other than backpressure: 4xx, 5xx other than 503, and transport errors.
    pub fn errors(&self) -> u64 {
        self.client_error + self.server_error + self.transport_error
    }

    pub fn failure_rate(&self) -> f64 {
        match self.total() {
            0 => 0.0,
            total => self.failures() as f64 / total as f64,
        }
    }

    fn add(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Success => self.success += 1,
            Outcome::Backpressure => self.backpressure += 1,
            Outcome::ClientError => self.client_error += 1,
            Outcome::ServerError => self.server_error += 1,
            Outcome::Transport => self.transport_error += 1,
        }
    }
}

/// Responses of one window.
#[derive(Clone, Debug, Default)]
pub struct Window {
    pub counts: OutcomeCounts,
    /// Reactions in requests that got a 2xx from an ingest endpoint.
    pub accepted_reactions: u64,
    latencies_us: Vec<u64>,
}

impl Window {
    /// Latency percentile `p` (0 to 100) over every response of the window, in milliseconds;
    /// `None` for an empty window.
    pub fn latency_ms(&self, p: f64) -> Option<f64> {
        percentile(&self.latencies_us, p).map(|us| us as f64 / 1000.0)
    }

    /// Mean latency over every response of the window, in milliseconds; 0 for an empty window.
    pub fn mean_latency_ms(&self) -> f64 {
        let count = self.latencies_us.len().max(1) as f64;
        self.latencies_us.iter().sum::<u64>() as f64 / count / 1000.0
    }
}

/// Returns the nearest-rank percentile of `values`.
fn percentile(values: &[u64], p: f64) -> Option<u64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// Shared by every Goose user of an attack.
#[derive(Debug, Default)]
pub struct Recorder {
    window: Mutex<Window>,
}

impl Recorder {
    /// Records one response; `reactions` is the number of reactions the request carried (0
    /// for reads).
    pub fn record(&self, status: u16, latency_us: u64, reactions: u64) {
        let outcome = Outcome::from_status(status);
        let mut window = self
            .window
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        window.counts.add(outcome);
        window.latencies_us.push(latency_us);
        if outcome == Outcome::Success {
            window.accepted_reactions += reactions;
        }
    }

    /// Returns the current window and starts a new one.
    pub fn take(&self) -> Window {
        let mut window = self
            .window
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        std::mem::take(&mut *window)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcome_classes() {
        let cases = [
            (200, Outcome::Success),
            (202, Outcome::Success),
            (503, Outcome::Backpressure),
            (400, Outcome::ClientError),
            (422, Outcome::ClientError),
            (500, Outcome::ServerError),
            (502, Outcome::ServerError),
            (0, Outcome::Transport),
            (301, Outcome::ServerError),
        ];
        for (status, expected) in cases {
            assert_eq!(Outcome::from_status(status), expected, "status {status}");
        }
    }

    #[test]
    fn failures_are_never_successes() {
        let recorder = Recorder::default();
        recorder.record(202, 1_000, 10);
        recorder.record(503, 2_000, 10);
        recorder.record(500, 3_000, 10);
        recorder.record(0, 4_000, 10);

        let window = recorder.take();
        assert_eq!(window.counts.success, 1);
        assert_eq!(window.counts.backpressure, 1);
        assert_eq!(window.counts.errors(), 2);
        assert_eq!(window.counts.failure_rate(), 0.75);
        assert_eq!(
            window.accepted_reactions, 10,
            "only the 202 counts as accepted"
        );
        assert_eq!(
            recorder.take().counts.total(),
            0,
            "take starts a new window"
        );
    }

    #[test]
    fn percentiles_by_nearest_rank() {
        let values: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&values, 50.0), Some(50));
        assert_eq!(percentile(&values, 99.0), Some(99));
        assert_eq!(percentile(&values, 100.0), Some(100));
        assert_eq!(percentile(&[], 99.0), None);
    }
}
