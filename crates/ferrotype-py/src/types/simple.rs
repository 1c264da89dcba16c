//! `_SimpleCData`: instances of `c_int`, `c_char_p` and the other simple types. The
//! value lives in the instance's memory; `.value` converts with the type's code.

use ferrotype_core::{FfiType, TypeCode};
use pyo3::exceptions::{PyAttributeError, PyTypeError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString, PyTuple, PyType};

use crate::capi::objects::replaced_constructor;
use crate::capi::slots::{GetSet, Quick};
use crate::capi::values::{exact_f64, exact_i64};
use crate::capi::version;
use crate::codec::scalar::{load, store};
use crate::model::cdata::CData;
use crate::model::errors::CoreResultExt;
use crate::model::stginfo::{
    endian_prefix, format_code, info_of, set_info, Detail, Kind, SimpleInfo, StgInfo,
};

crate::types::data_class!(
    /// The base of the simple types.
    SimpleCData,
    "_SimpleCData",
    Kind::Simple,
    init_simple,
    init_simple_args
);

/// Fills in a simple type's information from its `_type_` (called by the metaclass).
/// `swapped` marks the byte-swapped twin (`__ctype_be__` on little-endian machines).
#[pyfunction]
#[pyo3(signature = (cls, swapped = false))]
pub fn init_simple_type(cls: &Bound<'_, PyType>, swapped: bool) -> PyResult<()> {
    let py = cls.py();
    let tp = match cls.getattr(intern!(py, "_type_")) {
        Ok(t) => t,
        Err(_) => {
            return Err(PyAttributeError::new_err(
                "class must define a '_type_' attribute",
            ))
        }
    };
    let Ok(tp) = tp.cast_into::<PyString>() else {
        return Err(PyTypeError::new_err(
            "class must define a '_type_' string attribute",
        ));
    };
    let s = tp.to_str()?;
    let (code, c) = type_code(s)?;
    // ctypes: a type deriving directly from the abstract `_SimpleCData` (whose base has
    // no type information) converts to Python values; subclasses of such types do not.
    let direct = cls
        .getattr(intern!(py, "__bases__"))
        .and_then(|b| b.get_item(0))
        .map(|b0| info_of(&b0).is_none())
        .unwrap_or(false);
    let swapped = swapped && code.size() > 1;
    let format = format!("{}{}", endian_prefix(swapped), format_code(code));
    set_info(
        cls,
        StgInfo {
            swapped,
            has_pointer: matches!(
                code,
                TypeCode::VoidP | TypeCode::CharP | TypeCode::WCharP | TypeCode::PyObject
            ),
            ..StgInfo::new(
                Detail::Simple(SimpleInfo {
                    code,
                    direct,
                    type_char: c,
                }),
                code.size(),
                code.align(),
                FfiType::Scalar(code),
                &format,
            )
        },
    )?;
    Ok(())
}

/// The type code a `_type_` string names, with the character it is known by (the
/// complex codes keep their 3.14 character inside; 3.15 spells them `Zf`, `Zd`, `Zg`).
/// Which codes exist, and the errors, follow the running interpreter's ctypes.
fn type_code(s: &str) -> PyResult<(TypeCode, char)> {
    let not_a_code = || PyAttributeError::new_err(version::TYPE_CODE_ERROR);
    let mut chars = s.chars();
    let (first, second, rest) = (chars.next(), chars.next(), chars.next());
    if version::COMPLEX_CODES_ARE_Z_PAIRS {
        if let (Some('Z'), Some(re @ ('f' | 'd' | 'g')), None) = (first, second, rest) {
            let c = re.to_ascii_uppercase();
            return Ok((TypeCode::from_char(c).py()?, c));
        }
    }
    let (Some(c), None) = (first, second) else {
        if version::COMPLEX_CODES_ARE_Z_PAIRS {
            return Err(not_a_code());
        }
        return Err(PyValueError::new_err(
            "class must define a '_type_' attribute which must be a string of length 1",
        ));
    };
    let code = TypeCode::from_char(c).map_err(|_| not_a_code())?;
    // The single-character complex codes exist in 3.14 only (3.15 spells them `Zx`).
    if code.is_complex() && (!version::HAS_COMPLEX_TYPES || version::COMPLEX_CODES_ARE_Z_PAIRS) {
        return Err(not_a_code());
    }
    Ok((code, c))
}

/// The code of a simple instance's type.
fn simple_code(info: &StgInfo) -> PyResult<TypeCode> {
    info.code()
        .ok_or_else(|| PyTypeError::new_err("not a simple instance"))
}

