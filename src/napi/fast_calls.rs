//! The per-message calls (send, frame once) as plain N-API callbacks. napi-rs's generated
//! wrappers check the receiver's class and track borrows on every call of a class method, which
//! measured 12% of the server's CPU in the echo benchmark. These take the connection as an
//! External, checked by its type tag, and frame a string straight out of V8 with one copy.

use std::ffi::c_char;
use std::ptr;
use std::sync::Arc;

use bytes::Bytes;
use napi::sys::{self, napi_callback_info, napi_env, napi_status, napi_value};

use crate::conn::deflate::Outgoing;
use crate::conn::{Conn, SendStatus};
use crate::napi::handle;
use crate::protocol::frame::{self, Kind};

/// The calls, as `exports` gets them: `(connection, data, compress?) => status`, except
/// `encodeText` and `encodeBytes`. `compress: false` sends a message uncompressed where
/// permessage-deflate was agreed (`ws`'s `send(data, { compress: false })`).
pub const CALLS: [(&str, sys::napi_callback); 6] = [
  ("sendText\0", Some(send_text)),
  ("sendBinary\0", Some(send_binary)),
  ("sendTextBytes\0", Some(send_text_bytes)),
  ("encodeText\0", Some(encode_text)),
  ("encodeBytes\0", Some(encode_bytes)),
  ("sendEncoded\0", Some(send_encoded)),
];

/// Defines `CALLS` on `exports`.
///
/// # Safety
/// `env` and `exports` come from the module's initialization.
pub unsafe fn define(env: napi_env, exports: napi_value) -> napi_status {
  let properties = CALLS.map(|(name, call)| sys::napi_property_descriptor {
    utf8name: name.as_ptr().cast(),
    name: ptr::null_mut(),
    method: call,
    getter: None,
    setter: None,
    value: ptr::null_mut(),
    attributes: sys::PropertyAttributes::default,
    data: ptr::null_mut(),
  });
  sys::napi_define_properties(env, exports, properties.len(), properties.as_ptr())
}

/// Throws a TypeError and returns no value.
unsafe fn throw(env: napi_env, message: &str) -> napi_value {
  let mut text = Vec::with_capacity(message.len() + 1);
  text.extend_from_slice(message.as_bytes());
  text.push(0);
  sys::napi_throw_type_error(env, ptr::null(), text.as_ptr().cast());
  ptr::null_mut()
}

/// The call's arguments: the connection, the data, and the third (a flag, or undefined).
unsafe fn args<'a>(
  env: napi_env,
  info: napi_callback_info,
) -> Option<(&'a Arc<Conn>, napi_value, napi_value)> {
  let mut argc = 3;
  let mut argv = [ptr::null_mut(); 3];
  sys::napi_get_cb_info(
    env,
    info,
    &mut argc,
    argv.as_mut_ptr(),
    ptr::null_mut(),
    ptr::null_mut(),
  );
  let conn = handle::conn_of(env, argv[0])?;
  Some((conn, argv[1], argv[2]))
}

/// A boolean argument, or `default` for anything else (N-API passes missing ones as undefined).
unsafe fn flag(env: napi_env, value: napi_value, default: bool) -> bool {
  let mut flag = default;
  if sys::napi_get_value_bool(env, value, &mut flag) != sys::Status::napi_ok {
    return default;
  }
  flag
}

/// Whether a send may be compressed: unless its third argument is `false`, read only where
/// permessage-deflate was agreed.
unsafe fn compress(env: napi_env, conn: &Conn, value: napi_value) -> bool {
  conn.deflate.is_none() || flag(env, value, true)
}

unsafe fn status(env: napi_env, conn: &Arc<Conn>, status: SendStatus) -> napi_value {
  conn.host().cork(conn);
  let mut result = ptr::null_mut();
  sys::napi_create_uint32(env, status as u32, &mut result);
  result
}

/// The UTF-8 length of a JavaScript string; None when `value` is not a string.
unsafe fn string_len(env: napi_env, value: napi_value) -> Option<usize> {
  let mut len = 0;
  (sys::napi_get_value_string_utf8(env, value, ptr::null_mut(), 0, &mut len)
    == sys::Status::napi_ok)
    .then_some(len)
}

/// Writes the string's `len` UTF-8 bytes and a NUL into `into`; returns the bytes written.
unsafe fn write_string(
  env: napi_env,
  value: napi_value,
  into: *mut c_char,
  len: usize,
) -> Option<usize> {
  let mut written = 0;
  let status = sys::napi_get_value_string_utf8(env, value, into, len + 1, &mut written);
  (status == sys::Status::napi_ok).then_some(written)
}

/// A JavaScript string's UTF-8 bytes.
unsafe fn string_bytes(env: napi_env, value: napi_value, len: usize) -> Option<Bytes> {
  let mut text = vec![0u8; len + 1];
  let written = write_string(env, value, text.as_mut_ptr().cast(), len)?;
  text.truncate(written);
  Some(Bytes::from(text))
}

