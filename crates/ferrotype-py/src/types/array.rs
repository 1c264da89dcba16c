//! `Array`: fixed-length arrays (`c_int * 4`): their type information, instances,
//! subscripts, and the character arrays' `value`/`raw` and string buffers.

use crate::capi::values::new_bytes;
use ferrotype_core::{FfiType, TypeCode};
use pyo3::exceptions::{
    PyAttributeError, PyIndexError, PyOverflowError, PyTypeError, PyValueError,
};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyInt, PySlice, PyString, PyTuple, PyType};
use std::sync::Mutex;

use crate::capi::objects::replaced_constructor;
use crate::capi::slots::{DescrGet, FastSubscript, IntSubscript, SeqItem};
use crate::capi::values::{list_from_fn, sequence_item, sequence_len, str_from_wide};
use crate::capi::version;
use crate::codec::element::{
    char_units_value, get_item_at, index_key, set_char_units, set_item_at,
};
use crate::codec::scalar::wide_bytes;
use crate::model::cdata::{as_cdata, CData};
use crate::model::errors::type_name;
use crate::model::registry::instantiate;
use crate::model::stginfo::{info_of, set_info, ArrayInfo, Detail, Kind, StgInfo};

crate::types::data_class!(
    /// The base of the array types.
    Array,
    "Array",
    Kind::Array,
    init_array
);

/// Fills in an array type's information from `_type_` and `_length_`.
#[pyfunction]
pub fn init_array_type(cls: &Bound<'_, PyType>) -> PyResult<()> {
    let py = cls.py();
    SUBSCRIPT.adopt(cls);
    let length = cls
        .getattr(intern!(py, "_length_"))
        .map_err(|_| PyAttributeError::new_err("class must define a '_length_' attribute"))?;
    if !length.is_instance_of::<pyo3::types::PyInt>() {
        return Err(PyTypeError::new_err(
            "The '_length_' attribute must be an integer",
        ));
    }
    let length: i128 = length
        .extract()
        .map_err(|_| PyOverflowError::new_err("The '_length_' attribute is too large"))?;
    if length < 0 {
        return Err(PyValueError::new_err(
            "The '_length_' attribute must not be negative",
        ));
    }
    let length = usize::try_from(length)
        .ok()
        .filter(|&n| n <= isize::MAX as usize)
        .ok_or_else(|| PyOverflowError::new_err("The '_length_' attribute is too large"))?;
    let proto = cls
        .getattr(intern!(py, "_type_"))
        .map_err(|_| PyAttributeError::new_err("class must define a '_type_' attribute"))?;
    let Some(elem) = info_of(&proto).filter(|_| proto.is_instance_of::<PyType>()) else {
        return Err(PyTypeError::new_err("_type_ must have storage info"));
    };
    let e = elem.get();
    // The elements are laid out with the element type's present size.
    e.seal();
    let size = e
        .size
        .checked_mul(length)
        .filter(|&s| s <= isize::MAX as usize)
        .ok_or_else(|| PyOverflowError::new_err("array too large"))?;
    let mut shape = vec![length as isize];
    shape.extend_from_slice(&e.shape);
    let char_elem = e
        .code()
        .filter(|c| matches!(c, TypeCode::Char | TypeCode::WChar));
    set_info(
        cls,
        StgInfo {
            format: e.format_cstr().to_owned(),
            shape,
            has_pointer: e.has_pointer,
            // Arrays decay to a pointer when passed to a function.
            ..StgInfo::new(
                Detail::Array(ArrayInfo {
                    length,
                    elem: proto.clone().unbind(),
                    elem_info: elem.clone().unbind(),
                    char_elem,
                }),
                size,
                e.align,
                FfiType::Scalar(TypeCode::VoidP),
                "",
            )
        },
    )?;
    Ok(())
}

