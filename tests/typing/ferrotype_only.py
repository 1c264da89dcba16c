"""What only ferrotype has: strict mode, install(), release_gil/variadic, c_float16,
array_ctypes, from_buffer(readonly=True) and the dtype attribute."""

import sys
import warnings

import ferrotype
import numpy as np
from ferrotype import ctypeslib


def main() -> None:
    previous: bool = ferrotype.is_strict()
    mode: ferrotype.StrictMode = ferrotype.strict(True)
    assert mode.enabled and mode.previous == previous
    with ferrotype.strict(False) as inner:
        assert not ferrotype.is_strict()
        assert isinstance(inner, ferrotype.StrictMode)
    assert ferrotype.is_strict()
    ferrotype.strict(previous)

    libc = ferrotype.CDLL("libc.so.6")
    printf = libc.printf
    printf.variadic = True
    printf.release_gil = False
    assert printf.variadic and not printf.release_gil

    half = ferrotype.c_float16(1.5)
    assert half.value == 1.5
    assert ferrotype.sizeof(ferrotype.c_float16) == 2

    frozen = ferrotype.c_int.from_buffer(b"\x01\x00\x00\x00", readonly=True)
    assert frozen.value == 1

    dt: np.dtype[np.generic] = ferrotype.c_int32.dtype
    assert dt == np.dtype(np.int32)
    assert ferrotype.c_int32(5).dtype == np.dtype(np.int32)

    a = np.arange(4, dtype=np.int32)
    helper = ctypeslib.array_ctypes(a)
    ptr = helper.data_as(ferrotype.POINTER(ferrotype.c_int32))
    assert ptr[2] == 2
    assert helper.data == a.ctypes.data

    previous_debug: bool = ferrotype.debug_callbacks(False)
    ferrotype.debug_callbacks(previous_debug)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # NumPy imported ctypes already
        ferrotype.install()
    assert sys.modules["ctypes"] is ferrotype


if __name__ == "__main__":
    main()
