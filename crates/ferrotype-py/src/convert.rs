//! Conversions between Python values and C values: ctypes' setfunc/getfunc for the
//! simple types, the `from_param` rules of the built-in types, and the default
//! conversion of untyped call arguments. `CArgObject` (what `byref` and `from_param`
//! return) lives here too.

use std::ffi::c_void;

use ferrotype_core::memory::{self, Scalar};
use ferrotype_core::{ArgSlot, FfiType, TypeCode};
use pyo3::exceptions::{PyOverflowError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyInt, PyString, PyType};
use pyo3::{ffi, intern};

use crate::cdata::{as_cdata, CData};
use crate::errors::CoreResultExt;
use crate::stginfo::{info_of, Kind, StgInfo};

/// The name of `obj`'s type, for error messages.
pub fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_default()
}

/// Runs `f` one level deeper in the interpreter's recursion count, so that an
/// `_as_parameter_` chain that never ends raises RecursionError instead of exhausting
/// the stack.
pub fn nested<T>(py: Python<'_>, f: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    // SAFETY: the GIL is held (token); the call only bumps the thread's recursion
    // depth and sets RecursionError when the limit is reached.
    if unsafe { ffi::Py_EnterRecursiveCall(c" while converting _as_parameter_".as_ptr()) } != 0 {
        return Err(PyErr::fetch(py));
    }
    let r = f();
    // SAFETY: pairs with the successful Py_EnterRecursiveCall above.
    unsafe { ffi::Py_LeaveRecursiveCall() };
    r
}

/// Whether `obj`'s type is `cls` or a subclass of it, without `__instancecheck__`
/// (ferrotype's metaclasses define none, so this is `isinstance` for our types at a
/// fraction of the cost).
#[inline]
pub fn is_instance_of_type(obj: &Bound<'_, PyAny>, cls: &Bound<'_, PyAny>) -> bool {
    // SAFETY: both pointers are live objects; `cls` is only compared, or read as a type
    // after the check that it is one.
    unsafe {
        let tp = ffi::Py_TYPE(obj.as_ptr());
        if tp.cast::<ffi::PyObject>() == cls.as_ptr() {
            return true;
        }
        ffi::PyType_Check(cls.as_ptr()) != 0 && ffi::PyType_IsSubtype(tp, cls.as_ptr().cast()) != 0
    }
}

/// `obj._as_parameter_`, if it has one; an error other than AttributeError raised by
/// the attribute propagates (ctypes reports it for the argument).
pub fn as_parameter<'py>(obj: &Bound<'py, PyAny>) -> PyResult<Option<Bound<'py, PyAny>>> {
    match obj.getattr(intern!(obj.py(), "_as_parameter_")) {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.is_instance_of::<pyo3::exceptions::PyAttributeError>(obj.py()) => Ok(None),
        Err(e) => Err(e),
    }
}

/// A Python int as a 128-bit value; beyond 64 bits it raises ctypes' OverflowError.
#[inline]
pub fn int_value(obj: &Bound<'_, PyAny>) -> PyResult<i128> {
    if obj.is_exact_instance_of::<PyInt>() {
        let mut overflow: std::ffi::c_int = 0;
        // SAFETY: `obj` is an exact int; the call reports overflow through the flag and
        // cannot fail otherwise for an int.
        let v = unsafe { ffi::PyLong_AsLongLongAndOverflow(obj.as_ptr(), &mut overflow) };
        if overflow == 0 {
            return Ok(i128::from(v));
        }
    }
    match obj.extract::<i64>() {
        Ok(v) => Ok(i128::from(v)),
        Err(e) if e.is_instance_of::<PyOverflowError>(obj.py()) => obj
            .extract::<u64>()
            .map(i128::from)
            .map_err(|_| PyOverflowError::new_err("int too long to convert")),
        Err(e) => Err(e),
    }
}

