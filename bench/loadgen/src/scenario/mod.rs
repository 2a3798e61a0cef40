//! The four scenarios (chat also runs rooms; echo, chat and idle also run with `--deflate`).
//! Each parses its own flags and returns its JSON line.

mod chat;
mod churn;
mod echo;
mod idle;

use crate::args::Args;
use crate::conn::{Error, Target};
use crate::json::JsonLine;
use crate::Common;
use std::future::Future;

pub enum Scenario {
  Echo(echo::Config),
  Chat(chat::Config),
  Churn(churn::Config),
  Idle(idle::Config),
}

impl Scenario {
  pub fn parse(name: &str, args: &Args) -> Result<Scenario, String> {
    Ok(match name {
      "echo" => Scenario::Echo(echo::Config::parse(args)?),
      "chat" => Scenario::Chat(chat::Config::parse(args)?),
      "churn" => Scenario::Churn(churn::Config::parse(args)?),
      "idle" => Scenario::Idle(idle::Config::parse(args)?),
      other => {
        return Err(format!(
          "unknown scenario {other:?} (echo, chat, churn, idle)"
        ))
      }
    })
  }

  /// Small messages need little; idle connections should cost the loadgen next to nothing.
  pub fn default_read_buffer(&self) -> usize {
    match self {
      Scenario::Idle(_) => 1024,
      _ => 16 * 1024,
    }
  }

  /// Descriptors the scenario needs: one per connection it holds at once, and a few for the
  /// runtime. Only idle may hold more than a usual limit allows; the others ask for nothing and
  /// get the hard limit.
  pub fn fds_wanted(&self) -> u64 {
    match self {
      Scenario::Idle(cfg) => cfg.conns as u64 + 64,
      _ => 0,
    }
  }

  /// Whether the scenario can spread its clients over several servers (`--url a,b`).
  pub fn spreads_over_nodes(&self) -> bool {
    matches!(self, Scenario::Chat(cfg) if cfg.spreads_over_nodes())
  }

  pub async fn run(self, common: &Common) -> Result<JsonLine, Error> {
    match self {
      Scenario::Echo(cfg) => echo::run(cfg, common).await,
      Scenario::Chat(cfg) => chat::run(cfg, common).await,
      Scenario::Churn(cfg) => churn::run(cfg, common).await,
      Scenario::Idle(cfg) => idle::run(cfg, common).await,
    }
  }
}

/// Opens `count` connections to `target` with `connect`, at most `parallel` handshakes at a time
/// (a burst of thousands of SYNs overflows a server's accept backlog and turns into
/// retransmission delays).
pub async fn open_many<'a, C, F>(
  target: &'a Target,
  count: usize,
  parallel: usize,
  connect: impl FnMut(&'a Target) -> F,
) -> Result<Vec<C>, Error>
where
  F: Future<Output = Result<C, Error>>,
{
  open_each(std::iter::repeat_n(target, count), parallel, connect).await
}

/// Opens one connection per target, in order: the i-th connection is the i-th target's.
/// `connect` is `Target::connect`, or `RawWs::connect` for `--deflate` runs.
pub async fn open_each<'a, C, F>(
  targets: impl IntoIterator<Item = &'a Target>,
  parallel: usize,
  connect: impl FnMut(&'a Target) -> F,
) -> Result<Vec<C>, Error>
where
  F: Future<Output = Result<C, Error>>,
{
  use futures_util::stream::{self, StreamExt, TryStreamExt};
  stream::iter(targets)
    .map(connect)
    .buffered(parallel.max(1))
    .try_collect()
    .await
}
