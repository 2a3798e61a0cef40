//! ferrows: a WebSocket server engine for Node.js.
//!
//! Layers, each depending only on those after it: `napi` (the N-API surface, behind the default
//! `node` feature) → `server` (registry, accept paths, hub, events to JavaScript) → `conn` (one
//! connection: outbox, writer, session) → `protocol` (bytes in, bytes out) and `io` (descriptor
//! handoff, direct writes, read-ahead, the byte bridge), with `config` and `runtime` beneath all.
//! `scaleout` plugs into `server` through the `server::Link` trait. Everything but `napi` builds
//! and tests without Node (`cargo test --no-default-features`).
#![deny(clippy::all)]

pub mod config;
pub mod conn;
pub mod io;
// Unit-test builds leave the N-API surface out: its exports register themselves with Node only
// when loaded by it.
#[cfg(all(feature = "node", not(test)))]
mod napi;
pub mod protocol;
pub mod runtime;
pub mod scaleout;
pub mod server;
