//! `CFuncPtr`: foreign function pointers and the Python side of the call path.
//!
//! When `argtypes`, `restype` or `errcheck` are assigned, they are compiled into a
//! [`FuncState`]: one converter per argument (built-in simple and pointer types convert
//! in Rust without calling `from_param`), a result converter, and — when every argument
//! type is built in — the prepared call interface. A call then only converts, calls and
//! converts back:
//!
//! 1. check the argument count (ctypes' messages);
//! 2. convert each argument into a stack slot (`ArgumentError("argument N: ...")` on
//!    failure), collecting the objects that must outlive the call;
//! 3. pick the prepared interface, or the cached one for this call's types;
//! 4. release the GIL (not for `PyDLL`, nor where `release_gil = False`), swap errno if
//!    asked, call;
//! 5. convert the result, then run `errcheck`.
//!
//! Step 4 has two engines. A function whose declared signature is all scalars that fit
//! in argument registers is called through the core's [`RegisterCall`] (no libffi;
//! arguments are written straight into a register image); any other goes through
//! libffi with the prepared interface. Both share the converters and the result path,
//! and `_set_register_calls(False)` makes plans prepared afterwards use libffi only, so
//! the tests can run every signature both ways.

use std::ffi::c_void;
use std::sync::Arc;

use std::sync::atomic::{AtomicBool, Ordering};

use ferrotype_core::{
    errno, ArgSlot, CallInterface, FfiType, RegArg, RegisterCall, Registers, RetBuf, TypeCode,
};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyFloat, PyInt, PyString, PyTuple, PyType};
use pyo3::{ffi, intern, PyTraverseError, PyTypeInfo, PyVisit};

use crate::cdata::{instantiate, CData};
use crate::convert::{self, default_param, pointer_param, simple_param, Param};
use crate::errors::{argument_error, CoreResultExt};
use crate::gilcell::GilCell;
use crate::ndarray::NdSpec;
use crate::pointer::Pointer;
use crate::simple::SimpleCData;
use crate::stginfo::{info_of, Kind, StgInfo};
use crate::thunk;

/// ctypes' `FUNCFLAG_CDECL`.
pub const FUNCFLAG_CDECL: u32 = 0x1;
/// ctypes' `FUNCFLAG_HRESULT`.
pub const FUNCFLAG_HRESULT: u32 = 0x2;
/// ctypes' `FUNCFLAG_PYTHONAPI`: keep the GIL and check for a Python error.
pub const FUNCFLAG_PYTHONAPI: u32 = 0x4;
/// ctypes' `FUNCFLAG_USE_ERRNO`.
pub const FUNCFLAG_USE_ERRNO: u32 = 0x8;
/// ctypes' `FUNCFLAG_USE_LASTERROR`.
pub const FUNCFLAG_USE_LASTERROR: u32 = 0x10;

/// How one declared argument is converted.
enum ArgConv {
    /// A built-in simple type: converted in Rust with ctypes' `from_param` rules.
    Simple {
        cls: Py<PyType>,
        info: Py<StgInfo>,
        code: TypeCode,
    },
    /// A built-in pointer type.
    Pointer { cls: Py<PyType>, info: Py<StgInfo> },
    /// A structure passed by value: its instances go straight to libffi; anything else
    /// goes through the type's `from_param`.
    Struct {
        cls: Py<PyType>,
        info: Py<StgInfo>,
        from_param: Py<PyAny>,
    },
    /// An `ndpointer` class of `ferrotype.ctypeslib`: checked and converted in Rust.
    NdPointer { spec: Py<NdSpec> },
    /// Anything else with a `from_param`: called, then converted by default rules.
    Custom { from_param: Py<PyAny> },
}

impl ArgConv {
    fn ffi(&self, py: Python<'_>) -> Option<FfiType> {
        match self {
            ArgConv::Simple { info, .. }
            | ArgConv::Pointer { info, .. }
            | ArgConv::Struct { info, .. } => Some(info.bind(py).get().ffi.clone()),
            ArgConv::NdPointer { .. } => Some(FfiType::Scalar(TypeCode::VoidP)),
            ArgConv::Custom { .. } => None,
        }
    }

    fn convert(&self, arg: &Bound<'_, PyAny>, index: usize) -> PyResult<Param> {
        let py = arg.py();
        match self {
            ArgConv::Simple { cls, info, .. } => simple_param(Some(cls.bind(py)), info.get(), arg),
            ArgConv::Pointer { cls, info } => pointer_param(cls.bind(py), info.get(), arg),
            ArgConv::Struct {
                cls,
                info,
                from_param,
            } => {
                if let Some(cd) = crate::cdata::as_cdata(arg)
                    .filter(|_| convert::is_instance_of_type(arg, cls.bind(py)))
                {
                    return Ok(Param {
                        ffi: info.get().ffi.clone(),
                        slot: ArgSlot::default(),
                        keep: Some(arg.clone().unbind()),
                        tag: 'V',
                        by_value: cd.get().ptr(),
                    });
                }
                let converted = from_param.bind(py).call1((arg,))?;
                let mut p = default_param(&converted, index)?;
                if p.ffi != info.get().ffi {
                    // The prepared interface expects this structure by value.
                    return Err(PyTypeError::new_err(format!(
                        "expected {} instance instead of {}",
                        cls.bind(py).name()?,
                        convert::type_name(arg)
                    )));
                }
                if p.keep.is_none() {
                    p.keep = Some(converted.unbind());
                }
                Ok(p)
            }
            ArgConv::NdPointer { spec } => spec.get().param(arg),
            ArgConv::Custom { from_param } => {
                let converted = from_param.bind(py).call1((arg,))?;
                let mut p = default_param(&converted, index)?;
                if p.keep.is_none() {
                    p.keep = Some(converted.unbind());
                }
                Ok(p)
            }
        }
    }
}

/// How the result is turned into a Python object.
enum RetConv {
    /// `restype = None`.
    Void,
    /// A simple type deriving directly from `_SimpleCData`: its Python value.
    Value(TypeCode),
    /// Any other ferrotype type: an instance holding a copy of the result.
    Instance { cls: Py<PyType>, info: Py<StgInfo> },
    /// A callable that is not a ferrotype type: called with the `int` result.
    Callable(Py<PyAny>),
}

/// Everything a call needs, rebuilt when `argtypes`/`restype`/`errcheck` change.
struct FuncState {
    flags: u32,
    /// The sequence as assigned (ctypes returns the very object).
    argtypes: Option<Py<PyAny>>,
    converters: Vec<ArgConv>,
    restype: Option<Py<PyAny>>,
    ret: RetConv,
    ret_ffi: FfiType,
    /// The restype's `_check_retval_`, applied to each result.
    checker: Option<Py<PyAny>>,
    /// `paramflags` given when the function was made from `(name, dll)`.
    paramflags: Option<Arc<Vec<ParamFlag>>>,
    /// `func.variadic = True` (ferrotype): `argtypes` are the fixed arguments, and the
    /// others get C's default argument promotions.
    variadic: bool,
    errcheck: Option<Py<PyAny>>,
    /// The interface for exactly the declared arguments, when all are built in.
    cif: Option<Arc<CallInterface>>,
    /// The register plan for exactly the declared arguments, when the signature fits.
    reg: Option<RegPlan>,
    /// Release the GIL around the call (ctypes' `CDLL` behaviour; ferrotype lets a
    /// function opt out with `func.release_gil = False`).
    release_gil: bool,
}

/// A register call and, per argument, the conversion that skips the converter for the
/// most common Python values.
#[derive(Clone)]
struct RegPlan {
    call: RegisterCall,
    fast: Box<[FastArg]>,
}

