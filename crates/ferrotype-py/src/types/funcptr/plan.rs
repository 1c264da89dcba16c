//! The call plan of a function pointer, compiled once when `argtypes`, `restype`,
//! `errcheck` or the flags are assigned: one converter per declared argument, the
//! result converter, the prepared libffi interface and, when the signature fits, the
//! register plan with its inline conversions. Also `paramflags`, checked here.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use ferrotype_core::{CallInterface, FfiType, RegArg, RegisterCall, TypeCode};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyInt, PyString, PyTuple, PyType};

use crate::capi::values::{exact_i64, is_instance_of_type};
use crate::codec::foreign;
use crate::codec::param::{default_param, pointer_param, simple_param, ArgValue, Param};
use crate::model::cdata::{as_cdata, CData};
use crate::model::errors::{
    by_value_error, too_many_arguments, type_name, ArgumentError, CoreResultExt,
};
use crate::model::registry;
use crate::model::stginfo::{info_of, Kind, StgInfo};
use crate::types::ndpointer::NdSpec;
use crate::types::pointer::address;

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

/// `paramflags` flags.
pub const PARAMFLAG_FIN: i64 = 0x1;
pub const PARAMFLAG_FOUT: i64 = 0x2;
pub const PARAMFLAG_FLCID: i64 = 0x4;
pub const FIN_OUT: i64 = PARAMFLAG_FIN | PARAMFLAG_FOUT;
pub const FIN_LCID: i64 = PARAMFLAG_FIN | PARAMFLAG_FLCID;

/// One entry of `paramflags`: `(flag, name, default)`.
pub struct ParamFlag {
    /// The `PARAMFLAG_*` bits.
    pub flag: i64,
    /// The parameter's name, for keyword arguments.
    pub name: Option<Py<PyString>>,
    /// The default value.
    pub default: Option<Py<PyAny>>,
}

const PARAMFLAGS_SHAPE: &str = "paramflags must be a sequence of (int [,string [,value]]) tuples";

