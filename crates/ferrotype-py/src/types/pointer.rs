//! `_Pointer`: instances of `POINTER(T)`. The instance stores an address; `.contents`
//! and indexing view the memory there, keeping the pointer (and through its
//! `_objects`, the target) alive.

use ferrotype_core::{memory, FfiType, TypeCode};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PySlice, PyTuple, PyType};

use crate::capi::objects::replaced_constructor;
use crate::capi::slots::{FastSubscript, GetSet, IntSubscript, Quick};
use crate::capi::values::list_from_fn;
use crate::codec::element::{get_item_at, index_key, set_item_at};
use crate::codec::provenance;
use crate::codec::scalar::load;
use crate::model::cdata::{as_cdata, CData};
use crate::model::registry::{derives_from_native, instantiate_view, instantiate_view_unchecked};
use crate::model::stginfo::{info_of, own_info, set_info, Detail, Kind, PointerInfo, StgInfo};
use ferrotype_core::strict;

crate::types::data_class!(
    /// The base of the pointer types.
    Pointer,
    "_Pointer",
    Kind::Pointer,
    init_pointer,
    init_pointer_args
);

/// Fills in a pointer type's information; `_type_` may be missing (an incomplete
/// pointer type, completed later by `set_type`).
#[pyfunction]
pub fn init_pointer_type(cls: &Bound<'_, PyType>) -> PyResult<()> {
    let py = cls.py();
    SUBSCRIPT.adopt(cls);
    // ctypes reads `_type_` from the class's own namespace: a subclass of a pointer
    // type that does not name it again has no target (and no instances).
    let dict = cls.getattr(intern!(py, "__dict__"))?;
    let proto = dict.get_item(intern!(py, "_type_")).ok();
    let (target, format) = match proto {
        Some(p) => {
            let info = target_info(&p)?;
            let fmt = format!("&{}", info.get().member_format());
            (Some((p.unbind(), info.unbind())), fmt)
        }
        // ctypes: no format (exported as `B`) until there is a target.
        None => (None, "B".to_owned()),
    };
    let ptr = TypeCode::VoidP;
    set_info(
        cls,
        StgInfo {
            has_pointer: true,
            ..StgInfo::new(
                Detail::Pointer(PointerInfo::new(target)),
                ptr.size(),
                ptr.align(),
                FfiType::Scalar(ptr),
                &format,
            )
        },
    )?;
    Ok(())
}

/// `set_type(typ)` of a pointer type: `typ` becomes its target, also when it had one
/// (ctypes allows that on every version). Instances, fields and call plans that hold
/// the type's information follow; reads through instances aimed at an object before
/// the target grew check that object (see `PointerTarget::vouched`). The class's
/// `_type_` and the target's `__pointer_type__` are the caller's (`_ctypes.py`).
#[pyfunction]
pub fn set_pointer_type(cls: &Bound<'_, PyType>, typ: &Bound<'_, PyAny>) -> PyResult<()> {
    let py = cls.py();
    // Only a class with type information of its own (not `_Pointer` itself).
    let own = own_info(cls)?;
    let Some(own) = own.filter(|o| o.get().kind() == Kind::Pointer) else {
        return Err(PyTypeError::new_err("abstract class"));
    };
    let info = target_info(typ)?;
    let format = crate::capi::version::SET_TYPE_UPDATES_FORMAT
        .then(|| format!("&{}", info.get().member_format()));
    if let Some(p) = own.get().pointer() {
        p.retarget(py, typ.clone().unbind(), info.unbind(), format.as_deref());
    }
    Ok(())
}

/// The type information of a pointer type's `_type_`, or ctypes' error.
fn target_info<'py>(proto: &Bound<'py, PyAny>) -> PyResult<Bound<'py, StgInfo>> {
    if !proto.is_instance_of::<PyType>() {
        return Err(PyTypeError::new_err("_type_ must be a type"));
    }
    info_of(proto).ok_or_else(|| no_storage_info(proto))
}