/// A Python int checked against `code`'s width (ferrotype's no-truncation rule).
#[inline]
pub fn int_for(obj: &Bound<'_, PyAny>, code: TypeCode) -> PyResult<i128> {
    let v = int_value(obj)?;
    if code.int_fits(v) {
        Ok(v)
    } else {
        Err(code.overflow_error()).py()
    }
}

fn int_scalar(v: i128) -> Scalar {
    if v < 0 {
        Scalar::Signed(v as i64)
    } else {
        Scalar::Unsigned(v as u64)
    }
}

/// A pointer-sized address from a Python int (negative values wrap, like ctypes).
pub fn address_value(obj: &Bound<'_, PyAny>) -> PyResult<usize> {
    Ok(int_for(obj, TypeCode::VoidP)? as u64 as usize)
}

/// `str` encoded as a NUL-terminated `wchar_t` string, in a bytes object that can be
/// kept alive as the memory's owner.
pub fn wide_bytes<'py>(s: &Bound<'py, PyString>) -> PyResult<Bound<'py, PyBytes>> {
    let py = s.py();
    let codec = match (TypeCode::WChar.size(), cfg!(target_endian = "little")) {
        (4, true) => "utf-32-le",
        (4, false) => "utf-32-be",
        (_, true) => "utf-16-le",
        (_, false) => "utf-16-be",
    };
    let with_nul = s.add("\0")?;
    Ok(with_nul
        .call_method1(intern!(py, "encode"), (codec, "surrogatepass"))?
        .cast_into::<PyBytes>()?)
}

/// A Python str from `len` `wchar_t` units at `ptr`.
///
/// # Safety
/// `ptr` must be valid for reads of `len` wide characters.
pub unsafe fn wide_to_str(
    py: Python<'_>,
    ptr: *const libc::wchar_t,
    len: usize,
) -> PyResult<Py<PyAny>> {
    // SAFETY: the caller guarantees `len` readable units; the API copies them.
    let raw = unsafe { ffi::PyUnicode_FromWideChar(ptr.cast(), len as ffi::Py_ssize_t) };
    // SAFETY: a new reference or NULL with an exception set.
    unsafe { Bound::from_owned_ptr_or_err(py, raw) }.map(Bound::unbind)
}

fn bytes_ptr(b: &Bound<'_, PyBytes>) -> *mut u8 {
    b.as_bytes().as_ptr().cast_mut()
}

