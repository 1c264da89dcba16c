//! NumPy arrays seen from Rust, for `ferrotype.ctypeslib`: `ndpointer` argument checks
//! and the facts `as_ctypes` needs, without linking against NumPy.
//!
//! Soundness: an ndarray is read through the head of NumPy's public C struct
//! `PyArrayObject_fields` (`data`, `nd`, `dimensions`, `strides`, `base`, `descr`,
//! `flags`, in that order after `PyObject_HEAD`), which NumPy has kept unchanged from
//! 1.7 through 2.x because compiled extensions read it through the `PyArray_*` macros.
//! The head is only read from objects that pass `PyObject_TypeCheck` against the
//! `numpy.ndarray` type object handed over by `ctypeslib` (a subclass instance starts
//! with the same struct), and only while the GIL is held, so the array cannot be freed
//! or reshaped during the read.

use std::ffi::{c_char, c_int};

use ferrotype_core::{ArgSlot, FfiType, TypeCode};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyTuple, PyType};
use pyo3::{ffi, intern};

use crate::convert::{CArg, Param};

/// NumPy's `NPY_ARRAY_C_CONTIGUOUS`.
const C_CONTIGUOUS: c_int = 0x0001;
/// NumPy's `NPY_ARRAY_WRITEABLE`.
const WRITEABLE: c_int = 0x0400;

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

/// What a check needs to know about one ndarray.
struct Array<'a> {
    data: *mut u8,
    shape: &'a [isize],
    descr: *mut ffi::PyObject,
    flags: c_int,
}

/// The facts of `obj` if it is an instance of `ndarray` (the `numpy.ndarray` type).
fn array_of<'a>(obj: &'a Bound<'_, PyAny>, ndarray: &Bound<'_, PyType>) -> Option<Array<'a>> {
    // SAFETY: both pointers are valid Python objects; PyObject_TypeCheck only reads
    // their types.
    if unsafe { ffi::PyObject_TypeCheck(obj.as_ptr(), ndarray.as_type_ptr()) } == 0 {
        return None;
    }
    let head = obj.as_ptr().cast::<ArrayHead>();
    // The dimensions array holds `nd` entries and lives as long as the array, which
    // `obj` keeps alive for 'a.
    // SAFETY: `obj` is an ndarray (checked above), so its memory starts with NumPy's
    // PyArrayObject_fields, whose head `ArrayHead` mirrors (module comment).
    unsafe {
        let nd = (*head).nd.max(0) as usize;
        let shape = if nd == 0 || (*head).dimensions.is_null() {
            &[][..]
        } else {
            std::slice::from_raw_parts((*head).dimensions, nd)
        };
        Some(Array {
            data: (*head).data.cast(),
            shape,
            descr: (*head).descr,
            flags: (*head).flags,
        })
    }
}

/// The requirements of an `ndpointer` class, checked in Rust on every argument.
#[pyclass(frozen, module = "ferrotype._native", name = "NdSpec")]
pub struct NdSpec {
    ndarray: Py<PyType>,
    asarray: Py<PyAny>,
    dtype: Option<Py<PyAny>>,
    ndim: Option<usize>,
    shape: Option<Vec<isize>>,
    flags: Option<c_int>,
    nullable: bool,
    /// NumPy's messages, formatted once: data type, shape and flags.
    messages: [String; 3],
}

#[pymethods]
impl NdSpec {
    /// `ndarray`/`asarray`: NumPy's type and function; the messages name the
    /// requirements as NumPy's `ndpointer` words them.
    #[new]
    #[pyo3(signature = (ndarray, asarray, dtype, ndim, shape, flags, nullable, dtype_text, shape_text, flags_text))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        ndarray: Py<PyType>,
        asarray: Py<PyAny>,
        dtype: Option<Py<PyAny>>,
        ndim: Option<usize>,
        shape: Option<Vec<isize>>,
        flags: Option<c_int>,
        nullable: bool,
        dtype_text: String,
        shape_text: String,
        flags_text: String,
    ) -> NdSpec {
        NdSpec {
            ndarray,
            asarray,
            dtype,
            ndim,
            shape,
            flags,
            nullable,
            messages: [
                format!("array must have data type {dtype_text}"),
                format!("array must have shape {shape_text}"),
                format!("array must have flags {flags_text}"),
            ],
        }
    }

    /// `from_param`: a pointer argument to the array's data, keeping `obj` alive.
    #[pyo3(name = "from_param")]
    fn to_param(&self, obj: &Bound<'_, PyAny>) -> PyResult<CArg> {
        let p = self.param(obj)?;
        Ok(CArg {
            tag: 'P',
            ffi: p.ffi,
            slot: p.slot,
            keep: Some(p.keep.unwrap_or_else(|| obj.clone().unbind())),
            obj: Some(obj.clone().unbind()),
        })
    }
}

