//! The two call engines and what they share: steps 2 to 5 of the call path (see the
//! module docs of `funcptr`). The register engine writes each converted argument
//! straight into a register image; the libffi engine fills argument slots for the
//! prepared (or cached) interface. Both run the call inside the same [`bracket`] (debug
//! bookkeeping, errno, the GIL, `PyDLL`'s error check) and end in the same
//! [`finish_call`] (the result, converted while the converted arguments still live).

use std::ffi::c_void;
use std::sync::Arc;

use ferrotype_core::{
    errno, memory, ArgSlot, CallInterface, FfiType, RegisterShape, Registers, RetBuf, TypeCode,
};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyFloat, PyInt, PyTuple};

use crate::capi;
use crate::capi::gilcell::GilCell;
use crate::capi::values::{exact_compact_i64, exact_f64, exact_i64, is_instance_of_type};
use crate::codec::param::{default_param, ArgValue, Param};
use crate::codec::scalar::{int_bits, load};
use crate::model::cdata::{as_cdata, CData};
use crate::model::errors::{argument_error, too_many_arguments, CoreResultExt};
use crate::model::registry::instantiate;
use crate::types::pointer::address;
use crate::types::thunk;

use super::plan;
#[cfg_attr(not(all(target_arch = "x86_64", not(windows))), allow(unused_imports))]
use super::plan::DirectKind;
use super::plan::{
    fast_address, ArgConv, DirectRet, FastArg, FuncState, RegPlan, RetConv, FUNCFLAG_PYTHONAPI,
    FUNCFLAG_USE_ERRNO,
};

/// The function object being called, as the engines see it.
pub struct Callee<'a, 'py> {
    /// The function object (`errcheck` receives it).
    pub obj: &'a Bound<'py, PyAny>,
    /// The address of the function.
    pub fun: usize,
    /// The interface of the last call whose types were not all declared (calls without
    /// `argtypes`, extra arguments, custom `from_param`), so repeated calls of the same
    /// shape skip the process-wide cache.
    pub memo: &'a GilCell<Option<Arc<CallInterface>>>,
}

/// Which arguments of a call with `paramflags` are returned.
pub struct OutParams {
    /// Output parameters made by the call.
    pub out: Vec<usize>,
    /// Parameters both passed in and returned.
    pub inout: Vec<usize>,
    /// How many there are.
    pub count: usize,
}

/// The raw pieces of a libffi call, handed to the thread that runs it without the GIL.
struct CallJob {
    cif: *const CallInterface,
    fun: *const c_void,
    args: *mut *mut c_void,
    ret: *mut u8,
}

// SAFETY: the job only carries addresses of buffers owned by the calling frame, which
// outlives the detached section; nothing in it is tied to a thread.
unsafe impl Send for CallJob {}

impl CallJob {
    fn run(self) {
        // The interface was built from the converted arguments or the argtypes they
        // were converted with. SAFETY: so it matches them; args holds one valid pointer
        // per argument, and ret is a 16-aligned buffer of at least the result's size.
        unsafe { (*self.cif).call(self.fun, self.args, self.ret) };
    }
}

/// Converts an exact `int` or `float` for a simple argument type straight into `slot`.
/// Returns false when `arg` needs the general conversion.
#[inline]
fn fast_scalar(arg: &Bound<'_, PyAny>, code: TypeCode, slot: &mut ArgSlot) -> PyResult<bool> {
    if code.is_integer() && arg.is_exact_instance_of::<PyInt>() {
        let v = int_bits(arg, code)?;
        // Low bytes in native order, as libffi reads an integer argument of this size.
        match code.size() {
            1 => slot.u8 = v as u8,
            2 => slot.u16 = v as u16,
            4 => slot.u32 = v as u32,
            _ => slot.u64 = v as u64,
        }
        return Ok(true);
    }
    if let Some(v) = matches!(code, TypeCode::Double | TypeCode::Float)
        .then(|| exact_f64(arg))
        .flatten()
    {
        if code == TypeCode::Double {
            slot.f64 = v;
        } else {
            slot.f32 = v as f32;
        }
        return Ok(true);
    }
    Ok(false)
}

/// Reads a simple result (`load`, which reads the common numeric types directly),
/// taking over a `py_object` result's reference.
///
/// # Safety
/// `ptr` must hold a value of type `code` (a call's result buffer, 16-aligned).
#[inline]
unsafe fn load_result(py: Python<'_>, ptr: *const u8, code: TypeCode) -> PyResult<Py<PyAny>> {
    // SAFETY: the caller guarantees a value of `code` at the aligned `ptr`.
    unsafe {
        if code == TypeCode::PyObject {
            // ctypes: a `py_object` result is a new reference, which the result takes over.
            let addr = ptr.cast::<usize>().read();
            return match capi::values::take_object_at(py, addr) {
                Some(r) => r.map(Bound::unbind),
                None => Err(PyValueError::new_err("PyObject is NULL")),
            };
        }
        load(py, ptr, code, false)
    }
}

