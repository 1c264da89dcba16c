"""numpy.ctypeslib: arrays as arguments and ctypes objects as arrays."""

import ctypes

import numpy as np
from numpy import ctypeslib


def main() -> None:
    a = np.arange(6, dtype=np.float64).reshape(2, 3)
    arg_type = ctypeslib.ndpointer(dtype=np.float64, ndim=2, flags="C_CONTIGUOUS")
    assert issubclass(arg_type, ctypes.c_void_p)
    obj = ctypeslib.as_ctypes(a)
    assert ctypes.sizeof(obj) == a.nbytes
    back = ctypeslib.as_array(obj)
    assert back.shape == (2, 3)
    buf = (ctypes.c_int * 4)(1, 2, 3, 4)
    view = ctypeslib.as_array(buf)
    assert int(view.sum()) == 10
    t = ctypeslib.as_ctypes_type(np.dtype(np.int32))
    assert ctypes.sizeof(t) == 4
    ptr = ctypes.cast(ctypes.c_void_p(ctypes.addressof(obj)), ctypes.POINTER(ctypes.c_double))
    assert ptr[1] == 1.0


if __name__ == "__main__":
    main()
