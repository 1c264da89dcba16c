//! `Array`: fixed-length arrays (`c_int * 4`), and the element access shared with
//! pointers: an element of a simple type reads as its Python value, any other element
//! as an instance sharing the container's memory (and keeping it alive).

use ferrotype_core::TypeCode;
use pyo3::exceptions::{PyIndexError, PyTypeError, PyValueError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyDict, PyInt, PyList, PySlice, PyString, PyTuple, PyType};

use crate::cdata::{as_cdata, instantiate, CData};
use crate::convert;
use crate::stginfo::{Kind, StgInfo};

/// The base of the array types.
#[pyclass(extends = CData, subclass, frozen, module = "ferrotype._native", name = "Array")]
pub struct Array;

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
    if e.kind == Kind::Simple && e.direct {
        let code = e.code.expect("simple type has a code");
        // SAFETY: ptr addresses one element of the owner's memory (checked by callers).
        return unsafe { convert::load(py, ptr, code, e.swapped) };
    }
    let cls = elem_cls.cast::<PyType>()?;
    // A part of a read-only object is read-only; a pointer's target is not its memory.
    let readonly = as_cdata(owner)
        .map(|o| o.get())
        .is_some_and(|o| o.is_readonly() && o.info().kind != Kind::Pointer);
    let view = CData::new_view(
        elem.clone().unbind(),
        ptr,
        e.size,
        Some(owner.clone().unbind()),
        index,
    )
    .read_only(readonly);
    Ok(instantiate(cls, view)?.unbind())
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
    if owner_cd.info().kind != Kind::Pointer {
        owner_cd.check_writable()?;
    }
    if let Some(src) = as_cdata(value) {
        if value.is_instance(elem_cls)? {
            let s = src.get();
            // SAFETY: ptr addresses elem.size writable bytes of the owner; the source
            // instance's memory is valid for its size (same type, same size). `copy`
            // tolerates overlap.
            unsafe { std::ptr::copy(s.ptr(), ptr, elem.size.min(s.size())) };
            // ctypes: assigning an instance copies it and keeps what it keeps alive. A
            // function pointer's code (a callback's trampoline) lives in the object
            // itself, so that is kept.
            let kept = if s.info().kind == Kind::FuncPtr {
                Some(value.clone().unbind())
            } else {
                s.kept_objects(py)
            };
            if let Some(kept) = kept {
                owner_cd.keep_alive(py, index, kept)?;
            }
            return Ok(());
        }
        if elem.kind == Kind::Pointer && src.get().info().kind == Kind::Array {
            if let (Some(want), Some(have)) = (&elem.proto, &src.get().info().proto) {
                if have.bind(py).cast::<PyType>()?.is_subclass(want.bind(py))? {
                    let addr = src.get().ptr() as u64;
                    // SAFETY: a pointer element is pointer-sized and writable.
                    unsafe {
                        ferrotype_core::memory::write_bits(ptr, TypeCode::VoidP.size(), false, addr)
                    };
                    owner_cd.keep_alive(py, index, value.clone().unbind())?;
                    return Ok(());
                }
            }
        }
    }
    if elem.kind == Kind::Pointer && value.is_none() {
        // ctypes: `None` is the NULL pointer (what the field kept alive stays kept).
        // SAFETY: a pointer element is pointer-sized and writable.
        unsafe { ferrotype_core::memory::write_bits(ptr, TypeCode::VoidP.size(), false, 0) };
        return Ok(());
    }
    if elem.kind != Kind::Simple {
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
    if elem.kind == Kind::Simple && as_cdata(value).is_none() {
        // ctypes converts only plain Python values; another instance must be of the
        // element's type (the copy above).
        let code = elem.code.expect("simple type has a code");
        // SAFETY: ptr addresses code.size() writable bytes of the owner.
        let keep = unsafe { convert::store(ptr, code, elem.swapped, value)? };
        if let Some(k) = keep {
            owner_cd.keep_alive(py, index, k)?;
        }
        return Ok(());
    }
    let (have, want) = (value.get_type().name()?, elem_cls.cast::<PyType>()?.name()?);
    Err(PyTypeError::new_err(if as_cdata(value).is_some() {
        format!("incompatible types, {have} instance instead of {want} instance")
    } else {
        format!("expected {want} instance, got {have}")
    }))
}

