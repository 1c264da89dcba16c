//! NumPy arrays read without linking against NumPy, for `ferrotype.ctypeslib`.
//!
//! An ndarray is read through the head of NumPy's public C struct
//! `PyArrayObject_fields` (`data`, `nd`, `dimensions`, `strides`, `base`, `descr`,
//! `flags`, in that order after `PyObject_HEAD`), which NumPy has kept unchanged from
//! 1.7 through 2.x because compiled extensions read it through the `PyArray_*` macros.
//! The head is only read from objects that pass `PyObject_TypeCheck` against the
//! `numpy.ndarray` type object handed over by `ctypeslib` (a subclass instance starts
//! with the same struct), and only while the GIL is held, so the array cannot be freed
//! or reshaped during the read. `tests/test_boundary.py` checks every fact read here
//! against NumPy's own attributes.

use std::ffi::{c_char, c_int};

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyType;
use pyo3::Borrowed;

/// NumPy's `NPY_ARRAY_C_CONTIGUOUS`.
pub const C_CONTIGUOUS: c_int = 0x0001;
/// NumPy's `NPY_ARRAY_WRITEABLE`.
pub const WRITEABLE: c_int = 0x0400;

/// The head of NumPy's `PyArrayObject_fields`.
#[repr(C)]
struct ArrayHead {
    ob_base: ffi::PyObject,
    data: *mut c_char,
    nd: c_int,
    dimensions: *const isize,
    strides: *const isize,
    base: *mut ffi::PyObject,
    descr: *mut ffi::PyObject,
    flags: c_int,
}

/// What ferrotype needs to know about one ndarray, borrowed from it.
pub struct ArrayFacts<'a, 'py> {
    /// The address of the first element.
    pub data: *mut u8,
    /// The dimensions.
    pub shape: &'a [isize],
    /// The data type (`arr.dtype`), borrowed from the array.
    pub descr: Borrowed<'a, 'py, PyAny>,
    /// NumPy's flags (see [`C_CONTIGUOUS`], [`WRITEABLE`]).
    pub flags: c_int,
}

/// The facts of `obj` if it is an instance of `ndarray` (the `numpy.ndarray` type).
pub fn array_facts<'a, 'py>(
    obj: &'a Bound<'py, PyAny>,
    ndarray: &Bound<'py, PyType>,
) -> Option<ArrayFacts<'a, 'py>> {
    // SAFETY: both pointers are valid Python objects; PyObject_TypeCheck only reads
    // their types.
    if unsafe { ffi::PyObject_TypeCheck(obj.as_ptr(), ndarray.as_type_ptr()) } == 0 {
        return None;
    }
    let head = obj.as_ptr().cast::<ArrayHead>();
    // The dimensions array holds `nd` entries and lives as long as the array, which
    // `obj` keeps alive for 'a; so does the descriptor, a reference the array owns.
    // SAFETY: `obj` is an ndarray (checked above), so its memory starts with NumPy's
    // PyArrayObject_fields, whose head `ArrayHead` mirrors (module comment).
    unsafe {
        let nd = (*head).nd.max(0) as usize;
        let shape = if nd == 0 || (*head).dimensions.is_null() {
            &[][..]
        } else {
            std::slice::from_raw_parts((*head).dimensions, nd)
        };
        Some(ArrayFacts {
            data: (*head).data.cast(),
            shape,
            descr: Borrowed::from_ptr(obj.py(), (*head).descr),
            flags: (*head).flags,
        })
    }
}
