//! Confines a service to a resource profile. Where a cgroup can be created (root and a
//! writable cgroup mount), it gets one with a CPU quota and a memory limit. Elsewhere `taskset`
//! pins it to CPUs, which gives whole cores and no memory limit.

use std::path::Path;
use std::process::Command;

use anyhow::{Result, bail};
use reactions_tests::cgroup::{Cgroup, Limits, Throttling};
use serde::Serialize;

use crate::capacity::profile::Profile;

/// How to confine, as chosen on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// A cgroup when one can be created, else taskset.
    Auto,
    /// A cgroup with the CPU quota and memory limit, or an error.
    Cgroup,
    /// Whole cores pinned with taskset, without a memory limit.
    Taskset,
}

pub enum Confinement {
    Cgroup(Cgroup),
    /// Pinned to these CPUs (a list for `taskset -c`).
    Taskset {
        cpu_list: String,
    },
}

impl Confinement {
    /// Prepares a confinement for one process with `profile`, by `method`.
    pub fn create(profile: Profile, method: Method) -> Result<Confinement> {
        if method != Method::Taskset {
            let limits = Limits {
                memory_bytes: Some(profile.memory_bytes()),
                cpus: Some(profile.cpus),
            };
            match Cgroup::create(limits) {
                Ok(cgroup) => return Ok(Confinement::Cgroup(cgroup)),
                Err(error) if method == Method::Cgroup => {
                    bail!("cannot create a cgroup for {profile}: {error}")
                }
                Err(error) => tracing::warn!(
                    %profile,
                    %error,
                    "cannot create a cgroup; pinning CPUs with taskset instead"
                ),
            }
        }
        if Command::new("taskset").arg("--version").output().is_err() {
            bail!("cannot confine to {profile}: no cgroup could be created and taskset is missing");
        }
        Ok(Confinement::Taskset {
            cpu_list: pinned_cpus(profile.cpus, online_cpus()),
        })
    }

    /// Describes the method for the report.
    pub fn describe(&self) -> String {
        match self {
            Confinement::Cgroup(cgroup) => {
                format!("{} (CPU quota and memory limit)", cgroup.version())
            }
            Confinement::Taskset { cpu_list } => format!(
                "taskset -c {cpu_list} (whole cores, no memory limit: ingest's byte bounds are set as the limit would set them)"
            ),
        }
    }

    /// Returns a command that runs `program` confined.
    pub fn command(&self, program: &Path) -> Command {
        match self {
            Confinement::Cgroup(cgroup) => {
                let mut command = Command::new(program);
                cgroup.confine(&mut command);
                command
            }
            Confinement::Taskset { cpu_list } => {
                // taskset sets the affinity and then executes the program in its own process,
                // so the PID stays the service's.
                let mut command = Command::new("taskset");
                command.arg("-c").arg(cpu_list).arg(program);
                command
            }
        }
    }

    /// Returns flags that give ingest the memory bounds it would derive from the limit, when
    /// the confinement sets no limit it can read.
    pub fn ingest_flags(&self, profile: Profile) -> Vec<String> {
        match self {
            Confinement::Cgroup(_) => Vec::new(),
            Confinement::Taskset { .. } => {
                let quarter = (profile.memory_bytes() / 4).to_string();
                vec![
                    format!("--buffer-bytes={quarter}"),
                    format!("--max-inflight-bytes={quarter}"),
                ]
            }
        }
    }

    /// Returns the cores the confined process can use: the quota, or the pinned whole cores.
    pub fn quota_cores(&self, profile: Profile) -> f64 {
        match self {
            Confinement::Cgroup(_) => profile.cpus,
            Confinement::Taskset { cpu_list } => cpu_count(cpu_list) as f64,
        }
    }

    /// Returns the cgroup's peak memory use, when the confinement is a cgroup.
    pub fn peak_bytes(&self) -> Option<u64> {
        match self {
            Confinement::Cgroup(cgroup) => cgroup.peak_bytes(),
            Confinement::Taskset { .. } => None,
        }
    }

    pub fn oom_kills(&self) -> Option<u64> {
        match self {
            Confinement::Cgroup(cgroup) => Some(cgroup.oom_kills()),
            Confinement::Taskset { .. } => None,
        }
    }

    pub fn throttling(&self) -> Option<Throttling> {
        match self {
            Confinement::Cgroup(cgroup) => cgroup.throttling(),
            Confinement::Taskset { .. } => None,
        }
    }
}

/// Counts the CPUs of a taskset list such as `1` or `2-3`.
fn cpu_count(cpu_list: &str) -> usize {
    match cpu_list.split_once('-') {
        Some((first, last)) => match (first.parse::<usize>(), last.parse::<usize>()) {
            (Ok(first), Ok(last)) if last >= first => last - first + 1,
            _ => 1,
        },
        None => 1,
    }
}

fn online_cpus() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// Returns the last `ceil(cpus)` of `online` CPUs as a taskset list: taskset gives whole
/// cores, so 0.5 CPU becomes one.
fn pinned_cpus(cpus: f64, online: usize) -> String {
    let count = (cpus.ceil() as usize).clamp(1, online.max(1));
    let first = online.max(1) - count;
    if count == 1 {
        first.to_string()
    } else {
        format!("{first}-{}", first + count - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn taskset_takes_whole_cores_from_the_end() {
        assert_eq!(pinned_cpus(0.5, 2), "1");
        assert_eq!(pinned_cpus(1.0, 2), "1");
        assert_eq!(pinned_cpus(2.0, 4), "2-3");
        assert_eq!(pinned_cpus(8.0, 2), "0-1");
        assert_eq!(cpu_count("1"), 1);
        assert_eq!(cpu_count("2-3"), 2);
    }
}
