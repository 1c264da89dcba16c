//! Errors: the core's [`Error`] becomes the exception ctypes would raise, here and
//! nowhere else (an exhaustive match, so a new core error forces a decision); the
//! `ArgumentError` exception with ctypes' message shape; and the one builder of each
//! message that several modules raise.

use crate::capi::version;
use ferrotype_core::Error;
use pyo3::exceptions::{
    PyAttributeError, PyMemoryError, PyOSError, PyOverflowError, PyRuntimeError, PyTypeError,
    PyValueError,
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
    let msg = err.to_string();
    match err {
        Error::LibraryLoad { .. } | Error::LibraryClose { .. } => PyOSError::new_err(msg),
        Error::SymbolNotFound { .. } => PyAttributeError::new_err(msg),
        Error::IntegerOverflow { .. } | Error::LayoutTooLarge => PyOverflowError::new_err(msg),
        Error::TooManyArguments { given, max } => too_many_arguments(given, max, false),
        // ctypes names the field from 3.14 on.
        Error::BitfieldWidth { .. } if !version::BITFIELD_ERROR_NAMES_FIELD => {
            PyValueError::new_err("number of bits invalid for bit field")
        }
        Error::UnknownTypeCode { .. }
        | Error::BitfieldWidth { .. }
        | Error::UnknownLayout { .. }
        | Error::NegativePack { .. }
        | Error::PackTooBig { .. }
        | Error::PackWithGccLayout
        | Error::NegativeAlign { .. } => PyValueError::new_err(msg),
        // ctypes: "ffi_prep_cif failed" is a RuntimeError.
        Error::PrepCif { .. } => PyRuntimeError::new_err(msg),
        Error::Unsupported { .. } | Error::NotCallable { .. } => PyTypeError::new_err(msg),
        Error::OutOfMemory { .. } => PyMemoryError::new_err(msg),
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

/// ctypes' `ArgumentError` for a call with more than `max` arguments (`argtypes`: for
/// an `_argtypes_` sequence that long).
pub fn too_many_arguments(given: usize, max: usize, argtypes: bool) -> PyErr {
    ArgumentError::new_err(if argtypes {
        format!("_argtypes_ has too many arguments ({given}), maximum is {max}")
    } else {
        format!("too many arguments ({given}), maximum is {max}")
    })
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

/// The error for passing by value a structure or union that libffi cannot describe (a
/// packed or over-aligned layout, a union with a `long double` member, no members).
pub fn by_value_error() -> PyErr {
    PyTypeError::new_err(
        "ferrotype: this structure or union cannot be passed by value: libffi cannot \
         describe its layout (packed, over-aligned, or a union with a long double member)",
    )
}

/// The name of `obj`'s type, for error messages.
pub fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_default()
}

/// The fully qualified name of `obj`'s type (`module.qualname`, without `builtins.` or
/// `__main__.`), as CPython's `%T` prints it.
pub fn qualified_type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .fully_qualified_name()
        .map(|n| n.to_string())
        .unwrap_or_default()
}

/// Issues a DeprecationWarning as ctypes does from C: attributed to the Python code that
/// called into ferrotype (the class statement, say), not to ferrotype's own Python layer.
pub fn warn_from_caller(py: Python<'_>, message: &str) -> PyResult<()> {
    let sys = py.import("sys")?;
    let package = py.import("ferrotype")?.getattr("__path__")?.get_item(0)?;
    let package: String = package.extract()?;
    // One frame per level; the first frame outside the package is the caller's.
    let mut level = 1usize;
    let mut frame = sys.call_method1("_getframe", (0,))?;
    while !frame.is_none() {
        let file: String = frame.getattr("f_code")?.getattr("co_filename")?.extract()?;
        if !file.starts_with(&package) {
            break;
        }
        level += 1;
        frame = frame.getattr("f_back")?;
    }
    py.import("warnings")?.call_method1(
        "warn",
        (
            message,
            py.get_type::<pyo3::exceptions::PyDeprecationWarning>(),
            level,
        ),
    )?;
    Ok(())
}

// ---- strict mode's provenance checks (`codec::provenance`) ---------------------------------

/// Strict mode: a pointer index or slice leaves the object the pointer points into.
pub fn pointer_index_out_of_range() -> PyErr {
    pyo3::exceptions::PyIndexError::new_err(
        "pointer index out of range of the object it points into",
    )
}

/// Strict mode: `.contents` would read past the object the pointer points into.
pub fn contents_out_of_range(need: usize) -> PyErr {
    PyValueError::new_err(format!(
        "pointer contents ({need} bytes) out of range of the object it points into"
    ))
}

/// Strict mode: `string_at`/`wstring_at`/`memmove`/`memset` would leave the object
/// their address points into (`have` bytes from the address to its end).
pub fn raw_range_error(func: &str, need: usize, have: usize) -> PyErr {
    PyValueError::new_err(format!(
        "{func}: {need} bytes from the address run past the object it points into \
         ({have} bytes left)"
    ))
}

/// Strict mode: `string_at`/`wstring_at` without a size found no terminator inside
/// the object.
pub fn raw_unterminated(func: &str, have: usize) -> PyErr {
    PyValueError::new_err(format!(
        "{func}: no NUL terminator in the {have} bytes left of the object it points into"
    ))
}

/// Strict mode: a pointer or `py_object` read from memory written as another type.
pub fn provenance_type_error(what: &str, owner: &str, offset: usize) -> PyErr {
    PyTypeError::new_err(format!(
        "cannot read {what} from memory written as {owner} (at byte {offset} of it)"
    ))
}
