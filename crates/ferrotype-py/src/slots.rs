//! Raw type slots that make and free instances of the data classes.
//!
//! PyO3 makes an instance of a `#[pyclass]` in three steps:
//! 1. It parses the constructor's arguments into a tuple and a dict.
//! 2. It calls `object.__new__` with an empty tuple, which also sets up an instance dict
//!    eagerly.
//! 3. It moves the Rust value in.
//!
//! It frees an instance through a generic trampoline. Half of the cost of `Point()` or
//! `c_int(5)` went there.
//!
//! Five data kinds have no state of their own: simple, array, pointer, structure and
//! union. All their state is the [`CData`] of their `_CData` base. For these kinds,
//! [`install`] puts in `tp_new` and `tp_dealloc` slots that do the same work directly:
//! - Making: `tp_alloc`, then the `CData` written in place.
//! - Freeing: the `CData` read back out and released, then `tp_free`.
//!
//! A class's own `tp_new` is copied from its base when the class is made, so the
//! Python classes built on these natives (all made after module initialisation) get the
//! new slot. `tp_dealloc` is found on the base at each deallocation. `tp_init` is not
//! inherited that way: [`adopt`] gives each new class a raw `tp_init` that runs the same
//! body as the native `__init__` method, without PyO3's argument parsing.
//!
//! Soundness rests on the layout. Three facts must hold:
//! - The `CData` lies at the same offset in every instance of these classes.
//! - PyO3's bookkeeping fields of these frozen, `Send` classes take no space.
//! - The five classes add nothing to the `_CData` layout.
//!
//! [`install`] measures the offset on an instance that PyO3 made and checks the type
//! sizes against it. If anything differs, it installs nothing and PyO3's own slots stay
//! in use: the `#[new]` methods of the five classes are that fallback.

use std::ffi::c_int;
use std::sync::OnceLock;

use ferrotype_core::{FfiType, TypeCode};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple, PyType};
use pyo3::{ffi, PyClassInitializer, PyTypeInfo};

use crate::array::Array;
use crate::cdata::{construct, CData};
use crate::pointer::Pointer;
use crate::simple::SimpleCData;
use crate::stginfo::{Kind, StgInfo};
use crate::structure::{Structure, Union};

// The five kinds keep all their state in `CData`.
const _: () = assert!(
    size_of::<SimpleCData>() == 0
        && size_of::<Array>() == 0
        && size_of::<Pointer>() == 0
        && size_of::<Structure>() == 0
        && size_of::<Union>() == 0
);

/// The offset of the `CData` in an instance, once [`install`] has checked the layout.
static OFFSET: OnceLock<usize> = OnceLock::new();

/// Whether instances of the five kinds are made and freed by this module's slots.
#[inline]
pub fn installed() -> bool {
    OFFSET.get().is_some()
}

/// Checks the layout and installs the slots on the five native classes. Called once at
/// module initialisation, before any Python class derives from them.
pub fn install(py: Python<'_>) -> PyResult<()> {
    let Some(offset) = measure(py)? else {
        return Ok(());
    };
    if OFFSET.set(offset).is_err() {
        return Ok(());
    }
    let natives: [(*mut ffi::PyTypeObject, ffi::newfunc); 5] = [
        (SimpleCData::type_object(py).as_type_ptr(), new_simple),
        (Array::type_object(py).as_type_ptr(), new_array),
        (Pointer::type_object(py).as_type_ptr(), new_pointer),
        (Structure::type_object(py).as_type_ptr(), new_struct),
        (Union::type_object(py).as_type_ptr(), new_union),
    ];
    let raw_inits: [ffi::initproc; 5] = [
        init_simple,
        init_array,
        init_pointer,
        init_compound,
        init_compound,
    ];
    let mut inits = [(0usize, raw_inits[0]); 5];
    for (((tp, new), raw), slot) in natives.into_iter().zip(raw_inits).zip(&mut inits) {
        // SAFETY: a live, initialised heap type of this module that no class derives
        // from yet; PyType_Modified drops anything cached about it.
        unsafe {
            *slot = ((*tp).tp_init.map_or(0, |f| f as usize), raw);
            (*tp).tp_new = Some(new);
            (*tp).tp_dealloc = Some(dealloc);
            ffi::PyType_Modified(tp);
        }
    }
    let _ = INITS.set(inits);
    Ok(())
}

