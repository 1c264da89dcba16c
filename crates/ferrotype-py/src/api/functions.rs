//! Module-level functions of ctypes: `sizeof`, `alignment`, `byref`, `addressof`,
//! `cast`, `memmove`, `memset`, `string_at`, `wstring_at`, errno access, and the
//! `dlopen` family used by `CDLL`.

use crate::capi::values::new_bytes;
use std::ffi::{c_void, OsStr};
use std::os::unix::ffi::OsStrExt;

use ferrotype_core::memory;
use ferrotype_core::{errno, ArgSlot, FfiType, Library, TypeCode};
use pyo3::exceptions::{
    PyAttributeError, PyOSError, PyOverflowError, PySystemError, PyTypeError, PyValueError,
};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyInt, PyList, PyString, PyType};

use crate::capi::buffer::{self, Request};
use crate::capi::slots::RawFunction;
use crate::capi::values::{
    nested, object_at, release_reference, str_from_wide, tp_name, void_ptr_value, Ssize,
};
use crate::capi::version;
use crate::codec::foreign;
use crate::codec::param::{pointer_param, simple_instance_param, simple_param, CArg, Param};
use crate::codec::provenance;
use crate::codec::scalar::as_parameter;
use crate::model::cdata::{as_cdata, CData};
use crate::model::errors::{argument_error, type_name, CoreResultExt};
use crate::model::registry::instantiate;
use crate::model::stginfo::{info_of, info_of_type_or_instance, Detail, Kind, SimpleInfo, StgInfo};
use ferrotype_core::strict;
use std::ffi::CStr;

/// ctypes' `sizeof(obj_or_type)`.
#[inline]
pub fn sizeof(obj: &Bound<'_, PyAny>) -> PyResult<usize> {
    // A class first: telling one is a flag test, and a class is never an instance.
    if obj.is_instance_of::<PyType>() {
        if let Some(size) = crate::model::stginfo::own_size(obj) {
            return Ok(size);
        }
        if let Some(i) = info_of(obj) {
            return Ok(i.get().size);
        }
    } else if let Some(cd) = as_cdata(obj) {
        return Ok(cd.get().size());
    }
    // A type or instance of the stdlib's ctypes: the size of the ferrotype equivalent.
    foreign::size_of(obj)?.ok_or_else(|| PyTypeError::new_err("this type has no size"))
}

/// ctypes' `alignment(obj_or_type)`.
#[pyfunction]
pub fn alignment(obj: &Bound<'_, PyAny>) -> PyResult<usize> {
    let info = if as_cdata(obj).is_some() || obj.is_instance_of::<PyType>() {
        info_of_type_or_instance(obj)
    } else {
        None
    };
    if let Some(i) = info {
        return Ok(i.get().align);
    }
    foreign::alignment_of(obj)?.ok_or_else(|| PyTypeError::new_err("no alignment info"))
}

/// ctypes' `byref(obj, offset=0)`: a light-weight pointer to `obj` for an argument.
pub fn byref(obj: &Bound<'_, PyAny>, offset: Ssize) -> PyResult<CArg> {
    let Some(cd) = as_cdata(obj) else {
        // An object of the stdlib's ctypes: its address, through the ferrotype view of
        // it, which the result keeps (and `_obj` is the object itself, as in ctypes).
        if let Some(view) = foreign::adopt(obj, None)? {
            let mut r = byref(&view, offset)?;
            r.obj = Some(obj.clone().unbind());
            return Ok(r);
        }
        return Err(PyTypeError::new_err(
            if version::CDATA_ARGUMENT_ERRORS_NAME_CDATA {
                format!("byref() argument 1 {}", not_cdata(obj))
            } else {
                format!(
                    "byref() argument must be a ctypes instance, not '{}'",
                    tp_name(obj)
                )
            },
        ));
    };
    let Ssize(offset) = offset;
    // ctypes: byref(obj, offset) adds offset to the address.
    let p = cd.get().ptr().wrapping_offset(offset);
    Ok(CArg {
        tag: 'P',
        ffi: FfiType::Scalar(TypeCode::VoidP),
        slot: ArgSlot { ptr: p.cast() },
        keep: Some(obj.clone().unbind()),
        obj: Some(obj.clone().unbind()),
        by_memory: false,
    })
}

/// ctypes' `addressof(obj)`.
pub fn addressof(obj: &Bound<'_, PyAny>) -> PyResult<usize> {
    if as_cdata(obj).is_none() {
        if let Some(view) = foreign::adopt(obj, None)? {
            return addressof(&view);
        }
    }
    as_cdata(obj)
        .map(|c| c.get().ptr() as usize)
        .ok_or_else(|| {
            PyTypeError::new_err(if version::CDATA_ARGUMENT_ERRORS_NAME_CDATA {
                format!("addressof() argument {}", not_cdata(obj))
            } else {
                "invalid type".to_owned()
            })
        })
}

/// `sizeof`, `byref` and `addressof` as module functions: entered the way CPython enters
/// ctypes' own (`METH_O`, or positional-only `METH_FASTCALL`), so that these hot calls
/// skip PyO3's keyword-capable argument parsing.
pub struct SizeofFn;
pub struct ByrefFn;
pub struct AddressofFn;

