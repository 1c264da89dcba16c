//! Type information (ctypes' StgInfo): what a ferrotype type is, computed once when the
//! class is made and stored on the class as `_ft_info_`. Instances hold a reference to
//! it, and call plans copy what they need from it, so nothing on a hot path re-derives a
//! size, a format or a libffi type.

use std::ffi::{CStr, CString};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering};
use std::sync::Mutex;

use ferrotype_core::{FfiType, TypeCode};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::PyType;

use crate::capi;
use crate::capi::gilcell::{GilCell, GilSlot};

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
    /// The PEP 3118 format given when the type was made, NUL-terminated for the buffer
    /// protocol. Read it through [`StgInfo::format_cstr`] (a pointer type's can change).
    pub format: CString,
    /// The buffer shape (arrays: one entry per dimension).
    pub shape: Vec<isize>,
    /// Whether values hold addresses (pointers, `c_char_p`, `py_object`...), directly or
    /// in a field or element: such instances cannot be pickled (ctypes' rule).
    pub has_pointer: bool,
    /// What only this kind of type has.
    pub detail: Detail,
    /// What `ferrotype.ctypeslib` computed once about the type (for arrays: the NumPy
    /// dtype, shape and size of `as_array`'s views), read back by the extension's NumPy
    /// bridge (`api/numpy.rs`); empty until then.
    pub numpy: GilSlot,
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
    /// The present target (`_type_`): none for an incomplete pointer type
    /// (`POINTER("name")`). `set_type` replaces it in this same StgInfo, so that
    /// everything that already holds it (instances, fields, call plans) follows, as in
    /// ctypes; readers take a snapshot (an `Rc` clone) and never a reference into the
    /// cell.
    target: GilCell<Option<PointerTarget>>,
    /// 3.15: the formats `set_type` gave the type (see [`StgInfo::format_cstr`]).
    formats: RetargetedFormats,
}

/// A pointer type's target and what reads through its instances may trust.
pub struct PointerTarget {
    /// The target type.
    pub cls: Py<PyAny>,
    /// Its type information (when the type was given; a structure without `_fields_`
    /// yet gets a new one when they are set).
    pub info: Py<StgInfo>,
    /// The fewest bytes any instance may have been aimed at: the smallest size the
    /// target had when it became the target, over every target the type has had.
    /// Instances are aimed only at objects at least as large as the target of the
    /// moment, so while the target is no larger than this, `.contents` and `p[0]` stay
    /// inside the object; once it grew (`set_type` to a larger type, or a structure
    /// given `_fields_` later), those reads check the object the instance keeps alive.
    pub vouched: usize,
    /// Set once `.contents` found that it may make its view without looking further:
    /// `info` is final (no structure `_fields_` still to come, so it is the class's
    /// information for good), the target did not grow (`info.size <= vouched`), and
    /// `cls` is a class made from the native class of its kind (so its instances are
    /// laid out as a `CData`, which assigning `__bases__` cannot change: CPython allows
    /// it only between layouts that agree). None of that can become false again for this
    /// record (`set_type` makes a new one), so one flag stands for all of it.
    plain: AtomicBool,
}

impl PointerTarget {
    fn new(cls: Py<PyAny>, info: Py<StgInfo>, vouched: usize) -> PointerTarget {
        PointerTarget {
            cls,
            info,
            vouched,
            plain: AtomicBool::new(false),
        }
    }

    /// Whether [`PointerTarget::mark_plain`] was called: see the field `plain`.
    #[inline(always)]
    pub fn is_plain(&self) -> bool {
        self.plain.load(Ordering::Relaxed)
    }

    /// Records that what the field `plain` says holds.
    ///
    /// # Safety
    /// The caller has checked all of it: views are then made as instances of `cls`
    /// without checking its class again.
    pub unsafe fn mark_plain(&self) {
        self.plain.store(true, Ordering::Relaxed);
    }
}

impl PointerInfo {
    /// A pointer type's information, with `target` (type and information) if given.
    pub fn new(target: Option<(Py<PyAny>, Py<StgInfo>)>) -> PointerInfo {
        let target = target.map(|(cls, info)| {
            let vouched = info.get().size;
            PointerTarget::new(cls, info, vouched)
        });
        PointerInfo {
            target: GilCell::new(target),
            formats: RetargetedFormats::default(),
        }
    }

    /// A snapshot of the present target (`None` inside while incomplete).
    #[inline]
    pub fn target(&self, py: Python<'_>) -> Rc<Option<PointerTarget>> {
        self.target.get(py)
    }