/// PyO3's `tp_init` of each of the five native classes (as an address), with the raw
/// slot that does the same work.
static INITS: OnceLock<[(usize, ffi::initproc); 5]> = OnceLock::new();

/// Gives a new data class the raw `tp_init` of its kind, if its `tp_init` is still
/// PyO3's. A class's `tp_init` comes from the `__init__` it inherits, and CPython takes
/// the function wrapped by the native class's `__init__` descriptor, PyO3's, so each
/// class is switched when it is made. A class (or a base) that defines `__init__` in
/// Python keeps its own; calls through `__init__` itself reach PyO3's, which shares the
/// raw slot's body.
pub fn adopt(cls: &Bound<'_, PyType>) {
    let Some(inits) = INITS.get() else {
        return;
    };
    let tp = cls.as_type_ptr();
    // SAFETY: `cls` is a live heap type being initialised; PyType_Modified drops any
    // cached lookups.
    unsafe {
        let Some(current) = (*tp).tp_init else {
            return;
        };
        if let Some((_, raw)) = inits.iter().find(|(g, _)| *g == current as usize) {
            (*tp).tp_init = Some(*raw);
            ffi::PyType_Modified(tp);
        }
    }
}

/// A raw `mp_subscript` slot for exact-int keys (`p[i]`, `a[i]`), over the slot PyO3
/// generated for a native class's `__getitem__`, which every other key still takes.
pub struct FastSubscript {
    generated: OnceLock<ffi::binaryfunc>,
    fast: ffi::binaryfunc,
}

impl FastSubscript {
    /// The fast slot `fast`, which must behave as the native `__getitem__` does.
    pub const fn new(fast: ffi::binaryfunc) -> Self {
        FastSubscript {
            generated: OnceLock::new(),
            fast,
        }
    }

    /// Remembers PyO3's slot of the native class (at module initialisation).
    pub fn install(&self, native: &Bound<'_, PyType>) {
        // SAFETY: the type object is initialised; its mapping table (PyO3 made one, as
        // the class defines `__getitem__`) is only read.
        let generated = unsafe {
            let mapping = (*native.as_type_ptr()).tp_as_mapping;
            mapping.as_ref().and_then(|m| m.mp_subscript)
        };
        if let Some(g) = generated {
            let _ = self.generated.set(g);
        }
    }

    /// Gives a class made from the native class the fast slot, unless the class (or a
    /// base between it and the native class) defines its own `__getitem__`. CPython
    /// derives a new class's slot from the `__getitem__` it inherits, which is PyO3's,
    /// so each class is switched when it is made.
    pub fn adopt(&self, cls: &Bound<'_, PyType>) {
        let Some(generated) = self.generated.get() else {
            return;
        };
        let tp = cls.as_type_ptr();
        // Heap types embed their own mapping table. Only a slot that still is PyO3's is
        // replaced.
        // SAFETY: `cls` is a live heap type being initialised; PyType_Modified drops any
        // cached lookups.
        unsafe {
            let mapping = (*tp).tp_as_mapping;
            if mapping.is_null() {
                return;
            }
            if (*mapping).mp_subscript.map(|f| f as usize) == Some(*generated as usize) {
                (*mapping).mp_subscript = Some(self.fast);
                ffi::PyType_Modified(tp);
            }
        }
    }

    /// For the fast slot: PyO3's slot's result when `key` is not an exact int, which
    /// the fast slot then returns as it is.
    ///
    /// # Safety
    /// `obj` and `key` must be the live arguments of the fast slot, called with the GIL
    /// held.
    pub unsafe fn other_key(
        &self,
        obj: *mut ffi::PyObject,
        key: *mut ffi::PyObject,
    ) -> Option<*mut ffi::PyObject> {
        // SAFETY: `key` is a live object (the caller's guarantee).
        if unsafe { ffi::PyLong_CheckExact(key) } != 0 {
            return None;
        }
        // SAFETY: the generated slot, for the object and key it was made for.
        self.generated.get().map(|g| unsafe { g(obj, key) })
    }
}

