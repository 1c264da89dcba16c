//! Python values read and made through CPython's C API where PyO3's safe API costs
//! more than the operation: exact ints and floats, type checks without
//! `__instancecheck__`, objects at raw addresses, wide strings, the recursion guard and
//! vectorcall with the argument-offset flag.

use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering};

use pyo3::ffi;
use pyo3::prelude::*;

use super::version;
use pyo3::types::{PyFloat, PyInt, PyList, PyTuple};

/// The value of `obj` if it is an exact `int` within `i64`; `None` for anything else
/// (subclasses, other types, larger ints), which the caller converts the general way.
#[inline]
pub fn exact_i64(obj: &Bound<'_, PyAny>) -> Option<i64> {
    if !obj.is_exact_instance_of::<PyInt>() {
        return None;
    }
    if COMPACT_INTS.load(Ordering::Relaxed) {
        // SAFETY: `obj` is an exact int, and the layout was checked at import.
        if let Some(v) = unsafe { compact_value(obj.as_ptr()) } {
            return Some(v);
        }
    }
    let mut overflow: std::ffi::c_int = 0;
    // SAFETY: `obj` is an exact int, for which the call cannot fail; it reports values
    // beyond 64 bits through `overflow`.
    let v = unsafe { ffi::PyLong_AsLongLongAndOverflow(obj.as_ptr(), &mut overflow) };
    (overflow == 0).then_some(v)
}

/// The value of `obj` if it is an exact `int` of at most one digit (`|v| < 2**30`);
/// `None` for anything else. The cheapest test there is, for callers with a general
/// path behind it.
#[inline(always)]
pub fn exact_compact_i64(obj: &Bound<'_, PyAny>) -> Option<i64> {
    if !obj.is_exact_instance_of::<PyInt>() || !COMPACT_INTS.load(Ordering::Relaxed) {
        return None;
    }
    // SAFETY: `obj` is an exact int, and the layout was checked at import.
    unsafe { compact_value(obj.as_ptr()) }
}

/// Whether [`compact_value`] reads ints right on this interpreter (checked once, at
/// import, by [`check_compact_ints`]).
static COMPACT_INTS: AtomicBool = AtomicBool::new(false);

/// The value of an int of at most one digit, read from the object itself as CPython's
/// own inline helpers read it (`_PyLong_IsCompact`/`_PyLong_CompactValue` on 3.12+,
/// `ob_size` and the first digit on 3.11); `None` for larger ints.
///
/// # Safety
/// `obj` must be a live exact `int` on an interpreter whose layout
/// [`check_compact_ints`] confirmed (30-bit digits in `u32`s after the header word).
#[inline]
unsafe fn compact_value(obj: *mut ffi::PyObject) -> Option<i64> {
    let base = obj.cast::<u8>();
    let head = std::mem::size_of::<ffi::PyObject>();
    // SAFETY: an int object is at least its header, the size or tag word after it, and
    // one digit (CPython always allocates one); the digit is read only when the
    // size or tag says there is one.
    unsafe {
        let word = base.add(head).cast::<isize>().read();
        let digit = || i64::from(base.add(head + 8).cast::<u32>().read());
        if version::INT_SIGN_IN_TAG {
            // lv_tag: digit count above the three low bits; sign in the low two
            // (0 positive, 1 zero, 2 negative).
            let tag = word as usize;
            if tag >= 2 << 3 {
                return None;
            }
            match tag & 3 {
                0 => Some(digit()),
                2 => Some(-digit()),
                _ => Some(0),
            }
        } else {
            match word {
                0 => Some(0),
                1 => Some(digit()),
                -1 => Some(-digit()),
                _ => None,
            }
        }
    }
}

