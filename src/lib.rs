//! ferrows: a WebSocket server engine for Node.js. `binding.rs` is the N-API surface; the other
//! modules are the engine and know nothing of N-API, so `cargo test` runs them outside Node.
#![deny(clippy::all)]
// Unit-test builds leave out the N-API surface, the only user of some engine entry points.
#![cfg_attr(test, allow(dead_code))]

#[cfg(not(test))]
mod binding;
mod bridge;
mod config;
mod conn;
mod direct;
mod envelope;
mod error;
mod events;
#[cfg(not(test))]
mod fast_calls;
mod frame;
mod handoff;
mod handshake;
mod hub;
mod outbox;
mod publish_queue;
mod read_ahead;
mod runtime;
mod scaleout;
mod server;
mod session;
mod transport;
mod writer;
