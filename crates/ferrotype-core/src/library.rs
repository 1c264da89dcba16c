//! Shared libraries: `dlopen`/`dlsym`/`dlclose` through libloading, which serialises
//! the use of `dlerror` and keeps its text.
//!
//! Invariant: a [`Library`] never closes its handle implicitly. ctypes never calls
//! `dlclose` on its own (function pointers and globals may outlive the `CDLL` object),
//! so dropping a `Library` leaves the library loaded; [`Library::close`] is explicit.

use core::ffi::{c_int, c_void};
use std::ffi::OsStr;
use std::mem::ManuallyDrop;

use libloading::os::unix::Library as RawLibrary;

use crate::error::{Error, Result};

/// `RTLD_LOCAL`: symbols are not made available to later loads.
pub const RTLD_LOCAL: c_int = libc::RTLD_LOCAL;
/// `RTLD_GLOBAL`: symbols are made available to later loads.
pub const RTLD_GLOBAL: c_int = libc::RTLD_GLOBAL;
/// `RTLD_NOW`: resolve every symbol at load time. ctypes always adds it.
pub const RTLD_NOW: c_int = libc::RTLD_NOW;
/// ctypes' `DEFAULT_MODE` (`RTLD_LOCAL` on Linux).
pub const DEFAULT_MODE: c_int = RTLD_LOCAL;

/// A loaded shared library (or the process image), held by its `dlopen` handle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Library {
    handle: *mut c_void,
}

// SAFETY: a dlopen handle is a process-wide token; dlsym/dlclose are thread-safe.
unsafe impl Send for Library {}
// SAFETY: as above; the handle is never dereferenced by us.
unsafe impl Sync for Library {}

/// The text of the loader error behind a libloading error.
fn loader_text(err: &libloading::Error) -> String {
    match std::error::Error::source(err) {
        Some(src) => src.to_string(),
        None => err.to_string(),
    }
}

impl Library {
    /// Loads `path` (or the process image for `None`) with `mode | RTLD_NOW`, as ctypes'
    /// `dlopen` does. The error carries the loader's message.
    pub fn open(path: Option<&OsStr>, mode: c_int) -> Result<Library> {
        let flags = mode | RTLD_NOW;
        // SAFETY: loading a library runs its initialisers; that is the documented
        // contract of every FFI and what the caller asked for.
        let lib = unsafe { RawLibrary::open(path, flags) }.map_err(|e| Error::LibraryLoad {
            name: path.map(|p| p.to_string_lossy().into_owned()),
            message: loader_text(&e),
        })?;
        Ok(Library {
            handle: lib.into_raw(),
        })
    }

    /// The process image: `dlopen(NULL)` (ctypes' `CDLL(None)`).
    pub fn this() -> Result<Library> {
        Library::open(None, DEFAULT_MODE)
    }

    /// Wraps an existing handle (ctypes' `CDLL(name, handle=...)`).
    ///
    /// # Safety
    /// `handle` must be a handle returned by `dlopen` that stays open while it is used.
    pub unsafe fn from_handle(handle: *mut c_void) -> Library {
        Library { handle }
    }

    /// The `dlopen` handle.
    pub fn handle(&self) -> *mut c_void {
        self.handle
    }

    /// The address of `symbol`. A missing symbol gives the loader's message
    /// (`"<path>: undefined symbol: <name>"`), which ctypes puts in its `AttributeError`.
    pub fn symbol(&self, symbol: &str) -> Result<*mut c_void> {
        // SAFETY: the handle came from dlopen (or the caller vouched for it in
        // from_handle); ManuallyDrop keeps libloading from closing it.
        let lib = ManuallyDrop::new(unsafe { RawLibrary::from_raw(self.handle) });
        // SAFETY: the symbol is taken as an untyped address and never called here.
        let sym = unsafe { lib.get::<*mut c_void>(symbol.as_bytes()) };
        match sym {
            Ok(s) => Ok(s.into_raw()),
            Err(e) => Err(Error::SymbolNotFound {
                symbol: symbol.to_owned(),
                message: loader_text(&e),
            }),
        }
    }

    /// Closes the handle (ctypes' `_ctypes.dlclose`).
    ///
    /// # Safety
    /// No function pointer, global or other object obtained from the library may be used
    /// afterwards.
    pub unsafe fn close(self) -> Result<()> {
        // SAFETY: the handle came from dlopen; the caller guarantees nothing uses it.
        let lib = unsafe { RawLibrary::from_raw(self.handle) };
        lib.close().map_err(|e| Error::LibraryClose {
            message: loader_text(&e),
        })
    }
}

/// The paths of the shared objects loaded in the process, in the loader's order, as
/// `dl_iterate_phdr` reports them (ctypes' `dllist()` on Linux): the main program first,
/// with an empty name, then the vDSO and each library by the name it was loaded as.
pub fn loaded_objects() -> Vec<Vec<u8>> {
    let mut names: Vec<Vec<u8>> = Vec::new();
    // The loader holds its lock while iterating, so the list cannot change under us.
    // SAFETY: `collect_name` has the callback's type and reads the info only during the
    // call; `data` is `names`, alive and otherwise unborrowed until the call returns.
    unsafe {
        libc::dl_iterate_phdr(Some(collect_name), (&raw mut names).cast::<c_void>());
    }
    names
}

/// The `dl_iterate_phdr` callback of [`loaded_objects`]: appends the object's name.
///
/// # Safety
/// `info` must be the loader's description of one object and `data` a
/// `*mut Vec<Vec<u8>>` that nothing else uses during the iteration.
unsafe extern "C" fn collect_name(
    info: *mut libc::dl_phdr_info,
    _size: libc::size_t,
    data: *mut c_void,
) -> c_int {
    // SAFETY: the caller's contract: `data` is the vector `loaded_objects` passed.
    let names = unsafe { &mut *data.cast::<Vec<Vec<u8>>>() };
    // SAFETY: `info` is valid for the call; `dlpi_name` is NULL or a NUL-terminated
    // string the loader owns while the object is loaded.
    let name = unsafe {
        let p = (*info).dlpi_name;
        if p.is_null() {
            Vec::new()
        } else {
            std::ffi::CStr::from_ptr(p).to_bytes().to_vec()
        }
    };
    names.push(name);
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loaded_objects_start_with_the_program_and_name_libc() {
        let names = loaded_objects();
        assert_eq!(
            names.first().map(Vec::len),
            Some(0),
            "the main program has no name"
        );
        assert!(names
            .iter()
            .any(|n| String::from_utf8_lossy(n).contains("libc.so")));
    }

    #[test]
    fn process_image_has_libc() {
        let me = Library::this().unwrap();
        assert!(!me.symbol("strlen").unwrap().is_null());
    }

    #[test]
    fn missing_library_reports_loader_text() {
        let err = Library::open(Some(OsStr::new("libdoesnotexist_ft.so")), RTLD_LOCAL).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("libdoesnotexist_ft.so"), "{msg}");
        assert!(msg.contains("cannot open shared object file"), "{msg}");
    }

    #[test]
    fn missing_symbol_reports_loader_text() {
        let me = Library::this().unwrap();
        let err = me.symbol("no_such_symbol_ft").unwrap_err();
        assert!(matches!(err, Error::SymbolNotFound { .. }));
        assert!(
            err.to_string()
                .contains("undefined symbol: no_such_symbol_ft"),
            "{err}"
        );
    }
}
