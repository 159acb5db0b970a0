//! Runs one Goose attack at a fixed request rate for a bounded time.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use goose::GooseAttack;
use goose::config::GooseConfiguration;

use crate::scenarios::{self, Scenario, Workload};

/// The shape of one attack.
#[derive(Clone, Copy, Debug)]
pub struct Attack {
    /// Requests per second over all users, enforced by Goose's throttle.
    pub rate: u32,
    /// How long the attack runs once every user has started.
    pub run_time: Duration,
    /// Maximum wait for one response. A request that takes longer is a transport failure.
    pub request_timeout: Duration,
}

impl Attack {
    /// Users (concurrent connections) for the rate: enough to keep the rate with a mean latency
    /// of 50 ms. Goose users are closed-loop, so a slower server gets fewer requests than
    /// `rate`, and the step counts that as not sustained.
    pub fn users(&self) -> usize {
        (self.rate as usize / 20).clamp(8, 512)
    }
}

/// Runs `scenario` against the URLs in `workload` and returns when the attack has ended.
pub async fn run(scenario: Scenario, workload: Arc<Workload>, attack: Attack) -> Result<()> {
    let users = attack.users();
    let mut configuration = GooseConfiguration::default();
    configuration.host = Some(workload.ingest_url.clone());
    configuration.users = Some(users);
    // Starts every user within a second.
    configuration.increase_rate = Some(users.to_string());
    configuration.run_time = Some(format!("{}s", attack.run_time.as_secs().max(1)));
    configuration.throttle_requests = Some(attack.rate.max(1) as usize);
    configuration.timeout = Some(format!("{}", attack.request_timeout.as_secs_f64()));
    // The recorder counts responses; Goose's own metrics would only cost generator CPU, and
    // its controllers would open listening ports.
    configuration.no_metrics = true;
    configuration.no_print_metrics = true;
    configuration.no_telnet = true;
    configuration.quiet = 1;

    let goose_scenario = scenarios::build(scenario, workload)?;
    GooseAttack::initialize_with_config(configuration)
        .context("Goose rejected the configuration")?
        .register_scenario(goose_scenario)
        .execute()
        .await
        .context("the Goose attack failed")?;
    Ok(())
}
