//! The capacity report: capacity.json with every figure, capacity.md for people, and a summary
//! on standard output.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};

use super::search::Step;
use super::{Hold, ProfileReport, Report, ServiceReport, Sizing};

pub fn write(dir: &Path, report: &Report) -> Result<()> {
    let json_path = dir.join("capacity.json");
    std::fs::write(&json_path, serde_json::to_vec_pretty(report)?)
        .with_context(|| format!("cannot write {}", json_path.display()))?;
    let markdown_path = dir.join("capacity.md");
    std::fs::write(&markdown_path, markdown(report))
        .with_context(|| format!("cannot write {}", markdown_path.display()))?;
    tracing::info!(report = %markdown_path.display(), "report written");
    Ok(())
}

/// Returns one line per profile and service, and the replica counts.
pub fn summary(report: &Report) -> String {
    let mut text = String::new();
    for profile in &report.profiles {
        let services = [
            ("ingest", Some(&profile.ingest)),
            ("query", profile.query.as_ref()),
        ];
        for (name, service) in services {
            let Some(service) = service else { continue };
            let _ = writeln!(
                text,
                "{} {name}: max {} requests/s at the SLO; limited by {}",
                profile.name,
                optional(service.search.max_rps.map(f64::from), 0),
                limited_text(service)
            );
        }
        for hold in &profile.holds {
            let _ = writeln!(text, "{} hold: {}", profile.name, hold_text(hold));
        }
    }
    if let Some(sizing) = &report.sizing {
        for row in &sizing.ingest {
            let _ = writeln!(text, "ingest replicas, {}: {}", row.profile, row.arithmetic);
        }
        for line in sizing.store.iter().flat_map(|store| &store.arithmetic) {
            let _ = writeln!(text, "InfluxDB: {line}");
        }
        if let Some(query) = &sizing.query {
            for row in &query.replicas {
                let _ = writeln!(text, "query replicas, {}: {}", row.profile, row.arithmetic);
            }
            if let Some(arithmetic) = &query.arithmetic {
                let _ = writeln!(text, "store queries: {arithmetic}");
            }
        }
    }
    text
}

fn markdown(report: &Report) -> String {
    let mut text = String::from("# perf capacity\n\n");
    let _ = writeln!(text, "Machine: {}\n", report.machine);
    let _ = writeln!(text, "Command: `{}`\n", report.command);
    let _ = writeln!(
        text,
        "SLO: p99 at most {} ms and a failure rate (503 included) under {:.3}%. Ingest load: `{}`, reactions per request: {}. Query read mix: `{}`. Steps of {} s after a {} s warm-up; the load generator and InfluxDB run outside the limits. A rate is the achieved rate, in the search, of the highest step that met the SLO and, when a hold ran, held it. Peak RSS counts every resident page of the process; peak cgroup memory counts only the pages charged to the cgroup, which leaves out the binary's pages that other processes loaded first, and is what the limit applies to.\n",
        report.slo.p99_ms,
        report.slo.max_failure_rate * 100.0,
        report.scenario.name(),
        report.reactions_per_request,
        report.read_mix,
        report.step_duration_s,
        report.step_warmup_s,
    );

    text.push_str("## Summary\n\n");
    text.push_str("| profile | service | confined by | max requests/s | p50 ms | p99 ms | CPU cores used | peak RSS MB | peak cgroup MB | limited by |\n|---|---|---|---:|---:|---:|---:|---:|---:|---|\n");
    for profile in &report.profiles {
        summary_row(&mut text, profile, "ingest", &profile.ingest);
        if let Some(query) = &profile.query {
            summary_row(&mut text, profile, "query", query);
        }
    }
    text.push('\n');
    for profile in &report.profiles {
        for hold in &profile.holds {
            let _ = writeln!(text, "- {} ingest hold: {}", profile.name, hold_text(hold));
        }
    }
    for profile in &report.profiles {
        if let Some(kills) = profile.oom_kills.filter(|kills| *kills > 0) {
            let _ = writeln!(
                text,
                "- {}: the OOM killer ended {kills} process(es)",
                profile.name
            );
        }
    }
    text.push('\n');

    if let Some(sizing) = &report.sizing {
        sizing_section(&mut text, sizing);
    }
    for profile in &report.profiles {
        profile_section(&mut text, profile);
    }
    text
}

fn summary_row(text: &mut String, profile: &ProfileReport, service: &str, report: &ServiceReport) {
    let at_max = report.at_max.as_ref();
    let _ = writeln!(
        text,
        "| {} | {service} | {} | {} | {} | {} | {} | {} | {} | {} |",
        profile.name,
        profile.confinement,
        optional(report.search.max_rps.map(f64::from), 0),
        optional(at_max.and_then(|s| s.result.p50_ms), 1),
        optional(at_max.and_then(|s| s.result.p99_ms), 1),
        optional(at_max.and_then(|s| s.service_cores), 2),
        optional(report.peak_rss_mb, 1),
        optional(report.peak_cgroup_mb, 1),
        limited_text(report),
    );
}

