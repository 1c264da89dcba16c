"""A typical binding of a few libc functions: argtypes, restype, errcheck, callbacks."""

import ctypes
from ctypes import util
from typing import Any

_path = util.find_library("c")
libc = ctypes.CDLL(_path or "libc.so.6", use_errno=True)

strlen = libc.strlen
strlen.argtypes = [ctypes.c_char_p]
strlen.restype = ctypes.c_size_t

getenv = libc["getenv"]
getenv.argtypes = (ctypes.c_char_p,)
getenv.restype = ctypes.c_char_p

abs_ = libc.abs
abs_.argtypes = [ctypes.c_int]
abs_.restype = ctypes.c_int


def _check_nonnegative(result: Any, func: Any, args: Any) -> Any:
    """An errcheck: refuses negative results, else passes the result through."""
    if result < 0:
        raise OSError(ctypes.get_errno(), f"{func.__name__}{args!r} failed")
    return result


close = libc.close
close.argtypes = [ctypes.c_int]
close.restype = ctypes.c_int
close.errcheck = _check_nonnegative

# qsort with a Python comparison function.
CMPFUNC = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)
qsort = libc.qsort
qsort.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_size_t, CMPFUNC]
qsort.restype = None


def _compare(a: int | None, b: int | None) -> int:
    x = ctypes.c_int.from_address(a or 0).value
    y = ctypes.c_int.from_address(b or 0).value
    return (x > y) - (x < y)


def sort_ints(values: list[int]) -> list[int]:
    """Sorts with libc's qsort and a ctypes callback."""
    arr = (ctypes.c_int * len(values))(*values)
    qsort(arr, len(arr), ctypes.sizeof(ctypes.c_int), CMPFUNC(_compare))
    return list(arr)


def main() -> None:
    n: int = strlen(b"hello")
    assert n == 5
    assert abs_(ctypes.c_int(-3)) == 3
    home = getenv(b"PATH")
    assert home is None or isinstance(home, bytes)
    assert sort_ints([3, 1, 2]) == [1, 2, 3]
    try:
        close(-1)
    except OSError as exc:
        assert exc.errno is not None
    ctypes.set_errno(0)
    assert ctypes.get_errno() == 0


if __name__ == "__main__":
    main()
