//! NumPy support functions of `ferrotype.ctypeslib`.

use pyo3::exceptions::PyValueError;
use std::sync::Mutex;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyTuple, PyType};

use crate::model::cdata::CData;

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

/// `_numpy_c_api(capsule)`: hands over NumPy's C-API table (`_ARRAY_API`) for
/// [`ndarray_view`]; whether it is in use (a table of an unknown ABI is not).
#[pyfunction]
#[pyo3(name = "_numpy_c_api")]
pub fn numpy_c_api(capsule: &Bound<'_, PyAny>) -> bool {
    crate::capi::numpy::load_api(capsule)
}

/// The most dimensions a view is made with here (NumPy 1.x's limit).
const MAX_DIMS: usize = 32;

/// An ndarray of `dtype` and shape `dims` over the memory of `cd` (C order, writeable
/// unless the instance is read-only), keeping `obj` (whose payload `cd` is) alive;
/// `nbytes`, the view's size, must fit in the instance's memory. `None` when NumPy's
/// table is not loaded or `dims` has more dimensions than supported here.
fn view_of<'py>(
    obj: &Bound<'py, PyAny>,
    cd: &CData,
    dtype: &Bound<'py, PyAny>,
    dims: &Bound<'py, PyTuple>,
    nbytes: usize,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    if nbytes > cd.size() {
        return Err(PyValueError::new_err(
            "buffer is smaller than requested size",
        ));
    }
    let mut shape = [0isize; MAX_DIMS];
    if dims.len() > MAX_DIMS {
        return Ok(None);
    }
    for (slot, d) in shape.iter_mut().zip(dims.iter()) {
        *slot = d.extract()?;
    }
    let shape = &shape[..dims.len()];
    // The view's extent is the product of `dims` and the dtype's item size, as
    // `ctypeslib` computed it for this class: `nbytes <= cd.size()`.
    // SAFETY: `cd.ptr()` is valid for `cd.size()` bytes while `obj` lives, which the
    // array keeps alive; writable unless the instance is read-only.
    let view =
        unsafe { crate::capi::numpy::array_view(dtype, shape, cd.ptr(), !cd.is_readonly(), obj) };
    view.transpose()
}

/// `ctypeslib`'s slow `as_array` (`_as_array`), imported on first use.
static SLOW_AS_ARRAY: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// `ferrotype.ctypeslib.as_array(obj, shape=None)`. An instance of an array type whose
/// view `ctypeslib` has described (`_set_numpy_spec`: dtype, shape, size in bytes) is
/// viewed here, through NumPy's C API; everything else (pointers, a `shape` argument,
/// a type seen for the first time) goes to `ctypeslib._as_array`, which describes the
/// type for next time.
#[pyfunction]
#[pyo3(signature = (obj, shape = None))]
pub fn as_array<'py>(
    obj: &Bound<'py, PyAny>,
    shape: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let py = obj.py();
    if shape.is_none() {
        if let Ok(cd) = obj.cast::<CData>() {
            let cd = cd.get();
            if let Some(spec) = cd.info().numpy.get(py) {
                if let Ok(spec) = spec.cast::<PyTuple>() {
                    if let (Ok(dtype), Ok(dims), Ok(nbytes)) =
                        (spec.get_item(0), spec.get_item(1), spec.get_item(2))
                    {
                        if let (Ok(dims), Ok(nbytes)) = (dims.cast::<PyTuple>(), nbytes.extract()) {
                            if let Some(view) = view_of(obj, cd, &dtype, dims, nbytes)? {
                                return Ok(view);
                            }
                        }
                    }
                }
            }
        }
    }
    let slow = SLOW_AS_ARRAY.get_or_try_init(py, || {
        py.import("ferrotype.ctypeslib")?
            .getattr("_as_array")
            .map(Bound::unbind)
    })?;
    slow.bind(py).call1((obj, shape))
}

