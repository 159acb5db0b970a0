//! Liveness and readiness: what `/healthz` and `/readyz` report.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// Conditions that make the service not ready, set by the writers and by shutdown.
#[derive(Default)]
pub struct Health {
    shutting_down: AtomicBool,
    store_problem: Mutex<Option<String>>,
}

impl Health {
    pub fn begin_shutdown(&self) {
        self.shutting_down.store(true, Ordering::Release);
    }

    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::Acquire)
    }

    /// Records the latest failed store write; readiness reports it until a write succeeds.
    pub fn store_failed(&self, reason: String) {
        if let Ok(mut problem) = self.store_problem.lock() {
            *problem = Some(reason);
        }
    }

    pub fn store_succeeded(&self) {
        if let Ok(mut problem) = self.store_problem.lock()
            && problem.is_some()
        {
            tracing::info!("store writes succeed again");
            *problem = None;
        }
    }

    pub fn store_problem(&self) -> Option<String> {
        self.store_problem
            .lock()
            .ok()
            .and_then(|problem| problem.clone())
    }
}
