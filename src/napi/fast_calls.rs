//! The per-message calls (send, frame once) as plain N-API callbacks. napi-rs's generated
//! wrappers check the receiver's class and track borrows on every call of a class method, which
//! measured 12% of the server's CPU in the echo benchmark. These take the connection as an
//! External, checked by its type tag, and frame a string straight out of V8 with one copy.

use std::ffi::{c_char, c_void};
use std::ptr;
use std::sync::Arc;

use bytes::Bytes;
use napi::sys::{self, napi_callback_info, napi_env, napi_status, napi_value};

use crate::conn::{Conn, SendStatus};
use crate::protocol::frame::{self, Kind};

const CONN_TAG: sys::napi_type_tag = sys::napi_type_tag {
  lower: 0x6665_7272_6f77_7301,
  upper: 0x636f_6e6e_6563_7469,
};
const FRAME_TAG: sys::napi_type_tag = sys::napi_type_tag {
  lower: 0x6665_7272_6f77_7302,
  upper: 0x656e_636f_6465_6466,
};

/// The calls, as `exports` gets them: `(connection, data) => status`, except `encodeText` and
/// `readyState`.
pub const CALLS: [(&str, sys::napi_callback); 6] = [
  ("readyState\0", Some(ready_state)),
  ("sendText\0", Some(send_text)),
  ("sendBinary\0", Some(send_binary)),
  ("sendTextBytes\0", Some(send_text_bytes)),
  ("encodeText\0", Some(encode_text)),
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

/// A tagged External that owns `value` until V8 collects it; null (with `value` dropped, by V8
/// when it was already wrapped) if N-API refuses.
unsafe fn external<T>(env: napi_env, value: T, tag: &sys::napi_type_tag) -> napi_value {
  unsafe extern "C" fn finalize<T>(_env: napi_env, data: *mut c_void, _hint: *mut c_void) {
    drop(Box::from_raw(data.cast::<T>()));
  }
  let data = Box::into_raw(Box::new(value));
  let mut result = ptr::null_mut();
  if sys::napi_create_external(
    env,
    data.cast(),
    Some(finalize::<T>),
    ptr::null_mut(),
    &mut result,
  ) != sys::Status::napi_ok
  {
    drop(Box::from_raw(data));
    return ptr::null_mut();
  }
  // An untagged External would be refused by every call: report the failure instead.
  if sys::napi_type_tag_object(env, result, tag) != sys::Status::napi_ok {
    return ptr::null_mut();
  }
  result
}

/// The value of an External `external` made with `tag`, or None for any other value.
unsafe fn unwrap<'a, T>(
  env: napi_env,
  value: napi_value,
  tag: &sys::napi_type_tag,
) -> Option<&'a T> {
  let mut tagged = false;
  if sys::napi_check_object_type_tag(env, value, tag, &mut tagged) != sys::Status::napi_ok
    || !tagged
  {
    return None;
  }
  let mut data = ptr::null_mut();
  if sys::napi_get_value_external(env, value, &mut data) != sys::Status::napi_ok {
    return None;
  }
  // SAFETY: the tag says `external::<T>` made it, and V8 keeps it alive during this call.
  Some(&*data.cast::<T>())
}

/// The External JavaScript passes for `conn` to the calls.
///
/// # Safety
/// `env` is the current call's.
pub unsafe fn conn_external(env: napi_env, conn: Arc<Conn>) -> napi_value {
  external(env, conn, &CONN_TAG)
}

/// Throws a TypeError and returns no value.
unsafe fn throw(env: napi_env, message: &str) -> napi_value {
  let mut text = Vec::with_capacity(message.len() + 1);
  text.extend_from_slice(message.as_bytes());
  text.push(0);
  sys::napi_throw_type_error(env, ptr::null(), text.as_ptr().cast());
  ptr::null_mut()
}

