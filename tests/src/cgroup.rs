//! A memory cgroup for one test process, as a container's `mem_limit` would set: v2 where the
//! memory controller is available there, else v1. Creating one needs root, as CI has.

use std::ffi::CString;
use std::os::unix::ffi::OsStringExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// A cgroup with a memory limit and no swap, removed when dropped (after its processes exit).
pub struct MemoryCgroup {
    dir: PathBuf,
    v2: bool,
}

static NEXT: AtomicU32 = AtomicU32::new(0);

impl MemoryCgroup {
    /// Creates a cgroup limited to `limit_bytes`; fails the test with the reason when the
    /// machine does not allow it.
    pub fn create(limit_bytes: u64) -> MemoryCgroup {
        let name = format!(
            "reactions-test-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let v2_root = Path::new("/sys/fs/cgroup");
        let v2 = std::fs::read_to_string(v2_root.join("cgroup.subtree_control"))
            .is_ok_and(|controllers| controllers.contains("memory"));
        let dir = if v2 {
            v2_root.join(&name)
        } else {
            v2_root.join("memory").join(&name)
        };

        std::fs::create_dir(&dir).unwrap_or_else(|error| {
            panic!("cannot create the cgroup {} ({error}); memory-limit tests need root and a writable cgroup mount", dir.display())
        });
        let cgroup = MemoryCgroup { dir, v2 };
        if v2 {
            cgroup.write("memory.max", &limit_bytes.to_string());
            cgroup.write_if_present("memory.swap.max", "0");
        } else {
            cgroup.write("memory.limit_in_bytes", &limit_bytes.to_string());
            cgroup.write_if_present("memory.memsw.limit_in_bytes", &limit_bytes.to_string());
        }
        cgroup
    }

    /// Makes `command` start its process inside the cgroup, so that the process sees the
    /// limit from its first instruction.
    pub fn confine(&self, command: &mut Command) {
        let procs = CString::new(self.dir.join("cgroup.procs").into_os_string().into_vec())
            .expect("a path without NUL");
        // SAFETY: between fork and exec the closure only makes async-signal-safe system calls
        // (open, write, close) on memory prepared before the fork. Writing "0" to cgroup.procs
        // moves the writing process.
        unsafe {
            command.pre_exec(move || {
                let fd = libc::open(procs.as_ptr(), libc::O_WRONLY);
                if fd < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                let written = libc::write(fd, b"0".as_ptr().cast(), 1);
                libc::close(fd);
                if written != 1 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }

    /// Returns the highest memory use the kernel recorded for the cgroup, in bytes.
    pub fn peak_bytes(&self) -> Option<u64> {
        let file = if self.v2 {
            "memory.peak"
        } else {
            "memory.max_usage_in_bytes"
        };
        std::fs::read_to_string(self.dir.join(file))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// Returns how many processes the kernel's OOM killer has killed in the cgroup.
    pub fn oom_kills(&self) -> u64 {
        let file = if self.v2 {
            "memory.events"
        } else {
            "memory.oom_control"
        };
        let text = std::fs::read_to_string(self.dir.join(file)).unwrap_or_default();
        text.lines()
            .find_map(|line| line.strip_prefix("oom_kill "))
            .and_then(|count| count.trim().parse().ok())
            .unwrap_or(0)
    }

    fn write(&self, file: &str, value: &str) {
        std::fs::write(self.dir.join(file), value).unwrap_or_else(|error| {
            panic!(
                "cannot write {value} to {}/{file}: {error}",
                self.dir.display()
            )
        });
    }

    fn write_if_present(&self, file: &str, value: &str) {
        if self.dir.join(file).exists() {
            self.write(file, value);
        }
    }
}

impl Drop for MemoryCgroup {
    fn drop(&mut self) {
        // The kernel refuses to remove a cgroup with processes; those are killed before this
        // runs, and their exit can take a moment to register.
        for _ in 0..50 {
            if std::fs::remove_dir(&self.dir).is_ok() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
}
