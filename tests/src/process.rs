//! Child processes that are stopped when the test ends, however it ends.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::cgroup::Cgroup;

/// A running binary of the workspace, started with JSON logs so that the harness can read the
/// address it listens on.
pub struct Service {
    child: Child,
    pub address: String,
    pub log: PathBuf,
}

/// Returns the path of a workspace binary next to the test executable
/// (`target/<profile>/<name>`).
pub fn binary(name: &str) -> PathBuf {
    let test_executable = std::env::current_exe().expect("cannot find the test executable");
    let profile_dir = test_executable
        .parent()
        .and_then(Path::parent)
        .expect("the test executable is not under target/<profile>/deps");
    let path = profile_dir.join(name);
    assert!(
        path.exists(),
        "{} does not exist; build the binaries first with `cargo build --workspace --bins` (scripts/test.sh does)",
        path.display()
    );
    path
}

impl Service {
    /// Starts `name` with `args` and waits until it logs its listening address.
    pub fn start(name: &str, args: &[String], log_dir: &Path) -> Service {
        Self::start_in(name, args, log_dir, None)
    }

    /// Starts `name`, inside `cgroup` when given.
    pub fn start_in(
        name: &str,
        args: &[String],
        log_dir: &Path,
        cgroup: Option<&Cgroup>,
    ) -> Service {
        let log = log_dir.join(format!("{name}.log"));
        let mut command = Command::new(binary(name));
        if let Some(cgroup) = cgroup {
            cgroup.confine(&mut command);
        }
        let mut child = command
            .args(args)
            .env("LOG_FORMAT", "json")
            .env("RUST_LOG", "info")
            .env_remove("INFLUX_URL")
            .env_remove("INFLUX_TOKEN")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {name}: {error}"));

        let stderr = child.stderr.take().expect("stderr is piped");
        let address = copy_log_and_find_address(stderr, &log);
        match address.recv_timeout(Duration::from_secs(30)) {
            Ok(address) => Service {
                child,
                address,
                log,
            },
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "{name} did not start listening within 30 s; log:\n{}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            }
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Returns true while the process runs.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Sends SIGTERM and waits up to `timeout` for the exit status.
    pub fn terminate(&mut self, timeout: Duration) -> ExitStatus {
        signal(self.pid(), libc::SIGTERM);
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("cannot wait for the child") {
                return status;
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                panic!(
                    "process {} did not exit within {timeout:?} of SIGTERM; log:\n{}",
                    self.pid(),
                    self.log_text()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends `signal` to `pid`, a process this harness started.
pub fn signal(pid: i32, signal: i32) {
    // SAFETY: kill(2) has no memory effects; the pid belongs to our own child.
    let result = unsafe { libc::kill(pid, signal) };
    assert_eq!(
        result,
        0,
        "kill({pid}, {signal}) failed: {}",
        std::io::Error::last_os_error()
    );
}

/// Copies the child's stderr to `log` on a thread, and sends the `address` field of the first
/// line whose message says the service is listening.
fn copy_log_and_find_address(
    stderr: std::process::ChildStderr,
    log: &Path,
) -> mpsc::Receiver<String> {
    let (sender, receiver) = mpsc::channel();
    let mut file = File::create(log).expect("cannot create the log file");

    std::thread::spawn(move || {
        use std::io::Write;
        let mut sent = false;
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            let _ = writeln!(file, "{line}");
            if sent {
                continue;
            }
            let Ok(entry) = serde_json::from_str::<serde_json::Value>(&line) else {
                continue;
            };
            let listening = entry["message"]
                .as_str()
                .is_some_and(|message| message.contains("listening on"));
            if let (true, Some(address)) = (listening, entry["address"].as_str()) {
                sent = sender.send(address.to_owned()).is_ok();
            }
        }
    });
    receiver
}
