//! `_Pointer`: instances of `POINTER(T)`. The instance stores an address; `.contents`
//! and indexing view the memory there, keeping the pointer (and through its
//! `_objects`, the target) alive.

use ferrotype_core::{memory, FfiType, TypeCode};
use pyo3::exceptions::{PyAttributeError, PyTypeError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PySlice, PyTuple, PyType};

use crate::capi::objects::replaced_constructor;
use crate::capi::slots::{FastSubscript, IntSubscript};
use crate::codec::element::{get_item_at, index_key, set_item_at};
use crate::codec::scalar::load;
use crate::model::cdata::{as_cdata, CData};
use crate::model::registry::instantiate;
use crate::model::stginfo::{info_of, set_info, Detail, Kind, PointerInfo, StgInfo, INFO_ATTR};

crate::types::data_class!(
    /// The base of the pointer types.
    Pointer,
    "_Pointer",
    Kind::Pointer,
    init_pointer
);

/// Fills in a pointer type's information; `_type_` may be missing (an incomplete
/// pointer type, completed later).
#[pyfunction]
pub fn init_pointer_type(cls: &Bound<'_, PyType>) -> PyResult<()> {
    let py = cls.py();
    SUBSCRIPT.adopt(cls);
    // ctypes reads `_type_` from the class's own namespace: a subclass of a pointer
    // type that does not name it again has no target (and no instances).
    let dict = cls.getattr(intern!(py, "__dict__"))?;
    let proto = dict.get_item(intern!(py, "_type_")).ok();
    // Completing an incomplete pointer type (`set_type`): fill in its existing StgInfo.
    let own = dict
        .get_item(INFO_ATTR)
        .ok()
        .and_then(|i| i.cast_into::<StgInfo>().ok());
    if let (Some(own), Some(p)) = (&own, &proto) {
        let o = own.get();
        if o.kind() == Kind::Pointer && o.proto().is_none() {
            if info_of(p)
                .filter(|_| p.is_instance_of::<PyType>())
                .is_none()
            {
                return Err(no_storage_info(p));
            }
            let completed = o.pointer().map(|pi| pi.completed.set(p.clone().unbind()));
            if completed.is_none_or(|r| r.is_err()) {
                return Err(PyAttributeError::new_err("_type_ already set"));
            }
            return Ok(());
        }
    }
    let (proto, proto_info, format) = match proto {
        Some(p) => {
            let Some(info) = info_of(&p).filter(|_| p.is_instance_of::<PyType>()) else {
                return Err(no_storage_info(&p));
            };
            let fmt = format!("&{}", info.get().member_format());
            (Some(p.unbind()), Some(info.unbind()), fmt)
        }
        None => (None, None, "&B".to_owned()),
    };
    let ptr = TypeCode::VoidP;
    set_info(
        cls,
        StgInfo {
            has_pointer: true,
            ..StgInfo::new(
                Detail::Pointer(PointerInfo {
                    target: proto,
                    target_info: proto_info,
                    completed: std::sync::OnceLock::new(),
                }),
                ptr.size(),
                ptr.align(),
                FfiType::Scalar(ptr),
                &format,
            )
        },
    )?;
    Ok(())
}

/// ctypes' error for a `_type_` that is not a ctypes type (worded per version).
fn no_storage_info(proto: &Bound<'_, PyAny>) -> PyErr {
    if crate::capi::version::POINTER_STORAGE_ERROR_NAMES_TYPE {
        let shown = proto
            .repr()
            .map(|r| r.to_string())
            .unwrap_or_else(|_| "_type_".to_owned());
        PyTypeError::new_err(format!("{shown} must have storage info"))
    } else {
        PyTypeError::new_err("_type_ must have storage info")
    }
}

/// The address stored in a pointer instance.
pub fn address(cd: &CData) -> usize {
    // SAFETY: a pointer instance holds one pointer-sized value.
    unsafe { memory::read_bits(cd.ptr(), TypeCode::VoidP.size(), false) as usize }
}

fn set_address(cd: &CData, addr: usize) {
    // SAFETY: as above, writable.
    unsafe { memory::write_bits(cd.ptr(), TypeCode::VoidP.size(), false, addr as u64) }
}