/// The inline conversion of one argument of a [`RegPlan`].
#[derive(Clone, Copy)]
enum FastArg {
    /// An exact `int` in `lo..=hi` (the type's range as checked by `int_for`, clipped to
    /// what `PyLong_AsLongLongAndOverflow` returns) goes to integer register `index`,
    /// truncated to the type's width and extended back by shifting left and right by
    /// `shift` (arithmetically when `signed`).
    Int {
        index: u8,
        shift: u32,
        signed: bool,
        lo: i64,
        hi: i64,
    },
    /// An exact `float` for `double` (or `float`) goes to vector register `index`.
    Float { index: u8, double: bool },
    /// An instance of the declared structure type: its bytes go to their registers.
    Struct,
    /// A `c_char_p` or `c_void_p` (`void`) parameter: `None`, exact `bytes`, arrays of
    /// and pointers to `c_char` (for `c_void_p` any array, pointer or function pointer,
    /// and an exact `int` in `i64` range) go to integer register `index` as an address.
    Address { index: u8, void: bool },
    /// A `POINTER(T)` parameter: an instance of exactly that type, or `None`, goes to
    /// integer register `index` as the address it holds.
    Pointer { index: u8 },
    /// Always through the converter.
    General,
}

impl RegPlan {
    fn new(call: RegisterCall, converters: &[ArgConv]) -> RegPlan {
        let fast = call
            .args()
            .iter()
            .zip(converters)
            .map(|(reg, conv)| match (reg, conv) {
                (RegArg::Int { index, code }, ArgConv::Simple { .. }) if code.is_integer() => {
                    let bits = (code.size() * 8) as u32;
                    let (lo, hi) = if bits >= 64 {
                        (i64::MIN, i64::MAX)
                    } else {
                        (-(1i64 << (bits - 1)), (1i64 << bits) - 1)
                    };
                    FastArg::Int {
                        index: *index,
                        shift: 64 - bits.min(64),
                        signed: code.kind() == ferrotype_core::typecode::ValueKind::Signed
                            || *code == TypeCode::Char,
                        lo,
                        hi,
                    }
                }
                (RegArg::Float { index, double }, ArgConv::Simple { .. }) => FastArg::Float {
                    index: *index,
                    double: *double,
                },
                (RegArg::Struct { .. }, ArgConv::Struct { .. }) => FastArg::Struct,
                (RegArg::Int { index, code }, ArgConv::Simple { .. })
                    if matches!(code, TypeCode::CharP | TypeCode::VoidP) =>
                {
                    FastArg::Address {
                        index: *index,
                        void: *code == TypeCode::VoidP,
                    }
                }
                (RegArg::Int { index, .. }, ArgConv::Pointer { .. }) => {
                    FastArg::Pointer { index: *index }
                }
                _ => FastArg::General,
            })
            .collect();
        RegPlan { call, fast }
    }
}

/// The address a `c_char_p` or `c_void_p` (`void`) parameter passes for `arg`, for the
/// common arguments (see [`FastArg::Address`]); `None` for anything else, which the
/// converter handles. The same addresses the converter passes: `bytes` are immutable and
/// live as long as the argument, arrays pass their memory, pointers the address they
/// hold.
#[inline]
fn fast_address(arg: &Bound<'_, PyAny>, void: bool) -> Option<u64> {
    if arg.is_none() {
        return Some(0);
    }
    if let Ok(b) = arg.cast_exact::<PyBytes>() {
        return Some(b.as_bytes().as_ptr() as u64);
    }
    if !void {
        // Arrays of and pointers to `c_char`.
        let cd = crate::cdata::as_cdata(arg)?.get();
        let info = cd.info();
        let elem = info.proto_info.as_ref()?.get();
        if elem.kind != Kind::Simple || elem.code != Some(TypeCode::Char) {
            return None;
        }
        return match info.kind {
            Kind::Array => Some(cd.ptr() as u64),
            Kind::Pointer => Some(crate::pointer::address(cd) as u64),
            _ => None,
        };
    }
    if arg.is_exact_instance_of::<PyInt>() {
        let mut overflow: std::ffi::c_int = 0;
        // SAFETY: `arg` is an exact int; values beyond 64 bits set `overflow`.
        let v = unsafe { ffi::PyLong_AsLongLongAndOverflow(arg.as_ptr(), &mut overflow) };
        // Negative addresses wrap, as the converter's do.
        return (overflow == 0).then_some(v as u64);
    }
    let cd = crate::cdata::as_cdata(arg)?.get();
    match cd.info().kind {
        Kind::Array => Some(cd.ptr() as u64),
        Kind::Pointer | Kind::FuncPtr => Some(crate::pointer::address(cd) as u64),
        _ => None,
    }
}

/// Whether plans prepared from now on may use register calls (tests turn this off to
/// compare both engines).
static REGISTER_CALLS_ON: AtomicBool = AtomicBool::new(true);

/// Turns register calls on or off for function plans prepared afterwards (argtypes or
/// restype assigned, function objects made); returns the previous setting. For tests
/// and benchmarks comparing the register engine with libffi.
#[pyfunction]
#[pyo3(name = "_set_register_calls")]
pub fn set_register_calls(on: bool) -> bool {
    REGISTER_CALLS_ON.swap(on, Ordering::Relaxed)
}

impl FuncState {
    fn empty() -> FuncState {
        FuncState {
            flags: FUNCFLAG_CDECL,
            argtypes: None,
            converters: Vec::new(),
            restype: None,
            ret: RetConv::Value(TypeCode::Int),
            ret_ffi: FfiType::Scalar(TypeCode::Int),
            checker: None,
            paramflags: None,
            variadic: false,
            errcheck: None,
            cif: None,
            reg: None,
            release_gil: true,
        }
    }

    fn clone_ref(&self, py: Python<'_>) -> FuncState {
        FuncState {
            flags: self.flags,
            argtypes: self.argtypes.as_ref().map(|a| a.clone_ref(py)),
            converters: self
                .converters
                .iter()
                .map(|c| match c {
                    ArgConv::Simple { cls, info, code } => ArgConv::Simple {
                        cls: cls.clone_ref(py),
                        info: info.clone_ref(py),
                        code: *code,
                    },
                    ArgConv::Pointer { cls, info } => ArgConv::Pointer {
                        cls: cls.clone_ref(py),
                        info: info.clone_ref(py),
                    },
                    ArgConv::Struct {
                        cls,
                        info,
                        from_param,
                    } => ArgConv::Struct {
                        cls: cls.clone_ref(py),
                        info: info.clone_ref(py),
                        from_param: from_param.clone_ref(py),
                    },
                    ArgConv::NdPointer { spec } => ArgConv::NdPointer {
                        spec: spec.clone_ref(py),
                    },
                    ArgConv::Custom { from_param } => ArgConv::Custom {
                        from_param: from_param.clone_ref(py),
                    },
                })
                .collect(),
            restype: self.restype.as_ref().map(|r| r.clone_ref(py)),
            ret: match &self.ret {
                RetConv::Void => RetConv::Void,
                RetConv::Value(c) => RetConv::Value(*c),
                RetConv::Instance { cls, info } => RetConv::Instance {
                    cls: cls.clone_ref(py),
                    info: info.clone_ref(py),
                },
                RetConv::Callable(f) => RetConv::Callable(f.clone_ref(py)),
            },
            ret_ffi: self.ret_ffi.clone(),
            checker: self.checker.as_ref().map(|c| c.clone_ref(py)),
            paramflags: self.paramflags.clone(),
            variadic: self.variadic,
            errcheck: self.errcheck.as_ref().map(|e| e.clone_ref(py)),
            cif: self.cif.clone(),
            reg: self.reg.clone(),
            release_gil: self.release_gil,
        }
    }

