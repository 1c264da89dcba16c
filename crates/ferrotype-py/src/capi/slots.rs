//! Raw type slots that make the hot operations enter Rust directly, without PyO3's
//! generic trampolines: `a[i]` and `p[i]` for an int (`mp_subscript`), field and string
//! attribute reads (`tp_descr_get`), a simple instance's `.value` (a getset descriptor),
//! and calls of function pointers (vectorcall).
//!
//! Each slot is generic over a trait the layers above implement (the slot knows no
//! kind): the slot does the raw part (argument pointers, the GIL token, the result
//! reference, the error protocol) and calls the trait's safe body. Every body runs
//! through [`run_slot`], so a Rust error becomes the raised exception and a panic a
//! `PanicException`, never an unwind into the interpreter.

use std::ffi::{c_int, c_void, CStr};
use std::sync::OnceLock;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyTuple, PyType};
use pyo3::{ffi, Borrowed, PyClass};

/// Runs the body of a raw slot: a Rust error becomes the raised exception and NULL, and
/// a panic becomes `PanicException(panic_message)` instead of unwinding into the
/// interpreter.
pub(super) fn run_slot(
    py: Python<'_>,
    panic_message: &'static str,
    body: impl FnOnce() -> PyResult<Py<PyAny>>,
) -> *mut ffi::PyObject {
    // The result becomes the slot's return value inside the unwinding guard, so that
    // only a pointer crosses it (not the whole `PyResult`, copied on every call).
    let guarded = || match body() {
        Ok(v) => v.into_ptr(),
        Err(e) => {
            e.restore(py);
            std::ptr::null_mut()
        }
    };
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(guarded)) {
        Ok(ptr) => ptr,
        Err(_) => {
            pyo3::panic::PanicException::new_err(panic_message).restore(py);
            std::ptr::null_mut()
        }
    }
}

// ---------------------------------------------------------------------------------
// Subscripts.

/// A native class whose instances take `obj[i]` for an exact int through a raw slot.
pub trait IntSubscript: PyClass + 'static {
    /// The class's slot record.
    fn subscript() -> &'static FastSubscript;
    /// `slf[key]`, `key` an exact int: must behave as the class's `__getitem__` does.
    fn item(slf: &Bound<'_, Self>, key: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>>;
    /// `slf[key]` for an exact int key of one digit, whose value `index` the slot read
    /// from it: the value when the class has a shorter path for it that succeeds, else
    /// `None`, and the slot calls [`IntSubscript::item`], which reads it again (so it
    /// must have no side effects) and raises what there is to raise. Must give what
    /// `item` gives.
    #[inline(always)]
    fn index_item(_slf: &Bound<'_, Self>, _index: isize) -> Option<Py<PyAny>> {
        None
    }
    /// `slf[index]` (an exact int key of one digit) when it is one of the common cases
    /// that cannot fail, as a value the slot makes without a result wrapper; `None`
    /// takes [`IntSubscript::index_item`]. Runs outside the slot's unwinding guard, so
    /// it must not panic; must give what `item` gives.
    #[inline(always)]
    fn quick_item(_slf: &Bound<'_, Self>, _index: isize) -> Option<Quick> {
        None
    }
}

/// A native class whose instances are also read by position through a raw `sq_item`
/// slot: `PySequence_GetItem`, which the sequence iterator (`list(a)`, `for x in a`)
/// calls for each element.
pub trait SeqItem: IntSubscript {
    /// `PySequence_GetItem(slf, index)`: CPython has already added the length to a
    /// negative index, so one still negative is out of range.
    fn seq_item(slf: &Bound<'_, Self>, index: isize) -> PyResult<Py<PyAny>>;
}

/// A raw `mp_subscript` slot for exact-int keys over the slot PyO3 generated for a
/// native class's `__getitem__`, which every other key still takes; and, for a
/// [`SeqItem`] class, a raw `sq_item` slot instead of CPython's generic one (which
/// looks `__getitem__` up and calls it with the index boxed into an int).
pub struct FastSubscript {
    generated: OnceLock<ffi::binaryfunc>,
    fast: OnceLock<ffi::binaryfunc>,
    /// The native class's `__getitem__` (the descriptor in its dict).
    native_getitem: OnceLock<Py<PyAny>>,
    fast_item: OnceLock<ffi::ssizeargfunc>,
}

impl FastSubscript {
    /// An empty record, filled by [`FastSubscript::install`].
    pub const fn new() -> Self {
        FastSubscript {
            generated: OnceLock::new(),
            fast: OnceLock::new(),
            native_getitem: OnceLock::new(),
            fast_item: OnceLock::new(),
        }
    }

