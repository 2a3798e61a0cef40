//! Handles JavaScript holds for engine values: type-tagged Externals, checked on every call.
//! A connection is one: no class instance per connection, which would cost a wrapper object, a
//! type tag and a reference (about 130 B of V8 heap; each live byte of an idle connection
//! measured about 2.3 bytes of RSS at 10,000 connections, V8's young generation included).

use std::ffi::c_void;
use std::ptr;
use std::sync::Arc;

use napi::sys::{self, napi_env, napi_value};

use crate::conn::deflate::Outgoing;
use crate::conn::Conn;
use crate::io::bridge::Bridge;

const CONN_TAG: sys::napi_type_tag = sys::napi_type_tag {
  lower: 0x6665_7272_6f77_7301,
  upper: 0x636f_6e6e_6563_7469,
};
const FRAME_TAG: sys::napi_type_tag = sys::napi_type_tag {
  lower: 0x6665_7272_6f77_7302,
  upper: 0x656e_636f_6465_6466,
};
const BRIDGE_TAG: sys::napi_type_tag = sys::napi_type_tag {
  lower: 0x6665_7272_6f77_7303,
  upper: 0x6272_6964_6765_6462,
};

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

/// The connection behind a handle the accept calls made.
///
/// # Safety
/// `env` is the current call's, `value` one of its arguments.
pub unsafe fn conn_of<'a>(env: napi_env, value: napi_value) -> Option<&'a Arc<Conn>> {
  unwrap(env, value, &CONN_TAG)
}

/// A shared message's handle (`encodeText`, `encodeBytes`); null if N-API refuses.
///
/// # Safety
/// `env` is the current call's.
pub unsafe fn message_handle(env: napi_env, message: Outgoing) -> napi_value {
  external(env, Arc::new(message), &FRAME_TAG)
}

/// The message behind a handle `message_handle` made.
///
/// # Safety
/// `env` is the current call's, `value` one of its arguments.
pub unsafe fn message_of<'a>(env: napi_env, value: napi_value) -> Option<&'a Arc<Outgoing>> {
  unwrap(env, value, &FRAME_TAG)
}

/// The bridge behind the `bridge` handle `acceptBridge` made.
///
/// # Safety
/// `env` is the current call's, `value` one of its arguments.
pub unsafe fn bridge_of<'a>(env: napi_env, value: napi_value) -> Option<&'a Arc<Bridge>> {
  unwrap(env, value, &BRIDGE_TAG)
}

/// What an accept call gives JavaScript: `{ connection, id, protocol, bridge }`, `connection`
/// the handle every call about it takes, `protocol` the subprotocol the intake chose (null when
/// JavaScript chose), `bridge` the handle of a bridged connection's feed (else null). Null if
/// N-API refuses.
///
/// # Safety
/// `env` is the current call's.
pub unsafe fn accepted(
  env: napi_env,
  conn: Arc<Conn>,
  protocol: Option<&str>,
  bridge: Option<Arc<Bridge>>,
) -> napi_value {
  let id = conn.id;
  let connection = external(env, conn, &CONN_TAG);
  let bridge = match bridge {
    Some(bridge) => external(env, bridge, &BRIDGE_TAG),
    None => null(env),
  };
  let protocol = match protocol {
    Some(protocol) => {
      let mut value = ptr::null_mut();
      sys::napi_create_string_utf8(
        env,
        protocol.as_ptr().cast(),
        protocol.len() as isize,
        &mut value,
      );
      value
    }
    None => null(env),
  };
  let mut number = ptr::null_mut();
  sys::napi_create_uint32(env, id, &mut number);
  let mut object = ptr::null_mut();
  if connection.is_null()
    || bridge.is_null()
    || protocol.is_null()
    || sys::napi_create_object(env, &mut object) != sys::Status::napi_ok
  {
    return ptr::null_mut();
  }
  for (name, value) in [
    (c"connection", connection),
    (c"id", number),
    (c"protocol", protocol),
    (c"bridge", bridge),
  ] {
    if sys::napi_set_named_property(env, object, name.as_ptr(), value) != sys::Status::napi_ok {
      return ptr::null_mut();
    }
  }
  object
}

unsafe fn null(env: napi_env) -> napi_value {
  let mut value = ptr::null_mut();
  sys::napi_get_null(env, &mut value);
  value
}
