//! Runs one Goose attack at a fixed request rate for a bounded time.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use goose::GooseAttack;
use goose::config::GooseConfiguration;

use crate::scenarios::{self, Scenario, Workload};

const MIN_USERS: usize = 8;
/// More idle users would only cost the generator CPU: at the rates this machine reaches, the
/// services respond well within the budget.
const MAX_USERS: usize = 512;

/// The shape of one attack.
#[derive(Clone, Copy, Debug)]
pub struct Attack {
    /// Requests per second over all users, enforced by Goose's throttle.
    pub rate: u32,
    /// How long the attack runs once every user has started.
    pub run_time: Duration,
    /// Maximum wait for one response. A request that takes longer is a transport failure.
    pub request_timeout: Duration,
    /// Mean latency the users must be able to absorb while keeping the rate: the SLO's p99
    /// bound in a plan.
    pub latency_budget: Duration,
}

impl Attack {
    /// Users (concurrent connections) for the rate: by Little's law, enough to keep it while
    /// every response takes the latency budget. Goose users are closed-loop, so a server slower
    /// than that gets fewer requests than `rate`, and the step counts that as not sustained.
    pub fn users(&self) -> usize {
        let users = (self.rate as f64 * self.latency_budget.as_secs_f64()).ceil() as usize;
        users.clamp(MIN_USERS, MAX_USERS)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn attack(rate: u32, budget_ms: u64) -> Attack {
        Attack {
            rate,
            run_time: Duration::from_secs(1),
            request_timeout: Duration::from_secs(10),
            latency_budget: Duration::from_millis(budget_ms),
        }
    }

    #[test]
    fn users_cover_the_rate_at_the_budget() {
        assert_eq!(attack(300, 200).users(), 60);
        assert_eq!(attack(1000, 50).users(), 50);
    }

    #[test]
    fn users_stay_within_bounds() {
        assert_eq!(attack(10, 200).users(), MIN_USERS);
        assert_eq!(attack(16_000, 200).users(), MAX_USERS);
    }
}