    /// Remembers the `__getitem__` of the native class of `K` and makes the raw `sq_item`
    /// slot `K`'s (at module initialisation, with [`FastSubscript::install`]).
    pub fn install_seq<K: SeqItem>(&self, py: Python<'_>) {
        let native = K::type_object(py);
        if let Some(g) = super::private::type_lookup(&native, pyo3::intern!(py, "__getitem__")) {
            let _ = self.native_getitem.set(g.unbind());
            let _ = self.fast_item.set(seq_item::<K>);
        }
    }

    /// Remembers PyO3's slot of the native class of `K` and makes the fast slot `K`'s
    /// (at module initialisation).
    pub fn install<K: IntSubscript>(&self, py: Python<'_>) {
        let native = K::type_object(py);
        // SAFETY: the type object is initialised; its mapping table (PyO3 made one, as
        // the class defines `__getitem__`) is only read.
        let generated = unsafe {
            let mapping = (*native.as_type_ptr()).tp_as_mapping;
            mapping.as_ref().and_then(|m| m.mp_subscript)
        };
        if let Some(g) = generated {
            let _ = self.generated.set(g);
            let _ = self.fast.set(int_subscript::<K>);
        }
    }

    /// Gives a class made from the native class the fast slot, unless the class (or a
    /// base between it and the native class) defines its own `__getitem__`. CPython
    /// derives a new class's slot from the `__getitem__` it inherits, which is PyO3's,
    /// so each class is switched when it is made.
    pub fn adopt(&self, cls: &Bound<'_, PyType>) {
        let (Some(generated), Some(fast)) = (self.generated.get(), self.fast.get()) else {
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
                (*mapping).mp_subscript = Some(*fast);
                ffi::PyType_Modified(tp);
            }
        }
        // A class's `sq_item` is CPython's generic `slot_sq_item`, which looks
        // `__getitem__` up and calls it; the raw slot replaces it when that lookup finds
        // the native class's own `__getitem__` (no class in between defines one).
        let (Some(native_getitem), Some(fast)) = (self.native_getitem.get(), self.fast_item.get())
        else {
            return;
        };
        let py = cls.py();
        let inherited = super::private::type_lookup(cls, pyo3::intern!(py, "__getitem__"))
            .is_some_and(|g| g.is(native_getitem.bind(py)));
        if !inherited {
            return;
        }
        // SAFETY: as above, for the sequence table heap types embed.
        unsafe {
            let seq = (*tp).tp_as_sequence;
            if !seq.is_null() && (*seq).sq_item.is_some() {
                (*seq).sq_item = Some(*fast);
                ffi::PyType_Modified(tp);
            }
        }
    }
}

impl Default for FastSubscript {
    fn default() -> Self {
        FastSubscript::new()
    }
}