/// Stores `value` into a simple instance, with ctypes' keep-alive of the stored object.
pub fn set_simple_value(cd: &Bound<'_, CData>, value: &Bound<'_, PyAny>) -> PyResult<()> {
    let c = cd.get();
    c.check_writable()?;
    let info = c.info();
    let code = simple_code(info)?;
    if !info.swapped {
        // The commonest values, `c_int(5)` and `c_double(1.5)`, written directly: an
        // exact int that fits the C int (so every rule, lax or strict, stores it as
        // is), an exact float.
        match code {
            TypeCode::Int if TypeCode::Int.size() == 4 => {
                if let Some(v) = exact_i64(value).and_then(|v| i32::try_from(v).ok()) {
                    // SAFETY: the instance's memory holds a C int (its type's size).
                    unsafe { c.ptr().cast::<i32>().write_unaligned(v) };
                    return Ok(());
                }
            }
            TypeCode::Double => {
                if let Some(v) = exact_f64(value) {
                    // SAFETY: the instance's memory holds a C double.
                    unsafe { c.ptr().cast::<f64>().write_unaligned(v) };
                    return Ok(());
                }
            }
            _ => {}
        }
    }
    // SAFETY: the instance's memory holds code.size() bytes (its type's size).
    let keep = unsafe { store(c.ptr(), code, info.swapped, value)? };
    if let Some(k) = keep {
        c.keep_alive(value.py(), 0, k)?;
    }
    Ok(())
}

/// The Python value of a simple instance.
pub fn simple_value(cd: &CData, py: Python<'_>) -> PyResult<Py<PyAny>> {
    let info = cd.info();
    let code = simple_code(info)?;
    // SAFETY: the instance's memory holds code.size() bytes.
    unsafe { load(py, cd.ptr(), code, info.swapped) }
}

#[pymethods]
impl SimpleCData {
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
        init_simple(slf.as_super(), args, None)
    }

    fn __bool__(slf: &Bound<'_, Self>) -> bool {
        let cd = slf.as_super().get();
        // ctypes: true when any byte of the value is non-zero.
        cd.any_nonzero()
    }

    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        let cd = slf.as_super().get();
        let ty = slf.get_type();
        let name = ty.name()?;
        if cd.info().value_code().is_some() {
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
        if cd.info().value_code().is_some() {
            simple_value(cd, slf.py())
        } else {
            Ok(slf.clone().into_any().unbind())
        }
    }
}

/// `__init__` of simple instances: at most one value.
pub fn init_simple(
    cd: &Bound<'_, CData>,
    args: &Bound<'_, PyTuple>,
    kwargs: Option<&Bound<'_, PyDict>>,
) -> PyResult<()> {
    crate::types::no_keywords("_SimpleCData", kwargs)?;
    init_simple_args(cd, args.as_slice())
}

/// `__init__` of simple instances with positional arguments only.
pub fn init_simple_args(cd: &Bound<'_, CData>, args: &[Bound<'_, PyAny>]) -> PyResult<()> {
    match args {
        [] => Ok(()),
        [value] => set_simple_value(cd, value),
        _ => Err(PyTypeError::new_err(format!(
            "__init__ expected at most 1 argument, got {}",
            args.len()
        ))),
    }
}

/// The `value` attribute of simple instances, a getset descriptor on `_SimpleCData`
/// (installed by `lib.rs` with `capi::slots::install_getset`).
pub struct Value;

impl GetSet for Value {
    type Target = CData;

    /// The commonest reads, in native byte order: a C `int`, `long`, `long long` or
    /// `double`, made without a result wrapper (a small int from the interpreter's
    /// table).
    #[inline(always)]
    fn quick(obj: &Bound<'_, CData>) -> Option<Option<Py<PyAny>>> {
        use std::ffi::{c_int, c_long, c_longlong};
        use std::mem::size_of;
        let cd = obj.get();
        let info = cd.info();
        if info.swapped {
            return None;
        }
        let p = cd.ptr();
        // SAFETY: a simple instance's memory holds a value of its type (at least the
        // type's size, `resize` only grows it); the code gives the type read.
        let q = unsafe {
            match info.simple()?.code {
                TypeCode::Int if size_of::<c_int>() == 4 => {
                    Quick::Int(p.cast::<i32>().read_unaligned().into())
                }
                TypeCode::Long if size_of::<c_long>() == 8 => {
                    Quick::Int(p.cast::<i64>().read_unaligned())
                }
                TypeCode::LongLong if size_of::<c_longlong>() == 8 => {
                    Quick::Int(p.cast::<i64>().read_unaligned())
                }
                TypeCode::Double => Quick::Float(p.cast::<f64>().read_unaligned()),
                _ => return None,
            }
        };
        Some(q.into_py(obj.py()))
    }

    fn get(obj: &Bound<'_, CData>) -> PyResult<Py<PyAny>> {
        simple_value(obj.get(), obj.py())
    }

    fn set(obj: &Bound<'_, CData>, value: &Bound<'_, PyAny>) -> PyResult<()> {
        set_simple_value(obj, value)
    }
}