/// The Python value of a common numeric result, made straight from its register's
/// bits (an integer in the low bytes, a `float` in the low 32 bits): what `load` makes
/// of them, without its dispatch. `None` for the other types.
#[inline(always)]
fn register_result(py: Python<'_>, bits: u64, code: TypeCode) -> Option<Py<PyAny>> {
    // (These conversions cannot fail: the result is one pointer, not a `PyResult`.)
    macro_rules! int {
        ($v:expr, $py:expr) => {{
            let v = $v;
            if let Some(small) = i64::try_from(v)
                .ok()
                .and_then(|v| capi::values::small_int($py, v))
            {
                return Some(small.unbind());
            }
            let Ok(b) = v.into_pyobject($py);
            Some(b.into_any().unbind())
        }};
    }
    macro_rules! float {
        ($v:expr, $py:expr) => {{
            match capi::values::new_float($py, $v) {
                Some(f) => Some(f.unbind()),
                None => {
                    // Out of memory: the caller's general path makes (or fails) it.
                    drop(PyErr::take($py));
                    None
                }
            }
        }};
    }
    // The truncating casts keep the result's own low bytes (the bits above are
    // unspecified in the register).
    // (The C type sizes are constants: the guards vanish where they hold.)
    use std::ffi::{c_int, c_long, c_longlong, c_short};
    use std::mem::size_of;
    match code {
        TypeCode::Int if size_of::<c_int>() == 4 => int!(bits as i32, py),
        TypeCode::UInt if size_of::<c_int>() == 4 => int!(bits as u32, py),
        TypeCode::Long if size_of::<c_long>() == 8 => int!(bits as i64, py),
        TypeCode::ULong if size_of::<c_long>() == 8 => int!(bits, py),
        TypeCode::LongLong if size_of::<c_longlong>() == 8 => int!(bits as i64, py),
        TypeCode::ULongLong if size_of::<c_longlong>() == 8 => int!(bits, py),
        TypeCode::Short if size_of::<c_short>() == 2 => int!(bits as i16, py),
        TypeCode::UShort if size_of::<c_short>() == 2 => int!(bits as u16, py),
        TypeCode::Byte => int!(bits as i8, py),
        TypeCode::UByte => int!(bits as u8, py),
        TypeCode::Double => float!(f64::from_bits(bits), py),
        TypeCode::Float => float!(f64::from(f32::from_bits(bits as u32)), py),
        _ => None,
    }
}

/// An argument beyond the fixed ones of a function declared `variadic`: converted as
/// without `argtypes`, plus Python floats, then promoted as C promotes variadic
/// arguments (`float` to `double`, integers narrower than `int` to `int`).
fn variadic_param(arg: &Bound<'_, PyAny>, index: usize) -> PyResult<Param> {
    if let Ok(f) = arg.cast::<PyFloat>() {
        return Ok(Param::bits(
            FfiType::Scalar(TypeCode::Double),
            ArgSlot { f64: f.value() },
            None,
            'd',
        ));
    }
    let mut p = default_param(arg, index)?;
    if let (FfiType::Scalar(code), ArgValue::Bits(slot)) = (&p.ffi, p.value) {
        match *code {
            TypeCode::Float => {
                // SAFETY: a float parameter's slot holds an f32.
                let v = unsafe { slot.f32 };
                p.value = ArgValue::Bits(ArgSlot { f64: f64::from(v) });
                p.ffi = FfiType::Scalar(TypeCode::Double);
            }
            c if c.size() < TypeCode::Int.size() && c != TypeCode::Half => {
                // SAFETY: the slot holds the value's `size` low bytes in native order.
                let bits = unsafe { memory::read_bits((&raw const slot).cast(), c.size(), false) };
                let signed = c.kind() == ferrotype_core::typecode::ValueKind::Signed;
                let v = memory::widen(bits, c.size(), signed) as u32;
                p.value = ArgValue::Bits(ArgSlot { u32: v });
                p.ffi = FfiType::Scalar(TypeCode::Int);
            }
            _ => {}
        }
    }
    Ok(p)
}

/// Keeps what a converted argument needs alive until the result is converted (an
/// argument converted to itself is kept alive by the caller already). `Bound`, not
/// `Py`: the vectorcall entry does not register with PyO3's attach count, so dropping
/// a `Py` here would defer the decref to PyO3's pool; dropping a `Bound` decrefs at
/// once.
#[inline]
fn keep_param<'py>(
    keep: &mut Vec<Bound<'py, PyAny>>,
    param_keep: Option<Py<PyAny>>,
    arg: &Bound<'py, PyAny>,
) {
    if let Some(k) = param_keep {
        let k = k.into_bound(arg.py());
        if !k.is(arg) {
            keep.push(k);
        }
    }
}

/// Step 4 around either engine's call `run`: debug-mode bookkeeping, the private errno
/// swapped in (`use_errno`), the GIL released (not for `PyDLL`, nor where
/// `release_gil = False`), and for `PyDLL` functions the Python error the call left.
#[inline]
fn bracket<R: Send>(py: Python<'_>, st: &FuncState, run: impl FnOnce() -> R + Send) -> PyResult<R> {
    let use_errno = st.flags & FUNCFLAG_USE_ERRNO != 0;
    let call = move || {
        if use_errno {
            errno::swap();
        }
        let r = run();
        if use_errno {
            errno::swap();
        }
        r
    };
    let debug = thunk::debug_enabled();
    if debug {
        thunk::enter_call();
    }
    let r = if st.flags & FUNCFLAG_PYTHONAPI != 0 {
        let r = call();
        if let Some(err) = PyErr::take(py) {
            if debug {
                let _ = thunk::leave_call();
            }
            return Err(err);
        }
        r
    } else if st.release_gil {
        capi::gil::released(py, call)
    } else {
        call()
    };
    if debug {
        thunk::leave_call()?;
    }
    Ok(r)
}

