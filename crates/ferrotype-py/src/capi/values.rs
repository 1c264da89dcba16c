//! Python values read and made through CPython's C API where PyO3's safe API costs
//! more than the operation: exact ints and floats, type checks without
//! `__instancecheck__`, objects at raw addresses, wide strings, the recursion guard and
//! vectorcall with the argument-offset flag.

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyFloat, PyInt};

/// The value of `obj` if it is an exact `int` within `i64`; `None` for anything else
/// (subclasses, other types, larger ints), which the caller converts the general way.
#[inline]
pub fn exact_i64(obj: &Bound<'_, PyAny>) -> Option<i64> {
    if !obj.is_exact_instance_of::<PyInt>() {
        return None;
    }
    let mut overflow: std::ffi::c_int = 0;
    // SAFETY: `obj` is an exact int, for which the call cannot fail; it reports values
    // beyond 64 bits through `overflow`.
    let v = unsafe { ffi::PyLong_AsLongLongAndOverflow(obj.as_ptr(), &mut overflow) };
    (overflow == 0).then_some(v)
}

/// The value of `obj` if it is an exact `float`.
#[inline]
pub fn exact_f64(obj: &Bound<'_, PyAny>) -> Option<f64> {
    if !obj.is_exact_instance_of::<PyFloat>() {
        return None;
    }
    // SAFETY: `obj` is an exact float.
    Some(unsafe { ffi::PyFloat_AS_DOUBLE(obj.as_ptr()) })
}

/// Whether `obj`'s type is `cls` or a subclass of it, without `__instancecheck__`
/// (ferrotype's metaclasses define none, so this is `isinstance` for its types at a
/// fraction of the cost).
#[inline]
pub fn is_instance_of_type(obj: &Bound<'_, PyAny>, cls: &Bound<'_, PyAny>) -> bool {
    // SAFETY: both pointers are live objects; `cls` is only compared, or read as a type
    // after the check that it is one.
    unsafe {
        let tp = ffi::Py_TYPE(obj.as_ptr());
        if tp.cast::<ffi::PyObject>() == cls.as_ptr() {
            return true;
        }
        ffi::PyType_Check(cls.as_ptr()) != 0 && ffi::PyType_IsSubtype(tp, cls.as_ptr().cast()) != 0
    }
}

/// Runs `f` one level deeper in the interpreter's recursion count, so that a chain
/// that never ends (an `_as_parameter_` returning itself) raises `RecursionError`
/// instead of exhausting the stack.
pub fn nested<T>(py: Python<'_>, f: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    // SAFETY: the GIL is held (token); the call only bumps the thread's recursion
    // depth and sets RecursionError when the limit is reached.
    if unsafe { ffi::Py_EnterRecursiveCall(c" while converting _as_parameter_".as_ptr()) } != 0 {
        return Err(PyErr::fetch(py));
    }
    let r = f();
    // SAFETY: pairs with the successful Py_EnterRecursiveCall above.
    unsafe { ffi::Py_LeaveRecursiveCall() };
    r
}

/// The object whose address is `addr`, as a new reference (a `py_object` value read
/// from memory).
///
/// # Safety
/// `addr` must be the address of a live Python object.
pub unsafe fn object_at(py: Python<'_>, addr: usize) -> Bound<'_, PyAny> {
    // SAFETY: the caller guarantees a live object; a new reference is taken.
    unsafe { Bound::from_borrowed_ptr(py, addr as *mut ffi::PyObject) }
}

/// Takes over the reference at `addr` (a `py_object` function result, which is a new
/// reference); NULL gives the pending exception, or `None` if there is none.
///
/// # Safety
/// `addr` must be 0 or the address of a live object whose reference the caller owns
/// and hands over.
pub unsafe fn take_object_at(py: Python<'_>, addr: usize) -> Option<PyResult<Bound<'_, PyAny>>> {
    if addr == 0 {
        return PyErr::take(py).map(Err);
    }
    // SAFETY: the caller hands over an owned reference to a live object.
    Some(Ok(unsafe {
        Bound::from_owned_ptr(py, addr as *mut ffi::PyObject)
    }))
}

/// A Python str from `len` `wchar_t` units at `ptr`.
///
/// # Safety
/// `ptr` must be valid for reads of `len` wide characters.
pub unsafe fn str_from_wide(
    py: Python<'_>,
    ptr: *const libc::wchar_t,
    len: usize,
) -> PyResult<Py<PyAny>> {
    // SAFETY: the caller guarantees `len` readable units; the API copies them.
    let raw = unsafe { ffi::PyUnicode_FromWideChar(ptr.cast(), len as ffi::Py_ssize_t) };
    // SAFETY: a new reference or NULL with an exception set.
    unsafe { Bound::from_owned_ptr_or_err(py, raw) }.map(Bound::unbind)
}

/// `callable(*args)` through vectorcall with the argument-offset flag: `slots[0]` must
/// be `None` (scratch space the callee may use), the arguments are `slots[1..]`.
pub fn vectorcall_with_offset<'py>(
    callable: &Bound<'py, PyAny>,
    slots: &mut [Option<Bound<'py, PyAny>>],
) -> PyResult<Bound<'py, PyAny>> {
    let n = slots.len().saturating_sub(1);
    if slots.first().is_none_or(Option::is_some) || slots[1..].iter().any(Option::is_none) {
        return Err(pyo3::exceptions::PySystemError::new_err(
            "ferrotype: malformed vectorcall arguments",
        ));
    }
    // SAFETY: `Option<Bound>` has the layout of a nullable `*mut PyObject`; slots 1..=n
    // hold live references (checked above) borrowed for the call, and slot 0 is scratch
    // space the callee may write and must restore (PY_VECTORCALL_ARGUMENTS_OFFSET).
    let raw = unsafe {
        ffi::PyObject_Vectorcall(
            callable.as_ptr(),
            slots.as_ptr().add(1).cast(),
            n | ffi::PY_VECTORCALL_ARGUMENTS_OFFSET,
            std::ptr::null_mut(),
        )
    };
    // SAFETY: a new reference, or NULL with an exception set.
    unsafe { Bound::from_owned_ptr_or_err(callable.py(), raw) }
}
