//! Load generator for the ferrows benchmark suite: `loadgen <echo|chat|churn|idle> [--flags]`.
//! Each run is bounded in time and prints one JSON line on stdout; see bench/README.md.

mod args;
mod conn;
mod deflate;
mod hist;
mod json;
mod raw;
mod scenario;
mod sys;
mod window;

use args::Args;
use conn::{Error, Target};
use json::JsonLine;
use std::time::Duration;

const USAGE: &str = "usage: loadgen <echo|chat|churn|idle> --url ws://127.0.0.1:PORT/ [--flags] \
(see bench/README.md)";

/// What every scenario shares.
pub struct Common {
  /// The server (the first of `--url`'s list).
  pub target: Target,
  /// Every server `--url` lists, comma-separated: the nodes of a scale-out run, which only chat
  /// spreads its clients over; the other scenarios take one.
  pub nodes: Vec<Target>,
  pub warmup: Duration,
  /// The measurement window (idle: how long the connections are held once open).
  pub duration: Duration,
  /// The server's PID, to read its CPU time and RSS from /proc (the first of `--server-pid`'s
  /// list).
  pub server_pid: Option<u32>,
  /// Every PID `--server-pid` lists, comma-separated: the server's CPU is their sum (every
  /// process of a scale-out run).
  pub server_pids: Vec<u32>,
}

fn seconds(args: &Args, name: &str, default: f64) -> Result<Duration, String> {
  let secs: f64 = args.get(name, default)?;
  Duration::try_from_secs_f64(secs).map_err(|_| format!("--{name}: {secs} is not a duration"))
}

fn parse_common(args: &Args, read_buffer: usize) -> Result<Common, String> {
  let urls = args.string("url", "ws://127.0.0.1:9001/")?;
  let read_buffer = args.get("read-buffer", read_buffer)?;
  let nodes = urls
    .split(',')
    .map(|url| Target::parse(url, read_buffer))
    .collect::<Result<Vec<_>, _>>()?;
  let pids = args.string("server-pid", "")?;
  let server_pids = pids
    .split(',')
    .filter(|pid| !pid.is_empty())
    .map(|pid| {
      pid
        .parse()
        .map_err(|_| format!("--server-pid: cannot parse {pid:?}"))
    })
    .collect::<Result<Vec<u32>, _>>()?;
  Ok(Common {
    target: nodes[0].clone(),
    nodes,
    warmup: seconds(args, "warmup", 1.0)?,
    duration: seconds(args, "duration", 5.0)?,
    server_pid: server_pids.first().copied(),
    server_pids,
  })
}

/// Ends the process with an error line if a run outlives its hard cap, whatever the runtime is
/// doing (a stalled server must not hang the benchmark).
fn start_watchdog(cap: Duration, scenario: String) {
  std::thread::spawn(move || {
    std::thread::sleep(cap);
    let error = format!("hard cap of {:.0} s reached", cap.as_secs_f64());
    let line = JsonLine::new()
      .str("scenario", &scenario)
      .str("error", &error);
    println!("{}", line.finish());
    std::process::exit(2);
  });
}

fn runtime(threads: usize) -> std::io::Result<tokio::runtime::Runtime> {
  // One thread by default so the loadgen can be pinned to one core; more only on request.
  let mut builder = if threads <= 1 {
    tokio::runtime::Builder::new_current_thread()
  } else {
    let mut b = tokio::runtime::Builder::new_multi_thread();
    b.worker_threads(threads);
    b
  };
  builder.enable_all().build()
}

fn run(name: &str, args: &Args) -> Result<String, Error> {
  let scenario = scenario::Scenario::parse(name, args)?;
  let common = parse_common(args, scenario.default_read_buffer())?;
  let threads: usize = args.get("threads", 1)?;
  let default_cap = (common.warmup + common.duration).as_secs_f64() + 60.0;
  let cap = seconds(args, "max-secs", default_cap)?;
  args.finish()?;
  if common.nodes.len() > 1 && !scenario.spreads_over_nodes() {
    return Err(format!("{name} takes one --url; only chat spreads over several").into());
  }

  let wanted = scenario.fds_wanted();
  let limit = sys::raise_fd_limit(wanted);
  if limit < wanted {
    return Err(
      format!(
        "{wanted} descriptors needed, the limit is {limit} (raising it past the hard limit \
         takes CAP_SYS_RESOURCE)"
      )
      .into(),
    );
  }
  start_watchdog(cap, name.to_string());
  let line = runtime(threads)?.block_on(scenario.run(&common))?;
  Ok(line.finish())
}

fn main() {
  let raw: Vec<String> = std::env::args().skip(1).collect();
  let Some(name) = raw.first().filter(|n| !n.starts_with('-')) else {
    eprintln!("{USAGE}");
    std::process::exit(64);
  };
  let result = Args::parse(&raw[1..])
    .map_err(Error::from)
    .and_then(|args| run(name, &args));
  match result {
    Ok(line) => {
      println!("{line}");
      // Exit at once: dropping thousands of open connections one by one adds nothing.
      std::process::exit(0);
    }
    Err(err) => {
      eprintln!("loadgen {name}: {err}");
      let line = JsonLine::new()
        .str("scenario", name)
        .str("error", &err.to_string());
      println!("{}", line.finish());
      std::process::exit(1);
    }
  }
}