/// The fast `mp_subscript` slot of `K`.
///
/// # Safety
/// Called by the interpreter with the GIL held, `obj` an instance of a class that
/// [`FastSubscript::adopt`] switched (a subclass of `K`'s native class) and `key` a
/// live object.
unsafe extern "C" fn int_subscript<K: IntSubscript>(
    obj: *mut ffi::PyObject,
    key: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: `key` is a live object (the contract above).
    if unsafe { ffi::PyLong_CheckExact(key) } == 0 {
        if let Some(g) = K::subscript().generated.get() {
            // SAFETY: the generated slot, for the object and key it was made for.
            return unsafe { g(obj, key) };
        }
    }
    // SAFETY: the interpreter holds the GIL when it calls a slot.
    let py = unsafe { Python::assume_attached() };
    // The common key, a small int, read here once.
    // SAFETY: `key` is a live object borrowed for the call.
    let borrowed_key = unsafe { Borrowed::from_ptr(py, key) };
    let small = super::values::exact_compact_i64(&borrowed_key);
    if let Some(i) = small {
        // SAFETY: `obj` is a live object borrowed for the call; the slot is only
        // installed on subclasses of `K`'s native class, whose instances are `K`s. The
        // constructors return a new reference or NULL with the error set.
        unsafe {
            let slf = Borrowed::from_ptr(py, obj).cast_unchecked::<K>();
            if let Some(q) = K::quick_item(&slf, i as isize) {
                return q.into_ptr(py);
            }
        }
    }
    run_slot(py, "ferrotype: a Rust panic while indexing", || {
        // SAFETY: `obj` and `key` are live objects borrowed for the call; the slot is
        // only installed on subclasses of `K`'s native class, whose instances are `K`s.
        let (slf, key) = unsafe {
            (
                Borrowed::from_ptr(py, obj).cast_unchecked::<K>(),
                Borrowed::from_ptr(py, key),
            )
        };
        if let Some(v) = small.and_then(|i| K::index_item(&slf, i as isize)) {
            return Ok(v);
        }
        K::item(&slf, &key)
    })
}

/// The raw `sq_item` slot of `K`.
///
/// # Safety
/// Called by the interpreter with the GIL held, `obj` an instance of a class that
/// [`FastSubscript::adopt`] switched (a subclass of `K`'s native class).
unsafe extern "C" fn seq_item<K: SeqItem>(
    obj: *mut ffi::PyObject,
    index: ffi::Py_ssize_t,
) -> *mut ffi::PyObject {
    // SAFETY: the interpreter holds the GIL when it calls a slot.
    let py = unsafe { Python::assume_attached() };
    run_slot(py, "ferrotype: a Rust panic while indexing", || {
        // SAFETY: `obj` is a live object borrowed for the call; the slot is only
        // installed on subclasses of `K`'s native class, whose instances are `K`s.
        let slf = unsafe { Borrowed::from_ptr(py, obj).cast_unchecked::<K>() };
        K::seq_item(&slf, index)
    })
}

// ---------------------------------------------------------------------------------
// Descriptors.

/// A value a descriptor slot can hand back without a result wrapper.
pub enum Quick {
    /// A Python float.
    Float(f64),
    /// A Python int.
    Int(i64),
}

impl Quick {
    /// The new reference the value becomes (an int in the interpreter's shared range
    /// taken from the table, a reference count instead of a call), or NULL with the
    /// error set if the allocation failed.
    #[inline(always)]
    pub fn into_ptr(self, py: Python<'_>) -> *mut ffi::PyObject {
        match self {
            Quick::Int(v) => match super::values::small_int(py, v) {
                Some(small) => small.into_ptr(),
                // SAFETY: the C API's constructor, called with the GIL held (`py`).
                None => unsafe { ffi::PyLong_FromLongLong(v) },
            },
            // SAFETY: as above.
            Quick::Float(v) => unsafe { ffi::PyFloat_FromDouble(v) },
        }
    }

    /// [`Quick::into_ptr`] as an owned reference; `None` with the error set.
    #[inline(always)]
    pub fn into_py(self, py: Python<'_>) -> Option<Py<PyAny>> {
        let ptr = self.into_ptr(py);
        // SAFETY: a new reference or NULL with the error set.
        unsafe { Bound::from_owned_ptr_or_opt(py, ptr) }.map(Bound::unbind)
    }
}

/// A final, frozen descriptor class whose reads enter through a raw `tp_descr_get`
/// slot.
pub trait DescrGet: PyClass<Frozen = pyo3::pyclass::boolean_struct::True> + Sync + 'static {
    /// The value for `obj` (not `None`) when it is one of the common cases that cannot
    /// fail; `None` takes [`DescrGet::get`].
    #[inline]
    fn quick(&self, _obj: &Bound<'_, PyAny>) -> Option<Quick> {
        None
    }
    /// The attribute's value for the instance `obj` (not `None`).
    fn get(slf: &Bound<'_, Self>, obj: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>>;
}

