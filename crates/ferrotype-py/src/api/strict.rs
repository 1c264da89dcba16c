//! `ferrotype.strict()` and `ferrotype.is_strict()`: strict mode from Python, over the
//! process-wide switch in `ferrotype_core::strict`.
//!
//! `strict(enabled=True)` applies the setting at once and returns a [`StrictMode`]
//! object; used as a context manager, it restores the setting it replaced when the block
//! exits (also on an exception). `FERROTYPE_STRICT=1` in the environment turns strict
//! mode on when the extension is imported ([`init_from_env`]).

use ferrotype_core::strict as flag;
use pyo3::prelude::*;

/// What `ferrotype.strict()` returns: the setting already applied, and the one it
/// replaced, restored by `__exit__`.
#[pyclass(module = "ferrotype", name = "StrictMode", frozen)]
pub struct StrictMode {
    enabled: bool,
    previous: bool,
}

#[pymethods]
impl StrictMode {
    /// The setting this object applied.
    #[getter]
    fn enabled(&self) -> bool {
        self.enabled
    }

    /// The setting it replaced (restored on `__exit__`).
    #[getter]
    fn previous(&self) -> bool {
        self.previous
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, _exc: &Bound<'_, pyo3::types::PyTuple>) -> bool {
        flag::set(self.previous);
        false
    }

    fn __bool__(&self) -> bool {
        self.enabled
    }

    fn __repr__(&self) -> String {
        let name = |b: bool| if b { "True" } else { "False" };
        format!(
            "ferrotype.strict({}) (was {})",
            name(self.enabled),
            name(self.previous)
        )
    }
}

/// `ferrotype.strict(enabled=True)`: turns strict mode on (or off) for the whole process
/// now; the returned object, used in a `with` statement, restores the previous setting
/// when the block exits.
#[pyfunction]
#[pyo3(name = "strict", signature = (enabled = true))]
pub fn strict_mode(enabled: bool) -> StrictMode {
    let previous = flag::set(enabled);
    StrictMode { enabled, previous }
}

/// `ferrotype.is_strict()`: whether strict mode is on.
#[pyfunction]
pub fn is_strict() -> bool {
    flag::enabled()
}

/// Turns strict mode on at import when `FERROTYPE_STRICT` is set to anything but an
/// empty string, `0`, `false`, `no` or `off` (any case).
pub fn init_from_env() {
    if let Some(v) = std::env::var_os("FERROTYPE_STRICT") {
        let v = v.to_string_lossy().trim().to_ascii_lowercase();
        if !matches!(v.as_str(), "" | "0" | "false" | "no" | "off") {
            flag::set(true);
        }
    }
}