/// ctypes' error for a `_type_` that is not a ctypes type (worded per version).
fn no_storage_info(proto: &Bound<'_, PyAny>) -> PyErr {
    if crate::capi::version::POINTER_STORAGE_ERROR_NAMES_TYPE {
        let shown = proto
            .repr()
            .map(|r| r.to_string())
            .unwrap_or_else(|_| "_type_".to_owned());
        PyTypeError::new_err(format!("{shown} must have storage info"))
    } else {
        PyTypeError::new_err("_type_ must have storage info")
    }
}

/// The address stored in a pointer instance.
#[inline(always)]
pub fn address(cd: &CData) -> usize {
    // SAFETY: a pointer instance holds one pointer-sized value, in native byte order
    // (pointer types have no swapped variant), read without assuming alignment.
    unsafe { cd.ptr().cast::<usize>().read_unaligned() }
}

fn set_address(cd: &CData, addr: usize) {
    // SAFETY: as above, writable.
    unsafe { memory::write_bits(cd.ptr(), TypeCode::VoidP.size(), false, addr as u64) }
}

/// A pointer type's target as reads and writes use it.
struct Target<'py> {
    cls: Bound<'py, PyAny>,
    info: Bound<'py, StgInfo>,
    /// See `PointerTarget::vouched`.
    vouched: usize,
    /// Whether the information was looked up again, not known final: an instance made
    /// of it must seal it (`StgInfo::seal`).
    open: bool,
}

impl Target<'_> {
    /// Whether the target is larger than some instance's object may be, so that
    /// `.contents` and `p[0]` must check the object (rare: `set_type` to a larger type,
    /// or a structure target given `_fields_` after instances were made).
    #[inline]
    fn grown(&self) -> bool {
        self.info.get().size > self.vouched
    }
}

/// The target type and its current information. The information recorded with the
/// target is used when it is final; otherwise (a structure whose `_fields_` may be set
/// later) it is looked up again.
#[inline(always)]
fn target<'py>(py: Python<'py>, info: &StgInfo) -> PyResult<Target<'py>> {
    let missing = || PyTypeError::new_err("Cannot create instance: has no _type_");
    let pointer = info.pointer().ok_or_else(missing)?;
    // SAFETY: the closure only takes new references (increments), which runs no
    // Python code.
    let copied = unsafe {
        pointer.peek_target(py, |t| {
            t.map(|t| (t.cls.bind(py).clone(), t.info.bind(py).clone(), t.vouched))
        })
    };
    let (cls, known, vouched) = copied.ok_or_else(missing)?;
    let k = known.get();
    let (info, open) = if !matches!(k.kind(), Kind::Struct | Kind::Union) || k.is_final() {
        (known, false)
    } else {
        (info_of(&cls).ok_or_else(missing)?, true)
    };
    Ok(Target {
        cls,
        info,
        vouched,
        open,
    })
}

/// How far the memory at an address reaches, as far as the objects an instance keeps
/// alive tell.
#[derive(Clone, Copy)]
enum Reach {
    /// No kept object holds the address (a raw address: trusted, as in ctypes).
    Unknown,
    /// A kept object holds the address and the bytes needed.
    Covered,
    /// Kept objects hold the address, the largest with this many bytes from it on.
    Short(usize),
}

impl Reach {
    /// What two findings tell together: covered if either is.
    fn or(self, other: Reach) -> Reach {
        match (self, other) {
            (Reach::Covered, _) | (_, Reach::Covered) => Reach::Covered,
            (Reach::Short(a), Reach::Short(b)) => Reach::Short(a.max(b)),
            (Reach::Unknown, r) | (r, Reach::Unknown) => r,
        }
    }
}