/// An array instance's element type and its information.
fn elem_of<'py>(
    py: Python<'py>,
    info: &StgInfo,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, StgInfo>)> {
    let a = info
        .array()
        .ok_or_else(|| PyTypeError::new_err("not an array type"))?;
    Ok((a.elem.bind(py).clone(), a.elem_info.bind(py).clone()))
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

/// The bytes or str of a char array range (`count` elements from `start`, `step`
/// apart), as ctypes returns slices of them; MemoryError when it cannot be held.
fn char_slice(
    py: Python<'_>,
    cd: &CData,
    code: TypeCode,
    (start, step, count): (usize, isize, usize),
) -> PyResult<Py<PyAny>> {
    let size = code.size();
    let base = cd.ptr();
    let at = |k: usize| (start as isize + k as isize * step) as usize;
    if code == TypeCode::Char {
        if step == 1 {
            // SAFETY: the range lies within the array (from PySlice::indices).
            let bytes = unsafe { ferrotype_core::memory::bytes(base.add(start), count) };
            return Ok(new_bytes(py, bytes)?.into_any().unbind());
        }
        let mut bytes = CData::try_zeroed_vec(count)?;
        for (k, b) in bytes.iter_mut().enumerate() {
            // SAFETY: each index is within the array (from PySlice::indices).
            *b = unsafe { *base.add(at(k)) };
        }
        return Ok(new_bytes(py, &bytes)?.into_any().unbind());
    }
    let mut wide: Vec<libc::wchar_t> = Vec::new();
    wide.try_reserve_exact(count)
        .map_err(|_| pyo3::exceptions::PyMemoryError::new_err(()))?;
    // SAFETY: as above, in units of wchar_t.
    wide.extend((0..count).map(|k| unsafe {
        std::ptr::read_unaligned(base.add(at(k) * size).cast::<libc::wchar_t>())
    }));
    // SAFETY: `wide` holds wide.len() units.
    unsafe { str_from_wide(py, wide.as_ptr(), wide.len()) }
}

#[pymethods]
impl Array {
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
        init_array(slf.as_super(), args, None)
    }

    fn __len__(slf: &Bound<'_, Self>) -> usize {
        slf.as_super().get().info().length()
    }

    fn __getitem__(slf: &Bound<'_, Self>, key: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        let cd = slf.as_super().get();
        let info = cd.info();
        let (ecls, einfo) = elem_of(py, info)?;
        let esize = einfo.get().size;
        if let Ok(slice) = key.cast::<PySlice>() {
            let ind = slice.indices(info.length() as isize)?;
            let count = ind.slicelength;
            if let Some(code) = info.char_elem() {
                return char_slice(py, cd, code, (ind.start as usize, ind.step, count));
            }
            let items = list_from_fn(py, count, |k| {
                let i = (ind.start + k as isize * ind.step) as usize;
                get_item_at(
                    slf.as_any(),
                    &ecls,
                    &einfo,
                    cd.ptr().wrapping_add(i * esize),
                    i,
                )
            })?;
            return Ok(items.into_any().unbind());
        }
        let index = index_key(key, not_an_index)?;
        let i = normalize_index(index, info.length())?;
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
        let (ecls, einfo) = elem_of(py, info)?;
        let e = einfo.get();
        if let Ok(slice) = key.cast::<PySlice>() {
            let ind = slice.indices(info.length() as isize)?;
            // ctypes: the right-hand side must be a sequence whose length is the
            // slice's, asked before any item is read (an iterator, a dict or a pointer,
            // which has no length and iterates without end, is refused at once); its
            // items are then read by index.
            if sequence_len(value) != Some(ind.slicelength) {
                return Err(PyValueError::new_err(
                    "Can only assign sequence of same size",
                ));
            }
            for k in 0..ind.slicelength {
                let v = sequence_item(value, k)?;
                let i = (ind.start + k as isize * ind.step) as usize;
                let v = if info.char_elem() == Some(TypeCode::Char)
                    && v.is_instance_of::<pyo3::types::PyInt>()
                {
                    PyBytes::new(py, &[v.extract::<u8>()?]).into_any()
                } else {
                    v
                };
                set_item_at(cd, &ecls, e, cd.ptr().wrapping_add(i * e.size), i, &v)?;
            }
            return Ok(());
        }
        let index = index_key(key, not_an_index)?;
        let i = normalize_index(index, info.length())?;
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
        .char_elem()
        .ok_or_else(|| PyTypeError::new_err("expected a character array"))?;
    Ok((cd, code))
}

/// `c_char` and `c_wchar`, registered by the Python layer once they exist, and the
/// array types made by the string-buffer functions, by element kind and length: the
/// very classes `c_char * n` returns (which caches them for good), found without the
/// metaclass's `*`. Registered again when the package is reloaded (ctypes' reload makes
/// new character types, whose arrays the functions then make).
static CHAR_TYPES: Mutex<Option<CharTypes>> = Mutex::new(None);

struct CharTypes {
    c_char: Py<PyType>,
    c_wchar: Py<PyType>,
    arrays: [Py<PyDict>; 2],
}

/// Registers `c_char` and `c_wchar` for [`create_string_buffer`] and
/// [`create_unicode_buffer`], replacing those of an earlier import of the package.
#[pyfunction]
#[pyo3(name = "_set_char_types")]
pub fn set_char_types(c_char: Bound<'_, PyType>, c_wchar: Bound<'_, PyType>) -> PyResult<()> {
    let py = c_char.py();
    let types = CharTypes {
        c_char: c_char.unbind(),
        c_wchar: c_wchar.unbind(),
        arrays: [PyDict::new(py).unbind(), PyDict::new(py).unbind()],
    };
    let old = char_types()?.replace(types);
    // (the old types are released after the lock, as their release may run Python code)
    drop(old);
    Ok(())
}

fn char_types() -> PyResult<std::sync::MutexGuard<'static, Option<CharTypes>>> {
    CHAR_TYPES
        .lock()
        .map_err(|_| PyTypeError::new_err("character types are not registered"))
}

