//! Exposes PyO3's interpreter cfgs (such as `Py_GIL_DISABLED`) to this crate, so the
//! GIL-dependent code can refuse to build for a free-threaded interpreter.
fn main() {
    pyo3_build_config::use_pyo3_cfgs();
}
