//! Module-level functions of `ferrotype._native`: ctypes' functions (`sizeof`, `byref`,
//! `cast`, `memmove`, ...), the NumPy bridge and dtype descriptions for
//! `ferrotype.ctypeslib`, and `find_library` support. Imports every layer below.

pub mod dtype;
pub mod functions;
pub mod numpy;
pub mod util;