fn elem_of<'py>(py: Python<'py>, info: &StgInfo) -> (Bound<'py, PyAny>, Bound<'py, StgInfo>) {
    let cls = info
        .proto
        .as_ref()
        .expect("array has an element type")
        .bind(py)
        .clone();
    let ei = info
        .proto_info
        .as_ref()
        .expect("array has element info")
        .bind(py)
        .clone();
    (cls, ei)
}

/// An integer subscript as ctypes reads it: anything with `__index__`; an int beyond
/// `isize` raises `IndexError`, as Python sequences do, and a non-integer key the error
/// `not_index` makes.
pub(crate) fn index_key(
    key: &Bound<'_, PyAny>,
    not_index: impl FnOnce() -> PyErr,
) -> PyResult<isize> {
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

fn not_an_index() -> PyErr {
    PyTypeError::new_err("indices must be integers")
}

fn normalize_index(index: isize, len: usize) -> PyResult<usize> {
    let i = if index < 0 {
        index + len as isize
    } else {
        index
    };
    if i < 0 || i as usize >= len {
        return Err(PyIndexError::new_err("invalid index"));
    }
    Ok(i as usize)
}

/// The bytes or str of a char array range, as ctypes returns slices of them.
fn char_slice(py: Python<'_>, cd: &CData, code: TypeCode, idx: &[usize]) -> PyResult<Py<PyAny>> {
    let size = code.size();
    let base = cd.ptr();
    if code == TypeCode::Char {
        // SAFETY: each index is within the array (from PySlice::indices).
        let bytes: Vec<u8> = idx.iter().map(|&i| unsafe { *base.add(i) }).collect();
        return Ok(PyBytes::new(py, &bytes).into_any().unbind());
    }
    let wide: Vec<libc::wchar_t> = idx
        .iter()
        // SAFETY: as above, in units of wchar_t.
        .map(|&i| unsafe { std::ptr::read_unaligned(base.add(i * size).cast::<libc::wchar_t>()) })
        .collect();
    // SAFETY: `wide` holds wide.len() units.
    unsafe { convert::wide_to_str(py, wide.as_ptr(), wide.len()) }
}

#[pymethods]
impl Array {
    #[new]
    #[classmethod]
    #[pyo3(signature = (*_args, **_kwargs))]
    fn new(
        cls: &Bound<'_, PyType>,
        _args: &Bound<'_, PyTuple>,
        _kwargs: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyClassInitializer<Self>> {
        let cd = crate::cdata::construct(cls, Kind::Array)?;
        Ok(PyClassInitializer::from(cd).add_subclass(Array))
    }

    #[pyo3(signature = (*args))]
    fn __init__(slf: &Bound<'_, Self>, args: &Bound<'_, PyTuple>) -> PyResult<()> {
        init_array(slf, args)
    }

    fn __len__(slf: &Bound<'_, Self>) -> usize {
        slf.as_super().get().info().length
    }

    fn __getitem__(slf: &Bound<'_, Self>, key: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        let cd = slf.as_super().get();
        let info = cd.info();
        let (ecls, einfo) = elem_of(py, info);
        let esize = einfo.get().size;
        if let Ok(slice) = key.cast::<PySlice>() {
            let ind = slice.indices(info.length as isize)?;
            let idx: Vec<usize> = (0..ind.slicelength)
                .map(|k| (ind.start + k as isize * ind.step) as usize)
                .collect();
            if let Some(code) = info.char_elem {
                return char_slice(py, cd, code, &idx);
            }
            let items = idx
                .iter()
                .map(|&i| {
                    get_item_at(
                        slf.as_any(),
                        &ecls,
                        &einfo,
                        cd.ptr().wrapping_add(i * esize),
                        i,
                    )
                })
                .collect::<PyResult<Vec<_>>>()?;
            return Ok(PyList::new(py, items)?.into_any().unbind());
        }
        let index = index_key(key, not_an_index)?;
        let i = normalize_index(index, info.length)?;
        get_item_at(
            slf.as_any(),
            &ecls,
            &einfo,
            cd.ptr().wrapping_add(i * esize),
            i,
        )
    }

    fn __setitem__(
        slf: &Bound<'_, Self>,
        key: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let py = slf.py();
        let cd = slf.as_super().get();
        let info = cd.info();
        let (ecls, einfo) = elem_of(py, info);
        let e = einfo.get();
        if let Ok(slice) = key.cast::<PySlice>() {
            let ind = slice.indices(info.length as isize)?;
            let values: Vec<Bound<'_, PyAny>> = if info.char_elem.is_some()
                && (value.is_instance_of::<PyBytes>() || value.is_instance_of::<PyString>())
            {
                value.try_iter()?.collect::<PyResult<_>>()?
            } else {
                value
                    .try_iter()
                    .map_err(|_| PyValueError::new_err("Can only assign sequence of same size"))?
                    .collect::<PyResult<_>>()?
            };
            if values.len() != ind.slicelength {
                return Err(PyValueError::new_err(
                    "Can only assign sequence of same size",
                ));
            }
            for (k, v) in values.iter().enumerate() {
                let i = (ind.start + k as isize * ind.step) as usize;
                let v = if info.char_elem == Some(TypeCode::Char)
                    && v.is_instance_of::<pyo3::types::PyInt>()
                {
                    PyBytes::new(py, &[v.extract::<u8>()?]).into_any()
                } else {
                    v.clone()
                };
                set_item_at(cd, &ecls, e, cd.ptr().wrapping_add(i * e.size), i, &v)?;
            }
            return Ok(());
        }
        let index = index_key(key, not_an_index)?;
        let i = normalize_index(index, info.length)?;
        set_item_at(cd, &ecls, e, cd.ptr().wrapping_add(i * e.size), i, value)
    }

    fn __delitem__(&self, _key: &Bound<'_, PyAny>) -> PyResult<()> {
        Err(PyTypeError::new_err("Array does not support item deletion"))
    }
}

fn char_array<'a>(obj: &'a Bound<'_, PyAny>) -> PyResult<(&'a Bound<'a, CData>, TypeCode)> {
    let cd = as_cdata(obj).ok_or_else(|| PyTypeError::new_err("expected a character array"))?;
    let code = cd
        .get()
        .info()
        .char_elem
        .ok_or_else(|| PyTypeError::new_err("expected a character array"))?;
    Ok((cd, code))
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
        let bytes = unsafe { std::slice::from_raw_parts(ptr, length) };
        // SAFETY: searches the same `length` bytes.
        let nul = unsafe { libc::memchr(ptr.cast(), 0, length) };
        let end = if nul.is_null() {
            length
        } else {
            nul as usize - ptr as usize
        };
        return Ok(PyBytes::new(py, &bytes[..end]).into_any().unbind());
    }
    let wide: Vec<libc::wchar_t> = (0..length)
        // SAFETY: within the caller's `length` units.
        .map(|i| unsafe { std::ptr::read_unaligned(ptr.add(i * size).cast::<libc::wchar_t>()) })
        .take_while(|&w| w != 0)
        .collect();
    // SAFETY: `wide` holds wide.len() units.
    unsafe { convert::wide_to_str(py, wide.as_ptr(), wide.len()) }
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
                format!("expected bytes, {} found", convert::type_name(value))
            } else {
                format!(
                    "bytes expected instead of {} instance",
                    convert::type_name(value)
                )
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
                convert::type_name(value)
            ))
        })?;
        wide = convert::wide_bytes(s)?;
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
        std::ptr::copy_nonoverlapping(data.as_ptr(), ptr, data.len());
        if with_nul {
            std::ptr::write_bytes(ptr.add(data.len()), 0, unit);
        }
    }
    Ok(())
}

