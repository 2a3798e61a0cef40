//! Byte streams under a connection: adopting Node's socket (TCP or Unix), looking at a new
//! connection's request head in place, writing to it from any thread by descriptor, reads that
//! leave an idle connection without a buffer, and the bridge for sockets Node keeps (TLS, any
//! Duplex).

pub mod bridge;
pub mod direct;
pub mod handoff;
pub mod peek;
pub mod read;
