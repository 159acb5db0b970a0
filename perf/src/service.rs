//! A child process of ours that serves HTTP: started with JSON logs so that its listening
//! address can be read, stopped by PID when dropped.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, ChildStderr, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::confine::Confinement;

/// Maximum wait for a service to log its address.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// Time a service gets to exit after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

pub struct Service {
    pub name: String,
    child: Child,
    pub address: String,
}

impl Service {
    /// Starts `program` with `args`, confined when `confinement` is given, logs to
    /// `log_dir/<name>.log`, and waits until it logs the address it listens on.
    pub fn start(
        name: &str,
        program: &Path,
        args: &[String],
        log_dir: &Path,
        confinement: Option<&Confinement>,
    ) -> Result<Service> {
        let log = log_dir.join(format!("{name}.log"));
        let mut command = match confinement {
            Some(confinement) => confinement.command(program),
            None => Command::new(program),
        };
        // SAFETY: the closure runs between fork and exec and calls only prctl(2), which is
        // async-signal-safe.
        unsafe {
            command.pre_exec(|| {
                // The service gets SIGTERM when perf dies without dropping it (killed by a CI
                // job's timeout), so no service outlives the run.
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                Ok(())
            });
        }
        let mut child = command
            .args(args)
            .env("LOG_FORMAT", "json")
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot start {name} from {}", program.display()))?;

        let stderr = child.stderr.take().context("stderr is not piped")?;
        let addresses = copy_log_and_find_address(stderr, &log)?;
        match addresses.recv_timeout(START_TIMEOUT) {
            Ok(address) => {
                tracing::info!(service = name, pid = child.id(), %address, "started");
                Ok(Service {
                    name: name.to_owned(),
                    child,
                    address,
                })
            }
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                bail!(
                    "{name} did not log a listening address within {START_TIMEOUT:?}; see {}",
                    log.display()
                )
            }
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM, waits for the exit, and kills the process if it outlives `STOP_TIMEOUT`.
    pub fn stop(&mut self) {
        if !matches!(self.child.try_wait(), Ok(None)) {
            return;
        }
        // SAFETY: kill(2) has no memory effects, and the PID is our own child, not yet reaped.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < deadline {
            if !matches!(self.child.try_wait(), Ok(None)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        tracing::warn!(service = %self.name, "did not exit after SIGTERM; killing it");
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Copies the child's stderr to `log` on a thread and sends the `address` field of the first
/// JSON line whose message reports that the service is listening.
fn copy_log_and_find_address(stderr: ChildStderr, log: &Path) -> Result<mpsc::Receiver<String>> {
    let (sender, receiver) = mpsc::channel();
    let mut file = File::create(log).with_context(|| format!("cannot create {}", log.display()))?;

    // The thread ends when the child closes stderr, that is when it exits.
    std::thread::spawn(move || {
        let mut sent = false;
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            let _ = writeln!(file, "{line}");
            if sent {
                continue;
            }
            if let Some(address) = listening_address(&line) {
                sent = sender.send(address).is_ok();
            }
        }
    });
    Ok(receiver)
}

fn listening_address(line: &str) -> Option<String> {
    let entry: serde_json::Value = serde_json::from_str(line).ok()?;
    let listening = entry["message"].as_str()?.contains("listening on");
    listening.then(|| entry["address"].as_str().map(str::to_owned))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_comes_from_the_listening_line() {
        let line = r#"{"level":"INFO","message":"ingest listening on http://127.0.0.1:9","address":"127.0.0.1:9"}"#;
        assert_eq!(listening_address(line).as_deref(), Some("127.0.0.1:9"));
        assert_eq!(listening_address(r#"{"message":"starting"}"#), None);
        assert_eq!(listening_address("not json"), None);
    }
}