/// ctypes' setfunc: stores `value` as type `code` at `ptr`. Returns the object that
/// must be kept alive for the stored value to stay valid (the bytes behind a
/// `c_char_p`, for example).
///
/// # Safety
/// `ptr` must be valid for writes of `code.size()` bytes.
pub unsafe fn store(
    ptr: *mut u8,
    code: TypeCode,
    swapped: bool,
    value: &Bound<'_, PyAny>,
) -> PyResult<Option<Py<PyAny>>> {
    // The common case, an exact int into an integer type in native order, is written
    // directly after the same width check as below.
    if !swapped && code.is_integer() && value.is_exact_instance_of::<PyInt>() {
        let mut overflow: std::ffi::c_int = 0;
        // SAFETY: `value` is an exact int; values beyond 64 bits set `overflow`.
        let v = unsafe { ffi::PyLong_AsLongLongAndOverflow(value.as_ptr(), &mut overflow) };
        let size = code.size();
        if overflow == 0 && size <= 8 && code.int_fits(i128::from(v)) {
            let bytes = v.to_ne_bytes();
            let low = if cfg!(target_endian = "big") {
                8 - size
            } else {
                0
            };
            // SAFETY: the caller guarantees `size` writable bytes at `ptr`; the source
            // is a separate local array holding at least `low + size` bytes.
            unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr().add(low), ptr, size) };
            return Ok(None);
        }
    }
    let mut keep = None;
    let scalar = match code {
        TypeCode::Bool => Scalar::Bool(value.is_truthy()?),
        TypeCode::Char => {
            let byte = if let Ok(b) = value.cast::<PyBytes>() {
                match b.as_bytes() {
                    [c] => Some(*c),
                    _ => None,
                }
            } else if let Ok(b) = value.cast::<PyByteArray>() {
                let v = b.to_vec();
                if v.len() == 1 {
                    Some(v[0])
                } else {
                    None
                }
            } else if value.is_instance_of::<PyInt>() {
                value
                    .extract::<i64>()
                    .ok()
                    .and_then(|v| u8::try_from(v).ok())
            } else {
                None
            };
            let Some(byte) = byte else {
                return Err(PyTypeError::new_err(
                    "one character bytes, bytearray or integer expected",
                ));
            };
            Scalar::Unsigned(u64::from(byte))
        }
        TypeCode::WChar => {
            let s = value.cast::<PyString>().map_err(|_| {
                PyTypeError::new_err(format!(
                    "unicode string expected instead of {} instance",
                    type_name(value)
                ))
            })?;
            let mut chars = s.to_cow()?.chars().collect::<Vec<_>>().into_iter();
            let (Some(c), None) = (chars.next(), chars.next()) else {
                return Err(PyTypeError::new_err(
                    "one character unicode string expected",
                ));
            };
            Scalar::Unsigned(u64::from(u32::from(c)))
        }
        // c_float16 takes what c_float takes; the core rounds to binary16 as NumPy does.
        TypeCode::Float | TypeCode::Double | TypeCode::LongDouble | TypeCode::Half => {
            Scalar::Float(value.extract::<f64>()?)
        }
        TypeCode::VoidP => {
            if value.is_none() {
                Scalar::Pointer(0)
            } else if value.is_instance_of::<PyInt>() {
                Scalar::Pointer(address_value(value)?)
            } else {
                return Err(PyTypeError::new_err("cannot be converted to pointer"));
            }
        }
        TypeCode::CharP => {
            if value.is_none() {
                Scalar::Pointer(0)
            } else if let Ok(b) = value.cast::<PyBytes>() {
                keep = Some(b.clone().into_any().unbind());
                Scalar::Pointer(bytes_ptr(b) as usize)
            } else if value.is_instance_of::<PyInt>() {
                Scalar::Pointer(address_value(value)?)
            } else {
                return Err(PyTypeError::new_err(format!(
                    "bytes or integer address expected instead of {} instance",
                    value.get_type().name()?
                )));
            }
        }
        TypeCode::WCharP => {
            if value.is_none() {
                Scalar::Pointer(0)
            } else if let Ok(s) = value.cast::<PyString>() {
                let b = wide_bytes(s)?;
                let p = bytes_ptr(&b);
                keep = Some(b.into_any().unbind());
                Scalar::Pointer(p as usize)
            } else if value.is_instance_of::<PyInt>() {
                Scalar::Pointer(address_value(value)?)
            } else {
                return Err(PyTypeError::new_err(format!(
                    "unicode string or integer address expected instead of {} instance",
                    value.get_type().name()?
                )));
            }
        }
        TypeCode::PyObject => {
            keep = Some(value.clone().unbind());
            Scalar::Pointer(value.as_ptr() as usize)
        }
        _ => int_scalar(int_for(value, code)?),
    };
    // SAFETY: the caller guarantees code.size() writable bytes at ptr.
    unsafe { memory::write_scalar(ptr, code, swapped, scalar) };
    Ok(keep)
}

