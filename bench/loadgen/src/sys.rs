//! What the loadgen reads from the OS: its own CPU time (to detect when it, not the server, is
//! the bottleneck), the server's CPU time and RSS from /proc, the descriptor limit, the
//! ephemeral port range, and the one socket option tokio does not offer.

use std::os::fd::AsRawFd;
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

/// Raises the soft descriptor limit to the hard one, or both to `wanted` when the hard one is
/// lower (which takes CAP_SYS_RESOURCE, as root usually has; fs.nr_open caps it). Returns the
/// soft limit now in force: every connection holds a descriptor, 100,000 in the idle-100k row.
pub fn raise_fd_limit(wanted: u64) -> u64 {
  // SAFETY: plain get/set of this process's own limit through local structs.
  unsafe {
    let mut limit: libc::rlimit = std::mem::zeroed();
    if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
      return 0;
    }
    let hard = limit.rlim_max;
    // Past the hard limit first; without the privilege, up to it.
    for to in [wanted.max(hard), hard] {
      let raised = libc::rlimit {
        rlim_cur: to,
        rlim_max: to,
      };
      if to > limit.rlim_cur && libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
        return to;
      }
    }
    limit.rlim_cur
  }
}

/// The number of ephemeral ports (net.ipv4.ip_local_port_range): how many connections one
/// source address can have to one server.
pub fn ephemeral_ports() -> Option<u32> {
  let range = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").ok()?;
  let mut ends = range.split_whitespace().map(str::parse::<u32>);
  let (low, high) = (ends.next()?.ok()?, ends.next()?.ok()?);
  Some(high.checked_sub(low)? + 1)
}

/// IP_BIND_ADDRESS_NO_PORT: a bind() to port 0 leaves the choice of the port to connect().
pub fn bind_address_no_port(socket: &impl AsRawFd) -> std::io::Result<()> {
  let on: libc::c_int = 1;
  // SAFETY: setsockopt reads an int from a live local for the length given.
  let rc = unsafe {
    libc::setsockopt(
      socket.as_raw_fd(),
      libc::IPPROTO_IP,
      libc::IP_BIND_ADDRESS_NO_PORT,
      (&on as *const libc::c_int).cast(),
      std::mem::size_of::<libc::c_int>() as libc::socklen_t,
    )
  };
  if rc == 0 {
    Ok(())
  } else {
    Err(std::io::Error::last_os_error())
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
    assert!(ephemeral_ports().unwrap() > 0);
  }
}
