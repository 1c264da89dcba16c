//! The NumPy dtype description of a ferrotype type, as plain Python data that
//! `numpy.dtype()` accepts (NumPy itself is imported only by the Python layer). NumPy
//! consults a type's `dtype` attribute before its own ctypes conversion, so the
//! metaclasses expose this as `T.dtype`.

use ferrotype_core::TypeCode;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple, PyType};

use crate::model::stginfo::{info_of, Kind, StgInfo};
use crate::types::structure::CField;

fn scalar_spec(info: &StgInfo) -> PyResult<String> {
    let code = info
        .code()
        .ok_or_else(|| PyTypeError::new_err("not a simple type"))?;
    let size = code.size();
    let order = if size == 1 {
        '|'
    } else if cfg!(target_endian = "little") != info.swapped {
        '<'
    } else {
        '>'
    };
    Ok(match code {
        TypeCode::Bool => "?".to_owned(),
        TypeCode::Char => "S1".to_owned(),
        TypeCode::WChar if size == 4 => format!("{order}U1"),
        TypeCode::Float | TypeCode::Double | TypeCode::Half => format!("{order}f{size}"),
        TypeCode::LongDouble => "g".to_owned(),
        // NumPy's complex64/complex128 (two floats of half the size), clongdouble.
        TypeCode::FloatComplex | TypeCode::DoubleComplex => format!("{order}c{size}"),
        TypeCode::LongDoubleComplex => "G".to_owned(),
        TypeCode::VoidP => format!("{order}u{size}"),
        TypeCode::PyObject => "O".to_owned(),
        c if c.is_integer() => {
            let signed = matches!(c.kind(), ferrotype_core::typecode::ValueKind::Signed);
            format!("{order}{}{size}", if signed { 'i' } else { 'u' })
        }
        c => {
            return Err(PyTypeError::new_err(format!(
                "data type '{}' not understood",
                c.as_char()
            )))
        }
    })
}

fn spec<'py>(cls: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let py = cls.py();
    let name = || {
        cls.getattr("__name__")
            .map(|n| n.to_string())
            .unwrap_or_default()
    };
    let info = info_of(cls)
        .ok_or_else(|| PyTypeError::new_err(format!("{} has no dtype equivalent", name())))?;
    // A type made from a dtype (`ctypeslib.as_ctypes_type`) converts back to exactly
    // that dtype (complex numbers, subarray shapes, alignment flags); only the class's
    // own attribute counts, not one inherited by a subclass that adds fields.
    if let Ok(Some(d)) = cls
        .getattr(pyo3::intern!(py, "__dict__"))
        .and_then(|d| d.get_item(pyo3::intern!(py, "_ft_dtype_")).map(Some))
        .or_else(|_| Ok::<_, PyErr>(None))
    {
        return Ok(d);
    }
    let i = info.get();
    match i.kind() {
        Kind::Simple => Ok(scalar_spec(i)?.into_pyobject(py)?.into_any()),
        Kind::Array => {
            let elem = i
                .proto()
                .ok_or_else(|| PyTypeError::new_err("not an array type"))?
                .bind(py);
            let shape = PyTuple::new(py, [i.length()])?;
            Ok(PyTuple::new(py, [spec(elem)?, shape.into_any()])?.into_any())
        }
        Kind::Struct | Kind::Union => {
            let names = PyList::empty(py);
            let formats = PyList::empty(py);
            let offsets = PyList::empty(py);
            for (n, _) in i.field_keys() {
                let n = n.bind(py);
                if n.len()? == 0 {
                    continue; // unnamed padding (as `ctypeslib.as_ctypes_type` makes)
                }
                let field = cls.getattr(n)?;
                let field = field.cast::<CField>().map_err(PyErr::from)?.get();
                if field.is_bitfield() {
                    return Err(PyTypeError::new_err(
                        "ctypes bitfields have no dtype equivalent",
                    ));
                }
                names.append(n)?;
                formats.append(spec(field.proto().bind(py))?)?;
                offsets.append(field.offset_bytes())?;
            }
            let d = PyDict::new(py);
            d.set_item("names", names)?;
            d.set_item("formats", formats)?;
            d.set_item("offsets", offsets)?;
            d.set_item("itemsize", i.size)?;
            Ok(d.into_any())
        }
        Kind::Pointer | Kind::FuncPtr => Err(PyTypeError::new_err(format!(
            "{} has no dtype equivalent",
            name()
        ))),
    }
}

/// The argument for `numpy.dtype()` describing `cls`: a format string, a
/// `(spec, shape)` pair for arrays, or a names/formats/offsets/itemsize dict for
/// structures and unions (so padding and packing are exact).
#[pyfunction]
pub fn dtype_spec<'py>(cls: &Bound<'py, PyType>) -> PyResult<Bound<'py, PyAny>> {
    spec(cls.as_any())
}