/// ctypes' getfunc: the Python value of the `code` stored at `ptr`.
///
/// # Safety
/// `ptr` must be valid for reads of `code.size()` bytes; for `c_char_p`/`c_wchar_p`
/// a non-NULL stored pointer must point to a NUL-terminated string (as in ctypes).
pub unsafe fn load(
    py: Python<'_>,
    ptr: *const u8,
    code: TypeCode,
    swapped: bool,
) -> PyResult<Py<PyAny>> {
    // The common numeric types in native order, read directly.
    if !swapped {
        // SAFETY: the caller guarantees `code.size()` readable bytes at `ptr`.
        let fast = unsafe {
            match (code, code.size()) {
                (TypeCode::Int, 4) => Some(ptr.cast::<i32>().read_unaligned().into_pyobject(py)?),
                (TypeCode::UInt, 4) => Some(ptr.cast::<u32>().read_unaligned().into_pyobject(py)?),
                (TypeCode::Long | TypeCode::LongLong, 8) => {
                    Some(ptr.cast::<i64>().read_unaligned().into_pyobject(py)?)
                }
                (TypeCode::ULong | TypeCode::ULongLong, 8) => {
                    Some(ptr.cast::<u64>().read_unaligned().into_pyobject(py)?)
                }
                (TypeCode::Double, _) => {
                    let v = ptr.cast::<f64>().read_unaligned();
                    return Ok(v.into_pyobject(py)?.into_any().unbind());
                }
                _ => None,
            }
        };
        if let Some(v) = fast {
            return Ok(v.into_any().unbind());
        }
    }
    // SAFETY: the caller guarantees readable bytes.
    let scalar = unsafe { memory::read_scalar(ptr, code, swapped) };
    Ok(match (code, scalar) {
        (TypeCode::Char, Scalar::Unsigned(b)) => PyBytes::new(py, &[b as u8]).into_any().unbind(),
        (TypeCode::WChar, s) => {
            let w = match s {
                Scalar::Signed(v) => v as libc::wchar_t,
                Scalar::Unsigned(v) => v as libc::wchar_t,
                _ => 0,
            };
            // SAFETY: one wide character on the stack.
            unsafe { wide_to_str(py, &w, 1)? }
        }
        (TypeCode::CharP, Scalar::Pointer(p)) => {
            if p == 0 {
                py.None()
            } else {
                let p = p as *const u8;
                // SAFETY: the caller guarantees a NUL-terminated string at a non-NULL p.
                let bytes = unsafe { std::slice::from_raw_parts(p, memory::strlen(p)) };
                PyBytes::new(py, bytes).into_any().unbind()
            }
        }
        (TypeCode::WCharP, Scalar::Pointer(p)) => {
            if p == 0 {
                py.None()
            } else {
                let p = p as *const libc::wchar_t;
                // SAFETY: as above, a NUL-terminated wide string.
                unsafe { wide_to_str(py, p, memory::wcslen(p))? }
            }
        }
        (TypeCode::VoidP, Scalar::Pointer(p)) => {
            if p == 0 {
                py.None()
            } else {
                p.into_pyobject(py)?.into_any().unbind()
            }
        }
        (TypeCode::PyObject, Scalar::Pointer(p)) => {
            if p == 0 {
                return Err(PyValueError::new_err("PyObject is NULL"));
            }
            // SAFETY: a py_object stores a pointer to a live object that its `_objects`
            // keeps alive; we take a new reference.
            unsafe { Bound::from_borrowed_ptr(py, p as *mut ffi::PyObject) }.unbind()
        }
        (_, Scalar::Signed(v)) => v.into_pyobject(py)?.into_any().unbind(),
        (_, Scalar::Unsigned(v)) => v.into_pyobject(py)?.into_any().unbind(),
        (_, Scalar::Float(v)) => v.into_pyobject(py)?.into_any().unbind(),
        (_, Scalar::Bool(v)) => pyo3::types::PyBool::new(py, v)
            .to_owned()
            .into_any()
            .unbind(),
        (_, Scalar::Pointer(p)) => p.into_pyobject(py)?.into_any().unbind(),
    })
}

/// A converted argument: the bits for libffi and what must stay alive during the call.
pub struct Param {
    /// The libffi type of the value.
    pub ffi: FfiType,
    /// The value (scalars and pointers).
    pub slot: ArgSlot,
    /// An object owning memory the value points into.
    pub keep: Option<Py<PyAny>>,
    /// ctypes' one-letter tag, for `CArgObject` reprs.
    pub tag: char,
    /// For a structure passed by value: its memory, which libffi reads directly
    /// (`slot` is unused then). Kept valid by `keep`.
    pub by_value: *mut u8,
}