/// Step 5, shared by both engines: the result converted while the converted arguments
/// in `keep` still live (a pointer result may point into one of them; ctypes keeps
/// them as long).
#[inline]
fn finish_call(
    py: Python<'_>,
    st: &FuncState,
    value_ptr: *mut u8,
    keep: Vec<Bound<'_, PyAny>>,
) -> PyResult<Py<PyAny>> {
    let result = convert_result(py, st, value_ptr);
    drop(keep);
    result
}

/// Slot storage on the stack for calls with up to this many arguments.
const INLINE_ARGS: usize = 8;

/// A call without `paramflags`, with the plan `st` (a snapshot: a converter that
/// reassigns `argtypes` during the call replaces the cell's value, not this plan).
#[inline]
pub fn call_function<'py>(
    callee: &Callee<'_, 'py>,
    st: &FuncState,
    args: &[Bound<'py, PyAny>],
) -> PyResult<Py<PyAny>> {
    let result = match &st.reg {
        Some(plan) if plan.fast.len() == args.len() => call_registers(callee, st, plan, args)?,
        _ => call_raw(callee, st, args)?,
    };
    if st.errcheck.is_none() {
        return Ok(result);
    }
    finish(callee, st, result, args, None)
}

/// The word a `FastArg::Wide` argument passes for `arg`, if it is an exact `int` in
/// range (see [`FastArg::Wide`]).
#[inline(always)]
fn wide_word(arg: &Bound<'_, PyAny>, shift: u32, lo: i64, hi: i64) -> Option<u64> {
    if let Some(v) = exact_compact_i64(arg) {
        return Some(v as u64);
    }
    exact_i64(arg)
        .filter(|v| (lo..=hi).contains(v))
        .map(|v| ((v << shift) >> shift) as u64)
}

/// The word a `FastArg::Int` argument passes for `arg`, if it is an exact `int` in range.
#[inline(always)]
fn narrow_word(arg: &Bound<'_, PyAny>, shift: u32, signed: bool, lo: i64, hi: i64) -> Option<u64> {
    exact_i64(arg).filter(|v| (lo..=hi).contains(v)).map(|v| {
        if signed {
            ((v << shift) >> shift) as u64
        } else {
            ((v as u64) << shift) >> shift
        }
    })
}

/// The word a `FastArg::Pointer` argument passes for `arg`: `None` (NULL) or an
/// instance of exactly the declared pointer type, whose type object is at `cls` (its
/// address).
#[inline(always)]
fn pointer_word(arg: &Bound<'_, PyAny>, cls: usize) -> Option<u64> {
    if arg.is_none() {
        return Some(0);
    }
    if arg.get_type_ptr() as usize == cls {
        // SAFETY: `cls` is the class of the argument's `Pointer` converter, whose class
        // has the native base in its MRO (`native_from_param_kind`), so its instances
        // are `CData`s; the state holding the converter (and so the class) is alive.
        let cd = unsafe { arg.cast_unchecked::<CData>() };
        return Some(address(cd.get()) as u64);
    }
    None
}

/// The word an integer-register argument (`Int`, `Wide`, `Address`, `Pointer`) passes
/// for `arg`, if it is one of the common values its [`FastArg`]
/// takes; `None` when it needs the converter (or for the other kinds). Pure.
#[inline(always)]
#[cfg_attr(not(all(target_arch = "x86_64", not(windows))), allow(dead_code))]
fn int_word(arg: &Bound<'_, PyAny>, fast: &FastArg) -> Option<u64> {
    match *fast {
        FastArg::Wide { shift, lo, hi, .. } => wide_word(arg, shift, lo, hi),
        FastArg::Int {
            shift,
            signed,
            lo,
            hi,
            ..
        } => narrow_word(arg, shift, signed, lo, hi),
        FastArg::Address { void, .. } => fast_address(arg, void),
        FastArg::Pointer { cls, .. } => pointer_word(arg, cls),
        _ => None,
    }
}

