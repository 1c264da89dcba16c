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

/// The type information of a ferrotype class: what every kind has, and in [`Detail`]
/// what only one kind has.
#[pyclass(frozen, module = "ferrotype._native", name = "StgInfo")]
pub struct StgInfo {
    pub size: usize,
    pub align: usize,
    /// Whether values are stored in non-native byte order.
    pub swapped: bool,
    /// The libffi type used when a value of this type is passed.
    pub ffi: FfiType,
    /// The PEP 3118 format, NUL-terminated for the buffer protocol.
    pub format: CString,
    /// The buffer shape (arrays: one entry per dimension).
    pub shape: Vec<isize>,
    /// Whether values hold addresses (pointers, `c_char_p`, `py_object`...), directly or
    /// in a field or element: such instances cannot be pickled (ctypes' rule).
    pub has_pointer: bool,
    /// What only this kind of type has.
    pub detail: Detail,
}

/// The part of the type information that depends on the kind.
pub enum Detail {
    /// `_SimpleCData` subclasses.
    Simple(SimpleInfo),
    /// `Array` subclasses.
    Array(ArrayInfo),
    /// `_Pointer` subclasses.
    Pointer(PointerInfo),
    /// `CFuncPtr` subclasses.
    FuncPtr,
    /// `Structure` subclasses.
    Struct(CompoundInfo),
    /// `Union` subclasses.
    Union(CompoundInfo),
}

impl Detail {
    /// A structure's (`union` false) or union's detail.
    pub fn compound(union: bool, info: CompoundInfo) -> Detail {
        if union {
            Detail::Union(info)
        } else {
            Detail::Struct(info)
        }
    }
}

/// A simple type.
pub struct SimpleInfo {
    /// The type code.
    pub code: TypeCode,
    /// Whether the class derives directly from `_SimpleCData`. ctypes turns results and
    /// elements of such types into Python values, and of their subclasses into instances.
    pub direct: bool,
    /// The C type's `_type_` character (`'i'`), kept to answer without re-reading it.
    pub type_char: char,
}

/// An array type.
pub struct ArrayInfo {
    /// The number of elements.
    pub length: usize,
    /// The element type.
    pub elem: Py<PyAny>,
    /// Its type information.
    pub elem_info: Py<StgInfo>,
    /// The element code of a `c_char` or `c_wchar` array (enables `.value`/`.raw`).
    pub char_elem: Option<TypeCode>,
}

/// A pointer type.
pub struct PointerInfo {
    /// The target type given at creation (`_type_`), if any.
    pub target: Option<Py<PyAny>>,
    /// Its type information.
    pub target_info: Option<Py<StgInfo>>,
    /// Pointer types made incomplete (`POINTER("name")`): the target type, set once by
    /// `set_type`. Kept in the same StgInfo so that everything that already holds it
    /// (fields, instances, call plans) sees the completed type.
    pub completed: std::sync::OnceLock<Py<PyAny>>,
}

/// A structure or union type.
#[derive(Default)]
pub struct CompoundInfo {
    /// The field names in initialiser order (base class first).
    pub field_names: Vec<String>,
    /// Whether `_fields_` has been set (it is final then).
    pub fields_final: bool,
    /// Without `_fields_` yet: set once the type is used (an instance made, a field,
    /// array element or subclass declared with it), after which `_fields_` can no longer
    /// be set, as in ctypes: what was made from the empty layout would not fit a new one.
    pub sealed: std::sync::atomic::AtomicBool,
    /// Structures: the members of the buffer format (`(offset, size, "<i:x:")`), base
    /// class members first, so that a derived structure describes all of its bytes.
    pub format_members: Vec<(usize, usize, String)>,
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
    #[getter(length)]
    fn py_length(&self) -> usize {
        self.length()
    }
    #[getter]
    fn format(&self) -> String {
        self.format.to_string_lossy().into_owned()
    }
    /// The types this one refers to (an array's element, a pointer's target), for the
    /// garbage collector: a pointer type and its target refer to each other from 3.14
    /// (`T.__pointer_type__`), and such cycles must be collectable.
    fn __traverse__(&self, visit: pyo3::PyVisit<'_>) -> Result<(), pyo3::PyTraverseError> {
        match &self.detail {
            Detail::Array(a) => {
                visit.call(&a.elem)?;
                visit.call(&a.elem_info)?;
            }
            Detail::Pointer(p) => {
                visit.call(&p.target)?;
                visit.call(&p.target_info)?;
                visit.call(p.completed.get())?;
            }
            Detail::Simple(_) | Detail::FuncPtr | Detail::Struct(_) | Detail::Union(_) => {}
        }
        Ok(())
    }
    fn __repr__(&self) -> String {
        format!(
            "<StgInfo {:?} size={} align={} format={:?}>",
            self.kind(),
            self.size,
            self.align,
            self.format
        )
    }
}

