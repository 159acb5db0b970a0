//! A real InfluxDB 1.x server for one test: its own config, directories and loopback ports.

use std::fs::File;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use tempfile::TempDir;

use crate::{free_port, wait_until};

/// A running `influxd`, killed when dropped.
pub struct Influxd {
    child: Child,
    port: u16,
    dir: TempDir,
    client: reqwest::blocking::Client,
}

impl Influxd {
    /// Starts `influxd` from PATH. Fails the test, never skips it, when InfluxDB is missing.
    pub fn start() -> Influxd {
        let mut last_log = String::new();
        // A port picked as free can be taken before influxd binds it; a second try with new
        // ports gets past that race.
        for _ in 0..3 {
            match Self::try_start() {
                Ok(influxd) => return influxd,
                Err(log) => last_log = log,
            }
        }
        panic!("influxd did not start in three attempts; last log:\n{last_log}");
    }

    fn try_start() -> Result<Influxd, String> {
        let dir = tempfile::tempdir().expect("cannot create a temporary directory");
        let port = free_port();
        let config = dir.path().join("influxd.conf");
        std::fs::write(&config, config_text(dir.path(), port, free_port()))
            .expect("cannot write the influxd config");

        let mut influxd = Influxd {
            child: spawn(dir.path()),
            port,
            dir,
            client: reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("cannot build an HTTP client"),
        };
        if influxd.wait_for_ping() {
            Ok(influxd)
        } else {
            Err(influxd.log_text())
        }
    }

    /// Stops the server with SIGKILL, as a crash would.
    pub fn kill(&mut self) {
        // A paused process must be resumed to die from SIGKILL promptly on every kernel.
        let _ = unsafe { libc::kill(self.pid(), libc::SIGCONT) };
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts the server again on the same ports and data after `kill`.
    pub fn restart(&mut self) {
        self.child = spawn(self.dir.path());
        assert!(
            self.wait_for_ping(),
            "influxd did not restart; log:\n{}",
            self.log_text()
        );
    }

    fn wait_for_ping(&mut self) -> bool {
        let up = wait_until(Duration::from_secs(30), || {
            self.has_exited()
                || self
                    .client
                    .get(self.url("/ping"))
                    .send()
                    .is_ok_and(|response| response.status().is_success())
        });
        up && !self.has_exited()
    }

    /// Returns the base URL, or a path under it.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("influxd.log")).unwrap_or_default()
    }

    /// Runs one InfluxQL statement with nanosecond epochs and returns the JSON response.
    ///
    /// A failure to send is retried twice: the harness polls InfluxDB in tight loops, and on a
    /// loaded machine a pooled connection can be closed by the server just as it is reused.
    pub fn query(&self, database: &str, statement: &str) -> Value {
        let mut attempt = 0;
        loop {
            let outcome = self
                .client
                .post(self.url("/query"))
                .form(&[("db", database), ("q", statement), ("epoch", "ns")])
                .send()
                .and_then(|response| response.json());
            match outcome {
                Ok(body) => return body,
                Err(error) if attempt < 2 && !error.is_decode() => {
                    attempt += 1;
                    std::thread::sleep(Duration::from_millis(200));
                }
                Err(error) => panic!("InfluxDB query {statement:?} failed: {error}"),
            }
        }
    }

    /// Returns the number of points in a measurement (0 when it does not exist).
    pub fn count_points(&self, database: &str, measurement: &str, field: &str) -> u64 {
        let body = self.query(
            database,
            &format!("SELECT count(\"{field}\") FROM \"{measurement}\""),
        );
        if let Some(error) = body["results"][0]["error"].as_str() {
            if error.contains("database not found") {
                return 0;
            }
            panic!("counting {measurement} failed: {error}");
        }
        body["results"][0]["series"][0]["values"][0][1]
            .as_u64()
            .unwrap_or(0)
    }

    /// Writes raw line protocol, for tests that prepare a conflict.
    pub fn write(&self, database: &str, lines: &str) -> reqwest::blocking::Response {
        self.client
            .post(format!("{}?db={database}&precision=ns", self.url("/write")))
            .body(lines.to_owned())
            .send()
            .expect("InfluxDB write failed to send")
    }

    /// Freezes the server with SIGSTOP: connections hang, as on an overloaded host.
    pub fn pause(&self) {
        crate::process::signal(self.pid(), libc::SIGSTOP);
    }

    pub fn resume(&self) {
        crate::process::signal(self.pid(), libc::SIGCONT);
    }

    fn has_exited(&mut self) -> bool {
        !matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Influxd {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Runs `influxd` with the config in `dir`, appending to the log there.
fn spawn(dir: &Path) -> Child {
    let log = File::options()
        .create(true)
        .append(true)
        .open(dir.join("influxd.log"))
        .expect("cannot open the influxd log");
    Command::new("influxd")
        .arg("-config")
        .arg(dir.join("influxd.conf"))
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("cannot clone the log handle"))
        .stderr(log)
        .spawn()
        .unwrap_or_else(|error| {
            panic!("cannot run influxd ({error}); install InfluxDB (Debian package `influxdb`), as scripts/test.sh does")
        })
}

/// Returns an influxd 1.x config that keeps everything under `dir`, listens on loopback
/// only, and lifts the series and tag-value limits so that tests never hit them.
fn config_text(dir: &Path, http_port: u16, rpc_port: u16) -> String {
    let dir = dir.display();
    format!(
        r#"reporting-disabled = true
bind-address = "127.0.0.1:{rpc_port}"

[meta]
  dir = "{dir}/meta"

[data]
  dir = "{dir}/data"
  wal-dir = "{dir}/wal"
  index-version = "tsi1"
  max-series-per-database = 0
  max-values-per-tag = 0
  query-log-enabled = false

[retention]
  enabled = false

[monitor]
  store-enabled = false

[http]
  bind-address = "127.0.0.1:{http_port}"
  log-enabled = false

[continuous_queries]
  enabled = false

[subscriber]
  enabled = false
"#
    )
}
