//! Reading samples from the Prometheus text format.

/// Sums the samples of `name` whose label set contains `labels` (for example
/// `reason="invalid"`; empty matches every set). Comments and other metrics are skipped.
pub fn sample_sum(text: &str, name: &str, labels: &str) -> f64 {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let (metric, label_set) = match series.split_once('{') {
                Some((metric, rest)) => (metric, rest.trim_end_matches('}')),
                None => (series, ""),
            };
            (metric == name && label_set.contains(labels)).then(|| value.parse::<f64>().ok())?
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_matching_samples() {
        let text = "# TYPE x counter\nx{reason=\"a\"} 2\nx{reason=\"b\"} 3\nxy 7\ny 1\n";
        assert_eq!(sample_sum(text, "x", ""), 5.0);
        assert_eq!(sample_sum(text, "x", "reason=\"b\""), 3.0);
        assert_eq!(sample_sum(text, "z", ""), 0.0);
    }
}