impl RawFunction for SizeofFn {
    const NAME: &'static CStr = c"sizeof";
    const DOC: &'static CStr = c"sizeof(C type) -> integer\nsizeof(C instance) -> integer\n\
        Return the size in bytes of a C type or instance.";
    const ONE_ARG: bool = true;
    fn call(py: Python<'_>, args: &[Bound<'_, PyAny>]) -> PyResult<Py<PyAny>> {
        let [obj] = args else {
            return Err(PyTypeError::new_err("sizeof() takes exactly one argument"));
        };
        let size = sizeof(obj)?;
        // Most sizes are among the interpreter's shared small ints.
        if let Some(small) = i64::try_from(size)
            .ok()
            .and_then(|v| crate::capi::values::small_int(py, v))
        {
            return Ok(small.unbind());
        }
        Ok(size.into_pyobject(py)?.into_any().unbind())
    }
}

impl RawFunction for AddressofFn {
    const NAME: &'static CStr = c"addressof";
    const DOC: &'static CStr = c"addressof(C instance) -> integer\n\
        Return the address of the C instance's memory.";
    const ONE_ARG: bool = true;
    fn call(py: Python<'_>, args: &[Bound<'_, PyAny>]) -> PyResult<Py<PyAny>> {
        let [obj] = args else {
            return Err(PyTypeError::new_err(
                "addressof() takes exactly one argument",
            ));
        };
        Ok(addressof(obj)?.into_pyobject(py)?.into_any().unbind())
    }
}

impl RawFunction for ByrefFn {
    const NAME: &'static CStr = c"byref";
    const DOC: &'static CStr = c"byref(C instance[, offset=0]) -> byref-object\n\
        A pointer to a C instance, for use as a function argument only.";
    const ONE_ARG: bool = false;
    fn call(py: Python<'_>, args: &[Bound<'_, PyAny>]) -> PyResult<Py<PyAny>> {
        // ctypes' messages for a wrong number of arguments (it takes no keywords).
        let (obj, offset) = match args {
            [obj] => (obj, Ssize(0)),
            [obj, offset] => (obj, offset.extract::<Ssize>()?),
            [] => {
                return Err(PyTypeError::new_err(
                    "byref expected at least 1 argument, got 0",
                ))
            }
            _ => {
                return Err(PyTypeError::new_err(format!(
                    "byref expected at most 2 arguments, got {}",
                    args.len()
                )))
            }
        };
        Ok(byref(obj, offset)?.into_object(py)?.unbind())
    }
}

/// The end of 3.14's message for an argument that is not a ctypes instance.
fn not_cdata(obj: &Bound<'_, PyAny>) -> String {
    let what = if obj.is_none() {
        "None".to_owned()
    } else {
        tp_name(obj)
    };
    format!("must be _ctypes._CData, not {what}")
}

/// The address an argument declared `c_void_p` would receive, and its keep-alive.
fn void_p(obj: &Bound<'_, PyAny>, index: usize) -> PyResult<Param> {
    simple_arg(obj, TypeCode::VoidP, index)
}

/// Argument `index` converted as ctypes' Python-level prototypes of these functions
/// convert it (`memset` is `CFUNCTYPE(c_void_p, c_void_p, c_int, c_size_t)`, ...): by the
/// `from_param` of the simple type `code`, with ctypes' ArgumentError.
fn simple_arg(obj: &Bound<'_, PyAny>, code: TypeCode, index: usize) -> PyResult<Param> {
    let py = obj.py();
    if let Some(cd) = as_cdata(obj) {
        // An instance of the declared type (`string_at(p, c_int(2))`).
        let info = cd.get().info();
        if info.kind() == Kind::Simple && info.code() == Some(code) {
            return Ok(simple_instance_param(obj, cd.get()));
        }
    }
    let info = simple_info(py, code)?;
    simple_param(None, info.get(), obj).map_err(|e| argument_error(py, index, e))
}

/// The `c_int` argument `index` (`memset`'s byte, `string_at`'s size): its low 32 bits
/// as ctypes passes them (strict mode: it must fit).
fn int_arg(obj: &Bound<'_, PyAny>, index: usize) -> PyResult<i32> {
    let p = simple_arg(obj, TypeCode::Int, index)?;
    // SAFETY: the slot of a converted `c_int` holds its value in the `i32` field.
    Ok(unsafe { p.slot().i32 })
}

/// The `c_size_t` (`c_ssize_t` when `signed`) argument `index`: its 64 bits.
fn size_arg(obj: &Bound<'_, PyAny>, signed: bool, index: usize) -> PyResult<u64> {
    let code = if signed {
        TypeCode::Long
    } else {
        TypeCode::ULong
    };
    let p = simple_arg(obj, code, index)?;
    // SAFETY: the slot of a converted 64-bit integer holds it in the `u64` field.
    Ok(unsafe { p.slot().u64 })
}

