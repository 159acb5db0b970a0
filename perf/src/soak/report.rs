//! The soak's files: the samples as CSV, written as they are taken, and the Markdown summary.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::{Context, Result};

use super::gates::{Delivery, GateResult, Verdict};
use super::sample::Sample;

/// Appends samples to `samples.csv`, flushing each row.
pub struct CsvWriter {
    file: BufWriter<File>,
}

impl CsvWriter {
    pub fn create(path: &Path, roles: &[String]) -> Result<CsvWriter> {
        let file =
            File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
        let mut writer = CsvWriter {
            file: BufWriter::new(file),
        };
        let mut header = String::from("elapsed_s,requests_per_s,p99_ms,failures,backpressure");
        for role in roles {
            let _ = write!(header, ",{role}_rss_bytes,{role}_open_fds");
        }
        header.push_str(",store_established,store_time_wait,buffer_depth,buffer_capacity,accepted_total,written_total,dropped_total");
        writeln!(writer.file, "{header}")?;
        writer.file.flush()?;
        Ok(writer)
    }

    pub fn append(&mut self, sample: &Sample) -> Result<()> {
        writeln!(self.file, "{}", csv_row(sample))?;
        self.file.flush()?;
        Ok(())
    }
}

fn csv_row(sample: &Sample) -> String {
    let mut row = format!(
        "{:.1},{:.1},{},{},{}",
        sample.elapsed_s,
        sample.requests_per_s,
        cell(sample.p99_ms),
        sample.failures,
        sample.backpressure
    );
    for process in &sample.processes {
        let _ = write!(
            row,
            ",{},{}",
            cell(process.rss_bytes),
            cell(process.open_fds)
        );
    }
    for value in [
        sample.store_established.map(|n| n as f64),
        sample.store_time_wait.map(|n| n as f64),
        sample.buffer_depth,
        sample.buffer_capacity,
        sample.accepted_total,
        sample.written_total,
        sample.dropped_total,
    ] {
        let _ = write!(row, ",{}", cell(value));
    }
    row
}

/// Formats a CSV cell, empty for a reading that is not available.
fn cell<T: std::fmt::Display>(value: Option<T>) -> String {
    value.map_or(String::new(), |value| value.to_string())
}

/// Inputs of the Markdown summary.
pub struct Summary<'a> {
    pub command: String,
    pub machine: String,
    pub samples: &'a [Sample],
    pub gates: &'a [GateResult],
    pub delivery: Delivery,
    pub rss_slope_mb_per_hour: Option<f64>,
    pub plots: &'a [String],
}

pub fn markdown(summary: &Summary<'_>) -> String {
    let passed = summary
        .gates
        .iter()
        .all(|gate| gate.verdict != Verdict::Failed);
    let mut text = String::from("# perf soak\n\n");
    let _ = writeln!(
        text,
        "Result: **{}**\n",
        if passed { "passed" } else { "FAILED" }
    );
    let _ = writeln!(text, "Command: `{}`\n", summary.command);
    let _ = writeln!(text, "Machine: {}\n", summary.machine);
    if let Some(slope) = summary.rss_slope_mb_per_hour {
        let _ = writeln!(
            text,
            "RSS slope of ingest after the warm-up: {slope:.2} MB/hour\n"
        );
    }

    text.push_str("| gate | verdict | detail |\n|---|---|---|\n");
    for gate in summary.gates {
        let _ = writeln!(
            text,
            "| {} | {:?} | {} |",
            gate.gate, gate.verdict, gate.detail
        );
    }

    let requests: f64 = summary
        .samples
        .iter()
        .map(|s| s.requests_per_s)
        .sum::<f64>()
        / summary.samples.len().max(1) as f64;
    let failures: u64 = summary.samples.iter().map(|s| s.failures).sum();
    let backpressure: u64 = summary.samples.iter().map(|s| s.backpressure).sum();
    let worst_p99 = summary
        .samples
        .iter()
        .filter_map(|s| s.p99_ms)
        .fold(0.0, f64::max);
    let _ = writeln!(
        text,
        "\nLoad: {requests:.0} requests/s on average over {} samples; {failures} failed requests, of which {backpressure} were 503; worst p99 of a sample {worst_p99:.1} ms; {} reactions accepted by the load generator's count.\n",
        summary.samples.len(),
        summary.delivery.client_accepted,
    );

    if let (Some(first), Some(last)) = (summary.samples.first(), summary.samples.last()) {
        text.push_str("| process | RSS first sample MB | RSS last sample MB | open fds last |\n|---|---|---|---|\n");
        for (start, end) in first.processes.iter().zip(&last.processes) {
            let mb = |bytes: Option<u64>| {
                bytes.map_or("n/a".to_owned(), |b| format!("{:.1}", b as f64 / 1e6))
            };
            let _ = writeln!(
                text,
                "| {} | {} | {} | {} |",
                start.name,
                mb(start.rss_bytes),
                mb(end.rss_bytes),
                end.open_fds.map_or("n/a".to_owned(), |n| n.to_string())
            );
        }
    }

    text.push_str("\nSamples: `samples.csv`.\n\n");
    for plot in summary.plots {
        let _ = writeln!(text, "![{plot}]({plot})\n");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::soak::sample::ProcessSample;

    #[test]
    fn csv_row_leaves_missing_readings_empty() {
        let sample = Sample {
            elapsed_s: 5.0,
            requests_per_s: 100.0,
            p99_ms: Some(2.5),
            processes: vec![ProcessSample {
                name: "ingest".to_owned(),
                rss_bytes: Some(1000),
                open_fds: None,
            }],
            buffer_depth: Some(3.0),
            ..Sample::default()
        };
        assert_eq!(csv_row(&sample), "5.0,100.0,2.5,0,0,1000,,,,3,,,,");
    }
}