/// How far the kept objects in `obj` (a keep-alive dict, an instance, or what an
/// instance keeps) reach from `addr`, for `need` bytes.
fn reach(py: Python<'_>, obj: &Bound<'_, PyAny>, addr: usize, need: usize, depth: u8) -> Reach {
    if depth > 32 {
        return Reach::Unknown;
    }
    let mut best = Reach::Unknown;
    if let Some(cd) = as_cdata(obj) {
        let c = cd.get();
        let start = c.ptr() as usize;
        let end = start.saturating_add(c.size());
        if start <= addr && (addr < end || addr == start) {
            let have = end - addr;
            best = best.or(if have >= need {
                Reach::Covered
            } else {
                Reach::Short(have)
            });
        }
        if let Some(kept) = c.objects(py) {
            best = best.or(reach(py, &kept, addr, need, depth + 1));
        }
    } else if let Ok(d) = obj.cast::<PyDict>() {
        for v in d.values() {
            best = best.or(reach(py, &v, addr, need, depth + 1));
            if matches!(best, Reach::Covered) {
                break;
            }
        }
    }
    best
}

/// Refuses to read or write the target at `addr` through `ptr_cd` when the object it
/// keeps alive there is smaller than the target (which grew since the pointer was aimed
/// at it): ferrotype never reads past an object a pointer was aimed at.
fn check_grown(py: Python<'_>, ptr_cd: &CData, t: &Target<'_>, addr: usize) -> PyResult<()> {
    let need = t.info.get().size;
    let kept = ptr_cd.kept_objects(py);
    let Some(kept) = kept else {
        return Ok(());
    };
    match reach(py, kept.bind(py), addr, need, 0) {
        Reach::Unknown | Reach::Covered => Ok(()),
        Reach::Short(have) => Err(PyValueError::new_err(format!(
            "the pointer points at {have} bytes, fewer than the {need} of its target type {}",
            t.cls.cast::<PyType>()?.name()?
        ))),
    }
}

fn no_deletion() -> PyErr {
    PyTypeError::new_err("Pointer does not support item deletion")
}

fn not_an_index() -> PyErr {
    PyTypeError::new_err("Pointer indices must be integer")
}

/// Points `ptr_cd` at `value` (an instance of the target type, or of another type at
/// least as large), keeping it alive.
pub fn set_contents(py: Python<'_>, ptr_cd: &CData, value: &Bound<'_, PyAny>) -> PyResult<()> {
    ptr_cd.check_writable()?;
    let Target { cls, info, .. } = target(py, ptr_cd.info())?;
    let refuse = |extra: String| -> PyResult<()> {
        Err(PyTypeError::new_err(format!(
            "expected {} instead of {}{extra}",
            cls.cast::<PyType>()?.name()?,
            value.get_type().name()?
        )))
    };
    let Some(v) = as_cdata(value) else {
        // An object of the stdlib's ctypes: pointed at through the ferrotype view of it.
        if let Some(view) = crate::codec::foreign::adopt(value, Some(&cls))? {
            return set_contents(py, ptr_cd, &view);
        }
        return refuse(String::new());
    };
    // ctypes lets a pointer point at any instance (`POINTER(c_char)(buffer)` views a
    // character array, `POINTER(c_int)(struct)` its first field), but not at one smaller
    // than its target type, where `.contents` and `p[0]` would read past the object.
    if !value.is_instance(&cls)? {
        let need = info.get().size;
        let have = v.get().size();
        if have < need {
            return refuse(format!(
                " ({have} bytes, smaller than the {need} of the target)"
            ));
        }
    }
    set_address(ptr_cd, v.get().ptr() as usize);
    // ctypes: the pointer keeps its target under key 1 and what the target keeps under
    // key 0. `p[1] = v` replaces the first in ctypes' bookkeeping while the pointer
    // still points at the target, so the target is pinned as well.
    ptr_cd.pin(py, Some(value.clone().unbind()));
    ptr_cd.keep_alive(py, 1, value.clone().unbind())?;
    if let Some(kept) = v.get().container_objects(py) {
        ptr_cd.keep_alive(py, 0, kept.unbind())?;
    }
    Ok(())
}

