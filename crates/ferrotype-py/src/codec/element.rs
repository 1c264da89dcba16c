//! Elements: reading and writing a value of any ferrotype type at an address inside
//! an owner's memory (array elements, pointer targets, structure fields). An element of
//! a simple type reads as its Python value, any other element as an instance sharing
//! the owner's memory (and keeping it alive). Also the character-array strings, and
//! ctypes' reading of integer subscripts.

use crate::capi::values::new_bytes;
use ferrotype_core::{memory, TypeCode};
use pyo3::exceptions::{PyIndexError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString, PyType};

use crate::capi::values::str_from_wide;
use crate::codec::foreign;
use crate::codec::scalar::{load, store, wide_bytes};
use crate::model::cdata::{as_cdata, CData};
use crate::model::errors::type_name;
use crate::model::registry::instantiate_view;
use crate::model::stginfo::{Kind, StgInfo};

/// Reads element `index` of type `elem` at `ptr`, owned by `owner`.
pub fn get_item_at<'py>(
    owner: &Bound<'py, PyAny>,
    elem_cls: &Bound<'py, PyAny>,
    elem: &Bound<'py, StgInfo>,
    ptr: *mut u8,
    index: usize,
) -> PyResult<Py<PyAny>> {
    let py = owner.py();
    let e = elem.get();
    if let Some(code) = e.value_code() {
        // SAFETY: ptr addresses one element of the owner's memory (checked by callers).
        return unsafe { load(py, ptr, code, e.swapped) };
    }
    let cls = elem_cls.cast::<PyType>()?;
    // A part of a read-only object is read-only; a pointer's target is not its memory.
    let readonly = as_cdata(owner)
        .map(|o| o.get())
        .is_some_and(|o| o.is_readonly() && o.info().kind() != Kind::Pointer);
    let base = Some(owner.clone().unbind());
    e.seal();
    Ok(instantiate_view(cls, elem.clone(), ptr, e.size, base, index, readonly)?.unbind())
}

/// Writes `value` into element `index` of type `elem` at `ptr` in `owner_cd`.
pub fn set_item_at(
    owner_cd: &CData,
    elem_cls: &Bound<'_, PyAny>,
    elem: &StgInfo,
    ptr: *mut u8,
    index: usize,
    value: &Bound<'_, PyAny>,
) -> PyResult<()> {
    let py = value.py();
    if owner_cd.info().kind() != Kind::Pointer {
        owner_cd.check_writable()?;
    }
    if let Some(src) = as_cdata(value) {
        if value.is_instance(elem_cls)? {
            let s = src.get();
            // SAFETY: ptr addresses elem.size writable bytes of the owner; the source
            // instance's memory is valid for its size (same type, same size). `copy`
            // tolerates overlap.
            unsafe { memory::move_bytes(s.ptr(), ptr, elem.size.min(s.size())) };
            // ctypes: assigning an instance copies it and keeps what it keeps: the
            // container of its memory's owner (made an empty dict there if it had none,
            // and shared; a callback's holds its trampoline).
            if let Some(kept) = s.container_objects(py) {
                owner_cd.keep_alive(py, index as isize, kept.unbind())?;
            }
            return Ok(());
        }
        if elem.kind() == Kind::Pointer && src.get().info().kind() == Kind::Array {
            if let (Some(want), Some(have)) = (&elem.pointer_cls(py), &src.get().info().proto()) {
                if have.bind(py).cast::<PyType>()?.is_subclass(want.bind(py))? {
                    let addr = src.get().ptr() as u64;
                    // SAFETY: a pointer element is pointer-sized and writable.
                    unsafe { memory::write_bits(ptr, TypeCode::VoidP.size(), false, addr) };
                    // ctypes: as converting the array to a pointer, the array itself is
                    // kept, with what it keeps: `(its container, the array)`.
                    let kept = src.get().container_objects(py);
                    let pair = pyo3::types::PyTuple::new(
                        py,
                        [
                            kept.unwrap_or_else(|| py.None().into_bound(py)),
                            value.clone(),
                        ],
                    )?;
                    owner_cd.keep_alive(py, index as isize, pair.into_any().unbind())?;
                    return Ok(());
                }
            }
        }
    }
    if elem.kind() == Kind::Pointer && value.is_none() {
        // ctypes: `None` is the NULL pointer (what the field kept alive stays kept).
        // SAFETY: a pointer element is pointer-sized and writable.
        unsafe { memory::write_bits(ptr, TypeCode::VoidP.size(), false, 0) };
        return Ok(());
    }
    if elem.kind() != Kind::Simple {
        if let Ok(t) = value.cast::<pyo3::types::PyTuple>() {
            // ctypes: a tuple is the arguments of the element's type (an array, structure,
            // union, pointer or function pointer), whose instance is then stored; a
            // failure is reported as a RuntimeError naming the type.
            let made = elem_cls.call1(t).map_err(|e| {
                let name = elem_cls
                    .cast::<PyType>()
                    .ok()
                    .and_then(|c| c.name().ok())
                    .map(|n| n.to_string())
                    .unwrap_or_default();
                let err = pyo3::exceptions::PyRuntimeError::new_err(format!(
                    "({name}) {}: {}",
                    e.get_type(py)
                        .name()
                        .map(|n| n.to_string())
                        .unwrap_or_default(),
                    e.value(py)
                ));
                err.set_cause(py, Some(e));
                err
            })?;
            return set_item_at(owner_cd, elem_cls, elem, ptr, index, &made);
        }
    }
    if let (Some(code), None) = (elem.code(), as_cdata(value)) {
        // ctypes converts only plain Python values; another instance must be of the
        // element's type (the copy above).
        // SAFETY: ptr addresses code.size() writable bytes of the owner.
        let keep = match unsafe { store(ptr, code, elem.swapped, value) } {
            Ok(keep) => keep,
            // An object of the stdlib's ctypes: copied as the ferrotype instance viewing it.
            Err(e) => match foreign::adopt(value, Some(elem_cls))? {
                Some(view) => return set_item_at(owner_cd, elem_cls, elem, ptr, index, &view),
                None => return Err(e),
            },
        };
        if let Some(k) = keep {
            owner_cd.keep_alive(py, index as isize, k)?;
        }
        return Ok(());
    }
    if let Some(view) = foreign::adopt(value, Some(elem_cls))? {
        // An object of the stdlib's ctypes: copied as the ferrotype instance viewing it.
        return set_item_at(owner_cd, elem_cls, elem, ptr, index, &view);
    }
    let (have, want) = (value.get_type().name()?, elem_cls.cast::<PyType>()?.name()?);
    Err(PyTypeError::new_err(if as_cdata(value).is_some() {
        format!("incompatible types, {have} instance instead of {want} instance")
    } else {
        format!("expected {want} instance, got {have}")
    }))
}

