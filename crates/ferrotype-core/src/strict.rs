//! Strict mode: the one process-wide switch for checks that ctypes does not make.
//!
//! By default ferrotype behaves as ctypes: an integer too wide for its C type keeps its
//! low bits, as C's conversions do. Strict mode (`ferrotype.strict(True)`, or
//! `FERROTYPE_STRICT=1` at import) turns on checks that catch such values instead: a
//! safety net for tests, never needed by a correct program.
//!
//! Every check that only strict mode makes reads [`enabled`], one relaxed atomic load, on
//! the path that is already failing or out of the ordinary where it can (an integer that
//! does not fit), so the common path pays nothing. The flag is process-wide, like ctypes'
//! own globals: setting it from one thread affects the others, and a `with` block
//! restores the state it found when it exits, whatever other threads did meanwhile.
//! Relaxed ordering is enough: the flag guards no other memory, and a thread sees the
//! change at the latest when it next synchronises with the thread that made it (the GIL
//! hand-over does).

use std::sync::atomic::{AtomicBool, Ordering};

static STRICT: AtomicBool = AtomicBool::new(false);

/// Whether strict mode is on.
#[inline(always)]
pub fn enabled() -> bool {
    STRICT.load(Ordering::Relaxed)
}

/// Turns strict mode on or off for the whole process; returns the previous setting.
pub fn set(on: bool) -> bool {
    STRICT.swap(on, Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_returns_the_previous_setting() {
        let before = set(true);
        assert!(enabled());
        assert!(set(false));
        assert!(!enabled());
        set(before);
    }
}
