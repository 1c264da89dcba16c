//! Call arguments: the converted form of an argument ([`Param`], and `CArgObject`,
//! what `byref` and `from_param` return), the `from_param` rules of the built-in simple
//! and pointer types, and the default conversion of untyped arguments (ctypes'
//! `ConvParam`).

use ferrotype_core::memory::{self, Scalar};
use ferrotype_core::strict;
use ferrotype_core::{ArgSlot, FfiType, TypeCode};
use pyo3::exceptions::{PyOverflowError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyInt, PyString, PyType};

use crate::capi;
use crate::capi::values::{is_instance_of_type, nested, tp_name};
use crate::capi::version;
use crate::codec::foreign;
use crate::codec::scalar::{as_parameter, bytes_ptr, int_bits, int_value, store, wide_bytes};
use crate::model::cdata::{as_cdata, CData};
use crate::model::errors::{by_value_error, CoreResultExt};
use crate::model::stginfo::{info_of, Kind, StgInfo};

/// A converted argument: the bits for libffi and what must stay alive during the call.
pub struct Param {
    /// The libffi type of the value.
    pub ffi: FfiType,
    /// The value.
    pub value: ArgValue,
    /// An object owning memory the value points into.
    pub keep: Option<Py<PyAny>>,
    /// ctypes' one-letter tag, for `CArgObject` reprs.
    pub tag: char,
}

/// The value of a converted argument.
#[derive(Clone, Copy)]
pub enum ArgValue {
    /// Scalars and pointers: the bits libffi passes.
    Bits(ArgSlot),
    /// A structure or union passed by value: its memory, which libffi reads in place
    /// (kept valid by the parameter's `keep`).
    Memory(*mut u8),
}

impl Param {
    /// A scalar or pointer parameter.
    pub fn bits(ffi: FfiType, slot: ArgSlot, keep: Option<Py<PyAny>>, tag: char) -> Param {
        Param {
            ffi,
            value: ArgValue::Bits(slot),
            keep,
            tag,
        }
    }

    /// A pointer parameter holding `p`.
    pub fn pointer(p: *mut u8, keep: Option<Py<PyAny>>, tag: char) -> Param {
        Param::bits(
            FfiType::Scalar(TypeCode::VoidP),
            ArgSlot { ptr: p.cast() },
            keep,
            tag,
        )
    }

    /// The bits of a scalar or pointer parameter (zero for one passed by memory).
    pub fn slot(&self) -> ArgSlot {
        match self.value {
            ArgValue::Bits(s) => s,
            ArgValue::Memory(_) => ArgSlot::default(),
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
    /// The value is not in `slot` but in memory `keep` owns, at the address in
    /// `slot.ptr` (a value wider than a slot: `long double _Complex`).
    pub by_memory: bool,
}

// SAFETY: the slot holds plain bits (a pointer value is never dereferenced by Rust);
// the Python references are only used with the GIL held.
unsafe impl Send for CArg {}
// SAFETY: as above; the object is frozen.
unsafe impl Sync for CArg {}

impl CArg {
    /// The `CArgObject` of a converted argument, referring to `obj`.
    pub fn from_param(p: Param, obj: Option<Py<PyAny>>) -> CArg {
        let (slot, by_memory) = match p.value {
            ArgValue::Bits(s) => (s, false),
            ArgValue::Memory(m) => (ArgSlot { ptr: m.cast() }, true),
        };
        CArg {
            tag: p.tag,
            slot,
            ffi: p.ffi,
            keep: p.keep,
            obj,
            by_memory,
        }
    }

    /// The argument it stands for.
    pub fn param(&self, py: Python<'_>) -> Param {
        let mut p = Param::bits(
            self.ffi.clone(),
            self.slot,
            self.keep.as_ref().map(|k| k.clone_ref(py)),
            self.tag,
        );
        if self.by_memory {
            // SAFETY: a by-memory argument stores its address in the pointer field.
            p.value = ArgValue::Memory(unsafe { self.slot.ptr }.cast());
        }
        p
    }
}

/// The payload offset of `CArgObject` instances, measured at start-up.
static LAYOUT: capi::objects::PayloadLayout = capi::objects::PayloadLayout::new();

impl capi::objects::Payload for CArg {
    #[inline(always)]
    fn layout() -> &'static capi::objects::PayloadLayout {
        &LAYOUT
    }

    #[inline(always)]
    fn placed(&self) {}

    const WEAK_LIST: bool = false;

    /// Moves the value out and releases its references at once (as `Bound`s).
    #[inline(always)]
    unsafe fn dispose(this: *mut CArg, py: Python<'_>) {
        // SAFETY: the caller's contract: a live value, never used again, read out once.
        let CArg { ffi, keep, obj, .. } = unsafe { std::ptr::read(this) };
        drop(ffi);
        drop(keep.map(|k| k.into_bound(py)));
        drop(obj.map(|o| o.into_bound(py)));
    }
}

impl CArg {
    /// A value to measure the layout with (`capi::objects::measure`, at start-up).
    pub fn probe() -> CArg {
        CArg {
            tag: 'P',
            ffi: FfiType::Scalar(TypeCode::VoidP),
            slot: ArgSlot {
                ptr: std::ptr::null_mut(),
            },
            keep: None,
            obj: None,
            by_memory: false,
        }
    }

