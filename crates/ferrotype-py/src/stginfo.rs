//! Type information (ctypes' StgInfo): what a ferrotype type is, computed once when the
//! class is made and stored on the class as `_ft_info_`. Instances hold a reference to
//! it, and call plans copy what they need from it, so nothing on a hot path re-derives a
//! size, a format or a libffi type.

use std::ffi::CString;

use ferrotype_core::{FfiType, TypeCode};
use pyo3::exceptions::{PyAttributeError, PyOverflowError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyString, PyType};
use pyo3::{ffi, intern};

/// What kind of ctypes type a class is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `_SimpleCData` subclasses.
    Simple,
    /// `Array` subclasses.
    Array,
    /// `_Pointer` subclasses.
    Pointer,
    /// `CFuncPtr` subclasses.
    FuncPtr,
    /// `Structure` subclasses.
    Struct,
    /// `Union` subclasses.
    Union,
}

/// The type information of a ferrotype class.
#[pyclass(frozen, module = "ferrotype._native", name = "StgInfo")]
pub struct StgInfo {
    pub kind: Kind,
    pub size: usize,
    pub align: usize,
    /// Array length (0 for non-arrays).
    pub length: usize,
    /// The simple type code (simple types only).
    pub code: Option<TypeCode>,
    /// Whether values are stored in non-native byte order.
    pub swapped: bool,
    /// Whether the class derives directly from `_SimpleCData`. ctypes turns results and
    /// elements of such types into Python values, and of their subclasses into instances.
    pub direct: bool,
    /// The element type (arrays) or target type (pointers).
    pub proto: Option<Py<PyAny>>,
    /// The type information of `proto`.
    pub proto_info: Option<Py<StgInfo>>,
    /// The libffi type used when a value of this type is passed.
    pub ffi: FfiType,
    /// The PEP 3118 format, NUL-terminated for the buffer protocol.
    pub format: CString,
    /// The buffer shape (arrays: one entry per dimension).
    pub shape: Vec<isize>,
    /// The element code of a `c_char` or `c_wchar` array (enables `.value`/`.raw`).
    pub char_elem: Option<TypeCode>,
    /// The C type's `_type_` string (`'i'`), kept to answer without re-reading it.
    pub type_char: Option<char>,
    /// Structures and unions: the field names in initialiser order (base class first).
    pub field_names: Vec<String>,
    /// Structures and unions: whether `_fields_` has been set (it is final then).
    pub fields_final: bool,
    /// Structures and unions without `_fields_` yet: set once the type is used (an
    /// instance made, a field, array element or subclass declared with it), after which
    /// `_fields_` can no longer be set, as in ctypes: what was made from the empty layout
    /// would not fit a new one.
    pub sealed: std::sync::atomic::AtomicBool,
    /// Pointer types made incomplete (`POINTER("name")`): the target type, set once by
    /// `set_type`. Kept in the same StgInfo so that everything that already holds it
    /// (fields, instances, call plans) sees the completed type.
    pub completed_target: std::sync::OnceLock<Py<PyAny>>,
    /// Structures: the members of the buffer format (`(offset, size, "<i:x:")`), base
    /// class members first, so that a derived structure describes all of its bytes.
    pub format_members: Vec<(usize, usize, String)>,
    /// Whether values hold addresses (pointers, `c_char_p`, `py_object`...), directly or
    /// in a field or element: such instances cannot be pickled (ctypes' rule).
    pub has_pointer: bool,
}

#[pymethods]
impl StgInfo {
    #[getter]
    fn size(&self) -> usize {
        self.size
    }
    #[getter]
    fn align(&self) -> usize {
        self.align
    }
    #[getter]
    fn length(&self) -> usize {
        self.length
    }
    #[getter]
    fn format(&self) -> String {
        self.format.to_string_lossy().into_owned()
    }
    fn __repr__(&self) -> String {
        format!(
            "<StgInfo {:?} size={} align={} format={:?}>",
            self.kind, self.size, self.align, self.format
        )
    }
}