/// `c_char` and `c_wchar`, registered by the Python layer once they exist.
static CHAR_TYPES: PyOnceLock<(Py<PyType>, Py<PyType>)> = PyOnceLock::new();

/// Array types made by the string-buffer functions, by element kind and length: the
/// very classes `c_char * n` returns (which caches them for good), found without the
/// metaclass's `__mul__`.
static CHAR_ARRAYS: PyOnceLock<[Py<PyDict>; 2]> = PyOnceLock::new();

/// Registers `c_char` and `c_wchar` for [`create_string_buffer`] and
/// [`create_unicode_buffer`].
#[pyfunction]
#[pyo3(name = "_set_char_types")]
pub fn set_char_types(c_char: Bound<'_, PyType>, c_wchar: Bound<'_, PyType>) -> PyResult<()> {
    let py = c_char.py();
    CHAR_TYPES
        .set(py, (c_char.unbind(), c_wchar.unbind()))
        .map_err(|_| PyValueError::new_err("character types are already registered"))
}

/// `elem * length` for `c_char` (`wide` false) or `c_wchar`, and its type information.
fn char_array_type<'py>(
    py: Python<'py>,
    wide: bool,
    length: &Bound<'py, PyAny>,
) -> PyResult<(Bound<'py, PyType>, Bound<'py, StgInfo>)> {
    let (c_char, c_wchar) = CHAR_TYPES
        .get(py)
        .ok_or_else(|| PyTypeError::new_err("character types are not registered"))?;
    let cache = &CHAR_ARRAYS
        .get_or_init(py, || [PyDict::new(py).unbind(), PyDict::new(py).unbind()])
        [usize::from(wide)];
    let cache = cache.bind(py);
    let exact = length.is_exact_instance_of::<PyInt>();
    // The cache maps a length to `(class, type information)`.
    if let Some(entry) = cache.get_item(length)?.filter(|_| exact) {
        let (cls, info): (Bound<'py, PyType>, Bound<'py, StgInfo>) = entry.extract()?;
        return Ok((cls, info));
    }
    let elem = if wide { c_wchar } else { c_char };
    // The metaclass's `*`: its checks and messages, and its cache.
    let cls = elem.bind(py).as_any().mul(length)?.cast_into::<PyType>()?;
    let info = crate::stginfo::info_of(cls.as_any())
        .ok_or_else(|| PyTypeError::new_err("not a ferrotype array type"))?;
    if exact {
        cache.set_item(length, (&cls, &info))?;
    }
    Ok((cls, info))
}