    /// Prepares the fixed interface when every converter has a known type.
    fn prepare(&mut self, py: Python<'_>) -> PyResult<()> {
        self.cif = None;
        self.reg = None;
        if self.argtypes.is_none() {
            return Ok(());
        }
        let types: Option<Vec<FfiType>> = self.converters.iter().map(|c| c.ffi(py)).collect();
        if let Some(types) = types {
            // The libffi interface is always prepared: it also checks the signature
            // (float16 refused) and serves calls with extra arguments.
            self.cif = Some(CallInterface::cached(&self.ret_ffi, &types, None).py()?);
            // A function declared variadic keeps libffi: its variadic arguments may
            // travel differently from fixed ones.
            if !self.variadic && REGISTER_CALLS_ON.load(Ordering::Relaxed) {
                self.reg = RegisterCall::try_new(&self.ret_ffi, &types)
                    .map(|call| RegPlan::new(call, &self.converters));
            }
        }
        Ok(())
    }
}

/// Where `from_param` of `cls` comes from: a native base class (built-in conversion) or
/// a Python class that overrides it.
fn native_from_param_kind(cls: &Bound<'_, PyType>) -> PyResult<Option<Kind>> {
    let py = cls.py();
    let simple = SimpleCData::type_object(py);
    let pointer = Pointer::type_object(py);
    let structure = crate::structure::Structure::type_object(py);
    let union = crate::structure::Union::type_object(py);
    for k in cls.mro().iter() {
        let k = k.cast_into::<PyType>()?;
        if k.is(&simple) {
            return Ok(Some(Kind::Simple));
        }
        if k.is(&pointer) {
            return Ok(Some(Kind::Pointer));
        }
        if k.is(&structure) {
            return Ok(Some(Kind::Struct));
        }
        if k.is(&union) {
            return Ok(Some(Kind::Union));
        }
        let dict = k.getattr(intern!(py, "__dict__"))?;
        if dict.contains(intern!(py, "from_param"))? {
            return Ok(None);
        }
    }
    Ok(None)
}

fn compile_argtype(item: &Bound<'_, PyAny>, index: usize) -> PyResult<ArgConv> {
    let py = item.py();
    if let Ok(cls) = item.cast::<PyType>() {
        if let Ok(spec) = cls.getattr(intern!(py, "_ft_ndspec_")) {
            if let Ok(spec) = spec.cast_into::<NdSpec>() {
                return Ok(ArgConv::NdPointer {
                    spec: spec.unbind(),
                });
            }
        }
        if let Some(info) = info_of(item) {
            match native_from_param_kind(cls)? {
                Some(Kind::Simple) if info.get().kind == Kind::Simple => {
                    return Ok(ArgConv::Simple {
                        cls: cls.clone().unbind(),
                        code: info.get().code.expect("simple type has a code"),
                        info: info.unbind(),
                    })
                }
                Some(Kind::Pointer)
                    if info.get().kind == Kind::Pointer
                        && info.get().pointer_target().is_some() =>
                {
                    return Ok(ArgConv::Pointer {
                        cls: cls.clone().unbind(),
                        info: info.unbind(),
                    })
                }
                Some(Kind::Struct | Kind::Union)
                    if matches!(info.get().kind, Kind::Struct | Kind::Union)
                        && info.get().ffi != FfiType::Void =>
                {
                    return Ok(ArgConv::Struct {
                        cls: cls.clone().unbind(),
                        info: info.unbind(),
                        from_param: item.getattr(intern!(py, "from_param"))?.unbind(),
                    })
                }
                _ => {}
            }
        }
    }
    match item.getattr(intern!(py, "from_param")) {
        Ok(fp) => {
            // Another type's converter borrowed as `from_param` (ctypes itself sets
            // `POINTER(c_char).from_param = c_char_p.from_param`, and the same for
            // `c_wchar`): converted as that type when it is a native one.
            if let Ok(owner) = fp.getattr(intern!(py, "__self__")) {
                if let Ok(owner_cls) = owner.cast::<PyType>() {
                    if !owner.is(item)
                        && info_of(&owner).is_some()
                        && native_from_param_kind(owner_cls)?.is_some()
                        && owner.getattr(intern!(py, "from_param"))?.eq(&fp)?
                    {
                        return compile_argtype(&owner, index);
                    }
                }
            }
            Ok(ArgConv::Custom {
                from_param: fp.unbind(),
            })
        }
        Err(_) => Err(PyTypeError::new_err(format!(
            "item {} in _argtypes_ has no from_param method",
            index + 1
        ))),
    }
}

/// The restype's `_check_retval_` (ctypes calls it with each result of a ctypes type).
fn restype_checker(restype: &Bound<'_, PyAny>) -> Option<Py<PyAny>> {
    if restype.is_none() || info_of(restype).is_none() {
        return None;
    }
    restype
        .getattr(intern!(restype.py(), "_check_retval_"))
        .ok()
        .map(Bound::unbind)
}

fn compile_restype(restype: &Bound<'_, PyAny>) -> PyResult<(RetConv, FfiType)> {
    if restype.is_none() {
        return Ok((RetConv::Void, FfiType::Void));
    }
    if let (Ok(cls), Some(info)) = (restype.cast::<PyType>(), info_of(restype)) {
        let i = info.get();
        let ffi = i.ffi.clone();
        if i.kind == Kind::Simple && i.direct {
            return Ok((RetConv::Value(i.code.expect("simple type has a code")), ffi));
        }
        if i.kind == Kind::Array {
            return Err(PyTypeError::new_err(
                "restype must be a type, a callable, or None",
            ));
        }
        if matches!(i.kind, Kind::Struct | Kind::Union) && ffi == FfiType::Void && i.size > 0 {
            return Err(crate::structure::by_value_error());
        }
        return Ok((
            RetConv::Instance {
                cls: cls.clone().unbind(),
                info: info.clone().unbind(),
            },
            ffi,
        ));
    }
    if restype.is_callable() {
        return Ok((
            RetConv::Callable(restype.clone().unbind()),
            FfiType::Scalar(TypeCode::Int),
        ));
    }
    Err(PyTypeError::new_err(
        "restype must be a type, a callable, or None",
    ))
}

/// A foreign function pointer.
#[pyclass(extends = CData, subclass, frozen, module = "ferrotype._native", name = "CFuncPtr")]
pub struct CFuncPtr {
    /// The vectorcall entry point; the type's `tp_vectorcall_offset` points here.
    vectorcall: ffi::vectorcallfunc,
    state: GilCell<FuncState>,
    /// The interface of the last call whose types were not all declared (calls without
    /// `argtypes`, extra arguments, custom `from_param`), so repeated calls of the same
    /// shape skip the process-wide cache.
    memo: GilCell<Option<Arc<CallInterface>>>,
    /// For a callback (made from a Python callable): the closure C calls.
    callback: Option<thunk::Callback>,
}

impl Drop for CFuncPtr {
    fn drop(&mut self) {
        if let Some(cb) = self.callback.take() {
            Python::attach(|py| thunk::release(py, cb));
        }
    }
}

impl CFuncPtr {
    /// A function pointer with ctypes' defaults (used when one is made from memory).
    pub fn empty() -> CFuncPtr {
        CFuncPtr::with_state(FuncState::empty())
    }

    fn with_state(st: FuncState) -> CFuncPtr {
        CFuncPtr {
            vectorcall: funcptr_vectorcall,
            state: GilCell::new(st),
            memo: GilCell::new(None),
            callback: None,
        }
    }

    fn update(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&mut FuncState) -> PyResult<()>,
    ) -> PyResult<()> {
        let mut st = self.state.get(py).clone_ref(py);
        f(&mut st)?;
        st.prepare(py)?;
        self.state.set(py, st);
        Ok(())
    }
}

