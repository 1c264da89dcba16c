//! `_SimpleCData`: instances of `c_int`, `c_char_p` and the other simple types. The
//! value lives in the instance's memory; `.value` converts with the type's code.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyTuple, PyType};

use crate::cdata::CData;
use crate::convert;
use crate::stginfo::Kind;

/// The base of the simple types.
#[pyclass(extends = CData, subclass, frozen, module = "ferrotype._native", name = "_SimpleCData")]
pub struct SimpleCData;

/// Stores `value` into a simple instance, with ctypes' keep-alive of the stored object.
pub fn set_simple_value(cd: &Bound<'_, CData>, value: &Bound<'_, PyAny>) -> PyResult<()> {
    let c = cd.get();
    c.check_writable()?;
    let info = c.info();
    let code = info.code.expect("simple instance has a code");
    // SAFETY: the instance's memory holds code.size() bytes (its type's size).
    let keep = unsafe { convert::store(c.ptr(), code, info.swapped, value)? };
    if let Some(k) = keep {
        c.keep_alive(value.py(), 0, k)?;
    }
    Ok(())
}

/// The Python value of a simple instance.
pub fn simple_value(cd: &CData, py: Python<'_>) -> PyResult<Py<PyAny>> {
    let info = cd.info();
    let code = info.code.expect("simple instance has a code");
    // SAFETY: the instance's memory holds code.size() bytes.
    unsafe { convert::load(py, cd.ptr(), code, info.swapped) }
}

#[pymethods]
impl SimpleCData {
    #[new]
    #[classmethod]
    #[pyo3(signature = (*_args, **_kwargs))]
    fn new(
        cls: &Bound<'_, PyType>,
        _args: &Bound<'_, PyTuple>,
        _kwargs: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyClassInitializer<Self>> {
        let cd = crate::cdata::construct(cls, Kind::Simple, "abstract class")?;
        Ok(PyClassInitializer::from(cd).add_subclass(SimpleCData))
    }

    #[pyo3(signature = (*args))]
    fn __init__(slf: &Bound<'_, Self>, args: &Bound<'_, PyTuple>) -> PyResult<()> {
        init_simple(slf.as_super(), args)
    }

    #[getter]
    fn value(slf: &Bound<'_, Self>) -> PyResult<Py<PyAny>> {
        simple_value(slf.as_super().get(), slf.py())
    }

    #[setter]
    fn set_value(slf: &Bound<'_, Self>, value: Bound<'_, PyAny>) -> PyResult<()> {
        set_simple_value(slf.as_super(), &value)
    }

    #[deleter]
    fn delete_value(_slf: &Bound<'_, Self>) -> PyResult<()> {
        Err(PyTypeError::new_err("can't delete attribute"))
    }

    fn __bool__(slf: &Bound<'_, Self>) -> bool {
        let cd = slf.as_super().get();
        // ctypes: true when any byte of the value is non-zero.
        cd.to_vec().iter().any(|&b| b != 0)
    }

    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        let cd = slf.as_super().get();
        let ty = slf.get_type();
        let name = ty.name()?;
        if cd.info().direct {
            let v = simple_value(cd, slf.py())?;
            Ok(format!("{}({})", name, v.bind(slf.py()).repr()?))
        } else {
            Ok(format!("<{} object at {:#x}>", name, slf.as_ptr() as usize))
        }
    }

    /// ctypes: an out-parameter of a simple type is returned as its value, unless the
    /// type is a subclass of a simple type.
    fn __ctypes_from_outparam__(slf: &Bound<'_, Self>) -> PyResult<Py<PyAny>> {
        let cd = slf.as_super().get();
        if cd.info().direct {
            simple_value(cd, slf.py())
        } else {
            Ok(slf.clone().into_any().unbind())
        }
    }
}

/// `__init__` of simple instances: at most one value.
pub fn init_simple(cd: &Bound<'_, CData>, args: &Bound<'_, PyTuple>) -> PyResult<()> {
    match args.len() {
        0 => Ok(()),
        1 => set_simple_value(cd, &args.get_item(0)?),
        n => Err(PyTypeError::new_err(format!(
            "__init__ expected at most 1 argument, got {n}"
        ))),
    }
}