/// ctypes' `create_string_buffer` (`wide` false) and `create_unicode_buffer`: a new
/// array from a size, or from a string copied in and NUL-terminated, sized for it
/// unless `size` is given.
fn make_char_buffer<'py>(
    init: &Bound<'py, PyAny>,
    size: Option<&Bound<'py, PyAny>>,
    wide: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let py = init.py();
    let text = if wide {
        init.is_instance_of::<PyString>()
    } else {
        init.is_instance_of::<PyBytes>()
    };
    let length: Bound<'py, PyAny> = if text {
        match size {
            Some(s) => s.clone(),
            None => {
                let units = if wide {
                    let s = init.cast::<PyString>()?;
                    convert::wide_bytes(s)?.as_bytes().len() / TypeCode::WChar.size()
                } else {
                    init.cast::<PyBytes>()?.as_bytes().len() + 1
                };
                units.into_pyobject(py)?.into_any()
            }
        }
    } else if init.is_instance_of::<PyInt>() {
        init.clone()
    } else {
        // ctypes raises TypeError(init).
        return Err(PyTypeError::new_err((init.clone().unbind(),)));
    };
    let (cls, info) = char_array_type(py, wide, &length)?;
    let obj = instantiate(&cls, CData::for_type(&info)?)?;
    if text {
        // The pointer is taken from the instance: small buffers live inside it.
        let cd = as_cdata(&obj).ok_or_else(|| PyTypeError::new_err("not a ferrotype array"))?;
        let code = if wide {
            TypeCode::WChar
        } else {
            TypeCode::Char
        };
        set_char_units(cd.get().ptr(), info.get().length, code, init, false)?;
    }
    Ok(obj)
}

