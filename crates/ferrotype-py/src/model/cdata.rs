//! `_CData`, the base of every ferrotype instance: its memory, the object that owns
//! that memory when it is borrowed (`_b_base_`), and the objects it keeps alive
//! (`_objects`), following ctypes' keep-alive rules.
//!
//! Invariant: `ptr()` is valid for `size` bytes for as long as the instance lives: the
//! memory is inline, owned, or owned by `base` (which the instance keeps alive); only
//! instances made from a raw address (`from_address`, pointer contents) rely on the
//! caller, as in ctypes.
//!
//! `data` always holds the address of the bytes, inline ones included, so that `ptr()`
//! is one load. Inline bytes move with the value until it is in its object: a value
//! made in Rust is pointed at its own inline bytes when it is placed (`settle`, called
//! by `capi::objects::alloc` and after PyO3's `tp_new` of function pointers); before
//! that, only [`CData::unplaced_ptr`] (which needs the value itself, `&mut`) gives the
//! bytes' address.

use crate::capi::values::new_bytes;
use std::cell::{Cell, UnsafeCell};
use std::ffi::c_int;

use ferrotype_core::{memory, OwnedBuf, RawBuf};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyType};
use pyo3::{PyTraverseError, PyVisit};

use crate::capi;
use crate::capi::buffer::RawBuffer;
use crate::capi::gilcell::GilSlot;
use crate::model::errors::{type_name, CoreResultExt};
use crate::model::stginfo::{Kind, StgInfo};

/// Inline storage for small values (ctypes keeps up to 16 bytes in the object).
#[repr(C, align(16))]
pub struct Inline(UnsafeCell<[usize; 2]>);

// An instance is a `PyObject` header (16 bytes), this payload and the weak-reference
// list the native classes add (`capi::objects::install`): 104 bytes, as the instances
// of ctypes' classes made by a `class` statement (whose weak-reference list is theirs).
const _: () = assert!(std::mem::size_of::<CData>() == 80);

/// The capacity of [`Inline`] storage.
const INLINE: usize = 16;

/// Who owns an instance's bytes (`CData::owner`; their address is `CData::data`).
///
/// `FOREIGN` is 0, so that an instance's payload can be written in place into the
/// zeroed memory of a new object without writing its owner (see `CData::place_view`).
/// A heap buffer the object owns is recorded in the inline bytes, which it does not use
/// then (its size and alignment, or its size and the `calloc` block to free: the parts
/// of `OwnedBuf::into_raw`, whose start is `data`): the instance is as large as ctypes'.
mod owner {
    /// Elsewhere: in `base`'s memory, or at a raw address.
    pub const FOREIGN: u8 = 0;
    /// In the object itself (`CData::inline`).
    pub const INLINE: u8 = 1;
    /// In a heap buffer the object owns, from the global allocator.
    pub const OWNED: u8 = 2;
    /// In a heap buffer the object owns, from `calloc` (a large one).
    pub const OWNED_SYSTEM: u8 = 3;
    /// In a heap buffer made by `resize` (`CData::resized`).
    pub const RESIZED: u8 = 4;
}

/// The buffers of a resized instance: the present one, then those it replaced, kept
/// until the object dies so that views and exported buffers of the old memory never
/// dangle.
type Retired = (OwnedBuf, Vec<OwnedBuf>);

/// The record of a heap buffer kept in the inline bytes (see [`owner`]): its owner
/// value, the inline words (the buffer's size, then its alignment or `calloc` block)
/// and the buffer's start.
#[inline(always)]
fn heap_record(raw: RawBuf) -> (u8, [usize; 2], *mut u8) {
    let owner = if raw.system {
        owner::OWNED_SYSTEM
    } else {
        owner::OWNED
    };
    (owner, [raw.size, raw.word], raw.ptr.as_ptr())
}

/// The base class of all ferrotype instances.
///
/// It and the public bases name `ferrotype._ctypes` (the module that mirrors `_ctypes`
/// and exports them) as their module, as ctypes' name `_ctypes`: NumPy tells a ctypes
/// class by `_ctypes` in the module of the base before `object` in its MRO.
#[pyclass(subclass, frozen, module = "ferrotype._ctypes", name = "_CData")]
pub struct CData {
    inline: Inline,
    /// The address of the bytes, kept in step with `owner` (set with it, by `resize`,
    /// and, for inline bytes, by `settle` once the value is in its object), so that
    /// `ptr()` is one load.
    data: Cell<*mut u8>,
    /// Who owns the bytes (see [`owner`]); changed only by `resize`, under the GIL.
    owner: Cell<u8>,
    /// The buffers of an instance `resize` gave new memory (owner `RESIZED`).
    resized: UnsafeCell<Option<Box<Retired>>>,
    size: Cell<usize>,
    readonly: bool,
    base: Option<Py<PyAny>>,
    /// The index of this view in `base` (a field's or element's), for the keys of
    /// `_objects`, which ctypes writes as a C `int`: the low 32 bits are all it shows,
    /// and all that is kept (the instance is 16 bytes smaller).
    index: u32,
    objects: GilSlot,
    /// What the instance's memory depends on beyond what ctypes records in `_objects`,
    /// where ctypes would let it die while still in use: a pointer's target (which
    /// `p[1] = v` replaces in `_objects`), a `cast` result's source when ctypes records
    /// nothing (a view, `byref`, bytes), the exporter of a `from_buffer` view (which a
    /// simple instance's next value replaces). Never shown to Python.
    pin: GilSlot,
    info: Py<StgInfo>,
}

