//! Sets the addon's link options for Node (only with the `node` feature: the engine's own tests
//! link no N-API).
fn main() {
  if std::env::var_os("CARGO_FEATURE_NODE").is_some() {
    napi_build::setup();
  }
}