/// Enables [`compact_value`] if it reads a set of ints (zero, both signs, one and two
/// digits) as `PyLong_AsLongLong` does; otherwise `exact_i64` keeps using the C API.
pub fn check_compact_ints(py: Python<'_>) {
    let samples: [i64; 9] = [
        0,
        1,
        -1,
        7,
        -12345,
        (1 << 30) - 1,
        -((1 << 30) - 1),
        1 << 30,
        -(1 << 40),
    ];
    let ok = samples.iter().all(|&v| {
        let Ok(obj) = v.into_pyobject(py);
        // SAFETY: `obj` is a live exact int; the header word and first digit are
        // allocated for every int, whatever the layout (see `compact_value`).
        let read = unsafe { compact_value(obj.as_ptr()) };
        match read {
            Some(r) => r == v,
            // Only ints beyond one 30-bit digit may need the general path.
            None => v.unsigned_abs() >= 1 << 30,
        }
    });
    COMPACT_INTS.store(ok && cfg!(target_pointer_width = "64"), Ordering::Relaxed);
}

/// The ints every CPython version keeps as shared singletons (`PyLong_FromLong` returns
/// the same object for each of these values), held here from import on so that a
/// result in this range costs a reference instead of a call.
const SMALL_INT_LO: i64 = -5;
const SMALL_INT_COUNT: usize = 262; // -5..=256
static SMALL_INTS: [AtomicPtr<ffi::PyObject>; SMALL_INT_COUNT] =
    [const { AtomicPtr::new(std::ptr::null_mut()) }; SMALL_INT_COUNT];

/// Fills the table [`small_int`] reads, once at import; each entry is a strong
/// reference, never released (the objects are the interpreter's own singletons).
pub fn init_small_ints(py: Python<'_>) {
    for (i, slot) in SMALL_INTS.iter().enumerate() {
        let Ok(obj) = (SMALL_INT_LO + i as i64).into_pyobject(py);
        slot.store(obj.into_ptr(), Ordering::Relaxed);
    }
}

