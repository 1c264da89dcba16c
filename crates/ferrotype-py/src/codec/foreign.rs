//! Objects of the standard library's ctypes, taken where ferrotype takes an instance of a
//! compatible ferrotype type (see `ferrotype/_interop.py`, which maps their types and
//! checks compatibility). Reached only on slow paths, after the checks for ferrotype's
//! own objects have failed, so calls with ferrotype objects cost nothing more.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyType;

use crate::capi::values::tp_name;
use crate::model::cdata::as_cdata;

/// The functions of `ferrotype._interop` used here, imported on first use.
struct Hooks {
    adopt: Py<PyAny>,
    map: Py<PyAny>,
    sizeof: Py<PyAny>,
    alignment: Py<PyAny>,
}

static HOOKS: PyOnceLock<Hooks> = PyOnceLock::new();

fn hooks(py: Python<'_>) -> PyResult<&Hooks> {
    HOOKS.get_or_try_init(py, || {
        let m = py.import("ferrotype._interop")?;
        Ok(Hooks {
            adopt: m.getattr("_adopt")?.unbind(),
            map: m.getattr("ferrotype_type")?.unbind(),
            sizeof: m.getattr("_sizeof")?.unbind(),
            alignment: m.getattr("_alignment")?.unbind(),
        })
    })
}

/// Whether `obj` may come from the stdlib's ctypes: not a ferrotype instance, and either
/// of a type with a metaclass of its own (every ctypes type has one; ints, bytes, tuples
/// and the like do not) or a `CArgObject` (ctypes' `byref`).
fn maybe_foreign(obj: &Bound<'_, PyAny>) -> bool {
    let py = obj.py();
    as_cdata(obj).is_none()
        && (!obj.get_type().get_type().is(py.get_type::<PyType>())
            || tp_name(obj).ends_with("CArgObject"))
}

/// The ferrotype object standing for `obj` if it comes from the stdlib's ctypes, else
/// `None`: a ferrotype instance viewing `obj`'s memory (and keeping `obj` alive), of type
/// `want` when that is compatible with `obj`'s type, else of the ferrotype type `obj`'s
/// type maps to, so that the caller's checks then pass or raise as for a ferrotype
/// instance; for a stdlib `byref(x)`, ferrotype's `byref` of such a view of `x`.
// Off the hot paths: kept out of line so that their callers stay as small.
#[cold]
#[inline(never)]
pub fn adopt<'py>(
    obj: &Bound<'py, PyAny>,
    want: Option<&Bound<'py, PyAny>>,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    if !maybe_foreign(obj) {
        return Ok(None);
    }
    let py = obj.py();
    let r = hooks(py)?.adopt.bind(py).call1((obj, want))?;
    Ok((!r.is_none()).then_some(r))
}

/// The ferrotype type a type of the stdlib's ctypes maps to, or `None` for anything else.
// Off the hot paths: kept out of line so that their callers stay as small.
#[cold]
#[inline(never)]
pub fn ferrotype_type<'py>(tp: &Bound<'py, PyAny>) -> PyResult<Option<Bound<'py, PyAny>>> {
    let py = tp.py();
    if !tp.is_instance_of::<PyType>() || tp.get_type().is(py.get_type::<PyType>()) {
        return Ok(None);
    }
    let r = hooks(py)?.map.bind(py).call1((tp,))?;
    Ok((!r.is_none()).then_some(r))
}

/// `sizeof` of a stdlib type or instance, or `None` for anything else.
// Off the hot paths: kept out of line so that their callers stay as small.
#[cold]
#[inline(never)]
pub fn size_of(obj: &Bound<'_, PyAny>) -> PyResult<Option<usize>> {
    let py = obj.py();
    hooks(py)?.sizeof.bind(py).call1((obj,))?.extract()
}

/// `alignment` of a stdlib type or instance, or `None` for anything else.
// Off the hot paths: kept out of line so that their callers stay as small.
#[cold]
#[inline(never)]
pub fn alignment_of(obj: &Bound<'_, PyAny>) -> PyResult<Option<usize>> {
    let py = obj.py();
    hooks(py)?.alignment.bind(py).call1((obj,))?.extract()
}
