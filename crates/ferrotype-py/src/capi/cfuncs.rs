//! The C functions whose addresses `_ctypes` publishes as integers (`_memmove_addr`,
//! `_memset_addr`, `_string_at_addr`, `_wstring_at_addr`, `_cast_addr`, and from 3.14
//! `_memoryview_at_addr`).
//!
//! ctypes' own `__init__` wraps these addresses in function pointer types
//! (`CFUNCTYPE(c_void_p, c_void_p, c_void_p, c_size_t)(_memmove_addr)`,
//! `PYFUNCTYPE(py_object, c_void_p, c_int)(_string_at_addr)`, ...), and programs copied
//! from it do the same, so each address must be a real C function with ctypes'
//! signature: `memmove` and `memset` are the C library's; the others are defined here,
//! return a new reference (or NULL with an exception set), and take the GIL themselves
//! as callbacks do (a `PYFUNCTYPE` call holds it already; a `CFUNCTYPE` one gave it up).
//!
//! `cast` needs the type machinery of the layers above, which this layer cannot name:
//! `lib.rs` hands its body in with [`set_cast`].

use std::ffi::{c_char, c_int, c_void};
use std::sync::OnceLock;

use pyo3::exceptions::{PyOverflowError, PySystemError, PyValueError};
use pyo3::ffi;
use pyo3::prelude::*;

use super::gil::attach_callback;
use super::values::{new_bytes, str_from_wide};

/// The body of `_cast_addr`'s function: `(address, source object, pointer type)` to
/// an instance of the type holding `address`, keeping the source alive.
pub type CastBody =
    for<'py> fn(usize, &Bound<'py, PyAny>, &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>>;

static CAST: OnceLock<CastBody> = OnceLock::new();

/// Installs the body of the function at `_cast_addr` (once, at module init).
pub fn set_cast(body: CastBody) {
    // A second module init would install the same function: keeping the first is fine.
    let _ = CAST.set(body);
}

/// `(name, address)` of each published C function.
pub fn addresses() -> Vec<(&'static str, usize)> {
    let mut all = vec![
        ("_memmove_addr", libc::memmove as *const () as usize),
        ("_memset_addr", libc::memset as *const () as usize),
        ("_string_at_addr", string_at as *const () as usize),
        ("_wstring_at_addr", wstring_at as *const () as usize),
        ("_cast_addr", cast as *const () as usize),
    ];
    if super::version::HAS_MEMORYVIEW_AT {
        all.push(("_memoryview_at_addr", memoryview_at as *const () as usize));
    }
    all
}

/// Runs `body` attached to the interpreter and returns its object as a new reference,
/// or NULL with the error (or a panic, as `SystemError`) set. It attaches as callbacks
/// do ([`attach_callback`]): called through `PYFUNCTYPE` the thread holds the GIL; called
/// through `CFUNCTYPE` it gave the GIL up around the call and takes it back here.
fn returning_object(body: impl FnOnce(Python<'_>) -> PyResult<Py<PyAny>>) -> *mut ffi::PyObject {
    attach_callback(|py| {
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| body(py)))
            .unwrap_or_else(|_| Err(PySystemError::new_err("ferrotype: panic in a C helper")));
        match result {
            Ok(obj) => obj.into_ptr(),
            Err(e) => {
                e.restore(py);
                std::ptr::null_mut()
            }
        }
    })
    // Not attached (the interpreter is finalizing): no object, and no way to say why.
    .unwrap_or(std::ptr::null_mut())
}

/// A size below -1 (ctypes passes it on to the C API, whose `SystemError` says an
/// interpreter bug; ferrotype's is an `OverflowError`, as for the Python functions).
fn negative_size(api: &str, size: c_int) -> PyErr {
    PyOverflowError::new_err(format!("{api}: size is negative (or overflowed): {size}"))
}

fn null_check(ptr: *const c_void) -> PyResult<()> {
    // ctypes reads NULL as it would any address (a crash, or for a size, bytes of
    // undefined content); ferrotype's functions refuse it, as its `string_at` does.
    if ptr.is_null() {
        return Err(PyValueError::new_err("NULL pointer access"));
    }
    Ok(())
}

/// ctypes' `string_at(ptr, size)` in C: the bytes at `ptr`, up to the NUL when `size`
/// is -1.
extern "C" fn string_at(ptr: *const c_char, size: c_int) -> *mut ffi::PyObject {
    returning_object(|py| {
        null_check(ptr.cast())?;
        let p = ptr.cast::<u8>();
        let len = match usize::try_from(size) {
            Ok(n) => n,
            // SAFETY: unchecked beyond NULL, as in ctypes: the caller vouches that a
            // NUL-terminated string is at `ptr`.
            Err(_) if size == -1 => unsafe { ferrotype_core::memory::strlen(p) },
            Err(_) => return Err(negative_size("string_at", size)),
        };
        // SAFETY: as above, `len` bytes are readable at `ptr`.
        let bytes = unsafe { ferrotype_core::memory::bytes(p, len) };
        Ok(new_bytes(py, bytes)?.into_any().unbind())
    })
}

/// ctypes' `wstring_at(ptr, size)` in C: the wide string at `ptr`.
extern "C" fn wstring_at(ptr: *const libc::wchar_t, size: c_int) -> *mut ffi::PyObject {
    returning_object(|py| {
        null_check(ptr.cast())?;
        let len = match usize::try_from(size) {
            Ok(n) => n,
            // SAFETY: unchecked beyond NULL, as in ctypes: a NUL-terminated wide string
            // is at `ptr`.
            Err(_) if size == -1 => unsafe { ferrotype_core::memory::wcslen(ptr) },
            Err(_) => return Err(negative_size("wstring_at", size)),
        };
        // SAFETY: as above, `len` wide characters are readable at `ptr`.
        unsafe { str_from_wide(py, ptr, len) }
    })
}

/// ctypes' `memoryview_at(ptr, size, readonly)` in C (3.14): a view of `size` bytes at
/// `ptr`, read-only when `readonly` is not 0.
extern "C" fn memoryview_at(ptr: *mut c_void, size: isize, readonly: c_int) -> *mut ffi::PyObject {
    returning_object(|py| {
        if size < 0 {
            return Err(PyValueError::new_err(format!(
                "memoryview_at: size is negative (or overflowed): {size}"
            )));
        }
        // SAFETY: a raw-memory view, unchecked as in ctypes: the caller vouches for the
        // `size` bytes at `ptr` for as long as the view lives.
        let view = unsafe { super::buffer::memoryview_at(py, ptr.cast(), size, readonly != 0) }?;
        Ok(view.unbind())
    })
}

/// ctypes' `cast(ptr, src, ctype)` in C: the body installed by [`set_cast`].
extern "C" fn cast(
    ptr: *mut c_void,
    src: *mut ffi::PyObject,
    ctype: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    returning_object(|py| {
        let body = CAST
            .get()
            .ok_or_else(|| PySystemError::new_err("ferrotype: cast helper not installed"))?;
        if src.is_null() || ctype.is_null() {
            return Err(PySystemError::new_err("cast() called with a NULL object"));
        }
        // SAFETY: called through a function pointer type whose arguments 2 and 3 are
        // `py_object`, so both are live objects the caller holds for the call.
        let (src, ctype) = unsafe {
            (
                Bound::from_borrowed_ptr(py, src),
                Bound::from_borrowed_ptr(py, ctype),
            )
        };
        body(ptr as usize, &src, &ctype).map(Bound::unbind)
    })
}