/// `v` as an int object if it is one of the shared small ints (`-5..=256`): the same
/// object `PyLong_FromLong(v)` returns, for a reference count. `None` otherwise (or
/// before [`init_small_ints`] ran).
#[inline(always)]
pub fn small_int(py: Python<'_>, v: i64) -> Option<Bound<'_, PyAny>> {
    // (One unsigned comparison covers both ends of the range.)
    let slot = SMALL_INTS.get(v.wrapping_sub(SMALL_INT_LO) as usize)?;
    let p = slot.load(Ordering::Relaxed);
    if p.is_null() {
        return None;
    }
    // SAFETY: a live int object: the table holds a strong reference to it for the life
    // of the process; the GIL is held (`py`), and the new reference is counted.
    Some(unsafe { Bound::from_borrowed_ptr(py, p) })
}

/// A new `float` (`PyFloat_FromDouble`, called straight: this is on every call that
/// returns a `double`). `None` only if the allocation failed (the error set).
#[inline(always)]
pub fn new_float(py: Python<'_>, v: f64) -> Option<Bound<'_, PyAny>> {
    // SAFETY: the GIL is held (`py`); the call returns a new reference or NULL with an
    // error set.
    unsafe { Bound::from_owned_ptr_or_opt(py, ffi::PyFloat_FromDouble(v)) }
}

/// The low 64 bits of an integer, as C keeps them when converting to a 64-bit unsigned
/// type: any `int`, or an object with `__index__` (`PyLong_AsUnsignedLongLongMask`, the
/// conversion ctypes' integer setters use); its TypeError otherwise ("'float' object
/// cannot be interpreted as an integer").
pub fn int_low_bits(obj: &Bound<'_, PyAny>) -> PyResult<u64> {
    // SAFETY: `obj` is a live object and the GIL is held (`Bound`); the call returns
    // `u64::MAX` with an exception set on failure.
    let v = unsafe { ffi::PyLong_AsUnsignedLongLongMask(obj.as_ptr()) };
    if v == u64::MAX {
        if let Some(e) = PyErr::take(obj.py()) {
            return Err(e);
        }
    }
    Ok(v)
}

/// An `int` as CPython converts it to a pointer (`PyLong_AsVoidPtr`, what ctypes uses
/// for `from_address` and function addresses): a negative value wraps, and one that fits
/// neither `unsigned long` nor `long` raises its OverflowError ("Python int too large to
/// convert to C unsigned long").
pub fn void_ptr_value(obj: &Bound<'_, PyAny>) -> PyResult<usize> {
    // SAFETY: `obj` is a live object and the GIL is held; the call returns NULL with an
    // exception set on failure (NULL is also the value of 0, told apart by the error).
    let p = unsafe { ffi::PyLong_AsVoidPtr(obj.as_ptr()) };
    if p.is_null() {
        if let Some(e) = PyErr::take(obj.py()) {
            return Err(e);
        }
    }
    Ok(p as usize)
}

/// A size or offset argument converted as CPython's `n` argument format converts it (what
/// ctypes' `byref`, `resize` and `from_buffer` use): `__index__`, then `Py_ssize_t`, with
/// its OverflowError ("Python int too large to convert to C ssize_t").
#[derive(Clone, Copy)]
pub struct Ssize(pub isize);

impl<'a, 'py> FromPyObject<'a, 'py> for Ssize {
    type Error = PyErr;

    fn extract(obj: pyo3::Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        let py = obj.py();
        // SAFETY: `obj` is a live object and the GIL is held; the call returns a new
        // reference, or NULL with an exception set.
        let index = unsafe { ffi::PyNumber_Index(obj.as_ptr()) };
        if index.is_null() {
            return Err(PyErr::fetch(py));
        }
        // SAFETY: `index` is the new, non-NULL reference just returned.
        let index = unsafe { Bound::from_owned_ptr(py, index) };
        // SAFETY: `index` is an int; the call returns -1 with an exception set on overflow.
        let v = unsafe { ffi::PyLong_AsSsize_t(index.as_ptr()) };
        if v == -1 {
            if let Some(e) = PyErr::take(py) {
                return Err(e);
            }
        }
        Ok(Ssize(v))
    }
}

/// The value of `obj` if it is an exact `float`.
#[inline]
pub fn exact_f64(obj: &Bound<'_, PyAny>) -> Option<f64> {
    if !obj.is_exact_instance_of::<PyFloat>() {
        return None;
    }
    // SAFETY: `obj` is an exact float.
    Some(unsafe { ffi::PyFloat_AS_DOUBLE(obj.as_ptr()) })
}

/// `obj` as a C complex number, by the interpreter's own rule (`PyComplex_AsCComplex`,
/// what ctypes' complex types use): a complex, `__complex__`, else anything that is a
/// real number (`__float__`, `__index__`); its TypeError otherwise ("must be real
/// number, not str").
pub fn complex_value(obj: &Bound<'_, PyAny>) -> PyResult<(f64, f64)> {
    // SAFETY: `obj` is a live object and the GIL is held (`Bound`); the call returns
    // `-1.0` as the real part with an exception set on failure.
    let c = unsafe { ffi::PyComplex_AsCComplex(obj.as_ptr()) };
    if c.real == -1.0 {
        if let Some(e) = PyErr::take(obj.py()) {
            return Err(e);
        }
    }
    Ok((c.real, c.imag))
}

/// Whether `obj`'s type is `cls` or a subclass of it, without `__instancecheck__`
/// (ferrotype's metaclasses define none, so this is `isinstance` for its types at a
/// fraction of the cost).
#[inline]
pub fn is_instance_of_type(obj: &Bound<'_, PyAny>, cls: &Bound<'_, PyAny>) -> bool {
    // SAFETY: both pointers are live objects; `cls` is only compared, or read as a type
    // after the check that it is one.
    unsafe {
        let tp = ffi::Py_TYPE(obj.as_ptr());
        if tp.cast::<ffi::PyObject>() == cls.as_ptr() {
            return true;
        }
        ffi::PyType_Check(cls.as_ptr()) != 0 && ffi::PyType_IsSubtype(tp, cls.as_ptr().cast()) != 0
    }
}

/// The `tp_name` of `obj`'s type, as CPython's messages print it with `%s`: the bare
/// name for a class made by a `class` statement, `module.Name` for a type made in C
/// (`_ctypes.CArgObject`), the bare name for built-in types (`int`).
/// Whether instances of `cls` take attribute assignments through
/// `object.__setattr__` (no class in its MRO defines `__setattr__`): then an assignment
/// calls the data descriptor `_PyType_Lookup` finds for the name, and nothing else.
#[inline]
pub fn generic_setattr(cls: &Bound<'_, pyo3::types::PyType>) -> bool {
    // SAFETY: reading a slot of a live type object.
    let slot = unsafe { (*cls.as_type_ptr()).tp_setattro };
    slot.is_some_and(|f| f as usize == ffi::PyObject_GenericSetAttr as *const () as usize)
}

pub fn tp_name(obj: &Bound<'_, PyAny>) -> String {
    // SAFETY: every live type has a NUL-terminated `tp_name` that lives as long as the
    // type, which `obj` keeps alive while the string is copied.
    unsafe {
        let tp = ffi::Py_TYPE(obj.as_ptr());
        let name = (*tp).tp_name;
        if name.is_null() {
            return String::new();
        }
        std::ffi::CStr::from_ptr(name)
            .to_string_lossy()
            .into_owned()
    }
}

/// Runs `f` one level deeper in the interpreter's recursion count, so that a chain
/// that never ends (an `_as_parameter_` returning itself) raises `RecursionError`
/// instead of exhausting the stack.
pub fn nested<T>(py: Python<'_>, f: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    // SAFETY: the GIL is held (token); the call only bumps the thread's recursion
    // depth and sets RecursionError when the limit is reached.
    if unsafe { ffi::Py_EnterRecursiveCall(c" while converting _as_parameter_".as_ptr()) } != 0 {
        return Err(PyErr::fetch(py));
    }
    let r = f();
    // SAFETY: pairs with the successful Py_EnterRecursiveCall above.
    unsafe { ffi::Py_LeaveRecursiveCall() };
    r
}

/// The object whose address is `addr`, as a new reference (a `py_object` value read
/// from memory).
///
/// # Safety
/// `addr` must be the address of a live Python object.
pub unsafe fn object_at(py: Python<'_>, addr: usize) -> Bound<'_, PyAny> {
    // SAFETY: the caller guarantees a live object; a new reference is taken.
    unsafe { Bound::from_borrowed_ptr(py, addr as *mut ffi::PyObject) }
}

/// Drops one reference to `obj` that the caller does not own (ctypes'
/// `_ctypes.Py_DECREF`), after taking a new one for the result, so the object lives at
/// least as long as the returned handle.
///
/// # Safety
/// Some other holder of `obj` must have a reference to give up (one taken with
/// `_ctypes.Py_INCREF`, say); otherwise the object is freed while still in use.
pub unsafe fn release_reference<'py>(obj: &Bound<'py, PyAny>) -> Bound<'py, PyAny> {
    let result = obj.clone();
    // SAFETY: `result` keeps the object alive across the call; the caller vouches for
    // the reference dropped here.
    unsafe { ffi::Py_DecRef(obj.as_ptr()) };
    result
}

/// Takes over the reference at `addr` (a `py_object` function result, which is a new
/// reference); NULL gives the pending exception, or `None` if there is none.
///
/// # Safety
/// `addr` must be 0 or the address of a live object whose reference the caller owns
/// and hands over.
pub unsafe fn take_object_at(py: Python<'_>, addr: usize) -> Option<PyResult<Bound<'_, PyAny>>> {
    if addr == 0 {
        return PyErr::take(py).map(Err);
    }
    // SAFETY: the caller hands over an owned reference to a live object.
    Some(Ok(unsafe {
        Bound::from_owned_ptr(py, addr as *mut ffi::PyObject)
    }))
}

/// A Python str from `len` `wchar_t` units at `ptr`.
///
/// # Safety
/// `ptr` must be valid for reads of `len` wide characters.
pub unsafe fn str_from_wide(
    py: Python<'_>,
    ptr: *const libc::wchar_t,
    len: usize,
) -> PyResult<Py<PyAny>> {
    // CPython reads every unit (for the widest character) before it allocates the
    // string. For a long one, first make sure the string's largest size can be had:
    // MemoryError then, before anything is read (`wstring_at(buf, 2**40)`), as
    // `string_at` gets it from `PyBytes_FromStringAndSize`, which allocates first.
    if len >= 1 << 18 {
        let most = len.checked_mul(4).filter(|&n| n <= isize::MAX as usize);
        // SAFETY: PyMem_Malloc may be called with the GIL held (`py`); the block, if
        // any, is freed at once and never read.
        let probe = most.map_or(std::ptr::null_mut(), |n| unsafe { ffi::PyMem_Malloc(n) });
        if probe.is_null() {
            return Err(pyo3::exceptions::PyMemoryError::new_err(()));
        }
        // SAFETY: `probe` came from PyMem_Malloc just above.
        unsafe { ffi::PyMem_Free(probe) };
    }
    // SAFETY: the caller guarantees `len` readable units; the API copies them.
    let raw = unsafe { ffi::PyUnicode_FromWideChar(ptr.cast(), len as ffi::Py_ssize_t) };
    // SAFETY: a new reference or NULL with an exception set.
    unsafe { Bound::from_owned_ptr_or_err(py, raw) }.map(Bound::unbind)
}

/// `callable(*args)` through vectorcall with the argument-offset flag, for `n`
/// arguments made by `make(i)`: they live on the stack for up to eight arguments (no
/// tuple), and after the call each is handed to `done(i, arg)`, which keeps or releases
/// it. If making an argument fails, the call is not made, the arguments made so far
/// still go to `done`, and the error is returned.
#[inline]
pub fn vectorcall_made<'py>(
    callable: &Bound<'py, PyAny>,
    n: usize,
    mut make: impl FnMut(usize) -> PyResult<Bound<'py, PyAny>>,
    mut done: impl FnMut(usize, Bound<'py, PyAny>),
) -> PyResult<Bound<'py, PyAny>> {
    const INLINE: usize = 8;
    let py = callable.py();
    let mut inline: [*mut ffi::PyObject; INLINE + 1] = [std::ptr::null_mut(); INLINE + 1];
    let mut heap: Vec<*mut ffi::PyObject> = Vec::new();
    // Slot 0 is left free for the callee (PY_VECTORCALL_ARGUMENTS_OFFSET).
    let ptrs: &mut [*mut ffi::PyObject] = if n <= INLINE {
        &mut inline[..=n]
    } else {
        heap.resize(n + 1, std::ptr::null_mut());
        &mut heap
    };
    let mut made = 0;
    let mut failed = None;
    while made < n {
        match make(made) {
            Ok(v) => ptrs[made + 1] = v.into_ptr(),
            Err(e) => {
                failed = Some(e);
                break;
            }
        }
        made += 1;
    }
    let raw = if failed.is_none() {
        // SAFETY: `ptrs[1..=n]` hold `n` owned references; slot 0 is scratch space the
        // callee may use (PY_VECTORCALL_ARGUMENTS_OFFSET).
        unsafe {
            ffi::PyObject_Vectorcall(
                callable.as_ptr(),
                ptrs.as_ptr().add(1),
                n | ffi::PY_VECTORCALL_ARGUMENTS_OFFSET,
                std::ptr::null_mut(),
            )
        }
    } else {
        std::ptr::null_mut()
    };
    for (i, &p) in ptrs[1..=made].iter().enumerate() {
        // SAFETY: each of these is an owned reference made above, handed on once.
        done(i, unsafe { Bound::from_owned_ptr(py, p) });
    }
    if let Some(e) = failed {
        return Err(e);
    }
    // SAFETY: a new reference, or NULL with an exception set.
    unsafe { Bound::from_owned_ptr_or_err(py, raw) }
}

/// A raw object pointer (an owned reference, or NULL), for code outside `capi/` that
/// carries arguments and results to [`vectorcall_offset`] and back.
pub type RawObject = *mut ffi::PyObject;

/// Calls `callable` with the `n` arguments at `args[1..=n]` (borrowed references; slot 0
/// is scratch space the callee may use, `PY_VECTORCALL_ARGUMENTS_OFFSET`): a new
/// reference, or NULL with an exception set. A Python function (the usual callback) is
/// called straight through its vectorcall slot: its evaluation loop always returns a
/// result or an exception, never both or neither, which is what `PyObject_Vectorcall`
/// checks after any other callable.
///
/// # Safety
/// `args` must hold at least `n + 1` slots, `args[1..=n]` live objects; the GIL held.
#[inline(always)]
pub unsafe fn vectorcall_offset(
    callable: &Bound<'_, PyAny>,
    args: *mut *mut ffi::PyObject,
    n: usize,
) -> *mut ffi::PyObject {
    let raw = callable.as_ptr();
    let nargsf = n | ffi::PY_VECTORCALL_ARGUMENTS_OFFSET;
    // SAFETY: the caller's guarantees; a function object's type is `PyFunction_Type`,
    // which has a vectorcall slot at its `tp_vectorcall_offset` (set for every function
    // object: `func_vectorcall`).
    unsafe {
        let args = args.add(1);
        let tp = ffi::Py_TYPE(raw);
        if std::ptr::eq(tp, &raw const ffi::PyFunction_Type) {
            let offset = (*tp).tp_vectorcall_offset;
            let slot = raw
                .cast::<u8>()
                .offset(offset)
                .cast::<Option<ffi::vectorcallfunc>>();
            if let Some(f) = *slot {
                return f(raw, args, nargsf, std::ptr::null_mut());
            }
        }
        ffi::PyObject_Vectorcall(raw, args, nargsf, std::ptr::null_mut())
    }
}

/// The length of `obj` by the sequence protocol (`PySequence_Size`, what ctypes asks
/// before it reads a sequence), or `None`, with the error cleared, when `obj` has none:
/// not a sequence (a dict, a set), an iterator or generator, or an object that only
/// supports indexing (a pointer, which iterates without end).
pub fn sequence_len(obj: &Bound<'_, PyAny>) -> Option<usize> {
    // SAFETY: `obj` is a live object and the GIL is held; the call returns -1 with an
    // exception set when the object has no sequence length.
    let n = unsafe { ffi::PySequence_Size(obj.as_ptr()) };
    if n < 0 {
        drop(PyErr::take(obj.py()));
        return None;
    }
    Some(n as usize)
}

/// Item `i` of a sequence (`PySequence_GetItem`: `__getitem__` with an int), or the
/// error it raises.
pub fn sequence_item<'py>(obj: &Bound<'py, PyAny>, i: usize) -> PyResult<Bound<'py, PyAny>> {
    // SAFETY: `obj` is a live object and the GIL is held; the call returns a new
    // reference, or NULL with an exception set. An index beyond `isize::MAX` cannot come
    // from a length the protocol reported.
    unsafe {
        Bound::from_owned_ptr_or_err(
            obj.py(),
            ffi::PySequence_GetItem(obj.as_ptr(), i as ffi::Py_ssize_t),
        )
    }
}