// SAFETY: the raw data pointer, the cells and the inline bytes are only
// accessed while holding the GIL (every method takes a Python token or runs as a Python
// method), like any other memory shared with C code.
unsafe impl Send for CData {}
// SAFETY: as above.
unsafe impl Sync for CData {}

impl CData {
    #[inline(always)]
    fn with_storage(
        (owner, inline): (u8, [usize; 2]),
        data: *mut u8,
        size: usize,
        base: Option<Py<PyAny>>,
        index: usize,
        info: Py<StgInfo>,
    ) -> CData {
        info.get().seal();
        CData {
            inline: Inline(UnsafeCell::new(inline)),
            data: Cell::new(data),
            owner: Cell::new(owner),
            resized: UnsafeCell::new(None),
            size: Cell::new(size),
            readonly: false,
            base,
            index: index as u32,
            objects: GilSlot::new(),
            pin: GilSlot::new(),
            info,
        }
    }

    /// A zero-filled instance of `size` bytes owning its memory.
    #[inline(always)]
    pub fn new_owned(info: Py<StgInfo>, size: usize, align: usize) -> PyResult<CData> {
        if size <= INLINE && align <= INLINE {
            // The data pointer is set once the value is in its object (`settle`).
            let null = std::ptr::null_mut();
            return Ok(CData::with_storage(
                (owner::INLINE, [0; 2]),
                null,
                size,
                None,
                0,
                info,
            ));
        }
        let (owner, record, data) = heap_record(OwnedBuf::try_new(size, align).py()?.into_raw());
        Ok(CData::with_storage(
            (owner, record),
            data,
            size,
            None,
            0,
            info,
        ))
    }

    /// An instance of the type described by `info`, zero-filled.
    #[inline(always)]
    pub fn for_type(info: &Bound<'_, StgInfo>) -> PyResult<CData> {
        CData::for_type_owned(info.clone())
    }

    /// [`CData::for_type`], taking over the reference to `info`.
    #[inline(always)]
    pub fn for_type_owned(info: Bound<'_, StgInfo>) -> PyResult<CData> {
        let (size, align) = (info.get().size, info.get().align);
        CData::new_owned(info.unbind(), size, align)
    }

    /// An instance viewing `size` bytes at `ptr`, kept valid by `base` (or by the caller
    /// for raw addresses).
    #[inline(always)]
    pub fn new_view(
        info: Py<StgInfo>,
        ptr: *mut u8,
        size: usize,
        base: Option<Py<PyAny>>,
        index: usize,
    ) -> CData {
        CData::with_storage((owner::FOREIGN, [0; 2]), ptr, size, base, index, info)
    }

    /// Writes the view [`CData::new_view`] would make (made read-only when `readonly`)
    /// into `this`, without building it first: only the fields that do not start empty
    /// are written. Unlike `new_view`, it does not seal the type (`StgInfo::seal`): the
    /// caller does, unless it knows the type final.
    ///
    /// # Safety
    /// `this` must be valid for writes of a `CData`, suitably aligned, and hold zero
    /// bytes only (the memory of a new object from `tp_alloc`, which zeroes it). Every
    /// field not written here is valid as zero bytes: the inline bytes, plain integers
    /// and a false flag; the owner `FOREIGN` (0); no retired buffers (`None`, a null
    /// box); `GilSlot`s (an
    /// `Option<Py>` whose `None` is the null pointer, `Py` being a transparent
    /// `NonNull`); and the rest are written.
    #[inline(always)]
    pub unsafe fn place_view(
        this: *mut CData,
        info: Py<StgInfo>,
        ptr: *mut u8,
        size: usize,
        base: Option<Py<PyAny>>,
        index: usize,
        readonly: bool,
    ) {
        // SAFETY: the caller's contract: each field is written once, in place, without
        // reading or dropping what was there (zero bytes, owning nothing).
        unsafe {
            std::ptr::addr_of_mut!((*this).data).write(Cell::new(ptr));
            std::ptr::addr_of_mut!((*this).size).write(Cell::new(size));
            std::ptr::addr_of_mut!((*this).base).write(base);
            if index != 0 {
                std::ptr::addr_of_mut!((*this).index).write(index as u32);
            }
            if readonly {
                std::ptr::addr_of_mut!((*this).readonly).write(true);
            }
            std::ptr::addr_of_mut!((*this).info).write(info);
        }
    }