/// The type information of a simple type by its code, for [`simple_arg`].
fn simple_info(py: Python<'_>, code: TypeCode) -> PyResult<Bound<'_, StgInfo>> {
    use pyo3::sync::PyOnceLock;
    static VOID_P: PyOnceLock<Py<StgInfo>> = PyOnceLock::new();
    static INT: PyOnceLock<Py<StgInfo>> = PyOnceLock::new();
    static LONG: PyOnceLock<Py<StgInfo>> = PyOnceLock::new();
    static ULONG: PyOnceLock<Py<StgInfo>> = PyOnceLock::new();
    let (cell, code) = match code {
        TypeCode::Int => (&INT, code),
        TypeCode::Long => (&LONG, code),
        TypeCode::ULong => (&ULONG, code),
        _ => (&VOID_P, TypeCode::VoidP),
    };
    let info = cell.get_or_try_init(py, || {
        let type_char = code.as_char();
        Py::new(
            py,
            StgInfo::new(
                Detail::Simple(SimpleInfo {
                    code,
                    direct: true,
                    type_char,
                }),
                code.size(),
                code.align(),
                FfiType::Scalar(code),
                &format!("<{type_char}"),
            ),
        )
    })?;
    Ok(info.bind(py).clone())
}

fn param_address(p: &Param) -> usize {
    // SAFETY: reading the pointer field of the Copy union reinterprets initialised bits.
    unsafe { p.slot().ptr as usize }
}

/// ctypes' `cast(obj, typ)`: a `typ` instance holding `obj`'s address, keeping `obj`
/// alive.
#[pyfunction]
pub fn cast<'py>(obj: &Bound<'py, PyAny>, typ: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    if info_of(typ).is_none() {
        // A type of the stdlib's ctypes: its ferrotype equivalent.
        if let Some(mapped) = foreign::ferrotype_type(typ)? {
            return cast(obj, &mapped);
        }
    }
    let (cls, info) = cast_target(typ)?;
    let p = void_p(obj, 0)?;
    cast_into(obj, param_address(&p), p.keep, &cls, &info)
}

/// The body of the C function at `_ctypes._cast_addr` (ctypes' `cast(ptr, src, ctype)`,
/// which ctypes' `__init__` calls with the address already converted): as [`cast`], with
/// the address given. A `bytes` source is kept alive, as the address points into it.
pub fn cast_address<'py>(
    address: usize,
    src: &Bound<'py, PyAny>,
    typ: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let (cls, info) = cast_target(typ)?;
    let keep = src
        .is_instance_of::<PyBytes>()
        .then(|| src.clone().unbind());
    cast_into(src, address, keep, &cls, &info)
}

/// `typ` and its type information if `cast` accepts it (a pointer-like type).
fn cast_target<'py>(
    typ: &Bound<'py, PyAny>,
) -> PyResult<(Bound<'py, PyType>, Bound<'py, StgInfo>)> {
    let pointer_like = typ.cast::<PyType>().ok().and_then(|t| {
        let info = info_of(t.as_any())?;
        let i = info.get();
        let ok = match i.kind() {
            Kind::Pointer | Kind::FuncPtr => true,
            Kind::Simple => matches!(
                i.code(),
                Some(TypeCode::VoidP | TypeCode::CharP | TypeCode::WCharP)
            ),
            Kind::Array | Kind::Struct | Kind::Union => false,
        };
        ok.then(|| (t.clone(), info))
    });
    pointer_like.ok_or_else(|| {
        // From 3.13 only a ctypes type is named.
        if version::CAST_NAMES_ONLY_CTYPES_TYPES && info_of(typ).is_none() {
            return PyTypeError::new_err("cast() argument 2 must be a pointer type");
        }
        let name = typ
            .cast::<PyType>()
            .ok()
            .and_then(|t| t.name().ok().map(|n| n.to_string()))
            .unwrap_or_else(|| type_name(typ));
        PyTypeError::new_err(format!(
            "cast() argument 2 must be a pointer type, not {name}"
        ))
    })
}

/// An instance of the pointer-like `cls` holding `address`; it keeps `obj` (or `keep`)
/// alive.
fn cast_into<'py>(
    obj: &Bound<'py, PyAny>,
    address: usize,
    keep: Option<Py<PyAny>>,
    cls: &Bound<'py, PyType>,
    info: &Bound<'py, StgInfo>,
) -> PyResult<Bound<'py, PyAny>> {
    let py = obj.py();
    let mut cd = CData::for_type(info)?;
    // SAFETY: pointer-like instances hold one pointer-sized value.
    unsafe {
        memory::write_bits(
            cd.unplaced_ptr(),
            TypeCode::VoidP.size(),
            false,
            address as u64,
        )
    };
    let result = instantiate(cls, cd)?;
    let rc = as_cdata(&result).ok_or_else(|| PyTypeError::new_err("cast() made no instance"))?;
    let r = rc.get();
    if let Some(src) = as_cdata(obj) {
        // ctypes: the result shares the source's keep-alive container and, when that is
        // a dict, adds the source itself under its id.
        match src.get().cast_container(py) {
            Some(container) => {
                if let Ok(d) = container.cast_exact::<pyo3::types::PyDict>() {
                    d.set_item(obj.as_ptr() as usize, obj)?;
                }
                r.share_objects(py, container.unbind());
            }
            // A view has no container of its own and ctypes records nothing, though the
            // result points into the memory the view keeps alive: ferrotype pins it.
            None => r.pin(py, Some(obj.clone().unbind())),
        }
    } else if let Some(k) = keep {
        // ctypes keeps nothing for other sources (`byref`, bytes); the result points
        // into them, so ferrotype pins them.
        r.pin(py, Some(k));
    }
    Ok(result)
}

