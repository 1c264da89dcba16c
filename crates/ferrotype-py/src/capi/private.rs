//! CPython symbols outside the limited and stable API, each behind a per-version `cfg`
//! where the interpreters differ. Every one is exported by the CPython versions this
//! crate builds for; a missing one fails at link time, never at run time.

use std::ffi::{c_char, CStr};

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyString, PyType};

extern "C" {
    /// CPython's lookup of an attribute along a type's MRO, through the type attribute
    /// cache, without the descriptor protocol; a borrowed reference or NULL (no error).
    /// Exported by every CPython 3.
    fn _PyType_Lookup(tp: *mut ffi::PyTypeObject, name: *mut ffi::PyObject) -> *mut ffi::PyObject;
}

/// `name` as the attribute protocol finds it on the class `cls` (the first class of its
/// MRO whose dict has it), through CPython's type attribute cache: a few dozen
/// instructions instead of a dictionary walk. Descriptors are not invoked.
#[inline]
pub fn type_lookup<'py>(
    cls: &Bound<'py, PyType>,
    name: &Bound<'py, PyString>,
) -> Option<Bound<'py, PyAny>> {
    // SAFETY: `cls` is a live type object and `name` a str; the result is a borrowed
    // reference (or NULL, with no exception set), turned into an owned one at once.
    let hit = unsafe { _PyType_Lookup(cls.as_type_ptr(), name.as_ptr()) };
    if hit.is_null() {
        return None;
    }
    // SAFETY: a borrowed reference from the type's MRO dicts, still alive.
    Some(unsafe { Bound::from_borrowed_ptr(cls.py(), hit) })
}

#[cfg(not(Py_3_13))]
extern "C" {
    /// CPython's pointer to an object's instance dict (materialising a managed dict that
    /// only has inline values); exported by 3.11 and 3.12.
    fn _PyObject_GetDictPtr(obj: *mut ffi::PyObject) -> *mut *mut ffi::PyObject;
}

/// Whether `obj` is an instance of exactly `cls` that nobody but the caller can reach:
/// reference count 1 (the caller's), no weak reference, no instance attributes.
/// Always false where the instance-dict layout is not known (3.13 and later).
#[inline]
pub fn sole_plain_instance(obj: &Bound<'_, PyAny>, cls: &Bound<'_, PyType>) -> bool {
    if cfg!(Py_3_13) {
        return false;
    }
    let raw = obj.as_ptr();
    // SAFETY: `obj` is a live object whose type is checked first; the weak-reference
    // slot is at the type's `tp_weaklistoffset` (a live slot of every instance of a type
    // that has one), and `_PyObject_GetDictPtr` accepts any object.
    unsafe {
        if ffi::Py_REFCNT(raw) != 1 || ffi::Py_TYPE(raw) != cls.as_type_ptr() {
            return false;
        }
        let weak = (*cls.as_type_ptr()).tp_weaklistoffset;
        if weak != 0 && !(*raw.cast::<u8>().offset(weak).cast::<*mut ffi::PyObject>()).is_null() {
            return false;
        }
        #[cfg(not(Py_3_13))]
        {
            let dict = _PyObject_GetDictPtr(raw);
            if !dict.is_null() && !(*dict).is_null() && ffi::PyDict_Size(*dict) != 0 {
                return false;
            }
        }
    }
    true
}

#[cfg(not(Py_3_13))]
extern "C" {
    fn _PyErr_WriteUnraisableMsg(err_msg: *const c_char, obj: *mut ffi::PyObject);
}

#[cfg(Py_3_13)]
extern "C" {
    fn PyErr_FormatUnraisable(format: *const c_char, ...);
}

/// Reports `err` through `sys.unraisablehook` as "Exception ignored <what>", with `obj`
/// as the object, the way ctypes reports callback failures.
pub fn write_unraisable(py: Python<'_>, err: PyErr, what: &CStr, obj: &Bound<'_, PyAny>) {
    err.restore(py);
    #[cfg(not(Py_3_13))]
    // SAFETY: an exception is set (just restored); the message is a NUL-terminated
    // string and `obj` a valid object; the call clears the exception.
    unsafe {
        _PyErr_WriteUnraisableMsg(what.as_ptr(), obj.as_ptr())
    };
    #[cfg(Py_3_13)]
    // SAFETY: an exception is set; the format takes a C string and an object.
    unsafe {
        PyErr_FormatUnraisable(
            c"Exception ignored %s %R".as_ptr(),
            what.as_ptr(),
            obj.as_ptr(),
        )
    };
}

#[cfg(not(Py_3_13))]
extern "C" {
    /// Whether the runtime is finalizing; exported by 3.11 and 3.12 (public as
    /// `Py_IsFinalizing` from 3.13).
    fn _Py_IsFinalizing() -> std::ffi::c_int;
}

/// Whether the interpreter is finalizing (or already finalized): a thread that Python
/// did not create must not take the GIL then (CPython ends or hangs such a thread).
pub fn is_finalizing() -> bool {
    // SAFETY: both read the runtime's state and take no lock; always safe to call.
    unsafe {
        if ffi::Py_IsInitialized() == 0 {
            return true;
        }
        #[cfg(Py_3_13)]
        let finalizing = ffi::Py_IsFinalizing();
        #[cfg(not(Py_3_13))]
        let finalizing = _Py_IsFinalizing();
        finalizing != 0
    }
}