#[pymethods]
impl Pointer {
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
        init_pointer(slf.as_super(), args, None)
    }

    fn __bool__(slf: &Bound<'_, Self>) -> bool {
        address(slf.as_super().get()) != 0
    }

    fn __getitem__(slf: &Bound<'_, Self>, key: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        let cd = slf.as_super().get();
        let addr = address(cd);
        let t = target(py, cd.info())?;
        let esize = t.info.get().size;
        if let Ok(slice) = key.cast::<PySlice>() {
            let start: Option<isize> = slice.getattr("start")?.extract()?;
            let stop: Option<isize> = slice.getattr("stop")?.extract()?;
            let step: Option<isize> = slice.getattr("step")?.extract()?;
            let Some(stop) = stop else {
                return Err(PyValueError::new_err("slice stop is required"));
            };
            let step = step.unwrap_or(1);
            if step == 0 {
                return Err(PyValueError::new_err("slice step cannot be zero"));
            }
            let start = match start {
                Some(s) => s,
                None if step > 0 => 0,
                None => {
                    return Err(PyValueError::new_err(
                        "slice start is required for step < 0",
                    ))
                }
            };
            if addr == 0 {
                return Err(PyValueError::new_err("NULL pointer access"));
            }
            if strict::enabled() {
                if let Some(ends) = slice_ends(start, stop, step) {
                    provenance::check_elements(py, cd, addr, t.info.get(), ends, true, false)?;
                }
            }
            // The indices start, start + step, ... short of stop, counted without
            // overflow; the items' list is allocated before any memory is read
            // (ctypes' MemoryError for a slice too long to hold).
            let count = slice_count(start, stop, step);
            let index = |k: usize| start.wrapping_add((k as isize).wrapping_mul(step));
            if t.grown() && slice_has_zero(start, step, count) {
                check_grown(py, cd, &t, addr)?;
            }
            let Target { cls, info, .. } = t;
            let i_code = info
                .get()
                .value_code()
                .filter(|c| matches!(c, TypeCode::Char | TypeCode::WChar));
            let items = list_from_fn(py, count, |k| {
                get_item_at(
                    slf.as_any(),
                    &cls,
                    &info,
                    (addr as *mut u8).wrapping_offset(index(k).wrapping_mul(esize as isize)),
                    0,
                )
            })?;
            if let Some(code) = i_code {
                // ctypes: slices of char pointers are bytes, of wchar pointers str.
                let parts = items;
                let empty = if code == TypeCode::Char {
                    pyo3::types::PyBytes::new(py, b"").into_any()
                } else {
                    pyo3::types::PyString::new(py, "").into_any()
                };
                return Ok(empty.call_method1("join", (parts,))?.unbind());
            }
            return Ok(items.into_any().unbind());
        }
        let index = index_key(key, not_an_index)?;
        Pointer::item_at(slf.as_any(), cd, index)
    }

    fn __setitem__(
        slf: &Bound<'_, Self>,
        key: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let py = slf.py();
        let cd = slf.as_super().get();
        let addr = address(cd);
        let t = target(py, cd.info())?;
        // ctypes assigns items through the sequence protocol, which words the error so
        let index = index_key(key, || match key.get_type().name() {
            Ok(name) => {
                PyTypeError::new_err(format!("sequence index must be integer, not '{name}'"))
            }
            Err(e) => e,
        })?;
        if addr == 0 {
            return Err(PyValueError::new_err("NULL pointer access"));
        }
        if index == 0 && t.grown() {
            check_grown(py, cd, &t, addr)?;
        }
        if strict::enabled() {
            let ends = (index, index, 1);
            provenance::check_elements(py, cd, addr, t.info.get(), ends, false, false)?;
        }
        let i = t.info.get();
        let p = (addr as *mut u8).wrapping_offset(index * i.size as isize);
        set_item_at(cd, &t.cls, i, p, index as usize, value)
    }

    fn __delitem__(&self, _key: &Bound<'_, PyAny>) -> PyResult<()> {
        Err(no_deletion())
    }
}

