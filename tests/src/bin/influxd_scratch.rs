//! Runs a private influxd for a benchmark: its own config, temporary directory and loopback
//! ports, as the black-box tests use. Prints its URL as a JSON line, then keeps it until
//! SIGINT or SIGTERM or until --max-lifetime passes, and then stops it and deletes its data.

use std::io::Write;
use std::time::Duration;

use clap::Parser;
use reactions_tests::Influxd;
use shared::store::humantime_duration;

/// Runs a private influxd on loopback until SIGINT, SIGTERM or --max-lifetime.
#[derive(Parser)]
#[command(name = "influxd_scratch")]
struct Args {
    /// Maximum time to keep influxd running, so that a forgotten server does not outlive the
    /// benchmark.
    #[arg(long, default_value = "90m", value_parser = humantime_duration)]
    max_lifetime: Duration,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    // Blocked before any thread starts, so that every thread inherits the mask and the
    // signals wait for `sigtimedwait` instead of killing the process before influxd stops.
    let signals = block_stop_signals()?;

    let influxd = Influxd::start();
    let line = serde_json::json!({"url": influxd.url(""), "pid": influxd.pid()});
    let mut stdout = std::io::stdout();
    writeln!(stdout, "{line}")?;
    stdout.flush()?;

    let received = wait_for_signal(&signals, args.max_lifetime);
    eprintln!(
        "influxd_scratch: stopping influxd ({})",
        match received {
            Some(signal) => format!("signal {signal}"),
            None => format!("--max-lifetime {:?} passed", args.max_lifetime),
        }
    );
    drop(influxd);
    Ok(())
}

fn block_stop_signals() -> anyhow::Result<libc::sigset_t> {
    // SAFETY: the set is initialized by sigemptyset before use, and pthread_sigmask only
    // changes this thread's mask.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigaddset(&mut set, libc::SIGTERM);
        let result = libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        if result != 0 {
            anyhow::bail!(
                "cannot block SIGINT and SIGTERM: {}",
                std::io::Error::from_raw_os_error(result)
            );
        }
        Ok(set)
    }
}

/// Waits for one of `signals` or for `timeout`; returns the signal number, or None on timeout.
fn wait_for_signal(signals: &libc::sigset_t, timeout: Duration) -> Option<i32> {
    let timeout = libc::timespec {
        tv_sec: timeout.as_secs() as libc::time_t,
        tv_nsec: timeout.subsec_nanos() as libc::c_long,
    };
    loop {
        // SAFETY: both pointers refer to live, initialized values for the duration of the call.
        let received = unsafe { libc::sigtimedwait(signals, std::ptr::null_mut(), &timeout) };
        if received > 0 {
            return Some(received);
        }
        // EINTR restarts the wait (with the full timeout, which only lengthens a bound that is
        // already a backstop); EAGAIN means the timeout passed.
        if std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            return None;
        }
    }
}