    /// Whether a value of `size` bytes aligned to `align` is kept in the object itself.
    #[inline(always)]
    pub fn fits_inline(size: usize, align: usize) -> bool {
        size <= INLINE && align <= INLINE
    }

    /// Writes the zero-filled instance owning its memory inline that
    /// [`CData::new_owned`] would make for `size` bytes into `this`, without building it
    /// first, and returns the address of those bytes (valid for [`INLINE`] bytes, all
    /// zero). Like [`CData::place_view`], it does not seal the type.
    ///
    /// # Safety
    /// As for [`CData::place_view`]: `this` valid for writes of a `CData`, suitably
    /// aligned, and holding zero bytes only; and [`CData::fits_inline`] for the type's
    /// size and alignment (`size` at most [`INLINE`]).
    #[inline(always)]
    pub unsafe fn place_inline(this: *mut CData, info: Py<StgInfo>, size: usize) -> *mut u8 {
        // (The inline bytes are already zero; the data pointer is given their address in
        // the object, where they stay.)
        // SAFETY: the caller's contract: the fields are written once, in place, without
        // reading or dropping what was there (zero bytes, owning nothing).
        unsafe {
            let bytes: *mut u8 = UnsafeCell::raw_get(std::ptr::addr_of!((*this).inline.0)).cast();
            std::ptr::addr_of_mut!((*this).owner).write(Cell::new(owner::INLINE));
            std::ptr::addr_of_mut!((*this).data).write(Cell::new(bytes));
            std::ptr::addr_of_mut!((*this).size).write(Cell::new(size));
            std::ptr::addr_of_mut!((*this).info).write(info);
            bytes
        }
    }

    /// Writes the zero-filled instance owning the heap buffer given up as `raw` (of
    /// `size` bytes) that [`CData::new_owned`] would make into `this`, without building
    /// it first. Like [`CData::place_view`], it does not seal the type.
    ///
    /// # Safety
    /// As for [`CData::place_view`]: `this` valid for writes of a `CData`, suitably
    /// aligned, and holding zero bytes only; and `raw` the parts of a buffer
    /// (`OwnedBuf::into_raw`) that the instance takes over.
    #[inline(always)]
    pub unsafe fn place_owned(this: *mut CData, info: Py<StgInfo>, raw: RawBuf, size: usize) {
        let (owner, record, data) = heap_record(raw);
        // SAFETY: the caller's contract: the fields are written once, in place, without
        // reading or dropping what was there (zero bytes, owning nothing).
        unsafe {
            std::ptr::addr_of_mut!((*this).owner).write(Cell::new(owner));
            UnsafeCell::raw_get(std::ptr::addr_of!((*this).inline.0)).write(record);
            std::ptr::addr_of_mut!((*this).data).write(Cell::new(data));
            std::ptr::addr_of_mut!((*this).size).write(Cell::new(size));
            std::ptr::addr_of_mut!((*this).info).write(info);
        }
    }

    /// The same instance, refusing writes from Python (`readonly=True` views).
    pub fn read_only(mut self, readonly: bool) -> CData {
        self.readonly = readonly;
        self
    }

    /// Whether writes from Python are refused.
    #[inline]
    pub fn is_readonly(&self) -> bool {
        self.readonly
    }

    /// `Ok` if Python may write to the instance, else ferrotype's read-only error.
    #[inline]
    pub fn check_writable(&self) -> PyResult<()> {
        if self.readonly {
            Err(PyTypeError::new_err("cannot modify read-only memory"))
        } else {
            Ok(())
        }
    }

    /// The address of the instance's bytes (of a value in its object: see the module's
    /// documentation and [`CData::unplaced_ptr`]).
    #[inline(always)]
    pub fn ptr(&self) -> *mut u8 {
        // (A value not yet placed has a null pointer here when its bytes are inline:
        // using it writes to address 0, a crash every test that takes the path shows.)
        debug_assert!(!self.data.get().is_null() || self.owner.get() == owner::FOREIGN);
        self.data.get()
    }

    /// The address of the bytes of a value not yet in its object (to fill them before
    /// the value is placed), where they are now: inline bytes move with the value.
    pub fn unplaced_ptr(&mut self) -> *mut u8 {
        if self.is_inline() {
            self.inline.0.get_mut().as_mut_ptr().cast()
        } else {
            self.data.get()
        }
    }

    /// Points `data` at the inline bytes when they hold the value: called once the value
    /// is in its object, where it stays (see the module's documentation).
    #[inline(always)]
    pub fn settle(&self) {
        if self.is_inline() {
            self.data.set(self.inline.0.get().cast());
        }
    }

