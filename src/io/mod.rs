//! Byte streams under a connection: adopting Node's socket (TCP or Unix), writing to it from any
//! thread by descriptor, reading ahead so an idle connection holds no buffer, and the bridge for
//! sockets Node keeps (TLS, any Duplex).

pub mod bridge;
pub mod direct;
pub mod handoff;
pub mod read_ahead;