/// ctypes' checks of `paramflags` against the prototype's `argtypes`.
pub fn parse_paramflags(
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

/// From 3.14, `argtypes` assigned to a function made with paramflags must agree with
/// them: as many types as flags, and a pointer type for each 'out' parameter.
pub fn check_argtypes_with_paramflags(py: Python<'_>, st: &FuncState) -> PyResult<()> {
    let (Some(flags), Some(argtypes)) = (&st.paramflags, &st.argtypes) else {
        return Ok(());
    };
    let items: Vec<Bound<'_, PyAny>> = argtypes.bind(py).try_iter()?.collect::<PyResult<_>>()?;
    if items.len() != flags.len() {
        return Err(PyValueError::new_err(
            "paramflags must have the same length as argtypes",
        ));
    }
    for (i, (f, typ)) in flags.iter().zip(&items).enumerate() {
        if f.flag & (PARAMFLAG_FIN | PARAMFLAG_FOUT | PARAMFLAG_FLCID) == PARAMFLAG_FOUT {
            check_outarg_type(typ, i + 1)?;
        }
    }
    Ok(())
}

/// An 'out' parameter must be a pointer (or array, or `c_void_p`/`c_char_p`/`c_wchar_p`).
fn check_outarg_type(typ: &Bound<'_, PyAny>, index: usize) -> PyResult<()> {
    if let Some(info) = info_of(typ) {
        let i = info.get();
        if matches!(i.kind(), Kind::Pointer | Kind::Array)
            || matches!(i.type_char(), Some('P' | 'z' | 'Z'))
        {
            return Ok(());
        }
    }
    let name = typ
        .cast::<PyType>()
        .ok()
        .and_then(|t| t.name().ok())
        .map(|n| n.to_string())
        .unwrap_or_else(|| type_name(typ));
    Err(PyTypeError::new_err(format!(
        "'out' parameter {index} must be a pointer type, not {name}"
    )))
}

/// How one declared argument is converted.
pub enum ArgConv {
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

    /// Converts `arg`, argument `index` of a call.
    pub fn convert(&self, arg: &Bound<'_, PyAny>, index: usize) -> PyResult<Param> {
        let py = arg.py();
        match self {
            ArgConv::Simple { cls, info, .. } => simple_param(Some(cls.bind(py)), info.get(), arg),
            ArgConv::Pointer { cls, info } => pointer_param(cls.bind(py), info.get(), arg),
            ArgConv::Struct {
                cls,
                info,
                from_param,
            } => {
                if let Some(cd) = as_cdata(arg).filter(|_| is_instance_of_type(arg, cls.bind(py))) {
                    return Ok(Param {
                        ffi: info.get().ffi.clone(),
                        value: ArgValue::Memory(cd.get().ptr()),
                        keep: Some(arg.clone().unbind()),
                        tag: 'V',
                    });
                }
                let converted = from_param.bind(py).call1((arg,))?;
                let mut p = default_param(&converted, index)?;
                if p.ffi != info.get().ffi {
                    // The prepared interface expects this structure by value.
                    return Err(PyTypeError::new_err(format!(
                        "expected {} instance instead of {}",
                        cls.bind(py).name()?,
                        type_name(arg)
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
pub enum RetConv {
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
pub struct FuncState {
    /// The `FUNCFLAG_*` bits.
    pub flags: u32,
    /// The sequence as assigned (ctypes returns the very object).
    pub argtypes: Option<Py<PyAny>>,
    /// One converter per declared argument.
    pub converters: Arc<[ArgConv]>,
    /// The restype as assigned.
    pub restype: Option<Py<PyAny>>,
    /// How the result becomes a Python object.
    pub ret: Arc<RetConv>,
    /// The libffi type of the result.
    pub ret_ffi: FfiType,
    /// The restype's `_check_retval_`, applied to each result.
    pub checker: Option<Py<PyAny>>,
    /// `paramflags` given when the function was made from `(name, dll)`.
    pub paramflags: Option<Arc<Vec<ParamFlag>>>,
    /// `func.variadic = True` (ferrotype): `argtypes` are the fixed arguments, and the
    /// others get C's default argument promotions.
    pub variadic: bool,
    /// `errcheck`.
    pub errcheck: Option<Py<PyAny>>,
    /// The interface for exactly the declared arguments, when all are built in.
    pub cif: Option<Arc<CallInterface>>,
    /// The register plan for exactly the declared arguments, when the signature fits.
    pub reg: Option<RegPlan>,
    /// Release the GIL around the call (ctypes' `CDLL` behaviour; ferrotype lets a
    /// function opt out with `func.release_gil = False`).
    pub release_gil: bool,
    /// Set when calls take the direct path first (`call::call_direct`): a register plan
    /// passing everything in registers, every argument with an inline conversion, a
    /// result in registers that is not for a callable restype, and nothing around the call (no `paramflags`, `errcheck`, `_check_retval_`, errno swap or
    /// `PyDLL` error check). Made by [`FuncState::prepare`].
    pub direct: Option<Direct>,
}

/// A register call and, per argument, the conversion that skips the converter for the
/// most common Python values.
#[derive(Clone)]
pub struct RegPlan {
    /// The register call of the declared signature.
    pub call: RegisterCall,
    /// The inline conversion of each argument.
    pub fast: Box<[FastArg]>,
    /// Whether every argument has an inline conversion that needs nothing kept alive
    /// (integers, floats, addresses, pointers) and the result comes back in registers:
    /// such a call first tries the lean path (`call::call_lean`).
    pub lean: bool,
}

/// The inline conversion of one argument of a [`RegPlan`].
#[derive(Clone, Copy)]
pub enum FastArg {
    /// An exact `int` in `lo..=hi` (the type's range as checked by `int_for`, clipped to
    /// what `PyLong_AsLongLongAndOverflow` returns) goes to word `index` of the register
    /// image (an integer register or a stack slot), truncated to the type's width and
    /// extended back by shifting left and right by `shift` (arithmetically when `signed`).
    Int {
        index: u8,
        shift: u32,
        signed: bool,
        lo: i64,
        hi: i64,
    },
    /// An exact `float` for `double` (or `float`) goes to word `index` (a vector register
    /// or a stack slot).
    Float { index: u8, double: bool },
    /// An instance of the declared structure type (whose type object is at address
    /// `cls`: the converter, in the same state, holds it) or of a subclass: its bytes go
    /// to their registers or stack slots.
    Struct { cls: usize },
    /// A `c_char_p` or `c_void_p` (`void`) parameter: `None`, exact `bytes`, arrays of
    /// and pointers to `c_char` (for `c_void_p` any array, pointer or function pointer,
    /// and an exact `int` in `i64` range) go to word `index` as an address.
    Address { index: u8, void: bool },
    /// A `POINTER(T)` parameter: an instance of exactly that type (whose type object is
    /// at address `cls`: the converter, in the same state, holds it), or `None`, goes to
    /// word `index` as the address it holds.
    Pointer { index: u8, cls: usize },
    /// An integer type of 64 bits, or a signed one of 32: as `Int` (signed), and a
    /// one-digit int (`|v| < 2**30`), in range of every such type and unchanged by its
    /// truncation and extension, is stored as it is without further checks.
    Wide {
        index: u8,
        shift: u32,
        lo: i64,
        hi: i64,
    },
    /// Always through the converter.
    General,
}

/// What the direct path (`call::call_direct`) needs besides the arguments' inline
/// conversions, copied out of the state before the call.
#[derive(Clone, Copy)]
pub struct Direct {
    /// The register call without its plan.
    pub call: ferrotype_core::RegisterShape,
    /// How the result becomes a Python object.
    pub ret: DirectRet,
    /// Release the GIL around the call.
    pub release_gil: bool,
    /// The shortest way the arguments can take (x86-64 has the register-only calls).
    #[cfg_attr(not(all(target_arch = "x86_64", not(windows))), allow(dead_code))]
    pub kind: DirectKind,
    /// The result is in the first vector register (`float`/`double`).
    #[cfg_attr(not(all(target_arch = "x86_64", not(windows))), allow(dead_code))]
    pub float_ret: bool,
}

/// The argument shapes the direct path calls straight from registers, with no image.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum DirectKind {
    /// Every argument an integer or an address, in the integer registers in order
    /// (`ferrotype_core::call_ints`).
    Ints,
    /// Every argument a `double`, in the vector registers in order
    /// (`ferrotype_core::call_doubles`).
    Doubles,
    /// Any other: through the register image.
    Image,
}

/// The result of a direct call (see [`RetConv`]).
#[derive(Clone, Copy)]
pub enum DirectRet {
    Void,
    Value(TypeCode),
    /// An instance of the restype (`RetConv::Instance`) holding the result's bytes.
    Instance,
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
                    let signed = code.kind() == ferrotype_core::typecode::ValueKind::Signed
                        || *code == TypeCode::Char;
                    if bits == 64 || (bits == 32 && signed) {
                        FastArg::Wide {
                            index: *index,
                            shift: 64 - bits,
                            lo,
                            hi,
                        }
                    } else {
                        FastArg::Int {
                            index: *index,
                            shift: 64 - bits.min(64),
                            signed,
                            lo,
                            hi,
                        }
                    }
                }
                (RegArg::Float { index, double }, ArgConv::Simple { .. }) => FastArg::Float {
                    index: *index,
                    double: *double,
                },
                (RegArg::Struct { .. } | RegArg::Memory { .. }, ArgConv::Struct { cls, .. }) => {
                    FastArg::Struct {
                        cls: cls.as_ptr() as usize,
                    }
                }
                (RegArg::Int { index, code }, ArgConv::Simple { .. })
                    if matches!(code, TypeCode::CharP | TypeCode::VoidP) =>
                {
                    FastArg::Address {
                        index: *index,
                        void: *code == TypeCode::VoidP,
                    }
                }
                (RegArg::Int { index, .. }, ArgConv::Pointer { cls, .. }) => FastArg::Pointer {
                    index: *index,
                    cls: cls.as_ptr() as usize,
                },
                _ => FastArg::General,
            })
            .collect::<Box<[FastArg]>>();
        let lean = call.ret_in_memory().is_none()
            && fast.iter().all(|f| {
                matches!(
                    f,
                    FastArg::Int { .. }
                        | FastArg::Wide { .. }
                        | FastArg::Float { .. }
                        | FastArg::Address { .. }
                        | FastArg::Pointer { .. }
                )
            });
        RegPlan { call, fast, lean }
    }
}

/// The address a `c_char_p` or `c_void_p` (`void`) parameter passes for `arg`, for the
/// common arguments (see [`FastArg::Address`]); `None` for anything else, which the
/// converter handles. The same addresses the converter passes: `bytes` are immutable and
/// live as long as the argument, arrays pass their memory, pointers the address they
/// hold.
/// (The cheapest tests inline, the rest out of line.)
#[inline(always)]
pub fn fast_address(arg: &Bound<'_, PyAny>, void: bool) -> Option<u64> {
    if let Ok(b) = arg.cast_exact::<PyBytes>() {
        return Some(b.as_bytes().as_ptr() as u64);
    }
    if arg.is_none() {
        return Some(0);
    }
    if void && registry::is_direct_instance(arg, Kind::Array) {
        // SAFETY: an instance of a class made from the native array class is a `CData`.
        return Some(unsafe { arg.cast_unchecked::<CData>() }.get().ptr() as u64);
    }
    fast_data_address(arg, void)
}

/// [`fast_address`] of an argument that is neither `bytes` nor `None`.
#[inline(never)]
fn fast_data_address(arg: &Bound<'_, PyAny>, void: bool) -> Option<u64> {
    if void && arg.is_exact_instance_of::<PyInt>() {
        // Negative addresses wrap, as the converter's do.
        return exact_i64(arg).map(|v| v as u64);
    }
    let cd = as_cdata(arg)?.get();
    let kind = cd.info().kind();
    if !void {
        return char_data_address(arg, cd, kind);
    }
    match kind {
        Kind::Array => Some(cd.ptr() as u64),
        Kind::Pointer | Kind::FuncPtr => Some(address(cd) as u64),
        _ => None,
    }
}

/// [`fast_address`] of a ferrotype instance for a `c_char_p` parameter: arrays of and
/// pointers to `c_char`.
#[inline(never)]
fn char_data_address(arg: &Bound<'_, PyAny>, cd: &CData, kind: Kind) -> Option<u64> {
    if cd.info().item_code(arg.py()) != Some(TypeCode::Char) {
        return None;
    }
    match kind {
        Kind::Array => Some(cd.ptr() as u64),
        Kind::Pointer => Some(address(cd) as u64),
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
    /// The state of a function made without a prototype: ctypes' defaults.
    pub fn empty() -> FuncState {
        FuncState {
            flags: FUNCFLAG_CDECL,
            argtypes: None,
            converters: Arc::new([]),
            restype: None,
            ret: Arc::new(RetConv::Value(TypeCode::Int)),
            ret_ffi: FfiType::Scalar(TypeCode::Int),
            checker: None,
            paramflags: None,
            variadic: false,
            errcheck: None,
            cif: None,
            reg: None,
            release_gil: true,
            direct: None,
        }
    }

    /// A copy to edit, sharing the compiled converters and result converter (which are
    /// only ever replaced whole).
    pub fn clone_ref(&self, py: Python<'_>) -> FuncState {
        let cl = |o: &Option<Py<PyAny>>| o.as_ref().map(|o| o.clone_ref(py));
        FuncState {
            argtypes: cl(&self.argtypes),
            restype: cl(&self.restype),
            checker: cl(&self.checker),
            errcheck: cl(&self.errcheck),
            converters: Arc::clone(&self.converters),
            ret: Arc::clone(&self.ret),
            ret_ffi: self.ret_ffi.clone(),
            paramflags: self.paramflags.clone(),
            cif: self.cif.clone(),
            reg: self.reg.clone(),
            ..*self
        }
    }

    /// Prepares the fixed interface when every converter has a known type, and decides
    /// whether calls take the direct path.
    pub fn prepare(&mut self, py: Python<'_>) -> PyResult<()> {
        self.direct = None;
        self.prepare_interface(py)?;
        let ret = match *self.ret {
            RetConv::Void => DirectRet::Void,
            RetConv::Value(code) => DirectRet::Value(code),
            RetConv::Instance { .. } => DirectRet::Instance,
            RetConv::Callable(_) => return Ok(()),
        };
        if self.flags & (FUNCFLAG_USE_ERRNO | FUNCFLAG_PYTHONAPI) != 0
            || self.paramflags.is_some()
            || self.errcheck.is_some()
            || self.checker.is_some()
        {
            return Ok(());
        }
        let Some(plan) = self
            .reg
            .as_ref()
            .filter(|p| p.fast.iter().all(|f| !matches!(f, FastArg::General)))
        else {
            return Ok(());
        };
        if let Some(call) = plan.call.shape() {
            let scalar = !matches!(ret, DirectRet::Instance);
            let kind = if scalar
                && plan.call.ints_only()
                && plan.fast.iter().all(|f| {
                    matches!(
                        f,
                        FastArg::Int { .. }
                            | FastArg::Wide { .. }
                            | FastArg::Address { .. }
                            | FastArg::Pointer { .. }
                    )
                }) {
                DirectKind::Ints
            } else if scalar
                && plan.call.doubles_only()
                && plan
                    .fast
                    .iter()
                    .all(|f| matches!(f, FastArg::Float { double: true, .. }))
            {
                DirectKind::Doubles
            } else {
                DirectKind::Image
            };
            self.direct = Some(Direct {
                call,
                ret,
                release_gil: self.release_gil,
                kind,
                float_ret: plan.call.float_result(),
            });
        }
        Ok(())
    }

    fn prepare_interface(&mut self, py: Python<'_>) -> PyResult<()> {
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
    let simple = registry::native(py, Kind::Simple)?;
    let pointer = registry::native(py, Kind::Pointer)?;
    let structure = registry::native(py, Kind::Struct)?;
    let union = registry::native(py, Kind::Union)?;
    for k in cls.mro().iter() {
        let k = k.cast_into::<PyType>()?;
        if k.is(simple) {
            return Ok(Some(Kind::Simple));
        }
        if k.is(pointer) {
            return Ok(Some(Kind::Pointer));
        }
        if k.is(structure) {
            return Ok(Some(Kind::Struct));
        }
        if k.is(union) {
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
    if info_of(item).is_none() {
        // A type of the stdlib's ctypes: converted as its ferrotype equivalent.
        if let Some(mapped) = foreign::ferrotype_type(item)? {
            return compile_argtype(&mapped, index);
        }
    }
    if let Ok(cls) = item.cast::<PyType>() {
        if let Ok(spec) = cls.getattr(intern!(py, "_ft_ndspec_")) {
            if let Ok(spec) = spec.cast_into::<NdSpec>() {
                return Ok(ArgConv::NdPointer {
                    spec: spec.unbind(),
                });
            }
        }
        if let Some(info) = info_of(item) {
            match (native_from_param_kind(cls)?, info.get().code()) {
                (Some(Kind::Simple), Some(code)) => {
                    return Ok(ArgConv::Simple {
                        cls: cls.clone().unbind(),
                        code,
                        info: info.unbind(),
                    })
                }
                (Some(Kind::Pointer), _)
                    if info.get().kind() == Kind::Pointer && info.get().has_target(item.py()) =>
                {
                    return Ok(ArgConv::Pointer {
                        cls: cls.clone().unbind(),
                        info: info.unbind(),
                    })
                }
                (Some(Kind::Struct | Kind::Union), _)
                    if matches!(info.get().kind(), Kind::Struct | Kind::Union)
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
pub fn restype_checker(restype: &Bound<'_, PyAny>) -> Option<Py<PyAny>> {
    if restype.is_none() || info_of(restype).is_none() {
        return None;
    }
    restype
        .getattr(intern!(restype.py(), "_check_retval_"))
        .ok()
        .map(Bound::unbind)
}

pub fn compile_restype(restype: &Bound<'_, PyAny>) -> PyResult<(RetConv, FfiType)> {
    if restype.is_none() {
        return Ok((RetConv::Void, FfiType::Void));
    }
    if info_of(restype).is_none() {
        // A type of the stdlib's ctypes: its ferrotype equivalent.
        if let Some(mapped) = foreign::ferrotype_type(restype)? {
            return compile_restype(&mapped);
        }
    }
    if let (Ok(cls), Some(info)) = (restype.cast::<PyType>(), info_of(restype)) {
        let i = info.get();
        let ffi = i.ffi.clone();
        if let Some(code) = i.value_code() {
            return Ok((RetConv::Value(code), ffi));
        }
        if i.kind() == Kind::Array {
            return Err(PyTypeError::new_err(
                "restype must be a type, a callable, or None",
            ));
        }
        if matches!(i.kind(), Kind::Struct | Kind::Union) && ffi == FfiType::Void && i.size > 0 {
            return Err(by_value_error());
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

/// Compiles `value` as the declared argument types of `st`.
/// ctypes checks a function pointer class's `_argtypes_` and `_restype_` when the class
/// is made (`CFUNCTYPE(5)` fails there, not at the first call): a sequence of types with
/// `from_param`, and a type, a callable or None.
pub fn check_prototype(cls: &Bound<'_, PyType>) -> PyResult<()> {
    let py = cls.py();
    if let Ok(at) = cls.getattr(intern!(py, "_argtypes_")) {
        if !at.is_none() {
            for (i, item) in sequence_of_types(&at)?.iter().enumerate() {
                if !item.hasattr(intern!(py, "from_param"))? {
                    return Err(PyTypeError::new_err(format!(
                        "item {} in _argtypes_ has no from_param method",
                        i + 1
                    )));
                }
            }
        }
    }
    if let Ok(rt) = cls.getattr(intern!(py, "_restype_")) {
        if !rt.is_none() && !rt.is_callable() {
            return Err(PyTypeError::new_err(
                "_restype_ must be a type, a callable, or None",
            ));
        }
    }
    Ok(())
}

/// The items of an `argtypes` sequence (a str or an object without a length is refused).
/// As in ctypes, a sequence longer than a call can take is refused before its items are
/// looked at: at once when its length says so, and otherwise (a length that fails, or
/// items that go on past it, where ctypes reads without end) as soon as one item too
/// many is read.
fn sequence_of_types<'py>(value: &Bound<'py, PyAny>) -> PyResult<Vec<Bound<'py, PyAny>>> {
    let py = value.py();
    if value.is_instance_of::<PyString>() || !value.hasattr(intern!(py, "__len__"))? {
        return Err(PyTypeError::new_err(
            "_argtypes_ must be a sequence of types",
        ));
    }
    let iter = value
        .try_iter()
        .map_err(|_| PyTypeError::new_err("_argtypes_ must be a sequence of types"))?;
    let limit = ferrotype_core::MAX_ARGS;
    if let Ok(n) = value.len() {
        if n > limit {
            return Err(too_many_arguments(n, limit, true));
        }
    }
    let mut items = Vec::new();
    for item in iter {
        if items.len() == limit {
            return Err(ArgumentError::new_err(format!(
                "_argtypes_ has too many arguments (more than {limit}), maximum is {limit}"
            )));
        }
        items.push(item?);
    }
    Ok(items)
}

pub fn set_argtypes(st: &mut FuncState, value: &Bound<'_, PyAny>) -> PyResult<()> {
    let items = sequence_of_types(value)?;
    let converters = items
        .iter()
        .enumerate()
        .map(|(i, it)| compile_argtype(it, i))
        .collect::<PyResult<Arc<[_]>>>()?;
    st.argtypes = Some(value.clone().unbind());
    st.converters = converters;
    Ok(())
}
