//! Scalar values between Python and C: ctypes' setfunc ([`store`]) and getfunc
//! ([`load`]) for the simple types, the integer rules (ctypes' low bits by default,
//! strict mode's range check), and wide strings.

use crate::capi::values::new_bytes;
use ferrotype_core::memory::{self, Scalar};
use ferrotype_core::strict;
use ferrotype_core::TypeCode;
use pyo3::exceptions::{PyOverflowError, PyTypeError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyCapsule, PyComplex, PyInt, PyString};

use crate::capi::values::{
    complex_value, exact_i64, int_low_bits, object_at, str_from_wide, tp_name,
};
use crate::capi::version;
use crate::model::errors::{qualified_type_name, type_name, CoreResultExt};

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
    if let Some(v) = exact_i64(obj) {
        return Ok(i128::from(v));
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

/// A Python int checked against `code`'s width: any value that fits its bits as a
/// signed or unsigned number (`-2**(n-1) ..= 2**n - 1`), else OverflowError. Strict
/// mode's rule for stored integers (see [`int_bits`]).
#[inline]
pub fn int_for(obj: &Bound<'_, PyAny>, code: TypeCode) -> PyResult<i128> {
    let v = int_value(obj)?;
    if code.int_fits(v) {
        Ok(v)
    } else {
        Err(code.overflow_error()).py()
    }
}

/// An integer (an `int` or an object with `__index__`) for the integer type `code`, as
/// ctypes stores it: its low 64 bits, of which the caller keeps the low `code.size()`
/// bytes, so `c_uint8(256)` is 0 and `c_int(2**32 + 5)` is 5. In strict mode a value
/// that does not fit `code` raises OverflowError instead ([`int_for`]).
#[inline]
pub fn int_bits(obj: &Bound<'_, PyAny>, code: TypeCode) -> PyResult<u64> {
    if let Some(v) = exact_i64(obj) {
        // Only a value that does not fit reads the strict flag.
        if code.int_fits(i128::from(v)) || !strict::enabled() {
            return Ok(v as u64);
        }
    }
    int_bits_general(obj, code)
}

/// [`int_bits`] for what is not an exact int within 64 bits, or does not fit in strict
/// mode: out of the common path's way.
#[cold]
#[inline(never)]
fn int_bits_general(obj: &Bound<'_, PyAny>, code: TypeCode) -> PyResult<u64> {
    if strict::enabled() {
        Ok(int_for(obj, code)? as u64)
    } else {
        int_low_bits(obj)
    }
}

/// A pointer-sized address from a Python int stored into a pointer type: negative
/// values wrap, and so, as in ctypes, do values beyond 64 bits (strict mode raises).
pub fn address_value(obj: &Bound<'_, PyAny>) -> PyResult<usize> {
    Ok(int_bits(obj, TypeCode::VoidP)? as usize)
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

/// The NUL-terminated wide string of `s` in a buffer of its own, held by a capsule (what
/// ctypes keeps for a `c_wchar_p` value: a `PyCapsule` named `"_ctypes/cfield.c pymem"`
/// owning the buffer), and the buffer's address.
fn wide_buffer<'py>(s: &Bound<'py, PyString>) -> PyResult<(Bound<'py, PyCapsule>, usize)> {
    let bytes = wide_bytes(s)?;
    let units: Box<[libc::wchar_t]> = bytes
        .as_bytes()
        .chunks_exact(std::mem::size_of::<libc::wchar_t>())
        .map(|c| {
            let mut u = [0u8; std::mem::size_of::<libc::wchar_t>()];
            u.copy_from_slice(c);
            libc::wchar_t::from_ne_bytes(u)
        })
        .collect();
    // The units are on the heap: moving the box into the capsule does not move them.
    let addr = units.as_ptr() as usize;
    let capsule = PyCapsule::new_with_value(s.py(), units, c"_ctypes/cfield.c pymem")?;
    Ok((capsule, addr))
}

/// The address of a bytes object's contents (immutable, alive as long as the object).
pub fn bytes_ptr(b: &Bound<'_, PyBytes>) -> *mut u8 {
    b.as_bytes().as_ptr().cast_mut()
}

/// The byte a `c_char` takes: a bytes or bytearray of length 1, or an int in range(256).
fn char_byte(value: &Bound<'_, PyAny>) -> PyResult<u8> {
    let new = version::CHAR_ERRORS_NAME_VALUE;
    let expected = |what: String| {
        PyTypeError::new_err(if new {
            format!(
                "one character bytes, bytearray, or an integer in range(256) expected, not {what}"
            )
        } else {
            "one character bytes, bytearray or integer expected".to_owned()
        })
    };
    let sized = |len: usize| expected(format!("{} of length {len}", type_name(value)));
    if let Ok(b) = value.cast::<PyBytes>() {
        return match b.as_bytes() {
            [c] => Ok(*c),
            other => Err(sized(other.len())),
        };
    }
    if let Ok(b) = value.cast::<PyByteArray>() {
        let v = b.to_vec();
        return match v.as_slice() {
            [c] => Ok(*c),
            _ => Err(sized(v.len())),
        };
    }
    if value.is_instance_of::<PyInt>() {
        let byte = value
            .extract::<i64>()
            .ok()
            .and_then(|v| u8::try_from(v).ok());
        return byte.ok_or_else(|| {
            if new {
                PyTypeError::new_err("integer not in range(256)")
            } else {
                expected(String::new())
            }
        });
    }
    Err(expected(qualified_type_name(value)))
}

/// The character a `c_wchar` takes: a str of length 1.
fn wide_char(value: &Bound<'_, PyAny>) -> PyResult<char> {
    let new = version::CHAR_ERRORS_NAME_VALUE;
    let s = value.cast::<PyString>().map_err(|_| {
        PyTypeError::new_err(if new {
            format!(
                "a unicode character expected, not instance of {}",
                qualified_type_name(value)
            )
        } else {
            format!(
                "unicode string expected instead of {} instance",
                tp_name(value)
            )
        })
    })?;
    let text = s.to_cow()?;
    let mut chars = text.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) => Ok(c),
        _ => Err(PyTypeError::new_err(if new {
            format!(
                "a unicode character expected, not a string of length {}",
                text.chars().count()
            )
        } else {
            "one character unicode string expected".to_owned()
        })),
    }
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
    // directly: its low bytes, as below (strict mode checks a value that does not fit).
    if let Some(v) = (!swapped && code.is_integer())
        .then(|| exact_i64(value))
        .flatten()
    {
        let size = code.size();
        if size <= 8 && (code.int_fits(i128::from(v)) || !strict::enabled()) {
            let bytes = v.to_ne_bytes();
            let low = if cfg!(target_endian = "big") {
                8 - size
            } else {
                0
            };
            // SAFETY: the caller guarantees `size` writable bytes at `ptr`; the source
            // is a separate local array holding at least `low + size` bytes.
            unsafe { memory::copy_bytes(bytes.as_ptr().add(low), ptr, size) };
            return Ok(None);
        }
    }
    let mut keep = None;
    let scalar = match code {
        TypeCode::Bool | TypeCode::VariantBool => Scalar::Bool(value.is_truthy()?),
        TypeCode::Char => Scalar::Unsigned(u64::from(char_byte(value)?)),
        TypeCode::WChar => Scalar::Unsigned(u64::from(u32::from(wide_char(value)?))),
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
                let (buf, p) = wide_buffer(s)?;
                keep = Some(buf.into_any().unbind());
                Scalar::Pointer(p)
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
        // ctypes (3.14): a complex, or any real number, by `PyComplex_AsCComplex`.
        c if c.is_complex() => {
            let (re, im) = complex_value(value)?;
            // SAFETY: the caller guarantees code.size() writable bytes at ptr.
            unsafe { memory::write_complex(ptr, c, swapped, re, im) };
            return Ok(None);
        }
        _ => Scalar::Unsigned(int_bits(value, code)?),
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
#[inline]
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
            // (Matched on the code alone, each size test a constant.)
            match code {
                TypeCode::Int if code.size() == 4 => {
                    Some(ptr.cast::<i32>().read_unaligned().into_pyobject(py)?)
                }
                TypeCode::UInt if code.size() == 4 => {
                    Some(ptr.cast::<u32>().read_unaligned().into_pyobject(py)?)
                }
                TypeCode::Long | TypeCode::LongLong if code.size() == 8 => {
                    Some(ptr.cast::<i64>().read_unaligned().into_pyobject(py)?)
                }
                TypeCode::ULong | TypeCode::ULongLong if code.size() == 8 => {
                    Some(ptr.cast::<u64>().read_unaligned().into_pyobject(py)?)
                }
                TypeCode::Double => {
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
    // SAFETY: the caller's guarantees, passed on.
    unsafe { load_other(py, ptr, code, swapped) }
}

/// [`load`] of everything but its inlined common cases (out of line, so that callers
/// inline only those).
///
/// # Safety
/// As for [`load`].
#[inline(never)]
unsafe fn load_other(
    py: Python<'_>,
    ptr: *const u8,
    code: TypeCode,
    swapped: bool,
) -> PyResult<Py<PyAny>> {
    if code.is_complex() {
        // SAFETY: the caller guarantees code.size() readable bytes.
        let (re, im) = unsafe { memory::read_complex(ptr, code, swapped) };
        return Ok(PyComplex::from_doubles(py, re, im).into_any().unbind());
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
            unsafe { str_from_wide(py, &w, 1)? }
        }
        (TypeCode::CharP, Scalar::Pointer(p)) => {
            if p == 0 {
                py.None()
            } else {
                let p = p as *const u8;
                // SAFETY: the caller guarantees a NUL-terminated string at a non-NULL p.
                let bytes = unsafe { memory::bytes(p, memory::strlen(p)) };
                new_bytes(py, bytes)?.into_any().unbind()
            }
        }
        (TypeCode::WCharP, Scalar::Pointer(p)) => {
            if p == 0 {
                py.None()
            } else {
                let p = p as *const libc::wchar_t;
                // SAFETY: as above, a NUL-terminated wide string.
                unsafe { str_from_wide(py, p, memory::wcslen(p))? }
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
            unsafe { object_at(py, p) }.unbind()
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