impl Pointer {
    /// `p[index]`: the element at the pointer's address plus `index` elements.
    fn item_at(slf: &Bound<'_, PyAny>, cd: &CData, index: isize) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        let addr = address(cd);
        let t = target(py, cd.info())?;
        if addr == 0 {
            return Err(PyValueError::new_err("NULL pointer access"));
        }
        if index == 0 && t.grown() {
            check_grown(py, cd, &t, addr)?;
        }
        if strict::enabled() {
            let ends = (index, index, 1);
            provenance::check_elements(py, cd, addr, t.info.get(), ends, true, false)?;
        }
        let p = (addr as *mut u8).wrapping_offset(index * t.info.get().size as isize);
        get_item_at(slf, &t.cls, &t.info, p, 0)
    }
}

/// The first and last index a pointer slice `start:stop:step` touches (`None` if none).
fn slice_ends(start: isize, stop: isize, step: isize) -> Option<(isize, isize, isize)> {
    let (start, stop, st) = (start as i128, stop as i128, step as i128);
    let n = if st > 0 && stop > start {
        (stop - start - 1) / st + 1
    } else if st < 0 && start > stop {
        (start - stop - 1) / -st + 1
    } else {
        0
    };
    // The last index lies between start and stop, so it fits an isize.
    (n > 0).then(|| (start as isize, (start + (n - 1) * st) as isize, step))
}

/// The fast subscript slot of pointer classes (given to each by [`init_pointer_type`]).
pub static SUBSCRIPT: FastSubscript = FastSubscript::new();

impl IntSubscript for Pointer {
    fn subscript() -> &'static FastSubscript {
        &SUBSCRIPT
    }

    /// `p[i]` for an int `i`, as `__getitem__` reads it.
    fn item(slf: &Bound<'_, Self>, key: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let index = index_key(key, not_an_index)?;
        let cd = slf.as_super().get();
        if let Some((p, code, swapped)) = fast_element(slf.py(), cd, index) {
            // SAFETY: as in `index_item`.
            return unsafe { load(slf.py(), p, code, swapped) };
        }
        Pointer::item_at(slf.as_any(), cd, index)
    }

    /// `p[i]` without strict mode, of a non-NULL pointer to a simple type whose
    /// elements are Python values: the element read directly (the same read
    /// `get_item_at` makes). Anything else (strict mode, which checks the index against
    /// the object pointed into, other targets, a NULL pointer, `p[0]` of a simple target
    /// that grew, a read that fails) takes `item`.
    #[inline(always)]
    fn index_item(slf: &Bound<'_, Self>, index: isize) -> Option<Py<PyAny>> {
        let (p, code, swapped) = fast_element(slf.py(), slf.as_super().get(), index)?;
        // SAFETY: like ctypes, indexing a pointer trusts that the memory there holds
        // elements of its type.
        unsafe { load(slf.py(), p, code, swapped) }.ok()
    }

    /// `p[i]` of an `int` or `double` in native order, on the same conditions as
    /// `index_item`: the element read, made into a Python value by the slot.
    #[inline(always)]
    fn quick_item(slf: &Bound<'_, Self>, index: isize) -> Option<Quick> {
        let (p, code, swapped) = fast_element(slf.py(), slf.as_super().get(), index)?;
        if swapped {
            return None;
        }
        // SAFETY: as in `index_item`, the memory there holds an element of this code.
        unsafe {
            match code {
                TypeCode::Int if TypeCode::Int.size() == 4 => {
                    Some(Quick::Int(p.cast::<i32>().read_unaligned().into()))
                }
                TypeCode::Double => Some(Quick::Float(p.cast::<f64>().read_unaligned())),
                _ => None,
            }
        }
    }
}