impl Param {
    fn pointer(p: *mut u8, keep: Option<Py<PyAny>>, tag: char) -> Param {
        Param {
            ffi: FfiType::Scalar(TypeCode::VoidP),
            slot: ArgSlot { ptr: p.cast() },
            keep,
            tag,
            by_value: std::ptr::null_mut(),
        }
    }
}

/// ctypes' `CArgObject`: a converted argument (`byref(x)`, `c_int.from_param(5)`).
#[pyclass(frozen, module = "ferrotype._native", name = "CArgObject")]
pub struct CArg {
    pub tag: char,
    pub ffi: FfiType,
    pub slot: ArgSlot,
    pub keep: Option<Py<PyAny>>,
    /// The object referred to (`byref(obj)._obj`).
    pub obj: Option<Py<PyAny>>,
}

// SAFETY: the slot holds plain bits (a pointer value is never dereferenced by Rust);
// the Python references are only used with the GIL held.
unsafe impl Send for CArg {}
// SAFETY: as above; the object is frozen.
unsafe impl Sync for CArg {}

impl CArg {
    pub fn from_param(p: Param, obj: Option<Py<PyAny>>) -> CArg {
        CArg {
            tag: p.tag,
            ffi: p.ffi,
            slot: p.slot,
            keep: p.keep,
            obj,
        }
    }

    pub fn param(&self, py: Python<'_>) -> Param {
        Param {
            ffi: self.ffi.clone(),
            slot: self.slot,
            keep: self.keep.as_ref().map(|k| k.clone_ref(py)),
            tag: self.tag,
            by_value: std::ptr::null_mut(),
        }
    }
}

#[pymethods]
impl CArg {
    #[getter]
    fn _obj(&self, py: Python<'_>) -> Py<PyAny> {
        self.obj
            .as_ref()
            .map_or_else(|| py.None(), |o| o.clone_ref(py))
    }

    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        let this = slf.get();
        let t = this.tag;
        // SAFETY: the slot was written for this tag's type; reading the matching field
        // reinterprets initialised bytes.
        let body = unsafe {
            match t {
                // ctypes prints every integer tag through its signed field.
                'b' | 'h' | 'i' | 'l' | 'q' | 'B' | 'H' | 'I' | 'L' | 'Q' => {
                    let code = TypeCode::from_char(t.to_ascii_lowercase()).py()?;
                    match memory::read_scalar((&raw const this.slot).cast(), code, false) {
                        Scalar::Signed(v) => format!("({v})"),
                        other => format!("({other:?})"),
                    }
                }
                'd' => format!("({})", this.slot.f64.into_pyobject(slf.py())?.repr()?),
                'f' => format!(
                    "({})",
                    f64::from(this.slot.f32).into_pyobject(slf.py())?.repr()?
                ),
                'c' => {
                    let c = this.slot.u8;
                    if c.is_ascii_alphabetic() {
                        format!("('{}')", c as char)
                    } else {
                        format!("('\\x{c:02x}')")
                    }
                }
                'z' | 'Z' | 'P' => format!("({:#x})", this.slot.ptr as usize),
                _ => format!("at {:#x}", slf.as_ptr() as usize),
            }
        };
        Ok(format!("<cparam '{t}' {body}>"))
    }
}

/// The `Param` for a simple instance: its stored bits.
fn simple_instance_param(obj: &Bound<'_, PyAny>, cd: &CData) -> Param {
    let info = cd.info();
    let mut slot = ArgSlot::default();
    let n = cd.size().min(16);
    // SAFETY: cd.ptr() is valid for size bytes; the slot has 16.
    unsafe { std::ptr::copy_nonoverlapping(cd.ptr(), (&raw mut slot).cast::<u8>(), n) };
    Param {
        ffi: info.ffi.clone(),
        slot,
        // A c_char_p instance's string is kept alive by the instance.
        keep: Some(obj.clone().unbind()),
        tag: info.type_char.unwrap_or('?'),
        by_value: std::ptr::null_mut(),
    }
}

