//! What the layout engine decided for a structure or union class, as plain Python data
//! for `ferrotype.layout()` (python/ferrotype/_inspect.py): the options the class's
//! attributes resolved to, and where each of its own fields went. Nothing is recomputed
//! here: the offsets, sizes and bit positions are those the field descriptors were made
//! with when `_fields_` was set.

use pyo3::exceptions::PyTypeError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};

use crate::model::stginfo::{info_of, Kind};
use crate::types::structure::CField;

/// The layout of the structure or union class `cls`, as a dict:
///
/// - `union`, `size`, `align`, `swapped` (stored in the other byte order), `final`
///   (whether `_fields_` has been set on it or a base);
/// - `rule` (`'gcc-sysv'` or `'ms'`), `pack` (`None` when not packed) and `min_align`
///   (`_align_`, at least 1), or `None` for the three while the type has no fields;
/// - `base`: the structure or union base class whose fields come first, or `None`;
/// - `fields`: the class's own fields in declaration order, each a tuple
///   `(name, type, offset, size, bits, anonymous)`, where `bits` is `None` or
///   `(shift, width)` (the shift counted from the least significant bit of the storage
///   unit read in the structure's byte order) and `offset`/`size` are the storage
///   unit's for a bit-field.
#[pyfunction]
pub fn struct_layout<'py>(cls: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyDict>> {
    let py = cls.py();
    let not_compound = || PyTypeError::new_err("expected a Structure or Union type");
    let info = info_of(cls).ok_or_else(not_compound)?;
    let info = info.get();
    if !matches!(info.kind(), Kind::Struct | Kind::Union) {
        return Err(not_compound());
    }
    let compound = info.compound().ok_or_else(not_compound)?;

    // The first base, when it is a structure or union with a layout: its fields come
    // first (ctypes lays a subclass out after its base).
    let base = cls
        .getattr(intern!(py, "__bases__"))?
        .get_item(0)
        .ok()
        .filter(|b| {
            info_of(b).is_some_and(|i| matches!(i.get().kind(), Kind::Struct | Kind::Union))
        });
    let base_count = base
        .as_ref()
        .and_then(|b| info_of(b))
        .map_or(0, |b| b.get().field_count());

    // Own fields: those after the base's, when this class set `_fields_` (a class
    // without them shares its base's layout and has none of its own).
    let own = if compound.fields_final {
        compound.field_keys.get(base_count..).unwrap_or_default()
    } else {
        &[]
    };
    let dict = cls.getattr(intern!(py, "__dict__"))?;
    let fields = PyList::empty(py);
    for (name, _) in own {
        let descr = dict.get_item(name.bind(py))?;
        let field = descr.cast::<CField>().map_err(PyErr::from)?.get();
        let (fname, offset, size, bits, anonymous) = field.placement(py)?;
        let bits = match bits {
            Some((shift, width)) => PyTuple::new(py, [shift, width])?.into_any(),
            None => py.None().into_bound(py),
        };
        fields.append(PyTuple::new(
            py,
            [
                fname.into_pyobject(py)?.into_any(),
                field.proto().bind(py).clone(),
                offset.into_pyobject(py)?.into_any(),
                size.into_pyobject(py)?.into_any(),
                bits,
                pyo3::types::PyBool::new(py, anonymous)
                    .to_owned()
                    .into_any(),
            ],
        )?)?;
    }

    let out = PyDict::new(py);
    out.set_item("union", info.kind() == Kind::Union)?;
    out.set_item("size", info.size)?;
    out.set_item("align", info.align)?;
    out.set_item("swapped", info.swapped)?;
    out.set_item("final", compound.options.is_some())?;
    let opts = compound.options;
    out.set_item("rule", opts.map(|o| o.rule.ctypes_name()))?;
    out.set_item("pack", opts.and_then(|o| o.pack))?;
    out.set_item("min_align", opts.map(|o| o.align))?;
    out.set_item("base", base)?;
    out.set_item("fields", fields)?;
    Ok(out)
}