/// ctypes' `memmove(dst, src, count)`; returns `dst`'s address (None for NULL).
#[pyfunction]
pub fn memmove(
    dst: &Bound<'_, PyAny>,
    src: &Bound<'_, PyAny>,
    count: &Bound<'_, PyAny>,
) -> PyResult<Option<usize>> {
    let d = void_p(dst, 0)?;
    let s = void_p(src, 1)?;
    let count = size_arg(count, false, 2)? as usize;
    let (dp, sp) = (param_address(&d), param_address(&s));
    if strict::enabled() {
        provenance::check_raw("memmove", dst, dp, count)?;
        provenance::check_raw("memmove", src, sp, count)?;
    }
    // SAFETY: a raw-memory operation, unchecked as in ctypes: the caller vouches for both
    // regions (documented in docs/safety.md).
    unsafe { memory::memmove(dp as *mut c_void, sp as *const c_void, count) };
    // ctypes' `c_void_p` result: None for NULL.
    Ok((dp != 0).then_some(dp))
}

/// ctypes' `memset(dst, c, count)`; returns `dst`'s address (None for NULL).
#[pyfunction]
pub fn memset(
    dst: &Bound<'_, PyAny>,
    c: &Bound<'_, PyAny>,
    count: &Bound<'_, PyAny>,
) -> PyResult<Option<usize>> {
    let d = void_p(dst, 0)?;
    let c = int_arg(c, 1)?;
    let count = size_arg(count, false, 2)? as usize;
    let dp = param_address(&d);
    if strict::enabled() {
        provenance::check_raw("memset", dst, dp, count)?;
    }
    // SAFETY: raw-memory operation, unchecked as in ctypes (docs/safety.md).
    unsafe { memory::memset(dp as *mut c_void, c as u8, count) };
    // ctypes' `c_void_p` result: None for NULL.
    Ok((dp != 0).then_some(dp))
}

/// The `size` of `string_at`/`wstring_at`: a `c_int` argument (so `2**32 + 2` is 2, as
/// in ctypes); `None` for -1 (up to the NUL). Another negative size (a huge one wrapped,
/// as `sys.maxsize - 1` is -2) is an `OverflowError`: ctypes lets it reach the C API
/// `api`, which raises `SystemError`, the exception for an interpreter bug; CPython's
/// suite accepts either. (The Python-level `string_at`/`wstring_at` give the default -1,
/// so a `None` passed explicitly is refused as ctypes refuses it.)
fn string_size(size: &Bound<'_, PyAny>, api: &str) -> PyResult<Option<usize>> {
    match int_arg(size, 1)? {
        -1 => Ok(None),
        n if n < 0 => Err(PyOverflowError::new_err(format!(
            "{api}: size is negative (or overflowed): {n}"
        ))),
        n => Ok(Some(n as usize)),
    }
}

/// ctypes' `string_at(ptr, size=-1)`: the bytes at `ptr` (up to NUL when size is -1).
#[pyfunction]
pub fn string_at<'py>(
    ptr: &Bound<'py, PyAny>,
    size: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyBytes>> {
    // The converted parameter owns the memory of a str/bytes argument: keep it alive.
    let param = void_p(ptr, 0)?;
    let size = string_size(size, "string_at")?;
    let p = param_address(&param) as *const u8;
    if p.is_null() {
        return Err(PyValueError::new_err("NULL pointer access"));
    }
    // Strict mode: inside the object `ptr` points into, when that is known.
    let bounded = match (strict::enabled(), size) {
        (false, _) => None,
        (true, None) => provenance::bounded_strlen("string_at", ptr, p as usize, 1)?,
        (true, Some(n)) => provenance::check_raw("string_at", ptr, p as usize, n).map(|()| None)?,
    };
    let len = match (bounded, size) {
        (Some(n), _) | (None, Some(n)) => n,
        // SAFETY: raw-memory read at a caller-provided address, unchecked as in ctypes
        // beyond the NULL test above.
        (None, None) => unsafe { memory::strlen(p) },
    };
    // SAFETY: as above.
    let bytes = unsafe { memory::bytes(p, len) };
    new_bytes(ptr.py(), bytes)
}

/// ctypes' `wstring_at(ptr, size=-1)`: the wide string at `ptr`.
#[pyfunction]
pub fn wstring_at<'py>(ptr: &Bound<'py, PyAny>, size: &Bound<'py, PyAny>) -> PyResult<Py<PyAny>> {
    let param = void_p(ptr, 0)?;
    let size = string_size(size, "wstring_at")?;
    let p = param_address(&param) as *const libc::wchar_t;
    if p.is_null() {
        return Err(PyValueError::new_err("NULL pointer access"));
    }
    // Strict mode: inside the object `ptr` points into, when that is known.
    let unit = std::mem::size_of::<libc::wchar_t>();
    let bounded = match (strict::enabled(), size) {
        (false, _) => None,
        (true, None) => provenance::bounded_strlen("wstring_at", ptr, p as usize, unit)?,
        (true, Some(n)) => {
            let need = n.saturating_mul(unit);
            provenance::check_raw("wstring_at", ptr, p as usize, need).map(|()| None)?
        }
    };
    let len = match (bounded, size) {
        (Some(n), _) | (None, Some(n)) => n,
        // SAFETY: raw-memory read at a caller-provided address, unchecked as in ctypes
        // beyond the NULL test above.
        (None, None) => unsafe { memory::wcslen(p) },
    };
    // SAFETY: as above.
    unsafe { str_from_wide(ptr.py(), p, len) }
}