/// The `Param` for any ferrotype instance passed without a declared type: simple values
/// by value, arrays by address, pointers and function pointers by their value.
fn cdata_param(obj: &Bound<'_, PyAny>, cd: &CData) -> PyResult<Param> {
    Ok(match cd.info().kind {
        Kind::Simple => simple_instance_param(obj, cd),
        // Structures go by value: libffi reads the instance's memory.
        Kind::Struct | Kind::Union if cd.info().ffi == FfiType::Void && cd.info().size > 0 => {
            return Err(crate::structure::by_value_error())
        }
        Kind::Struct | Kind::Union => Param {
            ffi: cd.info().ffi.clone(),
            slot: ArgSlot::default(),
            keep: Some(obj.clone().unbind()),
            tag: 'V',
            by_value: cd.ptr(),
        },
        Kind::Array => Param::pointer(cd.ptr(), Some(obj.clone().unbind()), 'P'),
        Kind::Pointer | Kind::FuncPtr => {
            // SAFETY: a pointer instance stores one pointer-sized value.
            let p = unsafe { memory::read_bits(cd.ptr(), TypeCode::VoidP.size(), false) } as usize;
            Param::pointer(p as *mut u8, Some(obj.clone().unbind()), 'P')
        }
    })
}

/// ctypes' conversion of an argument with no declared type (`ConvParam`).
pub fn default_param(obj: &Bound<'_, PyAny>, index: usize) -> PyResult<Param> {
    let py = obj.py();
    if obj.is_none() {
        return Ok(Param::pointer(std::ptr::null_mut(), None, 'P'));
    }
    if obj.is_instance_of::<PyInt>() {
        let v = int_value(obj)?;
        if !TypeCode::Int.int_fits(v) {
            return Err(PyOverflowError::new_err(
                "int too long to convert to C int; declare argtypes to pass a wider integer",
            ));
        }
        return Ok(Param {
            ffi: FfiType::Scalar(TypeCode::Int),
            slot: ArgSlot {
                i32: v as i64 as i32,
            },
            keep: None,
            tag: 'i',
            by_value: std::ptr::null_mut(),
        });
    }
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(Param::pointer(bytes_ptr(b), None, 'z'));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        // ctypes converts a str without argtypes as a C wide string, which cannot hold a
        // NUL (a declared `c_wchar_p` argument can: it ends at the first one).
        if s.contains("\0")? {
            return Err(PyValueError::new_err("embedded null character"));
        }
        let b = wide_bytes(s)?;
        return Ok(Param::pointer(
            bytes_ptr(&b),
            Some(b.into_any().unbind()),
            'Z',
        ));
    }
    if let Some(cd) = as_cdata(obj) {
        return cdata_param(obj, cd.get());
    }
    if let Ok(carg) = obj.cast::<CArg>() {
        let mut p = carg.get().param(py);
        p.keep = Some(obj.clone().unbind());
        return Ok(p);
    }
    if let Some(inner) = as_parameter(obj)? {
        return nested(py, || default_param(&inner, index));
    }
    Err(PyTypeError::new_err(format!(
        "Don't know how to convert parameter {}",
        index + 1
    )))
}

fn elem_code(info: &StgInfo) -> Option<TypeCode> {
    info.proto_info.as_ref().and_then(|p| {
        let p = p.get();
        if p.kind == Kind::Simple {
            p.code
        } else {
            None
        }
    })
}