impl StgInfo {
    /// Whether the layout can no longer change (`_fields_` set, or the type used).
    pub fn is_final(&self) -> bool {
        self.fields_final || self.sealed.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Marks a structure or union type without `_fields_` as used (see `sealed`).
    #[inline]
    pub fn seal(&self) {
        if matches!(self.kind, Kind::Struct | Kind::Union) && !self.fields_final {
            self.sealed
                .store(true, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// Information with the given essentials and everything else empty.
    pub fn base(kind: Kind, size: usize, align: usize, ffi: FfiType, format: &str) -> StgInfo {
        StgInfo {
            kind,
            size,
            align,
            length: 0,
            code: None,
            swapped: false,
            direct: false,
            proto: None,
            proto_info: None,
            ffi,
            format: CString::new(format).unwrap_or_default(),
            shape: Vec::new(),
            char_elem: None,
            type_char: None,
            field_names: Vec::new(),
            fields_final: false,
            sealed: std::sync::atomic::AtomicBool::new(false),
            completed_target: std::sync::OnceLock::new(),
            format_members: Vec::new(),
            has_pointer: false,
        }
    }

    /// The buffer format of a value of this type as a member of a structure or the
    /// target of a pointer: arrays carry their shape (`(2,3)<i`), and types that export
    /// plain bytes (`B`: unions, incomplete types) the number of bytes, so that the
    /// format always describes the whole value.
    pub fn member_format(&self) -> String {
        let fmt = self.format.to_string_lossy();
        let mut dims: Vec<String> = self.shape.iter().map(|d| d.to_string()).collect();
        if fmt == "B" && self.itemsize() > 1 {
            dims.push(self.itemsize().to_string());
        }
        if dims.is_empty() {
            fmt.into_owned()
        } else {
            format!("({}){fmt}", dims.join(","))
        }
    }

    /// A pointer type's target: `_type_` at creation, or the type given later to
    /// `set_type`.
    pub fn pointer_target(&self) -> Option<&Py<PyAny>> {
        self.proto.as_ref().or_else(|| self.completed_target.get())
    }

    /// The element size of the buffer view (ctypes reports the innermost element's
    /// size, also for empty arrays).
    pub fn itemsize(&self) -> usize {
        match (&self.proto_info, self.kind) {
            (Some(p), Kind::Array) => p.get().itemsize(),
            _ => self.size,
        }
    }
}

/// The class attribute holding a type's [`StgInfo`].
pub const INFO_ATTR: &str = "_ft_info_";

/// The type information of `cls`, or `TypeError(msg)` if it has none.
pub fn info_of<'py>(cls: &Bound<'py, PyAny>) -> Option<Bound<'py, StgInfo>> {
    let py = cls.py();
    let name = intern!(py, INFO_ATTR);
    // A class's attribute as the attribute protocol finds it on the class (StgInfo is
    // not a descriptor, and metaclasses do not define it), through CPython's type
    // attribute cache: a few dozen instructions instead of a dictionary walk.
    if let Ok(t) = cls.cast::<PyType>() {
        // SAFETY: `t` is a live type object and `name` a str; the result is a borrowed
        // reference (or NULL, with no exception set), turned into an owned one at once.
        let hit = unsafe { _PyType_Lookup(t.as_type_ptr(), name.as_ptr()) };
        if hit.is_null() {
            return None;
        }
        // SAFETY: a borrowed reference from the type's MRO dicts, still alive.
        let v = unsafe { Bound::from_borrowed_ptr(py, hit) };
        return v.cast_into::<StgInfo>().ok();
    }
    let attr = cls.getattr(name).ok()?;
    attr.cast_into::<StgInfo>().ok()
}

extern "C" {
    /// CPython's lookup of an attribute along a type's MRO, through the type attribute
    /// cache, without the descriptor protocol; a borrowed reference or NULL (no error).
    /// Exported by every CPython 3.
    fn _PyType_Lookup(tp: *mut ffi::PyTypeObject, name: *mut ffi::PyObject) -> *mut ffi::PyObject;
}

/// The type information of an instance's class, or of a class.
pub fn info_of_type_or_instance<'py>(obj: &Bound<'py, PyAny>) -> Option<Bound<'py, StgInfo>> {
    if obj.is_instance_of::<PyType>() {
        info_of(obj)
    } else {
        info_of(obj.get_type().as_any())
    }
}

pub fn set_info<'py>(cls: &Bound<'py, PyType>, info: StgInfo) -> PyResult<Bound<'py, StgInfo>> {
    let info = Bound::new(cls.py(), info)?;
    cls.setattr(intern!(cls.py(), INFO_ATTR), &info)?;
    crate::slots::adopt(cls);
    Ok(info)
}

