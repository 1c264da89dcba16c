//! `Structure` and `Union`: their layout, computed once by the core's `layout` module
//! when `_fields_` is set, and their field descriptors (`CField`), which read and write
//! the instance's memory at a fixed offset (bit-fields through their storage unit).

use ferrotype_core::layout::{
    BaseSpec, ByteOrder, CtypesAttrs, FieldSpec, IntKind, Layout, StructSpec,
};
use ferrotype_core::memory;
use ferrotype_core::strict;
use ferrotype_core::{FfiType, TypeCode};
use pyo3::exceptions::{PyAttributeError, PyOverflowError, PyTypeError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString, PyTuple, PyType};

use crate::capi::classes::{class_attr, own_dict_item};
use crate::capi::objects::{replaced_constructor, type_setattr};
use crate::capi::private::type_lookup;
use crate::capi::slots::{DescrGet, Quick};
use crate::capi::values::{
    bounded_items, generic_setattr, int_low_bits, sequence_item, sequence_len,
};
use crate::capi::version;
use crate::codec::element::{char_units_value, get_item_at, set_char_units, set_item_at};
use crate::codec::scalar::{int_value, load};
use crate::model::cdata::{as_cdata, CData};
use crate::model::errors::{to_py, warn_from_caller, CoreResultExt};
use crate::model::stginfo::{
    info_of, own_info, set_info, CompoundInfo, Detail, FormatMember, Kind, StgInfo, INFO_ATTR,
};

/// A field descriptor of a structure or union class (ctypes' `CField`).
#[pyclass(frozen, module = "ferrotype._ctypes", name = "CField")]
pub struct CField {
    /// The name (interned: the key of the class attribute).
    name: Py<PyString>,
    offset: usize,
    /// The field's size, or its storage unit's size for a bit-field.
    size: usize,
    /// Bit-fields: shift within the unit (in the struct's byte order), width, kind.
    bits: Option<(u32, u32, IntKind)>,
    /// Index within the structure, for keep-alive keys.
    index: usize,
    proto: Py<PyAny>,
    proto_info: Py<StgInfo>,
    swapped: bool,
    /// The field's code when it is a value of a simple type deriving directly from
    /// `_SimpleCData` (read and written as a Python value): the fast path of `p.x`.
    scalar: Option<TypeCode>,
    /// The class the field was declared in: instances of exactly this class skip the
    /// general subtype check on every access.
    owner: Py<PyType>,
    /// Whether the field is named in its class's `_anonymous_`.
    anonymous: bool,
    /// Made by `CField(...)` (3.14+) rather than by a class's layout: every access checks
    /// that the field lies inside the instance's memory.
    standalone: bool,
}

impl CField {
    /// Whether the field is a bit-field.
    pub fn is_bitfield(&self) -> bool {
        self.bits.is_some()
    }

    /// The field's type.
    pub fn proto(&self) -> &Py<PyAny> {
        &self.proto
    }

    /// The byte offset of the field (of its storage unit, for a bit-field).
    pub fn offset_bytes(&self) -> usize {
        self.offset
    }

    /// Where the layout put the field, for `ferrotype.layout()`: its name, offset and
    /// size (of the storage unit, for a bit-field), its bits (shift within the unit in
    /// the structure's byte order, width), and whether it is in `_anonymous_`.
    pub fn placement<'a>(&'a self, py: Python<'a>) -> PyResult<Placement<'a>> {
        Ok((
            self.name.bind(py).to_str()?,
            self.offset,
            self.size,
            self.bits.map(|(shift, width, _)| (shift, width)),
            self.anonymous,
        ))
    }

    /// A field made by `CField(...)` may be used on any instance: refuse one whose
    /// memory does not hold the field. (A class's own fields lie inside its instances by
    /// the layout, and skip this.)
    #[inline]
    fn check_inside(&self, cd: &Bound<'_, CData>) -> PyResult<()> {
        if self.standalone && self.offset.saturating_add(self.size) > cd.get().size() {
            return Err(PyValueError::new_err(format!(
                "field '{}' lies outside the memory of the instance",
                self.name.bind(cd.py())
            )));
        }
        Ok(())
    }

    fn shifted(&self, py: Python<'_>, by: usize, owner: &Bound<'_, PyType>) -> CField {
        CField {
            name: self.name.clone_ref(py),
            offset: self.offset + by,
            size: self.size,
            bits: self.bits,
            index: self.index,
            proto: self.proto.clone_ref(py),
            proto_info: self.proto_info.clone_ref(py),
            swapped: self.swapped,
            scalar: self.scalar,
            owner: owner.clone().unbind(),
            anonymous: self.anonymous,
            standalone: self.standalone,
        }
    }
}

/// The payload offset of `CField` instances, measured at start-up.
static LAYOUT: crate::capi::objects::PayloadLayout = crate::capi::objects::PayloadLayout::new();

impl crate::capi::objects::Payload for CField {
    #[inline(always)]
    fn layout() -> &'static crate::capi::objects::PayloadLayout {
        &LAYOUT
    }

    #[inline(always)]
    fn placed(&self) {}

    const WEAK_LIST: bool = false;

    /// Moves the value out and releases its references at once (as `Bound`s).
    #[inline(always)]
    unsafe fn dispose(this: *mut CField, py: Python<'_>) {
        // SAFETY: the caller's contract: a live value, never used again, read out once.
        let field = unsafe { std::ptr::read(this) };
        let CField {
            name,
            proto,
            proto_info,
            owner,
            ..
        } = field;
        drop(name.into_bound(py));
        drop(proto.into_bound(py));
        drop(proto_info.into_bound(py));
        drop(owner.into_bound(py));
    }
}

impl crate::capi::objects::Traversed for CField {
    #[inline(always)]
    fn each_reference(&self, mut visit: impl FnMut(&Py<PyAny>)) {
        visit(&self.proto);
        visit(self.proto_info.as_any());
        visit(self.owner.as_any());
    }
}

impl CField {
    /// A field to measure the layout with (`capi::objects::measure`, at start-up).
    pub fn probe(py: Python<'_>, info: Py<StgInfo>) -> CField {
        CField {
            name: PyString::new(py, "probe").unbind(),
            offset: 0,
            size: 0,
            bits: None,
            index: 0,
            proto: py.None(),
            proto_info: info,
            swapped: false,
            scalar: None,
            owner: <CData as pyo3::PyTypeInfo>::type_object(py).unbind(),
            anonymous: false,
            standalone: true,
        }
    }
}

/// Where a field lies ([`CField::placement`]): its name, offset, size, bits (shift,
/// width) and whether it is anonymous.
pub type Placement<'a> = (&'a str, usize, usize, Option<(u32, u32)>, bool);

fn instance<'a, 'py>(
    obj: &'a Bound<'py, PyAny>,
    owner: &Py<PyType>,
) -> PyResult<&'a Bound<'py, CData>> {
    if obj.get_type().as_ptr() == owner.as_ptr() {
        // SAFETY: `owner` is a structure or union class, a subclass of the native
        // CData class, so its exact instances are CData objects.
        return Ok(unsafe { obj.cast_unchecked::<CData>() });
    }
    as_cdata(obj).ok_or_else(|| PyTypeError::new_err("not a ctypes instance"))
}