/// ctypes' `create_string_buffer(init, size=None)`.
#[pyfunction]
#[pyo3(signature = (init, size = None))]
pub fn create_string_buffer<'py>(
    init: &Bound<'py, PyAny>,
    size: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    make_char_buffer(init, size, false)
}

/// ctypes' `create_unicode_buffer(init, size=None)`.
#[pyfunction]
#[pyo3(signature = (init, size = None))]
pub fn create_unicode_buffer<'py>(
    init: &Bound<'py, PyAny>,
    size: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    make_char_buffer(init, size, true)
}

/// `value` of a `c_char`/`c_wchar` array: the contents up to the first NUL.
#[pyfunction]
pub fn char_array_get_value(obj: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
    let (cd, code) = char_array(obj)?;
    let c = cd.get();
    char_units_value(obj.py(), c.ptr(), c.info().length, code)
}

/// Sets `value` of a `c_char`/`c_wchar` array, NUL-terminating when there is room.
#[pyfunction]
pub fn char_array_set_value(obj: &Bound<'_, PyAny>, value: &Bound<'_, PyAny>) -> PyResult<()> {
    let (cd, code) = char_array(obj)?;
    let c = cd.get();
    c.check_writable()?;
    set_char_units(c.ptr(), c.info().length, code, value, false)
}

/// `raw` of a `c_char` array: all its bytes.
#[pyfunction]
pub fn char_array_get_raw(obj: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
    let (cd, _) = char_array(obj)?;
    Ok(PyBytes::new(obj.py(), &cd.get().to_vec())
        .into_any()
        .unbind())
}

/// Sets `raw` of a `c_char` array from a bytes-like object.
#[pyfunction]
pub fn char_array_set_raw(obj: &Bound<'_, PyAny>, value: &Bound<'_, PyAny>) -> PyResult<()> {
    let (cd, _) = char_array(obj)?;
    cd.get().check_writable()?;
    let data: Vec<u8> = if let Ok(b) = value.cast::<PyBytes>() {
        b.as_bytes().to_vec()
    } else {
        pyo3::buffer::PyBuffer::<u8>::get(value)
            .map_err(|_| {
                PyTypeError::new_err(format!(
                    "a bytes-like object is required, not '{}'",
                    crate::convert::type_name(value)
                ))
            })?
            .to_vec(obj.py())?
    };
    if data.len() > cd.get().size() {
        return Err(PyValueError::new_err("byte string too long"));
    }
    cd.get().write_bytes(&data);
    Ok(())
}

/// The `value` and `raw` attributes of character array classes (installed on each
/// `c_char`/`c_wchar` array class by its metaclass): a descriptor whose read enters
/// through a raw `tp_descr_get` slot (see [`install_char_attr_slots`]).
#[pyclass(frozen, module = "ferrotype._native", name = "CharArrayAttr")]
pub struct CharArrayAttr {
    /// `raw` (all bytes) rather than `value` (up to the first NUL).
    raw: bool,
}

impl CharArrayAttr {
    fn read(&self, obj: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        if self.raw {
            char_array_get_raw(obj)
        } else {
            char_array_get_value(obj)
        }
    }
}

#[pymethods]
impl CharArrayAttr {
    /// ctypes: `del buf.value` raises TypeError, `del buf.raw` AttributeError.
    fn __delete__(slf: &Bound<'_, Self>, _obj: &Bound<'_, PyAny>) -> PyResult<()> {
        if slf.get().raw {
            Err(pyo3::exceptions::PyAttributeError::new_err(
                "cannot delete attribute",
            ))
        } else {
            Err(PyTypeError::new_err("can't delete attribute"))
        }
    }

    #[new]
    fn new(raw: bool) -> Self {
        CharArrayAttr { raw }
    }

    fn __get__(
        slf: &Bound<'_, Self>,
        obj: Option<&Bound<'_, PyAny>>,
        _owner: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        match obj.filter(|o| !o.is_none()) {
            Some(o) => slf.get().read(o),
            None => Ok(slf.clone().into_any().unbind()),
        }
    }

    fn __set__(
        slf: &Bound<'_, Self>,
        obj: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        if slf.get().raw {
            char_array_set_raw(obj, value)
        } else {
            char_array_set_value(obj, value)
        }
    }
}