impl NdSpec {
    /// Checks `obj` against the requirements and returns the pointer argument.
    pub fn param(&self, obj: &Bound<'_, PyAny>) -> PyResult<Param> {
        let py = obj.py();
        let ndarray = self.ndarray.bind(py);
        if let Some(a) = array_of(obj, ndarray) {
            return Ok(pointer(self.check(py, &a)?, None));
        }
        if obj.is_none() && self.nullable {
            return Ok(pointer(std::ptr::null_mut(), None));
        }
        // Beyond NumPy: objects exposing `__array_interface__` or a buffer are viewed
        // (never copied) as an array, and must be C-contiguous.
        // SAFETY: obj is a valid object; PyObject_CheckBuffer only reads its type.
        let has_buffer = unsafe { ffi::PyObject_CheckBuffer(obj.as_ptr()) } != 0;
        if !obj.is_none() && (has_buffer || obj.hasattr(intern!(py, "__array_interface__"))?) {
            let arr = self.asarray.bind(py).call1((obj,))?;
            if let Some(a) = array_of(&arr, ndarray) {
                if a.flags & C_CONTIGUOUS == 0 {
                    return Err(PyTypeError::new_err("array must be C-contiguous"));
                }
                let data = self.check(py, &a)?;
                return Ok(pointer(data, Some(arr.unbind())));
            }
        }
        Err(PyTypeError::new_err("argument must be an ndarray"))
    }

    fn check(&self, py: Python<'_>, a: &Array<'_>) -> PyResult<*mut u8> {
        if let Some(want) = &self.dtype {
            let same = a.descr == want.as_ptr()
                // SAFETY: both are valid objects (the array's descriptor and ours).
                || match unsafe { ffi::PyObject_RichCompareBool(a.descr, want.as_ptr(), ffi::Py_EQ) } {
                    1 => true,
                    0 => false,
                    _ => return Err(PyErr::fetch(py)),
                };
            if !same {
                return Err(PyTypeError::new_err(self.messages[0].clone()));
            }
        }
        if let Some(n) = self.ndim {
            if a.shape.len() != n {
                return Err(PyTypeError::new_err(format!(
                    "array must have {n} dimension(s)"
                )));
            }
        }
        if let Some(s) = &self.shape {
            if a.shape != s.as_slice() {
                return Err(PyTypeError::new_err(self.messages[1].clone()));
            }
        }
        if let Some(f) = self.flags {
            if a.flags & f != f {
                return Err(PyTypeError::new_err(self.messages[2].clone()));
            }
        }
        Ok(a.data)
    }
}

fn pointer(p: *mut u8, keep: Option<Py<PyAny>>) -> Param {
    Param {
        ffi: FfiType::Scalar(TypeCode::VoidP),
        slot: ArgSlot { ptr: p.cast() },
        keep,
        tag: 'P',
        by_value: std::ptr::null_mut(),
    }
}

/// `(address, shape, c_contiguous, writeable, dtype)` of an ndarray.
type Facts<'py> = (usize, Bound<'py, PyTuple>, bool, bool, Bound<'py, PyAny>);

/// The facts `as_ctypes` needs about an ndarray, or `None` for anything else.
#[pyfunction]
pub fn ndarray_facts<'py>(
    obj: &Bound<'py, PyAny>,
    ndarray: &Bound<'py, PyType>,
) -> PyResult<Option<Facts<'py>>> {
    let py = obj.py();
    let Some(a) = array_of(obj, ndarray) else {
        return Ok(None);
    };
    // SAFETY: the descriptor pointer of a live array is a valid, owned reference of the
    // array; borrowing it (and taking a new reference) is what `arr.dtype` does.
    let descr = unsafe { Bound::from_borrowed_ptr(py, a.descr) };
    Ok(Some((
        a.data as usize,
        PyTuple::new(py, a.shape)?,
        a.flags & C_CONTIGUOUS != 0,
        a.flags & WRITEABLE != 0,
        descr,
    )))
}
