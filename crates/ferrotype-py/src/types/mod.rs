//! One module per Python class: each owns its type-initialisation function (called by
//! the metaclasses in `python/ferrotype/_ctypes.py`), its methods and its slot bodies.
//! Imports `codec`, `model`, `capi` and the core.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

pub mod array;
pub mod funcptr;
pub mod ndpointer;
pub mod pointer;
pub mod simple;
pub mod structure;
pub mod thunk;

/// Refuses keyword arguments as the `__init__` of the native class `class` does.
pub fn no_keywords(class: &str, kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<()> {
    match kwargs.and_then(|k| k.keys().iter().next()) {
        Some(key) => Err(PyTypeError::new_err(format!(
            "{class}.__init__() got an unexpected keyword argument {}",
            key.repr()?
        ))),
        None => Ok(()),
    }
}