    /// Whether the bytes are the inline ones.
    #[inline(always)]
    fn is_inline(&self) -> bool {
        self.owner.get() == owner::INLINE
    }

    /// Takes back the heap buffer recorded in the inline bytes (owner `OWNED` or
    /// `OWNED_SYSTEM`), as an `OwnedBuf` again.
    ///
    /// # Safety
    /// The owner must be one of those two, and the caller must make sure the buffer is
    /// taken back once: it changes the owner, or the instance is never used again.
    unsafe fn take_heap_buf(&self) -> OwnedBuf {
        // SAFETY: with those owners the inline bytes hold the record `heap_record` wrote
        // (the object's bytes are the heap buffer's, so nothing wrote them since).
        let [size, word] = unsafe { *self.inline.0.get() };
        let raw = ferrotype_core::RawBuf {
            // (`data` is the buffer's start for these owners, never null.)
            ptr: std::ptr::NonNull::new(self.data.get()).unwrap_or(std::ptr::NonNull::dangling()),
            size,
            word,
            system: self.owner.get() == owner::OWNED_SYSTEM,
        };
        // SAFETY: the parts `into_raw` gave up for this buffer (the caller's contract:
        // taken back once).
        unsafe { OwnedBuf::from_raw(raw) }
    }

    /// The size in bytes (the type's size, or what `resize` set).
    #[inline]
    pub fn size(&self) -> usize {
        self.size.get()
    }

    /// ctypes' `resize(obj, size)`: the instance's memory becomes `size` bytes (at least
    /// the type's size); the contents are kept and new bytes are zero. Memory the object
    /// does not own cannot be resized. Replaced buffers stay allocated until the object
    /// dies, so fields, elements and buffer exports taken before never dangle (they see
    /// the old bytes).
    pub fn resize(&self, size: usize) -> PyResult<()> {
        let min = self.info().size;
        if size < min {
            return Err(PyValueError::new_err(format!("minimum size is {min}")));
        }
        if !self.owns_memory() {
            return Err(PyValueError::new_err(
                "Memory cannot be resized because this object doesn't own it",
            ));
        }
        let capacity = match self.owner.get() {
            owner::INLINE => INLINE,
            // SAFETY: with these owners the inline bytes hold the buffer's record, whose
            // first word is its size (`heap_record`).
            owner::OWNED | owner::OWNED_SYSTEM => unsafe { (*self.inline.0.get())[0] },
            // SAFETY: a shared borrow of the retired buffers, ended at once; only
            // `resize` (below) changes them.
            owner::RESIZED => unsafe { &*self.resized.get() }
                .as_ref()
                .map_or(0, |r| r.0.len()),
            _ => 0,
        };
        if size <= capacity {
            if size > self.size() {
                // SAFETY: the storage holds `capacity >= size` bytes.
                unsafe { memory::zero_bytes(self.ptr().add(self.size()), size - self.size()) };
            }
            self.size.set(size);
            return Ok(());
        }
        let fresh = OwnedBuf::try_new(size, self.info().align).py()?;
        let data = fresh.as_ptr();
        // SAFETY: the old memory holds size() bytes, the new one size > size() bytes;
        // they are distinct allocations.
        unsafe { memory::copy_bytes(self.ptr(), fresh.as_ptr(), self.size()) };
        // The inline bytes, if they held the value, stay in the object (which outlives
        // its views), untouched.
        let retired = match self.owner.get() {
            // SAFETY: the owner is one of those two, and is changed below: taken once.
            owner::OWNED | owner::OWNED_SYSTEM => Some(unsafe { self.take_heap_buf() }),
            _ => None,
        };
        // SAFETY: resize runs under the GIL with no outstanding reference into the
        // retired buffers (the borrow above has ended); every old heap buffer is kept
        // alive in the retired list.
        let slot = unsafe { &mut *self.resized.get() };
        match slot {
            Some(r) => {
                let prev = std::mem::replace(&mut r.0, fresh);
                r.1.push(prev);
            }
            None => *slot = Some(Box::new((fresh, retired.into_iter().collect()))),
        }
        self.owner.set(owner::RESIZED);
        self.data.set(data);
        self.size.set(size);
        Ok(())
    }

    /// The type information.
    #[inline]
    pub fn info(&self) -> &StgInfo {
        self.info.get()
    }

    /// The type information object.
    pub fn info_obj(&self) -> &Py<StgInfo> {
        &self.info
    }

    /// Whether the instance owns its memory (`_b_needsfree_`).
    pub fn owns_memory(&self) -> bool {
        self.owner.get() != owner::FOREIGN
    }

    /// The keep-alive container (`_objects`), if any.
    pub fn objects<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyAny>> {
        self.objects.get(py)
    }