impl DescrGet for CField {
    /// The commonest read, a `double` or `int` field of an exact instance of the class
    /// that declared it, in native order: no result wrapper (nothing here can fail).
    #[inline]
    fn quick(&self, obj: &Bound<'_, PyAny>) -> Option<Quick> {
        if self.swapped || obj.get_type_ptr().cast::<u8>() != self.owner.as_ptr().cast::<u8>() {
            return None;
        }
        // SAFETY: an exact instance of the field's owner class, a structure or union
        // class (so a subclass of the native `_CData`), is a CData.
        let cd = unsafe { obj.cast_unchecked::<CData>() };
        let ptr = cd.get().ptr().wrapping_add(self.offset);
        // SAFETY: the layout keeps the field inside the structure's memory, which the
        // instance holds; the field's code gives the type read.
        unsafe {
            match self.scalar {
                Some(TypeCode::Double) => Some(Quick::Float(ptr.cast::<f64>().read_unaligned())),
                Some(TypeCode::Int) if TypeCode::Int.size() == 4 => {
                    Some(Quick::Int(ptr.cast::<i32>().read_unaligned().into()))
                }
                _ => None,
            }
        }
    }

    fn get(slf: &Bound<'_, Self>, obj: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        CField::get_value(slf, obj)
    }
}

impl CField {
    /// `instance.field`: the field's value read from the instance's memory.
    fn get_value(slf: &Bound<'_, Self>, obj: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        let f = slf.get();
        let cd = instance(obj, &f.owner)?;
        f.check_inside(cd)?;
        let ptr = cd.get().ptr().wrapping_add(f.offset);
        if let Some(code) = f.scalar {
            // SAFETY: the field lies inside the structure's memory (layout invariant).
            return unsafe { load(py, ptr, code, f.swapped) };
        }
        if let Some((shift, bits, kind)) = f.bits {
            // SAFETY: the layout keeps every storage unit inside the structure, whose
            // memory the instance holds.
            let v = unsafe {
                memory::read_bitfield(ptr, f.size, shift, bits, f.swapped, kind == IntKind::Signed)
            };
            return Ok(if kind == IntKind::Bool {
                pyo3::types::PyBool::new(py, v != 0)
                    .to_owned()
                    .into_any()
                    .unbind()
            } else {
                v.into_pyobject(py)?.into_any().unbind()
            });
        }
        let info = f.proto_info.bind(py);
        if let Some(code) = info.get().char_elem() {
            // ctypes: a char array field reads as bytes (a wchar array as str) up to NUL.
            return char_units_value(py, ptr, info.get().length(), code);
        }
        get_item_at(obj, f.proto.bind(py), info, ptr, f.index)
    }

    /// `instance.field = value`: the value written into the instance's memory (the
    /// body of `__set__`, also called by `__init__` for the positional values).
    pub fn set_value(
        slf: &Bound<'_, Self>,
        obj: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let py = slf.py();
        let f = slf.get();
        let cd = instance(obj, &f.owner)?;
        f.check_inside(cd)?;
        cd.get().check_writable()?;
        let ptr = cd.get().ptr().wrapping_add(f.offset);
        if let (Some(TypeCode::Double), false) = (f.scalar, f.swapped) {
            if let Ok(v) = value.cast::<pyo3::types::PyFloat>() {
                // SAFETY: an 8-byte field inside the structure's memory.
                unsafe { ptr.cast::<f64>().write_unaligned(v.value()) };
                return Ok(());
            }
        }
        if let Some((shift, bits, kind)) = f.bits {
            let v: u64 = if kind == IntKind::Bool {
                u64::from(value.is_truthy()?)
            } else if strict::enabled() {
                // Strict mode's rule, at the field's width.
                let v = int_value(value)?;
                let min = -(1i128 << (bits - 1));
                let max = (1i128 << bits) - 1;
                if !(min..=max).contains(&v) {
                    return Err(PyOverflowError::new_err(format!(
                        "int too long to convert to a {bits}-bit field"
                    )));
                }
                v as u64
            } else {
                // ctypes: the low bits of any integer, masked to the field's width by
                // the write (a signed field reads them back sign-extended).
                int_low_bits(value)?
            };
            // SAFETY: as in __get__; the unit is writable instance memory.
            unsafe { memory::write_bitfield(ptr, f.size, shift, bits, f.swapped, v) };
            return Ok(());
        }
        let info = f.proto_info.bind(py).get();
        if let Some(code) = info.char_elem() {
            // ctypes: a character-array field takes a string (instances are copied).
            if as_cdata(value).is_none() {
                return set_char_units(ptr, info.length(), code, value, true);
            }
        }
        set_item_at(cd.get(), f.proto.bind(py), info, ptr, f.index, value)
    }
}