/// Installs the raw descriptor-get slot on `D` (at module initialisation, before any
/// instance of `D` exists). `D` must not be subclassable.
pub fn install_descr_get<D: DescrGet>(py: Python<'_>) {
    let tp = D::type_object(py).as_type_ptr();
    // SAFETY: the type object is initialised, final and has no instance yet; replacing
    // a slot and calling PyType_Modified is the documented way to change a type's
    // behaviour after creation.
    unsafe {
        (*tp).tp_descr_get = Some(descr_get::<D>);
        ffi::PyType_Modified(tp);
    }
}

/// # Safety
/// Called by the interpreter with the GIL held, `descr` a `D` (the slot is installed on
/// that final class only) and `obj` NULL, `None` or a live object.
unsafe extern "C" fn descr_get<D: DescrGet>(
    descr: *mut ffi::PyObject,
    obj: *mut ffi::PyObject,
    _owner: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: the interpreter holds the GIL when it calls a descriptor slot.
    let py = unsafe { Python::assume_attached() };
    if !obj.is_null() {
        // SAFETY: `descr` is a live `D` and `obj` a live object, both borrowed for the
        // call; the constructors return a new reference or NULL with the error set.
        unsafe {
            let d = Borrowed::from_ptr(py, descr).cast_unchecked::<D>();
            if let Some(q) = d.get().quick(&Borrowed::from_ptr(py, obj)) {
                return q.into_ptr(py);
            }
        }
    }
    run_slot(
        py,
        "ferrotype: a Rust panic while reading an attribute",
        || {
            // SAFETY: `descr` is a live `D` (the contract), borrowed for the call.
            let d = unsafe { Borrowed::from_ptr(py, descr).cast_unchecked::<D>() };
            // SAFETY: NULL is checked first; otherwise `obj` is a live object.
            if obj.is_null() || obj == unsafe { ffi::Py_None() } {
                return Ok(d.to_owned().into_any().unbind());
            }
            // SAFETY: a live object borrowed for the call.
            let o = unsafe { Borrowed::from_ptr(py, obj) };
            D::get(&d, &o)
        },
    )
}

/// An attribute of the instances of `Target` served by a getset descriptor, whose
/// functions CPython calls directly (PyO3's getter trampoline costs about as much as
/// the body of a plain read).
pub trait GetSet: 'static {
    /// The class whose instances have the attribute.
    type Target: PyClass;
    /// The attribute's value.
    fn get(obj: &Bound<'_, Self::Target>) -> PyResult<Py<PyAny>>;
    /// Sets the attribute (deletion is refused before this is called).
    fn set(obj: &Bound<'_, Self::Target>, value: &Bound<'_, PyAny>) -> PyResult<()>;
    /// The value on a short path, tried before [`GetSet::get`]: `None` when it does
    /// not apply, having run nothing; `Some(None)` when it raised (the error restored,
    /// as for a C slot). The slot returns its pointer without building a `PyResult`.
    #[inline(always)]
    fn quick(_obj: &Bound<'_, Self::Target>) -> Option<Option<Py<PyAny>>> {
        None
    }
    /// The error `del obj.attr` raises.
    fn delete_error() -> PyErr {
        PyTypeError::new_err("can't delete attribute")
    }
}

/// Gives `cls` the attribute `name` served by `G`. `cls` must be `G::Target` or a
/// subclass of it (checked).
pub fn install_getset<G: GetSet>(
    cls: &Bound<'_, PyType>,
    name: &'static CStr,
    doc: &'static CStr,
) -> PyResult<()> {
    let py = cls.py();
    if !cls.is_subclass_of::<G::Target>()? {
        return Err(PyTypeError::new_err(
            "ferrotype: a getset descriptor on a foreign class",
        ));
    }
    let def = Box::leak(Box::new(ffi::PyGetSetDef {
        name: name.as_ptr(),
        get: Some(getset_get::<G>),
        set: Some(getset_set::<G>),
        doc: doc.as_ptr(),
        closure: std::ptr::null_mut(),
    }));
    // SAFETY: `def` lives for the rest of the process, as a descriptor requires; the type
    // object is initialised and PyDescr_NewGetSet returns a new reference or NULL.
    let descr = unsafe {
        Bound::from_owned_ptr_or_err(py, ffi::PyDescr_NewGetSet(cls.as_type_ptr(), def))?
    };
    cls.setattr(name.to_str().unwrap_or_default(), descr)
}

