//! Making and freeing instances of the data classes through raw type slots.
//!
//! PyO3 makes an instance of a `#[pyclass]` in three steps: it parses the constructor's
//! arguments into a tuple and a dict, calls `object.__new__` (which also sets up an
//! instance dict eagerly), then moves the Rust value in. It frees an instance through a
//! generic trampoline. Half of the cost of `Point()` or `c_int(5)` went there.
//!
//! The five data kinds (simple, array, pointer, structure, union) keep all their state in
//! one Rust value, the payload (`CData`), which lies right after the object header. For
//! them [`install`] puts in `tp_new` and `tp_dealloc` slots that do the same work
//! directly: `tp_alloc`, then the payload written in place; the payload read back out
//! and released, then `tp_free`.
//!
//! A class's own `tp_new` is copied from its base when the class is made, so the Python
//! classes built on these natives get the new slot. `tp_dealloc` is found on the base at
//! each deallocation. `tp_init` is not inherited that way: [`adopt`] gives each new class
//! the raw `tp_init` of its kind, which runs the same body as the native `__init__`.
//!
//! The kinds are named by the layers above through [`DataClass`]; this module knows
//! none of them. The layout assumptions are checked by [`measure`] at module start-up
//! (see the soundness page in `capi/mod.rs`).

use std::ffi::c_int;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

use pyo3::exceptions::{PyRuntimeError, PyTypeError};
use pyo3::prelude::*;
use pyo3::pyclass::boolean_struct::True;
use pyo3::types::{PyDict, PyString, PyTuple, PyType};
use pyo3::{ffi, Borrowed, PyClass};

use super::slots::run_slot;

/// The Rust value every instance of the data classes holds after its object header.
pub trait Payload: PyClass + Send + Sync + Sized + 'static {
    /// Releases what the value at `this` holds, in place. Called from the raw
    /// deallocation slot, where PyO3 may not count the thread as attached: references
    /// must be dropped as `Bound`s (released at once), not as `Py`s (which PyO3 would
    /// defer to its pool).
    ///
    /// # Safety
    /// `this` must point to a live, initialised value that is never used (nor dropped)
    /// again.
    unsafe fn dispose(this: *mut Self, py: Python<'_>);
    /// Where [`measure`] records the payload's offset in an instance (a `static` of
    /// the payload type's own).
    fn layout() -> &'static PayloadLayout;
    /// Called once the value is in its object, where it stays (by [`alloc`], and after
    /// the `tp_new` that [`settle_after_new`] wraps): a value that points into itself
    /// is made to point to where it now lies.
    fn placed(&self);
    /// Whether the instances have a weak-reference list right after the payload (the
    /// data classes, [`install`]), which the deallocator clears.
    const WEAK_LIST: bool;
}

/// The measured offset of a payload type in an instance: 0 until [`measure`] found it
/// (a payload never starts at 0, the object header is there).
pub struct PayloadLayout(AtomicUsize);

impl PayloadLayout {
    /// A record with nothing measured yet.
    #[allow(clippy::new_without_default)]
    pub const fn new() -> PayloadLayout {
        PayloadLayout(AtomicUsize::new(0))
    }
}

/// A native data class whose instances are made by this module's slots.
pub trait DataClass: PyClass + 'static {
    /// The instance's payload type.
    type Data: Payload;
    /// A new instance of `cls` (a subclass of this class) holding the payload of a new
    /// value, without `__init__` (the body of `tp_new`); made with [`alloc`] or
    /// [`alloc_with`].
    ///
    /// # Safety
    /// `cls` must be a subtype of this class, which [`install`] installed (what
    /// [`alloc`] requires of it).
    unsafe fn new_instance<'py>(cls: &Bound<'py, PyType>) -> PyResult<Bound<'py, PyAny>>;
    /// The body of `__init__`, shared with the class's PyO3 `__init__` method. With no
    /// arguments and no keywords it must do nothing (the raw slot skips it then).
    fn init(
        data: &Bound<'_, Self::Data>,
        args: &Bound<'_, PyTuple>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<()>;
    /// The record of the raw slots [`install`] put on the class (a `static` of its own).
    fn slots() -> &'static ClassSlots;
    /// The body of `__init__` for positional arguments only (at least one), as the
    /// interpreter passes them to a vectorcall: must do what [`DataClass::init`] does
    /// with these arguments as a tuple and no keywords (its default builds the tuple).
    fn init_args(data: &Bound<'_, Self::Data>, args: &[Bound<'_, PyAny>]) -> PyResult<()> {
        let args = PyTuple::new(data.py(), args)?;
        Self::init(data, &args, None)
    }
}

/// The payload's offset, if the layout was measured for payload type `D`.
#[inline(always)]
fn offset_of<D: Payload>() -> Option<usize> {
    match D::layout().0.load(Ordering::Relaxed) {
        0 => None,
        offset => Some(offset),
    }
}

/// Where a payload of type `D` lies in an instance: right after the object header, at
/// the payload's alignment. [`measure`] accepts a layout only if the payload is there,
/// so the slots, installed only after it did, use this constant.
const fn payload_offset<D>() -> usize {
    let (header, align) = (size_of::<ffi::PyObject>(), align_of::<D>());
    header.div_ceil(align) * align
}

/// Where the weak-reference list of an instance of a data class lies: right after the
/// payload, in the word [`install`] adds to the native classes.
const fn weaklist_offset<D>() -> usize {
    payload_offset::<D>() + size_of::<D>()
}