/// ctypes' `memoryview_at(ptr, size, readonly)` (3.14): a memoryview of `size` bytes
/// at `ptr`, read-only or not, owning nothing. `ptr` converts as a `c_void_p` argument
/// and `size` as a `c_ssize_t` one (ctypes' `ArgumentError`s); a negative size is
/// ctypes' ValueError.
#[pyfunction]
pub fn memoryview_at<'py>(
    ptr: &Bound<'py, PyAny>,
    size: &Bound<'py, PyAny>,
    readonly: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let py = ptr.py();
    let param = void_p(ptr, 0)?;
    // A `c_ssize_t` takes the low 64 bits of any integer (2**63 is -2**63, as in ctypes,
    // and then negative).
    let size = size_arg(size, true, 1)? as i64;
    if size < 0 {
        return Err(PyValueError::new_err(format!(
            "memoryview_at: size is negative (or overflowed): {size}"
        )));
    }
    let p = param_address(&param) as *mut u8;
    // SAFETY: a raw-memory view at a caller-provided address, unchecked as in ctypes
    // (docs/safety.md); the size is not negative.
    unsafe { buffer::memoryview_at(py, p, size as isize, readonly) }
}

/// ctypes' `dllist()` (3.14, Linux): the paths of the loaded shared objects, the main
/// program's (an empty string) first, decoded with the file-system encoding.
#[pyfunction]
pub fn dllist(py: Python<'_>) -> PyResult<Bound<'_, PyList>> {
    let names = ferrotype_core::library::loaded_objects();
    PyList::new(py, names.iter().map(|n| OsStr::from_bytes(n)))
}

/// ctypes' `get_errno()`.
#[pyfunction]
pub fn get_errno() -> i32 {
    errno::get()
}

/// ctypes' `set_errno(value)`: returns the old value.
#[pyfunction]
pub fn set_errno(value: i32) -> i32 {
    errno::set(value)
}

/// `dlopen(name, mode)` with ctypes' semantics; returns the handle.
#[pyfunction]
#[pyo3(signature = (name, mode = ferrotype_core::library::DEFAULT_MODE))]
pub fn dlopen(name: Option<&Bound<'_, PyAny>>, mode: i32) -> PyResult<usize> {
    let path: Option<Vec<u8>> = match name {
        None => None,
        Some(n) if n.is_none() => None,
        Some(n) => {
            let fs = n.py().import("os")?.call_method1("fsencode", (n,))?;
            let bytes = fs.cast_into::<PyBytes>()?.as_bytes().to_vec();
            if bytes.contains(&0) {
                return Err(PyValueError::new_err("embedded null byte"));
            }
            Some(bytes)
        }
    };
    let lib = Library::open(path.as_deref().map(OsStr::from_bytes), mode).py()?;
    Ok(lib.handle() as usize)
}

/// The address of `name` in the library `handle`; a symbol that resolves to NULL (a GNU
/// indirect function returning NULL) is `Ok(None)`, which each caller reports in its own
/// way, as ctypes does (GH-126554) rather than passing a NULL address on.
fn symbol_at(handle: usize, name: &Bound<'_, PyString>) -> PyResult<Option<usize>> {
    // SAFETY: the handle is one the caller got from dlopen (a raw-handle API, as in
    // ctypes' `_ctypes.dlsym`).
    let lib = unsafe { Library::from_handle(handle as *mut c_void) };
    let addr = lib.symbol(name.to_str()?).py()? as usize;
    Ok((addr != 0).then_some(addr))
}

/// A missing symbol's error (the loader's message) as exception `E`; other errors as
/// they are.
fn missing_as<E: pyo3::PyTypeInfo>(py: Python<'_>, e: PyErr) -> PyErr {
    if e.is_instance_of::<PyAttributeError>(py) {
        PyErr::from_type(py.get_type::<E>(), e.value(py).to_string())
    } else {
        e
    }
}

/// `dlsym(handle, name)`: the symbol's address. ctypes reports a missing symbol as
/// `OSError`.
#[pyfunction]
pub fn dlsym(handle: usize, name: &Bound<'_, PyString>) -> PyResult<usize> {
    let py = name.py();
    symbol_at(handle, name)
        .map_err(|e| missing_as::<PyOSError>(py, e))?
        .ok_or_else(|| PyOSError::new_err(format!("symbol '{name}' not found")))
}

/// `dlclose(handle)`.
#[pyfunction]
pub fn dlclose(handle: usize) -> PyResult<()> {
    // SAFETY: explicit, as ctypes' `_ctypes.dlclose`: the caller guarantees nothing
    // from the library is used afterwards.
    unsafe { Library::from_handle(handle as *mut c_void).close() }.py()
}

/// `T.from_address(address)`: an instance viewing memory at a raw address (unsafe as
/// in ctypes: the caller vouches for the address). Address 0 is refused: ctypes makes
/// the instance and crashes on the first access.
#[pyfunction]
pub fn from_address<'py>(
    cls: &Bound<'py, PyType>,
    address: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    // ctypes takes an int only (not any object with `__index__`).
    if !address.is_instance_of::<pyo3::types::PyInt>() {
        return Err(PyTypeError::new_err("integer expected"));
    }
    let addr = void_ptr_value(address)?;
    if addr == 0 {
        return Err(PyValueError::new_err("NULL pointer access"));
    }
    view_at(cls, addr as *mut u8, false)
}