/// The offset of the `CData` in an instance PyO3 made, if every one of the five classes
/// is laid out as `_CData` is: a `PyObject` header, then the `CData` and nothing else.
fn measure(py: Python<'_>) -> PyResult<Option<usize>> {
    let info = Py::new(
        py,
        StgInfo::base(Kind::Pointer, 8, 8, FfiType::Scalar(TypeCode::VoidP), "P"),
    )?;
    let probe = CData::new_view(info, std::ptr::null_mut(), 0, None, 0);
    let probe = Bound::new(py, PyClassInitializer::from(probe).add_subclass(Pointer))?;
    let object = probe.as_ptr() as usize;
    let data = std::ptr::from_ref(probe.as_super().get()) as usize;
    let Some(offset) = data.checked_sub(object) else {
        return Ok(None);
    };
    let base = CData::type_object(py).as_type_ptr();
    // SAFETY: reading the size fields of live, initialised type objects.
    let sizes_match = unsafe {
        let size = (*base).tp_basicsize;
        (*base).tp_itemsize == 0
            && usize::try_from(size).ok() == Some(offset + size_of::<CData>())
            && [
                SimpleCData::type_object(py),
                Array::type_object(py),
                Pointer::type_object(py),
                Structure::type_object(py),
                Union::type_object(py),
            ]
            .iter()
            .all(|t| {
                let tp = t.as_type_ptr();
                (*tp).tp_basicsize == size && (*tp).tp_itemsize == 0
            })
    };
    let fits = offset >= size_of::<ffi::PyObject>() && offset % align_of::<CData>() == 0;
    Ok((sizes_match && fits).then_some(offset))
}

/// Makes an instance of `cls` holding `data`, without `__init__`.
///
/// # Safety
/// [`installed`] must be true, and `cls` must be a subtype of the native class of
/// `data`'s kind, one of the five kinds of this module.
pub unsafe fn alloc<'py>(cls: &Bound<'py, PyType>, data: CData) -> PyResult<Bound<'py, PyAny>> {
    let py = cls.py();
    let Some(&offset) = OFFSET.get() else {
        return Err(pyo3::exceptions::PyRuntimeError::new_err(
            "ferrotype: instance slots are not installed",
        ));
    };
    let tp = cls.as_type_ptr();
    // SAFETY: `tp` is a live type object; `tp_alloc` returns zeroed memory of the
    // class's size, or NULL with an exception set. (Like ctypes, and unlike
    // `object.__new__`, this does not refuse classes with abstract methods.)
    let obj = unsafe { (*tp).tp_alloc.unwrap_or(ffi::PyType_GenericAlloc)(tp, 0) };
    if obj.is_null() {
        return Err(PyErr::fetch(py));
    }
    // The object is an instance of a subtype of one of the five classes (the caller's
    // guarantee), so its `CData` lies at `offset` (checked by `install`), in memory
    // nothing has initialised yet. No Python code runs between the allocation and this
    // write, so the collector cannot see the zeroed fields.
    // SAFETY: as just said; `obj` is a new reference.
    unsafe {
        obj.cast::<u8>().add(offset).cast::<CData>().write(data);
        Ok(Bound::from_owned_ptr(py, obj))
    }
}

/// Declares the `tp_new` slot of one kind: [`construct`], then [`alloc`]. The arguments
/// are for `__init__`.
macro_rules! new_slot {
    ($name:ident, $kind:expr) => {
        unsafe extern "C" fn $name(
            subtype: *mut ffi::PyTypeObject,
            _args: *mut ffi::PyObject,
            _kwds: *mut ffi::PyObject,
        ) -> *mut ffi::PyObject {
            // SAFETY: the interpreter calls tp_new with the GIL held. (PyO3 does not
            // count the thread as attached here: nothing below drops a `Py`, which PyO3
            // would then release only later.)
            let py = unsafe { Python::assume_attached() };
            crate::errors::run_slot(
                py,
                "ferrotype: a Rust panic while making an instance",
                || {
                    let subtype = subtype.cast::<ffi::PyObject>();
                    // SAFETY: `subtype` is the live class being instantiated, borrowed
                    // for the call.
                    let cls = unsafe { Bound::ref_from_ptr(py, &subtype) };
                    // SAFETY: as above, a type object.
                    let cls = unsafe { cls.cast_unchecked::<PyType>() };
                    let data = construct(cls, $kind)?;
                    // SAFETY: CPython calls a class's tp_new for that class, and this slot
                    // is only installed on (and inherited from) the native class of `$kind`
                    // (`object.__new__`-style calls check the subtype relation).
                    unsafe { alloc(cls, data) }.map(Bound::unbind)
                },
            )
        }
    };
}