/// `elem * length` for `c_char` (`wide` false) or `c_wchar`, and its type information.
fn char_array_type<'py>(
    py: Python<'py>,
    wide: bool,
    length: &Bound<'py, PyAny>,
) -> PyResult<(Bound<'py, PyType>, Bound<'py, StgInfo>)> {
    let (elem, cache) = {
        let guard = char_types()?;
        let types = guard
            .as_ref()
            .ok_or_else(|| PyTypeError::new_err("character types are not registered"))?;
        let elem = if wide { &types.c_wchar } else { &types.c_char };
        (
            elem.clone_ref(py),
            types.arrays[usize::from(wide)].clone_ref(py),
        )
    };
    let cache = cache.bind(py);
    let exact = length.is_exact_instance_of::<PyInt>();
    // The cache maps a length to `(class, type information)`.
    if let Some(entry) = cache.get_item(length)?.filter(|_| exact) {
        let (cls, info): (Bound<'py, PyType>, Bound<'py, StgInfo>) = entry.extract()?;
        return Ok((cls, info));
    }
    // The metaclass's `*`: its checks and messages, and its cache.
    let cls = elem.bind(py).as_any().mul(length)?.cast_into::<PyType>()?;
    let info =
        info_of(cls.as_any()).ok_or_else(|| PyTypeError::new_err("not a ferrotype array type"))?;
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
                    wide_bytes(s)?.as_bytes().len() / TypeCode::WChar.size()
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
        set_char_units(cd.get().ptr(), info.get().length(), code, init, false)?;
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
    char_units_value(obj.py(), c.ptr(), c.info().length(), code)
}

/// Sets `value` of a `c_char`/`c_wchar` array, NUL-terminating when there is room.
#[pyfunction]
pub fn char_array_set_value(obj: &Bound<'_, PyAny>, value: &Bound<'_, PyAny>) -> PyResult<()> {
    let (cd, code) = char_array(obj)?;
    let c = cd.get();
    c.check_writable()?;
    set_char_units(c.ptr(), c.info().length(), code, value, false)
}

/// `raw` of a `c_char` array: all its bytes.
#[pyfunction]
pub fn char_array_get_raw(obj: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
    let (cd, _) = char_array(obj)?;
    Ok(cd.get().to_bytes(obj.py())?.into_any().unbind())
}