    /// Whether the container of an instance of this type is a dict (ctypes' `b_length`
    /// is not zero): arrays of at least one element, structures and unions with at
    /// least one field, pointers and function pointers. A simple instance, an empty
    /// array or structure keeps one object directly, the last one stored.
    fn keeps_a_dict(&self) -> bool {
        let info = self.info();
        match info.kind() {
            Kind::Simple => false,
            Kind::Array => info.length() > 0,
            Kind::Struct | Kind::Union => info.field_count() > 0,
            Kind::Pointer | Kind::FuncPtr => true,
        }
    }

    /// The instance owning this one's memory through `_b_base_` links (the last
    /// ferrotype instance on the chain), or `None` if this one is that owner.
    fn root<'py>(&self, py: Python<'py>) -> Option<Bound<'py, CData>> {
        let mut root: Option<Bound<'py, CData>> = None;
        let mut base = self.base.as_ref().map(|b| b.bind(py).clone());
        while let Some(b) = base {
            let Ok(cd) = b.cast_into::<CData>() else {
                break;
            };
            base = cd.get().base.as_ref().map(|b| b.bind(py).clone());
            root = Some(cd);
        }
        root
    }

    /// ctypes' container of what an instance keeps: the `_objects` of the owner of its
    /// memory, made an empty dict there on first use when that owner keeps a dict
    /// (see `keeps_a_dict`). This is what assigning the instance into another's memory
    /// keeps (so `y.x = X()` records `{'0': {}}`, and the dict is shared: what the
    /// source keeps later is kept by `y` too).
    pub fn container_objects<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyAny>> {
        let root = self.root(py);
        let owner = root.as_ref().map_or(self, |r| r.get());
        match owner.objects.get(py) {
            Some(o) => Some(o),
            None if owner.keeps_a_dict() => {
                let d = PyDict::new(py).into_any();
                owner.objects.set(py, Some(d.clone().unbind()));
                Some(d)
            }
            None => None,
        }
    }

    /// ctypes' `_objects` of a `cast` result made from this instance: the instance's
    /// own container, shared, after the owner of its memory got one; a simple or empty
    /// instance without one is given a dict. A view (a field, element or pointer
    /// contents) has none of its own, so the result records nothing (ferrotype pins
    /// the view in the result instead, see `pin`).
    pub fn cast_container<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyAny>> {
        self.container_objects(py);
        if let Some(o) = self.objects.get(py) {
            return Some(o);
        }
        if self.root(py).is_some() {
            return None;
        }
        let d = PyDict::new(py).into_any();
        self.objects.set(py, Some(d.clone().unbind()));
        Some(d)
    }

    /// Makes `container` this instance's `_objects` (a `cast` result shares its
    /// source's).
    pub fn share_objects(&self, py: Python<'_>, container: Py<PyAny>) {
        self.objects.set(py, Some(container));
    }

    /// Keeps `obj` alive for as long as this instance's memory, out of `_objects`
    /// (see the field's documentation). One object at a time: a new pin replaces the
    /// old one.
    pub fn pin(&self, py: Python<'_>, obj: Option<Py<PyAny>>) {
        self.pin.set(py, obj);
    }

    /// The pinned object (see `pin`), if any: strict mode's provenance search reads it.
    pub fn pinned<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyAny>> {
        self.pin.get(py)
    }

    /// ctypes' keep-alive (`KeepRef`): `obj` must live as long as this instance's
    /// memory. It goes into the container of the memory's owner (`container_objects`):
    /// into the dict under a key built from the index path (`"index:index:..."` in hex,
    /// the index of this instance in its base, then of that base in its own, ...), so
    /// that storing into the same place again replaces the entry; when the container is
    /// not a dict, `obj` replaces it. `None` is never stored.
    pub fn keep_alive(&self, py: Python<'_>, index: isize, obj: Py<PyAny>) -> PyResult<()> {
        if obj.is_none(py) {
            return Ok(());
        }
        let container = self.container_objects(py);
        if let Some(d) = container
            .as_ref()
            .and_then(|c| c.cast_exact::<PyDict>().ok())
        {
            // The common keys of an instance that is not a view: interned once.
            if self.base.is_none() {
                let common = match index {
                    -1 => Some(pyo3::intern!(py, "ffffffff")),
                    0 => Some(pyo3::intern!(py, "0")),
                    1 => Some(pyo3::intern!(py, "1")),
                    _ => None,
                };
                if let Some(key) = common {
                    return d.set_item(key, obj);
                }
            }
            return d.set_item(self.keep_key(py, index), obj);
        }
        let root = self.root(py);
        root.as_ref()
            .map_or(self, |r| r.get())
            .objects
            .set(py, Some(obj));
        Ok(())
    }

    /// The key of ctypes' `_objects` entry for `index` in this instance: the index as a
    /// C `int` in hex (`-1` is `"ffffffff"`), then `":"` and the index of each instance
    /// up the `_b_base_` chain.
    fn keep_key(&self, py: Python<'_>, index: isize) -> String {
        use std::fmt::Write;
        // ctypes formats the index as a C int (truncated, as its cast does).
        let mut key = format!("{:x}", index as i32 as u32);
        let mut cur_index = self.index;
        let mut base = self.base.as_ref().map(|b| b.bind(py).clone());
        while let Some(b) = base {
            let Ok(cd) = b.cast_into::<CData>() else {
                break;
            };
            let _ = write!(key, ":{:x}", cur_index as i32 as u32);
            let c = cd.get();
            cur_index = c.index;
            base = c.base.as_ref().map(|b| b.bind(py).clone());
        }
        key
    }

    /// What an instance's memory depends on, as recorded so far: the `_objects` of the
    /// object owning that memory (without making one).
    pub fn kept_objects(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        let root = self.root(py);
        root.as_ref()
            .map_or(self, |r| r.get())
            .objects
            .get(py)
            .map(Bound::unbind)
    }

    /// The memory's owner, if borrowed.
    pub fn base(&self) -> Option<&Py<PyAny>> {
        self.base.as_ref()
    }

    /// A new `bytes` object holding a copy of the memory, made by CPython without an
    /// intermediate copy: MemoryError when it cannot be allocated.
    pub fn to_bytes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        // SAFETY: ptr() is valid for size bytes (module invariant); `new_bytes` copies
        // them before it returns, and nothing runs in between that could free them.
        new_bytes(py, unsafe { memory::bytes(self.ptr(), self.size()) })
    }

    /// Whether any byte of the memory is non-zero.
    pub fn any_nonzero(&self) -> bool {
        // SAFETY: ptr() is valid for size bytes (module invariant).
        unsafe { memory::bytes(self.ptr(), self.size()) }
            .iter()
            .any(|&b| b != 0)
    }

    /// A zeroed `Vec` of `len` bytes, or MemoryError when it cannot be allocated (for a
    /// copy whose size the user's value decides).
    pub fn try_zeroed_vec(len: usize) -> PyResult<Vec<u8>> {
        let mut v = Vec::new();
        v.try_reserve_exact(len)
            .map_err(|_| pyo3::exceptions::PyMemoryError::new_err(()))?;
        v.resize(len, 0);
        Ok(v)
    }

    /// Overwrites the bytes with `data` (at most `size` bytes are copied).
    pub fn write_bytes(&self, data: &[u8]) {
        let n = data.len().min(self.size());
        // SAFETY: ptr() is valid for size >= n bytes; `data` is a separate Rust slice.
        unsafe { memory::copy_bytes(data.as_ptr(), self.ptr(), n) }
    }
}