new_slot!(new_simple, Kind::Simple);
new_slot!(new_array, Kind::Array);
new_slot!(new_pointer, Kind::Pointer);
new_slot!(new_struct, Kind::Struct);
new_slot!(new_union, Kind::Union);

/// The `tp_dealloc` slot of the five kinds (called directly for instances of the native
/// classes, and by CPython's `subtype_dealloc` for Python subclasses, after it has
/// cleared their own dict and slots).
unsafe extern "C" fn dealloc(obj: *mut ffi::PyObject) {
    // The interpreter calls tp_dealloc with the GIL held, once, when the last reference
    // is gone. The slot is installed only after `OFFSET` is set, and only on the five
    // classes, whose instances hold a `CData` there (written by `alloc` or by PyO3). It
    // is read out exactly once, then the memory goes back through the class's
    // `tp_free`, and the reference every heap-type instance holds on its class is
    // released, as PyO3's own slot does.
    // SAFETY: as just said.
    unsafe {
        ffi::PyObject_GC_UnTrack(obj.cast());
        if let Some(&offset) = OFFSET.get() {
            let data = obj.cast::<u8>().add(offset).cast::<CData>().read();
            let py = Python::assume_attached();
            // A panic must not unwind into the interpreter; releasing references does
            // not panic, but a leak is the safe outcome if it ever did.
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| data.dispose(py)));
        }
        let tp = ffi::Py_TYPE(obj);
        (*tp).tp_free.unwrap_or(ffi::PyObject_GC_Del)(obj.cast());
        ffi::Py_DECREF(tp.cast());
    }
}

/// Runs the body of a raw `tp_init` slot: 0, or -1 with the error set (a panic becomes
/// a `PanicException`).
///
/// PyO3 does not count the thread as attached in a raw slot (counting it costs more
/// than the rest of a plain `__init__`), so a `Py` dropped here would be released only
/// later, from PyO3's pool: the bodies hold references as `Bound`, released at once.
fn run_init(body: impl for<'py> FnOnce(Python<'py>) -> PyResult<()>) -> c_int {
    // SAFETY: the interpreter calls tp_init with the GIL held.
    let py = unsafe { Python::assume_attached() };
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| body(py))) {
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

/// Refuses keyword arguments as the `__init__` of the native class `class` does.
fn no_keywords(class: &str, kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<()> {
    match kwargs.and_then(|k| k.keys().iter().next()) {
        Some(key) => Err(PyTypeError::new_err(format!(
            "{class}.__init__() got an unexpected keyword argument {}",
            key.repr()?
        ))),
        None => Ok(()),
    }
}

/// Declares a raw `tp_init` slot: the instance as a `CData`, the arguments as a tuple
/// and an optional dict, then `$body`.
macro_rules! init_slot {
    ($name:ident, |$cd:ident, $args:ident, $kwargs:ident| $body:expr) => {
        unsafe extern "C" fn $name(
            slf: *mut ffi::PyObject,
            args: *mut ffi::PyObject,
            kwds: *mut ffi::PyObject,
        ) -> c_int {
            run_init(|py| {
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
                // SAFETY: CPython calls a class's tp_init for instances of that class,
                // and `adopt` gives this slot only to classes whose `__init__` is that of
                // a native data class, so to subclasses of it: the instance is a `CData`.
                let $cd = unsafe { slf.cast_unchecked::<CData>() };
                let $args = args.cast::<PyTuple>()?;
                let $kwargs = match kwds {
                    Some(k) => Some(k.cast::<PyDict>()?),
                    None => None,
                };
                $body
            })
        }
    };
}

init_slot!(init_simple, |cd, args, kwargs| {
    no_keywords("_SimpleCData", kwargs)?;
    crate::simple::init_simple(cd, args)
});
init_slot!(init_array, |cd, args, kwargs| {
    no_keywords("Array", kwargs)?;
    crate::array::init_array(cd.cast::<Array>()?, args)
});
init_slot!(init_pointer, |cd, args, kwargs| {
    no_keywords("_Pointer", kwargs)?;
    crate::pointer::init_pointer(cd, args)
});
init_slot!(init_compound, |cd, args, kwargs| {
    crate::structure::init_compound(cd, args, kwargs)
});