/// Measures where the payload lies in `probe` (an instance PyO3 made of one of
/// `natives`, holding `payload`) and checks that every class in `natives`, and the
/// payload's own class, is a collected type laid out as a `PyObject` header followed by
/// the payload and nothing else. Returns false, and installs nothing, if any of that
/// does not hold.
pub fn measure<D: Payload>(
    probe: &Bound<'_, PyAny>,
    payload: &D,
    natives: &[Bound<'_, PyType>],
) -> bool {
    let object = probe.as_ptr() as usize;
    let data = std::ptr::from_ref(payload) as usize;
    let Some(offset) = data.checked_sub(object) else {
        return false;
    };
    let base = D::type_object(probe.py());
    // SAFETY: reading the size fields of live, initialised type objects.
    let sizes_match = unsafe {
        let size = (*base.as_type_ptr()).tp_basicsize;
        (*base.as_type_ptr()).tp_itemsize == 0
            && usize::try_from(size).ok() == Some(offset + size_of::<D>())
            && natives.iter().all(|t| {
                let tp = t.as_type_ptr();
                (*tp).tp_basicsize == size && (*tp).tp_itemsize == 0
            })
    };
    let fits = offset == payload_offset::<D>();
    // The deallocation slot untracks the object from the collector first: every class
    // must be a collected (GC) type.
    // SAFETY: reading the flags of live, initialised type objects.
    let collected = unsafe {
        std::iter::once(&base)
            .chain(natives)
            .all(|t| (*t.as_type_ptr()).tp_flags & ffi::Py_TPFLAGS_HAVE_GC != 0)
    };
    sizes_match
        && fits
        && collected
        && D::layout()
            .0
            .compare_exchange(0, offset, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
}

/// The raw `tp_new` and `tp_init` of a native data class, as the addresses [`install`]
/// stored in the type objects (the address of a generic function can differ between
/// the places it is named, so the slots are recognised by the values stored, taken
/// once).
pub struct ClassSlots {
    new: AtomicUsize,
    init: AtomicUsize,
}

impl ClassSlots {
    /// A record with no slot installed yet.
    #[allow(clippy::new_without_default)]
    pub const fn new() -> ClassSlots {
        ClassSlots {
            new: AtomicUsize::new(0),
            init: AtomicUsize::new(0),
        }
    }
}

/// The raw slots of one native data class, for [`adopt`].
struct RawSlots {
    /// PyO3's `tp_init` of the class (as an address).
    pyo3_init: usize,
    /// The raw `tp_init` that does the same work.
    init: ffi::initproc,
    /// The class call (`tp_vectorcall` of the classes made from it).
    call: ffi::vectorcallfunc,
}

/// The raw slots of each native data class.
static INITS: Mutex<Vec<RawSlots>> = Mutex::new(Vec::new());

/// Puts the raw `tp_new` and `tp_dealloc` slots on the native class of `K`, and records
/// its raw `tp_init` for [`adopt`]. Called at module initialisation, after [`measure`],
/// before any Python class derives from the native class.
pub fn install<K: DataClass>(py: Python<'_>) -> PyResult<()> {
    if offset_of::<K::Data>().is_none() {
        return Err(PyRuntimeError::new_err(
            "ferrotype: instance slots installed before the layout was measured",
        ));
    }
    if SUBTYPE_DEALLOC.load(Ordering::Relaxed) == 0 {
        // A class made by a `class` statement has `subtype_dealloc`.
        let probe = py.get_type::<PyType>().call1((
            "_ferrotype_probe",
            PyTuple::empty(py),
            PyDict::new(py),
        ))?;
        // SAFETY: reading a slot of the live type object just made.
        let dealloc = unsafe { (*probe.cast::<PyType>()?.as_type_ptr()).tp_dealloc };
        SUBTYPE_DEALLOC.store(dealloc.map_or(0, |f| f as usize), Ordering::Relaxed);
    }
    let tp = K::type_object(py).as_type_ptr();
    let (new, init): (ffi::newfunc, ffi::initproc) = (new_slot::<K>, init_slot::<K>);
    // The native class becomes a class without the collector's header, as ctypes' own
    // are (see `dealloc_slot`): its subclasses are still collected (every class made by
    // a `class` statement is), and `tp_free` is `PyObject_Free`, from which CPython
    // gives them `PyObject_GC_Del`.
    // SAFETY: a live, initialised heap type of this module that no class derives from
    // yet and that has no instance; PyType_Modified drops anything cached about it.
    //
    // The instances also get a weak-reference list, after the payload (which `measure`
    // found to end the instance): a class made by a `class` statement on a base without
    // one adds its own, and then `subtype_dealloc` calls `PyObject_ClearWeakRefs` on every
    // instance it frees; with the list in the base it is left to `dealloc_slot`, which
    // calls it only when the list is not empty (a few instructions instead of thirty).
    let weaklist = weaklist_offset::<K::Data>();
    // SAFETY: as above; reading the size fields of the live type object.
    let laid_out = unsafe {
        usize::try_from((*tp).tp_basicsize).ok() == Some(weaklist)
            && (*tp).tp_weaklistoffset == 0
            && (*tp).tp_itemsize == 0
    };
    if !laid_out {
        return Err(PyRuntimeError::new_err(
            "ferrotype: a native class laid out differently from what was measured",
        ));
    }
    let word = size_of::<*mut ffi::PyObject>();
    // SAFETY: as above. The larger size takes effect for every instance allocated from
    // now on (there are none yet), and the word is zero in each (`tp_alloc` zeroes the
    // memory), an empty list.
    let pyo3_init = unsafe {
        let pyo3_init = (*tp).tp_init.map_or(0, |f| f as usize);
        (*tp).tp_new = Some(new);
        (*tp).tp_dealloc = Some(dealloc_slot::<K::Data>);
        (*tp).tp_flags &= !ffi::Py_TPFLAGS_HAVE_GC;
        (*tp).tp_free = Some(ffi::PyObject_Free);
        (*tp).tp_weaklistoffset = weaklist as ffi::Py_ssize_t;
        (*tp).tp_basicsize = (weaklist + word) as ffi::Py_ssize_t;
        ffi::PyType_Modified(tp);
        pyo3_init
    };
    add_weakref_member(&K::type_object(py), weaklist)?;
    K::slots().new.store(new as usize, Ordering::Relaxed);
    K::slots().init.store(init as usize, Ordering::Relaxed);
    if let Ok(mut inits) = INITS.lock() {
        inits.push(RawSlots {
            pyo3_init,
            init,
            call: class_call::<K>,
        });
    }
    Ok(())
}

/// A payload whose references the collector follows, through the raw `tp_traverse`
/// [`install_final`] installs for it.
pub trait Traversed: Payload {
    /// Calls `visit` with each object the value holds a reference to.
    fn each_reference(&self, visit: impl FnMut(&Py<PyAny>));
}

/// The raw `tp_traverse` of a class whose instances hold a `D`.
///
/// # Safety
/// Called by the collector with the GIL held, on a live instance of a class given this
/// slot by [`install_final`] (so holding a `D` at the measured offset, written before
/// anything could reach the object).
unsafe extern "C" fn traverse_slot<D: Traversed>(
    obj: *mut ffi::PyObject,
    visit: ffi::visitproc,
    arg: *mut std::ffi::c_void,
) -> c_int {
    // SAFETY: the contract: a live instance holding an initialised `D` there; the
    // references it holds are live objects, which `visit` may inspect.
    unsafe {
        let data = &*obj.cast::<u8>().add(payload_offset::<D>()).cast::<D>();
        let mut result = 0;
        data.each_reference(|p| {
            if result == 0 {
                result = visit(p.as_ptr(), arg);
            }
        });
        result
    }
}

/// Puts the raw `tp_dealloc` slot on `D`'s own PyO3 class (final: no class derives from
/// it), so that PyO3's generic deallocation is skipped for its instances, which
/// [`alloc`] may then make (those PyO3 makes, such as a `#[pyfunction]`'s result, are
/// freed by the same slot). With `traverse` (a payload the collector follows, whose
/// class PyO3 made collected) the class keeps the collector's header and gets the raw
/// `tp_traverse` too; without, it loses the header, for a payload whose class's
/// traversal visited nothing (the collector could not follow its references anyway).
/// Called at module initialisation, after [`measure`], before any instance exists.
pub fn install_final<D: Payload>(
    py: Python<'_>,
    traverse: Option<ffi::traverseproc>,
) -> PyResult<()> {
    let tp = D::type_object(py).as_type_ptr();
    // SAFETY: reading the fields of a live, initialised type object.
    let final_class = unsafe {
        (*tp).tp_flags & ffi::Py_TPFLAGS_BASETYPE == 0
            && (*tp).tp_flags & ffi::Py_TPFLAGS_HAVE_GC != 0
            && (*tp).tp_weaklistoffset == 0
            && (*tp).tp_dictoffset == 0
    };
    if offset_of::<D>().is_none() || D::WEAK_LIST || !final_class {
        return Err(PyRuntimeError::new_err(
            "ferrotype: a final class's slots installed before its layout was measured",
        ));
    }
    // Without the collector's header, as for the natives (`install`): `tp_alloc` then
    // allocates none, and `tp_free` matches it.
    // SAFETY: a live, initialised heap type of this module with no instance and no
    // subclass (it cannot have one); PyType_Modified drops anything cached about it.
    unsafe {
        (*tp).tp_dealloc = Some(dealloc_slot::<D>);
        match traverse {
            Some(t) => (*tp).tp_traverse = Some(t),
            None => {
                (*tp).tp_flags &= !ffi::Py_TPFLAGS_HAVE_GC;
                (*tp).tp_traverse = None;
                (*tp).tp_clear = None;
                (*tp).tp_free = Some(ffi::PyObject_Free);
            }
        }
        ffi::PyType_Modified(tp);
    }
    Ok(())
}

/// [`install_final`] for a payload the collector follows.
pub fn install_final_traversed<D: Traversed>(py: Python<'_>) -> PyResult<()> {
    install_final::<D>(py, Some(traverse_slot::<D>))
}

/// The `__weakref__` attribute of the instances of `cls`, whose weak-reference list is at
/// `offset`: the first weak reference, or None (what a class statement's descriptor of
/// the same name gives).
fn add_weakref_member(cls: &Bound<'_, PyType>, offset: usize) -> PyResult<()> {
    let py = cls.py();
    let def = Box::leak(Box::new(ffi::PyMemberDef {
        name: c"__weakref__".as_ptr(),
        // `T_OBJECT`: the object, or None when the slot is NULL (`Py_T_OBJECT_EX` would
        // raise AttributeError instead).
        type_code: 6,
        offset: offset as ffi::Py_ssize_t,
        flags: ffi::Py_READONLY,
        doc: c"list of weak references to the object".as_ptr(),
    }));
    // SAFETY: `def` lives for the rest of the process, as a member descriptor requires;
    // `offset` is that of a pointer-sized slot in every instance of `cls` (`install`);
    // PyDescr_NewMember returns a new reference or NULL with an exception set.
    let descr = unsafe {
        Bound::from_owned_ptr_or_err(py, ffi::PyDescr_NewMember(cls.as_type_ptr(), def))?
    };
    type_setattr(cls, pyo3::intern!(py, "__weakref__"), &descr)
}

/// The error of a native data class's PyO3 constructor. The classes declare one only so
/// that CPython gives them a `__new__` method (`T.__new__(T)`, as pickling calls it),
/// which calls the class's `tp_new` slot: [`install`] replaces that slot at start-up,
/// before any instance exists, so the constructor never runs.
pub fn replaced_constructor<K: DataClass>(py: Python<'_>) -> PyErr {
    let name = K::type_object(py)
        .name()
        .map(|n| n.to_string())
        .unwrap_or_default();
    PyRuntimeError::new_err(format!(
        "ferrotype: the raw constructor of {name} is not installed"
    ))
}

/// Gives a new data class the raw `tp_init` of its kind, if its `tp_init` is still
/// PyO3's, and the class call [`class_call`] as its `tp_vectorcall`. A class's `tp_init`
/// comes from the `__init__` it inherits, and CPython takes the function wrapped by the
/// native class's `__init__` descriptor, PyO3's, so each class is switched when it is
/// made. A class (or a base) that defines `__init__` in Python keeps its own (and no
/// class call); calls through `__init__` itself reach PyO3's, which shares the raw
/// slot's body.
pub fn adopt(cls: &Bound<'_, PyType>) {
    let Ok(inits) = INITS.lock() else {
        return;
    };
    let tp = cls.as_type_ptr();
    // `tp_vectorcall` of a type is read only when its metaclass has
    // `Py_TPFLAGS_HAVE_VECTORCALL`, and `class_call` checks at each call that it may
    // stand for `type.__call__`.
    // SAFETY: `cls` is a live heap type being initialised; PyType_Modified drops any
    // cached lookups.
    unsafe {
        let Some(current) = (*tp).tp_init else {
            return;
        };
        if let Some(raw) = inits.iter().find(|r| r.pyo3_init == current as usize) {
            (*tp).tp_init = Some(raw.init);
            (*tp).tp_vectorcall = Some(raw.call);
            ffi::PyType_Modified(tp);
        }
    }
}

/// Makes an instance of `cls` holding `data`, without `__init__`.
///
/// # Safety
/// `cls` must be a subtype of a native class installed with [`install`] for payload
/// type `D`.
#[inline(always)]
pub unsafe fn alloc<'py, D: Payload>(
    cls: &Bound<'py, PyType>,
    data: D,
) -> PyResult<Bound<'py, PyAny>> {
    // SAFETY: the caller's contract; writing a whole value makes it valid whatever the
    // memory held, and it is read (shared) only after that write.
    unsafe {
        alloc_with(cls, |this: *mut D| {
            this.write(data);
            (*this).placed();
        })
    }
}

