//! The WebSocket protocol as bytes in, bytes out: frame encoding, reading client frames into
//! messages, permessage-deflate's negotiation and codec, the opening handshake's checks and
//! response, and the failures that end a connection with their close codes. No tokio, no N-API.

pub mod client_frame;
pub mod deflate;
pub mod extension;
pub mod failure;
pub mod frame;
pub mod handshake;
pub mod reader;
pub mod request;