    /// Lends the present target to `f` (see [`GilCell::peek`]).
    ///
    /// # Safety
    ///
    /// As `GilCell::peek`: `f` runs no Python code and releases no Python reference.
    #[inline]
    pub unsafe fn peek_target<R>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(Option<&PointerTarget>) -> R,
    ) -> R {
        // SAFETY: the caller's contract is peek's.
        unsafe { self.target.peek(py, |t| f(t.as_ref())) }
    }

    /// Makes `cls` (described by `info`) the target (`set_type`), with `format` as the
    /// type's new buffer format when given.
    pub fn retarget(
        &self,
        py: Python<'_>,
        cls: Py<PyAny>,
        info: Py<StgInfo>,
        format: Option<&str>,
    ) {
        let size = info.get().size;
        let vouched = match self.target(py).as_ref() {
            Some(old) => old.vouched.min(size),
            None => size,
        };
        if let Some(f) = format {
            self.formats.push(f);
        }
        self.target
            .set(py, Some(PointerTarget::new(cls, info, vouched)));
    }
}

/// The buffer formats a pointer type was given after it was made (3.15's `set_type`
/// follows the new target). A buffer exported earlier holds a pointer to the format
/// of its time, so none is freed before the type: the list only grows, and readers
/// load the newest through an atomic pointer.
#[derive(Default)]
struct RetargetedFormats {
    /// The newest entry of `all`, or null while there is none.
    current: AtomicPtr<std::ffi::c_char>,
    all: Mutex<Vec<CString>>,
}

impl RetargetedFormats {
    fn push(&self, format: &str) {
        let f = CString::new(format).unwrap_or_default();
        // A CString's bytes are on the heap: moving it into the list does not move them.
        let ptr = f.as_ptr().cast_mut();
        let mut all = self.all.lock().unwrap_or_else(|e| e.into_inner());
        all.push(f);
        self.current.store(ptr, Ordering::Release);
    }

    fn get(&self) -> Option<&CStr> {
        let ptr = self.current.load(Ordering::Acquire);
        if ptr.is_null() {
            return None;
        }
        // SAFETY: `ptr` is the start of a NUL-terminated string owned by `all`, whose
        // entries are never removed or changed while `self` lives (and the Release store
        // made after the push orders its bytes before this load).
        Some(unsafe { CStr::from_ptr(ptr) })
    }
}

/// A member of a structure's buffer format: the bytes it describes, and where its text
/// lies in the type's format string (read back by [`StgInfo::member_text`]).
#[derive(Clone, Debug)]
pub struct FormatMember {
    pub offset: usize,
    pub size: usize,
    pub text: std::ops::Range<usize>,
}