#[pymethods]
impl CField {
    /// `CField(*, name, type, byte_size, byte_offset, index, _internal_use, bit_size=None,
    /// bit_offset=None)`: 3.14's private constructor (before 3.14 the class cannot be
    /// instantiated at all). The checks are ctypes'; a negative offset or index, which
    /// ctypes accepts, is refused, since such a field could not be used safely.
    #[new]
    #[pyo3(signature = (*, name, r#type, byte_size, byte_offset, index, _internal_use,
                        bit_size = None, bit_offset = None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        name: String,
        r#type: &Bound<'_, PyAny>,
        byte_size: isize,
        byte_offset: isize,
        index: isize,
        _internal_use: bool,
        bit_size: Option<isize>,
        bit_offset: Option<isize>,
    ) -> PyResult<CField> {
        if !_internal_use {
            return Err(PyTypeError::new_err("cannot create type object"));
        }
        let info = info_of(r#type)
            .filter(|_| r#type.is_instance_of::<PyType>())
            .ok_or_else(|| {
                PyTypeError::new_err(format!("type of field '{name}' must be a C type"))
            })?;
        let i = info.get();
        let type_size = i.size;
        if usize::try_from(byte_size).ok() != Some(type_size) {
            return Err(PyValueError::new_err(format!(
                "byte size of field '{name}' ({byte_size}) does not match type size \
                 ({type_size})"
            )));
        }
        let out_of_range = |what: &str, v: isize| {
            PyValueError::new_err(format!("{what} of field '{name}' out of range, got {v}"))
        };
        let offset =
            usize::try_from(byte_offset).map_err(|_| out_of_range("byte offset", byte_offset))?;
        let index = usize::try_from(index).map_err(|_| out_of_range("index", index))?;
        let bits = match (bit_size, bit_offset) {
            (None, None) => None,
            // (ctypes' messages, word for word, though they read swapped.)
            (Some(_), None) => return Err(PyTypeError::new_err("an integer is required")),
            (None, Some(_)) => {
                return Err(PyValueError::new_err(format!(
                    "field '{name}': bit_offset must be specified if bit_size is"
                )))
            }
            (Some(width), Some(shift)) => {
                let kind = bitfield_kind(i).ok_or_else(|| {
                    PyTypeError::new_err(format!(
                        "bit fields not allowed for type {}",
                        r#type
                            .getattr(intern!(py, "__name__"))
                            .map(|n| n.to_string())
                            .unwrap_or_default()
                    ))
                })?;
                if width <= 0 {
                    return Err(out_of_range("bit size", width));
                }
                if shift < 0 {
                    return Err(out_of_range("bit offset", shift));
                }
                let unit = type_size.saturating_mul(8);
                let (w, sh) = (width.unsigned_abs(), shift.unsigned_abs());
                if w.saturating_add(sh) > unit {
                    return Err(PyValueError::new_err(format!(
                        "bit field '{name}' overflows its type ({sh} + {w} > {unit})"
                    )));
                }
                // Both fit in the unit's bit count, which fits in u32 for any C integer.
                let narrow =
                    |v: usize| u32::try_from(v).map_err(|_| out_of_range("bit size", width));
                Some((narrow(sh)?, narrow(w)?, kind))
            }
        };
        Ok(CField {
            name: PyString::new(py, &name).unbind(),
            offset,
            size: type_size,
            bits,
            index,
            proto: r#type.clone().unbind(),
            proto_info: info.clone().unbind(),
            swapped: i.swapped,
            scalar: if bits.is_none() { i.value_code() } else { None },
            owner: <CData as pyo3::PyTypeInfo>::type_object(py).unbind(),
            anonymous: false,
            standalone: true,
        })
    }

    fn __get__(
        slf: &Bound<'_, Self>,
        obj: Option<&Bound<'_, PyAny>>,
        _owner: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        match obj.filter(|o| !o.is_none()) {
            Some(o) => CField::get_value(slf, o),
            None => Ok(slf.clone().into_any().unbind()),
        }
    }

    fn __set__(
        slf: &Bound<'_, Self>,
        obj: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        CField::set_value(slf, obj, value)
    }

    fn __traverse__(&self, visit: pyo3::PyVisit<'_>) -> Result<(), pyo3::PyTraverseError> {
        visit.call(&self.proto)?;
        visit.call(&self.proto_info)?;
        visit.call(&self.owner)
    }

    fn __delete__(&self, _obj: &Bound<'_, PyAny>) -> PyResult<()> {
        Err(PyTypeError::new_err("can't delete attribute"))
    }

    #[getter]
    fn offset(&self) -> usize {
        self.offset
    }

    /// ctypes (before 3.14) encodes a bit-field's size as `bits << 16 | bit offset`.
    #[getter]
    fn size(&self) -> usize {
        match self.bits {
            Some((shift, bits, _)) => ((bits as usize) << 16) | shift as usize,
            None => self.size,
        }
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let tname = self.proto.bind(py).getattr(intern!(py, "__name__"))?;
        let ofs = self.offset;
        let name = self.name.bind(py).repr()?;
        Ok(match (self.bits, version::CFIELD_DESCRIBED) {
            (Some((shift, bits, _)), false) => {
                format!("<Field type={tname}, ofs={ofs}:{shift}, bits={bits}>")
            }
            (None, false) => format!("<Field type={tname}, ofs={ofs}, size={}>", self.size),
            (Some((shift, bits, _)), true) => format!(
                "<ctypes.CField {name} type={tname}, ofs={ofs}, bit_size={bits}, \
                 bit_offset={shift}>"
            ),
            (None, true) => {
                format!(
                    "<ctypes.CField {name} type={tname}, ofs={ofs}, size={}>",
                    self.size
                )
            }
        })
    }

    // The attributes that describe a field from 3.14 on (`CField` became public then).

    /// The field's name.
    #[getter]
    fn name(&self, py: Python<'_>) -> PyResult<Py<PyString>> {
        described("name")?;
        Ok(self.name.clone_ref(py))
    }

    /// The field's type, as given in `_fields_`.
    #[getter(r#type)]
    fn field_type(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        described("type")?;
        Ok(self.proto.clone_ref(py))
    }

    /// The offset of the field (of its storage unit, for a bit-field), in bytes.
    #[getter]
    fn byte_offset(&self) -> PyResult<usize> {
        described("byte_offset")?;
        Ok(self.offset)
    }

    /// The size of the field's type, in bytes.
    #[getter]
    fn byte_size(&self) -> PyResult<usize> {
        described("byte_size")?;
        Ok(self.size)
    }

    /// Where a bit-field's bits start in its storage unit (0 for other fields).
    #[getter]
    fn bit_offset(&self) -> PyResult<u32> {
        described("bit_offset")?;
        Ok(self.bits.map_or(0, |(shift, _, _)| shift))
    }

    /// The number of bits of the field (all of its type's, for other fields).
    #[getter]
    fn bit_size(&self) -> PyResult<u128> {
        described("bit_size")?;
        // Of a field near isize::MAX bytes, the bit count exceeds any machine word.
        Ok(self
            .bits
            .map_or(self.size as u128 * 8, |(_, bits, _)| bits.into()))
    }

    /// Whether the field is a bit-field.
    #[getter(is_bitfield)]
    fn bitfield(&self) -> PyResult<bool> {
        described("is_bitfield")?;
        Ok(self.bits.is_some())
    }

    /// Whether the field is named in its class's `_anonymous_`.
    #[getter]
    fn is_anonymous(&self) -> PyResult<bool> {
        described("is_anonymous")?;
        Ok(self.anonymous)
    }
}

/// The 3.14 field attributes do not exist before 3.14, as in ctypes.
fn described(attr: &str) -> PyResult<()> {
    if version::CFIELD_DESCRIBED {
        Ok(())
    } else {
        Err(PyAttributeError::new_err(format!(
            "'CField' object has no attribute '{attr}'"
        )))
    }
}

/// Whether a simple type may hold a bit-field (ctypes: the integer types and `c_bool`).
fn bitfield_kind(info: &StgInfo) -> Option<IntKind> {
    let code = info.code().filter(|_| info.kind() == Kind::Simple)?;
    match code {
        // (A VARIANT_BOOL bit-field stores 1 for true, where ctypes sets all its bits;
        // both read back as True.)
        TypeCode::Bool | TypeCode::VariantBool => Some(IntKind::Bool),
        // ctypes refuses the character types (c_char, c_wchar) as bit-fields.
        c if c.is_integer() => Some(
            if matches!(c.kind(), ferrotype_core::typecode::ValueKind::Signed) {
                IntKind::Signed
            } else {
                IntKind::Unsigned
            },
        ),
        _ => None,
    }
}

/// The libffi description of a member of type `info` inside a structure or union passed
/// by value: an array as one `FfiType::array` of its element's description (an array's
/// own `ffi` is a pointer, for calls), `None` for an empty array, which libffi leaves out.
fn member_ffi(info: &StgInfo) -> Option<FfiType> {
    if info.kind() == Kind::Array {
        let elem = member_ffi(info.proto_info().as_ref()?.get())?;
        FfiType::array(&elem, info.length())
    } else {
        Some(info.ffi.clone())
    }
}

/// One `_fields_` entry, validated.
struct FieldDecl<'py> {
    /// The name as given (a str, whose UTF-8 form `parse_fields` checked).
    key: Bound<'py, PyString>,
    ty: Bound<'py, PyAny>,
    info: Bound<'py, StgInfo>,
    bits: Option<(i64, IntKind)>,
}

impl FieldDecl<'_> {
    /// The field's name (its UTF-8 form, checked by `parse_fields`).
    fn name(&self) -> &str {
        self.key.to_str().unwrap_or_default()
    }
}

