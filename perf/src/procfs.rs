//! Reads a process's own accounting from /proc: CPU time, resident memory, open file
//! descriptors, and the TCP sockets to a port by state. Linux only.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{Context, Result, bail};

/// CPU time (user + system, all threads) that process `pid` has used, in seconds.
pub fn cpu_seconds(pid: u32) -> Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("cannot read /proc/{pid}/stat"))?;
    let (utime, stime) = parse_cpu_ticks(&stat)?;
    Ok((utime + stime) as f64 / clock_ticks_per_second())
}

/// Returns utime and stime, fields 14 and 15 of /proc/PID/stat, in clock ticks.
fn parse_cpu_ticks(stat: &str) -> Result<(u64, u64)> {
    // The command name (field 2) is in parentheses and may contain spaces, so fields are
    // counted from the last ')'.
    let Some(close) = stat.rfind(')') else {
        bail!("malformed /proc stat line: {stat:?}");
    };
    let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
    // fields[0] is field 3 (state), so field N is fields[N - 3].
    let utime = fields.get(11).context("stat line has no utime")?.parse()?;
    let stime = fields.get(12).context("stat line has no stime")?.parse()?;
    Ok((utime, stime))
}

fn clock_ticks_per_second() -> f64 {
    // SAFETY: sysconf only reads a system constant.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 { ticks as f64 } else { 100.0 }
}

/// Resident set size of process `pid`, in bytes (VmRSS of /proc/PID/status).
pub fn rss_bytes(pid: u32) -> Result<u64> {
    status_kib(pid, "VmRSS").map(|kib| kib * 1024)
}

/// Highest resident set size of process `pid` since it started, in bytes (VmHWM).
pub fn peak_rss_bytes(pid: u32) -> Result<u64> {
    status_kib(pid, "VmHWM").map(|kib| kib * 1024)
}

fn status_kib(pid: u32, field: &str) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("cannot read /proc/{pid}/status"))?;
    let line = status
        .lines()
        .find(|line| {
            line.strip_prefix(field)
                .is_some_and(|rest| rest.starts_with(':'))
        })
        .with_context(|| format!("process {pid} has no {field} (a zombie?)"))?;
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .with_context(|| format!("{field} has no value"))?
        .parse()?;
    Ok(kib)
}

/// Number of open file descriptors of process `pid`.
pub fn open_fds(pid: u32) -> Result<u64> {
    let entries = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .with_context(|| format!("cannot list /proc/{pid}/fd"))?;
    Ok(entries.count() as u64)
}

/// Busy and total jiffies of the whole machine, from the first line of /proc/stat.
pub fn machine_jiffies() -> Result<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").context("cannot read /proc/stat")?;
    let line = stat.lines().next().context("/proc/stat is empty")?;
    let values: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|value| value.parse().ok())
        .collect();
    let total: u64 = values.iter().sum();
    // idle (4th) and iowait (5th) are the idle time.
    let idle = values.get(3).copied().unwrap_or(0) + values.get(4).copied().unwrap_or(0);
    Ok((total - idle, total))
}

/// TCP connection states of /proc/net/tcp, by the kernel's numeric code.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SocketCounts {
    pub established: u64,
    pub time_wait: u64,
    pub other: u64,
}

const TCP_ESTABLISHED: u8 = 0x01;
const TCP_TIME_WAIT: u8 = 0x06;

/// Counts client-side IPv4 and IPv6 TCP sockets of this machine whose remote port is
/// `remote_port`, by state. TIME_WAIT sockets belong to no process, so the count covers every
/// client of that port on the machine, not only one process.
pub fn sockets_to_port(remote_port: u16) -> Result<SocketCounts> {
    let mut counts = SocketCounts::default();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        if !Path::new(table).exists() {
            continue;
        }
        let text =
            std::fs::read_to_string(table).with_context(|| format!("cannot read {table}"))?;
        count_table(&text, remote_port, &mut counts);
    }
    Ok(counts)
}

fn count_table(text: &str, remote_port: u16, counts: &mut SocketCounts) {
    for line in text.lines().skip(1) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (Some(remote), Some(state)) = (fields.get(2), fields.get(3)) else {
            continue;
        };
        let port = remote
            .rsplit(':')
            .next()
            .and_then(|hex| u16::from_str_radix(hex, 16).ok());
        if port != Some(remote_port) {
            continue;
        }
        match u8::from_str_radix(state, 16) {
            Ok(TCP_ESTABLISHED) => counts.established += 1,
            Ok(TCP_TIME_WAIT) => counts.time_wait += 1,
            _ => counts.other += 1,
        }
    }
}

/// CPU seconds of each named process at one moment, to subtract from a later reading.
#[derive(Clone, Debug, Default)]
pub struct CpuSnapshot {
    pub seconds: HashMap<String, f64>,
    pub machine: (u64, u64),
}

impl CpuSnapshot {
    /// Reads every process in `processes`; a process that has exited reads as missing.
    pub fn take(processes: &[(String, u32)]) -> CpuSnapshot {
        let seconds = processes
            .iter()
            .filter_map(|(name, pid)| cpu_seconds(*pid).ok().map(|s| (name.clone(), s)))
            .collect();
        CpuSnapshot {
            seconds,
            machine: machine_jiffies().unwrap_or((0, 0)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_line_with_spaces_in_name() {
        let stat = "42 (my (odd) name) S 1 42 42 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 8 0 1";
        assert_eq!(parse_cpu_ticks(stat).unwrap(), (250, 75));
    }

    #[test]
    fn own_process_is_readable() {
        let pid = std::process::id();
        assert!(rss_bytes(pid).unwrap() > 0);
        assert!(open_fds(pid).unwrap() >= 3);
        assert!(cpu_seconds(pid).unwrap() >= 0.0);
    }

    #[test]
    fn tcp_table_counts_by_remote_port_and_state() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:9C40 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 1 1
   1: 0100007F:9C41 0100007F:1F90 06 00000000:00000000 00:00000000 00000000     0        0 0 1
   2: 0100007F:1F90 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 2 1
   3: 0100007F:9C42 0100007F:1F91 01 00000000:00000000 00:00000000 00000000     0        0 3 1";
        let mut counts = SocketCounts::default();
        count_table(table, 0x1F90, &mut counts);
        assert_eq!(
            counts.established, 1,
            "the server side of a connection is not counted"
        );
        assert_eq!(counts.time_wait, 1);
        assert_eq!(counts.other, 0);
    }
}