/// A structure or union type.
#[derive(Default)]
pub struct CompoundInfo {
    /// The fields in initialiser order (base class first), as (interned name, the
    /// descriptor the class was given for it): `__init__` assigns positional values with
    /// these names, made once here instead of per call, and writes through the
    /// descriptor directly when the instance's class still resolves the name to it.
    pub field_keys: Vec<(Py<pyo3::types::PyString>, Py<PyAny>)>,
    /// Whether `_fields_` has been set (it is final then).
    pub fields_final: bool,
    /// Without `_fields_` yet: set once the type is used (an instance made, a field,
    /// array element or subclass declared with it), after which `_fields_` can no longer
    /// be set, as in ctypes: what was made from the empty layout would not fit a new one.
    pub sealed: std::sync::atomic::AtomicBool,
    /// Structures: the members of the buffer format (each with its text, `<i:x:`, in the
    /// type's format), base class members first, so that a derived structure describes
    /// all of its bytes.
    pub format_members: Vec<FormatMember>,
    /// The fields (base class fields first) whose type holds addresses or objects
    /// (`has_pointer`), with their offsets: what strict mode's provenance check reads
    /// to tell whether memory at an offset was written as a pointer or a `py_object`
    /// (`codec::provenance`).
    pub address_fields: Vec<(usize, Py<StgInfo>)>,
    /// The layout options the class's attributes resolved to (`_layout_`, `_pack_`,
    /// `_align_`, byte order), kept for `ferrotype.layout()`; `None` before `_fields_`.
    pub options: Option<ferrotype_core::layout::CtypesOptions>,
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
        self.format_cstr().to_string_lossy().into_owned()
    }
    /// The types this one refers to (an array's element, a pointer's target), for the
    /// garbage collector: a pointer type and its target refer to each other from 3.14
    /// (`T.__pointer_type__`), and such cycles must be collectable.
    fn __traverse__(&self, visit: pyo3::PyVisit<'_>) -> Result<(), pyo3::PyTraverseError> {
        self.numpy.traverse(&visit)?;
        match &self.detail {
            Detail::Array(a) => {
                visit.call(&a.elem)?;
                visit.call(&a.elem_info)?;
            }
            Detail::Pointer(p) => {
                p.target
                    .traverse(&visit, |t| -> Result<(), pyo3::PyTraverseError> {
                        if let Some(t) = t {
                            visit.call(&t.cls)?;
                            visit.call(&t.info)?;
                        }
                        Ok(())
                    })?;
            }
            Detail::Struct(c) | Detail::Union(c) => {
                for (_, info) in &c.address_fields {
                    visit.call(info)?;
                }
                // (The names are strings, which the collector does not track: only the
                // descriptors are visited.)
                for (_, descr) in &c.field_keys {
                    visit.call(descr)?;
                }
            }
            Detail::Simple(_) | Detail::FuncPtr => {}
        }
        Ok(())
    }
    fn __repr__(&self) -> String {
        format!(
            "<StgInfo {:?} size={} align={} format={:?}>",
            self.kind(),
            self.size,
            self.align,
            self.format_cstr()
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
            numpy: GilSlot::new(),
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

    /// An array's element type.
    #[inline]
    pub fn proto(&self) -> Option<&Py<PyAny>> {
        self.array().map(|a| &a.elem)
    }

    /// The type information of [`StgInfo::proto`].
    #[inline]
    pub fn proto_info(&self) -> Option<&Py<StgInfo>> {
        self.array().map(|a| &a.elem_info)
    }

    /// A pointer type's present target type (`None` while incomplete).
    pub fn pointer_cls(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        let t = self.pointer()?.target(py);
        t.as_ref().as_ref().map(|t| t.cls.clone_ref(py))
    }

    /// Whether this is a pointer type with a target (one that can have instances).
    pub fn has_target(&self, py: Python<'_>) -> bool {
        self.pointer().is_some_and(|p| p.target(py).is_some())
    }

    /// An array's element type or a pointer's present target.
    pub fn item_cls(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        match &self.detail {
            Detail::Array(a) => Some(a.elem.clone_ref(py)),
            Detail::Pointer(_) => self.pointer_cls(py),
            _ => None,
        }
    }

    /// The simple type code of an array's element or a pointer's present target.
    #[inline]
    pub fn item_code(&self, py: Python<'_>) -> Option<TypeCode> {
        match &self.detail {
            Detail::Array(a) => a.elem_info.get().code(),
            Detail::Pointer(p) => p.target(py).as_ref().as_ref()?.info.get().code(),
            _ => None,
        }
    }

    /// The PEP 3118 format of a value of this type (what the buffer protocol exports):
    /// the one computed when the type was made, or on 3.15 the one `set_type` gave a
    /// pointer type.
    #[inline]
    pub fn format_cstr(&self) -> &CStr {
        if let Some(f) = self.pointer().and_then(|p| p.formats.get()) {
            return f;
        }
        &self.format
    }

    /// Whether the type has a format: every type but a pointer type made without a
    /// target, whose format ctypes leaves empty (exported as `B`) until `set_type` gives
    /// it one (3.15; never before).
    pub fn has_format(&self) -> bool {
        self.kind() != Kind::Pointer || self.format_cstr().to_bytes().starts_with(b"&")
    }

    /// The number of a structure's or union's fields, its base's included (0 for other
    /// types).
    #[inline]
    pub fn field_count(&self) -> usize {
        self.compound().map_or(0, |c| c.field_keys.len())
    }

    /// The text of a member of the type's buffer format (`<i:x:`; empty if the format
    /// could not hold it, a name with a NUL byte having left the format empty).
    pub fn member_text(&self, member: &FormatMember) -> &str {
        self.format
            .as_bytes()
            .get(member.text.clone())
            .and_then(|b| std::str::from_utf8(b).ok())
            .unwrap_or("")
    }

    /// The fields as (interned name, descriptor), in initialiser order (empty for other
    /// types).
    #[inline]
    pub fn field_keys(&self) -> &[(Py<pyo3::types::PyString>, Py<PyAny>)] {
        self.compound().map_or(&[], |c| c.field_keys.as_slice())
    }

    /// Whether the layout can no longer change (`_fields_` set, or the type used);
    /// always for types other than structures and unions.
    #[inline]
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
        let mut out = String::new();
        self.push_member_format(&mut out);
        out
    }

    /// [`member_format`](Self::member_format) appended to `out` (no allocation of its own).
    pub fn push_member_format(&self, out: &mut String) {
        use std::fmt::Write;
        // (`from_utf8` first: its ASCII path is much quicker than the lossy decoder's,
        // and the formats are made from Rust strings.)
        let raw = self.format_cstr().to_bytes();
        let fmt = std::str::from_utf8(raw)
            .map_or_else(|_| String::from_utf8_lossy(raw), std::borrow::Cow::Borrowed);
        if self.kind() == Kind::Pointer {
            // ctypes: a pointer is one item, and one without a format reads as `B`.
            out.push_str(&fmt);
            return;
        }
        let bytes = (fmt == "B" && self.itemsize() > 1)
            .then(|| isize::try_from(self.itemsize()).unwrap_or(isize::MAX));
        if !self.shape.is_empty() || bytes.is_some() {
            out.push('(');
            for (i, d) in self.shape.iter().chain(bytes.as_ref()).enumerate() {
                if i > 0 {
                    out.push(',');
                }
                // Writing into a String cannot fail.
                let _ = write!(out, "{d}");
            }
            out.push(')');
        }
        out.push_str(&fmt);
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
#[inline]
pub fn info_of<'py>(cls: &Bound<'py, PyAny>) -> Option<Bound<'py, StgInfo>> {
    if let Ok(t) = cls.cast::<PyType>() {
        // A class's own information is attached to the type object (`set_info`).
        // StgInfo cannot be subclassed: an exact type test.
        if let Some(own) = capi::objects::own_info(t) {
            if is_info_exact(&own) {
                // SAFETY: an object of exactly the StgInfo class (just checked).
                return Some(unsafe { own.cast_unchecked::<StgInfo>() }.to_owned());
            }
        }
    }
    looked_up_info(cls)
}