/// The items of `obj` as a tuple when there is a bound to them: `obj` is a tuple or
/// list, has a length (`len(obj)`: a dict or set too), or is an iterator (a generator:
/// the caller asked for it to be drained, as ctypes drains it). `None` for an object
/// that iterates only through `__getitem__` without a length (a pointer, which
/// iterates without end and reads past its target) and for one that is not iterable at
/// all. Building the tuple raises what iterating raises, and MemoryError when the items
/// do not fit.
pub fn bounded_items<'py>(obj: &Bound<'py, PyAny>) -> PyResult<Option<Bound<'py, PyTuple>>> {
    if let Ok(t) = obj.cast::<PyTuple>() {
        return Ok(Some(t.clone()));
    }
    // SAFETY: `obj` is a live object and the GIL is held; `PyIter_Check` only reads its
    // type's slots.
    let is_iterator = unsafe { ffi::PyIter_Check(obj.as_ptr()) } != 0;
    if !obj.is_instance_of::<PyList>() && !is_iterator {
        // SAFETY: as above; `len(obj)`, -1 with an exception set when it has none.
        if unsafe { ffi::PyObject_Size(obj.as_ptr()) } < 0 {
            drop(PyErr::take(obj.py()));
            return Ok(None);
        }
    }
    // SAFETY: as above; the call returns a new tuple, or NULL with an exception set.
    let t = unsafe { Bound::from_owned_ptr_or_err(obj.py(), ffi::PySequence_Tuple(obj.as_ptr()))? };
    // SAFETY: `PySequence_Tuple` returns a tuple.
    Ok(Some(unsafe { t.cast_into_unchecked() }))
}

