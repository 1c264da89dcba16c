//! Reading and binding on classes without the attribute protocol's overhead, for the
//! class-creation path (a structure class's metaclass work): an attribute that is absent
//! costs CPython an `AttributeError` with a formatted message (about 5,000 instructions,
//! and ctypes reads five such attributes per structure class); a class's own `__dict__`
//! costs a mapping proxy per read. See assumption 12 on the soundness page (`capi/mod.rs`).

use pyo3::exceptions::PyAttributeError;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString, PyType};

use super::private::type_lookup;

/// `getattr(cls, name)` for a class `cls`, with an absent attribute as `None` (errors other
/// than `AttributeError` are returned). When `cls`'s metaclass reads attributes as `type`
/// does (its `tp_getattro` is `type`'s), defines nothing called `name` along its own MRO,
/// and the value found along `cls`'s MRO is not a descriptor (no `__get__`), that is what
/// `type`'s attribute protocol returns: the value, or no attribute at all. Otherwise the
/// protocol runs.
pub fn class_attr<'py>(
    cls: &Bound<'py, PyType>,
    name: &Bound<'py, PyString>,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    let meta = cls.get_type();
    // SAFETY: reading slots of live type objects (`PyType_Type` is the static `type`).
    let plain = unsafe {
        let own = (*meta.as_type_ptr()).tp_getattro;
        let types = (*std::ptr::addr_of!(ffi::PyType_Type)).tp_getattro;
        matches!((own, types), (Some(a), Some(b)) if a as usize == b as usize)
    };
    if plain && type_lookup(&meta, name).is_none() {
        match type_lookup(cls, name) {
            None => return Ok(None),
            // SAFETY: reading a slot of the value's live type object.
            Some(v) if unsafe { (*ffi::Py_TYPE(v.as_ptr())).tp_descr_get.is_none() } => {
                return Ok(Some(v))
            }
            Some(_) => {}
        }
    }
    match cls.getattr(name) {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.is_instance_of::<PyAttributeError>(cls.py()) => Ok(None),
        Err(e) => Err(e),
    }
}

/// `cls.__dict__.get(name)`: the class's own namespace, without making a mapping proxy.
pub fn own_dict_item<'py>(
    cls: &Bound<'py, PyType>,
    name: &Bound<'py, PyString>,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    // SAFETY: `tp_dict` of a live type object is its namespace (a dict) or, for the
    // static built-in types of 3.12+, NULL; the type keeps the dict alive while it is
    // borrowed here.
    let dict = unsafe { (*cls.as_type_ptr()).tp_dict };
    if dict.is_null() {
        let d = cls.getattr(pyo3::intern!(cls.py(), "__dict__"))?;
        return match d.get_item(name) {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.is_instance_of::<pyo3::exceptions::PyKeyError>(cls.py()) => Ok(None),
            Err(e) => Err(e),
        };
    }
    // SAFETY: a borrowed reference to the dict, which the type holds for as long as the
    // borrow is used; it is an exact dict (CPython makes every type's namespace one).
    let dict = unsafe { Bound::from_borrowed_ptr(cls.py(), dict) };
    let dict = dict.cast_into::<PyDict>().map_err(PyErr::from)?;
    dict.get_item(name)
}

extern "C" {
    /// CPython's `instancemethod` (public C API since 3.0, not in the limited API): a
    /// descriptor binding any callable to the instance it is read from, as a function in
    /// a class body is bound.
    fn PyInstanceMethod_New(func: *mut ffi::PyObject) -> *mut ffi::PyObject;
}

/// `func` wrapped so that, put in a class, it binds as a method: `C.m` is `func` and
/// `obj.m(...)` calls `func(obj, ...)`. A native function has no binding of its own.
pub fn instance_method<'py>(func: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    // SAFETY: `func` is a live object; the result is a new reference or NULL with an
    // exception set.
    unsafe { Bound::from_owned_ptr_or_err(func.py(), PyInstanceMethod_New(func.as_ptr())) }
}

/// `type.__setattr__(cls, name, value)` for an attribute nothing but the class's dict
/// takes part in, written straight into that dict: `true` when done, `false` (nothing
/// written) when `type`'s setattr must run instead: an immutable class, a dunder name
/// (which may be a slot to update), a name the metaclass's MRO has (which may be a data
/// descriptor taking the assignment), or no `tp_dict`. What `type`'s setattr does
/// besides the dict write is then the type-cache invalidation (`PyType_Modified`),
/// done here too, and interning the name, which the caller has done (the field names
/// are interned when the layout is made). Saves the generic attribute path (about 400
/// instructions a field).
pub fn set_plain_attr(
    cls: &Bound<'_, PyType>,
    name: &Bound<'_, PyString>,
    value: &Bound<'_, PyAny>,
) -> PyResult<bool> {
    let tp = cls.as_type_ptr();
    // SAFETY: reading the flags and the namespace pointer of a live type object.
    let (flags, dict) = unsafe { ((*tp).tp_flags, (*tp).tp_dict) };
    if flags & ffi::Py_TPFLAGS_IMMUTABLETYPE != 0
        || dict.is_null()
        || name.to_str().map_or(true, |n| n.starts_with("__"))
        || type_lookup(&cls.get_type(), name).is_some()
    {
        return Ok(false);
    }
    // PyType_Modified drops every type-cache entry for the class (and its subclasses)
    // after the write, as `type`'s setattr does.
    // SAFETY: `dict` is the class's namespace (an exact dict, kept alive by the class),
    // `name` a str and `value` a live object; PyDict_SetItem takes its own references.
    unsafe {
        if ffi::PyDict_SetItem(dict, name.as_ptr(), value.as_ptr()) < 0 {
            return Err(PyErr::fetch(cls.py()));
        }
        ffi::PyType_Modified(tp);
    }
    Ok(true)
}