fn parse_fields<'py>(fields: &Bound<'py, PyAny>) -> PyResult<Vec<FieldDecl<'py>>> {
    // 3.14 lays structures out in Python: any iterable of fields, each any iterable of
    // two or three items, with the errors of Python's own unpacking and `sizeof`.
    let as_314 = version::FIELDS_CHECKED_AS_ITERABLES;
    let bad = || {
        if as_314 {
            PyValueError::new_err(
                "_fields_ must be a sequence of (name, C type) pairs or (name, C type, bit \
                 size) triples",
            )
        } else {
            PyTypeError::new_err("'_fields_' must be a sequence of (name, C type) pairs")
        }
    };
    // The entries are read so that nothing iterates without end. Before 3.14, ctypes
    // asks the sequence length first (a pointer, a generator or a dict has none) and reads
    // the entries by index; 3.14 iterates `_fields_` lazily (the first bad entry stops
    // it) and makes a tuple of each entry.
    let mut out = Vec::new();
    let entries: Box<dyn Iterator<Item = PyResult<Bound<'py, PyAny>>> + '_> = if as_314 {
        Box::new(fields.try_iter()?)
    } else {
        let n = sequence_len(fields)
            .ok_or_else(|| PyTypeError::new_err("'_fields_' must be a sequence of pairs"))?;
        // ctypes allocates room for the entries first: a length no memory can hold is
        // a MemoryError before any entry is read.
        out.try_reserve_exact(n)
            .map_err(|_| pyo3::exceptions::PyMemoryError::new_err(()))?;
        Box::new((0..n).map(|i| sequence_item(fields, i)))
    };
    for (i, item) in entries.enumerate() {
        let item = item?;
        // Growing the list fails with MemoryError, never an abort (3.14 reads an
        // iterable that may not end).
        out.try_reserve(1)
            .map_err(|_| pyo3::exceptions::PyMemoryError::new_err(()))?;
        let t = if as_314 {
            match bounded_items(&item)? {
                Some(items) => items,
                // An entry iterable only by index, without a length (a pointer), would
                // never end (3.14's `tuple(field)` reads past its target): refused as
                // an entry of the wrong shape. One not iterable at all is `tuple()`'s
                // TypeError.
                None => {
                    item.try_iter()?;
                    return Err(bad());
                }
            }
        } else {
            item.cast::<PyTuple>().map_err(|_| bad())?.clone()
        };
        if !(2..=3).contains(&t.len()) {
            return Err(bad());
        }
        let name = t.get_item(0)?;
        let ty = t.get_item(1)?;
        let info = info_of(&ty).filter(|_| ty.is_instance_of::<PyType>());
        let info = match info {
            Some(info) => info,
            None if as_314 => return Err(PyTypeError::new_err("this type has no size")),
            None => {
                return Err(PyTypeError::new_err(format!(
                    "second item in _fields_ tuple (index {i}) must be a C type"
                )))
            }
        };
        let (name, key) = match name.cast::<PyString>() {
            Ok(n) => (n.to_str()?, n),
            Err(_) if as_314 => {
                return Err(PyTypeError::new_err(format!(
                    "CField() argument 'name' must be str, not {}",
                    name.get_type().name()?
                )))
            }
            Err(_) => return Err(PyTypeError::new_err("field name must be a string")),
        };
        let bits = if t.len() == 3 {
            let width_error = || {
                to_py(ferrotype_core::Error::BitfieldWidth {
                    field: name.to_owned(),
                    bits: i64::MAX,
                })
            };
            if version::BITFIELD_WIDTH_BEFORE_TYPE {
                let b: i64 = t.get_item(2)?.extract().map_err(|_| width_error())?;
                let max = i64::try_from(info.get().size.saturating_mul(8)).unwrap_or(i64::MAX);
                if !(1..=max).contains(&b) {
                    return Err(width_error());
                }
            }
            let kind = bitfield_kind(info.get()).ok_or_else(|| {
                PyTypeError::new_err(format!(
                    "bit fields not allowed for type {}",
                    ty.getattr("__name__")
                        .map(|n| n.to_string())
                        .unwrap_or_default()
                ))
            })?;
            // The width is checked here, field by field as ctypes does (so a bad width
            // is reported before a later field's type), and again by the core's layout
            // (`FieldSpec::try_bitfield`); a value that is not even an i64 is out of
            // range as well.
            let b: i64 = t.get_item(2)?.extract().map_err(|_| width_error())?;
            let max = i64::try_from(info.get().size.saturating_mul(8)).unwrap_or(i64::MAX);
            if !(1..=max).contains(&b) {
                return Err(width_error());
            }
            Some((b, kind))
        } else {
            None
        };
        let key = key.clone();
        out.push(FieldDecl {
            key,
            ty,
            info,
            bits,
        });
    }
    Ok(out)
}

/// `value` of attribute `name` read as ctypes before 3.14 reads it, as a C `int`
/// (`__index__`): a value that is not an integer, does not fit or is negative raises
/// ValueError("`name` must be a non-negative integer"); other errors of `__index__`
/// propagate.
fn c_int_attr(value: &Bound<'_, PyAny>, name: &str) -> PyResult<i64> {
    let py = value.py();
    let refused = || PyValueError::new_err(format!("{name} must be a non-negative integer"));
    match value.extract::<i32>() {
        Ok(v) if v >= 0 => Ok(i64::from(v)),
        Ok(_) => Err(refused()),
        Err(e)
            if e.is_instance_of::<PyTypeError>(py) || e.is_instance_of::<PyOverflowError>(py) =>
        {
            Err(refused())
        }
        Err(e) => Err(e),
    }
}

/// A Python int clamped into `i64`, keeping its sign, so that the core's range checks
/// (negative; above `INT_MAX`) see a value on the right side of them.
fn clamped_i64(n: &Bound<'_, PyAny>) -> PyResult<i64> {
    match n.extract::<i64>() {
        Ok(v) => Ok(v),
        Err(_) => Ok(if n.lt(0)? { i64::MIN } else { i64::MAX }),
    }
}

/// `_pack_` as the running version's ctypes reads it (`None`: no packing).
fn pack_attr(cls: &Bound<'_, PyType>) -> PyResult<Option<i64>> {
    let py = cls.py();
    let Ok(Some(value)) = class_attr(cls, intern!(py, "_pack_")) else {
        return Ok(None);
    };
    if !version::PACK_CONVERTED_BY_INT {
        // `_pack_ = 0` is no packing (3.14 refuses it without `_layout_ = 'ms'`).
        return c_int_attr(&value, "_pack_").map(|p| (p != 0).then_some(p));
    }
    if value.is_none() {
        return Ok(None);
    }
    let n = py
        .get_type::<pyo3::types::PyInt>()
        .call1((&value,))
        .map_err(|e| {
            if e.is_instance_of::<PyTypeError>(py) || e.is_instance_of::<PyValueError>(py) {
                PyValueError::new_err("_pack_ must be an integer")
            } else {
                e
            }
        })?;
    clamped_i64(&n).map(Some)
}

/// `_align_` as the running version's ctypes reads it (`None`: not set).
fn align_attr(cls: &Bound<'_, PyType>) -> PyResult<Option<i64>> {
    let py = cls.py();
    let Ok(Some(value)) = class_attr(cls, intern!(py, "_align_")) else {
        return Ok(None);
    };
    if !version::ALIGN_COMPARED_IN_PYTHON {
        return c_int_attr(&value, "_align_").map(Some);
    }
    // 3.14 compares the value with 0 (raising what the comparison raises) and then uses
    // it as a number; one beyond `Py_ssize_t` fails when the size is stored.
    if value.lt(0)? {
        return Err(PyValueError::new_err(
            "_align_ must be a non-negative integer",
        ));
    }
    let n = py.get_type::<pyo3::types::PyInt>().call1((&value,))?;
    n.extract::<isize>()
        .map(|v| Some(v as i64))
        .map_err(|_| PyOverflowError::new_err("Python int too large to convert to C ssize_t"))
}