/// A list of `len` items made by `item(k)` in order, as ctypes builds the list of a
/// slice: the list is allocated first, by CPython's allocator (MemoryError, before any
/// item is made, for one that cannot be held; PyO3's `PyList::new` panics then), and
/// each item goes into its slot as it is made. Until then the list is referenced
/// only here: an error drops it with its remaining slots empty, which CPython allows.
pub fn list_from_fn<'py>(
    py: Python<'py>,
    len: usize,
    mut item: impl FnMut(usize) -> PyResult<Py<PyAny>>,
) -> PyResult<Bound<'py, PyList>> {
    let n =
        ffi::Py_ssize_t::try_from(len).map_err(|_| pyo3::exceptions::PyMemoryError::new_err(()))?;
    // SAFETY: a new list of `n` empty slots, or NULL with MemoryError set.
    let list = unsafe { Bound::from_owned_ptr_or_err(py, ffi::PyList_New(n))? };
    for k in 0..len {
        let v = item(k)?;
        // SAFETY: `list` is a new list of `n` slots and `k < n`; the slot is still
        // empty, and takes over the item's reference.
        unsafe { ffi::PyList_SET_ITEM(list.as_ptr(), k as ffi::Py_ssize_t, v.into_ptr()) };
    }
    // SAFETY: `PyList_New` made a list.
    Ok(unsafe { list.cast_into_unchecked() })
}

