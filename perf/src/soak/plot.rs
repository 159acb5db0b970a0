//! SVG line plots of the soak's samples over time.

use std::path::Path;

use anyhow::Result;
use plotters::prelude::*;

use super::sample::Sample;
use crate::svg::plot_error;

/// One plot: a file name, a title, a y-axis label, and the series to draw.
struct PlotSpec {
    file: &'static str,
    title: &'static str,
    y_label: &'static str,
    series: Vec<(String, Vec<(f64, f64)>)>,
}

/// Draws RSS, buffer depth, throughput and p99 over time into `dir`, and returns the file
/// names written. A plot without any data is left out.
pub fn draw_all(dir: &Path, samples: &[Sample]) -> Result<Vec<String>> {
    let minutes = |sample: &Sample| sample.elapsed_s / 60.0;
    let roles: Vec<String> = samples
        .first()
        .map(|sample| sample.processes.iter().map(|p| p.name.clone()).collect())
        .unwrap_or_default();
    let rss_series = roles
        .iter()
        .map(|role| {
            let points = samples
                .iter()
                .filter_map(|s| s.rss_of(role).map(|bytes| (minutes(s), bytes as f64 / 1e6)))
                .collect();
            (role.clone(), points)
        })
        .collect();
    let single = |name: &str, value: &dyn Fn(&Sample) -> Option<f64>| {
        let points = samples
            .iter()
            .filter_map(|s| value(s).map(|v| (minutes(s), v)))
            .collect();
        vec![(name.to_owned(), points)]
    };

    let specs = [
        PlotSpec {
            file: "rss.svg",
            title: "Resident memory",
            y_label: "RSS (MB)",
            series: rss_series,
        },
        PlotSpec {
            file: "buffer_depth.svg",
            title: "ingest buffer depth",
            y_label: "reactions",
            series: single("buffer depth", &|s| s.buffer_depth),
        },
        PlotSpec {
            file: "throughput.svg",
            title: "Throughput",
            y_label: "requests/s",
            series: single("requests/s", &|s| Some(s.requests_per_s)),
        },
        PlotSpec {
            file: "p99.svg",
            title: "p99 latency per sample",
            y_label: "ms",
            series: single("p99", &|s| s.p99_ms),
        },
    ];

    let mut written = Vec::new();
    for spec in specs {
        if spec.series.iter().all(|(_, points)| points.is_empty()) {
            continue;
        }
        draw(&dir.join(spec.file), &spec)?;
        written.push(spec.file.to_owned());
    }
    Ok(written)
}

fn draw(path: &Path, spec: &PlotSpec) -> Result<()> {
    let all = spec.series.iter().flat_map(|(_, points)| points.iter());
    let (x_max, y_max) = all.fold((0.0f64, 0.0f64), |(x, y), p| (x.max(p.0), y.max(p.1)));
    let x_max = if x_max > 0.0 { x_max } else { 1.0 };
    let y_max = if y_max > 0.0 { y_max * 1.1 } else { 1.0 };

    let root = SVGBackend::new(path, (900, 450)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_error)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(spec.title, ("sans-serif", 22))
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..x_max, 0.0..y_max)
        .map_err(plot_error)?;
    chart
        .configure_mesh()
        .light_line_style(WHITE)
        .x_desc("minutes since the load started")
        .y_desc(spec.y_label)
        .draw()
        .map_err(plot_error)?;

    for (index, (name, points)) in spec.series.iter().enumerate() {
        let color = Palette99::pick(index).to_rgba();
        chart
            .draw_series(LineSeries::new(
                points.iter().copied(),
                color.stroke_width(2),
            ))
            .map_err(plot_error)?
            .label(name.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(plot_error)?;
    root.present().map_err(plot_error)?;
    Ok(())
}
