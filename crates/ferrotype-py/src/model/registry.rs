//! The native class of each kind, registered by `lib.rs` at module start-up, and
//! [`instantiate`], which makes an instance of any ferrotype class around prepared
//! memory. The model names no kind's module: the base does not know its subclasses.

use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering};

use pyo3::exceptions::{PyRuntimeError, PyTypeError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyType;

use crate::capi;
use crate::model::cdata::CData;
use crate::model::stginfo::{Kind, StgInfo};

/// The native classes, in the order of [`slot`].
static NATIVES: [PyOnceLock<Py<PyType>>; 6] = [
    PyOnceLock::new(),
    PyOnceLock::new(),
    PyOnceLock::new(),
    PyOnceLock::new(),
    PyOnceLock::new(),
    PyOnceLock::new(),
];

/// The address of the native class of each data kind, indexed by `Kind as usize`, for
/// the quick check of [`instantiate_view`]; until registered, and for function pointers,
/// [`NO_CLASS`], which no class has as its base.
static NATIVE_ADDRS: [AtomicUsize; 6] = [const { AtomicUsize::new(NO_CLASS) }; 6];

/// An address no object has (objects are aligned).
const NO_CLASS: usize = 1;

#[inline(always)]
fn slot(kind: Kind) -> usize {
    match kind {
        Kind::Simple => 0,
        Kind::Array => 1,
        Kind::Pointer => 2,
        Kind::FuncPtr => 3,
        Kind::Struct => 4,
        Kind::Union => 5,
    }
}

/// Registers `cls` as the native class of `kind` (once, at module start-up).
pub fn register(kind: Kind, cls: Bound<'_, PyType>) -> PyResult<()> {
    let py = cls.py();
    if kind != Kind::FuncPtr {
        NATIVE_ADDRS[kind as usize].store(cls.as_ptr() as usize, Ordering::Relaxed);
    }
    NATIVES[slot(kind)]
        .set(py, cls.unbind())
        .map_err(|_| PyRuntimeError::new_err("ferrotype: a native class registered twice"))
}

/// The native class of `kind`.
pub fn native(py: Python<'_>, kind: Kind) -> PyResult<&Bound<'_, PyType>> {
    NATIVES[slot(kind)]
        .get(py)
        .map(|t| t.bind(py))
        .ok_or_else(|| PyRuntimeError::new_err("ferrotype: native classes not registered"))
}

thread_local! {
    /// The memory for the function pointer instance [`instantiate`] is creating; taken
    /// by the function pointer's native `__new__`, which it calls.
    static PENDING: RefCell<Option<CData>> = const { RefCell::new(None) };
}

/// The `CData` an [`instantiate`] call prepared, if this `__new__` runs on its behalf.
pub fn take_pending() -> Option<CData> {
    PENDING.with(|p| p.borrow_mut().take())
}

/// Creates an instance of `cls` (a Python subclass of the native class for `data`'s
/// kind) around `data`, without running `__init__` or a Python-level `__new__` (ctypes
/// allocates such instances directly too).
///
/// The five data kinds are allocated by `capi::objects::alloc`. Function pointers hold
/// state of their own (the call plan), so their native `__new__` is called, and picks
/// up `data` from [`take_pending`].
#[inline]
pub fn instantiate<'py>(cls: &Bound<'py, PyType>, data: CData) -> PyResult<Bound<'py, PyAny>> {
    let py = cls.py();
    let kind = data.info().kind();
    let native = native(py, kind)?;
    if !capi::objects::is_subtype(cls, native) {
        return Err(PyTypeError::new_err(format!(
            "{} is not a {} type",
            cls.name()?,
            native.name()?
        )));
    }
    if kind != Kind::FuncPtr {
        // SAFETY: `cls` is a subtype of the native class of `data`'s kind (checked
        // above), one of the five data classes `lib.rs` installs for `CData`.
        return unsafe { capi::objects::alloc(cls, data) };
    }
    PENDING.with(|p| *p.borrow_mut() = Some(data));
    let made = capi::objects::call_native_new(native, cls);
    let leftover = take_pending();
    let obj = made?;
    if leftover.is_some() {
        return Err(PyTypeError::new_err(
            "instance creation did not use the prepared memory",
        ));
    }
    Ok(obj)
}