/// The address of the `StgInfo` class object, once an object of it was seen (0 before).
/// PyO3 keeps the class alive for as long as the module, so the address stays its.
static INFO_TYPE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Whether `obj` is exactly of the `StgInfo` class (which cannot be subclassed): one
/// comparison with the class's address instead of PyO3's lazy class lookup.
#[inline(always)]
fn is_info_exact(obj: &pyo3::Borrowed<'_, '_, PyAny>) -> bool {
    use std::sync::atomic::Ordering;
    let ty = obj.get_type_ptr() as usize;
    let known = INFO_TYPE.load(Ordering::Relaxed);
    if known != 0 {
        return ty == known;
    }
    let exact = obj.is_exact_instance_of::<StgInfo>();
    if exact {
        INFO_TYPE.store(ty, Ordering::Relaxed);
    }
    exact
}

/// The size of the class `cls` from its own information, without taking a reference
/// to it (`sizeof`'s fast path); `None` when `cls` is not a class with information of
/// its own.
#[inline]
pub fn own_size(cls: &Bound<'_, PyAny>) -> Option<usize> {
    let t = cls.cast::<PyType>().ok()?;
    let own = capi::objects::own_info(t)?;
    if !is_info_exact(&own) {
        return None;
    }
    // SAFETY: an object of exactly the StgInfo class (just checked).
    Some(unsafe { own.cast_unchecked::<StgInfo>() }.get().size)
}

/// [`info_of`] for a class without information of its own, or an object that is not a
/// class.
#[inline(never)]
fn looked_up_info<'py>(cls: &Bound<'py, PyAny>) -> Option<Bound<'py, StgInfo>> {
    let py = cls.py();
    if let Ok(t) = cls.cast::<PyType>() {
        // The attribute as the attribute protocol finds it on the class (StgInfo is not
        // a descriptor, and metaclasses do not define it), through CPython's type
        // attribute cache.
        return capi::private::type_lookup(t, intern!(py, INFO_ATTR))?
            .cast_into_exact::<StgInfo>()
            .ok();
    }
    let attr = cls.getattr(intern!(py, INFO_ATTR)).ok()?;
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

/// The type information `cls` holds itself (in its own `__dict__`), not inherited from a
/// base: `None` for an abstract class or one not laid out yet.
pub fn own_info<'py>(cls: &Bound<'py, PyType>) -> PyResult<Option<Bound<'py, StgInfo>>> {
    let py = cls.py();
    Ok(capi::classes::own_dict_item(cls, intern!(py, INFO_ATTR))?
        .and_then(|i| i.cast_into::<StgInfo>().ok()))
}

/// Stores `info` on the new class `cls`, which also gets the raw `__init__` slot of its
/// kind (see `capi::objects::adopt`).
pub fn set_info<'py>(cls: &Bound<'py, PyType>, info: StgInfo) -> PyResult<Bound<'py, StgInfo>> {
    let info = Bound::new(cls.py(), info)?;
    // Through `type`'s own setattr: the information is not an attribute a metaclass's
    // `__setattr__` should see (ctypes keeps it out of the namespace altogether).
    capi::objects::type_setattr(cls, intern!(cls.py(), INFO_ATTR), info.as_any())?;
    // Also on the type object itself, where `info_of` reads it first.
    capi::objects::set_own_info(cls, info.as_any());
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