/// The raw pieces of a call, handed to the thread that runs it without the GIL.
struct CallJob {
    cif: *const CallInterface,
    fun: *const c_void,
    args: *mut *mut c_void,
    ret: *mut u8,
    use_errno: bool,
}

// SAFETY: the job only carries addresses of buffers owned by the calling frame, which
// outlives the detached section; nothing in it is tied to a thread.
unsafe impl Send for CallJob {}

impl CallJob {
    fn run(self) {
        if self.use_errno {
            errno::swap();
        }
        // SAFETY: the interface matches the converted arguments (built from them or
        // from the declared argtypes they were converted with); args holds one valid
        // pointer per argument and ret is a RetBuf-sized, 16-aligned buffer.
        unsafe { (*self.cif).call(self.fun, self.args, self.ret) };
        if self.use_errno {
            errno::swap();
        }
    }
}

/// Converts an exact `int` or `float` for a simple argument type straight into `slot`.
/// Returns false when `arg` needs the general conversion.
#[inline]
fn fast_scalar(arg: &Bound<'_, PyAny>, code: TypeCode, slot: &mut ArgSlot) -> PyResult<bool> {
    if code.is_integer() && arg.is_exact_instance_of::<PyInt>() {
        let v = convert::int_for(arg, code)?;
        // Low bytes in native order, as libffi reads an integer argument of this size.
        match code.size() {
            1 => slot.u8 = v as u8,
            2 => slot.u16 = v as u16,
            4 => slot.u32 = v as u32,
            _ => slot.u64 = v as u64,
        }
        return Ok(true);
    }
    if matches!(code, TypeCode::Double | TypeCode::Float) && arg.is_exact_instance_of::<PyFloat>() {
        let v = arg.cast::<PyFloat>().map_err(PyErr::from)?.value();
        if code == TypeCode::Double {
            slot.f64 = v;
        } else {
            slot.f32 = v as f32;
        }
        return Ok(true);
    }
    Ok(false)
}

/// Reads a simple result (`convert::load`, which reads the common numeric types
/// directly), taking over a `py_object` result's reference.
///
/// # Safety
/// `ptr` must hold a value of type `code` (a call's result buffer, 16-aligned).
#[inline]
unsafe fn load_result(py: Python<'_>, ptr: *const u8, code: TypeCode) -> PyResult<Py<PyAny>> {
    // SAFETY: the caller guarantees a value of `code` at the aligned `ptr`.
    unsafe {
        if code == TypeCode::PyObject {
            // ctypes: a `py_object` result is a new reference, which the result takes over.
            let p = ptr.cast::<*mut ffi::PyObject>().read();
            if p.is_null() {
                return Err(
                    PyErr::take(py).unwrap_or_else(|| PyValueError::new_err("PyObject is NULL"))
                );
            }
            return Ok(Bound::from_owned_ptr(py, p).unbind());
        }
        convert::load(py, ptr, code, false)
    }
}

/// An argument beyond the fixed ones of a function declared `variadic`: converted as
/// without `argtypes`, plus Python floats, then promoted as C promotes variadic
/// arguments (`float` to `double`, integers narrower than `int` to `int`).
fn variadic_param(arg: &Bound<'_, PyAny>, index: usize) -> PyResult<Param> {
    if let Ok(f) = arg.cast::<PyFloat>() {
        return Ok(Param {
            ffi: FfiType::Scalar(TypeCode::Double),
            slot: ArgSlot { f64: f.value() },
            keep: None,
            tag: 'd',
            by_value: std::ptr::null_mut(),
        });
    }
    let mut p = default_param(arg, index)?;
    if let FfiType::Scalar(code) = p.ffi {
        match code {
            TypeCode::Float => {
                // SAFETY: a float parameter's slot holds an f32.
                let v = unsafe { p.slot.f32 };
                p.slot = ArgSlot { f64: f64::from(v) };
                p.ffi = FfiType::Scalar(TypeCode::Double);
            }
            c if c.size() < TypeCode::Int.size() && c != TypeCode::Half => {
                // SAFETY: the slot holds the value's `size` low bytes in native order.
                let bits = unsafe {
                    ferrotype_core::memory::read_bits((&raw const p.slot).cast(), c.size(), false)
                };
                let signed = c.kind() == ferrotype_core::typecode::ValueKind::Signed;
                let v = ferrotype_core::memory::widen(bits, c.size(), signed) as u32;
                p.slot = ArgSlot { u32: v };
                p.ffi = FfiType::Scalar(TypeCode::Int);
            }
            _ => {}
        }
    }
    Ok(p)
}

/// Slot storage on the stack for calls with up to this many arguments.
const INLINE_ARGS: usize = 8;

/// A call without `paramflags`, with the plan `st` (a snapshot: a converter that
/// reassigns `argtypes` during the call replaces the cell's value, not this plan).
#[inline]
fn call_function<'py>(
    slf: &Bound<'py, CFuncPtr>,
    st: &FuncState,
    args: &[Bound<'py, PyAny>],
) -> PyResult<Py<PyAny>> {
    let result = match &st.reg {
        Some(plan) if plan.fast.len() == args.len() => call_registers(slf, st, plan, args)?,
        _ => call_raw(slf, st, args)?,
    };
    if st.errcheck.is_none() {
        return Ok(result);
    }
    finish(slf, st, result, args, None)
}