/// The `from_param` of a built-in simple type `cls`: the converted value, or the
/// TypeError ctypes raises ("wrong type", or the setfunc's OverflowError).
pub fn simple_param(
    cls: Option<&Bound<'_, PyType>>,
    info: &StgInfo,
    obj: &Bound<'_, PyAny>,
) -> PyResult<Param> {
    let py = obj.py();
    let code = info.code.expect("simple type has a code");
    // Fast path: an exact int for an integer type.
    if code.is_integer() && obj.is_exact_instance_of::<PyInt>() {
        let v = int_for(obj, code)?;
        let mut slot = ArgSlot::default();
        // SAFETY: the slot has 16 bytes, more than any integer type.
        unsafe { memory::write_scalar((&raw mut slot).cast(), code, false, int_scalar(v)) };
        return Ok(Param {
            ffi: FfiType::Scalar(code),
            slot,
            keep: None,
            tag: code.as_char(),
            by_value: std::ptr::null_mut(),
        });
    }
    if let Some(cd) = as_cdata(obj) {
        if let Some(cls) = cls {
            if is_instance_of_type(obj, cls.as_any()) {
                return Ok(simple_instance_param(obj, cd.get()));
            }
        }
        let other = cd.get().info();
        // Arrays of and pointers to the string's character type.
        let want = match code {
            TypeCode::CharP => Some(TypeCode::Char),
            TypeCode::WCharP => Some(TypeCode::WChar),
            _ => None,
        };
        let pointer_like = matches!(other.kind, Kind::Array | Kind::Pointer);
        if code == TypeCode::VoidP {
            let accept = match other.kind {
                Kind::Array | Kind::Pointer | Kind::FuncPtr => true,
                Kind::Struct | Kind::Union => false,
                Kind::Simple => matches!(
                    other.code,
                    Some(TypeCode::CharP | TypeCode::WCharP | TypeCode::VoidP)
                ),
            };
            if accept {
                let mut p = cdata_param(obj, cd.get())?;
                p.ffi = FfiType::Scalar(TypeCode::VoidP);
                p.tag = 'P';
                return Ok(p);
            }
        } else if want.is_some() && pointer_like && elem_code(other) == want {
            let mut p = cdata_param(obj, cd.get())?;
            p.tag = code.as_char();
            return Ok(p);
        }
    } else if matches!(code, TypeCode::CharP | TypeCode::WCharP | TypeCode::VoidP) {
        if let Ok(carg) = obj.cast::<CArg>() {
            // byref(c_char(...)) for c_char_p, any byref for c_void_p.
            let c = carg.get();
            let ok = code == TypeCode::VoidP
                || c.obj
                    .as_ref()
                    .and_then(|o| info_of(&o.bind(py).get_type().into_any()))
                    .is_some_and(|i| {
                        let i = i.get();
                        let want = if code == TypeCode::CharP {
                            TypeCode::Char
                        } else {
                            TypeCode::WChar
                        };
                        i.code == Some(want) || elem_code(i) == Some(want)
                    });
            if ok && c.tag == 'P' {
                let mut p = c.param(py);
                p.keep = Some(obj.clone().unbind());
                return Ok(p);
            }
        } else if code == TypeCode::VoidP {
            if let Ok(b) = obj.cast::<PyBytes>() {
                return Ok(Param::pointer(
                    bytes_ptr(b),
                    Some(b.clone().into_any().unbind()),
                    'z',
                ));
            }
            if let Ok(s) = obj.cast::<PyString>() {
                let b = wide_bytes(s)?;
                return Ok(Param::pointer(
                    bytes_ptr(&b),
                    Some(b.into_any().unbind()),
                    'Z',
                ));
            }
        } else if obj.is_instance_of::<PyInt>() {
            // ctypes: c_char_p/c_wchar_p parameters do not take integer addresses.
            return Err(PyTypeError::new_err("wrong type"));
        }
    }
    let mut slot = ArgSlot::default();
    // SAFETY: the slot has 16 bytes, enough for any simple type.
    match unsafe { store((&raw mut slot).cast(), code, false, obj) } {
        Ok(keep) => Ok(Param {
            ffi: FfiType::Scalar(code),
            slot,
            keep,
            tag: code.as_char(),
            by_value: std::ptr::null_mut(),
        }),
        // An address that does not fit a pointer is ferrotype's no-truncation
        // OverflowError, as for the integer types (ctypes masks it).
        Err(e)
            if code == TypeCode::VoidP
                && e.is_instance_of::<PyOverflowError>(py)
                && obj.is_instance_of::<PyInt>() =>
        {
            Err(e)
        }
        // ctypes answers "wrong type" for any failed conversion of a non-integer type;
        // for integers only the range check (ferrotype's no-truncation rule) surfaces.
        Err(e) if e.is_instance_of::<PyTypeError>(py) || !code.is_integer() => {
            if let Some(inner) = as_parameter(obj)? {
                return nested(py, || simple_param(cls, info, &inner));
            }
            Err(PyTypeError::new_err("wrong type"))
        }
        Err(e) => Err(e),
    }
}

