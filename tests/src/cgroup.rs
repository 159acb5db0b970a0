//! A cgroup for one process, with the limits a container's `cpus` and `mem_limit` would set:
//! v2 where its controllers are available, else v1 (one directory per controller hierarchy).
//! Creating one needs root and a writable cgroup mount, as CI has.

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStringExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

const ROOT: &str = "/sys/fs/cgroup";
/// CFS period of the CPU quota, in microseconds: the kernel's default and Docker's.
const CPU_PERIOD_US: u64 = 100_000;

/// Limits of a cgroup; `None` leaves that resource unlimited.
#[derive(Clone, Copy, Debug, Default)]
pub struct Limits {
    pub memory_bytes: Option<u64>,
    /// CPU time per wall-clock time: 0.5 is half of one core.
    pub cpus: Option<f64>,
}

/// CPU throttling the kernel recorded for a cgroup with a CPU quota.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Throttling {
    /// Quota periods in which the cgroup ran.
    pub periods: u64,
    /// Periods in which it used up its quota and was stopped.
    pub throttled: u64,
}

/// A cgroup with limits and no swap, removed when dropped (after its processes exit).
pub struct Cgroup {
    version: Version,
}

enum Version {
    V2 { dir: PathBuf },
    V1 { memory: PathBuf, cpu: PathBuf },
}

static NEXT: AtomicU32 = AtomicU32::new(0);

impl Cgroup {
    /// Creates a cgroup with `limits`, or returns an error naming the file that could not be
    /// written.
    pub fn create(limits: Limits) -> io::Result<Cgroup> {
        let name = format!(
            "reactions-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let root = Path::new(ROOT);
        let v2 = std::fs::read_to_string(root.join("cgroup.subtree_control"))
            .is_ok_and(|controllers| controllers.contains("memory"));
        let version = if v2 {
            if limits.cpus.is_some() {
                enable_v2_cpu(root)?;
            }
            Version::V2 {
                dir: root.join(&name),
            }
        } else {
            Version::V1 {
                memory: root.join("memory").join(&name),
                cpu: root.join("cpu").join(&name),
            }
        };
        for dir in version.dirs() {
            std::fs::create_dir(dir).map_err(|error| annotate(error, dir))?;
        }

        let cgroup = Cgroup { version };
        cgroup.apply(limits)?;
        Ok(cgroup)
    }

    /// Names the cgroup version in use, for reports.
    pub fn version(&self) -> &'static str {
        match self.version {
            Version::V2 { .. } => "cgroup v2",
            Version::V1 { .. } => "cgroup v1",
        }
    }

    /// Makes `command` start its process inside the cgroup, so that the process sees the
    /// limits from its first instruction.
    pub fn confine(&self, command: &mut Command) {
        let procs: Vec<CString> = self
            .version
            .dirs()
            .iter()
            .map(|dir| {
                CString::new(dir.join("cgroup.procs").into_os_string().into_vec())
                    .expect("a path without NUL")
            })
            .collect();
        // SAFETY: between fork and exec the closure only makes async-signal-safe system calls
        // (open, write, close) on memory prepared before the fork. Writing "0" to cgroup.procs
        // moves the writing process.
        unsafe {
            command.pre_exec(move || {
                for path in &procs {
                    let fd = libc::open(path.as_ptr(), libc::O_WRONLY);
                    if fd < 0 {
                        return Err(io::Error::last_os_error());
                    }
                    let written = libc::write(fd, b"0".as_ptr().cast(), 1);
                    libc::close(fd);
                    if written != 1 {
                        return Err(io::Error::last_os_error());
                    }
                }
                Ok(())
            });
        }
    }

    /// Returns the highest memory use the kernel recorded for the cgroup, in bytes.
    pub fn peak_bytes(&self) -> Option<u64> {
        let path = match &self.version {
            Version::V2 { dir } => dir.join("memory.peak"),
            Version::V1 { memory, .. } => memory.join("memory.max_usage_in_bytes"),
        };
        std::fs::read_to_string(path).ok()?.trim().parse().ok()
    }

