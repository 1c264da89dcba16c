//! ctypes' private `errno`: a per-thread copy that functions created with
//! `use_errno=True` swap with the real `errno` right before and right after the call,
//! so Python code can read a C function's errno without interference from the
//! interpreter's own library calls.

use core::cell::Cell;
use core::ffi::c_int;

thread_local! {
    static PRIVATE_ERRNO: Cell<c_int> = const { Cell::new(0) };
}

fn location() -> *mut c_int {
    // SAFETY: these libc functions return the calling thread's errno slot; they
    // have no preconditions.
    unsafe {
        #[cfg(any(target_os = "linux", target_os = "android", target_os = "redox"))]
        return libc::__errno_location();
        #[cfg(any(target_os = "macos", target_os = "ios", target_os = "freebsd"))]
        return libc::__error();
        #[cfg(any(target_os = "openbsd", target_os = "netbsd"))]
        return libc::__errno();
    }
}

/// The calling thread's real `errno`.
pub fn real() -> c_int {
    // SAFETY: location() is the thread's valid errno slot.
    unsafe { *location() }
}

/// Sets the calling thread's real `errno`.
pub fn set_real(value: c_int) {
    // SAFETY: location() is the thread's valid errno slot.
    unsafe { *location() = value }
}

/// ctypes' `get_errno()`: the private copy of the calling thread.
pub fn get() -> c_int {
    PRIVATE_ERRNO.with(Cell::get)
}

/// ctypes' `set_errno(value)`: sets the private copy and returns the old one.
pub fn set(value: c_int) -> c_int {
    PRIVATE_ERRNO.with(|c| c.replace(value))
}

/// Exchanges the private copy with the real `errno`. Called once right before and once
/// right after a `use_errno` call.
pub fn swap() {
    PRIVATE_ERRNO.with(|c| {
        let real_value = real();
        set_real(c.get());
        c.set(real_value);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swap_exchanges() {
        set(7);
        set_real(3);
        swap();
        assert_eq!(real(), 7);
        assert_eq!(get(), 3);
        swap();
        assert_eq!(real(), 3);
        assert_eq!(get(), 7);
    }

    #[test]
    fn private_copy_is_per_thread() {
        set(42);
        let other = std::thread::spawn(get).join().unwrap();
        assert_eq!(other, 0);
        assert_eq!(get(), 42);
    }
}