/// The payload offset of `CData` instances, measured at start-up.
static LAYOUT: capi::objects::PayloadLayout = capi::objects::PayloadLayout::new();

impl capi::objects::Payload for CData {
    #[inline(always)]
    fn layout() -> &'static capi::objects::PayloadLayout {
        &LAYOUT
    }

    #[inline(always)]
    fn placed(&self) {
        self.settle();
    }

    const WEAK_LIST: bool = true;

    /// Releases what the instance holds, in field order, dropping each reference at once
    /// (as a `Bound`), without moving the value out of the object first. The fields not
    /// named here (the inline bytes, cells of plain values, `index`, `readonly`) own
    /// nothing.
    #[inline(always)]
    unsafe fn dispose(this: *mut CData, py: Python<'_>) {
        // SAFETY: the caller's contract: `this` is a live value used never again, so
        // each field that owns something is dropped or read out exactly once.
        unsafe {
            if (*this).owner.get() >= owner::OWNED {
                release_storage(&*this);
            }
            if let Some(b) = std::ptr::read(std::ptr::addr_of!((*this).base)) {
                drop(b.into_bound(py));
            }
            let (objects, pin) = ((*this).objects.take_last(), (*this).pin.take_last());
            if objects.is_some() || pin.is_some() {
                release_kept(py, objects, pin);
            }
            drop(std::ptr::read(std::ptr::addr_of!((*this).info)).into_bound(py));
        }
    }
}

/// Frees an instance's heap buffers (out of line: the deallocator then saves few
/// registers on its common paths, a view or inline bytes).
///
/// # Safety
/// `cd` must be an instance never used again.
#[inline(never)]
unsafe fn release_storage(cd: &CData) {
    if matches!(cd.owner.get(), owner::OWNED | owner::OWNED_SYSTEM) {
        // SAFETY: the owner says the record is there; the instance is never used again,
        // so the buffer is taken back once.
        drop(unsafe { cd.take_heap_buf() });
    }
    // SAFETY: as above: the retired buffers are read out once.
    if let Some(r) = unsafe { (*cd.resized.get()).take() } {
        drop_retired(r);
    }
}