/// Whether every field type of `fields` is a ferrotype type, so that `_fields_` needs no
/// mapping of stdlib ctypes types (`_interop.map_fields`): `fields` an exact list or
/// tuple of exact tuples or lists of two or three items. Anything else (which the
/// mapping, or the layout's errors, must see) is false. Reads nothing that runs Python
/// code.
#[pyfunction]
#[pyo3(name = "_fields_are_native")]
pub fn fields_are_native(fields: &Bound<'_, PyAny>) -> bool {
    fn native_entry(entry: &Bound<'_, PyAny>) -> bool {
        let ty = if let Ok(t) = entry.cast_exact::<PyTuple>() {
            if !(2..=3).contains(&t.len()) {
                return false;
            }
            t.get_item(1)
        } else if let Ok(l) = entry.cast_exact::<pyo3::types::PyList>() {
            if !(2..=3).contains(&l.len()) {
                return false;
            }
            l.get_item(1)
        } else {
            return false;
        };
        ty.is_ok_and(|ty| ty.is_instance_of::<PyType>() && info_of(&ty).is_some())
    }
    if let Ok(t) = fields.cast_exact::<PyTuple>() {
        t.iter().all(|e| native_entry(&e))
    } else if let Ok(l) = fields.cast_exact::<pyo3::types::PyList>() {
        l.iter().all(|e| native_entry(&e))
    } else {
        false
    }
}

/// Computes and installs the layout of a structure or union class from `fields`
/// (`None`: no `_fields_` yet, an incomplete type, or one inheriting its base's layout).
#[pyfunction]
#[pyo3(signature = (cls, is_union, fields = None))]
pub fn init_struct_type(
    cls: &Bound<'_, PyType>,
    is_union: bool,
    fields: Option<&Bound<'_, PyAny>>,
) -> PyResult<()> {
    let py = cls.py();
    let own = own_info(cls)?;
    if own.as_ref().is_some_and(|i| i.get().is_final()) {
        return Err(PyAttributeError::new_err("_fields_ is final"));
    }
    let base_cls = cls.getattr(intern!(py, "__bases__"))?.get_item(0)?;
    let base_info =
        info_of(&base_cls).filter(|b| matches!(b.get().kind(), Kind::Struct | Kind::Union));
    if let Some(b) = &base_info {
        // A subclass is laid out after its base: the base's layout is final now.
        b.get().seal();
    }
    let Some(fields) = fields else {
        // No fields of its own: the base's layout (ctypes copies the base's StgInfo),
        // or an empty, still completable type.
        let info = match &base_info {
            Some(b) => {
                let b = b.get();
                let inherited = CompoundInfo {
                    field_keys: clone_keys(py, b),
                    format_members: b
                        .compound()
                        .map(|c| c.format_members.clone())
                        .unwrap_or_default(),
                    address_fields: address_fields(py, Some(b), &[], &[]),
                    options: b.compound().and_then(|c| c.options),
                    ..CompoundInfo::default()
                };
                StgInfo {
                    has_pointer: b.has_pointer,
                    ..StgInfo::new(
                        Detail::compound(is_union, inherited),
                        b.size,
                        b.align,
                        b.ffi.clone(),
                        &b.format_cstr().to_string_lossy(),
                    )
                }
            }
            None => StgInfo::new(
                Detail::compound(is_union, CompoundInfo::default()),
                0,
                1,
                FfiType::Void,
                "B",
            ),
        };
        set_info(cls, info)?;
        return Ok(());
    };
    let layout_name: Option<String> = class_attr(cls, intern!(py, "_layout_"))
        .ok()
        .flatten()
        .map(|l| l.extract())
        .transpose()?;
    // The order of the checks is ctypes': before 3.14 `_pack_`, then `_align_`; 3.14
    // checks `_layout_`, then `_align_`, then `_pack_`.
    let (pack, align) = if version::PACK_CONVERTED_BY_INT {
        CtypesAttrs {
            layout: layout_name.as_deref(),
            pack: None,
            align: None,
            swapped_bytes: false,
        }
        .resolve()
        .py()?;
        let align = align_attr(cls)?;
        (pack_attr(cls)?, align)
    } else {
        let pack = pack_attr(cls)?;
        (pack, align_attr(cls)?)
    };
    let attrs = CtypesAttrs {
        layout: layout_name.as_deref(),
        pack,
        align,
        swapped_bytes: class_attr(cls, intern!(py, "_swappedbytes_"))?.is_some(),
    };
    let opts = attrs.resolve().py()?;
    if opts.implicit_ms_deprecated && version::PACK_WITHOUT_LAYOUT_WARNS {
        let message = format!(
            "Due to '_pack_', the '{}' {} will use memory layout compatible with MSVC \
             (Windows). If this is intended, set _layout_ to 'ms'. The implicit default is \
             deprecated and slated to become an error in Python 3.19.",
            cls.name()?,
            if is_union { "Union" } else { "Structure" }
        );
        warn_from_caller(py, &message)?;
    }
    let decls = parse_fields(fields)?;
    if decls.iter().any(|d| d.ty.is(cls)) {
        return Err(PyAttributeError::new_err(
            "Structure or union cannot contain itself",
        ));
    }
    let mut spec: StructSpec = opts.spec(is_union);
    if let Some(b) = &base_info {
        spec.base = Some(BaseSpec {
            size: b.get().size,
            align: b.get().align,
        });
    }
    // (The names are borrowed from the field names' strings.)
    spec.fields.reserve_exact(decls.len());
    for d in &decls {
        let i = d.info.get();
        let name = d.name();
        spec.fields.push(match d.bits {
            Some((b, k)) => FieldSpec::try_bitfield(name, i.size, i.align, b, k).py()?,
            None => FieldSpec::value(name, i.size, i.align),
        });
    }
    let layout: Layout = spec.layout().py()?;
    let swapped = opts.byte_order == ByteOrder::Swapped;

    // Field descriptors.
    let base_count = base_info.as_ref().map_or(0, |b| b.get().field_count());
    let anonymous: Vec<String> = match class_attr(cls, intern!(py, "_anonymous_")) {
        // ctypes reads `_anonymous_` as a list (a list, tuple, str or any iterable);
        // one that iterates only by index without a length (a pointer) never ends, and
        // is refused as a non-iterable is.
        Ok(Some(anon)) => bounded_items(&anon)?
            .ok_or_else(|| PyTypeError::new_err("_anonymous_ must be a sequence"))?
            .iter()
            .map(|a| a.extract::<String>())
            .collect::<PyResult<_>>()?,
        _ => Vec::new(),
    };
    let mut keys = base_info
        .as_ref()
        .map(|b| clone_keys(py, b.get()))
        .unwrap_or_default();
    keys.reserve_exact(decls.len());
    let mut descriptors = Vec::with_capacity(decls.len());
    let direct = plain_metaclass_setattr(cls);
    for (k, (d, fl)) in decls.iter().zip(&layout.fields).enumerate() {
        let name = crate::capi::values::interned(&d.key)?;
        let field = Bound::new(
            py,
            CField {
                name: name.clone().unbind(),
                offset: fl.offset,
                size: fl.size,
                bits: match (d.bits, fl.bit_offset, fl.bit_size) {
                    (Some((_, kind)), Some(shift), Some(width)) => Some((shift, width, kind)),
                    _ => None,
                },
                index: base_count + k,
                proto: d.ty.clone().unbind(),
                proto_info: d.info.clone().unbind(),
                // Bit-fields follow the structure's byte order; values, their own type's.
                swapped: if d.bits.is_some() {
                    swapped
                } else {
                    d.info.get().swapped
                },
                scalar: match (d.bits, d.info.get()) {
                    (None, i) => i.value_code(),
                    _ => None,
                },
                owner: cls.clone().unbind(),
                anonymous: anonymous.iter().any(|a| a == d.name()),
                standalone: false,
            },
        )?;
        set_class_attr(cls, &name, field.as_any(), direct)?;
        keys.push((name.unbind(), field.clone().into_any().unbind()));
        descriptors.push(field);
    }

    // ctypes' _anonymous_: the fields of an anonymous member appear on the class itself.
    for a in &anonymous {
        let Some(field) = descriptors
            .iter()
            .zip(&decls)
            .find_map(|(f, d)| (d.name() == a).then_some(f))
        else {
            return Err(PyAttributeError::new_err(format!(
                "'{a}' is specified in _anonymous_ but not in _fields_"
            )));
        };
        add_anonymous(cls, field.get(), direct)?;
    }

    // The libffi description, for passing by value.
    let ffi = if is_union {
        // Void when libffi cannot describe it: refused at the call (see codec/param.rs).
        let members: Vec<FfiType> = decls
            .iter()
            .filter_map(|d| member_ffi(d.info.get()))
            .collect();
        FfiType::union_of(&members, layout.size, layout.align).unwrap_or(FfiType::Void)
    } else {
        let mut members = Vec::with_capacity(decls.len() + 1);
        if let Some(b) = &base_info {
            members.extend(member_ffi(b.get()).map(|t| (0, t)));
        }
        let mut seen_units = Vec::new();
        for (d, fl) in decls.iter().zip(&layout.fields) {
            if d.bits.is_some() {
                if !seen_units.contains(&fl.offset) {
                    seen_units.push(fl.offset);
                    members.push((fl.offset, FfiType::bitfield_unit(fl.size)));
                }
            } else if let Some(t) = member_ffi(d.info.get()) {
                members.push((fl.offset, t));
            }
        }
        // Void (refused at the call with a TypeError) when libffi would lay the
        // members out differently from the structure (packing, `_align_`).
        FfiType::struct_of(&members, layout.size, layout.align)
    };
    // PEP 3118 has no unions: they export plain bytes, as in ctypes.
    let (format, format_members) = if is_union {
        ("B".to_owned(), Vec::new())
    } else {
        struct_format(base_info.as_ref().map(|b| b.get()), &decls, &layout)
    };
    for d in &decls {
        // Laid out with its present size: a field's type is final now.
        d.info.get().seal();
    }
    set_info(
        cls,
        StgInfo {
            swapped,
            has_pointer: base_info.as_ref().is_some_and(|b| b.get().has_pointer)
                || decls.iter().any(|d| d.info.get().has_pointer),
            ..StgInfo::new(
                Detail::compound(
                    is_union,
                    CompoundInfo {
                        field_keys: keys,
                        fields_final: true,
                        format_members,
                        address_fields: address_fields(
                            py,
                            base_info.as_ref().map(|b| b.get()),
                            &decls,
                            &layout.fields,
                        ),
                        options: Some(opts),
                        ..CompoundInfo::default()
                    },
                ),
                layout.size,
                layout.align,
                ffi,
                &format,
            )
        },
    )?;
    Ok(())
}

