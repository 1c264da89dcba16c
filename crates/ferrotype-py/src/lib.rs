use pyo3::prelude::*;
mod util;

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    util::register(m)?;
    Ok(())
}