/// `T.in_dll(library, name)`: an instance viewing a global variable of a library.
#[pyfunction]
pub fn in_dll<'py>(
    cls: &Bound<'py, PyType>,
    dll: &Bound<'py, PyAny>,
    name: &Bound<'py, PyString>,
) -> PyResult<Bound<'py, PyAny>> {
    let handle: usize = dll.getattr("_handle")?.extract()?;
    // ctypes: a missing variable is a ValueError carrying the loader's message.
    let addr = symbol_at(handle, name)
        .map_err(|e| missing_as::<PyValueError>(name.py(), e))?
        .ok_or_else(|| PyValueError::new_err(format!("symbol '{name}' not found")))?;
    view_at(cls, addr as *mut u8, false)
}

/// `T.from_param(obj)` for the built-in simple types.
#[pyfunction]
pub fn simple_from_param<'py>(
    cls: &Bound<'py, PyType>,
    obj: &Bound<'py, PyAny>,
) -> PyResult<Py<PyAny>> {
    let py = cls.py();
    let info = type_info(cls)?;
    if obj.is_instance(cls.as_any())? {
        return Ok(obj.clone().unbind());
    }
    let i = info.get();
    if obj.is_none()
        && matches!(
            i.code(),
            Some(TypeCode::VoidP | TypeCode::CharP | TypeCode::WCharP)
        )
    {
        return Ok(py.None());
    }
    let p = simple_param(Some(cls), i, obj)?;
    // ctypes: arrays and pointers accepted by the string and void pointer types are
    // returned as they are, not wrapped, as is an argument object (`byref(x)`).
    if obj.is_instance_of::<CArg>() {
        return Ok(obj.clone().unbind());
    }
    if as_cdata(obj).is_some_and(|c| {
        matches!(
            c.get().info().kind(),
            Kind::Array | Kind::Pointer | Kind::FuncPtr
        )
    }) {
        return Ok(obj.clone().unbind());
    }
    // ctypes: the `CArgObject`'s `_obj` is what the conversion keeps alive (the bytes of
    // a `c_char_p`, the wide copy of a `c_wchar_p` string), None for a plain value.
    let kept = p.keep.as_ref().map(|k| k.clone_ref(py));
    Ok(CArg::from_param(p, kept).into_object(py)?.unbind())
}

/// `T.from_param(obj)` for pointer types.
#[pyfunction]
pub fn pointer_from_param<'py>(
    cls: &Bound<'py, PyType>,
    obj: &Bound<'py, PyAny>,
) -> PyResult<Py<PyAny>> {
    let py = cls.py();
    let info = type_info(cls)?;
    if obj.is_none() {
        return Ok(py.None());
    }
    if obj.is_instance(cls.as_any())? {
        return Ok(obj.clone().unbind());
    }
    let p = pointer_param(cls, info.get(), obj)?;
    // ctypes returns an accepted argument object (`byref(x)`), array or pointer as it is.
    if obj.is_instance_of::<CArg>()
        || as_cdata(obj)
            .is_some_and(|c| matches!(c.get().info().kind(), Kind::Array | Kind::Pointer))
    {
        return Ok(obj.clone().unbind());
    }
    Ok(CArg::from_param(p, Some(obj.clone().unbind()))
        .into_object(py)?
        .unbind())
}

/// `T.from_param(obj)` for other types (arrays, function pointers): instances of `T`,
/// an argument object (`byref`) of what ctypes takes for `T`, or `_as_parameter_`.
#[pyfunction]
pub fn generic_from_param<'py>(
    cls: &Bound<'py, PyType>,
    obj: &Bound<'py, PyAny>,
) -> PyResult<Py<PyAny>> {
    let py = cls.py();
    if obj.is_instance(cls.as_any())? {
        return Ok(obj.clone().unbind());
    }
    if let Ok(carg) = obj.cast::<CArg>() {
        if let Some(o) = &carg.get().obj {
            // ctypes takes `byref(x)` when `x` is an instance of the type's `proto`: an
            // array's element type (not the array type). A structure or function
            // pointer type has none there, where ctypes crashes: ferrotype takes
            // `byref` of an instance of the type itself.
            let info = info_of(cls.as_any());
            let elem = info
                .as_ref()
                .and_then(|i| i.get().array().map(|a| a.elem.clone_ref(py)));
            let wanted = elem.as_ref().map_or(cls.as_any(), |e| e.bind(py));
            if o.bind(py).is_instance(wanted)? {
                return Ok(obj.clone().unbind());
            }
            if let Some(view) = foreign::adopt(o.bind(py), Some(wanted))? {
                if view.is_instance(wanted)? {
                    return Ok(obj.clone().unbind());
                }
            }
        }
    }
    if let Some(inner) = as_parameter(obj)? {
        return nested(py, || generic_from_param(cls, &inner));
    }
    // An object of the stdlib's ctypes: the ferrotype view of it, if compatible.
    if let Some(view) = foreign::adopt(obj, Some(cls.as_any()))? {
        if view.is_instance(cls.as_any())? || view.is_instance_of::<CArg>() {
            return generic_from_param(cls, &view);
        }
    }
    // ctypes: `byref(x)` of another type is named "pointer to <type of x>".
    let what = match obj.cast::<CArg>() {
        Ok(carg) => match &carg.get().obj {
            Some(o) => format!("pointer to {}", o.bind(py).get_type().name()?),
            None => obj.get_type().name()?.to_string(),
        },
        Err(_) => obj.get_type().name()?.to_string(),
    };
    Err(PyTypeError::new_err(format!(
        "expected {} instance instead of {what}",
        cls.name()?
    )))
}