/// The call's two arguments, the first unwrapped as a connection.
unsafe fn args<'a>(env: napi_env, info: napi_callback_info) -> Option<(&'a Arc<Conn>, napi_value)> {
  let mut argc = 2;
  let mut argv = [ptr::null_mut(); 2];
  sys::napi_get_cb_info(
    env,
    info,
    &mut argc,
    argv.as_mut_ptr(),
    ptr::null_mut(),
    ptr::null_mut(),
  );
  Some((unwrap::<Arc<Conn>>(env, argv[0], &CONN_TAG)?, argv[1]))
}

unsafe fn status(env: napi_env, conn: &Arc<Conn>, status: SendStatus) -> napi_value {
  conn.host().cork(conn);
  let mut result = ptr::null_mut();
  sys::napi_create_uint32(env, status as u32, &mut result);
  result
}

/// Frames a JavaScript string as one text message, in place when the server does not fragment
/// it; None when `value` is not a string (or, which V8's immutable strings rule out, when it
/// reads back with another length).
unsafe fn frame_string(env: napi_env, conn: &Conn, value: napi_value) -> Option<Bytes> {
  let mut len = 0;
  if sys::napi_get_value_string_utf8(env, value, ptr::null_mut(), 0, &mut len)
    != sys::Status::napi_ok
  {
    return None;
  }
  let write = |into: *mut c_char| {
    let mut written = 0;
    let status = sys::napi_get_value_string_utf8(env, value, into, len + 1, &mut written);
    (status == sys::Status::napi_ok).then_some(written)
  };
  let fragment = conn.config().fragmentation_threshold;
  if fragment == 0 || len <= fragment {
    frame::encode_in_place(Kind::Text, len, |spare| write(spare.as_mut_ptr().cast()))
  } else {
    let mut text = vec![0u8; len + 1];
    let written = write(text.as_mut_ptr().cast())?;
    Some(conn.encode(Kind::Text, &text[..written]))
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

/// `(connection) => readyState`, as the WebSocket API numbers it; `ws` checks it on every send.
unsafe extern "C" fn ready_state(env: napi_env, info: napi_callback_info) -> napi_value {
  let Some((conn, _)) = args(env, info) else {
    return throw(env, "readyState: not a connection");
  };
  let mut result = ptr::null_mut();
  sys::napi_create_uint32(env, u32::from(conn.ready_state()), &mut result);
  result
}

unsafe extern "C" fn send_text(env: napi_env, info: napi_callback_info) -> napi_value {
  let Some((conn, data)) = args(env, info) else {
    return throw(env, "sendText: not a connection");
  };
  match frame_string(env, conn, data) {
    Some(frame) => status(env, conn, conn.push_frame(frame)),
    None => throw(env, "sendText: data must be a string"),
  }
}

unsafe fn send_bytes(env: napi_env, info: napi_callback_info, kind: Kind) -> napi_value {
  let Some((conn, data)) = args(env, info) else {
    return throw(env, "send: not a connection");
  };
  match bytes_of(env, data) {
    Some(bytes) => status(env, conn, conn.send(kind, bytes)),
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

/// `(connection, text) => frame`: a text message framed once for `sendEncoded`, with the
/// connection's server's options.
unsafe extern "C" fn encode_text(env: napi_env, info: napi_callback_info) -> napi_value {
  let Some((conn, data)) = args(env, info) else {
    return throw(env, "encodeText: not a connection");
  };
  let Some(frame) = frame_string(env, conn, data) else {
    return throw(env, "encodeText: data must be a string");
  };
  let external = external(env, frame, &FRAME_TAG);
  if external.is_null() {
    return throw(env, "encodeText: cannot create the frame's handle");
  }
  external
}

/// `(connection, frame) => status`: queues a reference to a frame's shared bytes, no copy.
unsafe extern "C" fn send_encoded(env: napi_env, info: napi_callback_info) -> napi_value {
  let Some((conn, data)) = args(env, info) else {
    return throw(env, "sendEncoded: not a connection");
  };
  match unwrap::<Bytes>(env, data, &FRAME_TAG) {
    Some(frame) => status(env, conn, conn.push_frame(frame.clone())),
    None => throw(env, "sendEncoded: not a frame from encodeText"),
  }
}