/// An integer subscript as ctypes reads it: anything with `__index__`; an int beyond
/// `isize` raises `IndexError`, as Python sequences do, and a non-integer key the error
/// `not_index` makes.
pub fn index_key(key: &Bound<'_, PyAny>, not_index: impl FnOnce() -> PyErr) -> PyResult<isize> {
    // The common key, a small exact int, read straight from the object.
    if let Some(i) = crate::capi::values::exact_i64(key).and_then(|v| isize::try_from(v).ok()) {
        return Ok(i);
    }
    let py = key.py();
    match key.extract::<isize>() {
        Ok(i) => Ok(i),
        Err(e) if e.is_instance_of::<pyo3::exceptions::PyOverflowError>(py) => {
            Err(PyIndexError::new_err(format!(
                "cannot fit '{}' into an index-sized integer",
                key.get_type().name()?
            )))
        }
        Err(e) if e.is_instance_of::<PyTypeError>(py) => Err(not_index()),
        Err(e) => Err(e),
    }
}

/// The bytes (`c_char`) or str (`c_wchar`) in `length` units at `ptr`, up to the first
/// NUL: how ctypes reads a character array's `.value` and character array fields.
pub fn char_units_value(
    py: Python<'_>,
    ptr: *const u8,
    length: usize,
    code: TypeCode,
) -> PyResult<Py<PyAny>> {
    let size = code.size();
    if code == TypeCode::Char {
        // SAFETY: the caller's memory holds `length` bytes.
        let bytes = unsafe { memory::bytes(ptr, length) };
        // SAFETY: searches the same `length` bytes.
        let nul = unsafe { libc::memchr(ptr.cast(), 0, length) };
        let end = if nul.is_null() {
            length
        } else {
            nul as usize - ptr as usize
        };
        return Ok(new_bytes(py, &bytes[..end])?.into_any().unbind());
    }
    let wide: Vec<libc::wchar_t> = (0..length)
        // SAFETY: within the caller's `length` units.
        .map(|i| unsafe { std::ptr::read_unaligned(ptr.add(i * size).cast::<libc::wchar_t>()) })
        .take_while(|&w| w != 0)
        .collect();
    // SAFETY: `wide` holds wide.len() units.
    unsafe { str_from_wide(py, wide.as_ptr(), wide.len()) }
}

/// Stores bytes (`c_char`) or a str (`c_wchar`) into `length` units at `ptr`,
/// NUL-terminating when there is room: ctypes' `.value` setter of character arrays, or
/// with `field`, its setter of character-array structure fields (whose bytes are taken
/// up to the first NUL, and whose messages name the lengths).
pub fn set_char_units(
    ptr: *mut u8,
    length: usize,
    code: TypeCode,
    value: &Bound<'_, PyAny>,
    field: bool,
) -> PyResult<()> {
    let wide;
    let data: &[u8] = if code == TypeCode::Char {
        let b = value.cast::<PyBytes>().map_err(|_| {
            PyTypeError::new_err(if field {
                format!("expected bytes, {} found", type_name(value))
            } else {
                format!("bytes expected instead of {} instance", type_name(value))
            })
        })?;
        let mut data = b.as_bytes();
        if field {
            data = &data[..data.iter().position(|&c| c == 0).unwrap_or(data.len())];
        }
        if data.len() > length {
            return Err(PyValueError::new_err(if field {
                format!("bytes too long ({}, maximum length {length})", data.len())
            } else {
                "byte string too long".to_owned()
            }));
        }
        data
    } else {
        let s = value.cast::<PyString>().map_err(|_| {
            PyTypeError::new_err(format!(
                "unicode string expected instead of {} instance",
                type_name(value)
            ))
        })?;
        wide = wide_bytes(s)?;
        let units = wide.as_bytes().len() / code.size() - 1;
        if units > length {
            return Err(PyValueError::new_err(if field {
                format!("string too long ({units}, maximum length {length})")
            } else {
                "string too long".to_owned()
            }));
        }
        let b = wide.as_bytes();
        &b[..b.len() - code.size()]
    };
    let unit = code.size();
    let with_nul = data.len() / unit < length;
    // SAFETY: data.len() <= length * unit bytes, plus one unit for the NUL only when
    // there is room; the caller's memory holds length * unit bytes.
    unsafe {
        memory::copy_bytes(data.as_ptr(), ptr, data.len());
        if with_nul {
            memory::zero_bytes(ptr.add(data.len()), unit);
        }
    }
    Ok(())
}
