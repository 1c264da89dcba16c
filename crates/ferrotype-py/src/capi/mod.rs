//! # The CPython boundary
//!
//! Everything ferrotype assumes about CPython, PyO3 and NumPy beyond their safe, public
//! APIs lives in this module and nowhere else: `pyo3::ffi`, raw type slots, private
//! CPython symbols, PyO3's unchecked entry points and NumPy's struct layout. The rest
//! of the crate uses the safe functions and generic slots defined here.
//! `tools/check_structure.py` (run by `make lint`) fails the build on any use of
//! `pyo3::ffi`, `pyo3::impl_`, an `extern "C"` block or function outside `capi/`.
//!
//! An upgrade of CPython, PyO3 or NumPy is an audit of this directory against the list
//! below.
//!
//! ## Rationale
//!
//! A foreign call through ferrotype costs a few hundred instructions. PyO3's generic
//! trampolines (argument tuples, `object.__new__`, method wrappers) cost as much again
//! for the hottest operations: making an instance, `s.x`, `a[i]`, `c.value`, calling a
//! function. For those, ferrotype enters Rust through raw slots it installs on PyO3's
//! classes. The slots are generic over traits that the layers above implement
//! ([`objects::DataClass`], [`slots::IntSubscript`], [`slots::DescrGet`],
//! [`slots::GetSet`], [`slots::Vectorcall`]), so this module names no ctypes kind and
//! the crate's imports only go down.
//!
//! ## Assumptions, the versions they hold for, and how each is verified
//!
//! Checked on CPython 3.11.7, 3.12.1, 3.13.0, 3.14.10 and 3.15.2 (`make test-matrix`
//! runs the whole suite on each, as CI does), PyO3 0.30, NumPy 1.24 to 2.x. What
//! differs between those versions in ctypes' *behaviour* is the table in [`version`];
//! what differs in the *internals* used here is gated where it is used, in this
//! directory, and named below.
//!
//! 1. **Object layout of the data classes.** PyO3 lays out the frozen, `Send` class
//!    `_CData` as a `PyObject` header followed by the `CData` value with no bookkeeping
//!    fields, and its five subclasses (`_SimpleCData`, `Array`, `_Pointer`,
//!    `Structure`, `Union`) add nothing; PyO3 makes all six collected (GC) types.
//!    *Verified at start-up* by [`objects::measure`]: a probe instance made by PyO3
//!    gives the payload's offset, which must be right after the object header at the
//!    payload's alignment (the slots use that constant), every class's `tp_basicsize`
//!    must equal offset + `size_of::<CData>()`, with no items, and every class must
//!    have `Py_TPFLAGS_HAVE_GC`. *If it does not hold,* importing `ferrotype._native`
//!    fails with `ImportError`: there is no slower fallback path to keep untested.
//!    [`objects::install`] then makes the five data natives (before any instance or
//!    subclass exists) classes without the collector's header, as ctypes' are:
//!    `Py_TPFLAGS_HAVE_GC` cleared and `tp_free` set to `PyObject_Free`. Every class
//!    made from them by a `class` statement is still collected (CPython makes every
//!    such class a GC type, gives it `PyObject_GC_Del` when its base frees with
//!    `PyObject_Free`, and its `subtype_traverse` calls the inherited `tp_traverse`).
//!    `subtype_dealloc` untracks an instance and tracks it again before calling the
//!    base's deallocator only when that base is collected, so the raw deallocation
//!    slot finds it untracked and releases the payload without the collector seeing
//!    it; called by any other deallocator of a collected class, it untracks the object
//!    itself. `install` also gives the five natives a weak-reference list: one word
//!    after the payload (`tp_basicsize` grows by it, `tp_weaklistoffset` names it; no
//!    instance exists yet, and `tp_alloc` zeroes the word of each new one), and a
//!    `__weakref__` member reading it. A class made from them then adds no list of its
//!    own (CPython adds one only on a base without), so `subtype_dealloc` leaves the
//!    clearing to the base's deallocator: the raw slot calls `PyObject_ClearWeakRefs`
//!    when the word is not null, first, with the object untracked, as
//!    `subtype_dealloc` does for the lists it adds. *Verified by tests:*
//!    `tests/test_gc_layout.py` (instances tracked as ctypes' are, cycles through
//!    `_objects` collected, instances of every kind freed) and `tests/test_weakrefs.py`
//!    (weak references of every kind die with the instance, callbacks run, in cycles).
//!    `CArgObject` (`byref`, the `from_param` results) is laid out the same way, a
//!    header and its `CArg` value, *verified at start-up* by the same `measure` on a
//!    probe; [`objects::install_final`] then gives its class (which cannot be
//!    subclassed) the raw deallocation slot and no collector header (its traversal
//!    visited nothing, so the collector could not follow its references anyway), and
//!    `CArg::into_object` writes the value into the new object as `alloc` does.
//!    *Verified by tests:* `tests/test_instance_paths.py` (what it keeps is held and
//!    released, `from_param` returns it as ctypes does).
//! 2. **Slots replaced after `PyType_Ready`.** Writing `tp_new`, `tp_dealloc`,
//!    `tp_init`, `mp_subscript`, `tp_descr_get`, `tp_vectorcall_offset` and
//!    `Py_TPFLAGS_HAVE_VECTORCALL` on a heap type that nothing derives from yet, then
//!    calling `PyType_Modified`, changes its behaviour (CPython's own documented way).
//!    Later subclasses copy `tp_new`, `tp_dealloc` and `tp_descr_get` from their base;
//!    they re-derive `tp_init` and `mp_subscript` from the `__init__`/`__getitem__`
//!    they inherit, so [`objects::adopt`] and [`slots::FastSubscript::adopt`] switch
//!    each new class whose slot is still PyO3's; `Py_TPFLAGS_HAVE_VECTORCALL` is not
//!    inherited by heap types on 3.11, so [`slots::enable_vectorcall`] runs per class.
//!    The five natives declare a PyO3 `#[new]` whose body never runs
//!    ([`objects::replaced_constructor`]): it only makes CPython put a `__new__` (its
//!    `tp_new_wrapper`) in the class dict, which calls the class's current `tp_new`,
//!    the raw one, and lets subclasses inherit that slot (a `__new__` of any other
//!    kind would give every subclass CPython's slower `slot_tp_new`).
//!    *Verified by tests:* `tests/test_boundary.py` reads [`report`] (which slots each
//!    class of a fresh hierarchy has, and `T.__new__(T)`), and the whole suite runs
//!    through these slots.
//! 3. **Function addresses identify PyO3's slots.** [`objects::adopt`] and
//!    [`slots::FastSubscript`] recognise PyO3's generated `tp_init`/`mp_subscript` by
//!    address. If PyO3 changed how it fills them, classes would keep PyO3's slots:
//!    slower, never wrong. *Verified by* `tests/test_boundary.py` (the raw slots are
//!    in place on user classes).
//! 4. **Private CPython symbols**, in [`private`]: `_PyType_Lookup` (every 3.x),
//!    `_PyObject_GetDictPtr` (3.12 only), `_PyErr_WriteUnraisableMsg` (3.11 and
//!    3.12) or the public `PyErr_FormatUnraisable` (3.13+). *Verified at link/load
//!    time:* a missing symbol fails the import, never a call. Beside them, the
//!    instance-attribute test of a callback's reused arguments
//!    ([`private::sole_plain_instance`]) reads the managed-dict words before an
//!    object of a `Py_TPFLAGS_MANAGED_DICT` type: on 3.11 the inline values' pointer
//!    at word -4 and the dict's at -3; from 3.13 the dict's at -3 and, for
//!    `Py_TPFLAGS_INLINE_VALUES` types, the inline values' header after
//!    `tp_basicsize` (`capacity`, `size`, `embedded`, `valid` bytes). Whatever it
//!    cannot judge counts as "has attributes", which only costs a new instance.
//!    *Verified by* `tests/test_callback_args.py` on each version (attributes set,
//!    deleted, materialised dicts: none carries over; an argument nothing kept is
//!    reused).
//! 5. **The GIL.** [`gil::released`] gives the GIL up with `PyEval_SaveThread` without
//!    PyO3's attach bookkeeping, and raw slots make their `Python` token with
//!    `Python::assume_attached`, because CPython calls slots with the GIL held. The
//!    argument is in [`gil`]. A thread Python did not create keeps the thread state
//!    `PyGILState_Ensure` made for its first callback (the ensure count left at one)
//!    until a thread-local destructor releases it at thread exit, skipped once the
//!    interpreter finalizes (`Py_IsInitialized`, `Py_IsFinalizing` / 3.11-3.12's
//!    `_Py_IsFinalizing`). [`gilcell`] keeps call plans in `Rc`s guarded by the GIL;
//!    free-threaded builds are refused at compile time. *Verified by* the callback and
//!    threading tests (`tests/test_callbacks.py`, `tests/test_lifetime.py`,
//!    `tests/test_foreign_threads.py`: thread exit, `fork`, threads alive at exit).
//! 6. **`Bound<PyAny>` and `Option<Bound<PyAny>>` have the layout of a (nullable)
//!    `*mut PyObject`**, so an argument vector can be borrowed as a slice of `Bound`s.
//!    *Verified at compile time* (the assertion below).
//! 7. **NumPy's `PyArrayObject_fields` head and C-API table**, in [`numpy`]. The
//!    table (`_multiarray_umath._ARRAY_API`, handed over by `ctypeslib` at import) is
//!    used only when its ABI version (entry 0) is NumPy 1.x's or 2.x's, and only for
//!    entries both keep at the same index: `PyArray_Type` (2), `PyArrayDescr_Type`
//!    (3), `PyArray_NewFromDescr` (94), `PyArray_SetBaseObject` (282), with the
//!    signatures of `numpy/__multiarray_api.h`; otherwise `ctypeslib` keeps its Python
//!    path (`numpy.frombuffer`). *Verified by* `tests/test_ctypeslib.py`, which
//!    compares every fact read with NumPy's own attributes and runs every `as_array` /
//!    `as_ctypes` case through both paths, and `tests/test_boundary.py`.
//! 8. **C functions called by address**, in [`cfuncs`]: `_ctypes`' `_string_at_addr`,
//!    `_wstring_at_addr` and `_cast_addr` are `extern "C"` functions with ctypes'
//!    signatures, entered from foreign calls; each attaches to the interpreter as a
//!    callback does ([`gil::attach_callback`]), catches panics, and reports an error as
//!    NULL with the exception set, which a `py_object` result turns back into the
//!    exception. *Verified by* `tests/test_names_per_version.py`, which calls them
//!    through `PYFUNCTYPE` (GIL held) and `CFUNCTYPE` (GIL given up), as ctypes' own
//!    `__init__` does.
//! 9. **A native class's metaclass, and immutable types.** [`objects::set_metaclass`]
//!    makes a Python subclass of `type` the metaclass of a native base class (so that
//!    `Structure.__mro__` is `(Structure, _CData, object)` and `type(Structure)` is
//!    `PyCStructType`, as in ctypes): it writes `ob_type` of the type object. That is
//!    sound when the metaclass lays its instances out exactly as `type` does (same
//!    basic and item size, dict and weak-reference offsets: a Python class without
//!    `__slots__`) and is a heap type, whose reference the type object then holds
//!    (`subtype_dealloc` drops it, then runs `type`'s deallocator); all of it is
//!    checked before the write, which is refused otherwise. [`objects::make_immutable`]
//!    and [`objects::disallow_instantiation`] set `Py_TPFLAGS_IMMUTABLETYPE` /
//!    `Py_TPFLAGS_DISALLOW_INSTANTIATION` (and clear `tp_new`) on types nothing derives
//!    from yet, then call `PyType_Modified`, as CPython's own `PyType_Freeze` does.
//!    *Verified by* the CPython suite (3.13+ checks the hierarchy and the flags of every
//!    base and metaclass) and `tests/test_boundary.py`.
//! 10. **A class's own type information in `tp_cache`.** [`objects::set_own_info`]
//!     stores a strong reference to a class's `StgInfo` in the type object's `tp_cache`
//!     field, so that finding it costs two loads instead of an attribute lookup.
//!     CPython has not used the field since 3.0 (the 3.14 header says "no longer
//!     used"), yet on every version from 3.11 to 3.15 `type_traverse` still visits it
//!     and the heap type's deallocator still releases it, and no code copies it into a
//!     subclass. `type`'s `tp_clear` does not clear it, so [`objects::hook_clear`] gives
//!     each ferrotype metaclass (a Python class whose bases up to `type` are Python
//!     classes, all with `subtype_clear`) a `tp_clear` that releases it and then runs
//!     `type`'s; Python subclasses of those metaclasses reach it through
//!     `subtype_clear`. Only a class whose metaclass chain ends in that slot gets the
//!     reference (a class of any other metaclass keeps the attribute lookup), and only
//!     a null field or one holding a `StgInfo` is written. *Verified by*
//!     `tests/test_boundary.py` (the field holds the class's own information, the
//!     collector sees it, cycles through it are collected, nothing leaks per class).
//! 11. **The global allocator** ([`alloc`]) calls mimalloc's unaligned functions and
//!     checks the alignment of what they return before using it, falling back to the
//!     aligned functions; every block is freed with `mi_free`.
//! 12. **Class attributes read without the attribute protocol** ([`classes`]).
//!     [`classes::class_attr`] answers `getattr(cls, name)` from two `_PyType_Lookup`s
//!     (assumption 4) when the metaclass's `tp_getattro` is `type`'s own and the
//!     metaclass's MRO has no `name`: `type`'s protocol then returns the value found
//!     along `cls`'s MRO when it is not a descriptor (no `tp_descr_get`), and raises
//!     `AttributeError` when there is none, on every version from 3.11 to 3.15; in
//!     any other case the protocol itself runs. [`classes::own_dict_item`] reads a
//!     class's own namespace from `tp_dict` (documented: NULL only for 3.12+'s static
//!     built-in types, where it falls back to `__dict__`). [`classes::instance_method`]
//!     is CPython's public `PyInstanceMethod_New`. *Verified by* the structure tests
//!     (`_pack_`, `_align_`, `_layout_`, `_anonymous_` and `_swappedbytes_` given as
//!     plain values, properties and metaclass attributes) and the CPython suite.
//! 13. **Classes called through `tp_vectorcall`.** [`objects::adopt`] sets the
//!     `tp_vectorcall` of each class it gives the raw `tp_init` to, and
//!     [`objects::set_metaclass`] gives the metaclass `Py_TPFLAGS_HAVE_VECTORCALL`
//!     (3.12+ passes it from `type` to a metaclass without `__call__`; 3.11 passes it
//!     to no heap type), after checking that the metaclass reads the class's
//!     `tp_vectorcall` where `type` does (`tp_vectorcall_offset`) and calls as `type`
//!     does. The interpreter then calls `T(...)` through `class_call` (in `objects`)
//!     instead of `type.__call__` with an argument tuple; a class whose slot is NULL
//!     is still called through `tp_call`. Whatever CPython does with the slot when a
//!     class or metaclass changes, the class call stands for `type.__call__` only
//!     while, at that very call, the metaclass's `tp_call` is `type`'s and the class's
//!     `tp_new` and `tp_init` are the raw slots of its kind (recorded by address when
//!     [`objects::install`] wrote them), with no keywords; in every other case it
//!     hands the arguments, as a tuple and a dict, to the metaclass's `tp_call`, as the
//!     interpreter would. *Verified by* `tests/test_boundary.py` (the slot and flag in
//!     place) and `tests/test_construction.py` (`__new__`, `__init__` and metaclass
//!     `__call__` defined or assigned later, keywords, errors, against the stdlib).
//!
//! ## Limitations
//!
//! - CPython only, GIL-enabled builds only (free-threaded builds fail to compile).
//! - The layout check of assumption 1 fails closed: an interpreter or PyO3 version that
//!   lays classes out differently cannot import ferrotype until this module is ported.
//! - Each interpreter gets its own build (no abi3): the private symbols and the
//!   version table are chosen at compile time.