/// The `tp_new` PyO3 gave the class [`settle_after_new`] wrapped (as an address; 0
/// until then).
static PYO3_NEW: AtomicUsize = AtomicUsize::new(0);

/// Wraps the `tp_new` of `K`, a PyO3 class whose instances PyO3 makes around a payload
/// of type `D` (its base class's value, built in Rust and moved in), so that
/// [`Payload::placed`] runs on each new instance's payload before anyone sees it. One
/// class only (the function pointer class); called once at module start-up, before any
/// class derives from `K` (its subclasses inherit the slot).
pub fn settle_after_new<K: PyClass, D: Payload + PyClass<Frozen = True>>(
    py: Python<'_>,
) -> PyResult<()> {
    let tp = K::type_object(py).as_type_ptr();
    // SAFETY: reading a slot of a live, initialised type object.
    let current = unsafe { (*tp).tp_new }.map_or(0, |f| f as usize);
    if current == 0 || PYO3_NEW.swap(current, Ordering::Relaxed) != 0 {
        return Err(PyRuntimeError::new_err(
            "ferrotype: a constructor wrapped twice, or none to wrap",
        ));
    }
    let new: ffi::newfunc = placed_new::<D>;
    // SAFETY: a live heap type of this module that no class derives from yet;
    // PyType_Modified drops anything cached about it.
    unsafe {
        (*tp).tp_new = Some(new);
        ffi::PyType_Modified(tp);
    }
    Ok(())
}