/// # Safety
/// Called by CPython with the GIL held; the getset descriptor checked that `slf` is an
/// instance of the class it was installed on, a subclass of `G::Target`.
unsafe extern "C" fn getset_get<G: GetSet>(
    slf: *mut ffi::PyObject,
    _closure: *mut c_void,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls a getset getter with the GIL held.
    let py = unsafe { Python::assume_attached() };
    // As `run_slot`, with the short path's value passed on as a pointer.
    let guarded = || {
        // SAFETY: `slf` is a live instance of `G::Target` (the contract), borrowed.
        let obj = unsafe { Bound::ref_from_ptr(py, &slf).cast_unchecked::<G::Target>() };
        if let Some(v) = G::quick(obj) {
            return v.map_or(std::ptr::null_mut(), Py::into_ptr);
        }
        match G::get(obj) {
            Ok(v) => v.into_ptr(),
            Err(e) => {
                e.restore(py);
                std::ptr::null_mut()
            }
        }
    };
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(guarded)) {
        Ok(ptr) => ptr,
        Err(_) => {
            pyo3::panic::PanicException::new_err("ferrotype: a Rust panic reading an attribute")
                .restore(py);
            std::ptr::null_mut()
        }
    }
}

/// # Safety
/// As [`getset_get`]; `value` is NULL (deletion) or a live object.
unsafe extern "C" fn getset_set<G: GetSet>(
    slf: *mut ffi::PyObject,
    value: *mut ffi::PyObject,
    _closure: *mut c_void,
) -> c_int {
    // SAFETY: CPython calls a getset setter with the GIL held.
    let py = unsafe { Python::assume_attached() };
    let done = run_slot(py, "ferrotype: a Rust panic setting an attribute", || {
        if value.is_null() {
            return Err(G::delete_error());
        }
        // SAFETY: as in `getset_get`; `value` is a live object borrowed for the call.
        let (obj, value) = unsafe {
            (
                Bound::ref_from_ptr(py, &slf).cast_unchecked::<G::Target>(),
                Bound::ref_from_ptr(py, &value),
            )
        };
        G::set(obj, value)?;
        Ok(py.None())
    });
    if done.is_null() {
        -1
    } else {
        // SAFETY: `done` is the new reference to None made above.
        unsafe { ffi::Py_DECREF(done) };
        0
    }
}

// ---------------------------------------------------------------------------------
// Vectorcall.

/// A class whose instances are called through vectorcall.
pub trait Vectorcall: PyClass + 'static {
    /// `slf(*args, **kwargs)`: `args` the positional arguments, `kwargs` the keyword
    /// names and their values (`None` when there are none).
    fn call<'py>(
        slf: &Bound<'py, Self>,
        args: &[Bound<'py, PyAny>],
        kwargs: Option<(Bound<'py, PyTuple>, &[Bound<'py, PyAny>])>,
    ) -> PyResult<Py<PyAny>>;

    /// A call without keywords that the class completes on a shorter path, tried before
    /// [`Vectorcall::call`]: `None` when it does not apply, having run nothing;
    /// `Some(None)` when it raised (the error restored, as for a C slot).
    #[inline(always)]
    fn direct<'py>(
        _slf: &Bound<'py, Self>,
        _args: &[Bound<'py, PyAny>],
    ) -> Option<Option<Py<PyAny>>> {
        None
    }
}