/// The target type and its current information. The information recorded when the
/// pointer type was made is used when it is final; otherwise (a structure whose
/// `_fields_` may be set later) it is looked up again.
fn target<'py>(
    py: Python<'py>,
    info: &StgInfo,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, StgInfo>)> {
    let missing = || PyTypeError::new_err("Cannot create instance: has no _type_");
    let cls = info.pointer_target().ok_or_else(missing)?.bind(py).clone();
    if let Some(known) = &info.proto_info() {
        let k = known.get();
        if !matches!(k.kind(), Kind::Struct | Kind::Union) || k.is_final() {
            return Ok((cls, known.bind(py).clone()));
        }
    }
    let target_info = info_of(&cls).ok_or_else(missing)?;
    Ok((cls, target_info))
}

fn no_deletion() -> PyErr {
    PyTypeError::new_err("Pointer does not support item deletion")
}

fn not_an_index() -> PyErr {
    PyTypeError::new_err("Pointer indices must be integer")
}

/// Points `ptr_cd` at `value` (an instance of the target type, or of another type at
/// least as large), keeping it alive.
pub fn set_contents(py: Python<'_>, ptr_cd: &CData, value: &Bound<'_, PyAny>) -> PyResult<()> {
    ptr_cd.check_writable()?;
    let (cls, info) = target(py, ptr_cd.info())?;
    let refuse = |extra: String| -> PyResult<()> {
        Err(PyTypeError::new_err(format!(
            "expected {} instead of {}{extra}",
            cls.cast::<PyType>()?.name()?,
            value.get_type().name()?
        )))
    };
    let Some(v) = as_cdata(value) else {
        return refuse(String::new());
    };
    // ctypes lets a pointer point at any instance (`POINTER(c_char)(buffer)` views a
    // character array, `POINTER(c_int)(struct)` its first field), but not at one smaller
    // than its target type, where `.contents` and `p[0]` would read past the object.
    if !value.is_instance(&cls)? {
        let need = info.get().size;
        let have = v.get().size();
        if have < need {
            return refuse(format!(
                " ({have} bytes, smaller than the {need} of the target)"
            ));
        }
    }
    set_address(ptr_cd, v.get().ptr() as usize);
    // ctypes: the pointer keeps its target (and what the target keeps) alive.
    ptr_cd.keep_alive(py, 1, value.clone().unbind())
}