/// A new `bytes` object holding a copy of `data`; MemoryError or OverflowError (as
/// CPython raises them) when it cannot be made. PyO3's `PyBytes::new` panics instead.
pub fn new_bytes<'py>(py: Python<'py>, data: &[u8]) -> PyResult<Bound<'py, pyo3::types::PyBytes>> {
    // A slice is never longer than isize::MAX bytes, so the length converts exactly.
    let len = data.len() as ffi::Py_ssize_t;
    // SAFETY: `data` is valid for reads of `len` bytes; CPython copies them, or returns
    // NULL with an exception set (before reading anything when the size is too large).
    unsafe {
        let raw = ffi::PyBytes_FromStringAndSize(data.as_ptr().cast(), len);
        Ok(Bound::from_owned_ptr_or_err(py, raw)?.cast_into_unchecked())
    }
}

/// `s` interned: the same object when it is an exact `str` (interned in place, as
/// `type.__setattr__` would intern the key anyway), else an interned exact copy of its
/// value.
pub fn interned<'py>(
    s: &Bound<'py, pyo3::types::PyString>,
) -> PyResult<Bound<'py, pyo3::types::PyString>> {
    let py = s.py();
    if !s.is_exact_instance_of::<pyo3::types::PyString>() {
        return Ok(pyo3::types::PyString::intern(py, s.to_str()?));
    }
    let mut p = s.clone().into_ptr();
    // SAFETY: `p` is a new strong reference to an exact str, which
    // PyUnicode_InternInPlace may replace with the interned equal string (releasing the
    // reference it was given and handing back a new one).
    unsafe {
        ffi::PyUnicode_InternInPlace(&mut p);
        Ok(Bound::from_owned_ptr(py, p).cast_into_unchecked())
    }
}