/// The integer-register words of `N` arguments (`N` a constant, so that the loop
/// unrolls and the words stay in registers), the rest zero; `None` as soon as one needs
/// its converter.
#[inline(always)]
#[cfg_attr(not(all(target_arch = "x86_64", not(windows))), allow(dead_code))]
fn int_words<const N: usize>(args: &[Bound<'_, PyAny>], fast: &[FastArg]) -> Option<[u64; 6]> {
    let (args, fast): (&[Bound<'_, PyAny>; N], &[FastArg; N]) =
        (args.try_into().ok()?, fast.try_into().ok()?);
    let mut a = [0u64; 6];
    for i in 0..N.min(6) {
        a[i] = int_word(&args[i], &fast[i])?;
    }
    Some(a)
}

/// The inline conversion of argument `i` into its register or stack word, if `arg` is
/// one of the common values its [`FastArg`] takes. False (having written nothing that
/// matters: the converter overwrites the word) when it needs the converter. Pure: no
/// Python code runs, nothing is kept.
#[inline(always)]
fn inline_arg(
    st: &FuncState,
    rc: &ferrotype_core::RegisterCall,
    regs: &mut Registers,
    i: usize,
    arg: &Bound<'_, PyAny>,
    fast: &FastArg,
) -> bool {
    let (index, word) = match *fast {
        FastArg::Wide {
            index,
            shift,
            lo,
            hi,
        } => (index, wide_word(arg, shift, lo, hi)),
        FastArg::Int {
            index,
            shift,
            signed,
            lo,
            hi,
        } => (index, narrow_word(arg, shift, signed, lo, hi)),
        FastArg::Address { index, void } => (index, fast_address(arg, void)),
        FastArg::Pointer { index, cls } => (index, pointer_word(arg, cls)),
        FastArg::Struct { cls } => {
            if arg.get_type_ptr() as usize == cls {
                // `cls` is the class of the argument's `Struct` converter, whose class
                // has the native base in its MRO (`native_from_param_kind`), so its
                // instances are `CData`s; the state holding the converter (and so the
                // class) is alive.
                // SAFETY: so `arg` is a `CData`; the plan's entry for this argument is its
                // structure plan and the instance holds the structure's bytes.
                unsafe {
                    let cd = arg.cast_unchecked::<CData>();
                    regs.set_struct(rc.args()[i], cd.get().ptr());
                }
                return true;
            }
            if let Some(ArgConv::Struct { cls, .. }) = st.converters.get(i) {
                let cd = if arg.is_exact_instance(cls.bind(arg.py())) {
                    // SAFETY: the class of a `Struct`/`Pointer` converter has the
                    // native base in its MRO (`native_from_param_kind`), so its
                    // instances are `CData`s.
                    Some(unsafe { arg.cast_unchecked::<CData>() })
                } else {
                    as_cdata(arg).filter(|_| is_instance_of_type(arg, cls.bind(arg.py())))
                };
                if let Some(cd) = cd {
                    // SAFETY: the plan's entry for this argument is its structure
                    // plan and the instance holds the structure's bytes.
                    unsafe { regs.set_struct(rc.args()[i], cd.get().ptr()) };
                    return true;
                }
            }
            return false;
        }
        FastArg::Float { index, double } => (
            index,
            exact_f64(arg).map(|v| {
                if double {
                    v.to_bits()
                } else {
                    u64::from((v as f32).to_bits())
                }
            }),
        ),
        FastArg::General => return false,
    };
    match word {
        Some(w) => {
            regs.set(index, w);
            true
        }
        None => false,
    }
}

/// The direct path, tried first for every call without keywords of a function whose
/// state has a [`FuncState::direct`]: the arguments converted inline into a register
/// image, the call, the result made from its registers, and nothing else (no plan
/// snapshot, no kept objects, no result buffer). `None` when it does not apply (another
/// argument count, an argument the inline conversions do not take, a NULL function,
/// debug mode): nothing has run, and the caller takes the general path. `Some(None)`
/// when making the result raised (the error restored).
///
/// # Safety
/// `state` must be the function's own cell and `fun` its address. Nothing here runs
/// Python code while the state is borrowed (the inline conversions only read exact
/// `int`/`float`/`bytes`/`None` and ferrotype instances, and the restype's class and
/// information are only referenced), so the borrow cannot see the cell replaced; what
/// the call and the result need is copied out first.
#[inline(always)]
pub unsafe fn call_direct(
    py: Python<'_>,
    state: &GilCell<FuncState>,
    fun: usize,
    args: &[Bound<'_, PyAny>],
) -> Option<Option<Py<PyAny>>> {
    if fun == 0 || thunk::debug_enabled() {
        return None;
    }
    // SAFETY: see the contract: the state is used only until the call, and no Python
    // code runs before it.
    let st: &FuncState = unsafe { &*state.peek(py, std::ptr::from_ref) };
    let direct = st.direct.as_ref()?;
    let plan = st.reg.as_ref()?;
    if plan.fast.len() != args.len() {
        return None;
    }
    // Copied now: after the call, `st` may be gone (another thread, or a callback during
    // the call, may replace the state, which drops this one).
    #[cfg(all(target_arch = "x86_64", not(windows), target_endian = "little"))]
    let (ret, float_ret, release_gil) = (direct.ret, direct.float_ret, direct.release_gil);
    #[cfg(all(target_arch = "x86_64", not(windows), target_endian = "little"))]
    match direct.kind {
        DirectKind::Ints => {
            let f = &plan.fast;
            let a = match args.len() {
                0 => [0; 6],
                1 => int_words::<1>(args, f)?,
                2 => int_words::<2>(args, f)?,
                3 => int_words::<3>(args, f)?,
                4 => int_words::<4>(args, f)?,
                5 => int_words::<5>(args, f)?,
                6 => int_words::<6>(args, f)?,
                _ => return None,
            };
            // The plan was made from the declared signature: integers and addresses in
            // the integer registers in order, which the inline conversions just
            // satisfied; the addresses point into the arguments, alive past the call.
            let (rax, xmm0) = if release_gil {
                // SAFETY: so the call is the one the plan describes; a foreign call
                // cannot unwind.
                unsafe {
                    capi::gil::released_no_unwind(py, move || {
                        ferrotype_core::call_ints(fun as *const c_void, a)
                    })
                }
            } else {
                // SAFETY: as above.
                unsafe { ferrotype_core::call_ints(fun as *const c_void, a) }
            };
            return direct_result(py, ret, if float_ret { xmm0 } else { rax });
        }
        DirectKind::Doubles => {
            let mut a = [0f64; ferrotype_core::regcall::FLOAT_REGS];
            for (arg, slot) in args.iter().zip(a.iter_mut()) {
                *slot = exact_f64(arg)?;
            }
            let n = args.len() as u8;
            // The plan: `double`s in the vector registers in order, just converted.
            let (rax, xmm0) = if release_gil {
                // SAFETY: so the call is the one the plan describes; a foreign call
                // cannot unwind.
                unsafe {
                    capi::gil::released_no_unwind(py, move || {
                        ferrotype_core::call_doubles(fun as *const c_void, a, n)
                    })
                }
            } else {
                // SAFETY: as above.
                unsafe { ferrotype_core::call_doubles(fun as *const c_void, a, n) }
            };
            return direct_result(py, ret, if float_ret { xmm0 } else { rax });
        }
        DirectKind::Image => {}
    }
    direct_image(py, st, direct, plan, fun, args)
}

/// The direct path through the register image (any shape other than integers only or
/// `double`s only), out of line so that those keep a small frame. As
/// [`call_direct`], whose contract holds.
#[inline(never)]
fn direct_image(
    py: Python<'_>,
    st: &FuncState,
    direct: &plan::Direct,
    plan: &RegPlan,
    fun: usize,
    args: &[Bound<'_, PyAny>],
) -> Option<Option<Py<PyAny>>> {
    let mut image = std::mem::MaybeUninit::uninit();
    let regs = direct.call.init(&mut image);
    let rc = &plan.call;
    let f = &plan.fast;
    // Unrolled for the common counts (straight-line code, no loop state to keep).
    macro_rules! unrolled {
        ($($i:literal),+) => {
            $(inline_arg(st, rc, regs, $i, &args[$i], &f[$i]))&&+
        };
    }
    let converted = match (args.len(), f.len()) {
        (1, 1) => unrolled!(0),
        (2, 2) => unrolled!(0, 1),
        (3, 3) => unrolled!(0, 1, 2),
        (4, 4) => unrolled!(0, 1, 2, 3),
        (5, 5) => unrolled!(0, 1, 2, 3, 4),
        (6, 6) => unrolled!(0, 1, 2, 3, 4, 5),
        _ => args
            .iter()
            .zip(f.iter())
            .enumerate()
            .all(|(i, (arg, fast))| inline_arg(st, rc, regs, i, arg, fast)),
    };
    if !converted {
        return None;
    }
    let regs = &*regs;
    let release_gil = direct.release_gil;
    let code = match direct.ret {
        DirectRet::Value(code) => Some(code),
        DirectRet::Void => None,
        DirectRet::Instance => {
            return Some(direct_instance(py, st, direct.call, release_gil, fun, regs));
        }
    };
    let call = direct.call.scalar();
    // The plan was made from the declared signature, which the inline conversions just
    // satisfied; the addresses passed point into the arguments, which the caller keeps
    // alive past the call. (Two copies of the call, so that each inlines.)
    let bits = if release_gil {
        // SAFETY: the body is the foreign call, which cannot unwind (and so the call
        // is the one the plan describes, with valid arguments).
        unsafe { capi::gil::released_no_unwind(py, move || call.call(fun as *const c_void, regs)) }
    } else {
        // SAFETY: as above.
        unsafe { call.call(fun as *const c_void, regs) }
    };
    let Some(code) = code else {
        return Some(Some(py.None()));
    };
    scalar_result(py, code, bits)
}

/// The Python value of a direct call's scalar result (`Void` or `Value`; the
/// `Instance` results take `direct_instance`).
#[inline(always)]
#[cfg_attr(not(all(target_arch = "x86_64", not(windows))), allow(dead_code))]
fn direct_result(py: Python<'_>, ret: DirectRet, bits: u64) -> Option<Option<Py<PyAny>>> {
    match ret {
        DirectRet::Value(code) => scalar_result(py, code, bits),
        _ => Some(Some(py.None())),
    }
}

/// The Python value of a result of type `code` from its register's bits; `Some(None)`
/// when making it raised (the error restored).
#[inline(always)]
fn scalar_result(py: Python<'_>, code: TypeCode, bits: u64) -> Option<Option<Py<PyAny>>> {
    if let Some(r) = register_result(py, bits, code) {
        return Some(Some(r));
    }
    // SAFETY: `bits` holds a value of the restype's code.
    match unsafe { load_result(py, (&raw const bits).cast(), code) } {
        Ok(r) => Some(Some(r)),
        Err(e) => {
            e.restore(py);
            Some(None)
        }
    }
}

/// The rest of a direct call whose result is an instance of the restype: its class and
/// information referenced from `st` before the call (which may let another thread
/// replace the state), then the call, then a new instance holding the result's bytes,
/// as `convert_result` makes it. `None` when that raised (the error restored).
#[inline(never)]
fn direct_instance(
    py: Python<'_>,
    st: &FuncState,
    call: RegisterShape,
    release_gil: bool,
    fun: usize,
    regs: &Registers,
) -> Option<Py<PyAny>> {
    let RetConv::Instance { cls, info } = &*st.ret else {
        PyValueError::new_err("internal: no result type").restore(py);
        return None;
    };
    // (`Bound`s: released at once when dropped, never through PyO3's deferred pool.)
    let (cls, info) = (cls.bind(py).clone(), info.bind(py).clone());
    // As in `call_direct`.
    let run = move || {
        // SAFETY: the call the plan describes, with valid arguments (`call_direct`).
        unsafe { call.call(fun as *const c_void, regs) }
    };
    let out = if release_gil {
        capi::gil::released(py, run)
    } else {
        run()
    };
    let mut bytes = [0u8; 16];
    call.write_result(&out, &mut bytes);
    // The result is written straight into the new instance's bytes (in the object for
    // the register-sized structures this path returns).
    let made = crate::model::registry::instantiate_filled(&cls, info, |dst, size| {
        // SAFETY: `bytes` holds 16 bytes and the new instance's memory at `dst` at least
        // `size`. (The common sizes as constant-length copies: no `memcpy` call.)
        unsafe {
            match size.min(16) {
                16 => std::ptr::copy_nonoverlapping(bytes.as_ptr(), dst, 16),
                8 => std::ptr::copy_nonoverlapping(bytes.as_ptr(), dst, 8),
                n => memory::copy_bytes(bytes.as_ptr(), dst, n),
            }
        }
    })
    .map(Bound::unbind);
    match made {
        Ok(r) => Some(r),
        Err(e) => {
            e.restore(py);
            None
        }
    }
}

/// The lean register call of a [`RegPlan::lean`] plan whose result is a simple value or
/// `void` without `_check_retval_`: every argument converted inline, nothing kept, the
/// result made from its register. `None` as soon as an argument needs its converter
/// (before anything ran that matters: the inline conversions are pure), and the caller
/// takes the general path from the start.
#[inline]
fn call_lean(
    callee: &Callee<'_, '_>,
    st: &FuncState,
    plan: &RegPlan,
    args: &[Bound<'_, PyAny>],
) -> Option<PyResult<Py<PyAny>>> {
    let py = callee.obj.py();
    let fun = callee.fun;
    if fun == 0 {
        return None;
    }
    let rc = &plan.call;
    let mut image = std::mem::MaybeUninit::uninit();
    let regs = Registers::init(&mut image, rc);
    for (i, (arg, fast)) in args.iter().zip(plan.fast.iter()).enumerate() {
        if !inline_arg(st, rc, regs, i, arg, fast) {
            return None;
        }
    }
    let regs = &*regs;
    // The plan was made from the declared signature, which the inline conversions just
    // satisfied; a lean plan has no result in memory.
    // SAFETY: the addresses passed point into the arguments, which the caller keeps
    // alive past the call; the result comes back in registers.
    let regs_out = match bracket(py, st, move || unsafe {
        rc.call(fun as *const c_void, regs)
    }) {
        Ok(r) => r,
        Err(e) => return Some(Err(e)),
    };
    match &*st.ret {
        RetConv::Void => Some(Ok(py.None())),
        RetConv::Value(code) => {
            let bits = rc.scalar(&regs_out);
            Some(match register_result(py, bits, *code) {
                Some(r) => Ok(r),
                // SAFETY: `bits` holds a value of the restype's code.
                None => unsafe { load_result(py, (&raw const bits).cast(), *code) },
            })
        }
        // (Excluded by the caller: the call has run, so this cannot fall back.)
        _ => Some(Err(PyValueError::new_err("internal: not a lean call"))),
    }
}

/// A call through the register engine: the declared converters write each argument
/// straight into its register, then the result takes the common path.
fn call_registers<'py>(
    callee: &Callee<'_, 'py>,
    st: &FuncState,
    plan: &RegPlan,
    args: &[Bound<'py, PyAny>],
) -> PyResult<Py<PyAny>> {
    if plan.lean && st.checker.is_none() && matches!(&*st.ret, RetConv::Void | RetConv::Value(_)) {
        if let Some(r) = call_lean(callee, st, plan, args) {
            return r;
        }
    }
    let py = callee.obj.py();
    let fun = callee.fun;
    if fun == 0 {
        return Err(PyValueError::new_err("NULL function pointer"));
    }
    let rc = &plan.call;
    let mut image = std::mem::MaybeUninit::uninit();
    let regs = Registers::init(&mut image, rc);
    // Objects made by conversions (a `c_wchar_p` buffer from a str, ...), which must
    // outlive the call. Arguments themselves are kept alive by the caller.
    let mut keep: Vec<Bound<'py, PyAny>> = Vec::new();
    for (i, (arg, fast)) in args.iter().zip(plan.fast.iter()).enumerate() {
        // The inline conversions accept exactly what the converter would accept the
        // same way; anything else (out of range included) takes the converter, which
        // also produces ctypes' error.
        if inline_arg(st, rc, regs, i, arg, fast) {
            continue;
        }
        let param = st.converters[i]
            .convert(arg, i)
            .map_err(|e| argument_error(py, i, e))?;
        let reg = rc.args()[i];
        match param.value {
            ArgValue::Bits(slot) => regs.set_from_slot(reg, &slot),
            // SAFETY: a by-value parameter points at the structure's bytes (kept alive
            // by `param.keep` below, and copied into registers right here).
            ArgValue::Memory(mem) => unsafe { regs.set_struct(reg, mem) },
        }
        keep_param(&mut keep, param.keep, arg);
    }

    // A structure result of more than 16 bytes: the callee writes it straight into the
    // new instance's memory (made now: a Python object does not move).
    let mut in_memory: Option<Bound<'py, PyAny>> = None;
    let mut scratch: Vec<u128> = Vec::new();
    if let Some(size) = rc.ret_in_memory() {
        let ptr = match &*st.ret {
            RetConv::Instance { cls, info } => {
                let info_b = info.bind(py);
                let obj = instantiate(cls.bind(py), CData::for_type(info_b)?)?;
                // SAFETY: `instantiate` made an instance of a data class, a `CData`.
                let cd = unsafe { obj.cast_unchecked::<CData>() };
                let ptr = cd.get().ptr();
                if cd.get().size() < size {
                    // (The restype's size is the structure's: never reached.)
                    return Err(PyValueError::new_err("result buffer too small"));
                }
                in_memory = Some(obj);
                ptr
            }
            _ => {
                scratch.resize(size.div_ceil(16), 0);
                scratch.as_mut_ptr().cast()
            }
        };
        regs.set_result_address(ptr);
    }

    let regs = &*regs;
    // The plan was made from the declared signature, which the converters just
    // satisfied; pointer arguments point into the arguments and `keep`.
    // SAFETY: those objects live until the call returns, and a result in memory goes to
    // `size` writable bytes owned by `in_memory` or `scratch`, both alive past the call.
    let regs_out = bracket(py, st, move || unsafe {
        rc.call(fun as *const c_void, regs)
    })?;
    if let Some(obj) = in_memory {
        let result = match &st.checker {
            Some(c) => c.bind(py).call1((obj,))?.unbind(),
            None => obj.unbind(),
        };
        drop(keep);
        return Ok(result);
    }
    if !scratch.is_empty() {
        return finish_call(py, st, scratch.as_mut_ptr().cast(), keep);
    }
    if let (RetConv::Value(code), None) = (&*st.ret, &st.checker) {
        // A simple result, read straight from its register's bits (laid out as
        // `write_result` lays them out, and aligned for any scalar).
        let bits = rc.scalar(&regs_out);
        if let Some(r) = register_result(py, bits, *code) {
            return Ok(r);
        }
        // SAFETY: `bits` holds a value of the restype's code.
        return unsafe { load_result(py, (&raw const bits).cast(), *code) };
    }
    let mut retbuf = RetBuf::default();
    let mut bytes = [0u8; 16];
    rc.write_result(&regs_out, &mut bytes);
    retbuf.0[..16].copy_from_slice(&bytes);
    finish_call(py, st, retbuf.as_mut_ptr(), keep)
}

/// A call through libffi up to the result conversion (and `_check_retval_`), before
/// `errcheck`.
pub fn call_raw<'py>(
    callee: &Callee<'_, 'py>,
    st: &FuncState,
    args: &[Bound<'py, PyAny>],
) -> PyResult<Py<PyAny>> {
    let py = callee.obj.py();
    let fun = callee.fun as *const c_void;
    if fun.is_null() {
        return Err(PyValueError::new_err("NULL function pointer"));
    }
    let nargs = args.len();
    let nconv = st.converters.len();
    if st.argtypes.is_some() && nargs < nconv {
        return Err(PyTypeError::new_err(format!(
            "this function takes at least {} argument{} ({} given)",
            nconv,
            if nconv == 1 { "" } else { "s" },
            nargs
        )));
    }
    if nargs > ferrotype_core::MAX_ARGS {
        return Err(too_many_arguments(nargs, ferrotype_core::MAX_ARGS, false));
    }

    // Step 2: convert into slots.
    let mut inline_slots = [ArgSlot::default(); INLINE_ARGS];
    let mut heap_slots: Vec<ArgSlot> = Vec::new();
    let slots: &mut [ArgSlot] = if nargs <= INLINE_ARGS {
        &mut inline_slots[..nargs]
    } else {
        heap_slots.resize(nargs, ArgSlot::default());
        &mut heap_slots
    };
    let fixed: Option<&CallInterface> = st.cif.as_deref().filter(|c| c.nargs() == nargs);
    let mut types: Vec<FfiType> = Vec::new();
    let mut keep: Vec<Bound<'py, PyAny>> = Vec::new();
    // Structures passed by value: libffi reads their memory in place.
    let mut by_value: Vec<(usize, *mut c_void)> = Vec::new();
    for (i, (arg, slot)) in args.iter().zip(slots.iter_mut()).enumerate() {
        let conv = st.converters.get(i);
        // Fast path: an exact int or float for a declared integer or floating type is
        // written straight into its slot (the same rules as `simple_param`).
        if let (Some(ArgConv::Simple { code, .. }), Some(_)) = (conv, fixed) {
            if fast_scalar(arg, *code, slot).map_err(|e| argument_error(py, i, e))? {
                continue;
            }
        }
        let param = match conv {
            Some(conv) => conv.convert(arg, i),
            None if st.variadic => variadic_param(arg, i),
            None => default_param(arg, i),
        }
        .map_err(|e| argument_error(py, i, e))?;
        match param.value {
            ArgValue::Bits(bits) => *slot = bits,
            ArgValue::Memory(mem) => by_value.push((i, mem.cast())),
        }
        keep_param(&mut keep, param.keep, arg);
        if fixed.is_none() {
            types.push(param.ffi);
        }
    }

    // Step 3: the interface. Arguments beyond `argtypes` make the call variadic, with
    // the declared ones fixed (as ctypes does).
    let nfixed = (st.argtypes.is_some() && nargs > nconv).then_some(nconv);
    let untyped: Arc<CallInterface>;
    let cif: &CallInterface = match fixed {
        Some(c) => c,
        None => {
            let memo = callee.memo.get(py);
            untyped = match memo.as_ref().as_ref().filter(|c| {
                c.args() == types.as_slice() && *c.ret() == st.ret_ffi && c.nfixed() == nfixed
            }) {
                Some(c) => Arc::clone(c),
                None => {
                    let c = CallInterface::cached(&st.ret_ffi, &types, nfixed).py()?;
                    callee.memo.set(py, Some(Arc::clone(&c)));
                    c
                }
            };
            &untyped
        }
    };

    let mut inline_ptrs = [std::ptr::null_mut::<c_void>(); INLINE_ARGS];
    let mut heap_ptrs: Vec<*mut c_void> = Vec::new();
    let ptrs: &mut [*mut c_void] = if nargs <= INLINE_ARGS {
        &mut inline_ptrs[..nargs]
    } else {
        heap_ptrs.resize(nargs, std::ptr::null_mut());
        &mut heap_ptrs
    };
    for (p, s) in ptrs.iter_mut().zip(slots.iter_mut()) {
        *p = std::ptr::from_mut(s).cast();
    }
    for &(i, mem) in &by_value {
        ptrs[i] = mem;
    }

    // Step 4: the call.
    let mut retbuf = RetBuf::default();
    let mut big_ret: Vec<u128> = Vec::new();
    let ret_ptr = if cif.ret_size() <= retbuf.0.len() {
        retbuf.as_mut_ptr()
    } else {
        big_ret.resize(cif.ret_size().div_ceil(16), 0);
        big_ret.as_mut_ptr().cast()
    };
    let job = CallJob {
        cif: std::ptr::from_ref(cif),
        fun,
        args: ptrs.as_mut_ptr(),
        ret: ret_ptr,
    };
    bracket(py, st, move || job.run())?;

    // Step 5.
    finish_call(py, st, cif.ret_ptr(ret_ptr), keep)
}

/// Step 5: the Python result from the value at `value_ptr`, then `_check_retval_`.
#[inline]
fn convert_result(py: Python<'_>, st: &FuncState, value_ptr: *mut u8) -> PyResult<Py<PyAny>> {
    let result = match &*st.ret {
        RetConv::Void => py.None(),
        // SAFETY: the result buffer holds a value of the restype's code.
        RetConv::Value(code) => unsafe { load_result(py, value_ptr, *code)? },
        RetConv::Instance { cls, info } => {
            let info_b = info.bind(py);
            let mut cd = CData::for_type(info_b)?;
            let n = info_b.get().size;
            // SAFETY: the result buffer holds `n` bytes of the restype; the new instance
            // owns at least `n` bytes.
            unsafe { memory::copy_bytes(value_ptr, cd.unplaced_ptr(), n) };
            instantiate(cls.bind(py), cd)?.unbind()
        }
        RetConv::Callable(f) => {
            // SAFETY: a callable restype means the C result is an int.
            let v = unsafe { load(py, value_ptr, TypeCode::Int, false)? };
            f.bind(py).call1((v,))?.unbind()
        }
    };
    let result = match &st.checker {
        Some(c) => c.bind(py).call1((result,))?.unbind(),
        None => result,
    };
    Ok(result)
}

/// ctypes' `errcheck` protocol, then the output parameters: `errcheck(result, func,
/// args)` replaces the result unless it returns `args` itself; with `paramflags`, the
/// output parameters are then the result.
pub fn finish<'py>(
    callee: &Callee<'_, 'py>,
    st: &FuncState,
    result: Py<PyAny>,
    args: &[Bound<'py, PyAny>],
    out: Option<&OutParams>,
) -> PyResult<Py<PyAny>> {
    let py = callee.obj.py();
    if let Some(check) = &st.errcheck {
        let args_t = PyTuple::new(py, args)?;
        let v = check
            .bind(py)
            .call1((result.bind(py), callee.obj, &args_t))?;
        if !v.is(&args_t) {
            return Ok(v.unbind());
        }
    }
    let Some(out) = out.filter(|o| o.count > 0) else {
        return Ok(result);
    };
    let mut values = Vec::with_capacity(out.count);
    for (i, a) in args.iter().enumerate() {
        if out.inout.contains(&i) {
            values.push(a.clone().unbind());
        } else if out.out.contains(&i) {
            values.push(
                a.call_method0(intern!(py, "__ctypes_from_outparam__"))?
                    .unbind(),
            );
        }
    }
    if let [single] = values.as_slice() {
        return Ok(single.clone_ref(py));
    }
    Ok(PyTuple::new(py, values)?.into_any().unbind())
}