/// The type information of `cls`; classes without it are abstract (ctypes' error).
fn type_info<'py>(cls: &Bound<'py, PyType>) -> PyResult<Bound<'py, StgInfo>> {
    info_of(cls.as_any()).ok_or_else(|| PyTypeError::new_err("abstract class"))
}

/// An instance of `cls` viewing its size in bytes at a raw address, owning nothing
/// (`from_address`, `in_dll`); with `readonly`, it refuses writes from Python.
fn view_at<'py>(
    cls: &Bound<'py, PyType>,
    addr: *mut u8,
    readonly: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let info = type_info(cls)?;
    let size = info.get().size;
    instantiate(
        cls,
        CData::new_view(info.unbind(), addr, size, None, 0).read_only(readonly),
    )
}

/// An instance of `cls` viewing the memory at `address`, which `owner` keeps valid:
/// the instance keeps `owner` alive (in `_objects`) and, if `readonly`, refuses writes
/// (`from_buffer`, and `ctypeslib`'s views of arrays).
#[pyfunction]
pub fn view_keeping<'py>(
    cls: &Bound<'py, PyType>,
    address: usize,
    owner: &Bound<'py, PyAny>,
    readonly: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let inst = view_at(cls, address as *mut u8, readonly)?;
    let cd = as_cdata(&inst)
        .ok_or_else(|| PyTypeError::new_err("from_buffer() made no instance"))?
        .get();
    // ctypes keeps the owner under key -1 ("ffffffff"), or as the whole `_objects` of
    // a simple instance, whose next stored value replaces it: ferrotype pins it too.
    cd.keep_alive(cls.py(), -1, owner.clone().unbind())?;
    cd.pin(cls.py(), Some(owner.clone().unbind()));
    Ok(inst)
}

/// ctypes' checks of `offset` and of the buffer's length for `from_buffer*`: the offset
/// and the type's size, in bytes.
fn buffer_span(len: usize, offset: isize, size: usize) -> PyResult<(usize, usize)> {
    let offset =
        usize::try_from(offset).map_err(|_| PyValueError::new_err("offset cannot be negative"))?;
    let need = size.saturating_add(offset);
    if len < need {
        return Err(PyValueError::new_err(format!(
            "Buffer size too small ({len} instead of at least {need} bytes)"
        )));
    }
    Ok((offset, size))
}

/// `T.from_buffer(obj, offset=0)`: an instance sharing the memory of a writable,
/// C-contiguous buffer, which it keeps alive (and locked against resizing).
///
/// Beyond ctypes, `readonly=True` accepts read-only buffers too (`bytes`, read-only
/// arrays) and makes an instance that refuses writes from Python.
#[pyfunction]
#[pyo3(signature = (cls, obj, offset = Ssize(0), readonly = false))]
pub fn from_buffer<'py>(
    cls: &Bound<'py, PyType>,
    obj: &Bound<'py, PyAny>,
    offset: Ssize,
    readonly: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let Ssize(offset) = offset;
    let info = type_info(cls)?;
    let view = pyo3::types::PyMemoryView::from(obj)?;
    let (ptr, len, source_readonly, contiguous) =
        buffer::facts(view.as_any(), Request::FullReadOnly)?;
    if source_readonly && !readonly {
        return Err(PyTypeError::new_err("underlying buffer is not writable"));
    }
    if !contiguous {
        return Err(PyTypeError::new_err(
            "underlying buffer is not C contiguous",
        ));
    }
    let (offset, _) = buffer_span(len, offset, info.get().size)?;
    // ctypes: the instance keeps the memoryview (and so the exporter) alive.
    view_keeping(cls, ptr as usize + offset, view.as_any(), readonly)
}

/// `T.from_buffer_copy(obj, offset=0)`: a new instance holding a copy of the bytes of a
/// readable buffer.
#[pyfunction]
#[pyo3(signature = (cls, obj, offset = Ssize(0)))]
pub fn from_buffer_copy<'py>(
    cls: &Bound<'py, PyType>,
    obj: &Bound<'py, PyAny>,
    offset: Ssize,
) -> PyResult<Bound<'py, PyAny>> {
    let Ssize(offset) = offset;
    let info = type_info(cls)?;
    let (ptr, len, _, _) = buffer::facts(obj, Request::Simple)?;
    let (offset, size) = buffer_span(len, offset, info.get().size)?;
    let mut data = CData::for_type(&info)?;
    // SAFETY: the buffer holds at least offset + size bytes (checked) and `obj`, which
    // owns them, is alive for this call; the new instance owns `size` bytes.
    unsafe { memory::copy_bytes(ptr.add(offset), data.unplaced_ptr(), size) };
    instantiate(cls, data)
}