impl StgInfo {
    /// Information of the given kind and essentials, in native byte order, without a
    /// shape and holding no addresses.
    pub fn new(detail: Detail, size: usize, align: usize, ffi: FfiType, format: &str) -> StgInfo {
        StgInfo {
            size,
            align,
            swapped: false,
            ffi,
            format: CString::new(format).unwrap_or_default(),
            shape: Vec::new(),
            has_pointer: false,
            detail,
        }
    }

    /// The kind of type.
    #[inline]
    pub fn kind(&self) -> Kind {
        match self.detail {
            Detail::Simple(_) => Kind::Simple,
            Detail::Array(_) => Kind::Array,
            Detail::Pointer(_) => Kind::Pointer,
            Detail::FuncPtr => Kind::FuncPtr,
            Detail::Struct(_) => Kind::Struct,
            Detail::Union(_) => Kind::Union,
        }
    }

    /// A simple type's information.
    #[inline]
    pub fn simple(&self) -> Option<&SimpleInfo> {
        match &self.detail {
            Detail::Simple(s) => Some(s),
            _ => None,
        }
    }

    /// An array type's information.
    #[inline]
    pub fn array(&self) -> Option<&ArrayInfo> {
        match &self.detail {
            Detail::Array(a) => Some(a),
            _ => None,
        }
    }

    /// A pointer type's information.
    #[inline]
    pub fn pointer(&self) -> Option<&PointerInfo> {
        match &self.detail {
            Detail::Pointer(p) => Some(p),
            _ => None,
        }
    }

    /// A structure or union type's information.
    #[inline]
    pub fn compound(&self) -> Option<&CompoundInfo> {
        match &self.detail {
            Detail::Struct(c) | Detail::Union(c) => Some(c),
            _ => None,
        }
    }

    /// An array type's length (0 for other types).
    #[inline]
    pub fn length(&self) -> usize {
        self.array().map_or(0, |a| a.length)
    }

    /// The element code of a `c_char` or `c_wchar` array.
    #[inline]
    pub fn char_elem(&self) -> Option<TypeCode> {
        self.array().and_then(|a| a.char_elem)
    }

    /// A simple type's `_type_` character.
    #[inline]
    pub fn type_char(&self) -> Option<char> {
        self.simple().map(|s| s.type_char)
    }

    /// A simple type's code.
    #[inline]
    pub fn code(&self) -> Option<TypeCode> {
        self.simple().map(|s| s.code)
    }

    /// The code of a simple type deriving directly from `_SimpleCData`, whose values
    /// read as Python values (not instances).
    #[inline]
    pub fn value_code(&self) -> Option<TypeCode> {
        self.simple().filter(|s| s.direct).map(|s| s.code)
    }

    /// The element type (arrays) or target type given at creation (pointers).
    #[inline]
    pub fn proto(&self) -> Option<&Py<PyAny>> {
        match &self.detail {
            Detail::Array(a) => Some(&a.elem),
            Detail::Pointer(p) => p.target.as_ref(),
            _ => None,
        }
    }

    /// The type information of [`StgInfo::proto`].
    #[inline]
    pub fn proto_info(&self) -> Option<&Py<StgInfo>> {
        match &self.detail {
            Detail::Array(a) => Some(&a.elem_info),
            Detail::Pointer(p) => p.target_info.as_ref(),
            _ => None,
        }
    }

    /// A structure's or union's field names, in initialiser order (empty for other
    /// types).
    #[inline]
    pub fn field_names(&self) -> &[String] {
        self.compound().map_or(&[], |c| c.field_names.as_slice())
    }

    /// Whether the layout can no longer change (`_fields_` set, or the type used);
    /// always for types other than structures and unions.
    pub fn is_final(&self) -> bool {
        self.compound()
            .is_none_or(|c| c.fields_final || c.sealed.load(std::sync::atomic::Ordering::Relaxed))
    }

    /// Marks a structure or union type without `_fields_` as used (see `sealed`).
    #[inline]
    pub fn seal(&self) {
        if let Some(c) = self.compound().filter(|c| !c.fields_final) {
            c.sealed.store(true, std::sync::atomic::Ordering::Relaxed);
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
        let p = self.pointer()?;
        p.target.as_ref().or_else(|| p.completed.get())
    }

    /// The element size of the buffer view (ctypes reports the innermost element's
    /// size, also for empty arrays).
    pub fn itemsize(&self) -> usize {
        match self.array() {
            Some(a) => a.elem_info.get().itemsize(),
            None => self.size,
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

/// The PEP 3118 format of a simple type, without the byte-order prefix: the core's
/// character, and for the complex types on 3.15 its `Z` pair (`Zd`).
pub fn format_code(code: TypeCode) -> String {
    let c = code.format_char();
    if code.is_complex() && crate::capi::version::COMPLEX_CODES_ARE_Z_PAIRS {
        format!("Z{}", c.to_ascii_lowercase())
    } else {
        c.to_string()
    }
}
