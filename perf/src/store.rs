//! Counts the reactions stored in InfluxDB.

use std::time::Duration;

use anyhow::{Context, Result, bail};

/// Returns the number of reactions in `database`: each reaction is one point of
/// `reactions_by_user` with the field `article_id`. A missing database counts as 0.
pub fn count_reactions(
    client: &reqwest::blocking::Client,
    influx_url: &str,
    database: &str,
) -> Result<u64> {
    let statement = r#"SELECT count("article_id") FROM "reactions_by_user""#;
    let body: serde_json::Value = client
        .post(format!("{influx_url}/query"))
        .form(&[("db", database), ("q", statement)])
        .timeout(Duration::from_secs(120))
        .send()
        .and_then(|response| response.error_for_status())
        .and_then(|response| response.json())
        .context("counting stored reactions in InfluxDB failed")?;
    parse_count(&body)
}

fn parse_count(body: &serde_json::Value) -> Result<u64> {
    let result = &body["results"][0];
    if let Some(error) = result["error"].as_str() {
        if error.contains("database not found") {
            return Ok(0);
        }
        bail!("InfluxDB rejected the count: {error}");
    }
    Ok(result["series"][0]["values"][0][1].as_u64().unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn count_from_influx_response() {
        let body = json!({"results": [{"series": [{"values": [["1970-01-01T00:00:00Z", 42]]}]}]});
        assert_eq!(parse_count(&body).unwrap(), 42);
        assert_eq!(
            parse_count(&json!({"results": [{}]})).unwrap(),
            0,
            "no series"
        );
        let missing = json!({"results": [{"error": "database not found: x"}]});
        assert_eq!(parse_count(&missing).unwrap(), 0);
        assert!(parse_count(&json!({"results": [{"error": "boom"}]})).is_err());
    }
}