fn sizing_section(text: &mut String, sizing: &Sizing) {
    text.push_str("## Replicas for the target\n\n");
    if let Some(target) = sizing.target_rps {
        let _ = writeln!(
            text,
            "ingest at {target} requests/s with {:.0}% headroom, that is {:.0} requests/s of capacity:\n",
            sizing.headroom * 100.0,
            target as f64 * (1.0 + sizing.headroom)
        );
        replicas_table(text, &sizing.ingest);
    }
    if let Some(store) = &sizing.store {
        text.push_str("What the target writes to InfluxDB:\n\n");
        for line in &store.arithmetic {
            let _ = writeln!(text, "- {line}");
        }
        text.push('\n');
    }
    if let Some(query) = &sizing.query {
        let _ = writeln!(
            text,
            "query at {} requests/s in the read mix, with the same headroom:\n",
            query.target_rps
        );
        replicas_table(text, &query.replicas);
        if let Some(arithmetic) = &query.arithmetic {
            let _ = writeln!(text, "- {arithmetic}\n");
        }
    }
}

fn replicas_table(text: &mut String, rows: &[super::Replicas]) {
    text.push_str("| profile | max requests/s | replicas | arithmetic |\n|---|---:|---:|---|\n");
    for row in rows {
        let _ = writeln!(
            text,
            "| {} | {} | {} | {} |",
            row.profile,
            optional(row.max_rps.map(f64::from), 0),
            row.replicas
                .map_or("n/a".to_owned(), |count| count.to_string()),
            row.arithmetic
        );
    }
    text.push('\n');
}

fn profile_section(text: &mut String, profile: &ProfileReport) {
    let _ = writeln!(
        text,
        "## {}\n\nConfined by {}. Cores usable: {}.\n",
        profile.name, profile.confinement, profile.quota_cores
    );
    text.push_str("### ingest\n\n");
    steps_table(text, &profile.ingest.search.steps);
    if !profile.holds.is_empty() {
        text.push_str("\n### ingest held at its maximum\n\n");
        let steps: Vec<Step> = profile.holds.iter().map(|hold| hold.step.clone()).collect();
        steps_table(text, &steps);
    }
    if let Some(query) = &profile.query {
        text.push_str("\n### query\n\n");
        steps_table(text, &query.search.steps);
    }
    text.push('\n');
}

fn steps_table(text: &mut String, steps: &[Step]) {
    text.push_str("| target/s | achieved/s | p50 ms | p99 ms | 2xx | 503 | errors | cores | throttled | store ms | buffer | cache hits | peak RSS MB | SLO |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
    for step in steps {
        let result = &step.result;
        let _ = writeln!(
            text,
            "| {} | {:.0} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            result.target_rps,
            result.achieved_rps,
            optional(result.p50_ms, 1),
            optional(result.p99_ms, 1),
            result.counts.success,
            result.counts.backpressure,
            result.counts.errors(),
            optional(step.service_cores, 2),
            percent(step.throttled_fraction),
            optional(step.store_ms, 1),
            percent(step.buffer_fill),
            percent(step.cache_hit_ratio),
            optional(step.peak_rss_mb, 1),
            result.failed_because.as_deref().unwrap_or("met"),
        );
    }
}

fn hold_text(hold: &Hold) -> String {
    let result = &hold.step.result;
    format!(
        "{} for {:.0} s at {} requests/s (achieved {:.0}): p50 {} ms, p99 {} ms, failure rate {:.3}%{}",
        if hold.held {
            "held the SLO"
        } else {
            "did not hold the SLO"
        },
        hold.duration_s,
        result.target_rps,
        result.achieved_rps,
        optional(result.p50_ms, 1),
        optional(result.p99_ms, 1),
        result.counts.failure_rate() * 100.0,
        result
            .failed_because
            .as_deref()
            .map_or(String::new(), |why| format!(" ({why})")),
    )
}

fn limited_text(report: &ServiceReport) -> String {
    if report.search.max_rps.is_none() {
        let when = if report.search.steps.iter().any(Step::sustained) {
            "no sustained step held the SLO through the hold"
        } else {
            "the first step already missed the SLO"
        };
        return format!("{when}: {}", report.limited_by.join("; "));
    }
    if report.limited_by.is_empty() {
        "nothing yet: the highest step met the SLO, so the maximum is higher".to_owned()
    } else {
        report.limited_by.join("; ")
    }
}

fn optional(value: Option<f64>, decimals: usize) -> String {
    value.map_or("n/a".to_owned(), |value| format!("{value:.decimals$}"))
}

fn percent(value: Option<f64>) -> String {
    value.map_or("n/a".to_owned(), |share| format!("{:.0}%", share * 100.0))
}
