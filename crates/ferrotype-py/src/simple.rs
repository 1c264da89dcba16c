//! `_SimpleCData`: instances of `c_int`, `c_char_p` and the other simple types. The
//! value lives in the instance's memory; `.value` converts with the type's code.

use pyo3::exceptions::PyTypeError;
use pyo3::ffi;
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
        let cd = crate::cdata::construct(cls, Kind::Simple)?;
        Ok(PyClassInitializer::from(cd).add_subclass(SimpleCData))
    }

    #[pyo3(signature = (*args))]
    fn __init__(slf: &Bound<'_, Self>, args: &Bound<'_, PyTuple>) -> PyResult<()> {
        init_simple(slf.as_super(), args)
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

/// Gives `_SimpleCData` its `value` attribute: a getset descriptor whose functions are
/// called by CPython directly (PyO3's getter trampoline costs about as much as reading
/// the value). Called once at module initialisation.
pub fn install_value_descriptor(py: Python<'_>) -> PyResult<()> {
    use pyo3::PyTypeInfo;
    let tp = SimpleCData::type_object(py);
    let def = Box::leak(Box::new(ffi::PyGetSetDef {
        name: c"value".as_ptr(),
        get: Some(value_get),
        set: Some(value_set),
        doc: c"the value of the instance, converted with its type".as_ptr(),
        closure: std::ptr::null_mut(),
    }));
    // SAFETY: `def` lives for the rest of the process, as a descriptor requires; the type
    // object is initialised and PyDescr_NewGetSet returns a new reference or NULL.
    let descr =
        unsafe { Bound::from_owned_ptr_or_err(py, ffi::PyDescr_NewGetSet(tp.as_type_ptr(), def))? };
    tp.setattr("value", descr)
}

/// `instance.value`.
unsafe extern "C" fn value_get(
    slf: *mut ffi::PyObject,
    _closure: *mut std::ffi::c_void,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls a getset getter with the GIL held.
    let py = unsafe { Python::assume_attached() };
    crate::errors::run_slot(py, "ferrotype: a Rust panic reading .value", || {
        // SAFETY: `slf` is a live object borrowed for the call; the descriptor checked
        // that it is an instance of `_SimpleCData`, so a `CData`.
        let cd = unsafe { Bound::ref_from_ptr(py, &slf).cast_unchecked::<CData>() };
        simple_value(cd.get(), py)
    })
}

/// `instance.value = v` (`v` NULL: `del instance.value`, refused).
unsafe extern "C" fn value_set(
    slf: *mut ffi::PyObject,
    value: *mut ffi::PyObject,
    _closure: *mut std::ffi::c_void,
) -> std::ffi::c_int {
    // SAFETY: CPython calls a getset setter with the GIL held.
    let py = unsafe { Python::assume_attached() };
    let done = crate::errors::run_slot(py, "ferrotype: a Rust panic setting .value", || {
        if value.is_null() {
            return Err(PyTypeError::new_err("can't delete attribute"));
        }
        // SAFETY: as in `value_get`; `value` is a live object borrowed for the call.
        let (cd, value) = unsafe {
            (
                Bound::ref_from_ptr(py, &slf).cast_unchecked::<CData>(),
                Bound::ref_from_ptr(py, &value),
            )
        };
        set_simple_value(cd, value)?;
        Ok(py.None())
    });
    if done.is_null() {
        -1
    } else {
        // SAFETY: `done` is the new reference to None made above.
        unsafe { ffi::Py_DECREF(done) };
        0
    }
}