/// The `from_param` of a pointer type `cls` (`POINTER(T)`).
pub fn pointer_param(
    cls: &Bound<'_, PyType>,
    info: &StgInfo,
    obj: &Bound<'_, PyAny>,
) -> PyResult<Param> {
    pointer_param_from(cls, info, obj, true)
}

/// `pointer_param`; `direct` is false for a value taken from `_as_parameter_`, which
/// ctypes checks with the generic rules only (an instance of `cls`, or `byref` of a
/// target instance): a `T` instance is not passed by reference then, nor is an array.
fn pointer_param_from(
    cls: &Bound<'_, PyType>,
    info: &StgInfo,
    obj: &Bound<'_, PyAny>,
    direct: bool,
) -> PyResult<Param> {
    let py = obj.py();
    if direct && obj.is_none() {
        return Ok(Param::pointer(std::ptr::null_mut(), None, 'P'));
    }
    let proto = info.pointer_target().map(|p| p.bind(py));
    if let Some(cd) = as_cdata(obj) {
        if is_instance_of_type(obj, cls.as_any()) {
            return cdata_param(obj, cd.get());
        }
        if let Some(proto) = proto.filter(|_| direct) {
            if is_instance_of_type(obj, proto) {
                // ctypes: a T instance for a POINTER(T) parameter is passed byref.
                return Ok(Param::pointer(
                    cd.get().ptr(),
                    Some(obj.clone().unbind()),
                    'P',
                ));
            }
            let other = cd.get().info();
            if matches!(other.kind, Kind::Array | Kind::Pointer) {
                if let Some(op) = &other.proto {
                    if op
                        .bind(py)
                        .cast::<PyType>()
                        .is_ok_and(|t| t.is_subclass(proto).unwrap_or(false))
                    {
                        return cdata_param(obj, cd.get());
                    }
                }
            }
        }
    } else if let Ok(carg) = obj.cast::<CArg>() {
        let c = carg.get();
        if let (Some(target), Some(proto)) = (&c.obj, proto) {
            if is_instance_of_type(target.bind(py), proto) {
                let mut p = c.param(py);
                p.keep = Some(obj.clone().unbind());
                return Ok(p);
            }
        }
        let what = c
            .obj
            .as_ref()
            .map(|o| o.bind(py).get_type().name().map(|n| n.to_string()))
            .transpose()?
            .unwrap_or_else(|| "None".into());
        return Err(PyTypeError::new_err(format!(
            "expected {} instance instead of pointer to {}",
            cls.name()?,
            what
        )));
    }
    if let Some(inner) = as_parameter(obj)? {
        return nested(py, || pointer_param_from(cls, info, &inner, false));
    }
    Err(PyTypeError::new_err(format!(
        "expected {} instance instead of {}",
        cls.name()?,
        obj.get_type().name()?
    )))
}

/// A raw `*mut c_void` from a slot (for tests and helpers).
pub fn slot_ptr(slot: &ArgSlot) -> *mut c_void {
    // SAFETY: reading the pointer field of a Copy union reinterprets initialised bits.
    unsafe { slot.ptr }
}