/// Sets `raw` of a `c_char` array from a bytes-like object.
#[pyfunction]
pub fn char_array_set_raw(obj: &Bound<'_, PyAny>, value: &Bound<'_, PyAny>) -> PyResult<()> {
    let (cd, _) = char_array(obj)?;
    let cd = cd.get();
    cd.check_writable()?;
    let too_long = || PyValueError::new_err("byte string too long");
    if let Ok(b) = value.cast::<PyBytes>() {
        let data = b.as_bytes();
        if data.len() > cd.size() {
            return Err(too_long());
        }
        // (a bytes object owns its storage: it never shares the array's memory)
        cd.write_bytes(data);
        return Ok(());
    }
    let buf = pyo3::buffer::PyBuffer::<u8>::get(value).map_err(|_| {
        PyTypeError::new_err(format!(
            "a bytes-like object is required, not '{}'",
            type_name(value)
        ))
    })?;
    // The length is checked before anything is copied, so the copy (the source may be a
    // view of the array itself) is never larger than the array.
    if buf.len_bytes() > cd.size() {
        return Err(too_long());
    }
    let mut data = CData::try_zeroed_vec(buf.len_bytes())?;
    buf.copy_to_slice(obj.py(), &mut data)?;
    cd.write_bytes(&data);
    Ok(())
}

/// The `value` and `raw` attributes of character array classes (installed on each
/// `c_char`/`c_wchar` array class by its metaclass): a descriptor whose read enters
/// through a raw `tp_descr_get` slot (`capi::slots::install_descr_get`).
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
    /// From 3.14 the AttributeError names the attribute and the type.
    fn __delete__(slf: &Bound<'_, Self>, obj: &Bound<'_, PyAny>) -> PyResult<()> {
        if slf.get().raw {
            Err(pyo3::exceptions::PyAttributeError::new_err(
                if version::DELETION_ERROR_NAMES_ATTRIBUTE {
                    format!(
                        "attribute 'raw' of '{}' objects cannot be deleted",
                        obj.get_type().name()?
                    )
                } else {
                    "cannot delete attribute".to_owned()
                },
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

impl DescrGet for CharArrayAttr {
    fn get(slf: &Bound<'_, Self>, obj: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        slf.get().read(obj)
    }
}

/// The fast subscript slot of array classes (given to each by [`init_array_type`]).
pub static SUBSCRIPT: FastSubscript = FastSubscript::new();

impl IntSubscript for Array {
    fn subscript() -> &'static FastSubscript {
        &SUBSCRIPT
    }

    /// `a[i]` for an int `i`, as `__getitem__` reads it.
    fn item(slf: &Bound<'_, Self>, key: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        let index = index_key(key, not_an_index)?;
        let cd = slf.as_super().get();
        let info = cd.info();
        let i = normalize_index(index, info.length())?;
        let (ecls, einfo) = elem_of(py, info)?;
        let ptr = cd.ptr().wrapping_add(i * einfo.get().size);
        get_item_at(slf.as_any(), &ecls, &einfo, ptr, i)
    }
}

impl SeqItem for Array {
    /// `PySequence_GetItem(a, i)` (the sequence iterator's read): as ctypes' `sq_item`,
    /// an index still negative after CPython added the length is out of range.
    fn seq_item(slf: &Bound<'_, Self>, index: isize) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        let cd = slf.as_super().get();
        let info = cd.info();
        if index < 0 {
            return Err(PyIndexError::new_err("invalid index"));
        }
        let i = normalize_index(index, info.length())?;
        let (ecls, einfo) = elem_of(py, info)?;
        let ptr = cd.ptr().wrapping_add(i * einfo.get().size);
        get_item_at(slf.as_any(), &ecls, &einfo, ptr, i)
    }
}

/// `__init__` of arrays: the first elements, in order.
pub fn init_array(
    data: &Bound<'_, CData>,
    args: &Bound<'_, PyTuple>,
    kwargs: Option<&Bound<'_, PyDict>>,
) -> PyResult<()> {
    crate::types::no_keywords("Array", kwargs)?;
    let slf = data.cast::<Array>()?;
    for (i, v) in args.iter().enumerate() {
        Array::__setitem__(slf, &i.into_pyobject(slf.py())?.into_any(), &v)?;
    }
    Ok(())
}