/// ctypes' `resize(obj, size)`: see [`CData::resize`].
#[pyfunction]
pub fn resize(obj: &Bound<'_, PyAny>, size: Ssize) -> PyResult<()> {
    let Ssize(size) = size;
    let cd = as_cdata(obj).ok_or_else(|| {
        PyTypeError::new_err(if version::CDATA_ARGUMENT_ERRORS_NAME_CDATA {
            format!("resize() argument 1 {}", not_cdata(obj))
        } else if version::RESIZE_MESSAGE_SPELLED {
            "expected ctypes instance".to_owned()
        } else {
            "excepted ctypes instance".to_owned()
        })
    })?;
    let min = cd.get().info().size;
    let size = usize::try_from(size)
        .map_err(|_| pyo3::exceptions::PyValueError::new_err(format!("minimum size is {min}")))?;
    cd.get().resize(size)
}

/// `_ctypes.PyObj_FromPtr(address)`: the object at `address` (unchecked, as in ctypes:
/// the caller vouches that a live object is there).
#[pyfunction]
#[pyo3(name = "PyObj_FromPtr")]
pub fn pyobj_from_ptr<'py>(address: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let addr = object_address(address)?;
    if addr == 0 {
        // ctypes' argument converter fails on NULL without setting an error, which the
        // argument parser reports this way.
        return Err(PySystemError::new_err(
            "PyObj_FromPtr() argument 1 (unspecified)",
        ));
    }
    // SAFETY: none beyond the caller's word, exactly as ctypes' PyObj_FromPtr.
    Ok(unsafe { object_at(address.py(), addr) })
}

/// An address given as an `int` (ctypes' `PyLong_AsVoidPtr`: negative values wrap).
fn object_address(obj: &Bound<'_, PyAny>) -> PyResult<usize> {
    if !obj.is_instance_of::<PyInt>() {
        return Err(PyTypeError::new_err("an integer is required"));
    }
    match obj.extract::<usize>() {
        Ok(v) => Ok(v),
        Err(_) => Ok(obj.extract::<isize>()? as usize),
    }
}

/// `_ctypes.Py_INCREF(obj)`: adds a reference to `obj` that nothing releases (until a
/// `Py_DECREF`), and returns `obj`.
#[pyfunction]
#[pyo3(name = "Py_INCREF")]
pub fn py_incref<'py>(obj: &Bound<'py, PyAny>) -> Bound<'py, PyAny> {
    std::mem::forget(obj.clone());
    obj.clone()
}

/// `_ctypes.Py_DECREF(obj)`: drops a reference to `obj` (one taken by `Py_INCREF`), and
/// returns `obj`.
#[pyfunction]
#[pyo3(name = "Py_DECREF")]
pub fn py_decref<'py>(obj: &Bound<'py, PyAny>) -> Bound<'py, PyAny> {
    // SAFETY: unchecked, as in ctypes: the caller vouches for the reference dropped.
    unsafe { release_reference(obj) }
}

/// `_ctypes.buffer_info(type_or_instance)`: the PEP 3118 format, the number of
/// dimensions and the shape its buffer exports. The format is `None` for a pointer type
/// made without a target, as in ctypes (its buffers export `B`).
#[pyfunction]
pub fn buffer_info<'py>(
    obj: &Bound<'py, PyAny>,
) -> PyResult<(Option<String>, usize, Bound<'py, pyo3::types::PyTuple>)> {
    let info = info_of_type_or_instance(obj)
        .ok_or_else(|| PyTypeError::new_err("not a ctypes type or object"))?;
    let i = info.get();
    let format = i
        .has_format()
        .then(|| i.format_cstr().to_string_lossy().into_owned());
    let shape = pyo3::types::PyTuple::new(obj.py(), i.shape.iter())?;
    Ok((format, i.shape.len(), shape))
}

/// Unpickles an instance of `cls` from `(dict, bytes)` (what `__reduce__` returns).
#[pyfunction]
#[pyo3(name = "_unpickle")]
pub fn unpickle<'py>(
    cls: &Bound<'py, PyType>,
    state: &Bound<'py, pyo3::types::PyTuple>,
) -> PyResult<Bound<'py, PyAny>> {
    let obj = cls.call_method1(pyo3::intern!(cls.py(), "__new__"), (cls,))?;
    obj.call_method1(pyo3::intern!(cls.py(), "__setstate__"), state)?;
    Ok(obj)
}

/// Adds `value` to what `obj` keeps alive (`obj._objects`).
#[pyfunction]
pub fn keep_alive(obj: &Bound<'_, PyAny>, value: &Bound<'_, PyAny>) -> PyResult<()> {
    let cd = as_cdata(obj).ok_or_else(|| PyTypeError::new_err("expected a ctypes instance"))?;
    cd.get().keep_alive(obj.py(), -1, value.clone().unbind())
}