/// Where and how `p[index]` reads its element directly (address, type code, byte
/// order): without strict mode, of a non-NULL pointer to a simple type whose elements
/// are Python values, `p[0]` only while the target has not grown. `None` for anything
/// else, which takes `Pointer::item_at`.
#[inline(always)]
fn fast_element(py: Python<'_>, cd: &CData, index: isize) -> Option<(*const u8, TypeCode, bool)> {
    if strict::enabled() {
        return None;
    }
    // SAFETY: the closure only copies plain fields out.
    let (code, size, swapped) = cd.info().pointer().and_then(|p| unsafe {
        p.peek_target(py, |t| {
            let t = t?;
            let elem = t.info.get();
            let code = elem.value_code()?;
            (index != 0 || elem.size <= t.vouched).then_some((code, elem.size, elem.swapped))
        })
    })?;
    let addr = address(cd);
    if addr == 0 {
        return None;
    }
    let p = (addr as *const u8).wrapping_offset(index.wrapping_mul(size as isize));
    Some((p, code, swapped))
}

/// ctypes' error for `.contents` of a NULL pointer.
#[cold]
#[inline(never)]
fn null_access() -> PyErr {
    PyValueError::new_err("NULL pointer access")
}

/// `.contents` of a pointer whose target type grew, or in strict mode: the checks of
/// the object the pointer keeps alive, then the view.
#[cold]
#[inline(never)]
fn checked_contents(slf: &Bound<'_, Pointer>, t: Target<'_>, addr: usize) -> PyResult<Py<PyAny>> {
    let py = slf.py();
    let cd = slf.as_super().get();
    if t.grown() {
        check_grown(py, cd, &t, addr)?;
    }
    if strict::enabled() {
        provenance::check_elements(py, cd, addr, t.info.get(), (0, 0, 1), true, true)?;
    }
    let Target { cls, info, .. } = t;
    info.get().seal();
    let size = info.get().size;
    let base = Some(slf.clone().into_any().unbind());
    let cls = cls.cast::<PyType>()?;
    Ok(instantiate_view(cls, info, addr as *mut u8, size, base, 0, false)?.unbind())
}

/// `.contents` of a pointer at `addr` (not NULL) whose target is not known plain yet
/// (see `PointerTarget::plain`), or in strict mode: the target looked up and checked;
/// a target found plain is marked so, and the next reads skip all this.
#[inline(never)]
fn contents(slf: &Bound<'_, Pointer>, addr: usize) -> PyResult<Py<PyAny>> {
    let py = slf.py();
    let cd = slf.as_super().get();
    let t = target(py, cd.info())?;
    if t.grown() || strict::enabled() {
        return checked_contents(slf, t, addr);
    }
    let Target {
        cls, info, open, ..
    } = t;
    let cls = cls.cast_into::<PyType>()?;
    if open {
        info.get().seal();
    } else if derives_from_native(&cls, info.get().kind()) {
        // The recorded information is final (not `open`), the target did not grow
        // (`grown` above), and the class was made from its native class: mark the
        // record these came from, if it is still the present one.
        if let Some(p) = cd.info().pointer() {
            // SAFETY: the closure compares addresses and stores a flag: no Python code;
            // and all of what `plain` says was checked just above (`mark_plain`).
            unsafe {
                p.peek_target(py, |t| {
                    if let Some(t) = t.filter(|t| t.cls.is(&cls) && t.info.is(&info)) {
                        t.mark_plain();
                    }
                })
            }
        }
    }
    let size = info.get().size;
    let base = Some(slf.clone().into_any().unbind());
    Ok(instantiate_view(&cls, info, addr as *mut u8, size, base, 0, false)?.unbind())
}

