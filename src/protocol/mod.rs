//! The WebSocket protocol as bytes in, bytes out: frame encoding, the opening handshake's checks
//! and response, and the failures that end a connection with their close codes. No tokio, no
//! N-API.

pub mod failure;
pub mod frame;
pub mod handshake;
