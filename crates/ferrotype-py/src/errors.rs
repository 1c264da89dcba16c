//! Errors: the core's [`Error`] becomes the exception ctypes would raise, here and
//! nowhere else; and the `ArgumentError` exception with ctypes' message shape.

use ferrotype_core::Error;
use pyo3::exceptions::{
    PyAttributeError, PyOSError, PyOverflowError, PyRuntimeError, PyTypeError, PyValueError,
};
use pyo3::prelude::*;

pyo3::create_exception!(
    ferrotype,
    ArgumentError,
    pyo3::exceptions::PyException,
    "Raised when a foreign function call cannot convert one of the passed arguments."
);

/// The exception ctypes raises for a core error.
pub fn to_py(err: Error) -> PyErr {
    match &err {
        Error::LibraryLoad { .. } | Error::LibraryClose { .. } => {
            PyOSError::new_err(err.to_string())
        }
        Error::SymbolNotFound { .. } => PyAttributeError::new_err(err.to_string()),
        Error::IntegerOverflow { .. } => PyOverflowError::new_err(err.to_string()),
        Error::TooManyArguments { given, max } => {
            ArgumentError::new_err(format!("too many arguments ({given}), maximum is {max}"))
        }
        Error::UnknownTypeCode { .. } => PyValueError::new_err(err.to_string()),
        Error::PrepCif { .. } => PyRuntimeError::new_err(err.to_string()),
        Error::Unsupported { .. } | Error::NotCallable { .. } => {
            PyTypeError::new_err(err.to_string())
        }
        _ => PyRuntimeError::new_err(err.to_string()),
    }
}

/// `result.py()?` converts a core result at a call site.
pub trait CoreResultExt<T> {
    /// Converts the error with [`to_py`].
    fn py(self) -> PyResult<T>;
}

impl<T> CoreResultExt<T> for Result<T, Error> {
    #[inline]
    fn py(self) -> PyResult<T> {
        self.map_err(to_py)
    }
}

/// ctypes' `ArgumentError("argument N: <ExcType>: <message>")` from the error raised
/// while converting argument `index` (0-based).
pub fn argument_error(py: Python<'_>, index: usize, err: PyErr) -> PyErr {
    let ty = err.get_type(py);
    let name = ty
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "Exception".into());
    let msg = err
        .value(py)
        .str()
        .map(|s| s.to_string())
        .unwrap_or_default();
    let new = ArgumentError::new_err(format!("argument {}: {}: {}", index + 1, name, msg));
    new.set_cause(py, Some(err));
    new
}

/// Runs the body of a raw type slot (vectorcall, descriptor get, subscript), entered
/// without PyO3's trampolines: a Rust error becomes the raised exception and NULL, and a
/// panic becomes `PanicException(panic_message)` instead of unwinding into the
/// interpreter.
pub fn run_slot(
    py: Python<'_>,
    panic_message: &'static str,
    body: impl FnOnce() -> PyResult<Py<PyAny>>,
) -> *mut pyo3::ffi::PyObject {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)) {
        Ok(Ok(v)) => v.into_ptr(),
        Ok(Err(e)) => {
            e.restore(py);
            std::ptr::null_mut()
        }
        Err(_) => {
            pyo3::panic::PanicException::new_err(panic_message).restore(py);
            std::ptr::null_mut()
        }
    }
}
