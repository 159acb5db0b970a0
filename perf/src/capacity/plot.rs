//! Plots of latency against offered load, one per service with a line per profile, so that
//! the knee where latency leaves the floor is visible. The SLO's p99 bound is drawn across.

use std::path::Path;

use anyhow::Result;
use plotters::prelude::*;

use crate::svg::plot_error;

use super::{ProfileReport, Report, ServiceReport};

/// Draws latency-ingest.svg and, when query was measured, latency-query.svg into `dir`.
pub fn draw(dir: &Path, report: &Report) -> Result<()> {
    let ingest: Vec<(&str, &ServiceReport)> = report
        .profiles
        .iter()
        .map(|profile| (profile.name.as_str(), &profile.ingest))
        .collect();
    draw_service(
        &dir.join("latency-ingest.svg"),
        "ingest",
        &ingest,
        report.slo.p99_ms,
    )?;

    let query: Vec<(&str, &ServiceReport)> = report
        .profiles
        .iter()
        .filter_map(|profile: &ProfileReport| {
            Some((profile.name.as_str(), profile.query.as_ref()?))
        })
        .collect();
    if !query.is_empty() {
        draw_service(
            &dir.join("latency-query.svg"),
            "query",
            &query,
            report.slo.p99_ms,
        )?;
    }
    Ok(())
}

/// A line of (offered requests/s, latency ms) for each percentile of each profile.
type Series = (String, Vec<(f64, f64)>);

fn series(profiles: &[(&str, &ServiceReport)]) -> Vec<Series> {
    let mut all = Vec::new();
    for (name, report) in profiles {
        for (label, percentile) in [("p99", 99), ("p50", 50)] {
            let points = report
                .search
                .steps
                .iter()
                .filter_map(|step| {
                    let latency = if percentile == 99 {
                        step.result.p99_ms
                    } else {
                        step.result.p50_ms
                    }?;
                    Some((step.result.target_rps as f64, latency.max(0.01)))
                })
                .collect();
            all.push((format!("{name} {label}"), points));
        }
    }
    all
}

fn draw_service(
    path: &Path,
    service: &str,
    profiles: &[(&str, &ServiceReport)],
    slo_ms: f64,
) -> Result<()> {
    let lines = series(profiles);
    let points = lines.iter().flat_map(|(_, points)| points.iter());
    let (x_max, y_max) = points.fold((1.0f64, slo_ms), |(x, y), p| (x.max(p.0), y.max(p.1)));

    let root = SVGBackend::new(path, (900, 500)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_error)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!("{service}: latency against offered load"),
            ("sans-serif", 22),
        )
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..x_max * 1.05, (0.1..y_max * 2.0).log_scale())
        .map_err(plot_error)?;
    chart
        .configure_mesh()
        .light_line_style(WHITE)
        .x_desc("offered load (requests/s)")
        .y_desc("latency (ms, log scale)")
        .draw()
        .map_err(plot_error)?;

    chart
        .draw_series(LineSeries::new(
            [(0.0, slo_ms), (x_max * 1.05, slo_ms)],
            BLACK.stroke_width(2),
        ))
        .map_err(plot_error)?
        .label(format!("SLO p99 {slo_ms} ms"))
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK.stroke_width(2)));
    for (index, (name, points)) in lines.iter().enumerate() {
        // The two percentiles of a profile share a colour; p50 is the thinner line.
        let color = Palette99::pick(index / 2).to_rgba();
        let width = if index % 2 == 0 { 2 } else { 1 };
        chart
            .draw_series(LineSeries::new(
                points.iter().copied(),
                color.stroke_width(width),
            ))
            .map_err(plot_error)?
            .label(name.as_str())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(width))
            });
        chart
            .draw_series(
                points
                    .iter()
                    .map(|point| Circle::new(*point, 3, color.filled())),
            )
            .map_err(plot_error)?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(plot_error)?;
    root.present().map_err(plot_error)?;
    Ok(())
}
