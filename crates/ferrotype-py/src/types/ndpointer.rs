//! `NdSpec`: the requirements of an `ndpointer` class of `ferrotype.ctypeslib`,
//! checked in Rust on every argument (the array itself is read by `capi::numpy`).

use ferrotype_core::{ArgSlot, FfiType, TypeCode};
use pyo3::exceptions::PyTypeError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::PyType;
use std::ffi::c_int;

use crate::capi::buffer::exports_buffer;
use crate::capi::numpy::{array_facts, ArrayFacts, C_CONTIGUOUS};
use crate::codec::param::{CArg, Param};

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
    fn to_param<'py>(&self, obj: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let p = self.param(obj)?;
        CArg {
            tag: 'P',
            slot: p.slot(),
            ffi: p.ffi,
            keep: Some(p.keep.unwrap_or_else(|| obj.clone().unbind())),
            obj: Some(obj.clone().unbind()),
            by_memory: false,
        }
        .into_object(obj.py())
    }
}

impl NdSpec {
    /// Checks `obj` against the requirements and returns the pointer argument.
    pub fn param(&self, obj: &Bound<'_, PyAny>) -> PyResult<Param> {
        let py = obj.py();
        let ndarray = self.ndarray.bind(py);
        if let Some(a) = array_facts(obj, ndarray) {
            return Ok(pointer(self.check(py, &a)?, None));
        }
        if obj.is_none() && self.nullable {
            return Ok(pointer(std::ptr::null_mut(), None));
        }
        // Beyond NumPy: objects exposing `__array_interface__` or a buffer are viewed
        // (never copied) as an array, and must be C-contiguous.
        let has_buffer = exports_buffer(obj);
        if !obj.is_none() && (has_buffer || obj.hasattr(intern!(py, "__array_interface__"))?) {
            let arr = self.asarray.bind(py).call1((obj,))?;
            if let Some(a) = array_facts(&arr, ndarray) {
                if a.flags & C_CONTIGUOUS == 0 {
                    return Err(PyTypeError::new_err("array must be C-contiguous"));
                }
                let data = self.check(py, &a)?;
                return Ok(pointer(data, Some(arr.unbind())));
            }
        }
        Err(PyTypeError::new_err("argument must be an ndarray"))
    }

    fn check(&self, py: Python<'_>, a: &ArrayFacts<'_, '_>) -> PyResult<*mut u8> {
        if let Some(want) = &self.dtype {
            let want = want.bind(py);
            let same = a.descr.is(want) || a.descr.eq(want)?;
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
    Param::bits(
        FfiType::Scalar(TypeCode::VoidP),
        ArgSlot { ptr: p.cast() },
        keep,
        'P',
    )
}