/// Frees the buffers of a resized instance (out of line: rare).
#[cold]
#[inline(never)]
fn drop_retired(r: Box<Retired>) {
    drop(r);
}

/// Releases what an instance kept alive (out of line, as `release_storage`).
#[inline(never)]
fn release_kept(py: Python<'_>, objects: Option<Py<PyAny>>, pin: Option<Py<PyAny>>) {
    drop(objects.map(|o| o.into_bound(py)));
    drop(pin.map(|p| p.into_bound(py)));
}

/// `ferrotype._native._unpickle`, for `__reduce__`.
static UNPICKLE: pyo3::sync::PyOnceLock<Py<PyAny>> = pyo3::sync::PyOnceLock::new();

#[pymethods]
impl CData {
    #[getter]
    fn _b_base_(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.base.as_ref().map(|b| b.clone_ref(py))
    }

    #[getter]
    fn _b_needsfree_(&self) -> c_int {
        c_int::from(self.owns_memory())
    }

    #[getter]
    fn _objects(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.objects.get(py).map(Bound::unbind)
    }

    /// ctypes' hook for output parameters (`paramflags`): the instance itself (simple
    /// types return their value instead).
    fn __ctypes_from_outparam__(slf: &Bound<'_, Self>) -> Py<PyAny> {
        slf.clone().into_any().unbind()
    }

    /// Pickling, as in ctypes: the class, the instance `__dict__` and the bytes.
    /// Instances holding addresses cannot be pickled. (Beyond ctypes, unnamed array types
    /// such as `c_int * 3` pickle as the product that makes them; see `_ctypes.py`.)
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let this = slf.get();
        let info = this.info();
        if info.has_pointer {
            return Err(PyValueError::new_err(
                "ctypes objects containing pointers cannot be pickled",
            ));
        }
        let dict = match slf.getattr(pyo3::intern!(py, "__dict__")) {
            Ok(d) => d,
            Err(_) => PyDict::new(py).into_any(),
        };
        let state = (dict, this.to_bytes(py)?);
        // The module function, found once (an import per call cost as much as the rest).
        let unpickle = UNPICKLE.get_or_try_init(py, || {
            py.import("ferrotype._native")?
                .getattr("_unpickle")
                .map(Bound::unbind)
        })?;
        let cls = slf.get_type();
        (unpickle.bind(py), (cls, state))
            .into_pyobject(py)
            .map(|t| t.into_any())
    }

    /// Restores pickled state: the bytes (at most the instance's size) and `__dict__`.
    fn __setstate__(
        slf: &Bound<'_, Self>,
        dict: &Bound<'_, PyAny>,
        data: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let py = slf.py();
        let data = data.cast::<PyBytes>().map_err(|_| {
            PyTypeError::new_err(format!(
                "__setstate__() argument 2 must be bytes, not {}",
                data.get_type()
                    .name()
                    .map(|n| n.to_string())
                    .unwrap_or_default()
            ))
        })?;
        let dict = dict
            .cast::<PyDict>()
            .map_err(|_| PyTypeError::new_err("__setstate__() argument 1 must be dict"))?;
        slf.get().check_writable()?;
        slf.get().write_bytes(data.as_bytes());
        let mine = slf.getattr(pyo3::intern!(py, "__dict__"))?;
        let mine = mine.cast::<PyDict>().map_err(|_| {
            PyTypeError::new_err(format!(
                "{}.__dict__ must be a dictionary, not {}",
                type_name(slf.as_any()),
                type_name(&mine)
            ))
        })?;
        mine.update(dict.as_mapping())
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        if let Some(b) = &self.base {
            visit.call(b)?;
        }
        self.objects.traverse(&visit)?;
        self.pin.traverse(&visit)?;
        visit.call(&self.info)?;
        Ok(())
    }

    /// The buffer protocol: the instance's bytes, with ctypes' format and shape.
    unsafe fn __getbuffer__(
        slf: Bound<'_, Self>,
        view: *mut RawBuffer,
        flags: c_int,
    ) -> PyResult<()> {
        let this = slf.get();
        let info = this.info();
        let export = capi::buffer::Export {
            buf: this.ptr(),
            len: this.size(),
            readonly: this.readonly,
            itemsize: info.itemsize(),
            format: info.format_cstr(),
            shape: &info.shape,
        };
        // SAFETY: `view` is the view CPython passed with `flags`; the memory, format and
        // shape stay valid while the instance lives (its memory invariant, and the
        // StgInfo it keeps alive through `info`), which the view keeps alive.
        unsafe { capi::buffer::fill_view(view, slf.as_any(), &export, flags) }
    }

    unsafe fn __releasebuffer__(&self, _view: *mut RawBuffer) {}
}

