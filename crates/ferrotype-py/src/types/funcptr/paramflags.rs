//! Calls of functions made with `paramflags` (COM-style prototypes): ctypes' argument
//! building (defaults, keyword arguments, output parameters created for the call) and
//! result building (the output parameters are the result).

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyType};

use crate::model::stginfo::{info_of, Kind};

use super::call::{call_raw, finish, Callee, OutParams};
use super::plan::{
    FuncState, ParamFlag, FIN_LCID, FIN_OUT, PARAMFLAG_FIN, PARAMFLAG_FLCID, PARAMFLAG_FOUT,
};

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
pub fn call_with_paramflags<'py>(
    callee: &Callee<'_, 'py>,
    st: &FuncState,
    flags: &[ParamFlag],
    args: &[Bound<'py, PyAny>],
    kwargs: Option<&Bound<'py, PyDict>>,
) -> PyResult<Py<PyAny>> {
    let py = callee.obj.py();
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
                let obj = match info.get().kind() {
                    Kind::Array => typ.call0()?,
                    Kind::Pointer => match info.get().pointer_cls(py) {
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
    let raw = call_raw(callee, st, &callargs)?;
    finish(callee, st, raw, &callargs, Some(&out))
}