/// An instance of `cls` viewing `size` bytes at `ptr` kept valid by `base` (what
/// [`instantiate`] of [`CData::new_view`] makes), read-only when `readonly`. The view
/// is written straight into the new object (see [`CData::place_view`]). The caller
/// seals the type (`StgInfo::seal`) unless it knows it final.
#[inline(always)]
pub fn instantiate_view<'py>(
    cls: &Bound<'py, PyType>,
    info: Bound<'py, StgInfo>,
    ptr: *mut u8,
    size: usize,
    base: Option<Py<PyAny>>,
    index: usize,
    readonly: bool,
) -> PyResult<Bound<'py, PyAny>> {
    // The usual case: a class made from the native class of its kind (function
    // pointers, whose native is not recorded here, take the other path).
    let native = NATIVE_ADDRS[info.get().kind() as usize].load(Ordering::Relaxed);
    if !capi::objects::derives_directly(cls, native) {
        return instantiate_view_checked(cls, info, ptr, size, base, index, readonly);
    }
    let info = info.unbind();
    // SAFETY: `cls` is a subtype of the native class of a data kind (checked above),
    // one of the five data classes `lib.rs` installs for `CData`; `place_view` is given
    // the zeroed payload memory of the new object, as it requires.
    unsafe {
        capi::objects::alloc_with(cls, |this: *mut CData| {
            CData::place_view(this, info, ptr, size, base, index, readonly)
        })
    }
}

/// A new instance of `cls` owning zero-filled memory of its type (what [`instantiate`]
/// of [`CData::for_type`] makes), whose bytes `write` fills before anything else can see
/// the object: it is given their address and the type's size, and must write at most
/// that many bytes. A value that fits in the object is written straight into the new
/// object's memory (see [`CData::place_inline`]): no payload is built and moved in.
#[inline(always)]
pub fn instantiate_filled<'py>(
    cls: &Bound<'py, PyType>,
    info: Bound<'py, StgInfo>,
    write: impl FnOnce(*mut u8, usize),
) -> PyResult<Bound<'py, PyAny>> {
    let i = info.get();
    let (size, align) = (i.size, i.align);
    let native = NATIVE_ADDRS[i.kind() as usize].load(Ordering::Relaxed);
    if !CData::fits_inline(size, align) || !capi::objects::derives_directly(cls, native) {
        let mut cd = CData::for_type_owned(info)?;
        write(cd.unplaced_ptr(), size.min(cd.size()));
        return instantiate(cls, cd);
    }
    i.seal();
    let info = info.unbind();
    // (`place_inline` returns the inline bytes, `INLINE >= size` of them.)
    // SAFETY: `cls` derives from the native class of a data kind (checked above), one of
    // the five `lib.rs` installs for `CData`; `place_inline` is given the zeroed payload
    // memory of the new object, for a type that fits inline (checked above).
    unsafe {
        capi::objects::alloc_with(cls, |this: *mut CData| {
            write(CData::place_inline(this, info, size), size)
        })
    }
}

/// Whether `cls` was made from the native class of `kind` (its direct base), the case
/// [`instantiate_view`] takes without looking at the MRO.
#[inline]
pub fn derives_from_native(cls: &Bound<'_, PyType>, kind: Kind) -> bool {
    let native = NATIVE_ADDRS[kind as usize].load(Ordering::Relaxed);
    capi::objects::derives_directly(cls, native)
}

/// Whether `obj` is an instance of a class made from the native class of `kind` (its
/// direct base), so a `CData` of that kind: the quick test, false saying nothing.
#[inline(always)]
pub fn is_direct_instance(obj: &Bound<'_, PyAny>, kind: Kind) -> bool {
    let native = NATIVE_ADDRS[kind as usize].load(Ordering::Relaxed);
    capi::objects::type_of_derives_directly(obj, native)
}

/// [`instantiate_view`] of the whole of a value of `info`'s type (its size; not
/// read-only, index 0) for a class known to qualify: no check of the class.
///
/// # Safety
/// `cls` must be a class that [`derives_from_native`] accepted for the kind of `info`
/// (or any class whose instances are laid out as a `CData`, as the native data classes
/// and every class derived from them are).
#[inline(always)]
pub unsafe fn instantiate_view_unchecked<'py>(
    cls: &Bound<'py, PyAny>,
    info: Bound<'py, StgInfo>,
    ptr: *mut u8,
    base: Option<Py<PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let info = info.unbind();
    // (The size is read from the information, which the new object holds, after the
    // allocation: one value fewer kept across it.)
    // SAFETY: the caller's contract: `cls` derives from a native data class, all five of
    // which `lib.rs` installs for `CData`; `place_view` is given the zeroed payload memory
    // of the new object, as it requires.
    unsafe {
        let cls = cls.cast_unchecked::<PyType>();
        capi::objects::alloc_with(cls, |this: *mut CData| {
            let size = info.get().size;
            CData::place_view(this, info, ptr, size, base, 0, false)
        })
    }
}

/// [`instantiate_view`] for function pointer classes and classes not found on the
/// first links of their `tp_base` chain: the class checked by its MRO.
#[cold]
#[inline(never)]
fn instantiate_view_checked<'py>(
    cls: &Bound<'py, PyType>,
    info: Bound<'py, StgInfo>,
    ptr: *mut u8,
    size: usize,
    base: Option<Py<PyAny>>,
    index: usize,
    readonly: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let view = CData::new_view(info.unbind(), ptr, size, base, index).read_only(readonly);
    instantiate(cls, view)
}