/// The `contents` attribute of pointer instances, a getset descriptor on `_Pointer`
/// entered without PyO3's getter wrapper (installed by `lib.rs` with
/// `capi::slots::install_getset`): the object the pointer points to, read-write.
pub struct Contents;

impl GetSet for Contents {
    type Target = Pointer;

    /// The usual case, decided by one flag the first read set (`PointerTarget::plain`:
    /// a final target that did not grow, of a class made from its native class), with
    /// strict mode off and a pointer that is not NULL.
    #[inline(always)]
    fn quick(slf: &Bound<'_, Pointer>) -> Option<Option<Py<PyAny>>> {
        let py = slf.py();
        let cd = slf.as_super().get();
        let addr = address(cd);
        if addr == 0 || strict::enabled() {
            return None;
        }
        // SAFETY: the closure only takes new references (increments), which runs no
        // Python code.
        let (cls, info) = cd.info().pointer().and_then(|p| unsafe {
            p.peek_target(py, |t| {
                t.filter(|t| t.is_plain())
                    .map(|t| (t.cls.bind(py).clone(), t.info.bind(py).clone()))
            })
        })?;
        let base = Some(slf.clone().into_any().unbind());
        // SAFETY: a plain target's class was made from the native class of its kind
        // (checked by `contents` before it marked the target).
        let view = unsafe { instantiate_view_unchecked(&cls, info, addr as *mut u8, base) };
        Some(match view {
            Ok(v) => Some(v.unbind()),
            Err(e) => {
                e.restore(py);
                None
            }
        })
    }

    fn get(slf: &Bound<'_, Pointer>) -> PyResult<Py<PyAny>> {
        let addr = address(slf.as_super().get());
        if addr == 0 {
            return Err(null_access());
        }
        contents(slf, addr)
    }

    fn set(slf: &Bound<'_, Pointer>, value: &Bound<'_, PyAny>) -> PyResult<()> {
        set_contents(slf.py(), slf.as_super().get(), value)
    }

    /// ctypes: `del p.contents` is refused with the item-deletion message.
    fn delete_error() -> PyErr {
        no_deletion()
    }
}

/// `__init__` of pointer instances: at most one target.
pub fn init_pointer(
    cd: &Bound<'_, CData>,
    args: &Bound<'_, PyTuple>,
    kwargs: Option<&Bound<'_, PyDict>>,
) -> PyResult<()> {
    crate::types::no_keywords("_Pointer", kwargs)?;
    init_pointer_args(cd, args.as_slice())
}

/// `__init__` of pointer instances with positional arguments only.
pub fn init_pointer_args(cd: &Bound<'_, CData>, args: &[Bound<'_, PyAny>]) -> PyResult<()> {
    match args {
        [] => Ok(()),
        [target] => set_contents(cd.py(), cd.get(), target),
        _ => Err(PyTypeError::new_err(format!(
            "__init__ expected at most 1 argument, got {}",
            args.len()
        ))),
    }
}

/// How many of `start, start + step, ...` lie before `stop` (after it for a negative
/// step), computed without overflow.
fn slice_count(start: isize, stop: isize, step: isize) -> usize {
    let (start, stop, step) = (start as i128, stop as i128, step as i128);
    let n = if step > 0 && start < stop {
        (stop - start - 1) / step + 1
    } else if step < 0 && start > stop {
        (start - stop - 1) / -step + 1
    } else {
        0
    };
    // At most 2**64 / |step| values, so `n` fits a usize unless step is 1 on the whole
    // isize range; such a slice cannot be allocated anyway.
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// Whether index 0 is among the `count` indices `start, start + step, ...`.
fn slice_has_zero(start: isize, step: isize, count: usize) -> bool {
    let (start, step) = (start as i128, step as i128);
    // 0 = start + k * step for a whole k in 0..count
    count > 0 && -start % step == 0 && {
        let k = -start / step;
        k >= 0 && (k as u128) < count as u128
    }
}