/// `_set_numpy_spec(cls, spec)`: records `ctypeslib`'s description of the views of
/// `cls`'s instances, `(dtype, shape tuple, size in bytes)`, on its type information.
#[pyfunction]
#[pyo3(name = "_set_numpy_spec")]
pub fn set_numpy_spec(cls: &Bound<'_, PyType>, spec: &Bound<'_, PyTuple>) -> PyResult<()> {
    let info = crate::model::stginfo::info_of(cls.as_any())
        .ok_or_else(|| PyValueError::new_err("not a ferrotype type"))?;
    info.get()
        .numpy
        .set(cls.py(), Some(spec.clone().into_any().unbind()));
    Ok(())
}

/// One remembered view class: the dtype, the shape, the class.
type ViewClass = (Py<PyAny>, Vec<isize>, Py<PyType>);
/// The classes `as_ctypes` made views of, by (dtype, shape): the dtype compared by
/// identity (the entry keeps it alive, so the identity stays meaningful). A few entries,
/// the oldest replaced first.
static AS_CTYPES_CLASSES: Mutex<Vec<ViewClass>> = Mutex::new(Vec::new());
/// How many (dtype, shape) pairs [`AS_CTYPES_CLASSES`] remembers.
const AS_CTYPES_CACHED: usize = 32;

/// `ctypeslib`'s slow `as_ctypes` and its class maker, imported on first use.
static SLOW_AS_CTYPES: PyOnceLock<(Py<PyAny>, Py<PyAny>)> = PyOnceLock::new();

/// `ferrotype.ctypeslib.as_ctypes(obj, readonly=False)`. An ndarray is viewed here: its
/// dtype and shape give the class (made once by `ctypeslib._as_ctypes_class`, then
/// remembered), and the instance views the array's memory, keeping the array alive.
/// Anything else (objects with `__array_interface__` only) goes to
/// `ctypeslib._as_ctypes`.
#[pyfunction]
#[pyo3(signature = (obj, readonly = None), text_signature = "(obj, readonly=False)")]
pub fn as_ctypes<'py>(
    obj: &Bound<'py, PyAny>,
    readonly: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let py = obj.py();
    let readonly = match readonly {
        Some(r) => r.is_truthy()?,
        None => false,
    };
    let slow = SLOW_AS_CTYPES.get_or_try_init(py, || -> PyResult<_> {
        let m = py.import("ferrotype.ctypeslib")?;
        Ok((
            m.getattr("_as_ctypes")?.unbind(),
            m.getattr("_as_ctypes_class")?.unbind(),
        ))
    })?;
    let facts = crate::capi::numpy::ndarray_type(py).and_then(|nd| {
        array_facts(obj, &nd).map(|a| (a.data, a.shape.to_vec(), a.flags, a.descr.to_owned()))
    });
    let Some((data, shape, flags, dtype)) = facts else {
        return slow.0.bind(py).call1((obj, readonly));
    };
    if flags & C_CONTIGUOUS == 0 {
        return Err(PyTypeError::new_err("strided arrays not supported"));
    }
    if flags & WRITEABLE == 0 && !readonly {
        return Err(PyTypeError::new_err("readonly arrays unsupported"));
    }
    let cached = AS_CTYPES_CLASSES.lock().ok().and_then(|c| {
        c.iter()
            .find(|(d, s, _)| d.as_ptr() == dtype.as_ptr() && *s == shape)
            .map(|(_, _, cls)| cls.clone_ref(py))
    });
    let cls = match cached {
        Some(cls) => cls.into_bound(py),
        None => {
            let cls = slow
                .1
                .bind(py)
                .call1((&dtype, PyTuple::new(py, &shape)?))?
                .cast_into::<PyType>()?;
            if let Ok(mut c) = AS_CTYPES_CLASSES.lock() {
                if c.len() >= AS_CTYPES_CACHED {
                    c.remove(0);
                }
                c.push((dtype.clone().unbind(), shape, cls.clone().unbind()));
            }
            cls
        }
    };
    crate::api::functions::view_keeping(&cls, data as usize, obj, readonly)
}