/// `type.__new__`, which the structure metaclasses' `__new__` calls (looked up once).
static TYPE_NEW: pyo3::sync::PyOnceLock<Py<PyAny>> = pyo3::sync::PyOnceLock::new();

/// `ferrotype._interop.map_fields` (looked up on first use).
static MAP_FIELDS: pyo3::sync::PyOnceLock<Py<PyAny>> = pyo3::sync::PyOnceLock::new();

/// `__new__` of the structure metaclass (`PyCStructType.__new__`, a static method):
/// `type.__new__` with the same arguments, then, up to 3.12, the class's type
/// information, as ctypes' metaclass (written in C) makes it there. Being native, it
/// leaves the caller's frame the current one, so `type.__new__` gives the class the
/// caller's `__module__` itself, as for ctypes' metaclass.
#[pyfunction]
#[pyo3(signature = (*args, **kwargs))]
pub fn struct_type_new<'py>(
    args: &Bound<'py, PyTuple>,
    kwargs: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyAny>> {
    compound_type_new(args, kwargs, false)
}

/// `__new__` of the union metaclass (`UnionType`), as [`struct_type_new`].
#[pyfunction]
#[pyo3(signature = (*args, **kwargs))]
pub fn union_type_new<'py>(
    args: &Bound<'py, PyTuple>,
    kwargs: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyAny>> {
    compound_type_new(args, kwargs, true)
}

fn compound_type_new<'py>(
    args: &Bound<'py, PyTuple>,
    kwargs: Option<&Bound<'py, PyDict>>,
    is_union: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let py = args.py();
    let type_new = TYPE_NEW.get_or_try_init(py, || {
        Ok::<_, PyErr>(py.get_type::<PyType>().getattr("__new__")?.unbind())
    })?;
    // `type.__new__` checks its arguments (the metaclass, the name, the bases, the
    // namespace) before anything reads them; a `__weakref__` slot is left out, as the
    // other metaclasses' `__new__` does (`_slots_without_weakref`).
    let Some((given, slots, named)) = slots_without_weakref(args)? else {
        let cls = type_new.bind(py).call(args, kwargs)?;
        return finish_compound_type(cls, is_union);
    };
    let cls = type_new.bind(py).call(given, kwargs)?;
    ferrotype_ctypes(py)?
        .getattr(intern!(py, "_restore_slots"))?
        .call1((&cls, slots, named))?;
    finish_compound_type(cls, is_union)
}

/// `ferrotype._ctypes`, where the metaclasses are defined.
fn ferrotype_ctypes(py: Python<'_>) -> PyResult<Bound<'_, PyModule>> {
    py.import(intern!(py, "ferrotype._ctypes"))
}

/// The arguments of `type.__new__` (`args`: the metaclass, name, bases and namespace)
/// with the namespace's `__slots__` as `_slots_without_weakref` gives them, the class
/// body's `__slots__` and whether a `__weakref__` slot was left out, when that function
/// changes them; else `None`.
#[allow(clippy::type_complexity)]
fn slots_without_weakref<'py>(
    args: &Bound<'py, PyTuple>,
) -> PyResult<Option<(Bound<'py, PyTuple>, Bound<'py, PyAny>, Bound<'py, PyAny>)>> {
    let py = args.py();
    let (Ok(bases), Ok(ns)) = (args.get_item(2), args.get_item(3)) else {
        return Ok(None);
    };
    let Ok(ns) = ns.cast_into::<PyDict>() else {
        return Ok(None);
    };
    let Some(slots) = ns.get_item(intern!(py, "__slots__"))? else {
        return Ok(None);
    };
    let (given, named) = ferrotype_ctypes(py)?
        .getattr(intern!(py, "_slots_without_weakref"))?
        .call1((bases, &slots))?
        .extract::<(Bound<'py, PyAny>, Bound<'py, PyAny>)>()?;
    if given.is_none() {
        return Ok(None);
    }
    let ns = ns.copy()?;
    ns.set_item(intern!(py, "__slots__"), given)?;
    let mut items: Vec<Bound<'py, PyAny>> = args.iter().collect();
    items[3] = ns.into_any();
    Ok(Some((PyTuple::new(py, items)?, slots, named)))
}

