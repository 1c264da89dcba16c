//! Calls `cos` from libm through ferrotype-core alone: load, look up, prepare once,
//! call many times.
//!
//! Run with `cargo run -p ferrotype-core --example cos`.

use std::ffi::{c_void, OsStr};

use ferrotype_core::library::{Library, RTLD_LOCAL};
use ferrotype_core::memory::{read_scalar, Scalar};
use ferrotype_core::{ArgSlot, CallInterface, FfiType, RetBuf, TypeCode};

fn main() -> ferrotype_core::Result<()> {
    let libm = Library::open(Some(OsStr::new("libm.so.6")), RTLD_LOCAL)?;
    let cos = libm.symbol("cos")?;
    let double = FfiType::Scalar(TypeCode::Double);
    // Prepared once per signature; later lookups return the same interface.
    let cif = CallInterface::cached(&double, std::slice::from_ref(&double), None)?;
    for x in [0.0, std::f64::consts::FRAC_PI_3, std::f64::consts::PI] {
        let mut arg = ArgSlot { f64: x };
        let mut argv = [std::ptr::from_mut(&mut arg).cast::<c_void>()];
        let mut ret = RetBuf::default();
        // SAFETY: `cos` is `double cos(double)`, matching the interface; argv points at
        // one double and ret is a RetBuf.
        let value = unsafe {
            cif.call(cos, argv.as_mut_ptr(), ret.as_mut_ptr());
            read_scalar(cif.ret_ptr(ret.as_mut_ptr()), TypeCode::Double, false)
        };
        let Scalar::Float(y) = value else {
            eprintln!("a double read as {value:?}");
            std::process::exit(1);
        };
        println!("cos({x:.6}) = {y:.6}");
        assert!((y - x.cos()).abs() < 1e-12);
    }
    Ok(())
}
