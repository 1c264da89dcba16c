//! Native support for `ferrotype.util`: the loader-cache step of `find_library`.
//!
//! `ctypes.util.find_library` first runs `/sbin/ldconfig -p` and searches its
//! output; `ferrotype_core::ldcache` answers that step from `/etc/ld.so.cache`
//! directly. This module only converts between Python strings and the bytes
//! the core works on. Names and results go through the file-system encoding
//! (`os.fsencode` / `os.fsdecode`), exactly as ctypes' subprocess round trip
//! does, so even a name or soname that is not valid UTF-8 behaves the same.

use std::borrow::Cow;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

use pyo3::prelude::*;

/// `_ldcache_find(name)`: the soname ctypes' `ldconfig -p` step would find for
/// `name` (for example `"libc.so.6"` for `"c"`), or `None` when that step
/// finds nothing and the caller must fall back to the compiler-based search.
///
/// The cache is parsed on the first call and kept; later calls only scan the
/// few listing positions that start with `lib`. A non-`str` argument raises
/// `TypeError`, as ctypes eventually does.
#[pyfunction]
fn _ldcache_find(name: Cow<'_, OsStr>) -> Option<&'static OsStr> {
    ferrotype_core::ldcache::find_soname_bytes(name.as_bytes()).map(OsStr::from_bytes)
}

/// Adds the `find_library` support functions to the `_native` module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(_ldcache_find, m)?)?;
    Ok(())
}
