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

#[cfg(all(Py_3_12, not(Py_3_13)))]
extern "C" {
    /// CPython's pointer to an object's instance dict (materialising a managed dict that
    /// only has inline values); exported by 3.11 and 3.12.
    fn _PyObject_GetDictPtr(obj: *mut ffi::PyObject) -> *mut *mut ffi::PyObject;
}

/// `Py_TPFLAGS_INLINE_VALUES` (3.13+): the type's instances keep their attributes in
/// slots after the object until a dict is made for them.
#[cfg(Py_3_13)]
const TPFLAGS_INLINE_VALUES: std::ffi::c_ulong = 1 << 2;

/// Whether `raw` (an instance of `tp`) may have instance attributes: true when it has
/// a non-empty instance dict, or when that cannot be told cheaply (conservative: the
/// only cost of a wrong "true" is a new instance where one could have been reused).
///
/// # Safety
/// `raw` must be a live instance of exactly `tp`; the GIL must be held.
#[inline(always)]
unsafe fn has_instance_attributes(raw: *mut ffi::PyObject, tp: *mut ffi::PyTypeObject) -> bool {
    // SAFETY: the caller's guarantee: `tp` is the live type of the live object `raw`.
    let flags = unsafe { (*tp).tp_flags };
    if flags & ffi::Py_TPFLAGS_MANAGED_DICT == 0 {
        // No managed dict: one at `tp_dictoffset`, if any. The data classes always have
        // a managed dict; anything else is not judged.
        // SAFETY: as above.
        return unsafe { (*tp).tp_dictoffset } != 0;
    }
    #[cfg(not(Py_3_12))]
    {
        // 3.11's managed dict: the pointer to the inline values at word -4 before the
        // object, the dict's at word -3 (the pre-header CPython allocates for types with
        // `Py_TPFLAGS_MANAGED_DICT`). Attributes live in one of the two; inline values
        // are not looked into (they are made only by `object.__new__`, which the data
        // classes do not use).
        let pre = raw.cast::<*mut ffi::PyObject>();
        // SAFETY: a managed-dict type's instances have those two words before them; the
        // dict, when present, is a live dict.
        unsafe {
            let values = *pre.offset(-4);
            let dict = *pre.offset(-3);
            !values.is_null() || (!dict.is_null() && ffi::PyDict_Size(dict) != 0)
        }
    }
    #[cfg(all(Py_3_12, not(Py_3_13)))]
    {
        // SAFETY: `_PyObject_GetDictPtr` accepts any live object; the dict it points to,
        // when present, is a live dict.
        unsafe {
            let dict = _PyObject_GetDictPtr(raw);
            !dict.is_null() && !(*dict).is_null() && ffi::PyDict_Size(*dict) != 0
        }
    }
    #[cfg(Py_3_13)]
    {
        // 3.13+: the managed dict's pointer at word -3 before the object (the words
        // CPython allocates before instances of `Py_TPFLAGS_MANAGED_DICT` types). A dict,
        // once made, holds every attribute (it may share the inline values below, whose
        // changes it counts). Without one, a type with `Py_TPFLAGS_INLINE_VALUES` keeps
        // them in the values that follow the object at `tp_basicsize`: a header of four
        // bytes (capacity, size: the number of attributes set, embedded, valid) and
        // the slots; when they are not valid, nothing is judged.
        // SAFETY: a managed-dict type's instances have that word before them; the dict,
        // when present, is a live dict; an inline-values type's instances have the
        // header right after their `tp_basicsize` bytes.
        unsafe {
            let dict = *raw.cast::<*mut ffi::PyObject>().offset(-3);
            if !dict.is_null() {
                return ffi::PyDict_Size(dict) != 0;
            }
            if flags & TPFLAGS_INLINE_VALUES == 0 {
                return false;
            }
            let header = raw.cast::<u8>().offset((*tp).tp_basicsize);
            let (size, valid) = (*header.add(1), *header.add(3));
            valid == 0 || size != 0
        }
    }
}

/// Whether `obj` is an instance of exactly `cls` that nobody but the caller can reach:
/// reference count 1 (the caller's), no weak reference, no instance attributes.
#[inline]
pub fn sole_plain_instance(obj: &Bound<'_, PyAny>, cls: &Bound<'_, PyType>) -> bool {
    let raw = obj.as_ptr();
    let tp = cls.as_type_ptr();
    // SAFETY: `obj` is a live object whose type is checked first; the weak-reference
    // slot is at the type's `tp_weaklistoffset` (a live slot of every instance of a type
    // that has one; negative for a managed one, in the words before the object).
    unsafe {
        if ffi::Py_REFCNT(raw) != 1 || ffi::Py_TYPE(raw) != tp {
            return false;
        }
        let weak = (*tp).tp_weaklistoffset;
        if weak != 0 && !(*raw.cast::<u8>().offset(weak).cast::<*mut ffi::PyObject>()).is_null() {
            return false;
        }
        !has_instance_attributes(raw, tp)
    }
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