/// The `tp_new` [`settle_after_new`] installs: PyO3's, then [`Payload::placed`] on the
/// new instance's payload of type `D`.
unsafe extern "C" fn placed_new<D: Payload + PyClass<Frozen = True>>(
    subtype: *mut ffi::PyTypeObject,
    args: *mut ffi::PyObject,
    kwds: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    let saved = PYO3_NEW.load(Ordering::Relaxed);
    // SAFETY: `saved` is the address of PyO3's `tp_new` of the class this slot replaced
    // (recorded before the slot was installed, never 0 then), a `newfunc`; the
    // interpreter's arguments are passed on as they came.
    let obj = unsafe {
        let pyo3_new: ffi::newfunc = std::mem::transmute::<usize, ffi::newfunc>(saved);
        pyo3_new(subtype, args, kwds)
    };
    if obj.is_null() {
        return obj;
    }
    // SAFETY: the interpreter calls tp_new with the GIL held.
    let py = unsafe { Python::assume_attached() };
    // SAFETY: `obj` is a live object, borrowed for these lines.
    let made = unsafe { Bound::ref_from_ptr(py, &obj) };
    // PyO3 made an instance of a subclass of the wrapped class, whose instances hold a
    // `D` (checked all the same: a cast, not an assumption).
    if let Ok(payload) = made.cast::<D>() {
        payload.get().placed();
        return obj;
    }
    PyRuntimeError::new_err("ferrotype: a constructor made an instance of another class")
        .restore(py);
    // SAFETY: `obj` is the new reference PyO3's tp_new returned, released once.
    unsafe { ffi::Py_DECREF(obj) };
    std::ptr::null_mut()
}

/// Makes an instance of `cls` whose payload `place` writes in place, without
/// `__init__`: `place` is given the payload's address in the new object, whose memory
/// holds zero bytes (`tp_alloc` zeroes it), and must leave a valid `D` there. It runs
/// before anything else can see the object; if it panics, the object is leaked, never
/// freed with a half-written payload.
///
/// # Safety
/// `cls` must be a subtype of a native class installed with [`install`] for payload
/// type `D`; `place`, given zeroed memory for a `D`, must leave a valid `D` in it.
#[inline(always)]
pub unsafe fn alloc_with<'py, D: Payload>(
    cls: &Bound<'py, PyType>,
    place: impl FnOnce(*mut D),
) -> PyResult<Bound<'py, PyAny>> {
    let py = cls.py();
    // The caller's contract: the class has the slots, installed after `measure`.
    let offset = payload_offset::<D>();
    let tp = cls.as_type_ptr();
    // (Like ctypes, and unlike `object.__new__`, this does not refuse classes with
    // abstract methods.) Zeroing is part of `tp_alloc`'s contract.
    // SAFETY: `tp` is a live type object; `tp_alloc` returns zeroed memory of the
    // class's size, or NULL with an exception set.
    let obj = unsafe { (*tp).tp_alloc.unwrap_or(ffi::PyType_GenericAlloc)(tp, 0) };
    if obj.is_null() {
        return Err(PyErr::fetch(py));
    }
    // The object is an instance of a subtype of an installed class (the caller's
    // guarantee), so its payload lies at `offset` (checked by `measure`), in zeroed
    // memory nothing has initialised yet. No Python code runs between the allocation
    // and `place` (which runs none either), so the collector cannot see the payload
    // before it is valid; the object becomes a `Bound` (whose drop could free it)
    // only after.
    // SAFETY: as just said; `obj` is a new reference.
    unsafe {
        place(obj.cast::<u8>().add(offset).cast::<D>());
        Ok(Bound::from_owned_ptr(py, obj))
    }
}

/// Whether `base` (a type's address) is the direct base of `cls` (its `tp_base`): the
/// quick form of [`is_subtype`] for a class made from a native class. False says
/// nothing (the MRO may still have it).
#[inline(always)]
pub fn derives_directly(cls: &Bound<'_, PyType>, base: usize) -> bool {
    // SAFETY: reading a field of a live type object.
    unsafe { (*cls.as_type_ptr()).tp_base as usize == base }
}

/// [`derives_directly`] of the class of `obj`.
#[inline(always)]
pub fn type_of_derives_directly(obj: &Bound<'_, PyAny>, base: usize) -> bool {
    // SAFETY: the type of a live object is a live type object; reading one of its fields.
    unsafe { (*ffi::Py_TYPE(obj.as_ptr())).tp_base as usize == base }
}

/// Whether `obj` is an instance of the native class `T` or of a subclass of it, as
/// PyO3's cast decides (`PyObject_TypeCheck`), looking first along the first links of
/// the `tp_base` chain of its type, where a class made from `T` has it; the MRO decides
/// otherwise.
#[inline(always)]
pub fn is_instance_of_native<T: pyo3::PyTypeInfo>(obj: &Bound<'_, PyAny>) -> bool {
    let base = T::type_object_raw(obj.py());
    // SAFETY: `tp_base` links of live type objects are live types (a class holds its
    // base) or null; the type of a live object is a live type object.
    unsafe {
        let tp = ffi::Py_TYPE(obj.as_ptr());
        let mut t = tp;
        for _ in 0..4 {
            if t == base {
                return true;
            }
            if t.is_null() {
                break;
            }
            t = (*t).tp_base;
        }
        ffi::PyType_IsSubtype(tp, base) != 0
    }
}

/// Whether `cls` is `base` or a subclass of it, by the MRO (the metaclass's
/// `__subclasscheck__` is not consulted, as for `tp_new` itself).
#[inline]
pub fn is_subtype(cls: &Bound<'_, PyType>, base: &Bound<'_, PyType>) -> bool {
    let (mut t, b) = (cls.as_type_ptr(), base.as_type_ptr());
    // The usual case first: `base` on the first few links of the `tp_base` chain (a
    // class made from a native class, or from one made from it), which is part of the
    // MRO; otherwise the MRO decides.
    // SAFETY: `tp_base` links of live type objects are live types (a class holds its
    // base) or null; both are live type objects for PyType_IsSubtype.
    unsafe {
        for _ in 0..3 {
            if t == b {
                return true;
            }
            if t.is_null() {
                break;
            }
            t = (*t).tp_base;
        }
        ffi::PyType_IsSubtype(cls.as_type_ptr(), b) != 0
    }
}

