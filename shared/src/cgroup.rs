//! The memory limit the process runs under, from its cgroup (v2 or v1), so that buffers can be
//! sized to fit inside a container's or a test's limit.

use std::path::{Path, PathBuf};

/// Limits at or above this are the kernel's way of saying "unlimited" (v1 reports about 2^63).
const UNLIMITED: u64 = 1 << 60;

/// Returns the memory limit in bytes of this process's cgroup, or `None` when there is none
/// or it cannot be read.
pub fn memory_limit() -> Option<u64> {
    let membership = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    limit_from(&membership, Path::new("/sys/fs/cgroup"))
}

/// Reads the limit for the cgroup paths in `membership` (the format of /proc/self/cgroup)
/// under the cgroup mount `root`.
fn limit_from(membership: &str, root: &Path) -> Option<u64> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    for line in membership.lines() {
        let mut fields = line.splitn(3, ':');
        let (_, controllers, path) = (fields.next()?, fields.next()?, fields.next()?);
        let path = path.trim_start_matches('/');
        if controllers.is_empty() {
            candidates.push(root.join(path).join("memory.max"));
            candidates.push(root.join("unified").join(path).join("memory.max"));
        } else if controllers
            .split(',')
            .any(|controller| controller == "memory")
        {
            candidates.push(root.join("memory").join(path).join("memory.limit_in_bytes"));
        }
    }

    candidates
        .iter()
        .filter_map(|file| std::fs::read_to_string(file).ok())
        .filter_map(|text| text.trim().parse::<u64>().ok())
        .filter(|limit| *limit < UNLIMITED)
        .min()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_v1_and_v2_limits() {
        let root = tempfile_dir();
        std::fs::create_dir_all(root.join("memory/box")).unwrap();
        std::fs::write(root.join("memory/box/memory.limit_in_bytes"), "134217728\n").unwrap();
        assert_eq!(
            limit_from("4:memory:/box\n0::/\n", &root),
            Some(134_217_728)
        );

        std::fs::create_dir_all(root.join("other")).unwrap();
        std::fs::write(root.join("other/memory.max"), "max\n").unwrap();
        assert_eq!(limit_from("0::/other\n", &root), None);
        std::fs::write(root.join("other/memory.max"), "268435456\n").unwrap();
        assert_eq!(limit_from("0::/other\n", &root), Some(268_435_456));
    }

    #[test]
    fn unlimited_is_none() {
        let root = tempfile_dir();
        std::fs::create_dir_all(root.join("memory")).unwrap();
        std::fs::write(
            root.join("memory/memory.limit_in_bytes"),
            "9223372036854771712\n",
        )
        .unwrap();
        assert_eq!(limit_from("4:memory:/\n", &root), None);
    }

    fn tempfile_dir() -> PathBuf {
        tempfile::tempdir().unwrap().keep()
    }
}
