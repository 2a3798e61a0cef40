//! What the loadgen reads from the OS: its own CPU time (to detect when it, not the server, is
//! the bottleneck), the server's CPU time and RSS from /proc, and the descriptor limit.

use std::time::Duration;

/// User + system CPU time of this whole process (every thread).
pub fn own_cpu() -> Duration {
  // SAFETY: getrusage only writes into the zeroed struct we pass.
  let usage = unsafe {
    let mut usage: libc::rusage = std::mem::zeroed();
    libc::getrusage(libc::RUSAGE_SELF, &mut usage);
    usage
  };
  let micros = |t: libc::timeval| t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64;
  Duration::from_micros(micros(usage.ru_utime) + micros(usage.ru_stime))
}

/// utime + stime of another process (all its threads), from /proc/PID/stat, in microseconds.
/// The kernel counts in clock ticks (10 ms at USER_HZ=100): measure over seconds, not millis.
pub fn process_cpu_us(pid: u32) -> Option<u64> {
  let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
  // The command name (field 2) is in parentheses and may hold spaces: split after it.
  let after_name = &stat[stat.rfind(')')? + 1..];
  let fields: Vec<&str> = after_name.split_whitespace().collect();
  // Field 3 (state) is fields[0]; utime and stime are fields 14 and 15.
  let utime: u64 = fields.get(11)?.parse().ok()?;
  let stime: u64 = fields.get(12)?.parse().ok()?;
  // SAFETY: sysconf has no preconditions.
  let ticks_per_sec = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
  Some((utime + stime) * 1_000_000 / ticks_per_sec)
}

/// Resident set size of another process in KiB, from /proc/PID/status (VmRSS).
pub fn process_rss_kb(pid: u32) -> Option<u64> {
  let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
  let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
  line.split_whitespace().nth(1)?.parse().ok()
}

/// Raises the soft descriptor limit to the hard one: the idle scenario holds 10,000 sockets.
pub fn raise_fd_limit() {
  // SAFETY: plain get/set of this process's own limit through a local struct.
  unsafe {
    let mut limit: libc::rlimit = std::mem::zeroed();
    if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < limit.rlim_max {
      limit.rlim_cur = limit.rlim_max;
      libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
    }
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn reads_its_own_process() {
    let me = std::process::id();
    assert!(process_cpu_us(me).is_some());
    assert!(process_rss_kb(me).unwrap() > 0);
    let spin = std::time::Instant::now();
    while spin.elapsed() < Duration::from_millis(20) {}
    assert!(own_cpu() >= Duration::from_millis(10));
  }
}