/// Calls the `tp_new` of `native` for `cls` with no arguments, as `type.__call__` would
/// before `__init__`: a new instance, made by the native class's own constructor.
pub fn call_native_new<'py>(
    native: &Bound<'py, PyType>,
    cls: &Bound<'py, PyType>,
) -> PyResult<Bound<'py, PyAny>> {
    let py = cls.py();
    if !is_subtype(cls, native) {
        return Err(PyTypeError::new_err(format!(
            "{} is not a {} type",
            cls.name()?,
            native.name()?
        )));
    }
    let args = PyTuple::empty(py);
    // SAFETY: the native type object is a valid, initialised type; reading its slot.
    let tp_new = unsafe { (*native.as_type_ptr()).tp_new }
        .ok_or_else(|| PyTypeError::new_err("type has no __new__"))?;
    // SAFETY: calling the native tp_new with a subtype of it (checked above), an empty
    // args tuple and no kwargs; it returns a new reference or NULL with an exception.
    let raw = unsafe { tp_new(cls.as_type_ptr(), args.as_ptr(), std::ptr::null_mut()) };
    // SAFETY: `raw` is a new reference or NULL with an exception set.
    unsafe { Bound::from_owned_ptr_or_err(py, raw) }
}

/// The `tp_new` slot of data class `K`: [`DataClass::construct`], then [`alloc`]. The
/// arguments are for `__init__`.
unsafe extern "C" fn new_slot<K: DataClass>(
    subtype: *mut ffi::PyTypeObject,
    _args: *mut ffi::PyObject,
    _kwds: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: the interpreter calls tp_new with the GIL held. (PyO3 does not count the
    // thread as attached here: nothing below drops a `Py`, which PyO3 would then release
    // only later.)
    let py = unsafe { Python::assume_attached() };
    run_slot(
        py,
        "ferrotype: a Rust panic while making an instance",
        || {
            let subtype = subtype.cast::<ffi::PyObject>();
            // SAFETY: `subtype` is the live class being instantiated, borrowed for the call.
            let cls = unsafe { Bound::ref_from_ptr(py, &subtype) };
            // SAFETY: as above, a type object.
            let cls = unsafe { cls.cast_unchecked::<PyType>() };
            // SAFETY: CPython calls a class's tp_new for that class, and this slot is only
            // installed on (and inherited from) the native class of `K`, installed for
            // `K::Data` (`object.__new__`-style calls check the subtype relation).
            unsafe { K::new_instance(cls) }.map(Bound::unbind)
        },
    )
}

/// CPython's `subtype_dealloc` (the `tp_dealloc` of every class made by a `class`
/// statement), read by [`install`] from a class it makes.
static SUBTYPE_DEALLOC: AtomicUsize = AtomicUsize::new(0);

/// The `tp_dealloc` slot of the data classes (called directly for instances of the
/// native classes, and by CPython's `subtype_dealloc` for Python subclasses, after it
/// has cleared their own dict and slots).
///
/// The payload's release may run Python code (a reference dropped to zero), during
/// which the collector must not see the object: it must be untracked. The native
/// classes have no collector header ([`install`]); `subtype_dealloc` untracks an
/// instance of a Python subclass first, and tracks it again before calling the base's
/// deallocator only when that base is a collected type, which the natives are not. So
/// the object is untracked here, except when some other deallocator of a collected
/// class called this one: then it is untracked now.
unsafe extern "C" fn dealloc_slot<D: Payload>(obj: *mut ffi::PyObject) {
    // The interpreter calls tp_dealloc with the GIL held, once, when the last reference
    // is gone. The slot is installed only after the layout was measured for `D`, and only
    // on classes whose instances hold a `D` there (written by `alloc` or by PyO3). It is
    // disposed of exactly once, in place, then the memory goes back through the class's
    // `tp_free`, and the reference every heap-type instance holds on its class is
    // released, as PyO3's own slot does.
    // SAFETY: as just said; `PyObject_GC_UnTrack` is called on collected objects only;
    // `tp_free` is set on every ready type (see below).
    unsafe {
        let tp = ffi::Py_TYPE(obj);
        if (*tp).tp_dealloc.map_or(0, |f| f as usize) != SUBTYPE_DEALLOC.load(Ordering::Relaxed)
            && (*tp).tp_flags & ffi::Py_TPFLAGS_HAVE_GC != 0
        {
            ffi::PyObject_GC_UnTrack(obj.cast());
        }
        // The weak references first (their callbacks may run), while the object is
        // untracked, as `subtype_dealloc` clears those of the lists it adds. Every class
        // given this slot for such a payload has the list at this offset (`install`).
        if D::WEAK_LIST {
            let weak = obj
                .cast::<u8>()
                .add(weaklist_offset::<D>())
                .cast::<*mut ffi::PyObject>();
            if !(*weak).is_null() {
                ffi::PyObject_ClearWeakRefs(obj);
            }
        }
        let data = obj.cast::<u8>().add(payload_offset::<D>()).cast::<D>();
        let py = Python::assume_attached();
        // A panic must not unwind into the interpreter; releasing references does not
        // panic, but a leak is the safe outcome if it ever did.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| D::dispose(data, py)));
        let tp = ffi::Py_TYPE(obj);
        // Every ready type has `tp_free` (`PyType_Ready` inherits it, from `object` at
        // the root; `install` set the natives'), so there is nothing to test.
        let free = (*tp).tp_free.unwrap_unchecked();
        free(obj.cast());
        ffi::Py_DECREF(tp.cast());
    }
}

/// The raw `tp_init` slot of data class `K`: the instance as its payload, the
/// arguments as a tuple and an optional dict, then [`DataClass::init`]; 0, or -1 with
/// the error set (a panic becomes a `PanicException`).
///
/// PyO3 does not count the thread as attached in a raw slot (counting it costs more
/// than the rest of a plain `__init__`), so a `Py` dropped here would be released only
/// later, from PyO3's pool: the bodies hold references as `Bound`, released at once.
unsafe extern "C" fn init_slot<K: DataClass>(
    slf: *mut ffi::PyObject,
    args: *mut ffi::PyObject,
    kwds: *mut ffi::PyObject,
) -> c_int {
    // `T()`: nothing to initialise (the `DataClass::init` contract).
    // SAFETY: `args` is the live argument tuple of the call.
    if kwds.is_null() && unsafe { ffi::PyTuple_GET_SIZE(args) } == 0 {
        return 0;
    }
    // SAFETY: the interpreter calls tp_init with the GIL held.
    let py = unsafe { Python::assume_attached() };
    let body = || -> PyResult<()> {
        // SAFETY: `slf` and `args` are live objects borrowed for the call.
        let (slf, args) = unsafe {
            (
                Bound::ref_from_ptr(py, &slf),
                Bound::ref_from_ptr(py, &args),
            )
        };
        let kwds = if kwds.is_null() {
            None
        } else {
            // SAFETY: `kwds` is a live object, borrowed for the call.
            Some(unsafe { Bound::ref_from_ptr(py, &kwds) })
        };
        // SAFETY: CPython calls a class's tp_init for instances of that class, and
        // `adopt` gives this slot only to classes whose `__init__` is that of the native
        // class of `K`, so to its subclasses: the instance holds a `K::Data`.
        let data = unsafe { slf.cast_unchecked::<K::Data>() };
        let args = args.cast::<PyTuple>()?;
        let kwargs = match kwds {
            Some(k) => Some(k.cast::<PyDict>()?),
            None => None,
        };
        K::init(data, args, kwargs)
    };
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)) {
        Ok(Ok(())) => 0,
        Ok(Err(e)) => {
            e.restore(py);
            -1
        }
        Err(_) => {
            pyo3::panic::PanicException::new_err("ferrotype: a Rust panic in __init__").restore(py);
            -1
        }
    }
}