/// The rest of [`compound_type_new`] once `type.__new__` made the class.
fn finish_compound_type(cls: Bound<'_, PyAny>, is_union: bool) -> PyResult<Bound<'_, PyAny>> {
    if !version::METACLASS_INIT_LAYS_OUT {
        if let Ok(t) = cls.cast::<PyType>() {
            setup_compound_type(t, is_union)?;
        }
    }
    Ok(cls)
}

/// `__init__` of the structure metaclass from 3.13 (bound as a method by the module):
/// the class's type information, made once; the arguments are not read, as ctypes'.
#[pyfunction]
#[pyo3(signature = (cls, *_args, **_kwargs))]
pub fn struct_type_init(
    cls: &Bound<'_, PyType>,
    _args: &Bound<'_, PyTuple>,
    _kwargs: Option<&Bound<'_, PyDict>>,
) -> PyResult<()> {
    compound_type_init(cls, false)
}

/// `__init__` of the union metaclass from 3.13, as [`struct_type_init`].
#[pyfunction]
#[pyo3(signature = (cls, *_args, **_kwargs))]
pub fn union_type_init(
    cls: &Bound<'_, PyType>,
    _args: &Bound<'_, PyTuple>,
    _kwargs: Option<&Bound<'_, PyDict>>,
) -> PyResult<()> {
    compound_type_init(cls, true)
}

fn compound_type_init(cls: &Bound<'_, PyType>, is_union: bool) -> PyResult<()> {
    // ctypes (3.13+): an abstract class may be initialised again (it gets no type
    // information); a class that has its information may not.
    if crate::capi::objects::own_info(cls).is_some() {
        return Err(pyo3::exceptions::PySystemError::new_err(format!(
            "StgInfo of '{}' is already initialized.",
            cls.name()?
        )));
    }
    setup_compound_type(cls, is_union)
}

/// Gives the new structure or union class `cls` its type information: none for an
/// abstract class (`_abstract_`, or ferrotype's own byte-order bases), the layout of
/// its `_fields_` when its namespace has them, else its base's (or an empty,
/// completable layout). A class that has it already (made by a more derived
/// metaclass's `__new__`) is left alone.
fn setup_compound_type(cls: &Bound<'_, PyType>, is_union: bool) -> PyResult<()> {
    let py = cls.py();
    if let Some(flag) = own_dict_item(cls, intern!(py, "_ft_abstract_"))? {
        if flag.is_truthy()? {
            return Ok(());
        }
    }
    if own_dict_item(cls, intern!(py, INFO_ATTR))?.is_some() {
        return Ok(());
    }
    if own_dict_item(cls, intern!(py, "_abstract_"))?.is_some() {
        // ctypes: a class declaring `_abstract_` gets no type information of its own
        // (not its base's either), so it cannot be instantiated.
        return type_setattr(cls, intern!(py, INFO_ATTR), &py.None().into_bound(py));
    }
    let fields = own_dict_item(cls, intern!(py, "_fields_"))?.filter(|f| !f.is_none());
    match fields {
        // The metaclass sets `_fields_` as ferrotype's does: laid out here directly.
        Some(fields) if plain_metaclass_setattr(cls) => store_fields(cls, is_union, &fields, true),
        // Through setattr, so that metaclasses rewriting `_fields_` (the byte-order
        // variants, users' own) see it, as in ctypes; the class has its (empty) type
        // information by then.
        Some(fields) => {
            init_struct_type(cls, is_union, None)?;
            cls.setattr(intern!(py, "_fields_"), fields)
        }
        None => init_struct_type(cls, is_union, None),
    }
}

/// `cls._fields_ = fields` as the structure metaclass's `__setattr__` does it: refused
/// before the class has its type information, else laid out (field types of the
/// stdlib's ctypes mapped to ferrotype's) and stored.
#[pyfunction]
pub fn set_struct_fields(
    cls: &Bound<'_, PyType>,
    is_union: bool,
    fields: &Bound<'_, PyAny>,
) -> PyResult<()> {
    if own_info(cls)?.is_none() {
        // ctypes: a class without type information yet (being made, as in an
        // `__init_subclass__`; made by the metaclass's `__new__` alone from 3.13; or
        // `_abstract_`) cannot take `_fields_`.
        return Err(PyTypeError::new_err("ctypes state is not initialized"));
    }
    store_fields(cls, is_union, fields, false)
}

/// Lays out `cls` from `fields` and stores them as `_fields_` (unless `in_namespace`,
/// where they are already, and unchanged).
fn store_fields(
    cls: &Bound<'_, PyType>,
    is_union: bool,
    fields: &Bound<'_, PyAny>,
    in_namespace: bool,
) -> PyResult<()> {
    let py = cls.py();
    let mapped;
    let value = if fields_are_native(fields) {
        fields
    } else {
        let map = MAP_FIELDS.get_or_try_init(py, || {
            Ok::<_, PyErr>(
                py.import("ferrotype._interop")?
                    .getattr("map_fields")?
                    .unbind(),
            )
        })?;
        mapped = map.bind(py).call1((fields,))?;
        &mapped
    };
    init_struct_type(cls, is_union, Some(value))?;
    if in_namespace && value.is(fields) {
        return Ok(());
    }
    type_setattr(cls, intern!(py, "_fields_"), value)
}

/// A base's field keys, for a derived class's own list.
fn clone_keys(py: Python<'_>, b: &StgInfo) -> Vec<(Py<PyString>, Py<PyAny>)> {
    b.field_keys()
        .iter()
        .map(|(n, d)| (n.clone_ref(py), d.clone_ref(py)))
        .collect()
}

/// Whether the metaclass of `cls` sets attributes as ferrotype's structure metaclass
/// does: its `__setattr__` is that one's, which adds only the `_fields_` handling to
/// `type`'s. Then a field descriptor can be set through `type`'s own setattr, without
/// entering the Python `__setattr__` (about 2,500 instructions per field).
fn plain_metaclass_setattr(cls: &Bound<'_, PyType>) -> bool {
    let py = cls.py();
    let name = intern!(py, "__setattr__");
    let Ok(native) = crate::model::registry::native(py, Kind::Struct) else {
        return false;
    };
    let ours = type_lookup(&native.get_type(), name);
    let theirs = type_lookup(&cls.get_type(), name);
    matches!((ours, theirs), (Some(a), Some(b)) if a.is(&b))
}

/// Sets a class attribute made by the layout (a field descriptor): directly through
/// `type`'s setattr when `direct` (see [`plain_metaclass_setattr`]; a field named
/// `_fields_` is not special then), else through the metaclass, as ctypes does.
fn set_class_attr(
    cls: &Bound<'_, PyType>,
    name: &Bound<'_, PyString>,
    value: &Bound<'_, PyAny>,
    direct: bool,
) -> PyResult<()> {
    if direct && name.to_str().is_ok_and(|n| n != "_fields_") {
        if crate::capi::classes::set_plain_attr(cls, name, value)? {
            return Ok(());
        }
        type_setattr(cls, name, value)
    } else {
        cls.setattr(name, value)
    }
}

fn add_anonymous(cls: &Bound<'_, PyType>, field: &CField, direct: bool) -> PyResult<()> {
    let py = cls.py();
    let proto = field.proto.bind(py);
    let info = field.proto_info.get();
    if !matches!(info.kind(), Kind::Struct | Kind::Union) {
        return Err(PyTypeError::new_err(format!(
            "anonymous field '{}' must be a structure or union",
            field.name.bind(py)
        )));
    }
    // Each field of the member appears on the class at its place in the member; a field
    // the member itself declares anonymous is not, but its own fields are (recursively).
    for (name, _) in info.field_keys() {
        let key = name.bind(py);
        let Ok(sub) = proto.getattr(key) else {
            continue;
        };
        let Ok(sub) = sub.cast::<CField>() else {
            continue;
        };
        let moved = sub.get().shifted(py, field.offset, cls);
        if moved.anonymous {
            add_anonymous(cls, &moved, direct)?;
        } else {
            set_class_attr(cls, key, Bound::new(py, moved)?.as_any(), direct)?;
        }
    }
    Ok(())
}

/// The fields holding addresses or objects (see `CompoundInfo::address_fields`): the
/// base's, then this type's own (bit fields never do).
fn address_fields(
    py: Python<'_>,
    base: Option<&StgInfo>,
    decls: &[FieldDecl<'_>],
    fields: &[ferrotype_core::layout::FieldLayout],
) -> Vec<(usize, Py<StgInfo>)> {
    let mut out: Vec<(usize, Py<StgInfo>)> = base
        .and_then(|b| b.compound())
        .map(|c| {
            c.address_fields
                .iter()
                .map(|(o, i)| (*o, i.clone_ref(py)))
                .collect()
        })
        .unwrap_or_default();
    for (d, fl) in decls.iter().zip(fields) {
        if d.bits.is_none() && d.info.get().has_pointer {
            out.push((fl.offset, d.info.clone().unbind()));
        }
    }
    out
}

/// The PEP 3118 format of a structure, `T{...}` with padding bytes (`x`) between and
/// after the members, as CPython 3.12+ exports it, and its members: the base's, then one
/// per field that is not a bit-field and does not overlap an earlier member (PEP 3118
/// cannot describe bit-fields, so their bytes are left to padding).
fn struct_format(
    base: Option<&StgInfo>,
    decls: &[FieldDecl<'_>],
    layout: &Layout,
) -> (String, Vec<FormatMember>) {
    fn pad(out: &mut String, gap: usize) {
        match gap {
            0 => {}
            1 => out.push('x'),
            n => {
                use std::fmt::Write;
                let _ = write!(out, "{n}x");
            }
        }
    }
    let inherited = base
        .and_then(|b| b.compound())
        .map_or(&[][..], |c| c.format_members.as_slice());
    let mut out =
        String::with_capacity(base.map_or(0, |b| b.format.as_bytes().len()) + 16 * decls.len() + 8);
    let mut members = Vec::with_capacity(inherited.len() + decls.len());
    out.push_str("T{");
    let mut pos = 0;
    // Each member's text after the padding that leads to it; its place is recorded.
    let mut member = |out: &mut String, offset: usize, size: usize, text: &dyn Fn(&mut String)| {
        pad(out, offset - pos);
        let start = out.len();
        text(out);
        members.push(FormatMember {
            offset,
            size,
            text: start..out.len(),
        });
        pos = offset + size;
    };
    if let Some(b) = base {
        for m in inherited {
            member(&mut out, m.offset, m.size, &|o| {
                o.push_str(b.member_text(m))
            });
        }
    }
    let mut end = base.map_or(0, |b| b.size);
    let mut order: Vec<usize> = (0..decls.len()).collect();
    order.sort_by_key(|&i| layout.fields[i].offset);
    for i in order {
        let fl = &layout.fields[i];
        if decls[i].bits.is_some() || fl.offset < end {
            continue;
        }
        let d = &decls[i];
        member(&mut out, fl.offset, fl.size, &|o| {
            d.info.get().push_member_format(o);
            o.push(':');
            o.push_str(d.name());
            o.push(':');
        });
        end = fl.offset + fl.size;
    }
    pad(&mut out, layout.size.saturating_sub(pos));
    out.push('}');
    (out, members)
}

/// `__init__` of structures and unions: positional values for the fields in order,
/// keyword values by name.
pub fn init_compound(
    cd: &Bound<'_, CData>,
    args: &Bound<'_, PyTuple>,
    kwargs: Option<&Bound<'_, PyDict>>,
) -> PyResult<()> {
    if args.is_empty() && kwargs.is_none_or(|k| k.is_empty()) {
        return Ok(());
    }
    let info = cd.get().info_obj().bind(cd.py()).clone();
    init_fields(cd.as_any(), info.get(), args.as_slice(), kwargs)
}

/// `__init__` of structures and unions with positional arguments only.
pub fn init_compound_args(cd: &Bound<'_, CData>, args: &[Bound<'_, PyAny>]) -> PyResult<()> {
    if args.is_empty() {
        return Ok(());
    }
    let info = cd.get().info_obj().bind(cd.py()).clone();
    init_fields(cd.as_any(), info.get(), args, None)
}

fn init_fields(
    slf: &Bound<'_, PyAny>,
    info: &StgInfo,
    args: &[Bound<'_, PyAny>],
    kwargs: Option<&Bound<'_, PyDict>>,
) -> PyResult<()> {
    let py = slf.py();
    let keys = info.field_keys();
    // ctypes assigns each positional value with `setattr(self, name, value)`. Where the
    // class takes `object.__setattr__` and the name still resolves to the field's own
    // descriptor (a data descriptor, so the instance dict is never consulted), that
    // assignment is exactly the descriptor's `__set__`, called here directly; any other
    // class (a `__setattr__` override, a field name shadowed in a subclass) gets the
    // `setattr`.
    if !args.is_empty() {
        let cls = slf.get_type();
        let direct = generic_setattr(&cls);
        // As in ctypes, the fields are assigned before the surplus is refused.
        for ((name, descr), v) in keys.iter().zip(args) {
            let name = name.bind(py);
            if direct {
                if let Some(found) = type_lookup(&cls, name) {
                    if found.is(descr) {
                        if let Ok(field) = found.cast::<CField>() {
                            CField::set_value(field, slf, v)?;
                            continue;
                        }
                    }
                }
            }
            slf.setattr(name, v)?;
        }
    }
    if args.len() > keys.len() {
        return Err(PyTypeError::new_err("too many initializers"));
    }
    if let Some(kw) = kwargs {
        for (k, v) in kw.iter() {
            let key: String = k.extract()?;
            let given = keys[..args.len()].iter();
            if given
                .map(|(n, _)| n.bind(py))
                .any(|n| n.to_str().is_ok_and(|n| n == key))
            {
                return Err(PyTypeError::new_err(format!(
                    "duplicate values for field {}",
                    k.repr()?
                )));
            }
            slf.setattr(key.as_str(), v)?;
        }
    }
    Ok(())
}

/// Declares the native base class of structures or unions: construction from the
/// class's type information, and ctypes' positional/keyword initialisation.
macro_rules! compound_base {
    ($(#[$doc:meta])* $rust:ident, $py_name:literal, $kind:expr) => {
        crate::types::data_class!(
            $(#[$doc])* $rust, $py_name, $kind, init_compound, init_compound_args
        );

        #[pymethods]
        impl $rust {
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

            #[pyo3(signature = (*args, **kwargs))]
            fn __init__(
                slf: &Bound<'_, Self>,
                args: &Bound<'_, PyTuple>,
                kwargs: Option<&Bound<'_, PyDict>>,
            ) -> PyResult<()> {
                init_compound(slf.as_super(), args, kwargs)
            }
        }
    };
}

compound_base!(
    /// The base of the structure types.
    Structure,
    "Structure",
    Kind::Struct
);
compound_base!(
    /// The base of the union types.
    Union,
    "Union",
    Kind::Union
);