/// A call through the register engine: the declared converters write each argument
/// straight into its register, then the result takes the common path.
fn call_registers<'py>(
    slf: &Bound<'py, CFuncPtr>,
    st: &FuncState,
    plan: &RegPlan,
    args: &[Bound<'py, PyAny>],
) -> PyResult<Py<PyAny>> {
    let py = slf.py();
    let fun = crate::pointer::address(slf.as_super().get());
    if fun == 0 {
        return Err(PyValueError::new_err("NULL function pointer"));
    }
    let rc = &plan.call;
    let mut regs = Registers::default();
    // Objects made by conversions (a `c_wchar_p` buffer from a str, ...), which must
    // outlive the call. Arguments themselves are kept alive by the caller.
    let mut keep: Vec<Bound<'py, PyAny>> = Vec::new();
    for (i, (arg, fast)) in args.iter().zip(plan.fast.iter()).enumerate() {
        // The inline conversions accept exactly what the converter would accept the
        // same way; anything else (out of range included) takes the converter, which
        // also produces ctypes' error.
        match *fast {
            FastArg::Int {
                index,
                shift,
                signed,
                lo,
                hi,
            } if arg.is_exact_instance_of::<PyInt>() => {
                let mut overflow: std::ffi::c_int = 0;
                // SAFETY: `arg` is an exact int, for which the call cannot fail; it
                // reports values beyond 64 bits through `overflow`.
                let v = unsafe { ffi::PyLong_AsLongLongAndOverflow(arg.as_ptr(), &mut overflow) };
                if overflow == 0 && (lo..=hi).contains(&v) {
                    regs.int[usize::from(index)] = if signed {
                        ((v << shift) >> shift) as u64
                    } else {
                        ((v as u64) << shift) >> shift
                    };
                    continue;
                }
            }
            FastArg::Struct => {
                if let ArgConv::Struct { cls, .. } = &st.converters[i] {
                    let cd = if arg.get_type().is(cls) {
                        // SAFETY: the class of a `Struct`/`Pointer` converter has the
                        // native base in its MRO (`native_from_param_kind`), so its
                        // instances are `CData`s.
                        Some(unsafe { arg.cast_unchecked::<CData>() })
                    } else {
                        crate::cdata::as_cdata(arg)
                            .filter(|_| convert::is_instance_of_type(arg, cls.bind(py)))
                    };
                    if let Some(cd) = cd {
                        // SAFETY: the plan's entry for this argument is its structure
                        // plan and the instance holds the structure's bytes.
                        unsafe { regs.set_struct(rc.args()[i], cd.get().ptr()) };
                        continue;
                    }
                }
            }
            FastArg::Address { index, void } => {
                if let Some(a) = fast_address(arg, void) {
                    regs.int[usize::from(index)] = a;
                    continue;
                }
            }
            FastArg::Pointer { index } => {
                if let ArgConv::Pointer { cls, .. } = &st.converters[i] {
                    if arg.is_none() {
                        regs.int[usize::from(index)] = 0;
                        continue;
                    }
                    if arg.get_type().is(cls) {
                        // SAFETY: the class of a `Struct`/`Pointer` converter has the
                        // native base in its MRO (`native_from_param_kind`), so its
                        // instances are `CData`s.
                        let cd = unsafe { arg.cast_unchecked::<CData>() };
                        regs.int[usize::from(index)] = crate::pointer::address(cd.get()) as u64;
                        continue;
                    }
                }
            }
            FastArg::Float { index, double } if arg.is_exact_instance_of::<PyFloat>() => {
                // SAFETY: `arg` is an exact float.
                let v = unsafe { ffi::PyFloat_AS_DOUBLE(arg.as_ptr()) };
                regs.float[usize::from(index)] = if double {
                    v.to_bits()
                } else {
                    u64::from((v as f32).to_bits())
                };
                continue;
            }
            _ => {}
        }
        let param = st.converters[i]
            .convert(arg, i)
            .map_err(|e| argument_error(py, i, e))?;
        let reg = rc.args()[i];
        if param.by_value.is_null() {
            regs.set_from_slot(reg, &param.slot);
        } else {
            // SAFETY: a by-value parameter points at the structure's bytes (kept alive
            // by `param.keep` below, and copied into registers right here).
            unsafe { regs.set_struct(reg, param.by_value) };
        }
        if let Some(k) = param.keep {
            let k = k.into_bound(py);
            if !k.is(arg) {
                keep.push(k);
            }
        }
    }

    let use_errno = st.flags & FUNCFLAG_USE_ERRNO != 0;
    let regs = &regs;
    let run = move || {
        if use_errno {
            errno::swap();
        }
        // SAFETY: the plan was made from the declared signature, which the converters
        // just satisfied; pointer arguments point into objects alive until the call
        // returns (the arguments and `keep`).
        let r = unsafe { rc.call(fun as *const c_void, regs) };
        if use_errno {
            errno::swap();
        }
        r
    };
    let debug = thunk::debug_enabled();
    if debug {
        thunk::enter_call();
    }
    let regs_out = if st.flags & FUNCFLAG_PYTHONAPI != 0 {
        let r = run();
        if let Some(err) = PyErr::take(py) {
            if debug {
                let _ = thunk::leave_call();
            }
            return Err(err);
        }
        r
    } else if st.release_gil {
        crate::gil::released(py, run)
    } else {
        run()
    };
    if debug {
        thunk::leave_call()?;
    }
    if let (RetConv::Value(code), None) = (&st.ret, &st.checker) {
        // A simple result, read straight from its register's bits (laid out as
        // `write_result` lays them out, and aligned for any scalar).
        let bits = rc.scalar(&regs_out);
        // SAFETY: `bits` holds a value of the restype's code.
        return unsafe { load_result(py, (&raw const bits).cast(), *code) };
    }
    let mut retbuf = RetBuf::default();
    let mut bytes = [0u8; 16];
    rc.write_result(&regs_out, &mut bytes);
    retbuf.0[..16].copy_from_slice(&bytes);
    // The converted arguments live until the result is converted: a pointer result may
    // point into one of them (ctypes keeps them as long).
    let result = convert_result(py, st, retbuf.as_mut_ptr());
    drop(keep);
    result
}