/// The raw descriptor-get slot of [`CharArrayAttr`]: `buf.value` without PyO3's generic
/// argument handling.
///
/// # Safety
/// Called by the interpreter with the GIL held, `descr` a `CharArrayAttr` (the slot is
/// installed on that final class only) and `obj` NULL, `None` or a live object.
unsafe extern "C" fn char_attr_descr_get(
    descr: *mut pyo3::ffi::PyObject,
    obj: *mut pyo3::ffi::PyObject,
    _owner: *mut pyo3::ffi::PyObject,
) -> *mut pyo3::ffi::PyObject {
    // SAFETY: the interpreter holds the GIL when it calls a descriptor slot.
    let py = unsafe { Python::assume_attached() };
    crate::errors::run_slot(py, "ferrotype: a Rust panic while reading a string", || {
        // SAFETY: see the contract: a live CharArrayAttr, borrowed for the call.
        let d = unsafe { pyo3::Borrowed::from_ptr(py, descr).cast_unchecked::<CharArrayAttr>() };
        // SAFETY: NULL is checked first; otherwise `obj` is a live object.
        if obj.is_null() || obj == unsafe { pyo3::ffi::Py_None() } {
            return Ok(d.to_owned().into_any().unbind());
        }
        // SAFETY: a live object borrowed for the call.
        let o = unsafe { pyo3::Borrowed::from_ptr(py, obj) };
        d.get().read(&o)
    })
}

/// Installs the raw descriptor-get slot on `CharArrayAttr` (at module initialisation).
pub fn install_char_attr_slots(py: Python<'_>) {
    use pyo3::PyTypeInfo;
    let tp = CharArrayAttr::type_object(py).as_type_ptr();
    // SAFETY: the type object is initialised, final (not subclassable) and has no
    // instance yet; replacing a slot and calling PyType_Modified is the documented way
    // to change a type's behaviour after creation.
    unsafe {
        (*tp).tp_descr_get = Some(char_attr_descr_get);
        pyo3::ffi::PyType_Modified(tp);
    }
}

/// The fast subscript slot of array classes (given to each by `init_array_type`).
pub static SUBSCRIPT: crate::slots::FastSubscript =
    crate::slots::FastSubscript::new(array_subscript);

/// The `mp_subscript` slot of array types: `a[i]` for an exact int `i` without PyO3's
/// method trampoline (slices and other keys take the generated slot).
unsafe extern "C" fn array_subscript(
    obj: *mut ffi::PyObject,
    key: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: the slot's own arguments, GIL held.
    if let Some(r) = unsafe { SUBSCRIPT.other_key(obj, key) } {
        return r;
    }
    // SAFETY: the interpreter holds the GIL when it calls a slot.
    let py = unsafe { Python::assume_attached() };
    crate::errors::run_slot(py, "ferrotype: a Rust panic while indexing", || {
        // SAFETY: `obj` and `key` are live objects borrowed for the call.
        let (o, k) = unsafe { (Bound::ref_from_ptr(py, &obj), Bound::ref_from_ptr(py, &key)) };
        // SAFETY: the slot is only installed on array types (see `SUBSCRIPT`),
        // whose instances are `Array`s.
        let slf = unsafe { o.cast_unchecked::<Array>() };
        let index = index_key(k, not_an_index)?;
        let cd = slf.as_super().get();
        let info = cd.info();
        let i = normalize_index(index, info.length)?;
        let (ecls, einfo) = elem_of(py, info);
        let ptr = cd.ptr().wrapping_add(i * einfo.get().size);
        get_item_at(slf.as_any(), &ecls, &einfo, ptr, i)
    })
}

/// `__init__` of arrays: the first elements, in order.
pub fn init_array(slf: &Bound<'_, Array>, args: &Bound<'_, PyTuple>) -> PyResult<()> {
    for (i, v) in args.iter().enumerate() {
        Array::__setitem__(slf, &i.into_pyobject(slf.py())?.into_any(), &v)?;
    }
    Ok(())
}
