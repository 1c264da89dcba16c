//! Type information (ctypes' StgInfo): what a ferrotype type is, computed once when the
//! class is made and stored on the class as `_ft_info_`. Instances hold a reference to
//! it, and call plans copy what they need from it, so nothing on a hot path re-derives a
//! size, a format or a libffi type.

use std::ffi::CString;

use ferrotype_core::{FfiType, TypeCode};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::PyType;

use crate::capi;

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

/// The type information of `cls`, if it is a ferrotype type.
pub fn info_of<'py>(cls: &Bound<'py, PyAny>) -> Option<Bound<'py, StgInfo>> {
    let py = cls.py();
    let name = intern!(py, INFO_ATTR);
    // A class's attribute as the attribute protocol finds it on the class (StgInfo is
    // not a descriptor, and metaclasses do not define it), through CPython's type
    // attribute cache: a few dozen instructions instead of a dictionary walk.
    if let Ok(t) = cls.cast::<PyType>() {
        return capi::private::type_lookup(t, name)?
            .cast_into::<StgInfo>()
            .ok();
    }
    let attr = cls.getattr(name).ok()?;
    attr.cast_into::<StgInfo>().ok()
}

/// The type information of an instance's class, or of a class.
pub fn info_of_type_or_instance<'py>(obj: &Bound<'py, PyAny>) -> Option<Bound<'py, StgInfo>> {
    if obj.is_instance_of::<PyType>() {
        info_of(obj)
    } else {
        info_of(obj.get_type().as_any())
    }
}

/// Stores `info` on the new class `cls`, which also gets the raw `__init__` slot of its
/// kind (see `capi::objects::adopt`).
pub fn set_info<'py>(cls: &Bound<'py, PyType>, info: StgInfo) -> PyResult<Bound<'py, StgInfo>> {
    let info = Bound::new(cls.py(), info)?;
    cls.setattr(intern!(cls.py(), INFO_ATTR), &info)?;
    capi::objects::adopt(cls);
    Ok(info)
}

/// The PEP 3118 byte-order prefix of values stored in native (`swapped` false) or
/// swapped order.
pub fn endian_prefix(swapped: bool) -> char {
    let little = cfg!(target_endian = "little") != swapped;
    if little {
        '<'
    } else {
        '>'
    }
}