/// A call up to the result conversion (and `_check_retval_`), before `errcheck`.
fn call_raw<'py>(
    slf: &Bound<'py, CFuncPtr>,
    st: &FuncState,
    args: &[Bound<'py, PyAny>],
) -> PyResult<Py<PyAny>> {
    let py = slf.py();
    let this = slf.get();
    let fun = crate::pointer::address(slf.as_super().get()) as *const c_void;
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
        return Err(crate::errors::ArgumentError::new_err(format!(
            "too many arguments ({nargs}), maximum is {}",
            ferrotype_core::MAX_ARGS
        )));
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
    // Bound, not Py: the vectorcall entry does not register with PyO3's attach count,
    // so dropping a `Py` here would defer the decref to PyO3's pool (a leak until some
    // other PyO3 entry point flushes it); dropping a `Bound` decrefs at once.
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
        *slot = param.slot;
        if !param.by_value.is_null() {
            by_value.push((i, param.by_value.cast()));
        }
        if let Some(k) = param.keep {
            // An argument converted to itself is kept alive by the caller already.
            let k = k.into_bound(py);
            if !k.is(arg) {
                keep.push(k);
            }
        }
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
            let memo = this.memo.get(py);
            untyped = match memo.as_ref().as_ref().filter(|c| {
                c.args() == types.as_slice() && *c.ret() == st.ret_ffi && c.nfixed() == nfixed
            }) {
                Some(c) => Arc::clone(c),
                None => {
                    let c = CallInterface::cached(&st.ret_ffi, &types, nfixed).py()?;
                    this.memo.set(py, Some(Arc::clone(&c)));
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
        use_errno: st.flags & FUNCFLAG_USE_ERRNO != 0,
    };
    let debug = thunk::debug_enabled();
    if debug {
        thunk::enter_call();
    }
    if st.flags & FUNCFLAG_PYTHONAPI != 0 {
        job.run();
        if let Some(err) = PyErr::take(py) {
            if debug {
                let _ = thunk::leave_call();
            }
            return Err(err);
        }
    } else {
        if st.release_gil {
            crate::gil::released(py, move || job.run());
        } else {
            job.run();
        }
    }
    if debug {
        thunk::leave_call()?;
    }

    // Step 5: the result, converted while the converted arguments still live (a pointer
    // result may point into one of them).
    let result = convert_result(py, st, cif.ret_ptr(ret_ptr));
    drop(keep);
    result
}

/// Step 5: the Python result from the value at `value_ptr`, then `_check_retval_`.
#[inline]
fn convert_result(py: Python<'_>, st: &FuncState, value_ptr: *mut u8) -> PyResult<Py<PyAny>> {
    let result = match &st.ret {
        RetConv::Void => py.None(),
        // SAFETY: the result buffer holds a value of the restype's code.
        RetConv::Value(code) => unsafe { load_result(py, value_ptr, *code)? },
        RetConv::Instance { cls, info } => {
            let info_b = info.bind(py);
            let cd = CData::for_type(info_b)?;
            let n = info_b.get().size;
            // SAFETY: the result buffer holds `n` bytes of the restype; the new instance
            // owns at least `n` bytes.
            unsafe { std::ptr::copy_nonoverlapping(value_ptr, cd.ptr(), n) };
            instantiate(cls.bind(py), cd)?.unbind()
        }
        RetConv::Callable(f) => {
            // SAFETY: a callable restype means the C result is an int.
            let v = unsafe { convert::load(py, value_ptr, TypeCode::Int, false)? };
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
fn finish<'py>(
    slf: &Bound<'py, CFuncPtr>,
    st: &FuncState,
    result: Py<PyAny>,
    args: &[Bound<'py, PyAny>],
    out: Option<&OutParams>,
) -> PyResult<Py<PyAny>> {
    let py = slf.py();
    if let Some(check) = &st.errcheck {
        let args_t = PyTuple::new(py, args)?;
        let v = check.bind(py).call1((result.bind(py), slf, &args_t))?;
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
    if values.len() == 1 {
        return Ok(values.pop().expect("one value"));
    }
    Ok(PyTuple::new(py, values)?.into_any().unbind())
}

/// `paramflags` flags.
const PARAMFLAG_FIN: i64 = 0x1;
const PARAMFLAG_FOUT: i64 = 0x2;
const PARAMFLAG_FLCID: i64 = 0x4;
const FIN_OUT: i64 = PARAMFLAG_FIN | PARAMFLAG_FOUT;
const FIN_LCID: i64 = PARAMFLAG_FIN | PARAMFLAG_FLCID;

/// One entry of `paramflags`: `(flag, name, default)`.
struct ParamFlag {
    flag: i64,
    name: Option<Py<PyString>>,
    default: Option<Py<PyAny>>,
}

/// Which arguments of a call with `paramflags` are returned.
struct OutParams {
    out: Vec<usize>,
    inout: Vec<usize>,
    count: usize,
}

const PARAMFLAGS_SHAPE: &str = "paramflags must be a sequence of (int [,string [,value]]) tuples";

/// ctypes' checks of `paramflags` against the prototype's `argtypes`.
fn parse_paramflags(
    paramflags: &Bound<'_, PyAny>,
    argtypes: Option<&Bound<'_, PyAny>>,
) -> PyResult<Option<Vec<ParamFlag>>> {
    if paramflags.is_none() {
        return Ok(None);
    }
    let Ok(items) = paramflags.cast::<PyTuple>() else {
        return Err(PyTypeError::new_err("paramflags must be a tuple or None"));
    };
    let argtypes: Vec<Bound<'_, PyAny>> = match argtypes {
        Some(a) => a.try_iter()?.collect::<PyResult<_>>()?,
        None => Vec::new(),
    };
    if items.len() != argtypes.len() {
        return Err(PyValueError::new_err(
            "paramflags must have the same length as argtypes",
        ));
    }
    let mut out = Vec::with_capacity(items.len());
    for (i, (item, typ)) in items.iter().zip(&argtypes).enumerate() {
        let t = item
            .cast::<PyTuple>()
            .map_err(|_| PyTypeError::new_err(PARAMFLAGS_SHAPE))?;
        if t.is_empty() || t.len() > 3 {
            return Err(PyTypeError::new_err(PARAMFLAGS_SHAPE));
        }
        let flag: i64 = t
            .get_item(0)?
            .extract()
            .map_err(|_| PyTypeError::new_err(PARAMFLAGS_SHAPE))?;
        let name = match t.get_item(1) {
            Ok(n) if n.is_none() => None,
            Ok(n) => Some(
                n.cast_into::<PyString>()
                    .map_err(|_| PyTypeError::new_err(PARAMFLAGS_SHAPE))?
                    .unbind(),
            ),
            Err(_) => None,
        };
        let default = t.get_item(2).ok().map(Bound::unbind);
        match flag & (PARAMFLAG_FIN | PARAMFLAG_FOUT | PARAMFLAG_FLCID) {
            0 | PARAMFLAG_FIN | FIN_LCID | FIN_OUT => {}
            PARAMFLAG_FOUT => check_outarg_type(typ, i + 1)?,
            other => {
                return Err(PyTypeError::new_err(format!(
                    "paramflag value {other} not supported"
                )))
            }
        }
        out.push(ParamFlag {
            flag,
            name,
            default,
        });
    }
    Ok(Some(out))
}

/// An 'out' parameter must be a pointer (or array, or `c_void_p`/`c_char_p`/`c_wchar_p`).
fn check_outarg_type(typ: &Bound<'_, PyAny>, index: usize) -> PyResult<()> {
    if let Some(info) = info_of(typ) {
        let i = info.get();
        if matches!(i.kind, Kind::Pointer | Kind::Array)
            || matches!(i.type_char, Some('P' | 'z' | 'Z'))
        {
            return Ok(());
        }
    }
    let name = typ
        .cast::<PyType>()
        .ok()
        .and_then(|t| t.name().ok())
        .map(|n| n.to_string())
        .unwrap_or_else(|| convert::type_name(typ));
    Err(PyTypeError::new_err(format!(
        "'out' parameter {index} must be a pointer type, not {name}"
    )))
}

/// The argument of `name`/`default` for an 'in' parameter: the next positional
/// argument, else the keyword argument of that name, else the default.
fn in_argument<'py>(
    py: Python<'py>,
    p: &ParamFlag,
    next: &mut usize,
    used_kw: &mut usize,
    args: &[Bound<'py, PyAny>],
    kwargs: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyAny>> {
    if *next < args.len() {
        *next += 1;
        return Ok(args[*next - 1].clone());
    }
    if let (Some(kw), Some(name)) = (kwargs, &p.name) {
        if let Some(v) = kw.get_item(name.bind(kw.py()))? {
            *used_kw += 1;
            return Ok(v);
        }
    }
    if let Some(d) = &p.default {
        return Ok(d.bind(py).clone());
    }
    Err(PyTypeError::new_err(match &p.name {
        Some(n) => format!("required argument '{n}' missing"),
        None => "not enough arguments".to_owned(),
    }))
}

/// A call of a function with `paramflags`: ctypes' argument building (defaults,
/// keywords, output parameters created here) and result building.
fn call_with_paramflags<'py>(
    slf: &Bound<'py, CFuncPtr>,
    flags: &[ParamFlag],
    args: &[Bound<'py, PyAny>],
    kwargs: Option<&Bound<'py, PyDict>>,
) -> PyResult<Py<PyAny>> {
    let py = slf.py();
    let st = slf.get().state.get(py);
    let argtypes: Vec<Bound<'py, PyAny>> = match &st.argtypes {
        Some(a) => a.bind(py).try_iter()?.collect::<PyResult<_>>()?,
        None => Vec::new(),
    };
    let mut callargs = Vec::with_capacity(flags.len());
    let mut out = OutParams {
        out: Vec::new(),
        inout: Vec::new(),
        count: 0,
    };
    let (mut next, mut used_kw) = (0usize, 0usize);
    for (i, p) in flags.iter().enumerate() {
        match p.flag & (PARAMFLAG_FIN | PARAMFLAG_FOUT | PARAMFLAG_FLCID) {
            0 | PARAMFLAG_FIN => {
                callargs.push(in_argument(py, p, &mut next, &mut used_kw, args, kwargs)?)
            }
            // ['in', 'lcid']: always the default, else 0 (ctypes; used on Windows).
            FIN_LCID => callargs.push(match &p.default {
                Some(d) => d.bind(py).clone(),
                None => 0i32.into_pyobject(py)?.into_any(),
            }),
            FIN_OUT => {
                out.inout.push(i);
                out.count += 1;
                callargs.push(in_argument(py, p, &mut next, &mut used_kw, args, kwargs)?);
            }
            PARAMFLAG_FOUT => {
                out.out.push(i);
                out.count += 1;
                if let Some(d) = &p.default {
                    callargs.push(d.bind(py).clone());
                    continue;
                }
                let typ = argtypes
                    .get(i)
                    .ok_or_else(|| PyTypeError::new_err("NULL stginfo unexpected"))?;
                let info =
                    info_of(typ).ok_or_else(|| PyTypeError::new_err("NULL stginfo unexpected"))?;
                let obj = match info.get().kind {
                    Kind::Array => typ.call0()?,
                    Kind::Pointer => match info.get().pointer_target() {
                        Some(t) => t.bind(py).call0()?,
                        None => return Err(PyTypeError::new_err("NULL stginfo unexpected")),
                    },
                    _ => {
                        return Err(PyTypeError::new_err(format!(
                            "{} 'out' parameter must be passed as default value",
                            typ.cast::<PyType>()?.name()?
                        )))
                    }
                };
                callargs.push(obj);
            }
            other => {
                return Err(PyValueError::new_err(format!(
                    "paramflag {other} not yet implemented"
                )))
            }
        }
    }
    let given = args.len() + kwargs.map_or(0, |k| k.len());
    if given != next + used_kw {
        return Err(PyTypeError::new_err(format!(
            "call takes exactly {} arguments ({} given)",
            next + used_kw,
            given
        )));
    }
    let raw = call_raw(slf, &st, &callargs)?;
    finish(slf, &st, raw, &callargs, Some(&out))
}

#[pymethods]
impl CFuncPtr {
    /// Visits what the function object refers to (its callable, argtypes, restype,
    /// errcheck), so that cycles through them are collected.
    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        if let Some(cb) = &self.callback {
            cb.user().traverse(&visit)?;
        }
        self.state.traverse(&visit, |st| {
            for o in [&st.argtypes, &st.restype, &st.checker, &st.errcheck]
                .into_iter()
                .flatten()
            {
                visit.call(o)?;
            }
            Ok(())
        })
    }

    #[new]
    #[classmethod]
    #[pyo3(signature = (*args, **_kwargs))]
    fn new(
        cls: &Bound<'_, PyType>,
        args: &Bound<'_, PyTuple>,
        _kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<PyClassInitializer<Self>> {
        let py = cls.py();
        let info = info_of(cls.as_any())
            .filter(|i| i.get().kind == Kind::FuncPtr)
            .ok_or_else(|| PyTypeError::new_err("abstract class"))?;
        let mut st = FuncState::empty();
        if let Ok(flags) = cls.getattr(intern!(py, "_flags_")) {
            st.flags = flags.extract()?;
        }
        let mut callback = None;
        let mut paramflags = None;
        let address: usize = match args.len() {
            0 => 0,
            1 => {
                let a = args.get_item(0)?;
                if a.is_instance_of::<PyInt>() {
                    convert::address_value(&a)?
                } else if let Ok(t) = a.cast::<PyTuple>() {
                    symbol_address(t)?
                } else if a.is_callable() {
                    let restype = cls.getattr(intern!(py, "_restype_")).ok();
                    let argtypes = cls.getattr(intern!(py, "_argtypes_")).ok();
                    let cb = thunk::make(
                        &a,
                        restype.as_ref(),
                        argtypes.as_ref(),
                        st.flags & FUNCFLAG_USE_ERRNO != 0,
                    )?;
                    let code = cb.code_ptr() as usize;
                    callback = Some(cb);
                    code
                } else {
                    return Err(PyTypeError::new_err(
                        "argument must be callable or integer function address",
                    ));
                }
            }
            2 => {
                let a = args.get_item(0)?;
                let Ok(t) = a.cast::<PyTuple>() else {
                    return Err(PyTypeError::new_err(
                        "argument must be callable or integer function address",
                    ));
                };
                paramflags = Some(args.get_item(1)?);
                symbol_address(t)?
            }
            _ => {
                return Err(PyTypeError::new_err(
                    "argument must be callable or integer function address",
                ))
            }
        };
        if let Ok(rt) = cls.getattr(intern!(py, "_restype_")) {
            let (ret, ffi) = compile_restype(&rt)?;
            st.checker = restype_checker(&rt);
            st.restype = Some(rt.unbind());
            st.ret = ret;
            st.ret_ffi = ffi;
        }
        if let Ok(at) = cls.getattr(intern!(py, "_argtypes_")) {
            set_argtypes(&mut st, &at)?;
        }
        if let Some(pf) = paramflags {
            let argtypes = st.argtypes.as_ref().map(|a| a.bind(py).clone());
            st.paramflags = parse_paramflags(&pf, argtypes.as_ref())?.map(Arc::new);
        }
        st.prepare(py)?;
        let cd = match crate::cdata::take_pending() {
            Some(cd) => cd,
            None => {
                let cd = CData::for_type(&info)?;
                // SAFETY: a function pointer instance holds one pointer-sized value.
                unsafe {
                    ferrotype_core::memory::write_bits(
                        cd.ptr(),
                        TypeCode::VoidP.size(),
                        false,
                        address as u64,
                    )
                };
                cd
            }
        };
        let mut fp = CFuncPtr::with_state(st);
        fp.callback = callback;
        Ok(PyClassInitializer::from(cd).add_subclass(fp))
    }

    #[pyo3(signature = (*args, **kwargs))]
    fn __call__(
        slf: &Bound<'_, Self>,
        args: &Bound<'_, PyTuple>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Py<PyAny>> {
        let st = slf.get().state.get(slf.py());
        match st.paramflags.clone() {
            Some(f) => {
                drop(st);
                call_with_paramflags(slf, &f, args.as_slice(), kwargs)
            }
            // ctypes ignores keyword arguments of functions without paramflags.
            None => call_function(slf, &st, args.as_slice()),
        }
    }

    /// Whether the function is declared variadic (ferrotype): `argtypes` are then its
    /// fixed arguments, and further arguments get C's default promotions (`float` to
    /// `double`, small integers to `int`; Python floats are accepted as `double`).
    #[getter]
    fn variadic(slf: &Bound<'_, Self>) -> bool {
        slf.get().state.get(slf.py()).variadic
    }

    #[setter]
    fn set_variadic(slf: &Bound<'_, Self>, value: bool) -> PyResult<()> {
        slf.get().update(slf.py(), |st| {
            st.variadic = value;
            Ok(())
        })
    }

    #[getter]
    fn argtypes(slf: &Bound<'_, Self>) -> Option<Py<PyAny>> {
        let py = slf.py();
        slf.get()
            .state
            .get(py)
            .argtypes
            .as_ref()
            .map(|a| a.clone_ref(py))
    }

    #[setter]
    fn set_argtypes(slf: &Bound<'_, Self>, value: Bound<'_, PyAny>) -> PyResult<()> {
        let py = slf.py();
        slf.get().update(py, |st| {
            if value.is_none() {
                st.argtypes = None;
                st.converters.clear();
                Ok(())
            } else {
                set_argtypes(st, &value)
            }
        })
    }

    #[deleter]
    fn delete_argtypes(slf: &Bound<'_, Self>) -> PyResult<()> {
        slf.get().update(slf.py(), |st| {
            st.argtypes = None;
            st.converters.clear();
            Ok(())
        })
    }

    #[getter]
    fn restype(slf: &Bound<'_, Self>) -> Py<PyAny> {
        let py = slf.py();
        slf.get()
            .state
            .get(py)
            .restype
            .as_ref()
            .map_or_else(|| py.None(), |r| r.clone_ref(py))
    }

    #[setter]
    fn set_restype(slf: &Bound<'_, Self>, value: Bound<'_, PyAny>) -> PyResult<()> {
        let (ret, ffi) = compile_restype(&value)?;
        let checker = restype_checker(&value);
        slf.get().update(slf.py(), |st| {
            st.checker = checker;
            st.restype = Some(value.unbind());
            st.ret = ret;
            st.ret_ffi = ffi;
            Ok(())
        })
    }

    /// ctypes: deleting `restype` restores the class default (`c_int` for `CDLL`).
    #[deleter]
    fn delete_restype(slf: &Bound<'_, Self>) -> PyResult<()> {
        let py = slf.py();
        let default = slf
            .get_type()
            .getattr(intern!(py, "_restype_"))
            .unwrap_or_else(|_| py.None().into_bound(py));
        CFuncPtr::set_restype(slf, default)
    }

    #[getter]
    fn errcheck(slf: &Bound<'_, Self>) -> Option<Py<PyAny>> {
        let py = slf.py();
        slf.get()
            .state
            .get(py)
            .errcheck
            .as_ref()
            .map(|e| e.clone_ref(py))
    }

    #[setter]
    fn set_errcheck(slf: &Bound<'_, Self>, value: Bound<'_, PyAny>) -> PyResult<()> {
        // ctypes: errcheck must be callable; `None` is refused too (use `del`).
        if !value.is_callable() {
            return Err(PyTypeError::new_err(
                "the errcheck attribute must be callable",
            ));
        }
        slf.get().update(slf.py(), |st| {
            st.errcheck = Some(value.unbind());
            Ok(())
        })
    }

    #[deleter]
    fn delete_errcheck(slf: &Bound<'_, Self>) -> PyResult<()> {
        slf.get().update(slf.py(), |st| {
            st.errcheck = None;
            Ok(())
        })
    }

    fn __bool__(slf: &Bound<'_, Self>) -> bool {
        crate::pointer::address(slf.as_super().get()) != 0
    }

    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        Ok(format!(
            "<{} object at {:#x}>",
            slf.get_type().name()?,
            slf.as_ptr() as usize
        ))
    }

    /// Whether calls release the GIL (ferrotype; default true, as `CDLL` functions do).
    /// `func.release_gil = False` keeps it for short functions that never block nor call
    /// back from another thread; `PyDLL` functions never release it.
    #[getter]
    fn release_gil(slf: &Bound<'_, Self>) -> bool {
        let st = slf.get().state.get(slf.py());
        st.release_gil && st.flags & FUNCFLAG_PYTHONAPI == 0
    }

    #[setter]
    fn set_release_gil(slf: &Bound<'_, Self>, value: bool) -> PyResult<()> {
        slf.get().update(slf.py(), |st| {
            st.release_gil = value;
            Ok(())
        })
    }

    #[getter]
    fn _flags_(slf: &Bound<'_, Self>) -> u32 {
        slf.get().state.get(slf.py()).flags
    }
}

fn set_argtypes(st: &mut FuncState, value: &Bound<'_, PyAny>) -> PyResult<()> {
    let py = value.py();
    if value.is_instance_of::<PyString>() || !value.hasattr(intern!(py, "__len__"))? {
        return Err(PyTypeError::new_err(
            "_argtypes_ must be a sequence of types",
        ));
    }
    let items: Vec<Bound<'_, PyAny>> = value
        .try_iter()
        .map_err(|_| PyTypeError::new_err("_argtypes_ must be a sequence of types"))?
        .collect::<PyResult<_>>()?;
    if items.len() > ferrotype_core::MAX_ARGS {
        return Err(crate::errors::ArgumentError::new_err(format!(
            "_argtypes_ has too many arguments ({}), maximum is {}",
            items.len(),
            ferrotype_core::MAX_ARGS
        )));
    }
    let converters = items
        .iter()
        .enumerate()
        .map(|(i, it)| compile_argtype(it, i))
        .collect::<PyResult<Vec<_>>>()?;
    st.argtypes = Some(value.clone().unbind());
    st.converters = converters;
    Ok(())
}

/// The address of `(name_or_ordinal, dll)`: `dll._handle` looked up with dlsym.
fn symbol_address(t: &Bound<'_, PyTuple>) -> PyResult<usize> {
    let py = t.py();
    if t.len() != 2 {
        return Err(PyTypeError::new_err("illegal func_spec argument"));
    }
    let name = t.get_item(0)?;
    let dll = t.get_item(1)?;
    let handle: usize = dll
        .getattr(intern!(py, "_handle"))
        .map_err(|_| {
            PyTypeError::new_err("the _handle attribute of the second argument must be an integer")
        })?
        .extract()
        .map_err(|_| {
            PyTypeError::new_err("the _handle attribute of the second argument must be an integer")
        })?;
    let name: String = if let Ok(s) = name.cast::<PyString>() {
        s.to_str()?.to_owned()
    } else if let Ok(b) = name.cast::<pyo3::types::PyBytes>() {
        String::from_utf8_lossy(b.as_bytes()).into_owned()
    } else {
        return Err(PyTypeError::new_err(
            "function name must be string, bytes object or integer",
        ));
    };
    // ctypes looks the name up as a C string: it ends at the first NUL.
    let name = name.split('\0').next().unwrap_or_default();
    // SAFETY: the handle comes from a CDLL, which got it from dlopen (or from the user,
    // as ctypes allows) and never closes it implicitly.
    let lib = unsafe { ferrotype_core::Library::from_handle(handle as *mut c_void) };
    Ok(lib.symbol(name).py()? as usize)
}

/// The vectorcall entry point of every function pointer: the interpreter passes the
/// arguments as an array, so no argument tuple is built for a call.
///
/// # Safety
/// Called by the interpreter with the GIL held, `callable` a `CFuncPtr` instance (the
/// offset is only installed on `CFuncPtr` types) and `args` holding `nargs` borrowed
/// references.
unsafe extern "C" fn funcptr_vectorcall(
    callable: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargsf: usize,
    kwnames: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: the interpreter holds the GIL when it calls a vectorcall function.
    let py = unsafe { Python::assume_attached() };
    crate::errors::run_slot(py, "ferrotype: a Rust panic during a foreign call", || {
        // SAFETY: PyVectorcall_NARGS only masks the offset flag.
        let nargs = unsafe { ffi::PyVectorcall_NARGS(nargsf) } as usize;
        // SAFETY: `callable` is a live object (see the contract above).
        let slf = unsafe { Bound::from_borrowed_ptr(py, callable) };
        // SAFETY: the vectorcall offset is only installed on CFuncPtr types, and
        // subclasses of them make CFuncPtr instances.
        let slf = unsafe { slf.cast_into_unchecked::<CFuncPtr>() };
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
        let args = &all[..nargs];
        let st = slf.get().state.get(py);
        let Some(flags) = st.paramflags.clone() else {
            // ctypes ignores keyword arguments of functions without paramflags.
            return call_function(&slf, &st, args);
        };
        drop(st);
        let kwargs = if nkw == 0 {
            None
        } else {
            // SAFETY: kwnames is a live tuple (checked non-NULL above).
            let names = unsafe { Bound::from_borrowed_ptr(py, kwnames) };
            let d = PyDict::new(py);
            for (name, value) in names.try_iter()?.zip(&all[nargs..]) {
                d.set_item(name?, value)?;
            }
            Some(d)
        };
        call_with_paramflags(&slf, &flags, args, kwargs.as_ref())
    })
}

/// The byte offset of the `vectorcall` field in a `CFuncPtr` object, measured once.
static VECTORCALL_OFFSET: std::sync::OnceLock<isize> = std::sync::OnceLock::new();

/// Installs the vectorcall protocol on a function pointer class. Called for every
/// subclass, because CPython 3.11 does not pass `Py_TPFLAGS_HAVE_VECTORCALL` on to
/// heap subtypes.
pub fn enable_vectorcall(cls: &Bound<'_, PyType>, info: &Bound<'_, StgInfo>) -> PyResult<()> {
    let offset = match VECTORCALL_OFFSET.get() {
        Some(o) => *o,
        None => {
            let sample = instantiate(cls, CData::for_type(info)?)?;
            let fp = sample.cast::<CFuncPtr>().map_err(PyErr::from)?;
            let field = std::ptr::from_ref(&fp.get().vectorcall) as isize;
            let o = field - sample.as_ptr() as isize;
            *VECTORCALL_OFFSET.get_or_init(|| o)
        }
    };
    let tp = cls.as_type_ptr();
    // `cls` is a CFuncPtr type (the caller checked its StgInfo kind), so each of its
    // instances stores a vectorcall function at `offset`.
    // SAFETY: setting the slot and flag of a type before it is used, then calling
    // PyType_Modified, is how CPython itself enables vectorcall on a type.
    unsafe {
        (*tp).tp_vectorcall_offset = offset as ffi::Py_ssize_t;
        (*tp).tp_flags |= ffi::Py_TPFLAGS_HAVE_VECTORCALL;
        ffi::PyType_Modified(tp);
    }
    Ok(())
}