fn endian_prefix(swapped: bool) -> char {
    let little = cfg!(target_endian = "little") != swapped;
    if little {
        '<'
    } else {
        '>'
    }
}

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
    let mut chars = s.chars();
    let (Some(c), None) = (chars.next(), chars.next()) else {
        return Err(PyValueError::new_err(
            "class must define a '_type_' attribute which must be a string of length 1",
        ));
    };
    let code = TypeCode::from_char(c).map_err(|_| {
        PyAttributeError::new_err(format!(
            "class must define a '_type_' attribute which must be\n\
             a single character string containing one of '{}'.",
            ferrotype_core::typecode::VALID_CODES
        ))
    })?;
    // ctypes: a type deriving directly from the abstract `_SimpleCData` (whose base has
    // no type information) converts to Python values; subclasses of such types do not.
    let direct = cls
        .getattr(intern!(py, "__bases__"))
        .and_then(|b| b.get_item(0))
        .map(|b0| info_of(&b0).is_none())
        .unwrap_or(false);
    let swapped = swapped && code.size() > 1;
    let format = format!("{}{}", endian_prefix(swapped), code.format_char());
    set_info(
        cls,
        StgInfo {
            code: Some(code),
            swapped,
            direct,
            type_char: Some(c),
            has_pointer: matches!(
                code,
                TypeCode::VoidP | TypeCode::CharP | TypeCode::WCharP | TypeCode::PyObject
            ),
            ..StgInfo::base(
                Kind::Simple,
                code.size(),
                code.align(),
                FfiType::Scalar(code),
                &format,
            )
        },
    )?;
    Ok(())
}

/// Fills in an array type's information from `_type_` and `_length_`.
#[pyfunction]
pub fn init_array_type(cls: &Bound<'_, PyType>) -> PyResult<()> {
    let py = cls.py();
    crate::array::SUBSCRIPT.adopt(cls);
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
    let char_elem = match (e.kind, e.code) {
        (Kind::Simple, Some(c @ (TypeCode::Char | TypeCode::WChar))) => Some(c),
        _ => None,
    };
    set_info(
        cls,
        StgInfo {
            length,
            proto: Some(proto.clone().unbind()),
            proto_info: Some(elem.clone().unbind()),
            format: e.format.clone(),
            shape,
            char_elem,
            has_pointer: e.has_pointer,
            // Arrays decay to a pointer when passed to a function.
            ..StgInfo::base(
                Kind::Array,
                size,
                e.align,
                FfiType::Scalar(TypeCode::VoidP),
                "",
            )
        },
    )?;
    Ok(())
}

/// Fills in a pointer type's information; `_type_` may be missing (an incomplete
/// pointer type, completed later).
#[pyfunction]
pub fn init_pointer_type(cls: &Bound<'_, PyType>) -> PyResult<()> {
    let py = cls.py();
    crate::pointer::SUBSCRIPT.adopt(cls);
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
        if o.kind == Kind::Pointer && o.proto.is_none() {
            if info_of(p)
                .filter(|_| p.is_instance_of::<PyType>())
                .is_none()
            {
                return Err(PyTypeError::new_err("_type_ must have storage info"));
            }
            if o.completed_target.set(p.clone().unbind()).is_err() {
                return Err(PyAttributeError::new_err("_type_ already set"));
            }
            return Ok(());
        }
    }
    let (proto, proto_info, format) = match proto {
        Some(p) => {
            let Some(info) = info_of(&p).filter(|_| p.is_instance_of::<PyType>()) else {
                return Err(PyTypeError::new_err("_type_ must have storage info"));
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
            proto,
            proto_info,
            has_pointer: true,
            ..StgInfo::base(
                Kind::Pointer,
                ptr.size(),
                ptr.align(),
                FfiType::Scalar(ptr),
                &format,
            )
        },
    )?;
    Ok(())
}

/// Fills in a function pointer type's information.
#[pyfunction]
pub fn init_funcptr_type(cls: &Bound<'_, PyType>) -> PyResult<()> {
    if let Ok(at) = cls.getattr(intern!(cls.py(), "_argtypes_")) {
        let n = at.len().unwrap_or(0);
        if n > ferrotype_core::MAX_ARGS {
            return Err(crate::errors::ArgumentError::new_err(format!(
                "_argtypes_ has too many arguments ({n}), maximum is {}",
                ferrotype_core::MAX_ARGS
            )));
        }
    }
    let ptr = TypeCode::VoidP;
    let info = set_info(
        cls,
        StgInfo {
            has_pointer: true,
            ..StgInfo::base(
                Kind::FuncPtr,
                ptr.size(),
                ptr.align(),
                FfiType::Scalar(ptr),
                "X{}",
            )
        },
    )?;
    crate::funcptr::enable_vectorcall(cls, &info)
}
