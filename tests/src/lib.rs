//! Harness for the black-box tests: starts a real `influxd` and the real `ingest` and `query`
//! binaries on loopback ports, and talks to them over HTTP only.

pub mod app;
pub mod cgroup;
pub mod influxd;
pub mod metrics;
pub mod process;
pub mod scale;

pub use app::{StoreKind, TestApp};
pub use influxd::Influxd;

use std::time::{Duration, Instant};

/// Polls `condition` every 50 ms until it returns true or `timeout` passes, and reports which.
/// The timeouts are generous because CI machines are shared; a passing run returns early.
pub fn wait_until(timeout: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if condition() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Returns a port that was free a moment ago, for servers that cannot take port 0.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("cannot bind a loopback port")
}

/// Declares one `#[test]` per store for each case function `fn case(kind: StoreKind)`, in the
/// modules `influxdb` and `embedded`, so every case runs against both stores.
#[macro_export]
macro_rules! on_both_stores {
    ($($case:ident),+ $(,)?) => {
        mod influxdb {
            $(
                #[test]
                fn $case() {
                    super::$case($crate::StoreKind::Influx)
                }
            )+
        }
        mod embedded {
            $(
                #[test]
                fn $case() {
                    super::$case($crate::StoreKind::Embedded)
                }
            )+
        }
    };
}
