//! The load scenarios as Goose scenarios: what each simulated client sends, and where.

use std::sync::Arc;

use goose::GooseError;
use goose::prelude::{GooseUser, Scenario as GooseScenario, Transaction, TransactionFunction};

use crate::ids::Population;
use crate::read_mix::ReadMix;
use crate::recorder::Recorder;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scenario {
    /// One reaction per POST.
    IngestSingle,
    /// Arrays of `--batch-size` reactions per POST.
    IngestBatch,
    /// Summaries and listings of users and articles, hot and cold ids.
    Query,
    /// Single-reaction POSTs and reads, in the ratio of `--write-weight` to `--read-weight`.
    Mixed,
}

impl Scenario {
    pub fn name(self) -> &'static str {
        match self {
            Scenario::IngestSingle => "ingest-single",
            Scenario::IngestBatch => "ingest-batch",
            Scenario::Query => "query",
            Scenario::Mixed => "mixed",
        }
    }

    pub fn reads(self) -> bool {
        matches!(self, Scenario::Query | Scenario::Mixed)
    }
}

/// Everything the transactions need: where to send, what to send, and where to record.
#[derive(Debug)]
pub struct Workload {
    pub ingest_url: String,
    pub query_url: String,
    pub population: Population,
    pub batch_size: usize,
    /// Whether reactions carry a client timestamp (see `Population::reaction_json`).
    pub timestamps: bool,
    pub write_weight: usize,
    pub read_weight: usize,
    /// Weights of the endpoints that reads go to.
    pub read_mix: ReadMix,
    pub recorder: Arc<Recorder>,
}

/// Builds the Goose scenario for `scenario`.
pub fn build(scenario: Scenario, workload: Arc<Workload>) -> Result<GooseScenario, GooseError> {
    let goose = GooseScenario::new(scenario.name());
    let goose = match scenario {
        Scenario::IngestSingle => goose.register_transaction(post(workload, 1)),
        Scenario::IngestBatch => {
            let size = workload.batch_size;
            goose.register_transaction(post(workload, size))
        }
        Scenario::Query => goose.register_transaction(read(workload)),
        Scenario::Mixed => {
            // Goose runs a transaction of weight w w times per cycle of each user, so the
            // request ratio is exactly the weight ratio.
            let divisor = gcd(workload.write_weight, workload.read_weight).max(1);
            let writes = workload.write_weight / divisor;
            let reads = workload.read_weight / divisor;
            let mut goose = goose;
            if writes > 0 {
                goose = goose.register_transaction(post(workload.clone(), 1).set_weight(writes)?);
            }
            if reads > 0 {
                goose = goose.register_transaction(read(workload).set_weight(reads)?);
            }
            goose
        }
    };
    Ok(goose)
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// Builds a transaction that POSTs `size` reactions, as one object when `size` is 1 and as an
/// array otherwise.
fn post(workload: Arc<Workload>, size: usize) -> Transaction {
    let function: TransactionFunction = Arc::new(move |user: &mut GooseUser| {
        let workload = workload.clone();
        Box::pin(async move {
            let body = if size == 1 {
                workload.population.reaction_json(workload.timestamps)
            } else {
                workload.population.batch_json(size, workload.timestamps)
            };
            let url = format!("{}/v1/reactions", workload.ingest_url);
            let request = user
                .get_request_builder(&goose::goose::GooseMethod::Post, &url)?
                .header("content-type", "application/json")
                .body(body);
            let goose_request = goose::goose::GooseRequest::builder()
                .method(goose::goose::GooseMethod::Post)
                .path(url.as_str())
                .set_request_builder(request)
                .expect_status_code(202)
                .build();
            let response = user.request(goose_request).await?;
            workload.recorder.record(
                response.request.status_code,
                response.request.response_time_micros(),
                size as u64,
            );
            Ok(())
        })
    });
    Transaction::new(function).set_name("POST /v1/reactions")
}

/// Builds a transaction that GETs one summary or listing from query.
fn read(workload: Arc<Workload>) -> Transaction {
    let function: TransactionFunction = Arc::new(move |user: &mut GooseUser| {
        let workload = workload.clone();
        Box::pin(async move {
            let url = format!(
                "{}{}",
                workload.query_url,
                workload.population.read_path(&workload.read_mix)
            );
            let response = user.get(&url).await?;
            workload.recorder.record(
                response.request.status_code,
                response.request.response_time_micros(),
                0,
            );
            Ok(())
        })
    });
    Transaction::new(function).set_name("GET query")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_reduce_to_lowest_terms() {
        assert_eq!(gcd(90, 10), 10);
        assert_eq!(gcd(0, 10), 10);
        assert_eq!(gcd(7, 3), 1);
    }
}