/// The vectorcall entry point an instance stores (the type's `tp_vectorcall_offset`
/// points at it): a function pointer, laid out as one.
#[repr(transparent)]
pub struct VectorcallEntry(#[allow(dead_code)] ffi::vectorcallfunc);

impl VectorcallEntry {
    /// The entry point of class `T`.
    pub fn of<T: Vectorcall>() -> Self {
        VectorcallEntry(vectorcall::<T>)
    }
}

/// Installs the vectorcall protocol on `cls`. Needed for every subclass, because
/// CPython 3.11 does not pass `Py_TPFLAGS_HAVE_VECTORCALL` on to heap subtypes.
///
/// # Safety
/// Every instance of `cls` must hold, at byte `offset`, a [`VectorcallEntry`] made by
/// [`VectorcallEntry::of`] for a class the instance belongs to.
pub unsafe fn enable_vectorcall(cls: &Bound<'_, PyType>, offset: isize) {
    let tp = cls.as_type_ptr();
    // SAFETY: setting the slot and flag of a type before it is used, then calling
    // PyType_Modified, is how CPython itself enables vectorcall on a type; the entry at
    // `offset` is the caller's guarantee.
    unsafe {
        (*tp).tp_vectorcall_offset = offset as ffi::Py_ssize_t;
        (*tp).tp_flags |= ffi::Py_TPFLAGS_HAVE_VECTORCALL;
        ffi::PyType_Modified(tp);
    }
}

/// The vectorcall entry point of `T`: the interpreter passes the arguments as an array,
/// so no argument tuple is built for a call.
///
/// # Safety
/// Called by the interpreter with the GIL held, `callable` a `T` instance (the entry is
/// only stored in `T` instances) and `args` holding `nargs` positional and then the
/// keyword values, borrowed.
unsafe extern "C" fn vectorcall<T: Vectorcall>(
    callable: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargsf: usize,
    kwnames: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: the interpreter holds the GIL when it calls a vectorcall function.
    let py = unsafe { Python::assume_attached() };
    if kwnames.is_null() {
        // The class's short path first, its result passed in registers rather than as a
        // `PyResult`.
        let direct = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            // SAFETY: PyVectorcall_NARGS only masks the offset flag.
            let nargs = unsafe { ffi::PyVectorcall_NARGS(nargsf) } as usize;
            // SAFETY: `callable` is a live `T` (the contract), borrowed for the call.
            let slf = unsafe { Borrowed::from_ptr(py, callable).cast_unchecked::<T>() };
            let all: &[Bound<'_, PyAny>] = if nargs == 0 {
                &[]
            } else {
                // SAFETY: `args` holds `nargs` positional values, borrowed for the
                // duration of the call; Bound<PyAny> has the layout of a `*mut PyObject`.
                unsafe { std::slice::from_raw_parts(args.cast(), nargs) }
            };
            T::direct(&slf, all)
        }));
        match direct {
            Ok(Some(Some(r))) => return r.into_ptr(),
            Ok(Some(None)) => return std::ptr::null_mut(),
            Ok(None) => {}
            Err(_) => {
                pyo3::panic::PanicException::new_err(
                    "ferrotype: a Rust panic during a foreign call",
                )
                .restore(py);
                return std::ptr::null_mut();
            }
        }
    }
    run_slot(py, "ferrotype: a Rust panic during a foreign call", || {
        // SAFETY: PyVectorcall_NARGS only masks the offset flag.
        let nargs = unsafe { ffi::PyVectorcall_NARGS(nargsf) } as usize;
        // SAFETY: `callable` is a live `T` (the contract), borrowed for the call.
        let slf = unsafe { Borrowed::from_ptr(py, callable).cast_unchecked::<T>() };
        let nkw = if kwnames.is_null() {
            0
        } else {
            // SAFETY: kwnames is a tuple of the keyword names when not NULL.
            unsafe { ffi::PyTuple_GET_SIZE(kwnames) as usize }
        };
        let all: &[Bound<'_, PyAny>] = if nargs + nkw == 0 {
            &[]
        } else {
            // SAFETY: `args` holds `nargs` positional and then `nkw` keyword values,
            // borrowed for the duration of the call; Bound<PyAny> has the layout of a
            // `*mut PyObject`.
            unsafe { std::slice::from_raw_parts(args.cast(), nargs + nkw) }
        };
        let kwargs = if nkw == 0 {
            None
        } else {
            // SAFETY: kwnames is a live tuple (checked non-NULL above).
            let names = unsafe { Bound::from_borrowed_ptr(py, kwnames).cast_into_unchecked() };
            Some((names, &all[nargs..]))
        };
        T::call(&slf, &all[..nargs], kwargs)
    })
}