    /// Returns how many processes the kernel's OOM killer has killed in the cgroup.
    pub fn oom_kills(&self) -> u64 {
        let path = match &self.version {
            Version::V2 { dir } => dir.join("memory.events"),
            Version::V1 { memory, .. } => memory.join("memory.oom_control"),
        };
        let text = std::fs::read_to_string(path).unwrap_or_default();
        field(&text, "oom_kill").unwrap_or(0)
    }

    /// Returns the CPU throttling so far, or `None` when the kernel does not report it.
    pub fn throttling(&self) -> Option<Throttling> {
        let path = match &self.version {
            Version::V2 { dir } => dir.join("cpu.stat"),
            Version::V1 { cpu, .. } => cpu.join("cpu.stat"),
        };
        let text = std::fs::read_to_string(path).ok()?;
        Some(Throttling {
            periods: field(&text, "nr_periods")?,
            throttled: field(&text, "nr_throttled")?,
        })
    }

    fn apply(&self, limits: Limits) -> io::Result<()> {
        let quota = limits
            .cpus
            .map(|cpus| ((cpus * CPU_PERIOD_US as f64).round() as u64).max(1_000));
        match &self.version {
            Version::V2 { dir } => {
                if let Some(bytes) = limits.memory_bytes {
                    write(dir, "memory.max", &bytes.to_string())?;
                    write_if_present(dir, "memory.swap.max", "0")?;
                }
                if let Some(quota) = quota {
                    write(dir, "cpu.max", &format!("{quota} {CPU_PERIOD_US}"))?;
                }
            }
            Version::V1 { memory, cpu } => {
                if let Some(bytes) = limits.memory_bytes {
                    write(memory, "memory.limit_in_bytes", &bytes.to_string())?;
                    write_if_present(memory, "memory.memsw.limit_in_bytes", &bytes.to_string())?;
                }
                if let Some(quota) = quota {
                    write(cpu, "cpu.cfs_period_us", &CPU_PERIOD_US.to_string())?;
                    write(cpu, "cpu.cfs_quota_us", &quota.to_string())?;
                }
            }
        }
        Ok(())
    }
}

impl Version {
    fn dirs(&self) -> Vec<&Path> {
        match self {
            Version::V2 { dir } => vec![dir],
            Version::V1 { memory, cpu } => vec![memory, cpu],
        }
    }
}

impl Drop for Cgroup {
    fn drop(&mut self) {
        // The kernel refuses to remove a cgroup with processes; those are stopped before this
        // runs, and their exit can take a moment to register.
        for dir in self.version.dirs() {
            for _ in 0..50 {
                if std::fs::remove_dir(dir).is_ok() || !dir.exists() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
        }
    }
}

/// Lets child cgroups of the v2 root have a CPU quota.
fn enable_v2_cpu(root: &Path) -> io::Result<()> {
    let enabled = std::fs::read_to_string(root.join("cgroup.subtree_control"))?;
    if enabled
        .split_whitespace()
        .any(|controller| controller == "cpu")
    {
        return Ok(());
    }
    write(root, "cgroup.subtree_control", "+cpu")
}

fn write(dir: &Path, file: &str, value: &str) -> io::Result<()> {
    let path = dir.join(file);
    std::fs::write(&path, value).map_err(|error| annotate(error, &path))
}

fn write_if_present(dir: &Path, file: &str, value: &str) -> io::Result<()> {
    if dir.join(file).exists() {
        write(dir, file, value)?;
    }
    Ok(())
}

fn annotate(error: io::Error, path: &Path) -> io::Error {
    io::Error::new(error.kind(), format!("{}: {error}", path.display()))
}

/// Returns the number after `name` on its own line of a `name value` file.
fn field(text: &str, name: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let (key, value) = line.split_once(' ')?;
        (key == name).then(|| value.trim().parse().ok())?
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_read_by_exact_name() {
        let text = "nr_periods 120\nnr_throttled 30\nthrottled_time 999\n";
        assert_eq!(field(text, "nr_periods"), Some(120));
        assert_eq!(field(text, "nr_throttled"), Some(30));
        assert_eq!(field(text, "throttled"), None);
    }
}