/// Frames a JavaScript string as one text message, in place when the server does not fragment
/// it; None when `value` is not a string (or, which V8's immutable strings rule out, when it
/// reads back with another length).
unsafe fn frame_string(env: napi_env, conn: &Conn, value: napi_value, len: usize) -> Option<Bytes> {
  let fragment = conn.config().fragmentation_threshold;
  if fragment == 0 || len <= fragment {
    frame::encode_in_place(Kind::Text, len, |spare| {
      write_string(env, value, spare.as_mut_ptr().cast(), len)
    })
  } else {
    Some(conn.encode(Kind::Text, &string_bytes(env, value, len)?))
  }
}

/// The bytes of a Buffer or other ArrayBufferView, valid during the call.
unsafe fn bytes_of<'a>(env: napi_env, value: napi_value) -> Option<&'a [u8]> {
  let mut data = ptr::null_mut();
  let mut len = 0;
  if sys::napi_get_buffer_info(env, value, &mut data, &mut len) != sys::Status::napi_ok {
    return None;
  }
  Some(if len == 0 {
    &[]
  } else {
    std::slice::from_raw_parts(data.cast(), len)
  })
}

unsafe extern "C" fn send_text(env: napi_env, info: napi_callback_info) -> napi_value {
  let Some((conn, data, third)) = args(env, info) else {
    return throw(env, "sendText: not a connection");
  };
  let compress = compress(env, conn, third);
  let Some(len) = string_len(env, data) else {
    return throw(env, "sendText: data must be a string");
  };
  let sent = if conn.compresses(len, compress) {
    // Compressed by the writer, on an engine thread.
    string_bytes(env, data, len)
      .map(|text| conn.push_outgoing(&Arc::new(Outgoing::new(Kind::Text, text)), true))
  } else {
    frame_string(env, conn, data, len).map(|frame| conn.push_frame(frame))
  };
  match sent {
    Some(sent) => status(env, conn, sent),
    None => throw(env, "sendText: data must be a string"),
  }
}

unsafe fn send_bytes(env: napi_env, info: napi_callback_info, kind: Kind) -> napi_value {
  let Some((conn, data, third)) = args(env, info) else {
    return throw(env, "send: not a connection");
  };
  let compress = compress(env, conn, third);
  match bytes_of(env, data) {
    Some(bytes) => status(env, conn, conn.send(kind, bytes, compress)),
    None => throw(env, "send: data must be a Buffer or TypedArray"),
  }
}

unsafe extern "C" fn send_binary(env: napi_env, info: napi_callback_info) -> napi_value {
  send_bytes(env, info, Kind::Binary)
}

/// Sends bytes as a text message, unchanged (`ws` sends a Buffer with `binary: false` so).
unsafe extern "C" fn send_text_bytes(env: napi_env, info: napi_callback_info) -> napi_value {
  send_bytes(env, info, Kind::Text)
}

/// `(connection, text) => message`: a text message for `sendEncoded`, framed once (and, for
/// connections that compress, compressed once) however many connections it goes to.
unsafe extern "C" fn encode_text(env: napi_env, info: napi_callback_info) -> napi_value {
  let Some((_, data, _)) = args(env, info) else {
    return throw(env, "encodeText: not a connection");
  };
  let Some(text) = string_len(env, data).and_then(|len| string_bytes(env, data, len)) else {
    return throw(env, "encodeText: data must be a string");
  };
  message_handle(env, Outgoing::new(Kind::Text, text))
}

/// Hands `message` to JavaScript as the handle `sendEncoded` takes.
unsafe fn message_handle(env: napi_env, message: Outgoing) -> napi_value {
  let external = handle::message_handle(env, message);
  if external.is_null() {
    return throw(env, "encode: cannot create the message's handle");
  }
  external
}

/// `(connection, bytes, asText) => message`: as `encodeText`, for the bytes of a Buffer sent
/// as a binary message or (`asText`) as a text message.
unsafe extern "C" fn encode_bytes(env: napi_env, info: napi_callback_info) -> napi_value {
  let Some((_, data, as_text)) = args(env, info) else {
    return throw(env, "encodeBytes: not a connection");
  };
  let Some(bytes) = bytes_of(env, data) else {
    return throw(env, "encodeBytes: data must be a Buffer or TypedArray");
  };
  let kind = if flag(env, as_text, false) {
    Kind::Text
  } else {
    Kind::Binary
  };
  message_handle(env, Outgoing::new(kind, Bytes::copy_from_slice(bytes)))
}

/// `(connection, message, compress?) => status`: queues a message from `encodeText`, sharing
/// its frame.
unsafe extern "C" fn send_encoded(env: napi_env, info: napi_callback_info) -> napi_value {
  let Some((conn, data, third)) = args(env, info) else {
    return throw(env, "sendEncoded: not a connection");
  };
  let compress = compress(env, conn, third);
  match handle::message_of(env, data) {
    Some(message) => status(env, conn, conn.push_outgoing(message, compress)),
    None => throw(
      env,
      "sendEncoded: not a message from encodeText or encodeBytes",
    ),
  }
}