#[cfg(feature = "mimalloc")]
pub mod alloc;
pub mod buffer;
pub mod cfuncs;
pub mod classes;
pub mod gil;
pub mod gilcell;
pub mod numpy;
pub mod objects;
pub mod private;
pub mod slots;
pub mod values;
pub mod version;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyType};
use pyo3::{ffi, Bound, PyAny};

// Assumption 6.
const _: () = assert!(
    size_of::<Bound<'static, PyAny>>() == size_of::<*mut ffi::PyObject>()
        && size_of::<Option<Bound<'static, PyAny>>>() == size_of::<*mut ffi::PyObject>()
);

/// Which of the raw slots `cls` has, for the boundary tests: a dict of
/// `tp_new`/`tp_init`/`tp_dealloc`/`mp_subscript`/`tp_descr_get`/`tp_vectorcall`
/// addresses (0 when unset) and the vectorcall offset and flag.
pub fn report<'py>(cls: &Bound<'py, PyType>) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(cls.py());
    let tp = cls.as_type_ptr();
    // SAFETY: reading slots of a live, initialised type object.
    unsafe {
        d.set_item("tp_new", (*tp).tp_new.map_or(0, |f| f as usize))?;
        d.set_item("tp_init", (*tp).tp_init.map_or(0, |f| f as usize))?;
        d.set_item("tp_dealloc", (*tp).tp_dealloc.map_or(0, |f| f as usize))?;
        d.set_item("tp_descr_get", (*tp).tp_descr_get.map_or(0, |f| f as usize))?;
        let mapping = (*tp).tp_as_mapping;
        let sub = mapping
            .as_ref()
            .and_then(|m| m.mp_subscript)
            .map_or(0, |f| f as usize);
        d.set_item("mp_subscript", sub)?;
        let seq = (*tp).tp_as_sequence;
        let item = seq
            .as_ref()
            .and_then(|m| m.sq_item)
            .map_or(0, |f| f as usize);
        d.set_item("sq_item", item)?;
        d.set_item("tp_vectorcall_offset", (*tp).tp_vectorcall_offset)?;
        d.set_item(
            "tp_vectorcall",
            (*tp).tp_vectorcall.map_or(0, |f| f as usize),
        )?;
        d.set_item(
            "have_vectorcall",
            (*tp).tp_flags & ffi::Py_TPFLAGS_HAVE_VECTORCALL != 0,
        )?;
    }
    Ok(d)
}