#[pymethods]
impl Pointer {
    /// Gives the class its `__new__` (see `capi::objects::replaced_constructor`).
    #[new]
    #[pyo3(signature = (*_args, **_kwargs))]
    fn new(
        py: Python<'_>,
        _args: &Bound<'_, PyTuple>,
        _kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<PyClassInitializer<Self>> {
        Err(replaced_constructor::<Self>(py))
    }

    #[pyo3(signature = (*args))]
    fn __init__(slf: &Bound<'_, Self>, args: &Bound<'_, PyTuple>) -> PyResult<()> {
        init_pointer(slf.as_super(), args, None)
    }

    #[getter]
    fn contents(slf: &Bound<'_, Self>) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        let cd = slf.as_super().get();
        let addr = address(cd);
        if addr == 0 {
            return Err(PyValueError::new_err("NULL pointer access"));
        }
        let (cls, info) = target(py, cd.info())?;
        let view = CData::new_view(
            info.clone().unbind(),
            addr as *mut u8,
            info.get().size,
            Some(slf.clone().into_any().unbind()),
            0,
        );
        Ok(instantiate(cls.cast::<PyType>()?, view)?.unbind())
    }

    #[setter]
    fn set_contents(slf: &Bound<'_, Self>, value: Bound<'_, PyAny>) -> PyResult<()> {
        set_contents(slf.py(), slf.as_super().get(), &value)
    }

    /// ctypes: `del p.contents` is refused with the item-deletion message.
    #[deleter]
    fn delete_contents(&self) -> PyResult<()> {
        Err(no_deletion())
    }

    fn __bool__(slf: &Bound<'_, Self>) -> bool {
        address(slf.as_super().get()) != 0
    }

    fn __getitem__(slf: &Bound<'_, Self>, key: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        let cd = slf.as_super().get();
        let addr = address(cd);
        let (cls, info) = target(py, cd.info())?;
        let esize = info.get().size;
        if let Ok(slice) = key.cast::<PySlice>() {
            let start: Option<isize> = slice.getattr("start")?.extract()?;
            let stop: Option<isize> = slice.getattr("stop")?.extract()?;
            let step: Option<isize> = slice.getattr("step")?.extract()?;
            let Some(stop) = stop else {
                return Err(PyValueError::new_err("slice stop is required"));
            };
            let step = step.unwrap_or(1);
            if step == 0 {
                return Err(PyValueError::new_err("slice step cannot be zero"));
            }
            let start = match start {
                Some(s) => s,
                None if step > 0 => 0,
                None => {
                    return Err(PyValueError::new_err(
                        "slice start is required for step < 0",
                    ))
                }
            };
            if addr == 0 {
                return Err(PyValueError::new_err("NULL pointer access"));
            }
            let mut idx = Vec::new();
            let mut i = start;
            while (step > 0 && i < stop) || (step < 0 && i > stop) {
                idx.push(i);
                i += step;
            }
            let i_code = info
                .get()
                .value_code()
                .filter(|c| matches!(c, TypeCode::Char | TypeCode::WChar));
            let items = idx
                .iter()
                .map(|&i| {
                    get_item_at(
                        slf.as_any(),
                        &cls,
                        &info,
                        (addr as *mut u8).wrapping_offset(i * esize as isize),
                        0,
                    )
                })
                .collect::<PyResult<Vec<_>>>()?;
            if let Some(code) = i_code {
                // ctypes: slices of char pointers are bytes, of wchar pointers str.
                let parts = PyList::new(py, items)?;
                let empty = if code == TypeCode::Char {
                    pyo3::types::PyBytes::new(py, b"").into_any()
                } else {
                    pyo3::types::PyString::new(py, "").into_any()
                };
                return Ok(empty.call_method1("join", (parts,))?.unbind());
            }
            return Ok(PyList::new(py, items)?.into_any().unbind());
        }
        let index = index_key(key, not_an_index)?;
        Pointer::item_at(slf.as_any(), cd, index)
    }

    fn __setitem__(
        slf: &Bound<'_, Self>,
        key: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let py = slf.py();
        let cd = slf.as_super().get();
        let addr = address(cd);
        let (cls, info) = target(py, cd.info())?;
        // ctypes assigns items through the sequence protocol, which words the error so
        let index = index_key(key, || match key.get_type().name() {
            Ok(name) => {
                PyTypeError::new_err(format!("sequence index must be integer, not '{name}'"))
            }
            Err(e) => e,
        })?;
        if addr == 0 {
            return Err(PyValueError::new_err("NULL pointer access"));
        }
        let i = info.get();
        let p = (addr as *mut u8).wrapping_offset(index * i.size as isize);
        set_item_at(cd, &cls, i, p, index as usize, value)
    }

    fn __delitem__(&self, _key: &Bound<'_, PyAny>) -> PyResult<()> {
        Err(no_deletion())
    }
}

impl Pointer {
    /// `p[index]`: the element at the pointer's address plus `index` elements.
    fn item_at(slf: &Bound<'_, PyAny>, cd: &CData, index: isize) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        let addr = address(cd);
        let (cls, info) = target(py, cd.info())?;
        if addr == 0 {
            return Err(PyValueError::new_err("NULL pointer access"));
        }
        let p = (addr as *mut u8).wrapping_offset(index * info.get().size as isize);
        get_item_at(slf, &cls, &info, p, 0)
    }
}

/// The fast subscript slot of pointer classes (given to each by [`init_pointer_type`]).
pub static SUBSCRIPT: FastSubscript = FastSubscript::new();

impl IntSubscript for Pointer {
    fn subscript() -> &'static FastSubscript {
        &SUBSCRIPT
    }

    /// `p[i]` for an int `i`, as `__getitem__` reads it.
    fn item(slf: &Bound<'_, Self>, key: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        let index = index_key(key, not_an_index)?;
        let cd = slf.as_super().get();
        // The common case, a pointer to a simple type whose elements are Python values:
        // read the element directly (the same read `get_item_at` makes).
        if let Some(elem) = cd.info().proto_info().map(Py::get) {
            if let Some(code) = elem.value_code() {
                let addr = address(cd);
                if addr == 0 {
                    return Err(PyValueError::new_err("NULL pointer access"));
                }
                let p = (addr as *const u8).wrapping_offset(index * elem.size as isize);
                // SAFETY: like ctypes, indexing a pointer trusts that the memory there
                // holds elements of its type.
                return unsafe { load(py, p, code, elem.swapped) };
            }
        }
        Pointer::item_at(slf.as_any(), cd, index)
    }
}

/// `__init__` of pointer instances: at most one target.
pub fn init_pointer(
    cd: &Bound<'_, CData>,
    args: &Bound<'_, PyTuple>,
    kwargs: Option<&Bound<'_, PyDict>>,
) -> PyResult<()> {
    crate::types::no_keywords("_Pointer", kwargs)?;
    match args.len() {
        0 => Ok(()),
        1 => set_contents(cd.py(), cd.get(), &args.get_item(0)?),
        n => Err(PyTypeError::new_err(format!(
            "__init__ expected at most 1 argument, got {n}"
        ))),
    }
}
