//! Administrative calls to InfluxDB that both binaries make at startup.

use crate::store::InfluxConfig;

/// Creates the database if the server allows it. InfluxDB 1.x does; 2.x and 3.x answer the v1
/// `CREATE DATABASE` with an error, and there the database (a bucket with a v1 mapping) must
/// exist already. Failure is logged, not fatal, so the service can start before InfluxDB.
pub async fn ensure_database(config: &InfluxConfig) {
    let client = match reqwest::Client::builder().timeout(config.timeout).build() {
        Ok(client) => client,
        Err(error) => {
            tracing::warn!(error = %error, "cannot build an HTTP client to create the database");
            return;
        }
    };

    let mut request = client
        .post(config.query_url())
        .form(&[("q", config.create_database_statement())]);
    if let Some(authorization) = config.authorization() {
        request = request.header(reqwest::header::AUTHORIZATION, authorization);
    }

    match request.send().await {
        Ok(response) if response.status().is_success() => {
            let body = response.text().await.unwrap_or_default();
            if body.contains("\"error\"") {
                tracing::warn!(database = %config.database, response = %body, "InfluxDB did not create the database; it must exist already");
            } else {
                tracing::info!(database = %config.database, "InfluxDB database is ready");
            }
        }
        Ok(response) => {
            tracing::warn!(database = %config.database, status = %response.status(), "InfluxDB did not create the database; it must exist already");
        }
        Err(error) => {
            tracing::warn!(database = %config.database, error = %error, "cannot reach InfluxDB to create the database; writes retry until it is reachable");
        }
    }
}
