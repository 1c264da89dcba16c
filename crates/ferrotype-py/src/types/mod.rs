//! One module per Python class: each owns its type-initialisation function (called by
//! the metaclasses in `python/ferrotype/_ctypes.py`), its methods and its slot bodies.
//! Imports `codec`, `model`, `capi` and the core.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

pub mod array;
pub mod funcptr;
pub mod ndpointer;
pub mod pointer;
pub mod simple;
pub mod structure;
pub mod thunk;

/// Declares a native data class, whose instances hold only a `CData`, and its
/// `capi::objects::DataClass` implementation: instances of `$kind`, made by the raw
/// slots, and `$init` (`fn(&Bound<CData>, &Bound<PyTuple>, Option<&Bound<PyDict>>)`) as
/// the body of `__init__`, and optionally `$init_args`
/// (`fn(&Bound<CData>, &[Bound<PyAny>])`) as its body for positional arguments.
macro_rules! data_class {
    ($(#[$doc:meta])* $rust:ident, $py_name:literal, $kind:expr, $init:path, $init_args:path) => {
        crate::types::data_class!(@class $(#[$doc])* $rust, $py_name, $kind, $init,
            fn init_args(
                data: &Bound<'_, CData>,
                args: &[Bound<'_, PyAny>],
            ) -> PyResult<()> {
                $init_args(data, args)
            }
        );
    };
    ($(#[$doc:meta])* $rust:ident, $py_name:literal, $kind:expr, $init:path) => {
        crate::types::data_class!(@class $(#[$doc])* $rust, $py_name, $kind, $init,);
    };
    (@class $(#[$doc:meta])* $rust:ident, $py_name:literal, $kind:expr, $init:path, $($extra:item)?) => {
        $(#[$doc])*
        #[pyclass(extends = CData, subclass, frozen, module = "ferrotype._ctypes", name = $py_name)]
        pub struct $rust;

        impl crate::capi::objects::DataClass for $rust {
            type Data = CData;

            fn slots() -> &'static crate::capi::objects::ClassSlots {
                static SLOTS: crate::capi::objects::ClassSlots =
                    crate::capi::objects::ClassSlots::new();
                &SLOTS
            }

            #[inline(always)]
            unsafe fn new_instance<'py>(cls: &Bound<'py, PyType>) -> PyResult<Bound<'py, PyAny>> {
                // SAFETY: the caller's contract: `cls` derives from this native class, one
                // of the five data classes `lib.rs` installs for `CData`.
                unsafe { crate::model::cdata::new_instance(cls, $kind) }
            }

            fn init(
                data: &Bound<'_, CData>,
                args: &Bound<'_, PyTuple>,
                kwargs: Option<&Bound<'_, PyDict>>,
            ) -> PyResult<()> {
                $init(data, args, kwargs)
            }

            $($extra)?
        }
    };
}
pub(crate) use data_class;

/// Refuses keyword arguments as the `__init__` of the native class `class` does.
pub fn no_keywords(class: &str, kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<()> {
    match kwargs.and_then(|k| k.keys().iter().next()) {
        Some(key) => Err(PyTypeError::new_err(format!(
            "{class}.__init__() got an unexpected keyword argument {}",
            key.repr()?
        ))),
        None => Ok(()),
    }
}
