//! Callbacks: `CFUNCTYPE(restype, *argtypes)(callable)` makes a C function pointer
//! (a libffi closure, see `ferrotype_core::closure`) that calls a Python callable.
//!
//! On each call from C: the GIL is taken (also on threads Python did not create), the
//! arguments are converted (simple types to Python values, anything else to an instance
//! holding a copy of the bytes, as ctypes does), the callable is called, and its result
//! is stored as the declared `restype`. An exception, or a result that does not
//! convert, is reported through `sys.unraisablehook` with ctypes' messages, and C gets
//! a zero result. With `use_errno`, the private errno is swapped in around the call.
//!
//! Debug mode (`ferrotype.debug_callbacks(True)` or `FERROTYPE_DEBUG_CALLBACKS=1`): a
//! callback object that is freed keeps its trampoline allocated and marked dead, so C
//! code calling it later reaches a stub that raises `RuntimeError` in the foreign call
//! that triggered it (or reports it through the unraisable hook on other threads)
//! instead of jumping into freed memory. The cost is the trampoline and a few words
//! leaked per freed callback, and one flag check per foreign call.

use std::cell::Cell;
use std::ffi::c_void;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use ferrotype_core::closure::{write_int_result, write_word_result, Closure, Handle};
use ferrotype_core::typecode::ValueKind;
use ferrotype_core::{errno, memory, CallInterface, FfiType, RetBuf, TypeCode};
use pyo3::exceptions::{PyRuntimeError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::PyType;

use crate::capi;
use crate::capi::gilcell::GilSlot;
use crate::codec::scalar::{int_bits, load, store};
use crate::model::cdata::{refill, reusable, CData};
use crate::model::errors::{by_value_error, CoreResultExt};
use crate::model::registry::instantiate;
use crate::model::stginfo::{info_of, Kind, StgInfo};

/// Whether debug mode is on.
static DEBUG: AtomicBool = AtomicBool::new(false);

thread_local! {
    /// Set while this thread is inside a foreign call made in debug mode.
    static IN_CALL: Cell<bool> = const { Cell::new(false) };
    /// The error a dead callback left for the foreign call on this thread.
    static PENDING: Cell<Option<&'static str>> = const { Cell::new(None) };
}

const DEAD_MESSAGE: &str = "ferrotype: a callback was called after its CFUNCTYPE object was \
     freed (keep a reference to callback objects for as long as C code may call them)";

/// `ferrotype.debug_callbacks(on)`: switches debug mode; returns the previous setting.
#[pyfunction]
pub fn debug_callbacks(on: bool) -> bool {
    DEBUG.swap(on, Ordering::Relaxed)
}

/// `_native._set_callback_trampolines(on)`, for tests and comparisons: whether callbacks
/// made from now on may enter through ferrotype's own trampolines (x86-64 Linux,
/// register-only signatures) rather than libffi's closures; returns the previous setting.
#[pyfunction]
#[pyo3(name = "_set_callback_trampolines")]
pub fn set_callback_trampolines(on: bool) -> bool {
    ferrotype_core::closure::set_trampolines(on)
}

/// `_native._callback_trampoline(thunk)`, for tests: whether the callback owned by
/// `thunk` (a callback's `_objects['0']`) enters through a trampoline of ferrotype's
/// own.
#[pyfunction]
#[pyo3(name = "_callback_trampoline")]
pub fn callback_trampoline(thunk: &Bound<'_, CThunkObject>) -> bool {
    thunk
        .get()
        .callback
        .as_ref()
        .is_some_and(Callback::is_trampoline)
}

/// Whether debug mode is on (read on every foreign call).
#[inline]
pub fn debug_enabled() -> bool {
    DEBUG.load(Ordering::Relaxed)
}

/// Marks the start of a foreign call in debug mode.
pub fn enter_call() {
    IN_CALL.with(|c| c.set(true));
}

/// Marks the end of a foreign call in debug mode: the error a dead callback left, if
/// any.
pub fn leave_call() -> PyResult<()> {
    IN_CALL.with(|c| c.set(false));
    match PENDING.with(Cell::take) {
        Some(msg) => Err(PyRuntimeError::new_err(msg)),
        None => Ok(()),
    }
}

/// How one C argument becomes a Python object.
enum ArgConv {
    /// A simple type deriving directly from `_SimpleCData`: its Python value.
    Value { code: TypeCode, swapped: bool },
    /// Any other ferrotype type: an instance holding a copy of the bytes. `spare` keeps
    /// the instance of the previous call when nothing else kept it (see
    /// `model::cdata::reusable`), to be refilled instead of making a new one.
    Instance {
        cls: Py<PyType>,
        info: Py<StgInfo>,
        /// The type's size.
        size: usize,
        /// Whether an instance may be reused at all: not when the class adds
        /// `__slots__`, whose values [`reusable`] does not look at.
        reuse: bool,
        spare: GilSlot,
    },
}

/// How the Python result is stored for C.
enum RetConv {
    Void,
    /// `word`: an integer type of four bytes or more in native byte order, whose
    /// one-digit int results (|v| < 2**30) are written as the register word without a
    /// range check (`signed`: also negative ones).
    Value {
        code: TypeCode,
        swapped: bool,
        word: bool,
        signed: bool,
    },
}

/// What a callback's closure holds.
pub struct Thunk {
    callable: GilSlot,
    args: Vec<ArgConv>,
    ret: RetConv,
    use_errno: bool,
    dead: AtomicBool,
}

// SAFETY: the Python objects inside are only touched with the GIL held (the handler
// attaches to the interpreter first); the rest is plain data.
unsafe impl Send for Thunk {}
// SAFETY: as above.
unsafe impl Sync for Thunk {}

impl Thunk {
    /// Visits the callable for the garbage collector (a callable that refers back to
    /// the callback object, like a bound method of an object holding it, is a cycle).
    pub fn traverse(&self, visit: &pyo3::PyVisit<'_>) -> Result<(), pyo3::PyTraverseError> {
        self.callable.traverse(visit)
    }
}

/// A callback's closure.
pub type Callback = Closure<Thunk>;

/// ctypes' `CThunkObject`: the object owning a callback's closure (its trampoline). The
/// callback object keeps it, and so does its `_objects` (`{'0': thunk}`), which is what
/// memory the callback is stored into keeps: the trampoline lives as long as anything
/// that refers to it. When the thunk is freed the closure is released (see `release`).
#[pyclass(frozen, module = "ferrotype._native", name = "CThunkObject")]
pub struct CThunkObject {
    callback: Option<Callback>,
}

impl CThunkObject {
    /// The thunk owning `cb`.
    pub fn new(py: Python<'_>, cb: Callback) -> PyResult<Py<CThunkObject>> {
        Py::new(py, CThunkObject { callback: Some(cb) })
    }

    /// The address C calls.
    pub fn code_ptr(&self) -> usize {
        self.callback
            .as_ref()
            .map_or(0, |cb| cb.code_ptr() as usize)
    }
}

impl Drop for CThunkObject {
    fn drop(&mut self) {
        if let Some(cb) = self.callback.take() {
            Python::attach(|py| release(py, cb));
        }
    }
}

#[pymethods]
impl CThunkObject {
    /// Visits the callable (a callable referring back to the callback object is a cycle).
    fn __traverse__(&self, visit: pyo3::PyVisit<'_>) -> Result<(), pyo3::PyTraverseError> {
        if let Some(cb) = &self.callback {
            cb.user().traverse(&visit)?;
        }
        Ok(())
    }
}

/// Builds the closure calling `callable` with the signature of a `CFUNCTYPE` class
/// (`restype` and `argtypes` as the class declares them).
pub fn make(
    callable: &Bound<'_, PyAny>,
    restype: Option<&Bound<'_, PyAny>>,
    argtypes: Option<&Bound<'_, PyAny>>,
    use_errno: bool,
) -> PyResult<Callback> {
    let py = callable.py();
    let mut args = Vec::new();
    let mut ffis = Vec::new();
    if let Some(at) = argtypes {
        for t in at.try_iter()? {
            let t = t?;
            let info = info_of(&t)
                .filter(|_| t.is_instance_of::<PyType>())
                .ok_or_else(|| PyTypeError::new_err("cannot build parameter"))?;
            let i = info.get();
            if matches!(i.kind(), Kind::Struct | Kind::Union)
                && i.ffi == FfiType::Void
                && i.size > 0
            {
                return Err(by_value_error());
            }
            ffis.push(i.ffi.clone());
            args.push(if let Some(code) = i.value_code() {
                ArgConv::Value {
                    code,
                    swapped: i.swapped,
                }
            } else {
                let cls = t.cast_into::<PyType>()?;
                ArgConv::Instance {
                    reuse: !declares_slots(&cls)?,
                    cls: cls.unbind(),
                    size: i.size,
                    info: info.unbind(),
                    spare: GilSlot::new(),
                }
            });
        }
    }
    let (ret, ret_ffi) = match restype.filter(|r| !r.is_none()) {
        None => (RetConv::Void, FfiType::Void),
        Some(r) => {
            let info = info_of(r)
                .ok_or_else(|| PyTypeError::new_err("invalid result type for callback function"))?;
            let i = info.get();
            let code = i
                .code()
                .ok_or_else(|| PyTypeError::new_err("invalid result type for callback function"))?;
            (
                RetConv::Value {
                    code,
                    swapped: i.swapped,
                    word: !i.swapped && code.is_integer() && code.size() >= 4,
                    signed: code.kind() == ValueKind::Signed,
                },
                i.ffi.clone(),
            )
        }
    };
    let cif: Arc<CallInterface> = CallInterface::cached(&ret_ffi, &ffis, None).py()?;
    let slot = GilSlot::new();
    slot.set(py, Some(callable.clone().unbind()));
    Closure::with_handle(
        cif,
        Thunk {
            callable: slot,
            args,
            ret,
            use_errno,
            dead: AtomicBool::new(false),
        },
    )
    .py()
}

/// Whether `cls` or a class it derives from declares `__slots__` (whose values
/// `model::cdata::reusable` does not look at).
fn declares_slots(cls: &Bound<'_, PyType>) -> PyResult<bool> {
    let name = pyo3::intern!(cls.py(), "__slots__");
    for base in cls.mro() {
        if base
            .getattr(pyo3::intern!(cls.py(), "__dict__"))?
            .contains(name)?
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Called when the callback object is freed: in debug mode the closure stays
/// allocated, marked dead, and the callable is released; otherwise it is freed.
pub fn release(py: Python<'_>, cb: Callback) {
    if debug_enabled() {
        cb.user().dead.store(true, Ordering::Relaxed);
        cb.user().callable.set(py, None);
        std::mem::forget(cb);
    } else {
        drop(cb);
    }
}

impl Handle for Thunk {
    #[inline(always)]
    fn handle(&self, args: &[*const c_void], ret: *mut u8) {
        handle(self, args, ret);
    }
}

#[inline(always)]
fn handle(t: &Thunk, args: &[*const c_void], ret: *mut u8) {
    // Attaches to the interpreter on any thread, Python's or not. If that fails (the
    // interpreter finalizes), the result stays zero.
    let _ = capi::gil::attach_callback(|py| handle_attached(py, t, args, ret));
}

fn handle_attached(py: Python<'_>, t: &Thunk, args: &[*const c_void], ret: *mut u8) {
    {
        if t.dead.load(Ordering::Relaxed) {
            if IN_CALL.with(Cell::get) {
                PENDING.with(|p| p.set(Some(DEAD_MESSAGE)));
            } else {
                PyRuntimeError::new_err(DEAD_MESSAGE).write_unraisable(py, None);
            }
            return;
        }
        if t.use_errno {
            errno::swap();
        }
        run(py, t, args, ret);
        if t.use_errno {
            errno::swap();
        }
    }
}

fn run(py: Python<'_>, t: &Thunk, args: &[*const c_void], ret: *mut u8) {
    let Some(callable) = t.callable.get(py) else {
        return;
    };
    let raw = call_with_args(py, t, &callable, args);
    if raw.is_null() {
        let e = PyErr::fetch(py);
        capi::private::write_unraisable(py, e, capi::version::CALLBACK_CALL_FAILED, &callable);
        return;
    }
    // SAFETY: a new reference (not NULL, checked just above).
    let result = unsafe { Bound::from_owned_ptr(py, raw) };
    if let RetConv::Value {
        code,
        swapped,
        word,
        signed,
    } = t.ret
    {
        if word {
            // The common case: an int of one digit (|v| < 2**30) fits every integer type
            // of four bytes or more, unsigned ones when it is not negative.
            if let Some(v) = capi::values::exact_compact_i64(&result) {
                if signed || v >= 0 {
                    // SAFETY: `ret` is the closure's result buffer; `v` is its own sign
                    // or zero extension from 4 bytes or more.
                    unsafe { write_word_result(ret, v) };
                    return;
                }
            }
        }
        if let Err(e) = store_result(py, code, swapped, &result, ret) {
            capi::private::write_unraisable(
                py,
                e,
                capi::version::CALLBACK_RESULT_FAILED,
                &callable,
            );
        }
    }
}

/// Up to this many arguments are converted into an array on the stack.
const INLINE_ARGS: usize = 8;

/// Converts the arguments and calls the callable through vectorcall (no tuple; the
/// converted arguments live on the stack for up to eight arguments). An instance
/// argument nothing else kept is kept as the next call's spare. The result: a new
/// reference, or NULL with an exception set (no `PyResult` to carry through memory).
#[inline(always)]
fn call_with_args(
    py: Python<'_>,
    t: &Thunk,
    callable: &Bound<'_, PyAny>,
    args: &[*const c_void],
) -> capi::values::RawObject {
    let n = t.args.len().min(args.len());
    if n > INLINE_ARGS {
        return match call_with_many(py, t, callable, args) {
            Ok(r) => r.into_ptr(),
            Err(e) => {
                e.restore(py);
                std::ptr::null_mut()
            }
        };
    }
    let mut ptrs: [capi::values::RawObject; INLINE_ARGS + 1] =
        [std::ptr::null_mut(); INLINE_ARGS + 1];
    for ((slot, conv), &p) in ptrs[1..].iter_mut().zip(&t.args).zip(args) {
        if let ArgConv::Instance { spare, size, .. } = conv {
            if let Some(obj) = spare.take(py) {
                // SAFETY: the spare was checked `reusable` when it was kept: an instance
                // of its ferrotype class that nothing else can reach (so it is still
                // one), with inline bytes of the type's size, which the argument holds.
                unsafe { refill(py, obj.cast_unchecked::<CData>().get(), p.cast(), *size) };
                *slot = obj.into_ptr();
                continue;
            }
        }
        match arg_value(py, conv, p.cast()) {
            Ok(v) => *slot = v.into_ptr(),
            Err(e) => {
                for &made in &ptrs[1..] {
                    if !made.is_null() {
                        // SAFETY: an owned reference made above, released once.
                        drop(unsafe { Bound::from_owned_ptr(py, made) });
                    }
                }
                e.restore(py);
                return std::ptr::null_mut();
            }
        }
    }
    // SAFETY: `ptrs` has `n + 1 <= INLINE_ARGS + 1` slots, `ptrs[1..=n]` the arguments
    // made above (live: owned here); the GIL is held.
    let raw = unsafe { capi::values::vectorcall_offset(callable, ptrs.as_mut_ptr(), n) };
    for (conv, &obj) in t.args.iter().zip(&ptrs[1..=n]) {
        // SAFETY: each argument's owned reference made above, handed on once.
        let obj = unsafe { Bound::from_owned_ptr(py, obj) };
        if let ArgConv::Instance {
            cls, spare, reuse, ..
        } = conv
        {
            if *reuse && reusable(&obj, cls.bind(py)) {
                spare.set(py, Some(obj.unbind()));
            }
        }
    }
    raw
}

/// [`call_with_args`] for more than [`INLINE_ARGS`] arguments (their array on the heap).
#[cold]
fn call_with_many<'py>(
    py: Python<'py>,
    t: &Thunk,
    callable: &Bound<'py, PyAny>,
    args: &[*const c_void],
) -> PyResult<Bound<'py, PyAny>> {
    let n = t.args.len().min(args.len());
    capi::values::vectorcall_made(
        callable,
        n,
        |i| Ok(arg_value(py, &t.args[i], args[i].cast())?.into_bound(py)),
        |i, obj| {
            if let ArgConv::Instance {
                cls, spare, reuse, ..
            } = &t.args[i]
            {
                if *reuse && reusable(&obj, cls.bind(py)) {
                    spare.set(py, Some(obj.unbind()));
                }
            }
        },
    )
}

fn arg_value(py: Python<'_>, conv: &ArgConv, p: *const u8) -> PyResult<Py<PyAny>> {
    match conv {
        // SAFETY: libffi passes a pointer to a value of the declared type.
        ArgConv::Value { code, swapped } => unsafe { load(py, p, *code, *swapped) },
        ArgConv::Instance {
            cls,
            info,
            spare,
            size,
            ..
        } => {
            if let Some(obj) = spare.take(py) {
                // SAFETY: as in `call_with_args`: a `reusable` instance of `cls`, with
                // inline bytes of the type's size, which the argument holds.
                unsafe { refill(py, obj.cast_unchecked::<CData>().get(), p, *size) };
                return Ok(obj.unbind());
            }
            new_instance(cls.bind(py), info.bind(py), p)
        }
    }
}

/// A new instance of `cls` holding a copy of the `info.size` bytes at `p`.
#[inline(never)]
fn new_instance(
    cls: &Bound<'_, PyType>,
    info: &Bound<'_, StgInfo>,
    p: *const u8,
) -> PyResult<Py<PyAny>> {
    let mut cd = CData::for_type(info)?;
    // SAFETY: the argument holds a value of this type (`size` bytes); the new instance
    // owns at least `size` bytes.
    unsafe { memory::copy_bytes(p, cd.unplaced_ptr(), info.get().size) };
    Ok(instantiate(cls, cd)?.unbind())
}

fn store_result(
    py: Python<'_>,
    code: TypeCode,
    swapped: bool,
    value: &Bound<'_, PyAny>,
    ret: *mut u8,
) -> PyResult<()> {
    if !swapped && code.is_integer() && value.is_exact_instance_of::<pyo3::types::PyInt>() {
        // The common case, an int result: its low bits as `codec::scalar::store` takes
        // them (strict mode's error is left to it), written straight into the result.
        if let Ok(v) = int_bits(value, code) {
            let signed = code.kind() == ValueKind::Signed;
            // SAFETY: `ret` is the closure's result buffer.
            unsafe { write_int_result(ret, v, code.size(), signed) };
            return Ok(());
        }
    }
    // 32 bytes, 16-aligned: room for any simple type, `long double _Complex` included.
    let mut buf = RetBuf::default();
    let p = buf.as_mut_ptr();
    // SAFETY: the buffer holds 32 bytes, enough for any simple type.
    let keep = unsafe { store(p, code, swapped, value)? };
    if let Some(k) = keep {
        // The C side keeps the stored pointer: the object it points into must live on
        // (ctypes leaks it too, and warns unless it is a `py_object` reference).
        if code != TypeCode::PyObject {
            pyo3::PyErr::warn(
                py,
                &py.get_type::<pyo3::exceptions::PyRuntimeWarning>(),
                c"memory leak in callback function.",
                1,
            )?;
        }
        std::mem::forget(k);
    }
    let size = code.size();
    match code.kind() {
        ValueKind::Signed | ValueKind::Unsigned | ValueKind::Bool if !swapped => {
            // SAFETY: the slot holds `size` bytes of the value.
            let bits = unsafe { memory::read_bits(p, size, false) };
            // SAFETY: `ret` is the closure's result buffer.
            unsafe { write_int_result(ret, bits, size, code.kind() == ValueKind::Signed) };
        }
        // SAFETY: `ret` has room for the result type; the slot holds `size` bytes.
        _ => unsafe { memory::copy_bytes(p, ret, size) },
    }
    Ok(())
}
