//! The C declarations of `ferrotype.cdef`, as plain Python data for
//! `python/ferrotype/_cdef.py`, which makes the classes. Parsing, type resolution,
//! constant evaluation, layouts and refusals are all the core's (`ferrotype_core::cdecl`);
//! this file only converts its model.
//!
//! A type is a tuple: `("v",)` void, `("s", code)` a simple type by its `_type_` code,
//! `("p", t)` a pointer, `("a", t, n)` an array, `("r", i)` the `i`-th record, `("f", ret,
//! args, variadic, unspecified)` a function type.

use pyo3::exceptions::PySyntaxError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyTuple};

use ferrotype_core::cdecl::{self, Const, Position, Ty};

fn ty<'py>(py: Python<'py>, t: &Ty) -> PyResult<Bound<'py, PyTuple>> {
    match t {
        Ty::Void => PyTuple::new(py, ["v"]),
        Ty::Scalar(c) => ("s", c.as_char().to_string()).into_pyobject(py),
        Ty::Pointer(inner) => ("p", ty(py, inner)?).into_pyobject(py),
        Ty::Array(inner, n) => ("a", ty(py, inner)?, *n).into_pyobject(py),
        Ty::Record(i) => ("r", *i).into_pyobject(py),
        Ty::Function(sig) => {
            let args = PyList::empty(py);
            for a in &sig.args {
                args.append(ty(py, a)?)?;
            }
            ("f", ty(py, &sig.ret)?, args, sig.variadic, sig.unspecified).into_pyobject(py)
        }
    }
}

fn pos<'py>(py: Python<'py>, p: &Position) -> PyResult<Bound<'py, PyTuple>> {
    (p.line, p.column, p.file.clone(), p.file_line).into_pyobject(py)
}

fn constant<'py>(py: Python<'py>, c: &Const) -> PyResult<Bound<'py, PyAny>> {
    Ok(match c {
        Const::Int(v) => v.into_pyobject(py)?.into_any(),
        Const::Float(f) => f.into_pyobject(py)?.into_any(),
        Const::Bytes(b) => PyBytes::new(py, b).into_any(),
    })
}

/// Parses C declarations `source`; with `recover`, a declaration that does not parse is
/// refused and the rest still binds. Returns a dict of `records` (name, tag, union,
/// complete, fields as `(name, type, bits)`, anonymous, size, align, hidden), `order` (records
/// by value dependencies first), `typedefs`, `enums`, `constants`, `functions` (name,
/// symbol, function type), `globals` (name, symbol, type), `refused` (name, reason,
/// position) and `found`. With `keep_files` (preprocessed text), only the declarations
/// from those files are listed (see `cdecl::parse_files`). A syntax error raises `SyntaxError` whose args are
/// `(message, position)`, position being `(line, column, file, file_line)`.
#[pyfunction]
#[pyo3(signature = (source, recover=false, keep_files=None))]
pub fn cdef_parse<'py>(
    py: Python<'py>,
    source: &str,
    recover: bool,
    keep_files: Option<Vec<String>>,
) -> PyResult<Bound<'py, PyDict>> {
    let unit = match &keep_files {
        None => cdecl::parse(source, recover),
        Some(files) => cdecl::parse_files(source, recover, &|f: &str| files.iter().any(|k| k == f)),
    }
    .map_err(|e| {
        let pos = (
            e.pos.line,
            e.pos.column,
            e.pos.file.clone(),
            e.pos.file_line,
        );
        PySyntaxError::new_err((e.to_string(), pos))
    })?;
    let out = PyDict::new(py);
    let records = PyList::empty(py);
    for r in &unit.records {
        let fields = PyList::empty(py);
        for f in &r.fields {
            fields.append((f.name.as_str(), ty(py, &f.ty)?, f.bits))?;
        }
        records.append((
            r.name.as_str(),
            r.tag.clone(),
            r.is_union,
            r.complete,
            fields,
            r.anonymous.clone(),
            r.size,
            r.align,
            r.hidden,
        ))?;
    }
    out.set_item("records", records)?;
    out.set_item("order", unit.record_order.clone())?;
    let typedefs = PyList::empty(py);
    for (n, t) in &unit.typedefs {
        typedefs.append((n.as_str(), ty(py, t)?))?;
    }
    out.set_item("typedefs", typedefs)?;
    let enums = PyList::empty(py);
    for (n, c) in &unit.enums {
        enums.append((n.as_str(), c.as_char().to_string()))?;
    }
    out.set_item("enums", enums)?;
    let constants = PyList::empty(py);
    for (n, c) in &unit.constants {
        constants.append((n.as_str(), constant(py, c)?))?;
    }
    out.set_item("constants", constants)?;
    let functions = PyList::empty(py);
    for f in &unit.functions {
        functions.append((
            f.name.as_str(),
            f.symbol.as_str(),
            ty(py, &Ty::Function(f.sig.clone()))?,
        ))?;
    }
    out.set_item("functions", functions)?;
    let globals = PyList::empty(py);
    for g in &unit.globals {
        globals.append((g.name.as_str(), g.symbol.as_str(), ty(py, &g.ty)?))?;
    }
    out.set_item("globals", globals)?;
    let refused = PyList::empty(py);
    for r in &unit.refused {
        refused.append((r.name.as_str(), r.reason.as_str(), pos(py, &r.pos)?))?;
    }
    out.set_item("refused", refused)?;
    out.set_item("found", unit.found)?;
    Ok(out)
}