/// A new instance of `cls` of kind `kind` (one of the five data kinds), for its
/// `tp_new`: zero-filled memory of the class's size, written straight into the new
/// object (only the fields that do not start empty: see [`CData::place_inline`] and
/// [`CData::place_owned`]). A class without type information of that kind (an abstract
/// base, a pointer class without `_type_`) raises ctypes' `TypeError`.
///
/// # Safety
/// `cls` must derive from a native data class (one of the five `lib.rs` installs for
/// `CData`).
#[inline(always)]
pub unsafe fn new_instance<'py>(
    cls: &Bound<'py, PyType>,
    kind: Kind,
) -> PyResult<Bound<'py, PyAny>> {
    let info = type_info_for_new(cls, kind)?;
    let i = info.get();
    let (size, align) = (i.size, i.align);
    i.seal();
    let info = info.unbind();
    if CData::fits_inline(size, align) {
        // SAFETY: the caller's contract: the class's instances hold a `CData`, whose
        // zeroed payload memory `place_inline` is given, for a type that fits inline.
        return unsafe {
            capi::objects::alloc_with(cls, |this: *mut CData| {
                CData::place_inline(this, info, size);
            })
        };
    }
    // The buffer as its parts, which the closure copies: taken back below if the
    // object cannot be made, owned by the object otherwise.
    let raw = OwnedBuf::try_new(size, align).py()?.into_raw();
    // SAFETY: as above, `place_owned` given the zeroed payload memory, and the parts of
    // a buffer nothing else owns.
    let made = unsafe {
        capi::objects::alloc_with(cls, |this: *mut CData| {
            CData::place_owned(this, info, raw, size)
        })
    };
    if made.is_err() {
        // SAFETY: the object was not made, so `place_owned` never ran: the parts are
        // still the only record of the buffer, taken back once.
        drop(unsafe { OwnedBuf::from_raw(raw) });
    }
    made
}

/// The type information of `cls` for a new instance of kind `kind`, or ctypes' error
/// for a class without it (see [`new_instance`]).
#[inline(always)]
fn type_info_for_new<'py>(cls: &Bound<'py, PyType>, kind: Kind) -> PyResult<Bound<'py, StgInfo>> {
    crate::model::stginfo::info_of(cls.as_any())
        .filter(|i| {
            i.get().kind() == kind && (kind != Kind::Pointer || i.get().has_target(cls.py()))
        })
        .ok_or_else(|| {
            PyTypeError::new_err(if kind == Kind::Pointer {
                "Cannot create instance: has no _type_"
            } else {
                "abstract class"
            })
        })
}

/// Whether `obj`, an instance of the ferrotype class `cls` that the caller holds the
/// only reference to, can be given new bytes instead of making a new instance: nobody
/// else can reach it (see `capi::private::sole_plain_instance`: reference count 1, no
/// weak reference, no instance attributes, still of class `cls`), and its memory is
/// inline (its own, at most 16 bytes). Giving it new contents is then
/// indistinguishable from a new instance. (Callbacks use this for their pointer
/// arguments.)
pub fn reusable(obj: &Bound<'_, PyAny>, cls: &Bound<'_, PyType>) -> bool {
    if !capi::private::sole_plain_instance(obj, cls) {
        return false;
    }
    // SAFETY: `obj` is exactly of class `cls`, a ferrotype class (the caller's
    // guarantee), so it is a `CData`.
    let c = unsafe { obj.cast_unchecked::<CData>() }.get();
    c.is_inline() && c.base.is_none()
}

/// Gives an instance that is [`reusable`] the `n` bytes at `src` (its size) and
/// forgets what it kept alive.
///
/// # Safety
/// `src` must be valid for reads of `n` bytes, `n` at most the instance's size.
#[inline(always)]
pub unsafe fn refill(py: Python<'_>, cd: &CData, src: *const u8, n: usize) {
    if n == 8 {
        // The common case (a pointer, a `double`, a 64-bit integer) as one move instead
        // of a `memcpy` call.
        // SAFETY: as below, for 8 bytes, read and written without alignment.
        unsafe {
            cd.ptr()
                .cast::<u64>()
                .write_unaligned(src.cast::<u64>().read_unaligned())
        };
    } else {
        // SAFETY: the caller guarantees the source; the instance owns `size` >= n bytes.
        unsafe { memory::copy_bytes(src, cd.ptr(), n) };
    }
    cd.objects.set(py, None);
    cd.pin.set(py, None);
}

/// The `CData` of an instance, if it is a ferrotype instance.
#[inline(always)]
pub fn as_cdata<'a, 'py>(obj: &'a Bound<'py, PyAny>) -> Option<&'a Bound<'py, CData>> {
    if capi::objects::is_instance_of_native::<CData>(obj) {
        // SAFETY: an instance of `CData` or of a subclass (just checked).
        Some(unsafe { obj.cast_unchecked::<CData>() })
    } else {
        None
    }
}