/// The call of a data class (`T(...)`, its `tp_vectorcall`): what `type.__call__`
/// does, `tp_new` then `tp_init`, without the argument tuple and the generic steps in
/// between, when the class still has the raw slots of kind `K` and the metaclass
/// `type`'s call, and no keyword is given. Anything else (a `__new__` or `__init__`
/// defined in Python, a metaclass `__call__`, keywords) goes through the metaclass's
/// `tp_call` with a tuple and a dict, as the interpreter would without this slot.
///
/// # Safety
/// Called by the interpreter with the GIL held, `callable` a class whose
/// `tp_vectorcall` [`adopt`] set (a subclass of `K`'s native class), `args` holding
/// `nargs` positional and then the keyword values, borrowed.
unsafe extern "C" fn class_call<K: DataClass>(
    callable: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargsf: usize,
    kwnames: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    let tp = callable.cast::<ffi::PyTypeObject>();
    // SAFETY: `callable` is a live type object (the contract) whose metaclass is a
    // live type; `PyType_Type` is the static `type`. Only slots are read.
    let fast = unsafe {
        let nkw = if kwnames.is_null() {
            0
        } else {
            ffi::PyTuple_GET_SIZE(kwnames)
        };
        let slots = K::slots();
        nkw == 0
            && (*ffi::Py_TYPE(callable)).tp_call.map(|f| f as usize)
                == (*std::ptr::addr_of!(ffi::PyType_Type))
                    .tp_call
                    .map(|f| f as usize)
            && (*tp).tp_new.map_or(0, |f| f as usize) == slots.new.load(Ordering::Relaxed)
            && (*tp).tp_init.map_or(0, |f| f as usize) == slots.init.load(Ordering::Relaxed)
    };
    // SAFETY: the interpreter calls a vectorcall function with the GIL held.
    let py = unsafe { Python::assume_attached() };
    // SAFETY: PyVectorcall_NARGS only masks the offset flag.
    let nargs = unsafe { ffi::PyVectorcall_NARGS(nargsf) } as usize;
    if !fast {
        // SAFETY: the contract's arguments, passed on.
        return unsafe { call_as_type_call(py, callable, args, nargs, kwnames) };
    }
    run_slot(
        py,
        "ferrotype: a Rust panic while making an instance",
        || {
            // SAFETY: `callable` is the live class being called, borrowed for the call.
            let cls = unsafe { Bound::ref_from_ptr(py, &callable) };
            // SAFETY: as above, a type object.
            let cls = unsafe { cls.cast_unchecked::<PyType>() };
            // SAFETY: the class's `tp_new` is the raw slot of `K` (checked above), which is
            // only installed on (and inherited from) `K`'s native class, installed for
            // `K::Data`.
            let obj = unsafe { K::new_instance(cls) }?;
            // `type.__call__` with no arguments: `tp_init` does nothing then (the
            // `DataClass::init` contract).
            if nargs > 0 {
                // SAFETY: `args` holds `nargs` borrowed positional arguments; `Bound<PyAny>`
                // has the layout of a `*mut PyObject` (assumption 6).
                let args: &[Bound<'_, PyAny>] =
                    unsafe { std::slice::from_raw_parts(args.cast(), nargs) };
                // SAFETY: `obj` was just made by `alloc` for `K::Data`.
                let data = unsafe { obj.cast_unchecked::<K::Data>() };
                K::init_args(data, args)?;
            }
            Ok(obj.unbind())
        },
    )
}

/// `callable(*args, **kwargs)` through the `tp_call` of its metaclass, with the
/// arguments of a vectorcall made into a tuple and a dict, as the interpreter does for
/// a callable without vectorcall.
///
/// # Safety
/// As [`class_call`]'s.
#[cold]
unsafe fn call_as_type_call(
    py: Python<'_>,
    callable: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargs: usize,
    kwnames: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    let body = || -> PyResult<Py<PyAny>> {
        // SAFETY: `args` holds `nargs` positional and then one value per keyword name,
        // all borrowed; `Bound<PyAny>` has the layout of a `*mut PyObject`.
        let (positional, kwargs) = unsafe {
            let nkw = if kwnames.is_null() {
                0
            } else {
                ffi::PyTuple_GET_SIZE(kwnames) as usize
            };
            let all: &[Bound<'_, PyAny>] = std::slice::from_raw_parts(args.cast(), nargs + nkw);
            let kwargs = if nkw == 0 {
                None
            } else {
                let names = Bound::ref_from_ptr(py, &kwnames);
                let d = PyDict::new(py);
                for (i, v) in all[nargs..].iter().enumerate() {
                    d.set_item(names.cast_unchecked::<PyTuple>().get_item(i)?, v)?;
                }
                Some(d)
            };
            (PyTuple::new(py, &all[..nargs])?, kwargs)
        };
        // SAFETY: `callable` is a live object; its type's `tp_call` (a metaclass's,
        // never null for a subclass of `type`) takes a tuple and a dict or NULL and
        // returns a new reference or NULL with an exception set.
        unsafe {
            let Some(call) = (*ffi::Py_TYPE(callable)).tp_call else {
                return Err(PyTypeError::new_err("the class is not callable"));
            };
            let kw = kwargs.as_ref().map_or(std::ptr::null_mut(), |d| d.as_ptr());
            Bound::from_owned_ptr_or_err(py, call(callable, positional.as_ptr(), kw))
                .map(Bound::unbind)
        }
    };
    run_slot(py, "ferrotype: a Rust panic while making an instance", body)
}

/// The object [`set_own_info`] attached to the class `cls` itself (never inherited from
/// a base), borrowed from the class: ferrotype's type information, reachable in two
/// loads instead of an attribute lookup.
///
/// It lives in the type object's `tp_cache` field, which CPython has not used since
/// 3.0 ("no longer used" in the 3.14 header) but still manages as an owned reference
/// on heap types: `type_traverse` visits it and the type's deallocator releases it.
/// `type`'s `tp_clear` does not clear it, so the metaclasses get one that does
/// ([`hook_clear`]): the information refers back to its class (through the field
/// descriptors), and the collector must be able to break that cycle. Only classes whose
/// metaclass has that `tp_clear` get one, and CPython never copies the field into a
/// subclass (soundness assumption 10 in `capi/mod.rs`).
#[inline]
pub fn own_info<'a, 'py>(cls: &'a Bound<'py, PyType>) -> Option<Borrowed<'a, 'py, PyAny>> {
    // SAFETY: reading a field of a live type object; a non-null value is the strong
    // reference `set_own_info` stored, alive as long as the class holds it.
    unsafe {
        let cached = (*cls.as_type_ptr()).tp_cache;
        if cached.is_null() {
            None
        } else {
            Some(Borrowed::from_ptr(cls.py(), cached))
        }
    }
}

/// Attaches `value` to the class `cls` for [`own_info`], replacing (and releasing) a
/// value of the same exact type attached before. Returns false, attaching nothing,
/// when `cls` is not a heap type whose metaclass clears the field ([`hook_clear`]), or
/// its `tp_cache` holds anything else.
pub fn set_own_info(cls: &Bound<'_, PyType>, value: &Bound<'_, PyAny>) -> bool {
    let tp = cls.as_type_ptr();
    // `tp_cache` of a heap type is an owned reference that the type's deallocator
    // releases and the metaclass's `tp_clear` clears (checked here). Anything but null
    // or an object of `value`'s type (which only this function stores) is left alone.
    // SAFETY: `tp` is a live type object; storing a new strong reference and releasing
    // the old one keeps the count right.
    unsafe {
        if (*tp).tp_flags & ffi::Py_TPFLAGS_HEAPTYPE == 0
            || !clears_own_info(ffi::Py_TYPE(tp.cast()))
        {
            return false;
        }
        let old = (*tp).tp_cache;
        if !old.is_null() && ffi::Py_TYPE(old) != ffi::Py_TYPE(value.as_ptr()) {
            return false;
        }
        (*tp).tp_cache = value.clone().into_ptr();
        if !old.is_null() {
            ffi::Py_DECREF(old);
        }
    }
    true
}

/// CPython's `subtype_clear` (the `tp_clear` of every class made by a `class`
/// statement), read from the first metaclass [`hook_clear`] saw.
static SUBTYPE_CLEAR: OnceLock<usize> = OnceLock::new();

/// Whether the collector, clearing an instance of `meta` (a class), runs
/// [`clear_own_info`]: the first `tp_clear` up `meta`'s bases that is not
/// `subtype_clear` (which is where `subtype_clear` hands over) is it.
///
/// # Safety
/// `meta` must be a live type object.
unsafe fn clears_own_info(meta: *mut ffi::PyTypeObject) -> bool {
    let Some(&subtype_clear) = SUBTYPE_CLEAR.get() else {
        return false;
    };
    let mut t = meta;
    // SAFETY: walking `tp_base` links of live type objects (a base outlives its
    // subclasses).
    unsafe {
        while !t.is_null() {
            match (*t).tp_clear.map(|f| f as usize) {
                Some(f) if f == subtype_clear => t = (*t).tp_base,
                Some(f) => return f == clear_own_info as *const () as usize,
                None => return false,
            }
        }
    }
    false
}

/// Gives the metaclass `meta` (a Python subclass of `type` whose bases up to `type` are
/// all Python classes) a `tp_clear` that clears a class's own information
/// ([`own_info`]) and then does what `type`'s does. Its Python subclasses reach it
/// through `subtype_clear`. Returns false, changing nothing, for any other metaclass.
pub fn hook_clear(meta: &Bound<'_, PyType>) -> bool {
    let mt = meta.as_type_ptr();
    // `subtype_clear` of a class whose bases are Python classes up to `type` clears the
    // instance's slots and dict (which a class object does not have: no `__slots__` on a
    // subclass of `type`, and its dict offset is `type`'s) and hands over to `type`'s
    // `tp_clear`, which the new slot calls directly.
    // SAFETY: live type objects are read, and one slot of `meta` written: a heap type
    // nothing has been collected through yet at module start-up.
    unsafe {
        let base_type = std::ptr::addr_of_mut!(ffi::PyType_Type);
        let Some(own) = (*mt).tp_clear.map(|f| f as usize) else {
            return false;
        };
        if own == clear_own_info as *const () as usize {
            return true;
        }
        if (*mt).tp_flags & ffi::Py_TPFLAGS_HEAPTYPE == 0
            || (*mt).tp_dictoffset != (*base_type).tp_dictoffset
            || (*mt).tp_itemsize != (*base_type).tp_itemsize
            || (*mt).tp_basicsize != (*base_type).tp_basicsize
        {
            return false;
        }
        let subtype_clear = *SUBTYPE_CLEAR.get_or_init(|| own);
        if own != subtype_clear {
            return false;
        }
        let mut t = (*mt).tp_base;
        while !t.is_null() && t != base_type {
            if (*t).tp_clear.map(|f| f as usize) != Some(subtype_clear) {
                return false;
            }
            t = (*t).tp_base;
        }
        if t.is_null() {
            return false;
        }
        (*mt).tp_clear = Some(clear_own_info);
        ffi::PyType_Modified(mt);
    }
    true
}

/// The `tp_clear` [`hook_clear`] installs: the class's own information released, then
/// `type`'s `tp_clear`.
unsafe extern "C" fn clear_own_info(obj: *mut ffi::PyObject) -> c_int {
    // The collector calls tp_clear with the GIL held on a live object, here a class (an
    // instance of a hooked metaclass).
    // SAFETY: its `tp_cache` is null or the owned reference `set_own_info` stored; it is
    // detached before being released, as `Py_CLEAR` does.
    unsafe {
        let tp = obj.cast::<ffi::PyTypeObject>();
        let cached = std::mem::replace(&mut (*tp).tp_cache, std::ptr::null_mut());
        if !cached.is_null() {
            ffi::Py_DECREF(cached);
        }
        match (*std::ptr::addr_of!(ffi::PyType_Type)).tp_clear {
            Some(clear) => clear(obj),
            None => 0,
        }
    }
}

/// `type.__setattr__(cls, name, value)`: `type`'s own `tp_setattro`, without the
/// metaclass's (a Python `__setattr__` costs a frame per call).
pub fn type_setattr(
    cls: &Bound<'_, PyType>,
    name: &Bound<'_, PyString>,
    value: &Bound<'_, PyAny>,
) -> PyResult<()> {
    // SAFETY: `PyType_Type` is the static, initialised `type`; its slot is read only.
    let setattro = unsafe { (*std::ptr::addr_of!(ffi::PyType_Type)).tp_setattro };
    let Some(setattro) = setattro else {
        return cls.setattr(name, value);
    };
    // SAFETY: `type`'s setattro called on a type object (an instance of a subclass of
    // `type`) with a str name and a live value; 0, or -1 with an exception set.
    if unsafe { setattro(cls.as_ptr(), name.as_ptr(), value.as_ptr()) } < 0 {
        return Err(PyErr::fetch(cls.py()));
    }
    Ok(())
}

/// Makes `meta` the metaclass of the native class `cls`, so that `type(cls) is meta` and
/// `cls` is a direct subclass of `_CData`, as in ctypes (PyO3 makes every class with
/// `type` as its metaclass, and cannot be given another).
///
/// A type object's layout is that of `type`. `meta` must be a subclass of `type` that
/// adds nothing to it (a Python class without `__slots__`): the same basic and item
/// sizes, and the dict and weak-reference slots where `type` has them. Then an object
/// laid out for `type` is a valid instance of `meta`, and `meta`'s deallocator
/// (`subtype_dealloc`, which drops the reference to the heap type `meta` and then runs
/// `type`'s) fits it. Only a class whose metaclass is still `type` is changed.
pub fn set_metaclass(cls: &Bound<'_, PyType>, meta: &Bound<'_, PyType>) -> PyResult<()> {
    let tp = cls.as_type_ptr();
    let mt = meta.as_type_ptr();
    // SAFETY: both are live type objects; `PyType_Type` is the static `type`. Only
    // fields are read here.
    let compatible = unsafe {
        let base = std::ptr::addr_of_mut!(ffi::PyType_Type);
        ffi::PyType_IsSubtype(mt, base) != 0
            && (*mt).tp_flags & ffi::Py_TPFLAGS_HEAPTYPE != 0
            && (*mt).tp_basicsize == (*base).tp_basicsize
            && (*mt).tp_itemsize == (*base).tp_itemsize
            && (*mt).tp_dictoffset == (*base).tp_dictoffset
            && (*mt).tp_weaklistoffset == (*base).tp_weaklistoffset
            && ffi::Py_TYPE(tp.cast()) == base
    };
    if !compatible {
        return Err(PyTypeError::new_err(format!(
            "ferrotype: cannot make {} the metaclass of {}",
            meta.name()?,
            cls.name()?
        )));
    }
    // SAFETY: checked above that `meta` lays out its instances as `type` does and that
    // `cls` is an instance of `type` itself. The new metaclass is a heap type, which its
    // instances hold a reference to (`subtype_dealloc` drops it); `type` is static.
    unsafe {
        ffi::Py_INCREF(mt.cast());
        (*tp.cast::<ffi::PyObject>()).ob_type = mt;
        ffi::PyType_Modified(tp);
    }
    // The classes made by `meta` may hold their own information (`set_own_info`).
    hook_clear(meta);
    enable_class_calls(meta);
    Ok(())
}

/// Lets the interpreter call the classes made by the metaclass `meta` through their
/// `tp_vectorcall` ([`class_call`], set by [`adopt`]): `meta` gets
/// `Py_TPFLAGS_HAVE_VECTORCALL`, which 3.12+ already passes from `type` to a
/// metaclass without `__call__`, and 3.11 passes to no heap type. Only a metaclass
/// that reads a class's `tp_vectorcall` where `type` does and calls as `type` does is
/// changed; a class without the slot is still called through `tp_call`.
fn enable_class_calls(meta: &Bound<'_, PyType>) {
    let mt = meta.as_type_ptr();
    // Setting the flag on a type whose instances (classes) hold a vectorcall pointer
    // (or NULL) at `tp_vectorcall_offset`, then calling PyType_Modified, is how CPython
    // enables vectorcall on a type.
    // SAFETY: `meta` is a live heap type and `PyType_Type` the static `type` (above).
    unsafe {
        let base = std::ptr::addr_of_mut!(ffi::PyType_Type);
        if (*mt).tp_flags & ffi::Py_TPFLAGS_HEAPTYPE != 0
            && (*mt).tp_vectorcall_offset > 0
            && (*mt).tp_vectorcall_offset == (*base).tp_vectorcall_offset
            && (*mt).tp_call.map(|f| f as usize) == (*base).tp_call.map(|f| f as usize)
            && (*mt).tp_flags & ffi::Py_TPFLAGS_HAVE_VECTORCALL == 0
        {
            (*mt).tp_flags |= ffi::Py_TPFLAGS_HAVE_VECTORCALL;
            ffi::PyType_Modified(mt);
        }
    }
}

/// Marks `cls` immutable (`Py_TPFLAGS_IMMUTABLETYPE`): its attributes can no longer be
/// set or deleted, as for ctypes' own classes and metaclasses. Subclasses are not
/// affected.
pub fn make_immutable(cls: &Bound<'_, PyType>) {
    let tp = cls.as_type_ptr();
    // SAFETY: `cls` is a live type object; setting a flag bit and telling CPython that
    // the type changed is what `PyType_Freeze` (3.14) does for a type with no
    // mutable bases to check.
    unsafe {
        (*tp).tp_flags |= ffi::Py_TPFLAGS_IMMUTABLETYPE;
        ffi::PyType_Modified(tp);
    }
}

/// Makes `cls` impossible to instantiate from Python (`Py_TPFLAGS_DISALLOW_INSTANTIATION`:
/// "cannot create 'X' instances"), as ctypes' `CField` is: its instances are made by the
/// extension only. Called at module initialisation, before any subclass exists.
pub fn disallow_instantiation(cls: &Bound<'_, PyType>) {
    let tp = cls.as_type_ptr();
    // SAFETY: `cls` is a live type object of this module with no subclasses. Without a
    // `tp_new`, `type.__call__` refuses to make an instance, and `object.__new__(cls)`
    // refuses too (its safety check compares `tp_new` slots); the flag records it.
    unsafe {
        (*tp).tp_new = None;
        (*tp).tp_flags |= ffi::Py_TPFLAGS_DISALLOW_INSTANTIATION;
        ffi::PyType_Modified(tp);
    }
}