// ---------------------------------------------------------------------------------
// Module functions.

/// A module function entered as CPython enters its own: `METH_O` for one argument,
/// `METH_FASTCALL` (positional only) otherwise, without PyO3's keyword-capable argument
/// parsing. ctypes' `sizeof`, `addressof` (`METH_O`) and `byref` (positional only) take
/// their arguments the same way, so the argument errors are CPython's own.
pub trait RawFunction: 'static {
    /// The function's name.
    const NAME: &'static CStr;
    /// Its docstring.
    const DOC: &'static CStr;
    /// Whether it takes exactly one argument (`METH_O`; `call` gets a slice of one).
    const ONE_ARG: bool;
    /// The body, with the positional arguments.
    fn call(py: Python<'_>, args: &[Bound<'_, PyAny>]) -> PyResult<Py<PyAny>>;
}

unsafe extern "C" fn meth_o<F: RawFunction>(
    _module: *mut ffi::PyObject,
    arg: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls a METH_O function with the GIL held; nothing below drops a
    // `Py` (see `init_slot` in `objects.rs` for why that matters).
    let py = unsafe { Python::assume_attached() };
    run_slot(py, "ferrotype: a Rust panic in a module function", || {
        // SAFETY: `arg` is a live object borrowed for the call; `Bound` has the layout of
        // a pointer, so a reference to it is a one-element slice.
        let arg = unsafe { Bound::ref_from_ptr(py, &arg) };
        F::call(py, std::slice::from_ref(arg))
    })
}

unsafe extern "C" fn meth_fastcall<F: RawFunction>(
    _module: *mut ffi::PyObject,
    args: *mut *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
) -> *mut ffi::PyObject {
    // SAFETY: as in `meth_o`.
    let py = unsafe { Python::assume_attached() };
    run_slot(py, "ferrotype: a Rust panic in a module function", || {
        let all: &[Bound<'_, PyAny>] = if nargs <= 0 {
            &[]
        } else {
            // SAFETY: `args` holds `nargs` live objects borrowed for the call; `Bound`
            // has the layout of a `*mut PyObject`.
            unsafe { std::slice::from_raw_parts(args.cast(), nargs as usize) }
        };
        F::call(py, all)
    })
}

/// The builtin function object of `F`, bound to module `m` (its `__module__` and
/// `__self__`, as for CPython's own module functions).
pub fn raw_function<'py, F: RawFunction>(
    m: &Bound<'py, pyo3::types::PyModule>,
) -> PyResult<Bound<'py, PyAny>> {
    let meth = if F::ONE_ARG {
        ffi::PyMethodDefPointer {
            PyCFunction: meth_o::<F>,
        }
    } else {
        ffi::PyMethodDefPointer {
            PyCFunctionFast: meth_fastcall::<F>,
        }
    };
    // The definition must outlive the function object; module functions live as long as
    // the process (one small record per function, made once at import).
    let def = Box::leak(Box::new(ffi::PyMethodDef {
        ml_name: F::NAME.as_ptr(),
        ml_meth: meth,
        ml_flags: if F::ONE_ARG {
            ffi::METH_O
        } else {
            ffi::METH_FASTCALL
        },
        ml_doc: F::DOC.as_ptr(),
    }));
    let name = m.name()?;
    // SAFETY: `def` is a valid, 'static method definition whose flags match its
    // function's signature; the module and its name are live objects. The result is a
    // new reference or NULL with an exception set.
    unsafe {
        let f = ffi::PyCFunction_NewEx(def, m.as_ptr(), name.as_ptr());
        Bound::from_owned_ptr_or_err(m.py(), f)
    }
}
