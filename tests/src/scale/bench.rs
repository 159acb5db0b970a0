//! A closed-loop benchmark of the query endpoints: a fixed number of clients, each sending
//! its next request as soon as it receives the response to the previous one, for a fixed time.

use std::fmt::Write;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::manifest::Manifest;
use super::{article_id, user_id};
use crate::app::encode;

/// Which endpoint a scenario requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    UserSummary,
    UserListing,
    ArticleSummary,
    ArticleListing,
}

/// Which id a scenario requests: a uniformly random one of the dataset (most have few
/// reactions), or the one with the most reactions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    Random,
    Hottest,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scenario {
    pub endpoint: Endpoint,
    pub target: Target,
}

/// Every scenario, in the order they run and are reported.
pub const SCENARIOS: [Scenario; 8] = [
    scenario(Endpoint::UserSummary, Target::Random),
    scenario(Endpoint::UserListing, Target::Random),
    scenario(Endpoint::UserSummary, Target::Hottest),
    scenario(Endpoint::UserListing, Target::Hottest),
    scenario(Endpoint::ArticleSummary, Target::Hottest),
    scenario(Endpoint::ArticleListing, Target::Hottest),
    scenario(Endpoint::ArticleSummary, Target::Random),
    scenario(Endpoint::ArticleListing, Target::Random),
];

const fn scenario(endpoint: Endpoint, target: Target) -> Scenario {
    Scenario { endpoint, target }
}

impl Scenario {
    /// Returns the scenario's name, such as `article-summary/hottest`.
    pub fn name(&self) -> String {
        let endpoint = match self.endpoint {
            Endpoint::UserSummary => "user-summary",
            Endpoint::UserListing => "user-listing",
            Endpoint::ArticleSummary => "article-summary",
            Endpoint::ArticleListing => "article-listing",
        };
        let target = match self.target {
            Target::Random => "random",
            Target::Hottest => "hottest",
        };
        format!("{endpoint}/{target}")
    }

    /// Returns the path and query of the next request. Listings use the default page size.
    pub fn path(&self, manifest: &Manifest, rng: &mut fastrand::Rng) -> String {
        let is_user = matches!(self.endpoint, Endpoint::UserSummary | Endpoint::UserListing);
        let id = match (is_user, self.target) {
            (true, Target::Random) => user_id(rng.usize(..manifest.users)),
            (false, Target::Random) => article_id(rng.usize(..manifest.articles)),
            (true, Target::Hottest) => manifest.hottest_users[0].id.clone(),
            (false, Target::Hottest) => manifest.hottest_articles[0].id.clone(),
        };
        let id = encode(&id);
        match self.endpoint {
            Endpoint::UserSummary => format!("/v1/users/{id}/reactions/summary"),
            Endpoint::UserListing => format!("/v1/users/{id}/reactions"),
            Endpoint::ArticleSummary => format!("/v1/articles/{id}/reactions/summary"),
            Endpoint::ArticleListing => format!("/v1/articles/{id}/reactions"),
        }
    }
}

/// How hard and how long to load the service.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Base URL of the query service, such as `http://127.0.0.1:8081`.
    pub url: String,
    pub clients: usize,
    /// Time measured per scenario, after the warm-up.
    pub duration: Duration,
    /// Time per scenario whose requests are sent but not measured.
    pub warmup: Duration,
    /// Time limit for one request; a request still running at the end of `duration` can
    /// extend a scenario by at most this much.
    pub timeout: Duration,
    pub seed: u64,
}

/// The figures of one scenario. Latencies are of successful (200) requests only.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ScenarioResult {
    pub scenario: String,
    pub clients: usize,
    pub seconds: f64,
    pub requests: u64,
    pub errors: u64,
    pub requests_per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub first_error: Option<String>,
}

/// A whole benchmark run: what was measured, against what, and the figures.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Report {
    pub label: String,
    pub url: String,
    pub store: String,
    pub reactions: u64,
    pub users: usize,
    pub articles: usize,
    pub hottest_article: String,
    pub heaviest_user: String,
    pub clients: usize,
    pub duration_seconds: f64,
    pub warmup_seconds: f64,
    pub results: Vec<ScenarioResult>,
}

impl Report {
    pub fn new(
        label: String,
        settings: &Settings,
        manifest: &Manifest,
        results: Vec<ScenarioResult>,
    ) -> Report {
        Report {
            label,
            url: settings.url.clone(),
            store: manifest.store.clone(),
            reactions: manifest.reactions,
            users: manifest.users,
            articles: manifest.articles,
            hottest_article: manifest.hottest_articles[0].id.clone(),
            heaviest_user: manifest.hottest_users[0].id.clone(),
            clients: settings.clients,
            duration_seconds: settings.duration.as_secs_f64(),
            warmup_seconds: settings.warmup.as_secs_f64(),
            results,
        }
    }
}

/// What one client measured.
#[derive(Default)]
struct ClientRecord {
    latencies_us: Vec<u64>,
    errors: u64,
    first_error: Option<String>,
}