    /// The `CArgObject` holding this value, written straight into a new object (see
    /// `capi::objects::install_final`, which `lib.rs` calls for this class).
    #[inline]
    pub fn into_object(self, py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
        let cls = <CArg as pyo3::PyTypeInfo>::type_object(py);
        // SAFETY: the class is `CArg`'s own, given the raw slots for this payload at
        // start-up (`install_final`, after `measure`), and it has no subclass.
        unsafe { capi::objects::alloc(&cls, self) }
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
                // ctypes prints 'b' and 'B' through its C `char` field, whose sign is the
                // platform's (unsigned on AArch64 Linux, signed on x86-64).
                'b' | 'B' => format!("({})", i64::from(this.slot.u8 as core::ffi::c_char)),
                // ctypes prints every other integer tag through its signed field.
                'h' | 'i' | 'l' | 'q' | 'H' | 'I' | 'L' | 'Q' => {
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
        Ok(format!("<cparam '{}' {body}>", tag_text(t)))
    }
}

/// How a `CArgObject`'s repr shows its tag: the type code, with 3.15's spelling of the
/// complex codes (`Zd`).
fn tag_text(t: char) -> String {
    match TypeCode::from_char(t) {
        Ok(code) if code.is_complex() => crate::model::stginfo::format_code(code),
        _ => t.to_string(),
    }
}

/// A simple value wider than an argument slot (`long double _Complex`), converted into
/// a buffer of its own that the parameter keeps alive; libffi reads it in place.
fn wide_param(code: TypeCode, obj: &Bound<'_, PyAny>) -> PyResult<Param> {
    let mut stored = Ok(None);
    let buf = PyBytes::new_with(obj.py(), code.size(), |b| {
        // SAFETY: `b` is the new bytes object's zeroed contents, `code.size()` bytes.
        stored = unsafe { store(b.as_mut_ptr(), code, false, obj) };
        Ok(())
    })?;
    stored?;
    Ok(Param {
        ffi: FfiType::Scalar(code),
        value: ArgValue::Memory(bytes_ptr(&buf)),
        keep: Some(buf.into_any().unbind()),
        tag: code.as_char(),
    })
}

/// The `Param` for a simple instance: its stored bits.
pub fn simple_instance_param(obj: &Bound<'_, PyAny>, cd: &CData) -> Param {
    let info = cd.info();
    if cd.size() > std::mem::size_of::<ArgSlot>() {
        // Wider than a slot: libffi reads the instance's memory, as for a structure.
        return Param {
            ffi: info.ffi.clone(),
            value: ArgValue::Memory(cd.ptr()),
            keep: Some(obj.clone().unbind()),
            tag: info.type_char().unwrap_or('?'),
        };
    }
    let mut slot = ArgSlot::default();
    let n = cd.size().min(16);
    // SAFETY: cd.ptr() is valid for size bytes; the slot has 16.
    unsafe { memory::copy_bytes(cd.ptr(), (&raw mut slot).cast::<u8>(), n) };
    // A c_char_p instance's string is kept alive by the instance.
    Param::bits(
        info.ffi.clone(),
        slot,
        Some(obj.clone().unbind()),
        info.type_char().unwrap_or('?'),
    )
}

/// The `Param` for any ferrotype instance passed without a declared type: simple values
/// by value, arrays by address, pointers and function pointers by their value.
fn cdata_param(obj: &Bound<'_, PyAny>, cd: &CData) -> PyResult<Param> {
    Ok(match cd.info().kind() {
        Kind::Simple => simple_instance_param(obj, cd),
        // Structures go by value: libffi reads the instance's memory.
        Kind::Struct | Kind::Union if cd.info().ffi == FfiType::Void && cd.info().size > 0 => {
            return Err(by_value_error())
        }
        Kind::Struct | Kind::Union => Param {
            ffi: cd.info().ffi.clone(),
            value: ArgValue::Memory(cd.ptr()),
            keep: Some(obj.clone().unbind()),
            tag: 'V',
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
        // ctypes: an int that fits 64 bits (signed or unsigned) is passed as a C int, its
        // low 32 bits; a wider one raises "int too long to convert". Strict mode also
        // refuses one that does not fit 32 bits.
        let v = int_value(obj)?;
        if !TypeCode::Int.int_fits(v) && strict::enabled() {
            return Err(PyOverflowError::new_err(
                "int too long to convert to C int; declare argtypes to pass a wider integer",
            ));
        }
        return Ok(Param::bits(
            FfiType::Scalar(TypeCode::Int),
            ArgSlot {
                i32: v as i64 as i32,
            },
            None,
            'i',
        ));
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
    // An object of the stdlib's ctypes: as the ferrotype instance viewing it.
    if let Some(view) = foreign::adopt(obj, None)? {
        return default_param(&view, index);
    }
    Err(PyTypeError::new_err(format!(
        "Don't know how to convert parameter {}",
        index + 1
    )))
}

/// The `from_param` of a built-in simple type `cls`: the converted value, or the
/// error ctypes raises (3.11: "wrong type"; from 3.12 the conversion's own error;
/// strict mode's OverflowError in both).
pub fn simple_param(
    cls: Option<&Bound<'_, PyType>>,
    info: &StgInfo,
    obj: &Bound<'_, PyAny>,
) -> PyResult<Param> {
    let py = obj.py();
    let code = info
        .code()
        .ok_or_else(|| PyTypeError::new_err("wrong type"))?;
    // Fast path: an exact int for an integer type.
    if code.is_integer() && obj.is_exact_instance_of::<PyInt>() {
        let v = int_bits(obj, code)?;
        let mut slot = ArgSlot::default();
        // SAFETY: the slot has 16 bytes, more than any integer type.
        unsafe { memory::write_scalar((&raw mut slot).cast(), code, false, Scalar::Unsigned(v)) };
        return Ok(Param::bits(
            FfiType::Scalar(code),
            slot,
            None,
            code.as_char(),
        ));
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
        let pointer_like = matches!(other.kind(), Kind::Array | Kind::Pointer);
        if code == TypeCode::VoidP {
            let accept = match other.kind() {
                Kind::Array | Kind::Pointer | Kind::FuncPtr => true,
                Kind::Struct | Kind::Union => false,
                Kind::Simple => matches!(
                    other.code(),
                    Some(TypeCode::CharP | TypeCode::WCharP | TypeCode::VoidP)
                ),
            };
            if accept {
                let mut p = cdata_param(obj, cd.get())?;
                p.ffi = FfiType::Scalar(TypeCode::VoidP);
                p.tag = 'P';
                return Ok(p);
            }
        } else if want.is_some() && pointer_like && other.item_code(py) == want {
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
                        i.code() == Some(want) || i.item_code(py) == Some(want)
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
            return Err(string_param_error(code, obj));
        }
    }
    if code.is_complex() {
        // ctypes (3.14): the conversion's own error ("must be real number, not str")
        // unless `_as_parameter_` gives a value.
        let converted = if code.size() > std::mem::size_of::<ArgSlot>() {
            wide_param(code, obj)
        } else {
            let mut slot = ArgSlot::default();
            // SAFETY: the slot has 16 bytes, the size of the widest complex type that
            // takes this branch.
            unsafe { store((&raw mut slot).cast(), code, false, obj) }
                .map(|keep| Param::bits(FfiType::Scalar(code), slot, keep, code.as_char()))
        };
        return match converted {
            Err(e) => match as_parameter(obj)? {
                Some(inner) => nested(py, || simple_param(cls, info, &inner)),
                None => match foreign::adopt(obj, cls.map(|c| c.as_any()))? {
                    Some(view) => simple_param(cls, info, &view),
                    None => Err(e),
                },
            },
            ok => ok,
        };
    }
    let mut slot = ArgSlot::default();
    // SAFETY: the slot has 16 bytes, enough for any simple type but the complex ones
    // (handled above).
    match unsafe { store((&raw mut slot).cast(), code, false, obj) } {
        Ok(keep) => Ok(Param::bits(
            FfiType::Scalar(code),
            slot,
            keep,
            code.as_char(),
        )),
        // In strict mode, an address that does not fit a pointer raises OverflowError,
        // as for the integer types (ctypes, and ferrotype by default, keep its low bits).
        Err(e)
            if code == TypeCode::VoidP
                && e.is_instance_of::<PyOverflowError>(py)
                && obj.is_instance_of::<PyInt>() =>
        {
            Err(e)
        }
        // c_char_p, c_wchar_p and c_void_p have their own rules: `_as_parameter_`, or a
        // TypeError that names the type from 3.13.
        Err(_) if matches!(code, TypeCode::CharP | TypeCode::WCharP | TypeCode::VoidP) => {
            if let Some(inner) = as_parameter(obj)? {
                return nested(py, || simple_param(cls, info, &inner));
            }
            if let Some(view) = foreign::adopt(obj, cls.map(|c| c.as_any()))? {
                return simple_param(cls, info, &view);
            }
            Err(string_param_error(code, obj))
        }
        // Any other failure tries `_as_parameter_` first. Without one, from 3.12 the
        // conversion's own error surfaces; 3.11 answers "wrong type", except for
        // strict mode's OverflowError of an integer type.
        Err(e) => {
            if let Some(inner) = as_parameter(obj)? {
                return nested(py, || simple_param(cls, info, &inner));
            }
            if let Some(view) = foreign::adopt(obj, cls.map(|c| c.as_any()))? {
                return simple_param(cls, info, &view);
            }
            if version::FROM_PARAM_RAISES_CONVERSION_ERROR
                || (code.is_integer() && e.is_instance_of::<PyOverflowError>(py))
            {
                Err(e)
            } else {
                Err(PyTypeError::new_err("wrong type"))
            }
        }
    }
}

/// The TypeError of `c_char_p`, `c_wchar_p` or `c_void_p` (`code`) for an argument it
/// cannot take: "wrong type" up to 3.12, then one that names the argument's type.
fn string_param_error(code: TypeCode, obj: &Bound<'_, PyAny>) -> PyErr {
    if !version::STRING_FROM_PARAM_NAMES_TYPE {
        return PyTypeError::new_err("wrong type");
    }
    let target = match code {
        TypeCode::CharP => "c_char_p",
        TypeCode::WCharP => "c_wchar_p",
        _ => "c_void_p",
    };
    PyTypeError::new_err(format!(
        "'{}' object cannot be interpreted as ctypes.{target}",
        tp_name(obj)
    ))
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
    let proto = info.pointer_cls(py).map(|p| p.into_bound(py));
    let proto = proto.as_ref();
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
            if matches!(other.kind(), Kind::Array | Kind::Pointer) {
                if let Some(op) = &other.item_cls(py) {
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
            // `byref` of an object of the stdlib's ctypes, compatible with the target.
            if let Some(view) = foreign::adopt(target.bind(py), Some(proto))? {
                if is_instance_of_type(&view, proto) {
                    let mut p = c.param(py);
                    p.keep = Some(obj.clone().unbind());
                    return Ok(p);
                }
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
    if let Some(view) = foreign::adopt(obj, Some(cls.as_any()))? {
        return pointer_param_from(cls, info, &view, direct);
    }
    Err(PyTypeError::new_err(format!(
        "expected {} instance instead of {}",
        cls.name()?,
        obj.get_type().name()?
    )))
}
