//! Reads the Prometheus `/metrics` page of ingest or query.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{Context, Result};

/// Metric names of the services' `/metrics`, summed over their label sets.
pub const ACCEPTED: &str = "ingest_reactions_accepted_total";
pub const WRITTEN: &str = "ingest_reactions_written_total";
pub const DROPPED: &str = "ingest_reactions_dropped_total";
pub const BUFFER_DEPTH: &str = "ingest_buffer_depth";
pub const BUFFER_CAPACITY: &str = "ingest_buffer_capacity";
pub const BUFFER_BYTES: &str = "ingest_buffer_bytes";
pub const BUFFER_CAPACITY_BYTES: &str = "ingest_buffer_capacity_bytes";
/// Histograms; their `_sum` and `_count` series give the mean.
pub const STORE_WRITE_DURATION: &str = "ingest_store_write_duration_seconds";
pub const STORE_QUERY_DURATION: &str = "query_store_query_duration_seconds";
/// query's summary requests served from its cache.
pub const CACHE_HITS: &str = "query_cache_hits_total";
pub const RESIDENT_MEMORY: &str = "process_resident_memory_bytes";
pub const OPEN_FDS: &str = "process_open_fds";

/// One scrape: each metric name with the sum of its series.
#[derive(Clone, Debug, Default)]
pub struct Scrape {
    values: HashMap<String, f64>,
}

impl Scrape {
    /// Parses the Prometheus text format; comments and malformed lines are skipped.
    pub fn parse(text: &str) -> Scrape {
        let mut values = HashMap::new();
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((series, rest)) = split_series(line) else {
                continue;
            };
            let name = series.split('{').next().unwrap_or(series);
            let Some(Ok(value)) = rest.split_whitespace().next().map(str::parse::<f64>) else {
                continue;
            };
            *values.entry(name.to_owned()).or_insert(0.0) += value;
        }
        Scrape { values }
    }

    pub fn get(&self, name: &str) -> Option<f64> {
        self.values.get(name).copied()
    }
}

/// Splits `name{labels} value [timestamp]` after the series; label values may contain spaces.
fn split_series(line: &str) -> Option<(&str, &str)> {
    let end = match line.find('{') {
        Some(_) => line.rfind('}')? + 1,
        None => line.find(char::is_whitespace)?,
    };
    Some((&line[..end], &line[end..]))
}

/// Fetches `/metrics` of the service at `base_url`.
pub fn scrape(client: &reqwest::blocking::Client, base_url: &str) -> Result<Scrape> {
    let url = format!("{base_url}/metrics");
    let response = client
        .get(&url)
        .timeout(Duration::from_secs(5))
        .send()
        .with_context(|| format!("GET {url} failed"))?
        .error_for_status()
        .with_context(|| format!("GET {url} failed"))?;
    Ok(Scrape::parse(&response.text()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrape_sums_label_sets() {
        let text = r#"# HELP ingest_reactions_dropped_total Reactions dropped.
# TYPE ingest_reactions_dropped_total counter
ingest_reactions_dropped_total{reason="partial write"} 3
ingest_reactions_dropped_total{reason="shutdown"} 2
ingest_reactions_accepted_total 1000
ingest_buffer_depth 17 1700000000000
process_resident_memory_bytes 1.5e7
garbage
"#;
        let scrape = Scrape::parse(text);
        assert_eq!(scrape.get(DROPPED), Some(5.0));
        assert_eq!(scrape.get(ACCEPTED), Some(1000.0));
        assert_eq!(
            scrape.get(BUFFER_DEPTH),
            Some(17.0),
            "a timestamp is ignored"
        );
        assert_eq!(scrape.get(RESIDENT_MEMORY), Some(15_000_000.0));
        assert_eq!(scrape.get(WRITTEN), None);
    }
}
