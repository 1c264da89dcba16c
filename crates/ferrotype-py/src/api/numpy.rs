//! NumPy support functions of `ferrotype.ctypeslib`.

use pyo3::prelude::*;
use pyo3::types::{PyTuple, PyType};

use crate::capi::numpy::{array_facts, C_CONTIGUOUS, WRITEABLE};

/// `(address, shape, c_contiguous, writeable, dtype)` of an ndarray.
type Facts<'py> = (usize, Bound<'py, PyTuple>, bool, bool, Bound<'py, PyAny>);

/// The facts `as_ctypes` needs about an ndarray, or `None` for anything else.
#[pyfunction]
pub fn ndarray_facts<'py>(
    obj: &Bound<'py, PyAny>,
    ndarray: &Bound<'py, PyType>,
) -> PyResult<Option<Facts<'py>>> {
    let py = obj.py();
    let Some(a) = array_facts(obj, ndarray) else {
        return Ok(None);
    };
    let descr = a.descr.to_owned();
    Ok(Some((
        a.data as usize,
        PyTuple::new(py, a.shape)?,
        a.flags & C_CONTIGUOUS != 0,
        a.flags & WRITEABLE != 0,
        descr,
    )))
}