/// Runs one scenario with `settings.clients` threads and returns its figures.
pub fn run(
    settings: &Settings,
    manifest: &Manifest,
    scenario: Scenario,
) -> anyhow::Result<ScenarioResult> {
    // One client per thread: a blocking client drives its connections from one background
    // thread, which would otherwise become the bottleneck of a fast service.
    let clients = (0..settings.clients)
        .map(|_| {
            reqwest::blocking::Client::builder()
                .timeout(settings.timeout)
                .build()
        })
        .collect::<Result<Vec<_>, _>>()?;
    let started = Instant::now();
    let measured_from = started + settings.warmup;
    let deadline = measured_from + settings.duration;

    let records: Vec<ClientRecord> = std::thread::scope(|scope| {
        let threads: Vec<_> = clients
            .into_iter()
            .enumerate()
            .map(|(index, client)| {
                let mut rng = fastrand::Rng::with_seed(settings.seed ^ ((index as u64) << 32));
                scope.spawn(move || {
                    let mut record = ClientRecord::default();
                    while Instant::now() < deadline {
                        let path = scenario.path(manifest, &mut rng);
                        let sent = Instant::now();
                        let outcome = send(&client, &format!("{}{path}", settings.url));
                        if sent < measured_from {
                            continue;
                        }
                        match outcome {
                            Ok(()) => record.latencies_us.push(sent.elapsed().as_micros() as u64),
                            Err(error) => {
                                record.errors += 1;
                                record
                                    .first_error
                                    .get_or_insert(format!("GET {path}: {error}"));
                            }
                        }
                    }
                    record
                })
            })
            .collect();
        threads
            .into_iter()
            .map(|thread| thread.join().expect("a benchmark client panicked"))
            .collect()
    });

    let seconds = measured_from.elapsed().as_secs_f64();
    Ok(summarize(scenario, settings.clients, seconds, records))
}

/// Sends one GET and reads the whole body; anything but a 200 is an error.
fn send(client: &reqwest::blocking::Client, url: &str) -> Result<(), String> {
    let response = client.get(url).send().map_err(|error| error.to_string())?;
    let status = response.status();
    let body = response.bytes().map_err(|error| error.to_string())?;
    if status.as_u16() == 200 {
        Ok(())
    } else {
        Err(format!("{status}: {}", String::from_utf8_lossy(&body)))
    }
}

fn summarize(
    scenario: Scenario,
    clients: usize,
    seconds: f64,
    records: Vec<ClientRecord>,
) -> ScenarioResult {
    let mut latencies: Vec<u64> = Vec::new();
    let mut errors = 0;
    let mut first_error = None;
    for record in records {
        latencies.extend(record.latencies_us);
        errors += record.errors;
        first_error = first_error.or(record.first_error);
    }
    latencies.sort_unstable();

    ScenarioResult {
        scenario: scenario.name(),
        clients,
        seconds,
        requests: latencies.len() as u64,
        errors,
        requests_per_second: latencies.len() as f64 / seconds,
        p50_ms: percentile_ms(&latencies, 0.50),
        p99_ms: percentile_ms(&latencies, 0.99),
        max_ms: latencies.last().map_or(0.0, |&us| us as f64 / 1000.0),
        first_error,
    }
}

/// Returns the nearest-rank percentile of sorted microseconds, in milliseconds; 0 when empty.
fn percentile_ms(sorted_us: &[u64], quantile: f64) -> f64 {
    if sorted_us.is_empty() {
        return 0.0;
    }
    let rank = (quantile * sorted_us.len() as f64).ceil() as usize;
    sorted_us[rank.clamp(1, sorted_us.len()) - 1] as f64 / 1000.0
}

/// Formats results as a Markdown table under a heading naming `label`.
pub fn markdown(label: &str, results: &[ScenarioResult]) -> String {
    let mut text = format!(
        "### {label}\n\n\
         | scenario | clients | requests | errors | req/s | p50 ms | p99 ms | max ms |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|\n"
    );
    for result in results {
        let _ = writeln!(
            text,
            "| {} | {} | {} | {} | {:.1} | {:.1} | {:.1} | {:.1} |",
            result.scenario,
            result.clients,
            result.requests,
            result.errors,
            result.requests_per_second,
            result.p50_ms,
            result.p99_ms,
            result.max_ms,
        );
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_nearest_rank() {
        let sorted: Vec<u64> = (1..=100).map(|ms| ms * 1000).collect();
        assert_eq!(percentile_ms(&sorted, 0.50), 50.0);
        assert_eq!(percentile_ms(&sorted, 0.99), 99.0);
        assert_eq!(percentile_ms(&[], 0.99), 0.0);
        assert_eq!(percentile_ms(&[7000], 0.5), 7.0);
    }

    #[test]
    fn scenario_names_are_unique() {
        let mut names: Vec<String> = SCENARIOS.iter().map(Scenario::name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), SCENARIOS.len());
    }
}
